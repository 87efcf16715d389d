#include "seccomp/seccomp.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>

#include "base/c_ptr.h"
#include "base/errno_text.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "policy_data/syscall_groups.h"
#include "seccomp/bpf_builder.h"
#include "seccomp/cache.h"

namespace warden::seccomp {
namespace {

// Bumped whenever the meaning of the generated code changes, so cached
// programs from an older warden are not reused.
// 2: unnamed numbers as ranges in a prefix; 3: every conditional rule in the
// prefix, 32-bit readings of arguments; 4: under a deny action of "log",
// conditional rules still apply and unconditional stopping rules win.
constexpr int kCompilerVersion = 4;
constexpr int kMaxKnownSyscall = 1023;
constexpr size_t kMaxAllowRulesPerSyscall = 32;

using Ctx = base::CPtr<void, seccomp_release>;

std::string LibseccompVersion() {
  const scmp_version* v = seccomp_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

uint32_t ScmpAction(SeccompAction a, int errno_value) {
  switch (a) {
    case SeccompAction::kAllow: return SCMP_ACT_ALLOW;
    case SeccompAction::kErrno: return SCMP_ACT_ERRNO(static_cast<uint32_t>(errno_value));
    case SeccompAction::kKill: return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kLog: return SCMP_ACT_LOG;
  }
  return SCMP_ACT_KILL_PROCESS;
}

// The kernel's return value for a deny action (used by the hand-built part,
// which does not go through libseccomp).
uint32_t KernelAction(SeccompAction a, int errno_value) {
  switch (a) {
    case SeccompAction::kAllow: return SECCOMP_RET_ALLOW;
    case SeccompAction::kErrno:
      return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(errno_value) & SECCOMP_RET_DATA);
    case SeccompAction::kKill: return SECCOMP_RET_KILL_PROCESS;
    case SeccompAction::kLog: return SECCOMP_RET_LOG;
  }
  return SECCOMP_RET_KILL_PROCESS;
}

// The deny set after group expansion and allow removal, sorted.
Result<std::set<std::string>> EffectiveDeny(const SeccompSpec& spec) {
  WARDEN_ASSIGN_OR_RETURN(policy::ExpandedSyscalls expanded,
                          policy::ExpandDenyAllow(spec.deny, spec.allow));
  return std::move(expanded.deny);
}

// True when spec.deny already is its own effective deny list, as the policy
// loader leaves it: groups expanded, strictly sorted, nothing in it that
// spec.allow takes out again. Such a spec reaches its cached filter without
// building the expanded set (a few hundred strings) first.
bool DenyIsEffective(const SeccompSpec& spec) {
  const std::vector<std::string>& deny = spec.deny;
  for (size_t i = 0; i < deny.size(); ++i) {
    if (deny[i].starts_with('@')) return false;
    if (i > 0 && !(deny[i - 1] < deny[i])) return false;
  }
  return std::none_of(spec.allow.begin(), spec.allow.end(), [&](const std::string& a) {
    return std::binary_search(deny.begin(), deny.end(), a);
  });
}

// The text the filter's hash (its cache key) is taken over. `deny` is the
// effective deny list in sorted order: a std::set or an effective
// spec.deny, which give the same text.
template <typename Names>
std::string CanonicalSpec(const SeccompSpec& spec, const Names& deny) {
  std::string s = "warden-seccomp " + std::to_string(kCompilerVersion) + "\n";
  s.reserve(s.size() + 96 + 24 * deny.size() + 64 * spec.rules.size());
  s += "libseccomp " + LibseccompVersion() + "\narch x86_64\n";
  // The deny action as the kernel gets it, errno included: the same text
  // as before deny_errno existed for every spec that leaves it at EPERM.
  s += "action " + std::to_string(KernelAction(spec.deny_action, spec.deny_errno)) + "\n";
  s += "unknown " + std::to_string(spec.unknown_errno) + "\n";
  for (const std::string& d : deny) s.append("deny ").append(d).push_back('\n');
  for (const SyscallRule& r : spec.rules) {
    s += "rule " + r.syscall + " " + std::to_string(KernelAction(r.action, r.errno_value));
    for (const ArgCondition& a : r.args) {
      s += " " + std::to_string(a.index) + ":" + std::to_string(static_cast<int>(a.op)) + ":" +
           std::to_string(a.value) + ":" + std::to_string(a.mask);
    }
    s += "\n";
  }
  return s;
}

// The start of a hand-compiled prefix: loads the syscall number of a
// native (x86_64) call. A call from any other architecture jumps to the
// returned label, which the prefix binds at its end, where libseccomp's
// program (which kills it) begins.
int LoadNativeSyscallNr(BpfBuilder& b) {
  const int end = b.NewLabel();
  const int native = b.NewLabel();
  b.LoadAbs(offsetof(seccomp_data, arch));
  b.JumpIfEq(AUDIT_ARCH_X86_64, native, BpfBuilder::kNext);
  b.JumpAlways(end);
  b.Bind(native);
  b.LoadAbs(offsetof(seccomp_data, nr));
  return end;
}

uint32_t ArgOffset(const ArgCondition& a) {
  return static_cast<uint32_t>(offsetof(seccomp_data, args) + 8 * a.index);
}

// Whether `a` also reads as a condition on a 32-bit argument. The kernel
// truncates a 32-bit argument (int, unsigned int, pid_t...) to the low half
// of its register and ignores the high half, which the caller controls, so
// a filter that compared all 64 bits would see a different value than the
// syscall uses. seccomp_data does not say which arguments are 32-bit, and
// libseccomp does not either (its SCMP_CMP32 only truncates the datum: the
// generated code still requires a zero high half). So a condition whose
// value fits in 32 bits, as itself or sign-extended (AT_FDCWD as -100), is
// read both ways: as written on all 64 bits, and on the low halves alone.
// A value that needs more than 32 bits names a 64-bit argument.
bool HasLow32Reading(const ArgCondition& a) {
  const uint32_t hi = static_cast<uint32_t>(a.value >> 32);
  return hi == 0 || (hi == 0xffffffffu && (a.value & 0x80000000u) != 0);
}

// A's condition on all 64 bits (unsigned, as seccomp compares): jumps to
// `t` when it holds, to `f` when not. Both are labels.
void Compare64(BpfBuilder& b, const ArgCondition& a, int t, int f) {
  const uint32_t lo = ArgOffset(a), hi = lo + 4;
  const uint32_t v_lo = static_cast<uint32_t>(a.value), v_hi = static_cast<uint32_t>(a.value >> 32);
  const uint32_t m_lo = static_cast<uint32_t>(a.mask), m_hi = static_cast<uint32_t>(a.mask >> 32);
  using Op = ArgCondition::Op;
  switch (a.op) {
    case Op::kEq:
    case Op::kNe: {
      const bool eq = a.op == Op::kEq;
      b.LoadAbs(hi);
      b.JumpIfEq(v_hi, BpfBuilder::kNext, eq ? f : t);
      b.LoadAbs(lo);
      b.JumpIfEq(v_lo, eq ? t : f, eq ? f : t);
      return;
    }
    case Op::kMaskedEq:
      b.LoadAbs(hi);
      b.And(m_hi);
      b.JumpIfEq(v_hi, BpfBuilder::kNext, f);
      b.LoadAbs(lo);
      b.And(m_lo);
      b.JumpIfEq(v_lo, t, f);
      return;
    case Op::kGt:
    case Op::kLe:
    case Op::kGe:
    case Op::kLt: {
      // gt and ge hold on a larger high half, fail on a smaller one and
      // look at the low half on an equal one; le and lt are their negations.
      const bool upper = a.op == Op::kGt || a.op == Op::kGe;
      const int yes = upper ? t : f, no = upper ? f : t;
      b.LoadAbs(hi);
      b.JumpIfGt(v_hi, yes, BpfBuilder::kNext);
      b.JumpIfEq(v_hi, BpfBuilder::kNext, no);
      b.LoadAbs(lo);
      if (a.op == Op::kGt || a.op == Op::kLe) {
        b.JumpIfGt(v_lo, yes, no);
      } else {
        b.JumpIfGe(v_lo, yes, no);
      }
      return;
    }
  }
}

// A's condition on the low halves of the argument, value and mask.
void Compare32(BpfBuilder& b, const ArgCondition& a, int t, int f) {
  const uint32_t v_lo = static_cast<uint32_t>(a.value);
  using Op = ArgCondition::Op;
  b.LoadAbs(ArgOffset(a));
  switch (a.op) {
    case Op::kEq: b.JumpIfEq(v_lo, t, f); return;
    case Op::kNe: b.JumpIfEq(v_lo, f, t); return;
    case Op::kMaskedEq:
      b.And(static_cast<uint32_t>(a.mask));
      b.JumpIfEq(v_lo, t, f);
      return;
    case Op::kGt: b.JumpIfGt(v_lo, t, f); return;
    case Op::kGe: b.JumpIfGe(v_lo, t, f); return;
    case Op::kLe: b.JumpIfGt(v_lo, f, t); return;
    case Op::kLt: b.JumpIfGe(v_lo, f, t); return;
  }
}

// One rule: its action when its conditions hold, else on to the next.
// Whatever the argument's width, no call gets a weaker verdict than the
// kernel's reading of it deserves: an "allow" condition must hold on both
// readings (see HasLow32Reading), a deny condition (errno, kill, log) on
// either one.
Status EmitRule(BpfBuilder& b, const SyscallRule& r, uint32_t action) {
  if (r.args.size() > 6) return Status::Error(Code::kInvalidArgument, "a rule compares at most 6 arguments");
  const bool allow = r.action == SeccompAction::kAllow;
  const int next_rule = b.NewLabel();
  for (const ArgCondition& a : r.args) {
    if (a.index > 5) return Status::Error(Code::kInvalidArgument, "argument index above 5");
    const int holds = b.NewLabel();
    if (!HasLow32Reading(a)) {
      Compare64(b, a, holds, next_rule);
    } else if (allow) {
      const int holds64 = b.NewLabel();
      Compare64(b, a, holds64, next_rule);
      b.Bind(holds64);
      Compare32(b, a, holds, next_rule);
    } else {
      const int try32 = b.NewLabel();
      Compare64(b, a, holds, try32);
      b.Bind(try32);
      Compare32(b, a, holds, next_rule);
    }
    b.Bind(holds);
  }
  b.Return(action);
  b.Bind(next_rule);
  return Status::Ok();
}

// A verdict that stops the call (an errno or a kill); "log" lets it run.
bool Stops(SeccompAction a) { return a == SeccompAction::kErrno || a == SeccompAction::kKill; }

// Which rule of one syscall is tried first: the strictest action, so that
// two matching rules never give the weaker verdict.
int Strictness(SeccompAction a) {
  switch (a) {
    case SeccompAction::kKill: return 0;
    case SeccompAction::kErrno: return 1;
    case SeccompAction::kLog: return 2;
    case SeccompAction::kAllow: return 3;
  }
  return 0;
}

// Every rule with argument conditions, compiled by hand into a block that
// runs before libseccomp's program. libseccomp cannot express these
// conditions safely (see HasLow32Reading), nor "allow" rules on top of a
// default-allow filter (an unconditional rule overrides conditional ones,
// and rules may not use the default action). For each syscall the rules run
// strictest first; a syscall with "allow" rules is denied when none
// matches; any other goes on to libseccomp's program. A syscall that is
// denied outright (in `deny` and without "allow" rules) or has a rule
// without conditions keeps that verdict, as libseccomp gives it, and its
// conditional rules are left out.
Result<std::vector<sock_filter>> RulePrefix(const SeccompSpec& spec, const std::set<std::string>& deny) {
  std::set<std::string> has_allow, unconditional;
  for (const SyscallRule& r : spec.rules) {
    if (r.action == SeccompAction::kAllow) has_allow.insert(r.syscall);
    if (Stops(r.action) && r.args.empty()) unconditional.insert(r.syscall);
  }
  // A deny list under "log" lets its calls run: their conditional rules
  // must still be checked first.
  const bool deny_stops = Stops(spec.deny_action);
  std::vector<std::string> order;
  for (const SyscallRule& r : spec.rules) {
    if (r.args.empty()) continue;
    if (!has_allow.count(r.syscall) &&
        (unconditional.count(r.syscall) || (deny_stops && deny.count(r.syscall)))) {
      continue;
    }
    if (std::find(order.begin(), order.end(), r.syscall) == order.end()) order.push_back(r.syscall);
  }
  if (order.empty()) return std::vector<sock_filter>{};

  BpfBuilder b;
  const int end = LoadNativeSyscallNr(b);
  for (const std::string& name : order) {
    int nr = policy::SyscallNumber(name);
    if (nr < 0) return Status::Error(Code::kInvalidArgument, "unknown syscall \"" + name.substr(0, 64) + "\"");
    std::vector<const SyscallRule*> rules;
    for (const SyscallRule& r : spec.rules) {
      if (r.syscall == name && !r.args.empty()) rules.push_back(&r);
    }
    std::stable_sort(rules.begin(), rules.end(), [](const SyscallRule* x, const SyscallRule* y) {
      return Strictness(x->action) < Strictness(y->action);
    });
    size_t allow_count = 0;
    const int body = b.NewLabel(), next_syscall = b.NewLabel();
    b.JumpIfEq(static_cast<uint32_t>(nr), body, BpfBuilder::kNext);
    b.JumpAlways(next_syscall);
    b.Bind(body);
    for (const SyscallRule* r : rules) {
      if (r->action == SeccompAction::kAllow && ++allow_count > kMaxAllowRulesPerSyscall) {
        return Status::Error(Code::kInvalidArgument,
                             "more than " + std::to_string(kMaxAllowRulesPerSyscall) +
                                 " allow rules for \"" + name + "\"");
      }
      Status st = EmitRule(b, *r, KernelAction(r->action, r->errno_value));
      if (!st.ok()) return st.Wrap("rule for \"" + name + "\"");
    }
    if (has_allow.count(name)) {
      b.Return(KernelAction(spec.deny_action, spec.deny_errno));
    } else {
      // libseccomp's program starts by loading the arch again, so the
      // accumulator the rules clobbered does not matter there.
      b.JumpAlways(end);
    }
    b.Bind(next_syscall);
  }
  b.Bind(end);
  return b.Finish();
}

// Numbers 0..kMaxKnownSyscall that libseccomp cannot name get the unknown
// errno. They come in a few long runs (x86_64: 335-423 and everything above
// the newest syscall), so they are checked here as ranges, a few
// instructions per run, before libseccomp's program: as single rules they
// were ~600 of a ~1000-instruction filter that every job loads.
Result<std::vector<sock_filter>> UnnamedRangePrefix(const SeccompSpec& spec) {
  std::vector<std::pair<int, int>> runs;
  for (int nr = 0; nr <= kMaxKnownSyscall; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    if (name) {
      std::free(name);
      continue;
    }
    if (!runs.empty() && runs.back().second == nr - 1) {
      runs.back().second = nr;
    } else {
      runs.emplace_back(nr, nr);
    }
  }
  if (runs.empty()) return std::vector<sock_filter>{};
  BpfBuilder b;
  const int end = LoadNativeSyscallNr(b);
  for (const auto& [lo, hi] : runs) {
    int next_run = b.NewLabel();
    b.JumpIfGe(static_cast<uint32_t>(lo), BpfBuilder::kNext, next_run);
    b.JumpIfGt(static_cast<uint32_t>(hi), next_run, BpfBuilder::kNext);
    b.Return(SECCOMP_RET_ERRNO | (static_cast<uint32_t>(spec.unknown_errno) & SECCOMP_RET_DATA));
    b.Bind(next_run);
  }
  b.Bind(end);
  // A failure here would let the unnamed numbers through: it is an error,
  // never an empty prefix.
  return b.Finish();
}

Result<BpfProgram> CompileUncached(const SeccompSpec& spec, const std::set<std::string>& deny) {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Status::Error(Code::kInternal, "seccomp_init: failed (out of memory?)");
  auto attr = [&](scmp_filter_attr a, uint32_t v, const char* what) -> Status {
    int rc = seccomp_attr_set(ctx.get(), a, v);
    if (rc != 0) return Status::FromErrno(-rc, std::string("seccomp_attr_set(") + what + ")");
    return Status::Ok();
  };
  // Only the native arch is in the filter, so i386 and (through libseccomp's
  // x32 check) x32 calls take the bad-arch action.
  WARDEN_RETURN_IF_ERROR(attr(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "ACT_BADARCH"));
  WARDEN_RETURN_IF_ERROR(attr(SCMP_FLTATR_CTL_NNP, 0, "CTL_NNP"));
  // A binary tree keeps the common path short. Older libseccomp lacks it;
  // that only costs speed.
  if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2) != 0) {
    WLOG_DEBUG("", "seccomp: libseccomp has no binary-tree optimization; using a linear filter");
  }

