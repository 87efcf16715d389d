// Files and processes of a job's monitor (agent/monitor_files.h).
#include "agent/monitor_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <vector>
#include <utility>

#include "agent/job_dir.h"
#include "base/file.h"
#include "base/safe_open.h"
#include "warden/job.h"

#include <nlohmann/json.hpp>

namespace warden::agent {

LauncherOptions LauncherOptionsOf(const api::MonitorInput& in) {
  LauncherOptions o;
  if (!in.launcher_state_dir().empty()) o.state_dir = in.launcher_state_dir();
  if (!in.cache_dir().empty()) o.cache_dir = in.cache_dir();
  o.policy_dir = in.policy_dir();
  o.cgroup_parent = in.cgroup_parent();
  o.net_pool = in.net_pool();
  o.uid_range = in.uid_range();
  o.cgroup_disable = in.cgroup_disable();
  o.net_state_dir = in.net_state_dir();
  o.uid_state_dir = in.uid_state_dir();
  o.environment = std::map<std::string, std::string>(in.environment().begin(), in.environment().end());
  o.may_change_sysctls = in.may_change_sysctls();
  return o;
}

int ControlSignal() { return SIGRTMIN + 4; }

sigset_t MonitorSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, ControlSignal());
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
  return set;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

bool IsNoEntry(const Status& st) { return st.err() == ENOENT; }

namespace {

constexpr size_t kMaxProcFileBytes = 64 << 10;

// Reads `fd` (a regular file) to its end, at most max_bytes.
Result<std::string> ReadAllFd(int fd, size_t max_bytes, const std::string& shown) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = base::RetryEintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n < 0) return Status::FromErrno(errno, "read(" + Quoted(shown) + ")");
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Status::Error(Code::kCorruption, Quoted(shown) + " is larger than " +
                                                  std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

// Opens `name` in `dir_fd` for reading: a regular file, never through a
// symlink, never blocking on a FIFO planted there.
Result<base::UniqueFd> OpenRegularAt(int dir_fd, const char* name, const std::string& shown) {
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  }));
  if (!fd) return Status::FromErrno(errno, "openat(" + Quoted(shown) + ", O_NOFOLLOW)");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(" + Quoted(shown) + ")");
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kCorruption, Quoted(shown) + " is not a regular file");
  }
  return fd;
}

Result<std::string> ReadRegularAt(int dir_fd, const char* name, size_t max_bytes,
                                  const std::string& shown) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenRegularAt(dir_fd, name, shown));
  return ReadAllFd(fd.get(), max_bytes, shown);
}

// Whether `name` exists in `dir_fd` (as anything: a symlink counts).
Result<bool> ExistsAt(int dir_fd, const char* name, const std::string& shown) {
  struct stat st;
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  return Status::FromErrno(errno, "fstatat(" + Quoted(shown) + ")");
}

// Strict decimal: digits only, no sign or space, no overflow.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// Field 22 of /proc/PID/stat (starttime, in clock ticks since boot). The
// command name in field 2 may hold spaces and parentheses, so the fields
// are counted from the last ')'.
Result<uint64_t> ParseStartTicks(std::string_view text, const std::string& shown) {
  const size_t paren = text.rfind(')');
  if (paren == std::string_view::npos) {
    return Status::Error(Code::kCorruption, shown + ": no ')' after the command name");
  }
  // After ") ": field 3 (state) is token 0, so field 22 is token 19.
  size_t pos = paren + 1;
  for (int field = 3; field <= 22; field++) {
    while (pos < text.size() && text[pos] == ' ') pos++;
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    if (field == 22) {
      std::optional<uint64_t> v = ParseDecimal(text.substr(pos, end - pos));
      if (!v) return Status::Error(Code::kCorruption, shown + ": field 22 is not a number");
      return *v;
    }
    pos = end;
  }
  return Status::Error(Code::kCorruption, shown + ": fewer than 22 fields");
}

Result<uint64_t> ReadStartTicks(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  WARDEN_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, kMaxProcFileBytes));
  return ParseStartTicks(text, path);
}

bool ValidBootId(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<std::string> ReadBootId() {
  const char* path = "/proc/sys/kernel/random/boot_id";
  WARDEN_ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, 64));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!ValidBootId(text)) return Status::Error(Code::kCorruption, std::string(path) + ": not a boot id");
  return text;
}

// Opens STATE/jobs/ID without following a symlink anywhere; with `create`,
// makes jobs/ and ID/ (0700) when missing. Both must be the caller's and
// writable by no one else: the agent's state is root's alone.
Result<base::UniqueFd> OpenJobDir(const std::string& state_dir, const std::string& id,
                                  bool create) {
  if (!ValidJobId(id)) {
    return Status::Error(Code::kInvalidArgument, "not a job id: " + Quoted(id));
  }
  if (state_dir.empty() || state_dir[0] != '/') {
    return Status::Error(Code::kInvalidArgument,
                         "the agent's state directory must be absolute: " + Quoted(state_dir));
  }
  // A directory made here is made durable in its parent at once: the
  // monitor's `began`, fsync'ed in the job directory, must not vanish with
  // an entry that a crash could lose (the job would look never started).
  auto open_sub = [create](int parent, const std::string& parent_name,
                           const std::string& name) -> Result<base::UniqueFd> {
    bool existed = true;
    if (create) {
      WARDEN_ASSIGN_OR_RETURN(existed, ExistsAt(parent, name.c_str(), parent_name + "/" + name));
    }
    WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd,
                            base::OpenDirNoFollowAt(parent, parent_name, name, create, 0700));
    if (!existed && ::fsync(parent) != 0) {
      return Status::FromErrno(errno, "fsync(" + Quoted(parent_name) + ")");
    }
    return fd;
  };
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd state, base::OpenDirNoFollow(state_dir));
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd jobs, open_sub(state.get(), state_dir, kJobsDir));
  const std::string jobs_name = state_dir + "/" + kJobsDir;
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd job, open_sub(jobs.get(), jobs_name, id));
  for (const auto& [fd, name] : {std::pair<int, std::string>{jobs.get(), jobs_name},
                                 std::pair<int, std::string>{job.get(), JobDir(state_dir, id)}}) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "fstat(" + Quoted(name) + ")");
    if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
      return Status::Error(Code::kFailedPrecondition,
                           Quoted(name) + " is not the agent's own (owner " +
                               std::to_string(st.st_uid) +
                               ", writable by others): fix its owner and mode (0700)");
    }
  }
  return job;
}

