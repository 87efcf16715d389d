// OCI/Docker seccomp profiles -> SeccompSpec: every action, op, errno and
// filter, every refusal, the TOML round trip, and real-world profiles where
// Debian's packages put them.
#include "policy/oci_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <string>

#include "seccomp/seccomp.h"
#include "test_util.h"
#include "warden/policy.h"

namespace warden::policy {
namespace {

using Op = ArgCondition::Op;

SeccompSpec Translate(const std::string& json) {
  Result<SeccompSpec> s = SeccompFromOci(json, "p.json");
  INFO(json);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

// The error message for `json` (which must be refused).
std::string Refusal(const std::string& json) {
  Result<SeccompSpec> s = SeccompFromOci(json, "p.json");
  INFO(json);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Code::kInvalidArgument);
  return s.status().message();
}

// A profile with default `def` and the given syscalls[] entries.
std::string Profile(const std::string& def, const std::string& entries) {
  return "{\"defaultAction\": " + def + ", \"architectures\": [\"SCMP_ARCH_X86_64\"], \"syscalls\": [" +
         entries + "]}";
}
std::string AllowAll(const std::string& entries) { return Profile("\"SCMP_ACT_ALLOW\"", entries); }

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const SyscallRule* RuleFor(const SeccompSpec& s, const std::string& name) {
  for (const SyscallRule& r : s.rules) {
    if (r.syscall == name) return &r;
  }
  return nullptr;
}

int ErrnoUnder(const SeccompSpec& spec, const std::function<long()>& call);

TEST_CASE("oci: each action", "[policy][oci]") {
  SeccompSpec s = Translate(AllowAll(R"(
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
    {"names": ["chmod"], "action": "SCMP_ACT_KILL"},
    {"names": ["chown"], "action": "SCMP_ACT_KILL_THREAD"},
    {"names": ["lchown"], "action": "SCMP_ACT_KILL_PROCESS"},
    {"names": ["uname"], "action": "SCMP_ACT_LOG"},
    {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
    {"name": "link", "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "errno": "ENOSYS"}
  )"));
  // Under an allowing default, EPERM is the policy's deny action: a deny
  // list entry. Every other verdict is a rule of its own.
  CHECK(s.deny_action == SeccompAction::kErrno);
  CHECK(s.deny == std::vector<std::string>{"rmdir"});
  CHECK(s.allow.empty());
  REQUIRE(RuleFor(s, "mkdir"));
  CHECK(*RuleFor(s, "mkdir") == SyscallRule{"mkdir", SeccompAction::kErrno, 13, {}});
  CHECK(*RuleFor(s, "link") == SyscallRule{"link", SeccompAction::kErrno, 38, {}});
  // KILL and KILL_THREAD kill the whole process: stricter, never weaker.
  for (const char* k : {"chmod", "chown", "lchown"}) {
    REQUIRE(RuleFor(s, k));
    CHECK(*RuleFor(s, k) == SyscallRule{k, SeccompAction::kKill, 1, {}});
  }
  REQUIRE(RuleFor(s, "uname"));
  CHECK(RuleFor(s, "uname")->action == SeccompAction::kLog);
  CHECK_FALSE(RuleFor(s, "getpid"));
  CHECK(s.rules.size() == 6);
}

TEST_CASE("oci: actions warden cannot honour are refused", "[policy][oci]") {
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_TRAP"})")).find("syscalls[0].action: SCMP_ACT_TRAP") !=
        std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_TRACE"})")).find("no tracer") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"})")).find("notify") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_FOO"})")).find("unknown action") != std::string::npos);
  CHECK(Refusal(Profile("\"SCMP_ACT_TRAP\"", "")).find("defaultAction: SCMP_ACT_TRAP") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"]})")).find("syscalls[0].action: missing") != std::string::npos);
  CHECK(Refusal("{\"syscalls\": []}").find("defaultAction: missing") != std::string::npos);
}