  std::set<std::string> allow_rule_syscalls, stop_rule_syscalls;
  for (const SyscallRule& r : spec.rules) {
    if (r.action == SeccompAction::kAllow) allow_rule_syscalls.insert(r.syscall);
    if (Stops(r.action) && r.args.empty()) stop_rule_syscalls.insert(r.syscall);
  }

  const uint32_t deny_action = ScmpAction(spec.deny_action, spec.deny_errno);
  for (const std::string& name : deny) {
    if (allow_rule_syscalls.count(name)) continue;
    // An unconditional rule that stops the call wins over a deny list that
    // only logs it (the loader refuses such a rule under errno or kill).
    if (!Stops(spec.deny_action) && stop_rule_syscalls.count(name)) continue;
    int rc = seccomp_rule_add(ctx.get(), deny_action, policy::SyscallNumber(name), 0);
    if (rc != 0) return Status::FromErrno(-rc, "seccomp_rule_add(\"" + name + "\")");
  }
  for (const SyscallRule& r : spec.rules) {
    int nr = policy::SyscallNumber(r.syscall);
    if (nr < 0) return Status::Error(Code::kInvalidArgument, "unknown syscall \"" + r.syscall.substr(0, 64) + "\"");
    if (r.args.size() > 6) return Status::Error(Code::kInvalidArgument, "a rule compares at most 6 arguments");
    if (r.action == SeccompAction::kErrno && (r.errno_value < 1 || r.errno_value > 4095)) {
      return Status::Error(Code::kInvalidArgument, "errno " + std::to_string(r.errno_value) + " out of range 1..4095");
    }
    // Rules with conditions are in the hand-compiled prefix (RulePrefix).
    if (r.action == SeccompAction::kAllow || !r.args.empty()) continue;
    int rc = seccomp_rule_add(ctx.get(), ScmpAction(r.action, r.errno_value), nr, 0);
    if (rc != 0) return Status::FromErrno(-rc, "seccomp_rule_add(rule for \"" + r.syscall + "\")");
  }

