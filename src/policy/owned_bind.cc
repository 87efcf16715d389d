#include "policy/owned_bind.h"

#include <sys/stat.h>

#include <cerrno>

#include <algorithm>
#include <string>

namespace warden::policy {
namespace {

// Which argument of each call is the new file's mode.
struct ModeArg {
  const char* syscall;
  unsigned index;
};
constexpr ModeArg kModeArgs[] = {
    {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"open", 2},
    {"openat", 3}, {"creat", 1}, {"mknod", 1},  {"mknodat", 2},
};

bool Has(const SeccompSpec& spec, const SyscallRule& rule) {
  return std::find(spec.rules.begin(), spec.rules.end(), rule) != spec.rules.end();
}

bool Denied(const SeccompSpec& spec, const std::string& name) {
  const bool listed = std::find(spec.deny.begin(), spec.deny.end(), name) != spec.deny.end();
  const bool allowed = std::find(spec.allow.begin(), spec.allow.end(), name) != spec.allow.end();
  if (listed && !allowed) return true;
  for (const SyscallRule& r : spec.rules) {
    if (r.syscall == name && r.args.empty() && r.action != SeccompAction::kAllow &&
        r.action != SeccompAction::kLog) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool HasOwnedBind(const Policy& policy, const std::vector<MountSpec>& extra) {
  auto owned = [](const MountSpec& m) { return m.kind == MountSpec::Kind::kBind && m.owned; };
  return std::any_of(policy.mounts.begin(), policy.mounts.end(), owned) ||
         std::any_of(extra.begin(), extra.end(), owned);
}

Status AddOwnedBindRules(SeccompSpec* spec) {
  if (!Denied(*spec, "io_uring_setup")) {
    return Status::Error(Code::kInvalidArgument,
                         "an owned bind (--bind-owned, owned = true) needs io_uring_setup denied: "
                         "files opened through io_uring would escape the rules that keep set-uid "
                         "bits out of the owner's files; remove io_uring_setup from seccomp.allow");
  }
  for (const ModeArg& m : kModeArgs) {
    for (uint64_t bit : {uint64_t{S_ISUID}, uint64_t{S_ISGID}}) {
      SyscallRule r;
      r.syscall = m.syscall;
      r.action = SeccompAction::kErrno;
      r.errno_value = EPERM;
      ArgCondition c;
      c.index = m.index;
      c.op = ArgCondition::Op::kMaskedEq;
      c.mask = bit;
      c.value = bit;
      r.args.push_back(c);
      if (!Has(*spec, r)) spec->rules.push_back(r);
    }
  }
  SyscallRule openat2;
  openat2.syscall = "openat2";
  openat2.action = SeccompAction::kErrno;
  openat2.errno_value = ENOSYS;
  if (!Denied(*spec, "openat2") && !Has(*spec, openat2)) spec->rules.push_back(openat2);
  return Status::Ok();
}

}  // namespace warden::policy
