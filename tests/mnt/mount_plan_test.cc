#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "test_util.h"

#include "mnt/mount_plan.h"
#include "proto/plan.h"
#include "test_util.h"

namespace warden {
namespace {

using launch::MountStep;

// Runs `body` in a child with a mount namespace of its own, so the mounts a
// test makes vanish with it; the child's exit code is body's result.
template <typename F>
int InOwnMountNs(F body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) _exit(90);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(91);
    _exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Policy WholeHost() {
  Policy p;
  p.rootfs = "/";
  return p;
}

TEST_CASE("mount plan: legacy remounts are required and reach escaped mount points", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to mount a tmpfs with a space in its name");
  testing::TempDir dir;
  const std::string spaced = dir.Join("a b");
  REQUIRE(::mkdir(spaced.c_str(), 0755) == 0);
  ::warden::testing::ScopedLegacyMountApi legacy;
  int rc = InOwnMountNs([&] {
    if (::mount("tmpfs", spaced.c_str(), "tmpfs", 0, "size=4k") != 0) return 92;
    launch::Plan plan;
    if (!mnt::BuildMountPlan(WholeHost(), {}, &plan, ::warden::testing::HostConfig().cache_dir).ok()) return 93;
    if (!plan.legacy_mount_api) return 94;
    bool found = false;
    for (const MountStep& s : plan.mounts) {
      if (s.kind != MountStep::Kind::kRemount) continue;
      if (s.optional) return 95;  // a remount that may fail leaves a writable mount
      if (spaced == s.target) found = (s.flags & MS_RDONLY) != 0;
    }
    return found ? 0 : 96;
  });
  CHECK(rc == 0);
}

TEST_CASE("mount plan: every plan names /proc, /dev and /tmp, sizes from the policy", "[mnt]") {
  Policy p = WholeHost();
  p.tmp_size_bytes = 1 << 20;
  launch::Plan plan;
  REQUIRE(mnt::BuildMountPlan(p, {}, &plan, ::warden::testing::HostConfig().cache_dir).ok());
  bool proc = false, tmp = false, dev = false;
  for (const MountStep& s : plan.mounts) {
    if (s.kind == MountStep::Kind::kProc && std::strcmp(s.target, "/proc") == 0) proc = true;
    if (s.kind == MountStep::Kind::kTmpfs && std::strcmp(s.target, "/dev") == 0) dev = true;
    if (s.kind == MountStep::Kind::kTmpfs && std::strcmp(s.target, "/tmp") == 0) {
      tmp = std::strstr(s.data, "size=1048576") != nullptr;
    }
  }
  CHECK(proc);
  CHECK(dev);
  CHECK(tmp);
}

TEST_CASE("mount plan: a library caller's bind to / or through .. is refused", "[mnt]") {
  testing::TempDir src;
  for (const char* dest : {"/", "//", "/usr/../", "relative"}) {
    INFO(dest);
    MountSpec m;
    m.kind = MountSpec::Kind::kBind;
    m.source = src.path();
    m.destination = dest;
    launch::Plan plan;
    Status st = mnt::BuildMountPlan(Policy{}, {m}, &plan, ::warden::testing::HostConfig().cache_dir);
    CHECK(st.code() == Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace warden
