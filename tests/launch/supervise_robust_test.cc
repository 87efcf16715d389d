// The supervisor and the sandbox's init under conditions an embedding
// process may set up: wall-time limits of weeks, SIGCHLD ignored, fds 0-2
// closed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "launch/launcher.h"
#include "test_util.h"
#include "warden/launcher.h"
#include "warden/log.h"

namespace warden::launch {
namespace {

TEST_CASE("supervise: poll timeout of a far deadline is clamped, never negative", "[launch]") {
  const int64_t now = 1000000000LL;
  CHECK(PollTimeoutMs(0, now) == -1);
  CHECK(PollTimeoutMs(now, now) == 0);
  CHECK(PollTimeoutMs(now - 5, now) == 0);
  CHECK(PollTimeoutMs(now + 1, now) == 1);
  CHECK(PollTimeoutMs(now + 2500000, now) == 3);
  // 25 days is past INT_MAX milliseconds; 366 days is what policies allow.
  const int64_t day_ns = 86400LL * 1000 * 1000000;
  CHECK(PollTimeoutMs(now + 25 * day_ns, now) == INT_MAX);
  CHECK(PollTimeoutMs(now + 366 * day_ns, now) == INT_MAX);
  CHECK(PollTimeoutMs(now + 24 * day_ns, now) == 24 * 86400 * 1000 + 1);
}

}  // namespace
}  // namespace warden::launch
