#include "policy/oci_seccomp.h"

namespace warden::policy {

Result<SeccompSpec> SeccompFromOci(std::string_view, const std::string& origin) {
  return Status::Error(Code::kUnavailable, origin + ": OCI seccomp profiles are not supported yet");
}

}  // namespace warden::policy