TEST_CASE("oci: errnoRet and errno names", "[policy][oci]") {
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0})"))
            .find("syscalls[0].errnoRet: 0 is out of range") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4096})"))
            .find("out of range") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": -1})"))
            .find("syscalls[0].errnoRet: must be an integer") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1})"))
            .find("only SCMP_ACT_ERRNO returns an errno") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "errno": "ENOSYS"})"))
            .find("disagrees") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errno": "EWHAT"})"))
            .find("not an errno name") != std::string::npos);
  SeccompSpec s = Translate(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES"})"));
  REQUIRE(RuleFor(s, "mkdir"));
  CHECK(RuleFor(s, "mkdir")->errno_value == EACCES);
}

TEST_CASE("oci: each comparison op", "[policy][oci]") {
  struct Case {
    const char* op;
    Op want;
  } cases[] = {{"SCMP_CMP_EQ", Op::kEq}, {"SCMP_CMP_NE", Op::kNe}, {"SCMP_CMP_LT", Op::kLt},
               {"SCMP_CMP_LE", Op::kLe}, {"SCMP_CMP_GT", Op::kGt}, {"SCMP_CMP_GE", Op::kGe}};
  for (const Case& c : cases) {
    SeccompSpec s = Translate(AllowAll(std::string(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7,
        "args": [{"index": 0, "value": 5, "op": ")") + c.op + "\"}]}"));
    REQUIRE(s.rules.size() == 1);
    CHECK(s.rules[0] == SyscallRule{"dup", SeccompAction::kErrno, 7, {ArgCondition{0, c.want, 5, 0}}});
  }
  // libseccomp's masked compare: (arg & value) == valueTwo.
  SeccompSpec m = Translate(AllowAll(R"({"names": ["clone"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "value": 2114060288, "valueTwo": 16, "op": "SCMP_CMP_MASKED_EQ"},
               {"index": 2, "value": 18446744073709551615, "op": "SCMP_CMP_EQ"}]})"));
  REQUIRE(m.rules.size() == 1);
  CHECK(m.rules[0].args == std::vector<ArgCondition>{{0, Op::kMaskedEq, 16, 2114060288}, {2, Op::kEq, ~0ull, 0}});

  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "value": 1, "valueTwo": 2, "op": "SCMP_CMP_EQ"}]})"))
            .find("syscalls[0].args[0].valueTwo: only SCMP_CMP_MASKED_EQ") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]})"))
            .find("syscalls[0].args[0].index: 6 is not") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]})"))
            .find("unknown op") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "value": -3, "op": "SCMP_CMP_EQ"}]})"))
            .find("args[0].value: must be an integer") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "value": 1.5, "op": "SCMP_CMP_EQ"}]})"))
            .find("must be an integer") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 1, "extra": 1}]})"))
            .find("args[0].extra: unknown key") != std::string::npos);
  // runc ORs two comparisons of one argument, libseccomp ANDs them.
  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO",
      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GT"}, {"index": 0, "value": 9, "op": "SCMP_CMP_LT"}]})"))
            .find("args[1].index: argument 0 is compared twice") != std::string::npos);
}

