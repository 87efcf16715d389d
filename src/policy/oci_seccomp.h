// OCI/Docker seccomp profiles (the JSON of runtime-spec's linux.seccomp and
// of `docker run --security-opt seccomp=FILE`) translated into a policy's
// [seccomp] section: `warden run --seccomp-profile FILE.json` and
// `warden policy import-oci FILE.json`.
//
// The translation is exact or it is refused: whatever the profile says that
// a SeccompSpec (and the policy loader, which must load the written TOML
// back to the same spec) cannot express is an error naming the JSON path
// and why. Where warden is stricter than the profile by construction, the
// translation accepts it and says so here:
//   - i386 and x32 calls kill the process (warden's filters are
//     x86_64-only), even when the profile's architectures list them;
//   - SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD kill the whole process;
//   - a syscall that one entry allows and another denies, both without
//     conditions, gets the deny;
//   - syscall numbers that libseccomp cannot name get ENOSYS, whatever the
//     defaultAction, as on a kernel without them.
//
// includes/excludes are evaluated against what a warden job has: no
// capabilities at all (every set is dropped before exec), this host's
// architecture (x86_64), and the running kernel's version (minKernel).
//
// Syscall names follow the policy loader's rule: a name libseccomp does not
// know is an error (a typo in a deny entry must not vanish). Profiles are
// written for many architectures at once, so a name libseccomp knows only
// for another architecture (`_llseek`, `arm_fadvise64_64`) is skipped: an
// x86_64 job cannot make that call.
#ifndef WARDEN_POLICY_OCI_SECCOMP_H_
#define WARDEN_POLICY_OCI_SECCOMP_H_

#include <string>
#include <string_view>

#include "warden/policy.h"
#include "warden/status.h"

namespace warden::policy {

// Translates the profile `json` (read from `origin`, named in errors) into
// a SeccompSpec. Errors: kInvalidArgument "ORIGIN: JSON.PATH: why" for a
// profile that is malformed or cannot be expressed exactly (at most
// kMaxPolicyBytes of input; at most kMaxSyscallRules rules out).
Result<SeccompSpec> SeccompFromOci(std::string_view json, const std::string& origin);

// Reads the profile at `path` (a regular file of at most kMaxPolicyBytes:
// a FIFO or device is refused without blocking on it) and translates it.
Result<SeccompSpec> SeccompFromOciFile(const std::string& path);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_OCI_SECCOMP_H_
