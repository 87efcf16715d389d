// Fuzz target for the policy loader (policy files are outside input).
//
// Checks, beyond "no crash, no sanitizer report": a policy that loads prints
// (PolicyToToml) as TOML that loads again to the same hash, and every error
// message starts with the "NAME:LINE:COL: " location users rely on.
//
// Build with libFuzzer (clang) or with tests/fuzz/fuzz_main.cc (gcc); see
// policies/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "warden/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  warden::Result<warden::Policy> p = warden::LoadPolicyString(text, "fuzz.toml");
  if (!p.ok()) {
    const std::string& msg = p.status().message();
    // Errors from an extended shipped policy name that file instead.
    if (msg.rfind("fuzz.toml:", 0) != 0 && msg.find(".toml:") == std::string::npos) {
      std::fprintf(stderr, "error without location: %s\n", msg.c_str());
      std::abort();
    }
    return 0;
  }
  std::string canonical = warden::PolicyToToml(p.value());
  warden::Result<warden::Policy> again = warden::LoadPolicyString(canonical, "fuzz.toml");
  if (!again.ok() || again->hash != p->hash) {
    std::fprintf(stderr, "round trip failed: %s\n---\n%s\n",
                 again.ok() ? "hash differs" : again.status().message().c_str(), canonical.c_str());
    std::abort();
  }
  return 0;
}
