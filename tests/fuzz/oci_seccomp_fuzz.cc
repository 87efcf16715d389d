// Fuzz target for OCI/Docker seccomp profiles (outside input to
// `warden run --seccomp-profile` and `warden policy import-oci`).
//
// Checks, beyond "no crash, no sanitizer report": every error names the
// profile it came from, and a profile that translates, written as a
// policy's [seccomp] (PolicyToToml), loads back to the same spec.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "policy/oci_seccomp.h"
#include "warden/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  warden::Result<warden::SeccompSpec> spec = warden::policy::SeccompFromOci(text, "fuzz.json");
  if (!spec.ok()) {
    if (spec.status().message().rfind("fuzz.json: ", 0) != 0) {
      std::fprintf(stderr, "error without origin: %s\n", spec.status().message().c_str());
      std::abort();
    }
    return 0;
  }
  warden::Policy p;
  p.seccomp = spec.value();
  warden::Result<warden::Policy> back = warden::LoadPolicyString(warden::PolicyToToml(p), "fuzz.toml");
  if (!back.ok() || !(back->seccomp == spec.value())) {
    std::fprintf(stderr, "round trip failed: %s\n", back.ok() ? "seccomp differs" : back.status().message().c_str());
    std::abort();
  }
  return 0;
}
