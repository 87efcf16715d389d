#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <string>
#include <utility>
#include <vector>

#include "test_util.h"

#include "base/file.h"
#include "mnt/cgroup_view.h"
#include "mnt/child_mounts.h"
#include "mnt/mountinfo.h"
#include "proto/plan.h"

namespace warden {
namespace {

using mnt::CgroupViewInput;
using mnt::CgroupViewStep;
using Kind = mnt::CgroupViewStep::Kind;

// A Debian 11/12 hybrid host: cpu and cpuacct share a hierarchy, named by
// symlinks; warden confined by a CI runner to /runner in every hierarchy.
const char kHybrid[] =
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec - cgroup2 cgroup2 rw\n"
    "33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd\n"
    "34 31 0:31 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
    "35 31 0:32 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids\n"
    "36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "37 31 0:34 / /sys/fs/cgroup/cpuset rw,nosuid - cgroup cgroup rw,cpuset\n"
    "38 31 0:35 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid - cgroup cgroup rw,net_cls,net_prio\n";

const std::vector<std::pair<std::string, std::string>> kHybridLinks = {
    {"/sys/fs/cgroup/cpu", "cpu,cpuacct"},
    {"/sys/fs/cgroup/cpuacct", "cpu,cpuacct"},
    {"/sys/fs/cgroup/net_cls", "net_cls,net_prio"},
    {"/sys/fs/cgroup/net_prio", "net_cls,net_prio"},
};

std::vector<mnt::MountInfoEntry> Mounts(const std::string& text) {
  Result<std::vector<mnt::MountInfoEntry>> r = mnt::ParseMountInfo(text);
  REQUIRE(r.ok());
  return r.value();
}

std::vector<CgroupViewStep> Plan(const CgroupViewInput& in) {
  Result<std::vector<CgroupViewStep>> r = mnt::PlanCgroupView(in);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return r.value();
}

// "kind target <- source|link" per step, for whole-plan comparisons.
std::vector<std::string> Describe(const std::vector<CgroupViewStep>& steps) {
  std::vector<std::string> out;
  for (const CgroupViewStep& s : steps) {
    switch (s.kind) {
      case Kind::kMountCgroup2: out.push_back("cgroup2 " + s.target); break;
      case Kind::kTmpfs: out.push_back("tmpfs " + s.target); break;
      case Kind::kBind: out.push_back("bind " + s.target + " <- " + s.source); break;
      case Kind::kSymlink: out.push_back("symlink " + s.target + " -> " + s.link); break;
      case Kind::kReadOnly: out.push_back("ro " + s.target); break;
    }
  }
  return out;
}

CgroupViewInput HybridJob(std::vector<std::string> dirs) {
  CgroupViewInput in;
  in.job_dirs = std::move(dirs);
  in.mounts = Mounts(kHybrid);
  in.links = kHybridLinks;
  return in;
}

TEST_CASE("cgroup view: v1 binds the job's own groups at the host's names, read-only", "[mnt]") {
  const std::string job = "/runner/warden-7-abc";
  CgroupViewInput in = HybridJob({"/sys/fs/cgroup/memory" + job, "/sys/fs/cgroup/pids" + job,
                                  "/sys/fs/cgroup/cpu,cpuacct" + job});
  CHECK(Describe(Plan(in)) ==
        std::vector<std::string>{
            "tmpfs /sys/fs/cgroup",
            "bind /sys/fs/cgroup/memory <- /sys/fs/cgroup/memory/runner/warden-7-abc",
            "bind /sys/fs/cgroup/pids <- /sys/fs/cgroup/pids/runner/warden-7-abc",
            "bind /sys/fs/cgroup/cpu,cpuacct <- /sys/fs/cgroup/cpu,cpuacct/runner/warden-7-abc",
            "symlink /sys/fs/cgroup/cpu -> cpu,cpuacct",
            "symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct",
            "ro /sys/fs/cgroup",
        });
}

TEST_CASE("cgroup view: only the job's directories are bound, never a parent or a sibling",
          "[mnt]") {
  const std::string job = "/runner/warden-7-abc";
  CgroupViewInput in = HybridJob({"/sys/fs/cgroup/memory" + job, "/sys/fs/cgroup/cpuset" + job});
  for (const CgroupViewStep& s : Plan(in)) {
    if (s.kind != Kind::kBind) continue;
    // The source is exactly one of the job's directories.
    CHECK((s.source == in.job_dirs[0] || s.source == in.job_dirs[1]));
  }
  // Hierarchies the job has no group of its own in (pids here, and the v1
  // cpu of a job without a cpu limit) are not shown, nor are their aliases.
  for (const std::string& d : Describe(Plan(in))) {
    CHECK(d.find("pids") == std::string::npos);
    CHECK(d.find("cpu,cpuacct") == std::string::npos);
    CHECK(d.find("net_") == std::string::npos);
    CHECK(d.find("systemd") == std::string::npos);
  }
}

TEST_CASE("cgroup view: a hierarchy root or a directory outside cgroupfs is refused", "[mnt]") {
  CgroupViewInput root = HybridJob({"/sys/fs/cgroup/memory"});
  Result<std::vector<CgroupViewStep>> r = mnt::PlanCgroupView(root);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("root of its hierarchy") != std::string::npos);