  base::UniqueFd fd(::memfd_create("warden-seccomp", MFD_CLOEXEC));
  if (!fd) return Status::FromErrno(errno, "memfd_create(\"warden-seccomp\")");
  int rc = seccomp_export_bpf(ctx.get(), fd.get());
  if (rc != 0) return Status::FromErrno(-rc, "seccomp_export_bpf");
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size < 0) return Status::FromErrno(errno, "lseek(seccomp memfd)");
  if (size == 0 || size % sizeof(sock_filter) != 0 || size > static_cast<off_t>(BPF_MAXINSNS * sizeof(sock_filter))) {
    return Status::Error(Code::kInternal, "seccomp_export_bpf produced " + std::to_string(size) + " bytes");
  }
  WARDEN_ASSIGN_OR_RETURN(std::vector<sock_filter> prefix, UnnamedRangePrefix(spec));
  WARDEN_ASSIGN_OR_RETURN(std::vector<sock_filter> rule_prefix, RulePrefix(spec, deny));
  prefix.insert(prefix.end(), rule_prefix.begin(), rule_prefix.end());
  BpfProgram out;
  out.insns = std::move(prefix);
  size_t base = out.insns.size();
  out.insns.resize(base + static_cast<size_t>(size) / sizeof(sock_filter));
  size_t done = 0;
  char* dst = reinterpret_cast<char*>(out.insns.data() + base);
  while (done < static_cast<size_t>(size)) {
    ssize_t n = base::RetryEintr([&] {
      return ::pread(fd.get(), dst + done, static_cast<size_t>(size) - done, static_cast<off_t>(done));
    });
    if (n < 0) return Status::FromErrno(errno, "pread(seccomp memfd)");
    if (n == 0) return Status::Error(Code::kInternal, "seccomp memfd shrank while reading");
    done += static_cast<size_t>(n);
  }
  if (out.insns.size() > BPF_MAXINSNS) {
    return Status::Error(Code::kInvalidArgument,
                         "seccomp filter has " + std::to_string(out.insns.size()) +
                             " instructions; the kernel allows " + std::to_string(BPF_MAXINSNS) +
                             " (fewer rules needed)");
  }
  return out;
}

