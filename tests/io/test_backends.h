// Runs a test body once per loop backend: io_uring and plain.
#ifndef WARDEN_TESTS_IO_TEST_BACKENDS_H_
#define WARDEN_TESTS_IO_TEST_BACKENDS_H_

#include <memory>

#include "io/loop.h"
#include "test_util.h"

namespace warden::testing {

// Creates a loop on `backend`; null (after printing SKIPPED) when the host
// cannot run it.
inline std::unique_ptr<io::Loop> MakeLoop(io::Backend backend, io::LoopOptions options = {}) {
  options.force = true;
  options.backend = backend;
  auto loop = io::Loop::Create(options);
  if (!loop.ok()) {
    PrintSkip(std::string(io::BackendName(backend)) + " loop unavailable here: " +
              loop.status().ToString());
    return nullptr;
  }
  return std::move(loop).value();
}

}  // namespace warden::testing

// Declares `backend` as each backend in turn (Catch2 GENERATE) and `loop`
// as a loop on it; skips the case when that backend cannot run here.
#define WARDEN_EACH_BACKEND(loop, ...)                                             \
  const ::warden::io::Backend backend =                                            \
      GENERATE(::warden::io::Backend::kUring, ::warden::io::Backend::kPlain);      \
  INFO("backend: " << ::warden::io::BackendName(backend));                         \
  auto loop = ::warden::testing::MakeLoop(backend, ##__VA_ARGS__);                 \
  if (!loop) return

#endif  // WARDEN_TESTS_IO_TEST_BACKENDS_H_
