#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "base/file.h"
#include "mnt/idmap.h"
#include "mnt/mount_plan.h"
#include "proto/plan.h"
#include "test_util.h"

namespace warden {
namespace {

using launch::MountStep;

MountSpec Owned(const std::string& source) {
  MountSpec m;
  m.source = source;
  m.destination = "/work";
  m.writable = true;
  m.owned = true;
  return m;
}

Policy WholeHost() {
  Policy p;
  p.rootfs = "/";
  return p;
}

// This process's children (/proc/self/task/TID/children of the main thread).
std::string Children() {
  std::string path = "/proc/self/task/" + std::to_string(::getpid()) + "/children";
  Result<std::string> text = base::ReadFile(path, 1 << 16);
  return text.ok() ? *text : "?";
}

TEST_CASE("owned bind: the plan's tree is idmapped to the job's ids, and no helper is left", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to idmap a mount");
  if (!mnt::HaveMountSetattr()) WARDEN_SKIP("no mount_setattr on this kernel");
  testing::TempDir dir;
  const std::string ws = dir.Join("ws");
  REQUIRE(::mkdir(ws.c_str(), 0755) == 0);
  REQUIRE(::chown(ws.c_str(), 1234, 1234) == 0);
  launch::Plan plan;
  plan.uid = 4321;
  plan.gid = 4322;
  const std::string before = Children();
  Status st = mnt::BuildMountPlan(WholeHost(), {Owned(ws)}, &plan, ::warden::testing::HostConfig().cache_dir);
  REQUIRE(st.ok());
  CHECK(Children() == before);
  const MountStep* bind = nullptr;
  for (const MountStep& s : plan.mounts) {
    if (s.kind == MountStep::Kind::kBind && std::strcmp(s.target, "/work") == 0) bind = &s;
  }
  REQUIRE(bind != nullptr);
  REQUIRE(bind->source_fd >= 0);
  CHECK((bind->flags & MS_RDONLY) == 0);
  // The detached tree shows the owner as the job's ids.
  struct stat st_tree;
  REQUIRE(::fstat(bind->source_fd, &st_tree) == 0);
  CHECK(st_tree.st_uid == 4321u);
  CHECK(st_tree.st_gid == 4322u);
}

TEST_CASE("owned bind: a procfs source is refused, naming its filesystem", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to open a bind source");
  if (!mnt::HaveMountSetattr()) WARDEN_SKIP("no mount_setattr on this kernel");
  launch::Plan plan;
  plan.uid = plan.gid = 4321;
  Status st = mnt::BuildMountPlan(WholeHost(), {Owned("/proc/sys/fs")}, &plan, ::warden::testing::HostConfig().cache_dir);
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == Code::kUnavailable);
  CHECK(st.ToString().find("proc filesystem") != std::string::npos);
  CHECK(st.ToString().find("MOUNT_ATTR_IDMAP") != std::string::npos);
}

TEST_CASE("owned bind: refused, never planned as a plain bind, without mount_setattr", "[mnt]") {
  testing::TempDir dir;
  ::warden::testing::ScopedLegacyMountApi legacy;
  launch::Plan plan;
  Status st = mnt::BuildMountPlan(WholeHost(), {Owned(dir.path())}, &plan, ::warden::testing::HostConfig().cache_dir);
  REQUIRE_FALSE(st.ok());
  CHECK(st.ToString().find("mount_setattr") != std::string::npos);
}

TEST_CASE("owned bind: with a user namespace the owner maps to the job's ids as the host sees them", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to idmap a mount");
  if (!mnt::HaveMountSetattr()) WARDEN_SKIP("no mount_setattr on this kernel");
  testing::TempDir dir;
  REQUIRE(::chown(dir.path().c_str(), 1234, 1234) == 0);
  Policy p = WholeHost();
  p.user_namespace = true;
  launch::Plan plan;
  plan.uid = plan.gid = 0;
  REQUIRE(mnt::BuildMountPlan(p, {Owned(dir.path())}, &plan, ::warden::testing::HostConfig().cache_dir).ok());
  const MountStep* bind = nullptr;
  for (const MountStep& s : plan.mounts) {
    if (s.kind == MountStep::Kind::kBind && std::strcmp(s.target, "/work") == 0) bind = &s;
  }
  REQUIRE(bind != nullptr);
  struct stat st_tree;
  REQUIRE(::fstat(bind->source_fd, &st_tree) == 0);
  CHECK(st_tree.st_uid == launch::kUsernsHostBase);
  CHECK(st_tree.st_gid == launch::kUsernsHostBase);
}

TEST_CASE("owned bind: a source owned by root is refused (the job would make root's files)", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to own a directory as root");
  testing::TempDir dir;
  REQUIRE(::chown(dir.path().c_str(), 0, 0) == 0);
  launch::Plan plan;
  plan.uid = plan.gid = 4321;
  Status st = mnt::BuildMountPlan(WholeHost(), {Owned(dir.path())}, &plan, ::warden::testing::HostConfig().cache_dir);
  REQUIRE_FALSE(st.ok());
  CHECK(st.ToString().find("belong to root") != std::string::npos);
  REQUIRE(::chown(dir.path().c_str(), 1234, 0) == 0);
  CHECK_FALSE(mnt::BuildMountPlan(WholeHost(), {Owned(dir.path())}, &plan, ::warden::testing::HostConfig().cache_dir).ok());
}

TEST_CASE("owned bind: filesystem names for the refusal", "[mnt]") {
  CHECK(mnt::FsTypeName(0xEF53) == "ext4");
  CHECK(mnt::FsTypeName(0x9fa0) == "proc");
  CHECK(mnt::FsTypeName(0x12345) == "0x12345");
}

}  // namespace
}  // namespace warden
