#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/raw_syscall.h"
#include "caps/child_caps.h"
#include "caps/privileges.h"
#include "test_util.h"

namespace warden {
namespace {

TEST_CASE("caps: cap_last_cap that cannot be read means 63, not the headers' figure", "[caps]") {
  testing::TempDir dir;
  CHECK(caps::CapLastCapFrom(dir.Join("missing").c_str()) == caps::kMaxCapability);
  CHECK(caps::kMaxCapability == 63);
  testing::WriteText(dir.Join("junk"), "forty\n");
  CHECK(caps::CapLastCapFrom(dir.Join("junk").c_str()) == 63);
  testing::WriteText(dir.Join("big"), "64\n");
  CHECK(caps::CapLastCapFrom(dir.Join("big").c_str()) == 63);
  testing::WriteText(dir.Join("neg"), "-1\n");
  CHECK(caps::CapLastCapFrom(dir.Join("neg").c_str()) == 63);
  testing::WriteText(dir.Join("newer"), "47\n");
  CHECK(caps::CapLastCapFrom(dir.Join("newer").c_str()) == 47);
  // This kernel's own figure is at least what the headers know.
  CHECK(caps::CapLastCap() >= CAP_LAST_CAP);
}

// Runs ChildLockCapabilities(hint) in a forked child and returns how many
// capabilities stay in its bounding set (or 100 + the failing step's errno).
int BoundingLeftAfterLock(int hint) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    launch::ChildError e = caps::ChildLockCapabilities(hint);
    if (e.failed()) base::sys::ExitGroup(100 + (e.err & 0x7f));
    int left = 0;
    for (int cap = 0; cap <= 63; ++cap) {
      if (base::sys::Prctl(PR_CAPBSET_READ, static_cast<unsigned long>(cap)) == 1) ++left;
    }
    base::sys::ExitGroup(left);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

TEST_CASE("caps: the bounding set is emptied past a cap_last_cap behind the kernel's",
          "[caps][root]") {
  WARDEN_REQUIRE_ROOT();
  const int last = caps::CapLastCap();
  if (::prctl(PR_CAPBSET_READ, 0) != 1) WARDEN_SKIP("CAP_CHOWN is not in our bounding set");
  // A build whose headers stop five capabilities short of this kernel.
  CHECK(BoundingLeftAfterLock(last - 5) == 0);
  // The kernel's figure, and the fallback when it cannot be read.
  CHECK(BoundingLeftAfterLock(last) == 0);
  CHECK(BoundingLeftAfterLock(caps::kMaxCapability) == 0);
}

}  // namespace
}  // namespace warden
