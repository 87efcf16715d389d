// The agent's job monitors (agent/monitor.h), with the real build/warden:
// spawn, probe, signal, results, and what a killed monitor leaves.
#include "agent/monitor.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/job_dir.h"
#include "base/fd.h"
#include "cgroup/cgroup.h"
#include "mnt/mount_plan.h"
#include "proto/plan.h"
#include "test_util.h"

namespace warden::agent {
namespace {

using testing::TempDir;

// Generous: a cold cache compiles the policy's filter first. Only a hang
// reaches it.
constexpr int kWaitMs = 120'000;

std::string WardenBinary() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const std::filesystem::path bin = self.parent_path() / "warden";
  return ::access(bin.c_str(), X_OK) == 0 ? bin.string() : "";
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool Readable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r == 1;
}

// Waits (inotify, no sleep) until `dir`/`name` holds `text`.
bool WaitForText(const std::string& dir, const std::string& name, const std::string& text) {
  base::UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in) return false;
  if (::inotify_add_watch(in.get(), dir.c_str(),
                          IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) < 0) {
    return false;
  }
  for (;;) {
    if (ReadText(dir + "/" + name).find(text) != std::string::npos) return true;
    if (!Readable(in.get(), kWaitMs)) return false;
    char buf[4096];
    while (::read(in.get(), buf, sizeof buf) > 0) {
    }
  }
}

// The children of `pid` (every thread's).
std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> out;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(task.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::istringstream in(ReadText(task + "/" + e->d_name + "/children"));
    pid_t child;
    while (in >> child) out.push_back(child);
  }
  ::closedir(d);
  return out;
}

// Spawns monitors for one test and cleans up after them, even when the
// test fails: the test process is their subreaper (so that it can reap
// them and the sandboxes they leave), kills what still runs, and removes
// the cgroups of killed monitors' jobs.
struct MonitorFixture {
  TempDir state;
  TempDir cache;
  base::UniqueFd binary;
  std::vector<std::pair<pid_t, base::UniqueFd>> spawned;
  uint64_t next_job = 1;

  MonitorFixture() { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
  ~MonitorFixture() {
    for (auto& [pid, pidfd] : spawned) {
      if (!Readable(pidfd.get(), 0)) {
        ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
        Readable(pidfd.get(), kWaitMs);
      }
      siginfo_t info;
      ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.get()), &info,
               WEXITED | __WALL);
    }
    // Sandboxes of killed monitors were reparented here: reap them.
    siginfo_t info;
    for (;;) {
      info.si_pid = 0;
      if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | __WALL) != 0 || info.si_pid == 0) break;
    }
    for (auto& [pid, pidfd] : spawned) {
      cgroup::GcOptions opts;
      opts.only_owner = pid;
      opts.walk = true;
      (void)cgroup::Gc(opts, nullptr);
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  }

  bool Ready() {
    const std::string bin = WardenBinary();
    if (bin.empty()) return false;
    binary.reset(::open(bin.c_str(), O_RDONLY | O_CLOEXEC));
    return binary.valid();
  }

  api::MonitorInput Input(std::vector<std::string> argv) {
    api::MonitorInput in;
    in.set_job_id(MakeJobId(next_job++));
    in.set_cache_dir(cache.path());
    in.set_policy_dir(testing::RepoPolicies());
    in.set_heartbeat_ms(100);
    api::JobSpec* spec = in.mutable_spec();
    for (std::string& a : argv) spec->add_argv(std::move(a));
    spec->set_stdin_fd_index(-1);
    return in;
  }

  std::string Dir(const api::MonitorInput& in) const { return JobDir(state.path(), in.job_id()); }

  Result<SpawnedMonitor> TrySpawn(const api::MonitorInput& in, std::vector<int> job_fds = {}) {
    SpawnRequest req;
    req.state_dir = state.path();
    req.input = in;
    req.warden_binary_fd = binary.get();
    req.job_fds = std::move(job_fds);
    Result<SpawnedMonitor> m = SpawnMonitor(req);
    if (m.ok()) {
      spawned.emplace_back(m->identity.pid,
                           base::UniqueFd(::fcntl(m->pidfd.get(), F_DUPFD_CLOEXEC, 0)));
    }
    return m;
  }

  SpawnedMonitor Spawn(const api::MonitorInput& in, std::vector<int> job_fds = {}) {
    Result<SpawnedMonitor> m = TrySpawn(in, std::move(job_fds));
    INFO(m.status().ToString());
    REQUIRE(m.ok());
    CHECK(m->identity.pid > 0);
    CHECK(m->identity.job_id == in.job_id());
    CHECK(m->identity.start_ticks > 0);
    CHECK(m->identity.boot_id.size() == 36);
    return std::move(m.value());
  }

  // Waits until the monitor exits, reaps it and returns its exit status.
  int WaitExit(const SpawnedMonitor& m) {
    REQUIRE(Readable(m.pidfd.get(), kWaitMs));
    siginfo_t info = {};
    REQUIRE(::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(m.pidfd.get()), &info,
                     WEXITED) == 0);
    return info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
  }

  Probe Ended(const api::MonitorInput& in) {
    Result<Probe> r = ReadResult(state.path(), in.job_id());
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    CHECK(r->fate == MonitorFate::kEnded);
    return std::move(r.value());
  }
};

