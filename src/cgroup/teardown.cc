#include "cgroup/teardown.h"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"

namespace warden::cgroup {
namespace {

// A job cannot normally create cgroups of its own (it runs in a cgroup
// namespace without privilege), so a deep tree below a job is hostile.
constexpr int kMaxDepth = 16;

Status SignalTree(const std::string& dir, int depth) {
  if (depth > kMaxDepth) {
    return Status::Error(Code::kResourceExhausted, "cgroup tree deeper than 16 at " + dir);
  }
  Result<std::vector<pid_t>> before = ReadProcs(dir);
  if (!before.ok()) {
    if (before.status().err() == ENOENT) return Status::Ok();
    return before.take_status().Wrap("kill processes of " + dir);
  }
  std::vector<std::pair<pid_t, base::UniqueFd>> fds;
  for (pid_t pid : *before) {
    int fd = base::PidfdOpen(pid);
    if (fd >= 0) fds.emplace_back(pid, base::UniqueFd(fd));
  }
  Status first;
  if (!fds.empty()) {
    Result<std::vector<pid_t>> after = ReadProcs(dir);
    if (after.ok()) {
      for (auto& [pid, fd] : fds) {
        if (std::find(after->begin(), after->end(), pid) == after->end()) continue;
        if (::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0) != 0 &&
            errno != ESRCH && first.ok()) {
          first = Status::FromErrno(errno, "pidfd_send_signal(" + std::to_string(pid) +
                                               ", SIGKILL)");
        }
      }
    }
  }
  WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> children, ChildDirs(dir));
  for (const std::string& c : children) {
    Status st = SignalTree(c, depth + 1);
    if (!st.ok() && first.ok()) first = std::move(st);
  }
  return first;
}

Result<bool> IsEmptyTree(const std::string& dir, Backend backend, int depth) {
  if (backend == Backend::kV2) {
    Result<std::string> ev = ReadCgroupFile(dir + "/cgroup.events");
    if (ev.ok()) return KeyedValue(*ev, "populated").value_or(1) == 0;
    if (ev.status().err() == ENOENT && !PathExists(dir)) return true;
    return ev.take_status();
  }
  if (depth > kMaxDepth) return false;
  Result<std::vector<pid_t>> procs = ReadProcs(dir);
  if (!procs.ok()) {
    if (procs.status().err() == ENOENT && !PathExists(dir)) return true;
    return procs.take_status();
  }
  if (!procs->empty()) return false;
  WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> children, ChildDirs(dir));
  for (const std::string& c : children) {
    WARDEN_ASSIGN_OR_RETURN(bool empty, IsEmptyTree(c, backend, depth + 1));
    if (!empty) return false;
  }
  return true;
}

// Depth-first rmdir; EBUSY (a dying task still pins the cgroup) is retried
// until the deadline.
Status RemoveTree(const std::string& dir, Clock::time_point deadline, int depth) {
  if (depth > kMaxDepth) {
    return Status::Error(Code::kResourceExhausted, "cgroup tree deeper than 16 at " + dir);
  }
  WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> children, ChildDirs(dir));
  for (const std::string& c : children) WARDEN_RETURN_IF_ERROR(RemoveTree(c, deadline, depth + 1));
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return Status::Ok();
    if (errno != EBUSY || Clock::now() >= deadline) {
      return Status::FromErrno(errno, "rmdir(\"" + dir + "\")");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

Status WaitFor(const std::string& file, const std::string& want_key, uint64_t want_value,
               const std::string& want_text) {
  auto deadline = Clock::now() + kFreezeTimeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    WARDEN_ASSIGN_OR_RETURN(std::string text, ReadCgroupFile(file));
    bool done = want_key.empty() ? SplitWords(text) == std::vector<std::string>{want_text}
                                 : KeyedValue(text, want_key) == want_value;
    if (done) return Status::Ok();
    if (Clock::now() >= deadline) {
      return Status::Error(Code::kUnavailable, file + " did not reach the requested state in " +
                                                   std::to_string(kFreezeTimeout.count()) + " ms");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

}  // namespace

Result<std::vector<std::string>> ChildDirs(const std::string& dir, size_t max_entries,
                                           bool* exists) {
  std::vector<std::string> out;
  base::UniqueDir d(::opendir(dir.c_str()));
  if (exists != nullptr) *exists = static_cast<bool>(d);
  if (!d) {
    if (errno == ENOENT) return out;
    return Status::FromErrno(errno, "opendir(\"" + dir + "\")");
  }
  for (;;) {
    // readdir says "end" and "error" alike; only errno tells them apart.
    errno = 0;
    struct dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) return Status::FromErrno(errno, "readdir(\"" + dir + "\")");
      break;
    }
    if (e->d_type != DT_DIR) continue;
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (out.size() >= max_entries) break;
    out.push_back(dir + "/" + n);
  }
  return out;
}

