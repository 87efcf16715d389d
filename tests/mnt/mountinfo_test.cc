#include <string>
#include <vector>

#include "test_util.h"

#include "mnt/mountinfo.h"

namespace warden {
namespace {

using mnt::MountInfoEntry;

std::vector<MountInfoEntry> Parse(const std::string& text) {
  Result<std::vector<MountInfoEntry>> r = mnt::ParseMountInfo(text);
  REQUIRE(r.ok());
  return r.value();
}

std::vector<std::string> Reachable(const std::vector<MountInfoEntry>& m, const std::string& root) {
  std::vector<std::string> out;
  for (const MountInfoEntry* e : mnt::ReachableSubmounts(m, root)) out.push_back(e->mount_point);
  return out;
}

TEST_CASE("mountinfo: fields are parsed and octal escapes decoded", "[mnt]") {
  auto m = Parse(
      "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "40 27 0:50 / /srv/a\\040b ro,nosuid,noexec master:3 - tmpfs tmpfs rw\n"
      "41 27 0:51 /x\\011y /srv/tab\\011and\\012nl\\134bs rw - tmpfs none rw\n");
  REQUIRE(m.size() == 3);
  CHECK(m[0].id == 27);
  CHECK(m[0].parent_id == 1);
  CHECK(m[0].mount_point == "/");
  CHECK(m[0].fs_type == "ext4");
  CHECK(m[1].mount_point == "/srv/a b");
  CHECK(m[1].HasOption("noexec"));
  CHECK(m[1].HasOption("ro"));
  CHECK_FALSE(m[1].HasOption("exec"));
  CHECK(m[2].root == "/x\ty");
  CHECK(m[2].mount_point == "/srv/tab\tand\nnl\\bs");
}

TEST_CASE("mountinfo: damaged lines are errors, never skipped", "[mnt]") {
  const char* bad[] = {
      "x 1 0:1 / / rw - ext4 a rw\n",                 // id
      "1 1 01 / / rw - ext4 a rw\n",                  // device
      "1 1 0:1 / / rw ext4 a rw\n",                   // no separator
      "1 1 0:1 / /a\\04 rw - ext4 a rw\n",            // truncated escape
      "1 1 0:1 / /a\\09x rw - ext4 a rw\n",           // not octal
      "1 1 0:1 / /a\\000 rw - ext4 a rw\n",           // NUL
      "1 1 0:1 / relative rw - ext4 a rw\n",          // not absolute
      "1 1 0:1 / /\n",                                // short
      "1 1 0:1 / / rw - ext4 a rw\n\n2 1 0:2 / /b rw - tmpfs t rw\n",  // empty line inside
      "1 1 0:1 / / rw -\n",                           // no fs type
  };
  for (const char* text : bad) {
    INFO(text);
    Result<std::vector<MountInfoEntry>> r = mnt::ParseMountInfo(text);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.status().message().rfind("mountinfo line ", 0) == 0);
  }
  CHECK(mnt::ParseMountInfo("").ok());
}

TEST_CASE("mountinfo: reachable submounts leave out covered mounts", "[mnt]") {
  // Not in mount order, as on real hosts: the root comes after its children.
  auto m = Parse(
      "24 27 0:6 / /dev rw - devtmpfs d rw\n"
      "25 24 0:23 / /dev/shm rw - tmpfs t rw\n"
      "27 1 254:0 / / rw - ext4 /dev/vda rw\n"
      "30 25 0:27 / /dev/shm rw - tmpfs t rw\n"            // stacked on 25
      "31 27 0:28 / /srv rw - tmpfs t rw\n"
      "32 31 0:29 / /srv/in/deep rw - tmpfs t rw\n"
      "33 31 0:30 / /srv/in rw - tmpfs t rw\n"             // covers 32's place
      "34 27 0:31 / /srv\\040space rw - tmpfs t rw\n");
  CHECK(Reachable(m, "/") ==
        std::vector<std::string>{"/dev", "/dev/shm", "/srv", "/srv/in", "/srv space"});
  CHECK(Reachable(m, "/srv") == std::vector<std::string>{"/srv/in"});
  // "/srv space" is not below "/srv".
  CHECK(Reachable(m, "/dev") == std::vector<std::string>{"/dev/shm"});
}

TEST_CASE("mountinfo: a parent loop in damaged input ends, and counts as reachable", "[mnt]") {
  auto m = Parse(
      "5 6 0:1 / /a rw - tmpfs t rw\n"
      "6 5 0:2 / /a/b rw - tmpfs t rw\n");
  CHECK(Reachable(m, "/").size() == 2);
}

}  // namespace
}  // namespace warden
