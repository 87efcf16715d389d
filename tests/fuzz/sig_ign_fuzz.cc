// Fuzz target for the SigIgn parser (launch/sig_ign.h), which reads
// /proc/self/status: outside bytes that decide which signals the job gets
// back at their default.
//
// Checks, beyond "no crash, no sanitizer report": the answer is the mask of
// the one well-formed SigIgn line, worked out here a second way (an
// exact-length sscanf of the value), or every signal when the text holds
// no such line; a line that parses keeps parsing the same with other lines
// around it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "launch/sig_ign.h"

namespace {

[[noreturn]] void Fail(const char* what, size_t size) {
  std::fprintf(stderr, "sig_ign: %s (%zu bytes in)\n", what, size);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using warden::launch::kAllSignals;
  using warden::launch::ParseSigIgn;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const uint64_t mask = ParseSigIgn(in);
  // The value of a single-line input, by another route.
  const std::string key = "SigIgn:";
  if (in.find('\n') == std::string::npos && in.compare(0, key.size(), key) == 0) {
    size_t p = key.size();
    while (p < in.size() && (in[p] == ' ' || in[p] == '\t')) ++p;
    const std::string value = in.substr(p);
    bool hex = !value.empty() && value.size() <= 16 &&
               value.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    unsigned long long expect = kAllSignals;
    if (hex && std::sscanf(value.c_str(), "%llx", &expect) != 1) Fail("sscanf", size);
    if (mask != expect) Fail("single line: mask differs from sscanf's", size);
    // Wrapped in other lines, the answer stays.
    if (ParseSigIgn("Name:\tx\n" + in + "\nSigCgt:\t0\n") != mask) {
      Fail("single line: the surrounding lines changed the answer", size);
    }
    // A second SigIgn line makes it ambiguous: every signal.
    if (ParseSigIgn(in + "\n" + in) != kAllSignals) Fail("two lines accepted", size);
  }
  if (in.find(key) == std::string::npos && mask != kAllSignals) {
    Fail("no SigIgn line, yet a mask", size);
  }
  return 0;
}
