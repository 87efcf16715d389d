#include "policy/owned_bind.h"

#include <sys/stat.h>

#include "test_util.h"

#include "warden/policy.h"
#include "policy_data/syscall_groups.h"
#include "seccomp/seccomp.h"

namespace warden::policy {
namespace {

SeccompSpec DefaultSpec() {
  Result<Policy> p = ResolvePolicy("default");
  REQUIRE(p.ok());
  return p->seccomp;
}

TEST_CASE("owned bind: set-id mode rules are added once and compile", "[policy][owned]") {
  SeccompSpec spec = DefaultSpec();
  const size_t before = spec.rules.size();
  REQUIRE(AddOwnedBindRules(&spec).ok());
  const size_t after = spec.rules.size();
  CHECK(after > before);
  REQUIRE(AddOwnedBindRules(&spec).ok());
  CHECK(spec.rules.size() == after);
  bool chmod_suid = false, openat_sgid = false;
  for (const SyscallRule& r : spec.rules) {
    if (r.args.size() != 1) continue;
    const ArgCondition& c = r.args[0];
    if (r.syscall == "chmod" && c.index == 1 && c.mask == S_ISUID && c.value == S_ISUID) chmod_suid = true;
    if (r.syscall == "openat" && c.index == 3 && c.mask == S_ISGID && c.value == S_ISGID) openat_sgid = true;
  }
  CHECK(chmod_suid);
  CHECK(openat_sgid);
  CHECK(seccomp::Compile(spec).ok());
}

TEST_CASE("owned bind: refused when io_uring_setup is allowed", "[policy][owned]") {
  SeccompSpec spec = DefaultSpec();
  spec.allow.push_back("io_uring_setup");
  Status st = AddOwnedBindRules(&spec);
  CHECK(!st.ok());
  CHECK(st.message().find("io_uring_setup") != std::string::npos);
}

TEST_CASE("owned bind: io_uring is stopped under a deny action that only logs", "[policy][owned]") {
  SeccompSpec spec = DefaultSpec();
  spec.deny_action = SeccompAction::kLog;
  REQUIRE(AddOwnedBindRules(&spec).ok());
  bool uring = false, fchmodat2 = false;
  for (const SyscallRule& r : spec.rules) {
    if (r.syscall == "io_uring_setup" && r.args.empty() && r.action == SeccompAction::kErrno) uring = true;
    if (r.syscall == "fchmodat2" && r.args.size() == 1 && r.args[0].index == 2) fchmodat2 = true;
  }
  CHECK(uring);
  // Named where this libseccomp knows it; else the filter's ENOSYS covers it.
  CHECK(fchmodat2 == (SyscallNumber("fchmodat2") >= 0));
  CHECK(seccomp::Compile(spec).ok());
}

TEST_CASE("owned bind: detected in the policy's mounts and in extra mounts", "[policy][owned]") {
  Policy p;
  MountSpec m;
  m.source = "/srv/ws";
  m.destination = "/work";
  CHECK(!HasOwnedBind(p, {m}));
  m.owned = true;
  CHECK(HasOwnedBind(p, {m}));
  p.mounts.push_back(m);
  CHECK(HasOwnedBind(p, {}));
}

}  // namespace
}  // namespace warden::policy