TEST_CASE("oci: a denying default becomes the deny list", "[policy][oci]") {
  SeccompSpec s = Translate(Profile("\"SCMP_ACT_ERRNO\"", R"(
    {"names": ["read", "write", "exit_group", "_llseek", "arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
  )"));
  CHECK(s.deny_action == SeccompAction::kErrno);
  CHECK(s.deny_errno == EPERM);
  CHECK(std::is_sorted(s.deny.begin(), s.deny.end()));
  for (const char* allowed : {"read", "write", "exit_group", "personality", "clone", "clone3"}) {
    INFO(allowed);
    CHECK_FALSE(Has(s.deny, allowed));
  }
  for (const char* denied : {"mount", "ptrace", "unshare", "openat", "bpf"}) {
    INFO(denied);
    CHECK(Has(s.deny, denied));
  }
  REQUIRE(s.rules.size() == 3);
  CHECK(*RuleFor(s, "personality") == SyscallRule{"personality", SeccompAction::kAllow, 1, {{0, Op::kEq, 8, 0}}});
  CHECK(*RuleFor(s, "clone") ==
        SyscallRule{"clone", SeccompAction::kAllow, 1, {{0, Op::kMaskedEq, 0, 2114060288}}});
  CHECK(*RuleFor(s, "clone3") == SyscallRule{"clone3", SeccompAction::kErrno, 38, {}});

  SeccompSpec k = Translate(Profile("\"SCMP_ACT_KILL_PROCESS\"", R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"})"));
  CHECK(k.deny_action == SeccompAction::kKill);
  CHECK(k.deny_errno == 1);
  CHECK(Has(k.deny, "write"));
  SeccompSpec l = Translate(Profile("\"SCMP_ACT_LOG\"", R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"})"));
  CHECK(l.deny_action == SeccompAction::kLog);
  CHECK(Has(l.deny, "write"));
}

TEST_CASE("oci: defaultErrnoRet is the errno of the deny action", "[policy][oci]") {
  SeccompSpec s = Translate(
      "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, \"syscalls\": ["
      "{\"names\": [\"read\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"},"
      "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1},"
      "{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
      " \"args\": [{\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]}]}");
  // The default's ENOSYS is the deny list's errno; EPERM is a rule.
  CHECK(s.deny_action == SeccompAction::kErrno);
  CHECK(s.deny_errno == ENOSYS);
  CHECK(Has(s.deny, "getppid"));
  for (const char* name : {"read", "exit_group", "mount", "personality"}) {
    INFO(name);
    CHECK_FALSE(Has(s.deny, name));
  }
  REQUIRE(s.rules.size() == 2);
  CHECK(*RuleFor(s, "mount") == SyscallRule{"mount", SeccompAction::kErrno, 1, {}});
  CHECK(*RuleFor(s, "personality") == SyscallRule{"personality", SeccompAction::kAllow, 1, {{0, Op::kEq, 8, 0}}});
  // Under the filter: personality's other values fall through to ENOSYS,
  // as the profile's default gives them.
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_getppid); }) == ENOSYS);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_mount, "none", "/nonexistent", "tmpfs", 0, nullptr); }) == EPERM);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_personality, READ_IMPLIES_EXEC); }) == ENOSYS);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_personality, 0xffffffffUL); }) == ENOSYS);
  CHECK(Refusal("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 0}").find("defaultErrnoRet: 0") !=
        std::string::npos);
}

TEST_CASE("oci: includes and excludes, for a job without capabilities on this host", "[policy][oci]") {
  SeccompSpec s = Translate(Profile("\"SCMP_ACT_ERRNO\"", R"(
    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "excludes": {"caps": ["CAP_SYS_CHROOT"]}},
    {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
    {"names": ["cacheflush", "sync_file_range"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
    {"names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
    {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["s390x"]}},
    {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "2.6"}},
    {"names": ["kcmp"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "999.0"}}
  )"));
  CHECK(Has(s.deny, "mount"));             // needs a capability the job lacks
  CHECK(RuleFor(s, "chroot"));             // applies: the job lacks the excluded cap
  CHECK_FALSE(Has(s.deny, "arch_prctl"));  // for amd64
  CHECK(Has(s.deny, "sync_file_range"));   // for arm64 only
  CHECK(Has(s.deny, "modify_ldt"));        // excluded on amd64
  CHECK_FALSE(Has(s.deny, "uname"));
  CHECK_FALSE(Has(s.deny, "ptrace"));  // this kernel is newer than 2.6
  CHECK(Has(s.deny, "kcmp"));          // and older than 999.0

  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "excludes": {"minKernel": "4.8"}})"))
            .find("syscalls[0].excludes.minKernel: not supported") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "four"}})"))
            .find("not a kernel version") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "includes": {"user": "root"}})"))
            .find("syscalls[0].includes.user: unknown key") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": "CAP_X"}})"))
            .find("includes.caps: must be an array") != std::string::npos);
}

TEST_CASE("oci: architectures", "[policy][oci]") {
  Translate(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]})");
  Translate(R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [
      {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
      {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}]})");
  Translate(R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_AARCH64"]})")
            .find("not SCMP_ARCH_X86_64") != std::string::npos);
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})")
            .find("architectures[0]: unknown architecture \"SCMP_ARCH_VAX\"") != std::string::npos);
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64",
      "subArchitectures": ["x86"]}]})")
            .find("archMap[0].subArchitectures[0]: unknown architecture") != std::string::npos);
}

