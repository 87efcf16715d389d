#include "policy/oci_seccomp.h"

#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "policy_data/syscall_groups.h"

namespace warden::policy {
namespace {

using Json = nlohmann::json;

// Nesting deeper than any profile needs (object > syscalls > entry > args >
// condition is 5) is refused while parsing, before it costs anything.
constexpr int kMaxJsonDepth = 16;
constexpr size_t kMaxNameBytes = 64;

struct DepthExceeded {};

// What a profile entry (or the default) does to a call.
struct Verdict {
  SeccompAction action = SeccompAction::kErrno;
  int errno_value = 1;  // 1 unless action is kErrno, as the loader keeps it
  bool operator==(const Verdict&) const = default;
};

// One profile entry that applies to one x86_64 syscall.
struct Entry {
  size_t index = 0;  // in syscalls[]
  Verdict verdict;
  std::vector<ArgCondition> args;
};

std::string VerdictName(const Verdict& v) {
  switch (v.action) {
    case SeccompAction::kAllow: return "SCMP_ACT_ALLOW";
    case SeccompAction::kErrno: return "SCMP_ACT_ERRNO(" + std::to_string(v.errno_value) + ")";
    case SeccompAction::kKill: return "SCMP_ACT_KILL_PROCESS";
    case SeccompAction::kLog: return "SCMP_ACT_LOG";
  }
  return "?";
}

// A string from the profile as it appears in a message: quoted, cut, with
// control characters escaped and broken UTF-8 replaced.
std::string Quoted(const std::string& s) {
  return Json(s.substr(0, kMaxNameBytes)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The arch names OCI and Docker profiles use (libseccomp's, with the
// SCMP_ARCH_ prefix).
constexpr std::array<std::string_view, 23> kArchNames = {
    "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",     "SCMP_ARCH_X32",      "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",       "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64",   "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",    "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64",   "SCMP_ARCH_RISCV64",  "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",      "SCMP_ARCH_SH",         "SCMP_ARCH_SHEB"};

// Architectures a name is looked up on when x86_64 does not know it.
constexpr std::array<uint32_t, 16> kForeignArches = {
    SCMP_ARCH_X86,     SCMP_ARCH_X32,        SCMP_ARCH_ARM,     SCMP_ARCH_AARCH64,
    SCMP_ARCH_MIPS,    SCMP_ARCH_MIPS64,     SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPSEL,
    SCMP_ARCH_MIPSEL64, SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_PPC,   SCMP_ARCH_PPC64,
    SCMP_ARCH_PPC64LE, SCMP_ARCH_S390,       SCMP_ARCH_S390X,   SCMP_ARCH_RISCV64};

bool KnownOnSomeArch(const std::string& name) {
  return std::any_of(kForeignArches.begin(), kForeignArches.end(), [&](uint32_t arch) {
    return seccomp_syscall_resolve_name_arch(arch, name.c_str()) >= 0;
  });
}

// Names of this host's architecture in includes/excludes.arches (Docker
// writes Go's GOARCH names there).
bool IsNativeArchName(const std::string& a) {
  return a == "amd64" || a == "x86_64" || a == "SCMP_ARCH_X86_64";
}

// "5.4" or "5.4.0-1-amd64" -> {5, 4}; nullopt when it does not start so.
std::optional<std::pair<int, int>> KernelMajorMinor(const std::string& s) {
  int major = 0, minor = 0;
  size_t i = 0;
  auto digits = [&](int* out) {
    size_t start = i;
    while (i < s.size() && i - start < 6 && s[i] >= '0' && s[i] <= '9') *out = *out * 10 + (s[i++] - '0');
    return i > start;
  };
  if (!digits(&major) || i >= s.size() || s[i] != '.') return std::nullopt;
  ++i;
  if (!digits(&minor)) return std::nullopt;
  return std::pair{major, minor};
}

std::optional<std::pair<int, int>> RunningKernel() {
  struct utsname u;
  if (::uname(&u) != 0) return std::nullopt;
  return KernelMajorMinor(u.release);
}

std::optional<int> ErrnoByName(const std::string& name) {
  for (int e = 1; e < 4096; ++e) {
    const char* n = strerrorname_np(e);
    if (n && name == n) return e;
  }
  return std::nullopt;
}

ArgCondition::Op Negated(ArgCondition::Op op) {
  using Op = ArgCondition::Op;
  switch (op) {
    case Op::kEq: return Op::kNe;
    case Op::kNe: return Op::kEq;
    case Op::kLt: return Op::kGe;
    case Op::kGe: return Op::kLt;
    case Op::kLe: return Op::kGt;
    case Op::kGt: return Op::kLe;
    case Op::kMaskedEq: return Op::kMaskedEq;  // has no negation; callers check
  }
  return op;
}

class Translator {
 public:
  explicit Translator(const std::string& origin) : origin_(origin) {}

  Result<SeccompSpec> Run(const Json& root) {
    if (!root.is_object()) return Fail("(top level)", "must be a JSON object");
    WARDEN_RETURN_IF_ERROR(CheckKeys(root, "", {"defaultAction", "defaultErrnoRet", "defaultErrno",
                                                "architectures", "archMap", "syscalls", "flags",
                                                "listenerPath", "listenerMetadata"}));
    WARDEN_RETURN_IF_ERROR(Unsupported(root));
    WARDEN_RETURN_IF_ERROR(Architectures(root));
    const Json* def = Find(root, "defaultAction");
    if (!def) return Fail("defaultAction", "missing: every profile needs one (e.g. \"SCMP_ACT_ERRNO\")");
    WARDEN_ASSIGN_OR_RETURN(default_, ParseVerdict(*def, Find(root, "defaultErrnoRet"),
                                                   Find(root, "defaultErrno"), "defaultAction",
                                                   "defaultErrnoRet", "defaultErrno"));
    if (const Json* calls = Find(root, "syscalls")) {
      if (!calls->is_array()) return Fail("syscalls", "must be an array");
      for (size_t i = 0; i < calls->size(); ++i) WARDEN_RETURN_IF_ERROR(Syscall((*calls)[i], i));
    }
    return Build();
  }

 private:
  Status Fail(const std::string& path, const std::string& why) const {
    return Status::Error(Code::kInvalidArgument, origin_ + ": " + path + ": " + why);
  }

  static const Json* Find(const Json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  // A key this translation does not know may carry a restriction it would
  // drop: refused.
  Status CheckKeys(const Json& obj, const std::string& path, std::initializer_list<std::string_view> keys) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) {
        const std::string& k = it.key();
        const bool plain = !k.empty() && k.size() <= kMaxNameBytes && std::all_of(k.begin(), k.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        });
        const std::string key = plain ? k : Quoted(k);
        std::string where = path.empty() ? key : path + "." + key;
        return Fail(where, "unknown key; warden does not know what it asks for");
      }
    }
    return Status::Ok();
  }

  Result<std::string> String(const Json& v, const std::string& path, size_t max_bytes = kMaxNameBytes) const {
    if (!v.is_string()) return Fail(path, "must be a string");
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() > max_bytes) return Fail(path, "longer than " + std::to_string(max_bytes) + " bytes");
    return s;
  }

