// A tiny classic-BPF assembler with forward labels, for the part of the
// seccomp filter that libseccomp cannot express (see RulePrefix).
// Conditional jumps reach at most 255 instructions, JumpAlways 2^32-1;
// Finish() fails rather than truncate an offset.
#ifndef WARDEN_SECCOMP_BPF_BUILDER_H_
#define WARDEN_SECCOMP_BPF_BUILDER_H_

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "warden/status.h"

namespace warden::seccomp {

class BpfBuilder {
 public:
  // Jump target meaning "the next instruction".
  static constexpr int kNext = -1;

  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  // Places `label` at the next instruction to be emitted.
  void Bind(int label) { labels_[static_cast<size_t>(label)] = static_cast<long>(insns_.size()); }

  void LoadAbs(uint32_t offset) { Emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  void And(uint32_t k) { Emit(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, k)); }
  void Return(uint32_t k) { Emit(BPF_STMT(BPF_RET | BPF_K, k)); }
  // if (A == k) goto jt; else goto jf;
  void JumpIfEq(uint32_t k, int jt, int jf) { Jump(BPF_JEQ, k, jt, jf); }
  // if (A >= k) goto jt; else goto jf;
  void JumpIfGe(uint32_t k, int jt, int jf) { Jump(BPF_JGE, k, jt, jf); }
  // if (A > k) goto jt; else goto jf;
  void JumpIfGt(uint32_t k, int jt, int jf) { Jump(BPF_JGT, k, jt, jf); }
  // goto label; (a label, never kNext)
  void JumpAlways(int label) {
    fixups_.push_back({insns_.size(), label, kNext, true});
    Emit(BPF_STMT(BPF_JMP | BPF_JA, 0));
  }

  Result<std::vector<sock_filter>> Finish() {
    for (const Fixup& f : fixups_) {
      for (int which = 0; which < 2; ++which) {
        int label = which == 0 ? f.jt : f.jf;
        if (label == kNext) continue;
        long target = labels_[static_cast<size_t>(label)];
        long off = target - static_cast<long>(f.at) - 1;
        if (f.always) {
          if (target < 0 || off < 0) return Status::Error(Code::kInternal, "BPF jump to an unbound label");
          insns_[f.at].k = static_cast<uint32_t>(off);
          continue;
        }
        if (target < 0 || off < 0 || off > 255) {
          return Status::Error(Code::kInternal, "BPF jump out of range (" + std::to_string(off) + ")");
        }
        (which == 0 ? insns_[f.at].jt : insns_[f.at].jf) = static_cast<uint8_t>(off);
      }
    }
    return insns_;
  }

 private:
  struct Fixup {
    size_t at;
    int jt, jf;
    bool always = false;  // BPF_JA: the offset goes in k
  };
  void Emit(sock_filter insn) { insns_.push_back(insn); }
  void Jump(uint16_t op, uint32_t k, int jt, int jf) {
    fixups_.push_back({insns_.size(), jt, jf, false});
    Emit(BPF_JUMP(static_cast<uint16_t>(BPF_JMP | op | BPF_K), k, 0, 0));
  }

  std::vector<sock_filter> insns_;
  std::vector<long> labels_;
  std::vector<Fixup> fixups_;
};

}  // namespace warden::seccomp

#endif  // WARDEN_SECCOMP_BPF_BUILDER_H_