  CgroupViewInput outside = HybridJob({"/tmp/warden-7-abc"});
  r = mnt::PlanCgroupView(outside);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("under no cgroup mount") != std::string::npos);

  // A tmpfs mounted over part of a hierarchy hides it: not a cgroup mount.
  CgroupViewInput covered = HybridJob({"/sys/fs/cgroup/memory/x/warden-7-abc"});
  covered.mounts = Mounts(std::string(kHybrid) +
                          "50 34 0:60 / /sys/fs/cgroup/memory/x rw - tmpfs tmpfs rw\n");
  CHECK_FALSE(mnt::PlanCgroupView(covered).ok());
}

TEST_CASE("cgroup view: the last of two mounts on one place is the hierarchy", "[mnt]") {
  CgroupViewInput in = HybridJob({"/sys/fs/cgroup/memory/warden-7-abc"});
  in.mounts = Mounts(std::string(kHybrid) +
                     "51 31 0:61 / /sys/fs/cgroup/memory rw - tmpfs tmpfs rw\n");
  CHECK_FALSE(mnt::PlanCgroupView(in).ok());
}

TEST_CASE("cgroup view: two hierarchies with one name are refused", "[mnt]") {
  CgroupViewInput in;
  in.job_dirs = {"/sys/fs/cgroup/memory/warden-7-abc", "/mnt/other/memory/warden-7-abc"};
  in.mounts = Mounts(std::string(kHybrid) +
                     "60 1 0:70 / /mnt/other/memory rw - cgroup cgroup rw,pids\n");
  Result<std::vector<CgroupViewStep>> r = mnt::PlanCgroupView(in);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("/sys/fs/cgroup/memory") != std::string::npos);
}

TEST_CASE("cgroup view: links are copied only from beside the hierarchies, to bound names",
          "[mnt]") {
  CgroupViewInput in = HybridJob({"/sys/fs/cgroup/cpu,cpuacct/warden-7-abc"});
  in.links.push_back({"/elsewhere/cpu2", "cpu,cpuacct"});
  in.links.push_back({"/sys/fs/cgroup/escape", "../../../etc"});
  in.links.push_back({"/sys/fs/cgroup/cpu,cpuacct", "memory"});  // would replace a bind
  std::vector<std::string> d = Describe(Plan(in));
  CHECK(d == std::vector<std::string>{
                 "tmpfs /sys/fs/cgroup",
                 "bind /sys/fs/cgroup/cpu,cpuacct <- /sys/fs/cgroup/cpu,cpuacct/warden-7-abc",
                 "symlink /sys/fs/cgroup/cpu -> cpu,cpuacct",
                 "symlink /sys/fs/cgroup/cpuacct -> cpu,cpuacct",
                 "ro /sys/fs/cgroup",
             });
}

TEST_CASE("cgroup view: v2 with the job cloned into its cgroup mounts its namespace", "[mnt]") {
  CgroupViewInput in;
  in.job_dirs = {"/sys/fs/cgroup/user.slice/warden-self-9/warden-9-abc"};
  in.cloned_into_cgroup = true;
  CHECK(Describe(Plan(in)) == std::vector<std::string>{"cgroup2 /sys/fs/cgroup"});
}

TEST_CASE("cgroup view: a v2 group not cloned into is bound at unified, never mounted",
          "[mnt]") {
  // The child's cgroup namespace is made only after its root is built: a
  // cgroup2 mount then would show warden's own cgroup.
  CgroupViewInput in = HybridJob({"/sys/fs/cgroup/unified/warden-7-abc",
                                  "/sys/fs/cgroup/memory/warden-7-abc"});
  CHECK(Describe(Plan(in)) ==
        std::vector<std::string>{
            "tmpfs /sys/fs/cgroup",
            "bind /sys/fs/cgroup/unified <- /sys/fs/cgroup/unified/warden-7-abc",
            "bind /sys/fs/cgroup/memory <- /sys/fs/cgroup/memory/warden-7-abc",
            "ro /sys/fs/cgroup",
        });
}

TEST_CASE("cgroup view: an operator's mount at /sys or below /sys/fs/cgroup wins", "[mnt]") {
  for (const char* target : {"/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys", "/sys/fs"}) {
    CgroupViewInput in = HybridJob({"/sys/fs/cgroup/memory/warden-7-abc"});
    in.other_targets = {"/proc", target};
    CHECK(Plan(in).empty());
  }
  CgroupViewInput in = HybridJob({"/sys/fs/cgroup/memory/warden-7-abc"});
  in.other_targets = {"/sys/firmware", "/sys/fs/cgroupx"};
  CHECK_FALSE(Plan(in).empty());
}

