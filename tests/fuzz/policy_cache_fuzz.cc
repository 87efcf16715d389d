// Fuzz target for policy cache entries (files on disk are outside input,
// even behind their digest: policy/cache.h).
//
// Checks, beyond "no crash, no sanitizer report": bytes that decode encode
// back to exactly the same bytes (the encoding has one form per entry), and
// decode again to an equal entry.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  warden::policy::CacheEntry e;
  if (!warden::policy::DecodeEntry(in, &e)) return 0;
  const std::string out = warden::policy::EncodeEntry(e);
  warden::policy::CacheEntry again;
  if (out != in || !warden::policy::DecodeEntry(out, &again) || !(again.policy == e.policy) ||
      again.key != e.key || again.deps.size() != e.deps.size()) {
    std::fprintf(stderr, "cache entry round trip failed (%zu bytes in, %zu out)\n", in.size(),
                 out.size());
    std::abort();
  }
  return 0;
}