// The hash (cache key) of spec's filter. The expanded deny set is built
// only when spec.deny is not effective already; it is then left in *deny
// for the compiler.
Result<std::string> FilterHash(const SeccompSpec& spec, std::optional<std::set<std::string>>* deny) {
  if (DenyIsEffective(spec)) return base::Sha256Hex(CanonicalSpec(spec, spec.deny));
  WARDEN_ASSIGN_OR_RETURN(*deny, EffectiveDeny(spec));
  return base::Sha256Hex(CanonicalSpec(spec, **deny));
}

}  // namespace

std::string SpecHash(const SeccompSpec& spec) {
  std::optional<std::set<std::string>> deny;
  Result<std::string> hash = FilterHash(spec, &deny);
  if (hash.ok()) return std::move(hash).value();
  return base::Sha256Hex(CanonicalSpec(spec, std::set<std::string>{}));
}

Result<BpfProgram> Compile(const SeccompSpec& spec) { return Compile(spec, CompileOptions{}); }

Result<BpfProgram> Compile(const SeccompSpec& spec, const CompileOptions& options) {
  if (spec.rules.size() > kMaxSyscallRules) {
    return Status::Error(Code::kInvalidArgument, "more than " + std::to_string(kMaxSyscallRules) + " seccomp rules");
  }
  if (spec.unknown_errno < 1 || spec.unknown_errno > 4095) {
    return Status::Error(Code::kInvalidArgument, "unknown_errno out of range 1..4095");
  }
  if (spec.deny_action == SeccompAction::kErrno && (spec.deny_errno < 1 || spec.deny_errno > 4095)) {
    return Status::Error(Code::kInvalidArgument,
                         "deny errno " + std::to_string(spec.deny_errno) + " out of range 1..4095");
  }
  std::optional<std::set<std::string>> deny;
  Result<std::string> key = FilterHash(spec, &deny);
  if (!key.ok()) return key.take_status().Wrap("compile seccomp filter");
  const std::string hash = std::move(key).value();

  std::string dir;
  if (options.use_cache && !options.cache_dir.empty()) {
    dir = options.cache_dir;
    if (std::optional<std::vector<sock_filter>> cached = ReadCache(dir, hash)) {
      return BpfProgram{std::move(*cached), hash, true};
    }
  }
  // A filter to compile checks every name, so it needs the expanded set.
  if (!deny) {
    Result<std::set<std::string>> expanded = EffectiveDeny(spec);
    if (!expanded.ok()) return expanded.take_status().Wrap("compile seccomp filter");
    deny = std::move(expanded).value();
  }
  Result<BpfProgram> compiled = CompileUncached(spec, *deny);
  if (!compiled.ok()) return compiled.take_status().Wrap("compile seccomp filter");
  compiled->hash = hash;
  if (!dir.empty()) {
    Status st = WriteCache(dir, hash, compiled->insns);
    if (!st.ok()) {
      WLOG_WARN("", "seccomp cache not written (continuing): " + st.ToString() +
                        " (set the cache directory, WARDEN_CACHE_DIR for warden, to a writable one)");
    }
  }
  return compiled;
}

