// AddressSanitizer hooks that compile to nothing in other builds.
#ifndef WARDEN_BASE_ASAN_H_
#define WARDEN_BASE_ASAN_H_

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace warden::base {

// ASan keeps the poison of stack frames that once lived at an address; a
// stack freshly mapped there must start clean.
inline void UnpoisonStack([[maybe_unused]] void* p, [[maybe_unused]] size_t n) {
#if defined(__SANITIZE_ADDRESS__)
  // The region is memory about to be used as a stack: gcc takes the
  // interface's const pointer for a read of it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  __asan_unpoison_memory_region(p, n);
#pragma GCC diagnostic pop
#endif
}

}  // namespace warden::base

#endif  // WARDEN_BASE_ASAN_H_
