// The policy tools behind `warden policy check` and `import-oci`: compiling
// a seccomp spec and translating an OCI profile (warden/policy.h).
#include "policy/oci_seccomp.h"
#include "seccomp/seccomp.h"
#include "warden/policy.h"

namespace warden {

Result<SeccompFilterInfo> CompileSeccompFilter(const SeccompSpec& spec) {
  seccomp::CompileOptions options;
  options.use_cache = false;  // reporting on a filter writes nothing
  WARDEN_ASSIGN_OR_RETURN(seccomp::BpfProgram bpf, seccomp::Compile(spec, options));
  SeccompFilterInfo info;
  info.instructions = bpf.insns.size();
  info.hash = std::move(bpf.hash);
  return info;
}

Result<SeccompSpec> ImportOciSeccompProfile(const std::string& path) {
  return policy::SeccompFromOciFile(path);
}

}  // namespace warden