std::string SyscallName(int nr) {
  if (nr < 0) return "";
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
  if (!name) return "";
  std::string out = name;
  std::free(name);
  return out;
}

int InstallFilter(const struct sock_filter* insns, size_t count) {
  if (count == 0 || count > BPF_MAXINSNS) return -EINVAL;
  struct sock_fprog prog;
  prog.len = static_cast<unsigned short>(count);
  prog.filter = const_cast<struct sock_filter*>(insns);
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return -errno;
  return 0;
}

base::DoctorChecks DoctorChecks(const base::HostConfig&) {
  base::DoctorChecks checks;
  int mode = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
  const int mode_errno = mode < 0 ? errno : 0;
  // One probe serves both checks below: ENOSYS means there is no seccomp()
  // syscall at all; any other failure means only that the kernel cannot
  // report or lacks SECCOMP_RET_KILL_PROCESS (both came in 4.14).
  uint32_t action = SECCOMP_RET_KILL_PROCESS;
  long avail = ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
  const int avail_errno = avail != 0 ? errno : 0;
  {
    base::DoctorCheck c;
    c.feature = "seccomp filters";
    c.required_for_run = true;
    if (mode < 0) {
      c.detail = "prctl(PR_GET_SECCOMP): " + base::ErrnoText(mode_errno);
      c.fix = "use a kernel built with CONFIG_SECCOMP_FILTER=y";
    } else if (avail_errno == ENOSYS) {
      c.detail = "seccomp() syscall not available";
      c.fix = "use Linux 3.17 or newer with CONFIG_SECCOMP_FILTER=y";
    } else {
      c.ok = true;
      c.detail = mode == 0 ? "available" : "available (warden itself already runs under a filter)";
    }
    checks.push_back(c);
  }
  {
    base::DoctorCheck c;
    c.feature = "seccomp kill_process action";
    c.required_for_run = true;
    if (avail == 0) {
      c.ok = true;
      c.detail = "SECCOMP_RET_KILL_PROCESS available";
    } else {
      c.detail = "SECCOMP_GET_ACTION_AVAIL(KILL_PROCESS): " + base::ErrnoText(avail_errno);
      c.fix = "use Linux 4.14 or newer: foreign-architecture calls must kill the whole process";
    }
    checks.push_back(c);
  }
  {
    base::DoctorCheck c;
    c.feature = "libseccomp";
    c.required_for_run = true;
    const scmp_version* v = seccomp_version();
    c.detail = "version " + LibseccompVersion() + ", API level " + std::to_string(seccomp_api_get());
    c.ok = v->major > 2 || (v->major == 2 && v->minor >= 5);
    if (!c.ok) c.fix = "install libseccomp 2.5 or newer (Debian 12: libseccomp2)";
    checks.push_back(c);
  }
  return checks;
}

}  // namespace warden::seccomp
