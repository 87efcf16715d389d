#include "policy/owned_bind.h"

#include <sys/stat.h>

#include <cerrno>

#include <algorithm>
#include <string>

#include "policy_data/syscall_groups.h"

namespace warden::policy {
namespace {

// Which argument of each call is the new file's mode.
struct ModeArg {
  const char* syscall;
  unsigned index;
};
constexpr ModeArg kModeArgs[] = {
    {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"open", 2},
    {"openat", 3}, {"creat", 1}, {"mknod", 1},  {"mknodat", 2},
};

bool Has(const SeccompSpec& spec, const SyscallRule& rule) {
  return std::find(spec.rules.begin(), spec.rules.end(), rule) != spec.rules.end();
}

// A verdict that stops the call: an errno or a kill. "log" lets it run.
bool Stops(SeccompAction a) { return a == SeccompAction::kErrno || a == SeccompAction::kKill; }

bool Listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Whether every call of `name` is stopped whatever its arguments: in the
// deny list (and not allowed again) under a deny action that stops calls,
// or an unconditional rule that stops it.
bool DeniedOutright(const SeccompSpec& spec, const std::string& name) {
  if (Listed(spec.deny, name) && !Listed(spec.allow, name) && Stops(spec.deny_action)) return true;
  for (const SyscallRule& r : spec.rules) {
    if (r.syscall == name && r.args.empty() && Stops(r.action)) return true;
  }
  return false;
}

SyscallRule Unconditional(const char* name, int errno_value) {
  SyscallRule r;
  r.syscall = name;
  r.action = SeccompAction::kErrno;
  r.errno_value = errno_value;
  return r;
}

}  // namespace

bool HasOwnedBind(const Policy& policy, const std::vector<MountSpec>& extra) {
  auto owned = [](const MountSpec& m) { return m.kind == MountSpec::Kind::kBind && m.owned; };
  return std::any_of(policy.mounts.begin(), policy.mounts.end(), owned) ||
         std::any_of(extra.begin(), extra.end(), owned);
}

Status AddOwnedBindRules(SeccompSpec* spec) {
  // Files opened through io_uring would escape the rules below. A policy
  // that names io_uring_setup in seccomp.allow asked for it: refused, so
  // that the choice is the user's. Otherwise (a deny action of "log", an
  // OCI profile that allows it) it is stopped here.
  if (!DeniedOutright(*spec, "io_uring_setup")) {
    if (Listed(spec->allow, "io_uring_setup")) {
      return Status::Error(Code::kInvalidArgument,
                           "an owned bind (--bind-owned, owned = true) needs io_uring_setup denied: "
                           "files opened through io_uring would escape the rules that keep set-uid "
                           "bits out of the owner's files; remove io_uring_setup from seccomp.allow");
    }
    const SyscallRule uring = Unconditional("io_uring_setup", EPERM);
    if (!Has(*spec, uring)) spec->rules.push_back(uring);
  }
  for (const ModeArg& m : kModeArgs) {
    // A call this libseccomp cannot name (fchmodat2 before 2.5.5) falls in
    // the filter's unnamed numbers, which get ENOSYS already.
    if (SyscallNumber(m.syscall) < 0) continue;
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
  const SyscallRule openat2 = Unconditional("openat2", ENOSYS);
  if (!DeniedOutright(*spec, "openat2") && !Has(*spec, openat2)) spec->rules.push_back(openat2);
  return Status::Ok();
}

}  // namespace warden::policy