  Result<std::vector<std::string>> Strings(const Json* v, const std::string& path) const {
    std::vector<std::string> out;
    if (!v) return out;
    if (!v->is_array()) return Fail(path, "must be an array of strings");
    for (size_t i = 0; i < v->size(); ++i) {
      WARDEN_ASSIGN_OR_RETURN(std::string s, String((*v)[i], path + "[" + std::to_string(i) + "]"));
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<uint64_t> U64(const Json& v, const std::string& path) const {
    if (!v.is_number_unsigned()) return Fail(path, "must be an integer from 0 to 2^64-1");
    return v.get<uint64_t>();
  }

  // flags, listeners: warden installs one filter, without flags, and has no
  // supervisor to notify, so a profile that needs them cannot be honoured.
  Status Unsupported(const Json& root) const {
    if (const Json* f = Find(root, "flags")) {
      if (!f->is_array()) return Fail("flags", "must be an array");
      if (!f->empty()) {
        return Fail("flags", "warden installs its filter without flags (" + f->dump().substr(0, 128) +
                                 ") and cannot honour them; remove them");
      }
    }
    for (const char* key : {"listenerPath", "listenerMetadata"}) {
      if (const Json* v = Find(root, key)) {
        if (!v->is_string() || !v->get_ref<const std::string&>().empty()) {
          return Fail(key, "warden has no seccomp notify listener (SCMP_ACT_NOTIFY); remove it");
        }
      }
    }
    return Status::Ok();
  }

  Status ArchName(const Json& v, const std::string& path, bool* native) const {
    WARDEN_ASSIGN_OR_RETURN(std::string a, String(v, path));
    if (std::find(kArchNames.begin(), kArchNames.end(), a) == kArchNames.end()) {
      return Fail(path, "unknown architecture " + Quoted(a) + " (expected a name like \"SCMP_ARCH_X86_64\")");
    }
    if (a == "SCMP_ARCH_X86_64") *native = true;
    return Status::Ok();
  }

  // Every name is checked. The filter itself is x86_64 only: the companion
  // architectures a profile lists (SCMP_ARCH_X86, SCMP_ARCH_X32) are killed
  // instead of filtered, which is stricter than the profile. A profile that
  // names architectures but not x86_64 was written for other machines.
  Status Architectures(const Json& root) const {
    bool named = false, native = false;
    if (const Json* a = Find(root, "architectures")) {
      if (!a->is_array()) return Fail("architectures", "must be an array of strings");
      for (size_t i = 0; i < a->size(); ++i) {
        named = true;
        WARDEN_RETURN_IF_ERROR(ArchName((*a)[i], "architectures[" + std::to_string(i) + "]", &native));
      }
    }
    if (const Json* m = Find(root, "archMap")) {
      if (!m->is_array()) return Fail("archMap", "must be an array of objects");
      for (size_t i = 0; i < m->size(); ++i) {
        const std::string path = "archMap[" + std::to_string(i) + "]";
        const Json& e = (*m)[i];
        if (!e.is_object()) return Fail(path, "must be an object");
        WARDEN_RETURN_IF_ERROR(CheckKeys(e, path, {"architecture", "subArchitectures"}));
        const Json* arch = Find(e, "architecture");
        if (!arch) return Fail(path + ".architecture", "missing");
        named = true;
        WARDEN_RETURN_IF_ERROR(ArchName(*arch, path + ".architecture", &native));
        if (const Json* subs = Find(e, "subArchitectures")) {
          if (!subs->is_array()) return Fail(path + ".subArchitectures", "must be an array of strings");
          bool ignored = false;
          for (size_t j = 0; j < subs->size(); ++j) {
            WARDEN_RETURN_IF_ERROR(
                ArchName((*subs)[j], path + ".subArchitectures[" + std::to_string(j) + "]", &ignored));
          }
        }
      }
    }
    if (named && !native) {
      return Fail("architectures", "the profile names architectures but not SCMP_ARCH_X86_64, the only one warden filters");
    }
    return Status::Ok();
  }

  // action (+ errnoRet, + Podman's errno name) -> Verdict.
  Result<Verdict> ParseVerdict(const Json& action, const Json* errno_ret, const Json* errno_name,
                               const std::string& path, const std::string& ret_path,
                               const std::string& name_path) const {
    WARDEN_ASSIGN_OR_RETURN(std::string a, String(action, path));
    Verdict v;
    if (a == "SCMP_ACT_ALLOW") {
      v.action = SeccompAction::kAllow;
    } else if (a == "SCMP_ACT_ERRNO") {
      v.action = SeccompAction::kErrno;
    } else if (a == "SCMP_ACT_KILL" || a == "SCMP_ACT_KILL_THREAD" || a == "SCMP_ACT_KILL_PROCESS") {
      // Killing the whole process is stricter than killing one thread.
      v.action = SeccompAction::kKill;
    } else if (a == "SCMP_ACT_LOG") {
      v.action = SeccompAction::kLog;
    } else if (a == "SCMP_ACT_TRAP") {
      return Fail(path, "SCMP_ACT_TRAP: warden has no trap action (a SIGSYS the program handles); use SCMP_ACT_ERRNO or SCMP_ACT_KILL_PROCESS");
    } else if (a == "SCMP_ACT_TRACE" || a == "SCMP_ACT_NOTIFY") {
      return Fail(path, a + ": warden has no tracer or notify listener to hand the call to; use SCMP_ACT_ERRNO or SCMP_ACT_KILL_PROCESS");
    } else {
      return Fail(path, "unknown action " + Quoted(a) + " (SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL or SCMP_ACT_LOG)");
    }
    std::optional<int> e;
    if (errno_ret) {
      WARDEN_ASSIGN_OR_RETURN(uint64_t n, U64(*errno_ret, ret_path));
      if (n < 1 || n > 4095) {
        return Fail(ret_path, std::to_string(n) + " is out of range 1..4095 (ERRNO(0) would fake success; warden cannot express it)");
      }
      e = static_cast<int>(n);
    }
    if (errno_name) {
      WARDEN_ASSIGN_OR_RETURN(std::string s, String(*errno_name, name_path));
      std::optional<int> by_name = ErrnoByName(s);
      if (!by_name) return Fail(name_path, Quoted(s) + " is not an errno name like \"EPERM\"");
      if (e && *e != *by_name) {
        return Fail(name_path, Quoted(s) + " disagrees with " + ret_path + " " + std::to_string(*e));
      }
      e = by_name;
    }
    if (e && v.action != SeccompAction::kErrno) {
      return Fail(errno_ret ? ret_path : name_path, "only SCMP_ACT_ERRNO returns an errno, not " + a);
    }
    // runc and crun return EPERM when an ERRNO action names no errno.
    if (v.action == SeccompAction::kErrno) v.errno_value = e.value_or(1);
    return v;
  }

  // Whether an entry applies to a warden job (see the header).
  Result<bool> Applies(const Json& entry, const std::string& path) const {
    bool applies = true;
    for (const char* which : {"includes", "excludes"}) {
      const Json* f = Find(entry, which);
      if (!f) continue;
      const std::string fpath = path + "." + which;
      if (!f->is_object()) return Fail(fpath, "must be an object");
      WARDEN_RETURN_IF_ERROR(CheckKeys(*f, fpath, {"caps", "arches", "minKernel"}));
      const bool include = std::string_view(which) == "includes";
      WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> caps, Strings(Find(*f, "caps"), fpath + ".caps"));
      WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> arches, Strings(Find(*f, "arches"), fpath + ".arches"));
      const bool native = std::any_of(arches.begin(), arches.end(), IsNativeArchName);
      if (include) {
        // The entry needs every listed capability; a job has none.
        if (!caps.empty()) applies = false;
        if (!arches.empty() && !native) applies = false;
      } else {
        // Excluded when the job has one of the caps (never) or the arch is ours.
        if (native) applies = false;
      }
      if (const Json* k = Find(*f, "minKernel")) {
        if (!include) return Fail(fpath + ".minKernel", "not supported (runtimes disagree on what it means); use includes.minKernel");
        WARDEN_ASSIGN_OR_RETURN(std::string s, String(*k, fpath + ".minKernel"));
        std::optional<std::pair<int, int>> want = KernelMajorMinor(s);
        if (!want) return Fail(fpath + ".minKernel", Quoted(s) + " is not a kernel version like \"4.8\"");
        std::optional<std::pair<int, int>> have = RunningKernel();
        if (!have) return Fail(fpath + ".minKernel", "the running kernel's version cannot be read (uname)");
        if (*have < *want) applies = false;
      }
    }
    return applies;
  }

