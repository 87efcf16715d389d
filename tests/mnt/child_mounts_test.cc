#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "mnt/child_mounts.h"
#include "proto/plan.h"
#include "test_util.h"

namespace warden {
namespace {

using launch::MountStep;

// A bind step of the tree at `source` (a detached copy, as the planner
// makes) at `target`.
MountStep TreeBind(launch::Plan* plan, const std::string& source, const char* target) {
  MountStep s;
  s.kind = MountStep::Kind::kBind;
  s.target = plan->Keep(target);
  s.what = s.target;
  s.flags = MS_NOSUID | MS_NODEV;
  s.recursive = true;
  int fd = ::open(source.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  long tree = ::syscall(SYS_open_tree, fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  ::close(fd);
  s.source_fd = plan->KeepFd(base::UniqueFd(static_cast<int>(tree)));
  return s;
}

bool Empty(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  int n = 0;
  while (struct dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n == 0;
}

// Builds a root from `steps` in a child with a mount namespace of its own;
// the child's exit code is 0 when the build failed with `want_err`.
int BuildFails(const std::string& staging, const std::string& host, const std::string& src,
               const char* target, int want_err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) _exit(90);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(91);
    launch::Plan plan;
    plan.empty_root = true;
    plan.staging_dir = plan.Keep(staging);
    plan.mounts.push_back(TreeBind(&plan, host, "/w"));
    plan.mounts.push_back(TreeBind(&plan, src, target));
    launch::ChildError e = mnt::ChildBuildRoot(plan);
    if (!e.failed()) _exit(92);
    _exit(e.err == want_err ? 0 : 93);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// Builds a root with a tree bind of `host` at /w, a symlink /l -> w, and a
// read-only tree bind of `src` at `target`, pivots into it and checks, in
// the child: /marker exists below target (the bind is there) and target is
// read-only, nosuid and nodev. Exit code 0 when all hold.
int BuildAndCheck(const std::string& staging, const std::string& host, const std::string& src,
                  const char* target) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) _exit(90);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(91);
    launch::Plan plan;
    plan.empty_root = true;
    plan.staging_dir = plan.Keep(staging);
    plan.mounts.push_back(TreeBind(&plan, host, "/w"));
    MountStep link;
    link.kind = MountStep::Kind::kSymlink;
    link.target = plan.Keep("/l");
    link.what = link.target;
    link.data = plan.Keep("w");
    plan.mounts.push_back(link);
    MountStep ro = TreeBind(&plan, src, target);
    ro.flags = MS_RDONLY | MS_NOSUID | MS_NODEV;
    plan.mounts.push_back(ro);
    if (mnt::ChildBuildRoot(plan).failed()) _exit(92);
    std::string marker = std::string(target) + "/marker";
    struct stat st;
    if (::stat(marker.c_str(), &st) != 0) _exit(93);
    struct statvfs vfs;
    if (::statvfs(target, &vfs) != 0) _exit(94);
    const unsigned long want = ST_RDONLY | ST_NOSUID | ST_NODEV;
    _exit((vfs.f_flag & want) == want ? 0 : 95);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST_CASE("child mounts: a missing mount point below a writable host bind is never made on the host",
          "[mnt][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir dir;
  const std::string staging = dir.Join("staging"), host = dir.Join("host"), src = dir.Join("src");
  for (const std::string& d : {staging, host, src}) REQUIRE(::mkdir(d.c_str(), 0755) == 0);
  CHECK(BuildFails(staging, host, src, "/w/sub/new", EROFS) == 0);
  CHECK(Empty(host));
}

TEST_CASE("child mounts: a missing mount point is never made through a symlink in a bound directory",
          "[mnt][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir dir;
  const std::string staging = dir.Join("staging"), host = dir.Join("host"), src = dir.Join("src");
  for (const std::string& d : {staging, host, src}) REQUIRE(::mkdir(d.c_str(), 0755) == 0);
  // The link leads back to the root tmpfs, where making it would succeed.
  REQUIRE(::symlink("/", (host + "/link").c_str()) == 0);
  CHECK(BuildFails(staging, host, src, "/w/link/new", ELOOP) == 0);
}

TEST_CASE("child mounts: a mount point on the host view's root is made by one walk, an existing "
          "one is found through the root's own symlinks, and a tree bind carries its flags",
          "[mnt][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir dir;
  const std::string staging = dir.Join("staging"), host = dir.Join("host"), src = dir.Join("src");
  for (const std::string& d : {staging, host, src, host + "/existing"}) {
    REQUIRE(::mkdir(d.c_str(), 0755) == 0);
  }
  testing::WriteText(src + "/marker", "x");
  // Missing, on the root tmpfs, nested: made.
  CHECK(BuildAndCheck(staging, host, src, "/a/b/c") == 0);
  // Existing, through /l -> w: the walk refuses the symlink, the lookup in
  // the root finds the directory.
  CHECK(BuildAndCheck(staging, host, src, "/l/existing") == 0);
  CHECK(Empty(host + "/existing"));
  // Missing, through /l -> w: the build fails, and nothing is made
  // through the symlink.
  CHECK(BuildAndCheck(staging, host, src, "/l/missing") == 92);
  CHECK(::access((host + "/missing").c_str(), F_OK) != 0);
}

}  // namespace
}  // namespace warden