Status SignalAll(const std::string& dir) { return SignalTree(dir, 0); }

Status FreezeV1(const std::string& dir, bool frozen) {
  const char* state = frozen ? "FROZEN" : "THAWED";
  WARDEN_RETURN_IF_ERROR(WriteCgroupFile(dir + "/freezer.state", state));
  return WaitFor(dir + "/freezer.state", "", 0, state);
}

Status FreezeV2(const std::string& dir, bool frozen) {
  WARDEN_RETURN_IF_ERROR(WriteCgroupFile(dir + "/cgroup.freeze", frozen ? "1" : "0"));
  return WaitFor(dir + "/cgroup.events", "frozen", frozen ? 1 : 0, "");
}

Status KillV2(const std::string& dir) {
  if (PathExists(dir + "/cgroup.kill")) return WriteCgroupFile(dir + "/cgroup.kill", "1");
  if (!PathExists(dir)) return Status::Ok();
  Result<bool> empty = IsEmptyTree(dir, Backend::kV2, 0);
  if (empty.ok() && *empty) return Status::Ok();
  // Before 5.14: freeze so that nothing forks between reading and killing.
  Status frozen = FreezeV2(dir, true);
  Status st = SignalAll(dir);
  if (frozen.ok()) {
    Status thaw = FreezeV2(dir, false);
    if (!thaw.ok() && st.ok()) st = std::move(thaw);
  }
  return st;
}

Status KillV1(const std::string& freezer_dir) {
  if (freezer_dir.empty() || !PathExists(freezer_dir)) return Status::Ok();
  // An empty tree stays empty (only its members could fork into it), and
  // freezing is not free: the first frozen group on the host switches a
  // kernel static key, which patches kernel text on every CPU.
  Result<bool> empty = IsEmptyTree(freezer_dir, Backend::kV1, 0);
  if (empty.ok() && *empty) return Status::Ok();
  // Frozen tasks cannot fork or exit, so the list read below is complete
  // and its pids cannot be reused; the kills land when the group thaws.
  Status frozen = FreezeV1(freezer_dir, true);
  Status st = SignalAll(freezer_dir);
  Status thaw = FreezeV1(freezer_dir, false);
  if (!frozen.ok()) {
    WLOG_WARN("", "freeze " + freezer_dir + " before kill: " + frozen.ToString());
  }
  if (st.ok()) st = std::move(thaw);
  return st;
}

Result<bool> IsEmpty(const std::string& dir, Backend backend) {
  return IsEmptyTree(dir, backend, 0);
}

Status DrainAndRemove(const std::string& dir, Backend backend, Clock::time_point deadline) {
  // An empty leaf, the usual case, goes in one call.
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return Status::Ok();
  auto pause = std::chrono::milliseconds(1);
  auto next_kill = Clock::now();
  for (;;) {
    Result<bool> empty = IsEmpty(dir, backend);
    if (!empty.ok()) return empty.take_status().Wrap("wait for " + dir + " to empty");
    if (*empty) break;
    if (Clock::now() >= deadline) {
      return Status::Error(Code::kFailedPrecondition,
                           "processes are still in " + dir +
                               " after SIGKILL: they are probably in uninterruptible sleep "
                               "(D state, e.g. waiting on I/O); `warden gc` removes the "
                               "cgroup once they exit");
    }
    if (Clock::now() >= next_kill) {
      // Catches processes forked after the last kill when there was no
      // freezer to stop them.
      (void)SignalAll(dir);
      next_kill = Clock::now() + std::chrono::milliseconds(100);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return RemoveTree(dir, deadline, 0);
}

void RemoveTopIfEmpty(const std::string& top) {
  if (top.empty()) return;
  if (::rmdir(top.c_str()) != 0 && errno != ENOTEMPTY && errno != EBUSY && errno != ENOENT) {
    WLOG_WARN("", Status::FromErrno(errno, "rmdir(\"" + top + "\")").ToString());
  }
}

}  // namespace warden::cgroup