  Result<std::vector<ArgCondition>> Args(const Json* args, const std::string& path) const {
    std::vector<ArgCondition> out;
    if (!args) return out;
    if (!args->is_array()) return Fail(path, "must be an array");
    if (args->size() > 6) return Fail(path, "a rule compares at most 6 arguments");
    for (size_t i = 0; i < args->size(); ++i) {
      const std::string apath = path + "[" + std::to_string(i) + "]";
      const Json& a = (*args)[i];
      if (!a.is_object()) return Fail(apath, "must be an object");
      WARDEN_RETURN_IF_ERROR(CheckKeys(a, apath, {"index", "value", "valueTwo", "op"}));
      const Json* index = Find(a, "index");
      const Json* op = Find(a, "op");
      if (!index) return Fail(apath + ".index", "missing");
      if (!op) return Fail(apath + ".op", "missing");
      WARDEN_ASSIGN_OR_RETURN(uint64_t idx, U64(*index, apath + ".index"));
      if (idx > 5) return Fail(apath + ".index", std::to_string(idx) + " is not an argument index 0..5");
      for (const ArgCondition& prev : out) {
        if (prev.index == idx) {
          return Fail(apath + ".index", "argument " + std::to_string(idx) +
                                            " is compared twice in one entry: runc turns that into alternatives, "
                                            "libseccomp into a conjunction; split it into one entry per comparison");
        }
      }
      uint64_t value = 0, value_two = 0;
      if (const Json* v = Find(a, "value")) {
        WARDEN_ASSIGN_OR_RETURN(value, U64(*v, apath + ".value"));
      }
      if (const Json* v = Find(a, "valueTwo")) {
        WARDEN_ASSIGN_OR_RETURN(value_two, U64(*v, apath + ".valueTwo"));
      }
      WARDEN_ASSIGN_OR_RETURN(std::string ops, String(*op, apath + ".op"));
      static constexpr std::pair<std::string_view, ArgCondition::Op> kOps[] = {
          {"SCMP_CMP_EQ", ArgCondition::Op::kEq}, {"SCMP_CMP_NE", ArgCondition::Op::kNe},
          {"SCMP_CMP_LT", ArgCondition::Op::kLt}, {"SCMP_CMP_LE", ArgCondition::Op::kLe},
          {"SCMP_CMP_GT", ArgCondition::Op::kGt}, {"SCMP_CMP_GE", ArgCondition::Op::kGe},
          {"SCMP_CMP_MASKED_EQ", ArgCondition::Op::kMaskedEq}};
      const auto* found = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& p) { return p.first == ops; });
      if (found == std::end(kOps)) {
        return Fail(apath + ".op", "unknown op " + Quoted(ops) + " (SCMP_CMP_EQ, NE, LT, LE, GT, GE or MASKED_EQ)");
      }
      ArgCondition c;
      c.index = static_cast<unsigned>(idx);
      c.op = found->second;
      if (c.op == ArgCondition::Op::kMaskedEq) {
        // libseccomp's masked compare: (arg & value) == valueTwo.
        c.mask = value;
        c.value = value_two;
      } else {
        if (value_two != 0) {
          return Fail(apath + ".valueTwo", "only SCMP_CMP_MASKED_EQ uses valueTwo; " + ops + " would ignore it");
        }
        c.value = value;
      }
      out.push_back(c);
    }
    return out;
  }

  Status Syscall(const Json& e, size_t i) {
    const std::string path = "syscalls[" + std::to_string(i) + "]";
    if (!e.is_object()) return Fail(path, "must be an object");
    WARDEN_RETURN_IF_ERROR(CheckKeys(e, path, {"names", "name", "action", "errnoRet", "errno", "args",
                                               "comment", "includes", "excludes"}));
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> names, Strings(Find(e, "names"), path + ".names"));
    if (const Json* n = Find(e, "name")) {
      WARDEN_ASSIGN_OR_RETURN(std::string one, String(*n, path + ".name"));
      names.push_back(std::move(one));
    }
    if (names.empty()) return Fail(path, "names no syscall (\"names\": [...])");
    const Json* action = Find(e, "action");
    if (!action) return Fail(path + ".action", "missing");
    Entry entry;
    entry.index = i;
    WARDEN_ASSIGN_OR_RETURN(entry.verdict, ParseVerdict(*action, Find(e, "errnoRet"), Find(e, "errno"),
                                                        path + ".action", path + ".errnoRet", path + ".errno"));
    WARDEN_ASSIGN_OR_RETURN(entry.args, Args(Find(e, "args"), path + ".args"));
    // Every name is checked, also in entries that do not apply here.
    std::vector<std::string> native;
    for (size_t j = 0; j < names.size(); ++j) {
      if (SyscallNumber(names[j]) >= 0) {
        native.push_back(names[j]);
      } else if (!KnownOnSomeArch(names[j])) {
        return Fail(path + ".names[" + std::to_string(j) + "]",
                    "unknown syscall " + Quoted(names[j]) +
                        " (libseccomp knows it on no architecture; the policy loader refuses unknown names too)");
      }
    }
    WARDEN_ASSIGN_OR_RETURN(bool applies, Applies(e, path));
    if (!applies) return Status::Ok();
    for (const std::string& n : native) by_syscall_[n].push_back(entry);
    return Status::Ok();
  }

  // A verdict without conditions for `name`.
  void Unconditional(const std::string& name, const Verdict& v) {
    if (v.action == SeccompAction::kAllow) return;
    if (v == deny_) {
      out_.deny.push_back(name);
      return;
    }
    out_.rules.push_back(SyscallRule{name, v.action, v.errno_value, {}});
  }

  void Conditional(const std::string& name, const Entry& e) {
    out_.rules.push_back(SyscallRule{name, e.verdict.action, e.verdict.errno_value, e.args});
  }

  // Whether the allow entries cover every call outside deny entry `n`: each
  // of n's conditions is negated, alone, by an allow entry. Then "n's
  // verdict, else allow" is the profile's meaning, which deny rules express.
  static bool AllowsCoverComplement(const Entry& n, const std::vector<const Entry*>& allows) {
    if (n.args.empty()) return false;
    return std::all_of(n.args.begin(), n.args.end(), [&](const ArgCondition& c) {
      if (c.op == ArgCondition::Op::kMaskedEq) return false;
      ArgCondition neg = c;
      neg.op = Negated(c.op);
      return std::any_of(allows.begin(), allows.end(), [&](const Entry* a) {
        return a->args.size() == 1 && a->args[0] == neg;
      });
    });
  }

  Status OneSyscall(const std::string& name, const std::vector<Entry>& entries) {
    const std::string where = "syscalls (" + Quoted(name) + ")";
    std::vector<const Entry*> uncond, allows, denies;
    for (const Entry& e : entries) {
      if (e.args.empty()) {
        uncond.push_back(&e);
      } else if (e.verdict.action == SeccompAction::kAllow) {
        allows.push_back(&e);
      } else {
        denies.push_back(&e);
      }
    }
    auto at = [](const Entry* e) { return "syscalls[" + std::to_string(e->index) + "]"; };
    if (!uncond.empty()) {
      // An allow entry and a deny entry without conditions (Podman lists
      // setns among the allowed calls and denies it with EPERM to
      // containers without CAP_SYS_ADMIN) take the deny: the translation
      // is never weaker than the profile. Two different denials are
      // refused; neither is the profile's meaning.
      const Entry* chosen = uncond[0];
      for (const Entry* e : uncond) {
        if (e->verdict.action != SeccompAction::kAllow) {
          chosen = e;
          break;
        }
      }
      const Verdict v = chosen->verdict;
      for (const Entry* e : uncond) {
        if (e->verdict != v && e->verdict.action != SeccompAction::kAllow) {
          return Fail(at(e), Quoted(name) + " gets " + VerdictName(e->verdict) + " here but " + VerdictName(v) +
                                 " in " + at(chosen) + ", both without conditions");
        }
      }
      for (const std::vector<const Entry*>* list : {&allows, &denies}) {
        for (const Entry* e : *list) {
          if (e->verdict != v) {
            return Fail(at(e), Quoted(name) + " gets " + VerdictName(e->verdict) + " under conditions here but " +
                                   VerdictName(v) + " without conditions in " + at(chosen) +
                                   "; runtimes differ on which wins");
          }
        }
      }
      Unconditional(name, v);
      return Status::Ok();
    }
    if (allows.empty() && denies.empty()) {
      Unconditional(name, default_);
      return Status::Ok();
    }
    if (default_.action == SeccompAction::kAllow) {
      // What no deny entry catches is allowed anyway; where an allow entry
      // overlaps a deny entry, the deny wins (warden's strictest-first).
      for (const Entry* e : denies) Conditional(name, *e);
      return Status::Ok();
    }
    if (allows.empty()) {
      if (std::all_of(denies.begin(), denies.end(), [&](const Entry* e) { return e->verdict == default_; })) {
        Unconditional(name, default_);
        return Status::Ok();
      }
      return Fail(at(denies[0]), Quoted(name) + " gets " + VerdictName(denies[0]->verdict) +
                                     " under conditions and defaultAction " + VerdictName(default_) +
                                     " otherwise; warden can deny under conditions only where the rest is allowed");
    }
    if (denies.empty()) {
      if (default_ != deny_) {
        return Fail(at(allows[0]), Quoted(name) + " is allowed only under conditions; other calls would get " +
                                       VerdictName(default_) + " from defaultAction, but warden denies them with " +
                                       VerdictName(deny_) + ", the policy's deny action");
      }
      for (const Entry* e : allows) {
        for (const ArgCondition& c : e->args) {
          if (c.op != ArgCondition::Op::kEq && c.op != ArgCondition::Op::kNe && c.op != ArgCondition::Op::kMaskedEq) {
            return Fail(at(e), "allow entries for " + Quoted(name) +
                                   " may compare with SCMP_CMP_EQ, NE and MASKED_EQ only (as warden's allow rules)");
          }
        }
        Conditional(name, *e);
      }
      return Status::Ok();
    }
    // Allow and deny entries under a denying default: exact only when the
    // allow entries catch every call no deny entry catches.
    for (const Entry* n : denies) {
      if (AllowsCoverComplement(*n, allows)) {
        for (const Entry* e : denies) Conditional(name, *e);
        return Status::Ok();
      }
    }
    return Fail(at(allows[0]), Quoted(name) + " has both allow and deny entries with conditions, and calls that match "
                                              "none get " + VerdictName(default_) +
                                              "; warden cannot express that (one kind of rule per syscall)");
  }

  Result<SeccompSpec> Build() {
    // The verdict warden's deny list and allow-rule fallthrough give: the
    // default's whenever it denies (an errno, with its value, kill or log),
    // else EPERM for the deny entries of an allowing profile.
    deny_ = default_.action == SeccompAction::kAllow ? Verdict{} : default_;
    out_.deny_action = deny_.action;
    out_.deny_errno = deny_.errno_value;
    // Every x86_64 syscall libseccomp can name, in number order; numbers it
    // cannot name get ENOSYS from the compiled filter in any case.
    for (int nr = 0; nr <= 1023; ++nr) {
      char* raw = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
      if (!raw) continue;
      std::string name = raw;
      std::free(raw);
      auto it = by_syscall_.find(name);
      static const std::vector<Entry> kNone;
      WARDEN_RETURN_IF_ERROR(OneSyscall(name, it == by_syscall_.end() ? kNone : it->second));
      if (out_.rules.size() > kMaxSyscallRules) {
        return Fail("syscalls", "translates into more than " + std::to_string(kMaxSyscallRules) +
                                    " rules, warden's limit");
      }
    }
    std::sort(out_.deny.begin(), out_.deny.end());
    out_.deny.erase(std::unique(out_.deny.begin(), out_.deny.end()), out_.deny.end());
    return std::move(out_);
  }

  std::string origin_;
  Verdict default_;
  Verdict deny_;
  std::map<std::string, std::vector<Entry>> by_syscall_;
  SeccompSpec out_;
};

}  // namespace