TEST_CASE("oci: flags, listeners and unknown keys are refused", "[policy][oci]") {
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]})")
            .find("flags: warden installs its filter without flags") != std::string::npos);
  Translate(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": [], "listenerPath": ""})");
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/seccomp.sock"})")
            .find("listenerPath: warden has no seccomp notify listener") != std::string::npos);
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"})").find("listenerMetadata") !=
        std::string::npos);
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "defaultBehaviour": "strict"})")
            .find("p.json: defaultBehaviour: unknown key") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "when": "always"})"))
            .find("syscalls[0].when: unknown key") != std::string::npos);
  // What the profile says is quoted in messages, control characters escaped.
  const std::string odd = Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "a\u001b[2Jb": 1})");
  CHECK(odd.find(R"("a\u001b[2Jb": unknown key)") != std::string::npos);
  CHECK(odd.find('\x1b') == std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["x\nz"], "action": "SCMP_ACT_ERRNO"})")).find(R"("x\nz")") != std::string::npos);
}

TEST_CASE("oci: syscall names follow the loader's rule", "[policy][oci]") {
  // A typo would drop a deny entry: refused, as the loader refuses it.
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir", "ptarce"], "action": "SCMP_ACT_ERRNO"})"))
            .find("syscalls[0].names[1]: unknown syscall \"ptarce\"") != std::string::npos);
  // Names of other architectures' syscalls cannot be called by an x86_64
  // job: skipped.
  SeccompSpec s = Translate(AllowAll(R"({"names": ["_llseek", "arm_fadvise64_64", "socketcall"], "action": "SCMP_ACT_ERRNO"})"));
  CHECK(s.deny.empty());
  CHECK(s.rules.empty());
  CHECK(Refusal(AllowAll(R"({"names": [], "action": "SCMP_ACT_ERRNO"})")).find("names no syscall") != std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": [7], "action": "SCMP_ACT_ERRNO"})")).find("names[0]: must be a string") !=
        std::string::npos);
}

TEST_CASE("oci: entries for one syscall that warden cannot combine are refused", "[policy][oci]") {
  // Allowed by one entry and denied by another, both without conditions:
  // the deny, never the weaker reading.
  SeccompSpec both = Translate(AllowAll(R"({"names": ["setns", "mkdir"], "action": "SCMP_ACT_ALLOW"},
                           {"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13})"));
  REQUIRE(RuleFor(both, "setns"));
  CHECK(*RuleFor(both, "setns") == SyscallRule{"setns", SeccompAction::kErrno, 13, {}});
  CHECK(both.rules.size() == 1);
  CHECK(Refusal(AllowAll(R"({"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                           {"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"},
                           {"names": ["mkdir"], "action": "SCMP_ACT_KILL"})"))
            .find("syscalls[2]: \"mkdir\" gets SCMP_ACT_KILL_PROCESS here but SCMP_ACT_ERRNO(1) in syscalls[0]") !=
        std::string::npos);
  CHECK(Refusal(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO"},
                           {"names": ["dup"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]})"))
            .find("runtimes differ on which wins") != std::string::npos);
  // Same verdict twice is fine; conditions under the same verdict add nothing.
  SeccompSpec same = Translate(AllowAll(R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO"},
                           {"names": ["dup"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]})"));
  CHECK(same.deny == std::vector<std::string>{"dup"});
  CHECK(same.rules.empty());
  // Deny under conditions, deny otherwise too (with another errno).
  CHECK(Refusal(Profile("\"SCMP_ACT_ERRNO\"",
                        R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9,
                           "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]})"))
            .find("warden can deny under conditions only where the rest is allowed") != std::string::npos);
  // Allow rules compare with eq, ne and masked_eq only.
  CHECK(Refusal(Profile("\"SCMP_ACT_ERRNO\"",
                        R"({"names": ["dup"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LT"}]})"))
            .find("SCMP_CMP_EQ, NE and MASKED_EQ only") != std::string::npos);
  // Allow and deny entries, with calls left for the denying default.
  CHECK(Refusal(Profile("\"SCMP_ACT_ERRNO\"", R"(
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]})"))
            .find("both allow and deny entries") != std::string::npos);
}

