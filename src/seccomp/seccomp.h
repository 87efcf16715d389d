// Policy -> seccomp BPF, compiled in the parent with libseccomp and cached by
// content hash. The child installs the instructions with a raw
// seccomp(SECCOMP_SET_MODE_FILTER) call: nothing from libseccomp runs after
// clone.
//
// Semantics of a compiled filter (x86_64 only):
//   - foreign architectures (i386, and x32 syscall numbers with bit
//     0x40000000 set) kill the process;
//   - syscalls in spec.deny get spec.deny_action: ERRNO(spec.deny_errno)
//     (EPERM unless set), KILL_PROCESS or LOG;
//   - spec.rules apply their action when all their argument conditions hold;
//     a syscall with "allow" rules gets spec.deny_action (as the deny list)
//     unless one of them matches;
//     when several rules match, the strictest action wins (kill, errno,
//     log, allow); a syscall denied outright, or with a rule that has no
//     conditions, keeps that verdict whatever its conditional rules say;
//   - a condition whose value fits in 32 bits (or is a sign-extended 32-bit
//     value) is also read on the low 32 bits alone, since the kernel
//     ignores the high half of a 32-bit argument: "allow" conditions must
//     hold on both readings, deny conditions on either;
//   - numbers 0..1023 that libseccomp cannot name for x86_64 get
//     ERRNO(spec.unknown_errno) (ENOSYS), so syscalls newer than this build
//     fail the way an old kernel would;
//   - everything else is allowed.
// The filter does not set no_new_privs: the launcher does that itself.
#ifndef WARDEN_SECCOMP_SECCOMP_H_
#define WARDEN_SECCOMP_SECCOMP_H_

#include <linux/filter.h>

#include <string>
#include <vector>

#include "base/doctor.h"
#include "base/host_config.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::seccomp {

struct BpfProgram {
  std::vector<struct sock_filter> insns;
  std::string hash;         // hex SHA-256 of the canonical spec, libseccomp version, arch
  bool from_cache = false;  // true when read back from the cache directory
};

struct CompileOptions {
  // Where <hash>.bpf files live (CacheDirFor(HostConfig), seccomp/cache.h).
  // Empty: no cache, as with use_cache = false.
  std::string cache_dir;
  // false: compile every time and touch no files.
  bool use_cache = true;
};

// Compiles `spec` or reads the cached program with the same hash. A cache
// that cannot be read or written is logged and skipped, never fatal; a cache
// file that fails its checks (size, magic, digest, owner, mode) is ignored and
// rebuilt. Errors: kInvalidArgument for a spec that names an unknown syscall
// or cannot be expressed, kInternal when libseccomp fails.
Result<BpfProgram> Compile(const SeccompSpec& spec);
Result<BpfProgram> Compile(const SeccompSpec& spec, const CompileOptions& options);

// The hash Compile would give `spec` (the cache key).
std::string SpecHash(const SeccompSpec& spec);

// The x86_64 name of syscall `nr`, "" when unknown (for reporting the
// syscall that killed a job).
std::string SyscallName(int nr);

// Installs `program` on the calling thread. Async-signal-safe: no
// allocation, usable between clone and exec. The caller must already have
// set no_new_privs or hold CAP_SYS_ADMIN. Returns 0 or -errno.
int InstallFilter(const struct sock_filter* insns, size_t count);

// Seccomp filter support, SECCOMP_RET_KILL_PROCESS, libseccomp version.
base::DoctorChecks DoctorChecks(const base::HostConfig& config);

}  // namespace warden::seccomp

#endif  // WARDEN_SECCOMP_SECCOMP_H_
