// Argument conditions against 32-bit arguments whose high half the caller
// sets: the kernel reads only the low half, so the filter must not let a
// call through that the policy denies for the value the kernel uses.
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "seccomp/seccomp.h"
#include "test_util.h"
#include "warden/policy.h"

namespace warden::seccomp {
namespace {

using Op = ArgCondition::Op;

// The fd the kernel's dup() sees for kHighFd: dup takes an unsigned int, so
// the high half of the register is ignored.
constexpr int kFd = 5;
constexpr uint64_t kHighFd = (uint64_t{1} << 32) | kFd;

// What dup(arg) gives under a filter with the one rule `rule` on dup: 0 when
// the call succeeds, else its errno. Runs in a forked child on a real
// kernel, with fd kFd open on /dev/null.
int DupUnder(const SyscallRule& rule, uint64_t arg) {
  SeccompSpec spec;
  spec.rules.push_back(rule);
  CompileOptions opts;
  opts.use_cache = false;
  Result<BpfProgram> prog = Compile(spec, opts);
  INFO(prog.status().ToString());
  REQUIRE(prog.ok());
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup2(fd, kFd) != kFd) _exit(200);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(201);
    if (InstallFilter(prog->insns.data(), prog->insns.size()) != 0) _exit(202);
    long r = syscall(SYS_dup, arg);
    _exit(r >= 0 ? 0 : (errno & 0xff));
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) < 200);
  return WEXITSTATUS(status);
}

SyscallRule Rule(SeccompAction action, Op op, uint64_t value, uint64_t mask = 0) {
  SyscallRule r;
  r.syscall = "dup";
  r.action = action;
  r.errno_value = E2BIG;  // a deny rule's own errno, told apart from the kernel's
  r.args.push_back(ArgCondition{0, op, value, mask});
  return r;
}

SyscallRule Deny(Op op, uint64_t value, uint64_t mask = 0) {
  return Rule(SeccompAction::kErrno, op, value, mask);
}
SyscallRule Allow(Op op, uint64_t value, uint64_t mask = 0) {
  return Rule(SeccompAction::kAllow, op, value, mask);
}

TEST_CASE("seccomp: a deny rule on a 32-bit argument holds with the high bits set", "[seccomp]") {
  // The kernel dups fd 5 for kHighFd; each rule denies fd 5.
  CHECK(DupUnder(Deny(Op::kEq, kFd), kHighFd) == E2BIG);
  CHECK(DupUnder(Deny(Op::kNe, 6), kHighFd) == E2BIG);
  CHECK(DupUnder(Deny(Op::kLt, 6), kHighFd) == E2BIG);
  CHECK(DupUnder(Deny(Op::kLe, kFd), kHighFd) == E2BIG);
  CHECK(DupUnder(Deny(Op::kGt, 4), kHighFd) == E2BIG);
  CHECK(DupUnder(Deny(Op::kGe, kFd), kHighFd) == E2BIG);
  CHECK(DupUnder(Deny(Op::kMaskedEq, kFd, 0xff), kHighFd) == E2BIG);
  CHECK(DupUnder(Deny(Op::kMaskedEq, kFd, 0xffffffffffffffffull), kHighFd) == E2BIG);
  // A sign-extended 32-bit value (as AT_FDCWD is written) also matches the
  // zero-extended register.
  CHECK(DupUnder(Deny(Op::kEq, static_cast<uint64_t>(-100)), 0xffffff9cull) == E2BIG);
}

TEST_CASE("seccomp: a deny rule on a 32-bit argument still lets other values through", "[seccomp]") {
  CHECK(DupUnder(Deny(Op::kEq, 6), kHighFd) == 0);
  CHECK(DupUnder(Deny(Op::kLt, kFd), kHighFd) == 0);
  CHECK(DupUnder(Deny(Op::kGt, kFd), kFd) == 0);
  CHECK(DupUnder(Deny(Op::kNe, kFd), kFd) == 0);
  CHECK(DupUnder(Deny(Op::kMaskedEq, 6, 0xff), kHighFd) == 0);
  // A value that needs 64 bits names a 64-bit argument: compared whole.
  CHECK(DupUnder(Deny(Op::kEq, kHighFd), kFd) == 0);
  CHECK(DupUnder(Deny(Op::kEq, kHighFd), kHighFd) == E2BIG);
}

TEST_CASE("seccomp: an allow rule on a 32-bit argument is not met by setting the high bits",
          "[seccomp]") {
  // Each rule allows dup only for fds other than 5 (or says nothing about
  // 5 on its 64-bit reading); the kernel would dup fd 5.
  CHECK(DupUnder(Allow(Op::kNe, kFd), kHighFd) == EPERM);
  CHECK(DupUnder(Allow(Op::kGt, 100), kHighFd) == EPERM);
  CHECK(DupUnder(Allow(Op::kGe, 6), kHighFd) == EPERM);
  // Rules whose 64-bit reading fails: fail closed.
  CHECK(DupUnder(Allow(Op::kEq, kFd), kHighFd) == EPERM);
  CHECK(DupUnder(Allow(Op::kLt, 6), kHighFd) == EPERM);
  CHECK(DupUnder(Allow(Op::kLe, kFd), kHighFd) == EPERM);
  // Both readings agree: allowed.
  CHECK(DupUnder(Allow(Op::kMaskedEq, kFd, 0xff), kHighFd) == 0);
  CHECK(DupUnder(Allow(Op::kNe, 6), kFd) == 0);
  CHECK(DupUnder(Allow(Op::kEq, kFd), kFd) == 0);
  CHECK(DupUnder(Allow(Op::kLt, 6), kFd) == 0);
  CHECK(DupUnder(Allow(Op::kLe, kFd), kFd) == 0);
  CHECK(DupUnder(Allow(Op::kGe, kFd), kFd) == 0);
  CHECK(DupUnder(Allow(Op::kGt, 4), kFd) == 0);
  CHECK(DupUnder(Allow(Op::kNe, kFd), kFd) == EPERM);
}

TEST_CASE("seccomp: when rules of one syscall overlap, the strictest action wins", "[seccomp]") {
  SeccompSpec spec;
  SyscallRule log_rule = Deny(Op::kEq, kFd);
  log_rule.action = SeccompAction::kLog;
  spec.rules.push_back(log_rule);
  spec.rules.push_back(Deny(Op::kLt, 10));
  spec.rules.push_back(Allow(Op::kGe, 0));
  CompileOptions opts;
  opts.use_cache = false;
  Result<BpfProgram> prog = Compile(spec, opts);
  REQUIRE(prog.ok());
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(201);
    if (InstallFilter(prog->insns.data(), prog->insns.size()) != 0) _exit(202);
    long r = syscall(SYS_dup, kFd);
    _exit(r >= 0 ? 0 : (errno & 0xff));
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == E2BIG);
}

}  // namespace
}  // namespace warden::seccomp