// jobs/ID/lock, a regular file never reached through a symlink.
Result<base::UniqueFd> OpenLockAt(int job_dir, bool create, const std::string& shown) {
  const int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (create ? O_CREAT : 0);
  base::UniqueFd fd(base::RetryEintr([&] { return ::openat(job_dir, kMonitorLockFile, flags, 0600); }));
  if (!fd) return Status::FromErrno(errno, "openat(" + Quoted(shown) + ", O_NOFOLLOW)");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(" + Quoted(shown) + ")");
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kFailedPrecondition, Quoted(shown) + " is not a regular file");
  }
  return fd;
}

// flock(LOCK_EX|LOCK_NB): true when taken, false when another open file
// holds it (a monitor lives).
Result<bool> TryLock(int fd, const std::string& shown) {
  if (base::RetryEintr([&] { return ::flock(fd, LOCK_EX | LOCK_NB); }) == 0) return true;
  if (errno == EWOULDBLOCK) return false;
  return Status::FromErrno(errno, "flock(" + Quoted(shown) + ", LOCK_EX|LOCK_NB)");
}

api::State StateOfStatus(JobStatus status) {
  switch (status) {
    case JobStatus::kOk:
    case JobStatus::kNonzero: return api::EXITED;
    case JobStatus::kSignaled: return api::SIGNALED;
    case JobStatus::kTimeout: return api::TIMEOUT;
    case JobStatus::kOom: return api::OOM;
    case JobStatus::kSeccompViolation: return api::SECCOMP_VIOLATION;
    case JobStatus::kSetupError: return api::SETUP_ERROR;
    case JobStatus::kCancelled: return api::CANCELLED;
  }
  return api::STATE_UNSPECIFIED;
}

Result<Probe> ParseResult(std::string text, const std::string& shown) {
  auto corrupt = [&](const std::string& why) {
    return Status::Error(Code::kCorruption, Quoted(shown) + ": " + why);
  };
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  auto status_it = j.find("status");
  if (status_it == j.end() || !status_it->is_string()) return corrupt("no \"status\" string");
  Result<JobStatus> status = ParseJobStatus(status_it->get<std::string>());
  if (!status.ok()) return corrupt(status.status().message());
  auto code_it = j.find("exit_code");
  if (code_it == j.end() || !code_it->is_number_integer()) return corrupt("no \"exit_code\" integer");
  const int64_t code = code_it->get<int64_t>();
  if (code < 0 || code > 255) return corrupt("\"exit_code\" out of range");
  Probe p;
  p.fate = MonitorFate::kEnded;
  p.state = StateOfStatus(*status);
  p.exit_code = static_cast<int>(code);
  p.result_json = std::move(text);
  return p;
}

Result<MonitorIdentity> ParseIdentity(const std::string& text, const std::string& shown) {
  auto corrupt = [&] {
    return Status::Error(Code::kCorruption, Quoted(shown) + " is not \"PID START_TICKS BOOT_ID JOB_ID\"");
  };
  if (text.empty() || text.back() != '\n') return corrupt();
  std::vector<std::string_view> f;
  std::string_view rest(text.data(), text.size() - 1);
  while (f.size() < 5) {
    const size_t sp = rest.find(' ');
    f.push_back(rest.substr(0, sp));
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  if (f.size() != 4) return corrupt();
  std::optional<uint64_t> pid = ParseDecimal(f[0]);
  std::optional<uint64_t> ticks = ParseDecimal(f[1]);
  if (!pid || *pid == 0 || *pid > INT32_MAX || !ticks || !ValidBootId(f[2]) ||
      !ValidJobId(std::string(f[3]))) {
    return corrupt();
  }
  MonitorIdentity id;
  id.pid = static_cast<pid_t>(*pid);
  id.start_ticks = *ticks;
  id.boot_id = std::string(f[2]);
  id.job_id = std::string(f[3]);
  // One spelling only (no leading zeros): what FormatIdentity writes.
  if (FormatIdentity(id) != text) return corrupt();
  return id;
}

std::string FormatIdentity(const MonitorIdentity& id) {
  return std::to_string(id.pid) + " " + std::to_string(id.start_ticks) + " " + id.boot_id + " " +
         id.job_id + "\n";
}

std::optional<uint64_t> ParseHeartbeat(std::string_view text) {
  if (text.size() != kHeartbeatBytes || text.back() != '\n') return std::nullopt;
  return ParseDecimal(text.substr(0, kHeartbeatBytes - 1));
}

std::string FormatHeartbeat(uint64_t boottime_ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020" PRIu64 "\n", boottime_ns);
  return buf;
}

}  // namespace warden::agent
