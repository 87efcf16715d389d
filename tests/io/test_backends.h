// Runs a test body once per loop backend: io_uring and plain.
#ifndef WARDEN_TESTS_IO_TEST_BACKENDS_H_
#define WARDEN_TESTS_IO_TEST_BACKENDS_H_

#include <cstdio>
#include <memory>

#include "io/loop.h"
#include "test_util.h"

namespace warden::testing {

// Creates a loop on `backend`. The plain backend is the fallback that must
// always work (DESIGN invariant 5): failing to create it fails the test. An
// io_uring loop the host cannot run is no skip of the test case, whose run
// on the plain backend still counts: MakeLoop prints "NOTE: <test>: ..."
// (scripts/run-tests.sh counts these apart) and returns null.
inline std::unique_ptr<io::Loop> MakeLoop(io::Backend backend, io::LoopOptions options = {}) {
  options.force = true;
  options.backend = backend;
  auto loop = io::Loop::Create(options);
  if (!loop.ok()) {
    if (backend == io::Backend::kPlain) {
      FAIL("the plain loop must always work: " << loop.status().ToString());
    }
    std::printf("NOTE: %s: %s loop unavailable here (%s): checked on the plain backend only\n",
                Catch::getResultCapture().getCurrentTestName().c_str(),
                io::BackendName(backend), loop.status().ToString().c_str());
    std::fflush(stdout);
    return nullptr;
  }
  return std::move(loop).value();
}

}  // namespace warden::testing

// Declares `backend` as each backend in turn (Catch2 GENERATE) and `loop`
// as a loop on it; returns early from the io_uring run when the host cannot
// run io_uring (the plain run still checks the case).
#define WARDEN_EACH_BACKEND(loop, ...)                                             \
  const ::warden::io::Backend backend =                                            \
      GENERATE(::warden::io::Backend::kUring, ::warden::io::Backend::kPlain);      \
  INFO("backend: " << ::warden::io::BackendName(backend));                         \
  auto loop = ::warden::testing::MakeLoop(backend, ##__VA_ARGS__);                 \
  if (!loop) return

#endif  // WARDEN_TESTS_IO_TEST_BACKENDS_H_
