#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "mnt/mount_plan.h"
#include "mnt/mount_points.h"
#include "proto/plan.h"
#include "test_util.h"

namespace warden {
namespace {

using launch::MountStep;
using Kind = launch::MountStep::Kind;

MountSpec Bind(const std::string& source, const std::string& dest) {
  MountSpec m;
  m.source = source;
  m.destination = dest;
  return m;
}

// Index of the first step of `kind` at `target`, or -1.
long Find(const launch::Plan& plan, Kind kind, const std::string& target, size_t from = 0) {
  for (size_t i = from; i < plan.mounts.size(); ++i) {
    const MountStep& s = plan.mounts[i];
    if (s.kind == kind && s.target != nullptr && target == s.target) return static_cast<long>(i);
  }
  return -1;
}

TEST_CASE("mount points: a destination below a host directory covers it with a tmpfs of its entries", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to clone mount trees");
  testing::TempDir dir;
  const std::string tree = dir.Join("tree");
  REQUIRE(::mkdir(tree.c_str(), 0755) == 0);
  REQUIRE(::mkdir((tree + "/sub").c_str(), 0755) == 0);
  testing::WriteText(tree + "/file", "x");
  REQUIRE(::symlink("sub", (tree + "/link").c_str()) == 0);
  REQUIRE(::mkdir(dir.Join("src").c_str(), 0755) == 0);
  Policy p;  // the host view
  launch::Plan plan;
  REQUIRE(mnt::BuildMountPlan(p, {Bind(tree, "/srv/t"), Bind(dir.Join("src"), "/srv/t/new/deep")},
                              &plan, ::warden::testing::HostConfig().cache_dir)
              .ok());
  const long layer = Find(plan, Kind::kBind, "/srv/t");
  REQUIRE(layer >= 0);
  // The cover comes right after the bind it covers, so later steps land on it.
  const long cover = Find(plan, Kind::kTmpfs, "/srv/t");
  CHECK(cover == layer + 1);
  CHECK(Find(plan, Kind::kBind, "/srv/t/sub") > cover);
  CHECK(Find(plan, Kind::kBind, "/srv/t/file") > cover);
  const long link = Find(plan, Kind::kSymlink, "/srv/t/link");
  REQUIRE(link > cover);
  CHECK(std::strcmp(plan.mounts[static_cast<size_t>(link)].data, "sub") == 0);
  const long bind = Find(plan, Kind::kBind, "/srv/t/new/deep");
  CHECK(bind > cover);
  // And it is read-only once every step is done.
  const long ro = Find(plan, Kind::kRemount, "/srv/t");
  REQUIRE(ro > bind);
  CHECK((plan.mounts[static_cast<size_t>(ro)].flags & MS_RDONLY) != 0);
}

TEST_CASE("mount points: a new top-level directory of rootfs = \"/\" is refused, naming the host's /", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to clone mount trees");
  testing::TempDir dir;
  Policy p;
  p.rootfs = "/";
  launch::Plan plan;
  Status st = mnt::BuildMountPlan(p, {Bind(dir.path(), "/warden-no-such-top/x")}, &plan, ::warden::testing::HostConfig().cache_dir);
  REQUIRE_FALSE(st.ok());
  CHECK(st.ToString().find("host directory /") != std::string::npos);
  CHECK(st.ToString().find("never writes") != std::string::npos);
}

TEST_CASE("mount points: a mask with a destination below it becomes a tmpfs of its own, read-only at the end", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to clone mount trees");
  testing::TempDir dir;
  Policy p;
  p.mask = {"/warden-masked"};
  launch::Plan plan;
  REQUIRE(mnt::BuildMountPlan(p, {Bind(dir.path(), "/warden-masked/runner/work")}, &plan, ::warden::testing::HostConfig().cache_dir).ok());
  CHECK(Find(plan, Kind::kMaskPath, "/warden-masked") < 0);
  const long tmpfs = Find(plan, Kind::kTmpfs, "/warden-masked");
  REQUIRE(tmpfs >= 0);
  CHECK((plan.mounts[static_cast<size_t>(tmpfs)].flags & MS_RDONLY) == 0);
  const long ro = Find(plan, Kind::kRemount, "/warden-masked");
  REQUIRE(ro > Find(plan, Kind::kBind, "/warden-masked/runner/work"));
  CHECK((plan.mounts[static_cast<size_t>(ro)].flags & MS_RDONLY) != 0);
}

TEST_CASE("mount points: a read-only tmpfs with a destination below it is writable until the end", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to clone mount trees");
  testing::TempDir dir;
  Policy p;
  MountSpec t;
  t.kind = MountSpec::Kind::kTmpfs;
  t.destination = "/scratch";
  p.mounts.push_back(t);
  launch::Plan plan;
  REQUIRE(mnt::BuildMountPlan(p, {Bind(dir.path(), "/scratch/a/b")}, &plan, ::warden::testing::HostConfig().cache_dir).ok());
  const long tmpfs = Find(plan, Kind::kTmpfs, "/scratch");
  REQUIRE(tmpfs >= 0);
  CHECK((plan.mounts[static_cast<size_t>(tmpfs)].flags & MS_RDONLY) == 0);
  const long ro = Find(plan, Kind::kRemount, "/scratch");
  REQUIRE(ro > Find(plan, Kind::kBind, "/scratch/a/b"));
  CHECK((plan.mounts[static_cast<size_t>(ro)].flags & MS_RDONLY) != 0);
}

TEST_CASE("mount points: a host directory too big to cover is refused, naming it", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to clone mount trees");
  testing::TempDir dir;
  const std::string big = dir.Join("big");
  REQUIRE(::mkdir(big.c_str(), 0755) == 0);
  for (size_t i = 0; i <= mnt::kMaxCoverEntries; ++i) {
    testing::WriteText(big + "/f" + std::to_string(i), "");
  }
  Policy p;
  launch::Plan plan;
  Status st = mnt::BuildMountPlan(p, {Bind(big, "/srv/big"), Bind(dir.path(), "/srv/big/new")}, &plan, ::warden::testing::HostConfig().cache_dir);
  REQUIRE_FALSE(st.ok());
  CHECK(st.ToString().find("host directory " + big) != std::string::npos);
  CHECK(st.ToString().find("more than 64 entries") != std::string::npos);
}

TEST_CASE("mount points: without mount_setattr a host directory is not covered, and the refusal says so", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to clone mount trees");
  testing::TempDir dir;
  REQUIRE(::mkdir(dir.Join("tree").c_str(), 0755) == 0);
  ::warden::testing::ScopedLegacyMountApi legacy;
  Policy p;
  launch::Plan plan;
  Status st = mnt::BuildMountPlan(
      p, {Bind(dir.Join("tree"), "/srv/t"), Bind(dir.path(), "/srv/t/new")}, &plan, ::warden::testing::HostConfig().cache_dir);
  REQUIRE_FALSE(st.ok());
  CHECK(st.ToString().find("mount_setattr") != std::string::npos);
  CHECK(st.ToString().find("host directory " + dir.Join("tree")) != std::string::npos);
}

TEST_CASE("mount points: destinations that exist, or lie on the view's root tmpfs, change nothing", "[mnt][root]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root to clone mount trees");
  testing::TempDir dir;
  Policy p;
  launch::Plan plan;
  REQUIRE(mnt::BuildMountPlan(p, {Bind(dir.path(), "/opt/new"), Bind(dir.path(), "/usr/bin")}, &plan, ::warden::testing::HostConfig().cache_dir).ok());
  CHECK(Find(plan, Kind::kTmpfs, "/usr") < 0);
  CHECK(Find(plan, Kind::kTmpfs, "/opt") < 0);
  for (const MountStep& s : plan.mounts) {
    if (s.kind == Kind::kRemount) CHECK(std::strcmp(s.target, "/dev") == 0);
  }
}

}  // namespace
}  // namespace warden