#define MONITOR_TEST_READY(f)                                                  \
  do {                                                                         \
    WARDEN_REQUIRE_ROOT();                                                     \
    if (!(f).Ready()) WARDEN_SKIP("no build/warden beside the test binary (make build/warden)"); \
  } while (0)

TEST_CASE("monitor: a job that exits 3 ends EXITED 3, its output in jobs/ID/stdout",
          "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  api::MonitorInput in = f.Input({"/bin/sh", "-c", "echo hello; echo oops >&2; exit 3"});
  SpawnedMonitor m = f.Spawn(in);
  CHECK(f.WaitExit(m) == 0);
  Probe p = f.Ended(in);
  CHECK(p.state == api::EXITED);
  CHECK(p.exit_code == 3);
  CHECK(p.result_json.find("\"nonzero\"") != std::string::npos);
  CHECK(ReadText(f.Dir(in) + "/stdout") == "hello\n");
  CHECK(ReadText(f.Dir(in) + "/stderr") == "oops\n");
  // The start protocol's facts are all there.
  for (const char* name : {kSpecFile, kMonitorFile, kBeganFile, kHeartbeatFile, kResultFile}) {
    INFO(name);
    CHECK(std::filesystem::is_regular_file(f.Dir(in) + "/" + name));
  }
  for (const auto& e : std::filesystem::directory_iterator(f.Dir(in))) {
    INFO(e.path());
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
  }
  Result<Probe> probe = ProbeMonitor(f.state.path(), in.job_id(), 30'000);
  REQUIRE(probe.ok());
  CHECK(probe->fate == MonitorFate::kEnded);
  CHECK(probe->exit_code == 3);
  // A job with a result is never started again.
  Result<SpawnedMonitor> again = f.TrySpawn(in);
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == Code::kFailedPrecondition);
}

