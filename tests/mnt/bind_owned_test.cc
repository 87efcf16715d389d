#include <sys/stat.h>

#include <string>

#include "launch/plan.h"
#include "mnt/mount_plan.h"
#include "test_util.h"

namespace warden {
namespace {

TEST_CASE("mount plan: an owned bind is never planned as a plain writable bind", "[mnt]") {
  testing::TempDir dir;
  Policy p;
  p.rootfs = "/";
  MountSpec m;
  m.source = dir.path();
  m.destination = "/work";
  m.writable = true;
  m.owned = true;
  launch::Plan plan;
  Status st = mnt::BuildMountPlan(p, {m}, &plan);
  REQUIRE_FALSE(st.ok());
  CHECK(st.ToString().find("idmapped binds are not supported yet") != std::string::npos);
}

}  // namespace
}  // namespace warden