TEST_CASE("oci: allow entries that cover the complement of a deny entry are exact", "[policy][oci]") {
  // Podman's audit-socket entries: EINVAL for (16, *, 9), allowed otherwise.
  SeccompSpec s = Translate(Profile("\"SCMP_ACT_ERRNO\"", R"(
      {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}, {"index": 2, "value": 9, "op": "SCMP_CMP_EQ"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 9, "op": "SCMP_CMP_NE"}]},
      {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_NE"}]})"));
  CHECK_FALSE(Has(s.deny, "socket"));
  REQUIRE(s.rules.size() == 1);
  CHECK(s.rules[0] == SyscallRule{"socket", SeccompAction::kErrno, 22, {{0, Op::kEq, 16, 0}, {2, Op::kEq, 9, 0}}});
}

TEST_CASE("oci: bounds and malformed input", "[policy][oci]") {
  CHECK(Refusal("{").find("p.json: not valid JSON") != std::string::npos);
  CHECK(Refusal("[]").find("must be a JSON object") != std::string::npos);
  CHECK(Refusal(std::string(40, '[') + std::string(40, ']')).find("nested deeper") != std::string::npos);
  std::string big = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"x\": \"" + std::string(kMaxPolicyBytes, 'a') + "\"}";
  CHECK(Refusal(big).find("larger than") != std::string::npos);
  CHECK(Refusal(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}})").find("syscalls: must be an array") !=
        std::string::npos);
  // More rules than a policy may hold: 4095 distinct errnos on one
  // conditional syscall each.
  std::string entries;
  for (int i = 0; i <= static_cast<int>(kMaxSyscallRules); ++i) {
    if (i) entries += ",";
    entries += R"({"names": ["dup"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5, "args": [{"index": 1, "value": )" +
               std::to_string(i) + R"(, "op": "SCMP_CMP_EQ"}]})";
  }
  CHECK(Refusal(AllowAll(entries)).find("more than 512 rules") != std::string::npos);
}

TEST_CASE("oci: a FIFO or a directory where the profile should be is refused without blocking", "[policy][oci]") {
  testing::TempDir dir;
  const std::string fifo = dir.Join("p.json");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  Result<SeccompSpec> s = SeccompFromOciFile(fifo);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("not a regular file") != std::string::npos);
  CHECK_FALSE(SeccompFromOciFile(dir.path()).ok());
  CHECK_FALSE(SeccompFromOciFile(dir.Join("missing.json")).ok());
  testing::WriteText(dir.Join("ok.json"), R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  CHECK(SeccompFromOciFile(dir.Join("ok.json")).ok());
}

// The spec written as a policy's [seccomp] loads back unchanged.
void CheckRoundTrip(const SeccompSpec& spec) {
  ::warden::testing::ScopedHostConfig env(&base::HostConfig::policy_dir, testing::RepoPolicies());
  Result<Policy> base = ResolvePolicy("default");
  REQUIRE(base.ok());
  Policy p = std::move(base).value();
  p.seccomp = spec;
  Result<Policy> back = LoadPolicyString(PolicyToToml(p), "imported.toml");
  INFO(back.status().ToString());
  REQUIRE(back.ok());
  CHECK(back->seccomp == spec);
  seccomp::CompileOptions opts;
  opts.use_cache = false;
  Result<seccomp::BpfProgram> bpf = seccomp::Compile(spec, opts);
  INFO(bpf.status().ToString());
  CHECK(bpf.ok());
}