TEST_CASE("monitor: a live monitor probes alive, is not spawned twice, and SignalJob kills its job",
          "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  // An fd of the agent's that is not close-on-exec must not reach the
  // monitor: the spawn closes every fd it was not given.
  TempDir scratch;
  testing::WriteText(scratch.Join("stray"), "");
  base::UniqueFd stray(::open(scratch.Join("stray").c_str(), O_RDONLY));
  REQUIRE(stray.valid());
  api::MonitorInput in = f.Input({"/bin/sh", "-c", "echo ready; exec sleep 1000"});
  SpawnedMonitor m = f.Spawn(in);
  REQUIRE(WaitForText(f.Dir(in), kStdoutFile, "ready"));
  {
    const std::string fds = "/proc/" + std::to_string(m.identity.pid) + "/fd";
    std::vector<std::string> seen;
    for (const auto& e : std::filesystem::directory_iterator(fds)) {
      std::error_code ec;
      seen.push_back(std::filesystem::read_symlink(e.path(), ec).string());
    }
    INFO("monitor fds: " << seen.size());
    CHECK(std::find(seen.begin(), seen.end(), scratch.Join("stray")) == seen.end());
    CHECK(std::find(seen.begin(), seen.end(), f.Dir(in) + "/lock") != seen.end());
  }

  Result<Probe> probe = ProbeMonitor(f.state.path(), in.job_id(), 30'000);
  INFO(probe.status().ToString());
  REQUIRE(probe.ok());
  CHECK(probe->fate == MonitorFate::kAlive);
  CHECK(probe->identity.pid == m.identity.pid);
  CHECK(probe->identity.start_ticks == m.identity.start_ticks);
  CHECK(probe->identity.boot_id == m.identity.boot_id);
  CHECK(probe->identity.job_id == in.job_id());
  CHECK(probe->pidfd.valid());
  // The probe's own pidfd reaches the same monitor: it is the one signalled.

  // An agent restarted with another spelling of the same state directory
  // still knows the monitor for its job's.
  {
    Result<Probe> other = ProbeMonitor(f.state.path() + "//.", in.job_id(), 30'000);
    INFO(other.status().ToString() << " " << (other.ok() ? other->reason : ""));
    REQUIRE(other.ok());
    CHECK(other->fate == MonitorFate::kAlive);
    CHECK(other->identity.pid == m.identity.pid);
  }

  // A monitor that stopped beating is hung, with its identity. (Stopped,
  // and its last beat made old, so that no clock decides.)
  REQUIRE(::kill(m.identity.pid, SIGSTOP) == 0);
  siginfo_t stopped = {};
  REQUIRE(::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(m.pidfd.get()), &stopped,
                   WSTOPPED | WNOWAIT) == 0);
  testing::WriteText(f.Dir(in) + "/heartbeat", "00000000000000000001\n");
  Result<Probe> hung = ProbeMonitor(f.state.path(), in.job_id(), 1);
  REQUIRE(::kill(m.identity.pid, SIGCONT) == 0);
  INFO(hung.status().ToString());
  REQUIRE(hung.ok());
  CHECK(hung->fate == MonitorFate::kHung);
  CHECK(hung->identity.pid == m.identity.pid);
  CHECK(hung->pidfd.valid());
  CHECK(hung->reason.find("heartbeat") != std::string::npos);

  Result<SpawnedMonitor> twice = f.TrySpawn(in);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.status().code() == Code::kFailedPrecondition);

  CHECK_FALSE(SignalJob(probe->pidfd.get(), 0).ok());
  CHECK_FALSE(SignalJob(probe->pidfd.get(), 65).ok());
  CHECK_FALSE(SignalJob(probe->pidfd.get(), SIGRTMIN + 4).ok());
  Status st = SignalJob(probe->pidfd.get(), SIGKILL);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(f.WaitExit(m) == 0);
  Probe p = f.Ended(in);
  CHECK(p.state == api::SIGNALED);
  CHECK(p.exit_code == 128 + SIGKILL);
  // Signalling a monitor that has exited says so.
  CHECK(SignalJob(m.pidfd.get(), SIGTERM).code() == Code::kFailedPrecondition);
}

TEST_CASE("monitor: SignalJob forwards SIGTERM to the job", "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  // The signal may arrive before the job runs: it waits, blocked, until
  // the monitor's loop reads it.
  api::MonitorInput in = f.Input({"/bin/sleep", "1000"});
  SpawnedMonitor m = f.Spawn(in);
  REQUIRE(SignalJob(m.pidfd.get(), SIGTERM).ok());
  CHECK(f.WaitExit(m) == 0);
  Probe p = f.Ended(in);
  CHECK(p.state == api::SIGNALED);
  CHECK(p.exit_code == 128 + SIGTERM);
}

