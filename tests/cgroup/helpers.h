// Helpers shared by the cgroup tests: forked jobs released through a pipe,
// leftover checks, environment overrides.
#ifndef WARDEN_TESTS_CGROUP_HELPERS_H_
#define WARDEN_TESTS_CGROUP_HELPERS_H_

#include "cgroup/cgroup.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <thread>

#include "cgroup/host.h"
#include "test_util.h"

namespace warden::cgroup {

// A unique job id per call, so that runs of this binary never collide.
inline std::string TestId(const std::string& tag) {
  static std::atomic<int> counter{0};
  return "t" + tag + "-" + std::to_string(counter++);
}

// Every directory in which this host puts job cgroups, plus the top groups.
inline std::vector<std::string> ParentDirs() {
  std::vector<std::string> out;
  Result<HostLayout> h = DiscoverHost("");
  if (!h.ok()) return out;
  for (const Placement& p : h->placement) {
    if (!p.parent.empty()) out.push_back(p.parent);
  }
  for (const V1Hierarchy& v : h->v1) out.push_back(v.mount + "/" + kTopGroup);
  if (!h->v2_mount.empty()) out.push_back(h->v2_mount + "/" + kTopGroup);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Cgroups named for `owner` anywhere warden puts them.
inline std::vector<std::string> CgroupsOf(pid_t owner) {
  std::string prefix = std::string(kNamePrefix) + std::to_string(owner) + "-";
  std::vector<std::string> out;
  for (const std::string& dir : ParentDirs()) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) {
        out.push_back(dir + "/" + e->d_name);
      }
    }
    ::closedir(d);
  }
  return out;
}

inline bool HostHas(Controller c) {
  Result<HostLayout> h = DiscoverHost("");
  return h.ok() && h->placement[c].backend != Backend::kNone;
}

// A forked child that waits for Release() before running `work`; killed and
// reaped when the guard goes out of scope.
class Child {
 public:
  explicit Child(void (*work)()) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(fds[1]);
      char b;
      if (::read(fds[0], &b, 1) != 1) ::_exit(99);
      ::close(fds[0]);
      work();
      ::_exit(0);
    }
    ::close(fds[0]);
    release_fd_ = fds[1];
  }
  ~Child() {
    if (release_fd_ >= 0) ::close(release_fd_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void Release() {
    REQUIRE(::write(release_fd_, "x", 1) == 1);
    ::close(release_fd_);
    release_fd_ = -1;
  }
  // Waits for the child's exit; returns its wait status.
  int Wait() {
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int release_fd_ = -1;
  bool reaped_ = false;
};

inline void SleepForever() {
  for (;;) ::pause();
}

inline void MemoryBomb() {
  // Touch 1 MiB at a time until the kernel says no; 1 GiB is far above any
  // limit used here, so reaching it means the limit did not hold.
  constexpr size_t kChunk = 1 << 20;
  for (int i = 0; i < 1024; ++i) {
    void* p = ::mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(3);
    std::memset(p, 0x5a, kChunk);
  }
  ::_exit(4);
}

inline void ForkBomb() {
  for (;;) {
    if (::fork() < 0) {
      struct timespec ts = {0, 10 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
  }
}

inline void SpinTwoSeconds() {
  struct timespec start, now;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    ::clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
           2000000000L);
}

inline void SmallJob() {
  // A few pages of its own; the parent's big heap is shared, not touched.
  static char buf[256 << 10];
  std::memset(buf, 1, sizeof buf);
  struct timespec ts = {0, 50 * 1000 * 1000};
  ::nanosleep(&ts, nullptr);
}

// `disabled`: Options::disabled_controllers.
inline std::unique_ptr<JobCgroup> MustCreate(const CgroupSpec& spec, const std::string& tag,
                                             std::vector<std::string>* warnings = nullptr,
                                             const std::string& disabled = "") {
  Options opts;
  opts.job_id = TestId(tag);
  opts.disabled_controllers = disabled;
  Result<std::unique_ptr<JobCgroup>> cg = JobCgroup::Create(spec, opts, warnings);
  INFO(cg.status().ToString());
  REQUIRE(cg.ok());
  return std::move(cg).value();
}

}  // namespace warden::cgroup

#endif  // WARDEN_TESTS_CGROUP_HELPERS_H_
