// OCI/Docker seccomp profiles (the JSON of runtime-spec's linux.seccomp and
// of `docker run --security-opt seccomp=FILE`) translated into a policy's
// [seccomp] section: `warden run --seccomp-profile FILE.json` and
// `warden policy import-oci FILE.json`.
#ifndef WARDEN_POLICY_OCI_SECCOMP_H_
#define WARDEN_POLICY_OCI_SECCOMP_H_

#include <string>
#include <string_view>

#include "warden/policy.h"
#include "warden/status.h"

namespace warden::policy {

// Translates the profile `json` (read from `origin`, named in errors) into
// a SeccompSpec. Whatever the profile says that the spec cannot express
// exactly is refused, with an error that names it: a profile is never
// weakened silently.
Result<SeccompSpec> SeccompFromOci(std::string_view json, const std::string& origin);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_OCI_SECCOMP_H_