TEST_CASE("cgroup view: no job directories, no view", "[mnt]") {
  CHECK(Plan(CgroupViewInput{}).empty());
}

// This process's own cgroup directory in the v1 memory hierarchy, from
// /proc/self/cgroup; "" when there is none (a v2-only host).
std::string OwnMemoryCgroup() {
  Result<std::string> text = base::ReadFile("/proc/self/cgroup");
  if (!text.ok()) return "";
  size_t at = text->find(":memory:/");
  if (at == std::string::npos) return "";
  at += std::strlen(":memory:");
  const std::string rel = text->substr(at, text->find('\n', at) - at);
  const std::string dir = "/sys/fs/cgroup/memory" + (rel == "/" ? "" : rel);
  struct stat st;
  return ::stat(dir.c_str(), &st) == 0 ? dir : "";
}

TEST_CASE("cgroup view: the plan binds a detached copy of the job's group, read-only, "
          "and waits for /sys/fs/cgroup", "[mnt][root]") {
  WARDEN_REQUIRE_ROOT();
  const std::string own = OwnMemoryCgroup();
  if (own.empty()) WARDEN_SKIP("no cgroup v1 memory hierarchy of ours under /sys/fs/cgroup");
  const std::string job = own + "/warden-view-test-" + std::to_string(::getpid());
  REQUIRE(::mkdir(job.c_str(), 0755) == 0);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { ::rmdir(dir.c_str()); }
  } cleanup{job};

  launch::Plan plan;
  Status st = mnt::AddCgroupView({job}, false, &plan);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE(plan.mounts.size() == 3);
  using MK = launch::MountStep::Kind;
  CHECK(plan.mounts[0].kind == MK::kTmpfs);
  CHECK(std::string(plan.mounts[0].target) == "/sys/fs/cgroup");
  CHECK(plan.mounts[1].kind == MK::kBind);
  CHECK(std::string(plan.mounts[1].target) == "/sys/fs/cgroup/memory");
  CHECK(plan.mounts[1].source == nullptr);  // bound through the checked fd only
  CHECK(plan.mounts[1].source_fd >= 0);
  CHECK(plan.mounts[2].kind == MK::kRemount);
  for (const launch::MountStep& m : plan.mounts) {
    REQUIRE(m.only_if != nullptr);
    CHECK(std::string(m.only_if) == "/sys/fs/cgroup");
  }
  for (size_t i : {1, 2}) CHECK((plan.mounts[i].flags & MS_RDONLY) != 0);

  // The hierarchy's root (what a job must never see) and a directory that
  // is not cgroupfs are refused.
  launch::Plan root_plan;
  CHECK_FALSE(mnt::AddCgroupView({"/sys/fs/cgroup/memory"}, false, &root_plan).ok());
  launch::Plan tmp_plan;
  CHECK_FALSE(mnt::AddCgroupView({"/tmp"}, false, &tmp_plan).ok());
}

// A tmpfs step of the child's plan at `target`, skipped unless `only_if`
// exists (nullptr: always made).
launch::MountStep TmpfsStep(launch::Plan* plan, const char* target, const char* only_if,
                            launch::MountStep::Kind kind = launch::MountStep::Kind::kTmpfs) {
  launch::MountStep s;
  s.kind = kind;
  s.target = plan->Keep(target);
  s.what = s.target;
  s.flags = MS_NOSUID | MS_NODEV;
  s.data = plan->Keep("size=16k");
  s.only_if = only_if;
  return s;
}

TEST_CASE("cgroup view: the child skips the view's steps where the root has no /sys/fs/cgroup",
          "[mnt][root]") {
  WARDEN_REQUIRE_ROOT();
  testing::TempDir staging;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) _exit(90);
    launch::Plan plan;
    plan.empty_root = true;
    plan.staging_dir = plan.Keep(staging.path());
    // A root without /sys, as when the child could not mount sysfs: the
    // view's tmpfs must not be made there (it would create /sys/fs/cgroup
    // on the writable root), nor its cgroup2 mount fail the job.
    plan.mounts.push_back(TmpfsStep(&plan, "/sys/fs/cgroup", mnt::kCgroupViewRoot));
    plan.mounts.push_back(TmpfsStep(&plan, "/sys/fs/cgroup", mnt::kCgroupViewRoot,
                                    launch::MountStep::Kind::kCgroup2));
    // Steps whose directory exists run as before.
    plan.mounts.push_back(TmpfsStep(&plan, "/present", nullptr));
    plan.mounts.push_back(TmpfsStep(&plan, "/present/sub", "/present"));
    launch::ChildError e = mnt::ChildBuildRoot(plan);
    if (e.failed()) _exit(91);
    struct stat sys, present, sub;
    if (::stat("/sys", &sys) == 0 || errno != ENOENT) _exit(92);
    if (::stat("/present", &present) != 0 || ::stat("/present/sub", &sub) != 0) _exit(93);
    if (present.st_dev == sub.st_dev) _exit(94);  // /present/sub is a mount of its own
    _exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace warden