Result<SeccompSpec> SeccompFromOci(std::string_view json, const std::string& origin) {
  if (json.size() > kMaxPolicyBytes) {
    return Status::Error(Code::kInvalidArgument, origin + ": larger than " + std::to_string(kMaxPolicyBytes) +
                                                     " bytes, warden's limit for a profile");
  }
  Json root;
  try {
    root = Json::parse(json, [](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth) throw DepthExceeded{};
      return true;
    });
  } catch (const DepthExceeded&) {
    return Status::Error(Code::kInvalidArgument,
                         origin + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const Json::exception& e) {
    return Status::Error(Code::kInvalidArgument, origin + ": not valid JSON: " + e.what());
  }
  return Translator(origin).Run(root);
}

Result<SeccompSpec> SeccompFromOciFile(const std::string& path) {
  // O_NONBLOCK: a FIFO planted where the profile should be must not hang
  // the open; it is refused by the type check below.
  base::UniqueFd fd(base::RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK); }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + path + "\")");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + path + "\")");
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kInvalidArgument, path + ": not a regular file; a seccomp profile is a JSON file");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxPolicyBytes) {
    return Status::Error(Code::kInvalidArgument, path + ": larger than " + std::to_string(kMaxPolicyBytes) +
                                                     " bytes, warden's limit for a profile");
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = base::RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return Status::FromErrno(errno, "read(\"" + path + "\")");
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxPolicyBytes) {
      return Status::Error(Code::kInvalidArgument, path + ": larger than " + std::to_string(kMaxPolicyBytes) +
                                                       " bytes, warden's limit for a profile");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return SeccompFromOci(text, path);
}

}  // namespace warden::policy