TEST_CASE("monitor: a monitor killed with SIGKILL takes its job along and probes lost",
          "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  api::MonitorInput in = f.Input({"/bin/sh", "-c", "echo ready; exec sleep 1000"});
  SpawnedMonitor m = f.Spawn(in);
  REQUIRE(WaitForText(f.Dir(in), kStdoutFile, "ready"));

  // The sandbox's init (the monitor's child) and the job's process (init's
  // child: the shell that printed "ready", sleep once it has executed it).
  std::vector<base::UniqueFd> job_pidfds;
  for (pid_t init : Children(m.identity.pid)) {
    job_pidfds.emplace_back(base::PidfdOpen(init));
    for (pid_t pid : Children(init)) job_pidfds.emplace_back(base::PidfdOpen(pid));
  }
  REQUIRE(job_pidfds.size() >= 2);
  for (const base::UniqueFd& fd : job_pidfds) REQUIRE(fd.valid());

  REQUIRE(::syscall(SYS_pidfd_send_signal, m.pidfd.get(), SIGKILL, nullptr, 0) == 0);
  CHECK(f.WaitExit(m) == 128 + SIGKILL);
  for (const base::UniqueFd& fd : job_pidfds) CHECK(Readable(fd.get(), kWaitMs));

  Result<Probe> probe = ProbeMonitor(f.state.path(), in.job_id(), 30'000);
  INFO(probe.status().ToString());
  REQUIRE(probe.ok());
  CHECK(probe->fate == MonitorFate::kLost);
  CHECK(probe->reason.find("no result") != std::string::npos);
  // It began: it may not start again.
  CHECK_FALSE(f.TrySpawn(in).ok());
}

TEST_CASE("monitor: probes of a job dir without a monitor", "[agent][monitor]") {
  WARDEN_REQUIRE_ROOT();
  TempDir state;
  const std::string id = MakeJobId(7);
  Result<Probe> none = ProbeMonitor(state.path(), id, 1000);
  REQUIRE(none.ok());
  CHECK(none->fate == MonitorFate::kNoDir);

  const std::string dir = JobDir(state.path(), id);
  REQUIRE(std::filesystem::create_directories(dir));
  std::filesystem::permissions(state.path() + "/jobs", std::filesystem::perms::owner_all);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  // No lock file at all, then a free one: never began either way.
  Result<Probe> p = ProbeMonitor(state.path(), id, 1000);
  REQUIRE(p.ok());
  CHECK(p->fate == MonitorFate::kNeverBegan);
  testing::WriteText(dir + "/lock", "");
  p = ProbeMonitor(state.path(), id, 1000);
  REQUIRE(p.ok());
  CHECK(p->fate == MonitorFate::kNeverBegan);

  testing::WriteText(dir + "/began", "");
  p = ProbeMonitor(state.path(), id, 1000);
  REQUIRE(p.ok());
  CHECK(p->fate == MonitorFate::kLost);

  // A result that is not one is corruption, named.
  testing::WriteText(dir + "/result", "{\"status\": \"ok\"");
  p = ProbeMonitor(state.path(), id, 1000);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Code::kCorruption);
  CHECK(p.status().message().find("result") != std::string::npos);
  testing::WriteText(dir + "/result", "{\"status\": \"exploded\", \"exit_code\": 0}");
  CHECK(ReadResult(state.path(), id).status().code() == Code::kCorruption);
  testing::WriteText(dir + "/result", "{\"status\": \"timeout\", \"exit_code\": 124}");
  Result<Probe> r = ReadResult(state.path(), id);
  REQUIRE(r.ok());
  CHECK(r->state == api::TIMEOUT);
  CHECK(r->exit_code == 124);

  // A held lock with no identity: hung, after a bounded look.
  base::UniqueFd held(::open((dir + "/lock").c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(::flock(held.get(), LOCK_EX) == 0);
  p = ProbeMonitor(state.path(), id, 1000);
  REQUIRE(p.ok());
  CHECK(p->fate == MonitorFate::kHung);
  CHECK(p->reason.find("never identified itself") != std::string::npos);

  // Ids that are not ids name no path.
  CHECK(ProbeMonitor(state.path(), "../x", 1000).status().code() == Code::kInvalidArgument);
}

TEST_CASE("monitor: `warden monitor` refuses an fd 3 that is not the job's held lock",
          "[agent][monitor]") {
  WARDEN_REQUIRE_ROOT();
  const std::string bin = WardenBinary();
  if (bin.empty()) WARDEN_SKIP("no build/warden beside the test binary (make build/warden)");
  TempDir state;
  const std::string id = MakeJobId(9);
  const std::string dir = JobDir(state.path(), id);
  REQUIRE(std::filesystem::create_directories(dir));
  std::filesystem::permissions(state.path() + "/jobs", std::filesystem::perms::owner_all);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  testing::WriteText(dir + "/lock", "");
  testing::WriteText(state.Join("other"), "");
  const std::string run = bin + " monitor " + state.path() + " " + id + " 3 </dev/null 2>/dev/null";
  // Another file as fd 3.
  int status = std::system((run + " 3<" + state.Join("other")).c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 125);
  // The lock, but held by another open file (a live monitor).
  {
    base::UniqueFd held(::open((dir + "/lock").c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(::flock(held.get(), LOCK_EX) == 0);
    status = std::system((run + " 3<>" + dir + "/lock").c_str());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 125);
  }
  // A bad argument list.
  status = std::system((bin + " monitor " + state.path() + " ../x 3 </dev/null 2>/dev/null").c_str());
  CHECK(WEXITSTATUS(status) == 125);
  // Nothing was started or written.
  for (const char* name : {kMonitorFile, kBeganFile, kResultFile, kHeartbeatFile}) {
    INFO(name);
    CHECK_FALSE(std::filesystem::exists(dir + "/" + name));
  }

  // The right fd 3 and a spec that is not one: a committed setup error,
  // and no `began` (nothing ran), so that the agent does not retry it.
  testing::WriteText(dir + "/spec", "\xff\xff not a MonitorInput");
  status = std::system((run + " 3<>" + dir + "/lock").c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(std::filesystem::exists(dir + "/began"));
  Result<Probe> p = ProbeMonitor(state.path(), id, 1000);
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  CHECK(p->fate == MonitorFate::kEnded);
  CHECK(p->state == api::SETUP_ERROR);
  CHECK(p->exit_code == 125);
  CHECK(p->result_json.find("spec") != std::string::npos);
}

TEST_CASE("monitor: a spawn that cannot execute warden fails, naming the step", "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  TempDir d;
  testing::WriteText(d.Join("not-a-program"), "plain text\n");
  ::chmod(d.Join("not-a-program").c_str(), 0755);
  base::UniqueFd text(::open(d.Join("not-a-program").c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(text.valid());
  api::MonitorInput in = f.Input({"/bin/true"});
  SpawnRequest req;
  req.state_dir = f.state.path();
  req.input = in;
  req.warden_binary_fd = text.get();
  Result<SpawnedMonitor> m = SpawnMonitor(req);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message().find("execveat") != std::string::npos);
  // Nothing began: the job may be started again, by a spawn that works.
  Result<Probe> p = ProbeMonitor(f.state.path(), in.job_id(), 1000);
  REQUIRE(p.ok());
  CHECK(p->fate == MonitorFate::kNeverBegan);
  SpawnedMonitor ok = f.Spawn(in);
  CHECK(f.WaitExit(ok) == 0);
  CHECK(f.Ended(in).state == api::EXITED);

  req.input.set_job_id("../../etc");
  CHECK(SpawnMonitor(req).status().code() == Code::kInvalidArgument);
}

TEST_CASE("monitor: a symlink planted in the job dir or as it is refused", "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  TempDir elsewhere;
  const std::string target = elsewhere.Join("target");
  testing::WriteText(target, "untouched");

  api::MonitorInput a = f.Input({"/bin/true"});
  REQUIRE(std::filesystem::create_directories(f.Dir(a)));
  std::filesystem::permissions(f.state.path() + "/jobs", std::filesystem::perms::owner_all);
  std::filesystem::permissions(f.Dir(a), std::filesystem::perms::owner_all);
  std::filesystem::create_symlink(target, f.Dir(a) + "/spec");
  Result<SpawnedMonitor> m = f.TrySpawn(a);
  CHECK_FALSE(m.ok());

  api::MonitorInput b = f.Input({"/bin/true"});
  std::filesystem::create_directory_symlink(elsewhere.path(), f.Dir(b));
  m = f.TrySpawn(b);
  CHECK_FALSE(m.ok());

  api::MonitorInput c = f.Input({"/bin/true"});
  REQUIRE(std::filesystem::create_directories(f.Dir(c)));
  std::filesystem::permissions(f.Dir(c), std::filesystem::perms::owner_all);
  std::filesystem::create_symlink(target, f.Dir(c) + "/lock");
  m = f.TrySpawn(c);
  CHECK_FALSE(m.ok());

  CHECK(ReadText(target) == "untouched");
  CHECK(std::filesystem::directory_iterator(elsewhere.path()) != std::filesystem::directory_iterator());
  CHECK_FALSE(std::filesystem::exists(elsewhere.Join("spec")));
  CHECK_FALSE(std::filesystem::exists(elsewhere.Join("lock")));
}

TEST_CASE("monitor: a job past its timeout ends TIMEOUT", "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  api::MonitorInput in = f.Input({"/bin/sleep", "1000"});
  in.mutable_spec()->set_timeout_ms(300);
  SpawnedMonitor m = f.Spawn(in);
  CHECK(f.WaitExit(m) == 0);
  Probe p = f.Ended(in);
  CHECK(p.state == api::TIMEOUT);
}

TEST_CASE("monitor: setup errors are committed results", "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  SECTION("an unknown policy") {
    api::MonitorInput in = f.Input({"/bin/true"});
    in.mutable_spec()->set_policy("no-such-policy");
    SpawnedMonitor m = f.Spawn(in);
    CHECK(f.WaitExit(m) == 0);
    Probe p = f.Ended(in);
    CHECK(p.state == api::SETUP_ERROR);
    CHECK(p.exit_code == 125);
    CHECK(std::filesystem::exists(f.Dir(in) + "/began"));
  }
  SECTION("a missing program (the launcher's contract: exit 127, as a shell says)") {
    api::MonitorInput in = f.Input({"/no/such/program"});
    SpawnedMonitor m = f.Spawn(in);
    CHECK(f.WaitExit(m) == 0);
    Probe p = f.Ended(in);
    INFO(p.result_json);
    CHECK(p.state == api::EXITED);
    CHECK(p.exit_code == 127);
    CHECK(p.result_json.find("/no/such/program") != std::string::npos);
  }
  SECTION("a network mode that is none of the three") {
    api::MonitorInput in = f.Input({"/bin/true"});
    in.mutable_spec()->set_net("wifi");
    SpawnedMonitor m = f.Spawn(in);
    CHECK(f.WaitExit(m) == 0);
    Probe p = f.Ended(in);
    INFO(p.result_json);
    CHECK(p.state == api::SETUP_ERROR);
    CHECK(p.result_json.find("wifi") != std::string::npos);
  }
  SECTION("a bind source that changed since submit") {
    TempDir src;
    struct stat st;
    REQUIRE(::stat(src.path().c_str(), &st) == 0);
    api::MonitorInput in = f.Input({"/bin/true"});
    api::Bind* b = in.mutable_spec()->add_binds();
    b->set_source(src.path());
    b->set_destination("/mnt");
    b->set_fd_index(-1);
    b->set_dev(st.st_dev);
    b->set_ino(st.st_ino + 1);
    SpawnedMonitor m = f.Spawn(in);
    CHECK(f.WaitExit(m) == 0);
    Probe p = f.Ended(in);
    INFO(p.result_json);
    CHECK(p.state == api::SETUP_ERROR);
    CHECK(p.result_json.find("changed since submit") != std::string::npos);
  }
  SECTION("a stdin file that changed since submit") {
    TempDir d;
    testing::WriteText(d.Join("in"), "data");
    struct stat st;
    REQUIRE(::stat(d.Join("in").c_str(), &st) == 0);
    api::MonitorInput in = f.Input({"/bin/cat"});
    in.mutable_spec()->set_stdin_file(d.Join("in"));
    in.mutable_spec()->set_stdin_dev(st.st_dev);
    in.mutable_spec()->set_stdin_ino(st.st_ino + 1);
    SpawnedMonitor m = f.Spawn(in);
    CHECK(f.WaitExit(m) == 0);
    Probe p = f.Ended(in);
    INFO(p.result_json);
    CHECK(p.state == api::SETUP_ERROR);
    CHECK(p.result_json.find("changed since submit") != std::string::npos);
  }
}

TEST_CASE("monitor: a stdin file is the job's stdin", "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  TempDir d;
  testing::WriteText(d.Join("in"), "from a file\n");
  struct stat st;
  REQUIRE(::stat(d.Join("in").c_str(), &st) == 0);
  api::MonitorInput in = f.Input({"/bin/cat"});
  in.mutable_spec()->set_stdin_file(d.Join("in"));
  in.mutable_spec()->set_stdin_dev(st.st_dev);
  in.mutable_spec()->set_stdin_ino(st.st_ino);
  // proto3's default index, with no fd handed over: the file it is.
  in.mutable_spec()->set_stdin_fd_index(0);
  SpawnedMonitor m = f.Spawn(in);
  CHECK(f.WaitExit(m) == 0);
  Probe p = f.Ended(in);
  INFO(p.result_json);
  CHECK(p.state == api::EXITED);
  CHECK(p.exit_code == 0);
  CHECK(ReadText(f.Dir(in) + "/stdout") == "from a file\n");
}

TEST_CASE("monitor: a job fd handed over is the job's stdin",
          "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  base::UniqueFd read_end(p[0]), write_end(p[1]);
  const std::string data = "through an fd\n";
  REQUIRE(::write(write_end.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  write_end.reset();
  api::MonitorInput in = f.Input({"/bin/cat"});
  in.mutable_spec()->set_stdin_fd_index(0);
  SpawnedMonitor m = f.Spawn(in, {read_end.get()});
  CHECK(f.WaitExit(m) == 0);
  Probe r = f.Ended(in);
  INFO(r.result_json);
  CHECK(r.state == api::EXITED);
  CHECK(r.exit_code == 0);
  CHECK(ReadText(f.Dir(in) + "/stdout") == data);
}

// The dirty memory of a process: Private_Dirty, Shared_Dirty (for a
// monitor, shared copy-on-write with its sandbox's init) and page tables.
struct DirtyKiB {
  uint64_t private_dirty = 0, shared_dirty = 0, pte = 0;
};
DirtyKiB Dirty(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::istringstream rollup(ReadText(proc + "/smaps_rollup"));
  std::istringstream status(ReadText(proc + "/status"));
  std::string line;
  DirtyKiB d;
  while (std::getline(rollup, line)) {
    std::sscanf(line.c_str(), "Private_Dirty: %" SCNu64, &d.private_dirty);
    std::sscanf(line.c_str(), "Shared_Dirty: %" SCNu64, &d.shared_dirty);
  }
  while (std::getline(status, line)) std::sscanf(line.c_str(), "VmPTE: %" SCNu64, &d.pte);
  return d;
}

// Not run by default: prints a running monitor's memory and its sandbox
// init's (build/unit_tests '[.monitor-memory]'). Right after a link, the
// binary's own pages are still dirty in the page cache and count as
// Private_Dirty: measure once they are written back (sync).
TEST_CASE("monitor: memory of a running monitor", "[agent][.monitor-memory]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  api::MonitorInput in = f.Input({"/bin/sh", "-c", "echo ready; exec sleep 30"});
  SpawnedMonitor m = f.Spawn(in);
  REQUIRE(WaitForText(f.Dir(in), kStdoutFile, "ready"));
  const DirtyKiB d = Dirty(m.identity.pid);
  std::printf("monitor %d: Private_Dirty %" PRIu64 " KiB + VmPTE %" PRIu64 " KiB = %" PRIu64
              " KiB; Shared_Dirty %" PRIu64 " KiB\n",
              m.identity.pid, d.private_dirty, d.pte, d.private_dirty + d.pte, d.shared_dirty);
  for (pid_t child : Children(m.identity.pid)) {
    const DirtyKiB c = Dirty(child);
    std::printf("  sandbox init %d: Private_Dirty %" PRIu64 " KiB + VmPTE %" PRIu64
                " KiB; Shared_Dirty %" PRIu64 " KiB\n",
                child, c.private_dirty, c.pte, c.shared_dirty);
  }
  if (const char* dump = std::getenv("WARDEN_MONITOR_SMAPS")) {
    std::ofstream(dump) << ReadText("/proc/" + std::to_string(m.identity.pid) + "/smaps");
  }
  REQUIRE(SignalJob(m.pidfd.get(), SIGKILL).ok());
  CHECK(f.WaitExit(m) == 0);
}

TEST_CASE("monitor: a bind is made of the source identity the agent checked, or not at all",
          "[agent][monitor]") {
  // The monitor hands the launch the identity the agent recorded at submit
  // (Bind.dev, Bind.ino); the launch's own open of the path is held to it,
  // so a source swapped after the monitor's early check is not bound.
  TempDir dir;
  const std::string a = dir.Join("a");
  REQUIRE(::mkdir(a.c_str(), 0755) == 0);
  struct stat st {};
  REQUIRE(::stat(a.c_str(), &st) == 0);
  MountSpec m;
  m.kind = MountSpec::Kind::kBind;
  m.source = a;
  m.destination = "/data";
  m.expect_dev = st.st_dev;
  m.expect_ino = st.st_ino + 1;
  launch::Plan plan;
  Status bad = mnt::BuildMountPlan(Policy{}, {m}, &plan, testing::HostConfig().cache_dir);
  CHECK(bad.code() == Code::kFailedPrecondition);
  CHECK_THAT(bad.message(), Catch::Contains("changed since it was checked"));
  m.expect_ino = st.st_ino;
  launch::Plan good_plan;
  Status good = mnt::BuildMountPlan(Policy{}, {m}, &good_plan, testing::HostConfig().cache_dir);
  INFO(good.ToString());
  CHECK(good.ok());
}

TEST_CASE("monitor: a job of a client that is not root keeps its output within the policy's bound",
          "[agent][monitor]") {
  MonitorFixture f;
  MONITOR_TEST_READY(f);
  // A policy directory whose default bounds each stream at 4 KiB.
  TempDir policies;
  std::string text = ReadText(testing::RepoPolicies() + "/default.toml");
  const size_t at = text.find("output_max = ");
  REQUIRE(at != std::string::npos);
  const size_t eol = text.find('\n', at);
  text.replace(at, eol - at, "output_max = \"4K\"");
  {
    std::ofstream out(policies.Join("default.toml"));
    out << text;
  }
  for (uint32_t owner : {1000u, 0u}) {
    INFO("owner uid " << owner);
    api::MonitorInput in = f.Input({"/bin/sh", "-c", "head -c 100000 /dev/zero"});
    in.set_policy_dir(policies.path());
    in.mutable_spec()->set_policy("default");
    in.mutable_spec()->set_owner_uid(owner);
    in.mutable_spec()->set_output_max_bytes(1ull << 40);
    SpawnedMonitor m = f.Spawn(in);
    CHECK(f.WaitExit(m) == 0);
    f.Ended(in);
    const size_t got = ReadText(f.Dir(in) + "/stdout").size();
    // Root may raise it; another client may not.
    CHECK(got == (owner == 0 ? 100000u : 4096u));
  }
}

}  // namespace
}  // namespace warden::agent