TEST_CASE("oci: translations load back from TOML to the same spec", "[policy][oci]") {
  CheckRoundTrip(Translate(Profile("\"SCMP_ACT_ERRNO\"", R"(
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
    {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
    {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["uname"], "action": "SCMP_ACT_LOG"})")));
  CheckRoundTrip(Translate(AllowAll(R"(
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
    {"names": ["dup"], "action": "SCMP_ACT_KILL", "args": [{"index": 0, "value": 18446744073709551615, "op": "SCMP_CMP_GE"}]})")));
  CheckRoundTrip(Translate(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})"));
  CheckRoundTrip(Translate(Profile("\"SCMP_ACT_KILL_PROCESS\"", R"({"names": ["read"], "action": "SCMP_ACT_ALLOW"})")));
}

// What `call` gives in a forked child under `spec`'s filter: 0 or its errno.
int ErrnoUnder(const SeccompSpec& spec, const std::function<long()>& call) {
  seccomp::CompileOptions opts;
  opts.use_cache = false;
  Result<seccomp::BpfProgram> prog = seccomp::Compile(spec, opts);
  INFO(prog.status().ToString());
  REQUIRE(prog.ok());
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(200);
    if (seccomp::InstallFilter(prog->insns.data(), prog->insns.size()) != 0) _exit(201);
    long r = call();
    _exit(r < 0 ? (errno & 0xff) : 0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) < 200);
  return WEXITSTATUS(status);
}

// Real-world profiles, as Debian ships them (not in this repository):
// docker.io's source package (golang-github-docker-docker-dev) and
// containers-common (Podman, Buildah). WARDEN_TEST_OCI_PROFILE_ROOT
// prefixes the paths (a package unpacked with dpkg -x).
std::string FindProfile(const std::vector<std::string>& paths) {
  const char* root = std::getenv("WARDEN_TEST_OCI_PROFILE_ROOT");
  for (const std::string& p : paths) {
    for (const std::string& prefix : {std::string(root ? root : ""), std::string()}) {
      if (access((prefix + p).c_str(), R_OK) == 0) return prefix + p;
    }
  }
  return "";
}

TEST_CASE("oci: Docker's default profile translates and enforces what it says", "[policy][oci]") {
  const std::string path = FindProfile({"/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json",
                                        "/usr/share/docker.io/seccomp.json", "/etc/docker/seccomp.json"});
  if (path.empty()) {
    WARDEN_SKIP("Docker's seccomp profile not installed (apt-get install golang-github-docker-docker-dev, "
                "or set WARDEN_TEST_OCI_PROFILE_ROOT to where its .deb is unpacked)");
  }
  Result<SeccompSpec> r = SeccompFromOciFile(path);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  const SeccompSpec& s = r.value();
  CheckRoundTrip(s);
  // Allowed by name; clone3 by its own ERRNO(ENOSYS) entry; unshare by
  // defaultAction (its allow entry needs CAP_SYS_ADMIN); personality only
  // for the values listed.
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_getpid); }) == 0);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_clone3, nullptr, 0); }) == ENOSYS);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_unshare, CLONE_NEWUSER); }) == EPERM);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_personality, 0xffffffffUL); }) == 0);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_personality, READ_IMPLIES_EXEC); }) == EPERM);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0); }) == EPERM);
}

TEST_CASE("oci: Podman's profile translates and enforces what it says", "[policy][oci]") {
  const std::string path = FindProfile({"/usr/share/containers/seccomp.json",
                                        "/usr/share/gocode/src/github.com/containers/common/pkg/seccomp/seccomp.json"});
  if (path.empty()) {
    WARDEN_SKIP("containers-common's seccomp.json not installed (apt-get install golang-github-containers-common-dev, "
                "or set WARDEN_TEST_OCI_PROFILE_ROOT to where its .deb is unpacked)");
  }
  Result<SeccompSpec> r = SeccompFromOciFile(path);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  const SeccompSpec& s = r.value();
  // Its default is ERRNO(ENOSYS): the deny action, not a rule per syscall.
  CHECK(s.deny_action == SeccompAction::kErrno);
  CHECK(s.deny_errno == ENOSYS);
  CHECK(s.rules.size() < 100);
  CheckRoundTrip(s);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_getpid); }) == 0);
  // Unlisted: the default's ENOSYS.
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_add_key, nullptr, nullptr, nullptr, 0, 0); }) == ENOSYS);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_io_uring_setup, 1, nullptr); }) == ENOSYS);
  // personality: the listed values are allowed, any other falls through
  // to the default's ENOSYS.
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_personality, 0xffffffffUL); }) == 0);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_personality, READ_IMPLIES_EXEC); }) == ENOSYS);
  // Its own EPERM entries (for a job without capabilities), setns's among
  // them although its list of allowed calls names setns too.
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_kexec_load, 0, 0, nullptr, 0); }) == EPERM);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_setns, -1, 0); }) == EPERM);
  // The audit socket gets EINVAL, other sockets are allowed.
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 9); }) == EINVAL);
  CHECK(ErrnoUnder(s, [] { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }) == 0);
}

}  // namespace
}  // namespace warden::policy
