// The job core's recovery (agent/core.h, Core::Recover): the checkpoint and
// the WAL replayed into the table, then what became of the jobs that were
// starting or running (re-adopt, collect results), the orphan scan and the
// requeue of jobs whose start never began. Each phase is timed, counted
// and logged in the RecoveryReport.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/core_impl.h"
#include "agent/job_dir.h"
#include "agent/monitor_files.h"
#include "agent/records.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/safe_open.h"

namespace warden::agent {

uint64_t ElapsedMicros(int64_t since_ns) {
  return static_cast<uint64_t>(std::max<int64_t>(0, base::MonotonicNs() - since_ns) / 1000);
}

static api::RecoveryPhase* AddPhase(api::RecoveryReport* report, const char* name, uint64_t micros) {
  api::RecoveryPhase* phase = report->add_phases();
  phase->set_name(name);
  phase->set_micros(micros);
  return phase;
}

static void LogPhase(const api::RecoveryPhase& phase) {
  std::string line = "recovery: " + phase.name() + " took " + std::to_string(phase.micros()) + " us";
  std::map<std::string, uint64_t> sorted(phase.counts().begin(), phase.counts().end());
  for (const auto& [k, v] : sorted) line += ", " + k + " " + std::to_string(v);
  WLOG_INFO("", line);
}

// Removes `name` in `parent_fd` and everything below it without following a
// symlink: directories are opened O_NOFOLLOW|O_DIRECTORY relative to their
// parent's fd and entries are unlinked relative to it, so a link a job
// planted is removed, never followed.
Status RemoveTreeAt(int parent_fd, const std::string& name, int depth) {
  if (depth > 16) return Status::Error(Code::kResourceExhausted, "remove \"" + name + "\": too deep");
  base::UniqueFd fd(::openat(parent_fd, name.c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return Status::Ok();
    if (errno != ENOTDIR && errno != ELOOP) return Status::FromErrno(errno, "open(\"" + name + "\")");
    if (::unlinkat(parent_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "unlink(\"" + name + "\")");
    }
    return Status::Ok();
  }
  int dup_fd = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Status::FromErrno(errno, "dup(\"" + name + "\")");
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    ::close(dup_fd);
    return Status::FromErrno(errno, "fdopendir(\"" + name + "\")");
  }
  std::vector<std::pair<std::string, bool>> entries;
  while (dirent* d = ::readdir(dir)) {
    std::string n = d->d_name;
    if (n == "." || n == "..") continue;
    entries.emplace_back(n, d->d_type == DT_DIR);
    if (entries.size() > 100'000) break;
  }
  ::closedir(dir);
  for (const auto& [n, is_dir] : entries) {
    if (is_dir) {
      WARDEN_RETURN_IF_ERROR(RemoveTreeAt(fd.get(), n, depth + 1));
      continue;
    }
    if (::unlinkat(fd.get(), n.c_str(), 0) != 0) {
      if (errno == EISDIR) {
        WARDEN_RETURN_IF_ERROR(RemoveTreeAt(fd.get(), n, depth + 1));
      } else if (errno != ENOENT) {
        return Status::FromErrno(errno, "unlink(\"" + name + "/" + n + "\")");
      }
    }
  }
  if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "rmdir(\"" + name + "\")");
  }
  return Status::Ok();
}



// ---- recovery ----

Status CoreImpl::Recover(api::RecoveryReport* report) {
  const int64_t t0 = base::MonotonicNs();
  for (const std::string& dir :
       {state_dir_, state_dir_ + "/" + kWalDir, state_dir_ + "/" + kJobsDir}) {
    WARDEN_RETURN_IF_ERROR(env_->CreateDir(dir).Wrap("agent state directory"));
  }
  // The state directory is the operator's (it may be reached through an
  // operator's symlink); below it, nothing is followed.
  jobs_fd_.reset(::open((state_dir_ + "/" + kJobsDir).c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!jobs_fd_) {
    return Status::FromErrno(errno, "open(\"" + state_dir_ + "/" + kJobsDir + "\")");
  }
  Result<std::unique_ptr<Launcher>> launcher = Launcher::Create(LauncherOptionsOf(monitor_base_));
  if (!launcher.ok()) return launcher.take_status().Wrap("agent: the [launcher] settings");
  launcher_ = std::move(launcher).value();
  WARDEN_RETURN_IF_ERROR(OpenWal(report));
  WARDEN_RETURN_IF_ERROR(ReadoptAndCollect(report));
  OrphanScan(report);
  WARDEN_RETURN_IF_ERROR(Requeue(report));
  report->set_total_micros(report->total_micros() + ElapsedMicros(t0));
  report_ = *report;
  WLOG_INFO("", "recovery: " + std::to_string(jobs_.size()) + " jobs, " +
                    std::to_string(queue_.size()) + " queued, " + std::to_string(active_.size()) +
                    " running, in " + std::to_string(ElapsedMicros(t0)) + " us");
  return Status::Ok();
}

Status CoreImpl::OpenWal(api::RecoveryReport* report) {
  const int64_t t0 = base::MonotonicNs();
  uint64_t snapshot_micros = 0;
  uint64_t records = 0;
  wal::ReplayHandler handler;
  handler.on_snapshot = [&](const std::string& snapshot, uint64_t) {
    const int64_t s0 = base::MonotonicNs();
    Status st = ApplySnapshot(snapshot);
    snapshot_micros = ElapsedMicros(s0);
    return st;
  };
  handler.on_record = [&](uint64_t seq, const wal::Payload& payload) -> Status {
    if (payload.body_case() != wal::Payload::kBlob || payload.blob().kind() != kJobEventKind) {
      return Status::Error(Code::kCorruption,
                           "record " + std::to_string(seq) + " is not one of the agent's");
    }
    api::JobEvent ev;
    if (!ev.ParseFromString(payload.blob().data())) {
      return Status::Error(Code::kCorruption, "record " + std::to_string(seq) + " does not parse");
    }
    records++;
    return Apply(ev).Wrap("record " + std::to_string(seq));
  };
  const std::string dir = state_dir_ + "/" + kWalDir;
  wal::WalOptions wal_options;
  wal_options.segment_bytes = config_.wal_segment_bytes;
  wal_options.max_record_bytes = WalMaxRecordBytes(config_);
  Result<std::unique_ptr<wal::Wal>> w = wal::Wal::Open(loop_, env_, dir, wal_options, handler);
  if (!w.ok()) {
    return w.take_status().Wrap("the agent's log cannot be opened; if it is damaged, "
                                "`warden agent --repair` cuts it back to its last good record");
  }
  wal_ = std::move(w).value();
  const uint64_t total = ElapsedMicros(t0);
  api::RecoveryPhase* cp = AddPhase(report, "checkpoint", snapshot_micros);
  (*cp->mutable_counts())["snapshot_seq"] = wal_->recovery().snapshot_seq;
  (*cp->mutable_counts())["jobs"] = jobs_.size();
  LogPhase(*cp);
  api::RecoveryPhase* rp = AddPhase(report, "wal replay", total - std::min(total, snapshot_micros));
  (*rp->mutable_counts())["records"] = records;
  (*rp->mutable_counts())["segments"] = wal_->recovery().segments;
  (*rp->mutable_counts())["torn_bytes"] = wal_->recovery().torn_bytes;
  (*rp->mutable_counts())["jobs"] = jobs_.size();
  LogPhase(*rp);
  records_since_checkpoint_ = records;
  return Status::Ok();
}

Status CoreImpl::KillMonitorAndWait(int pidfd, const std::string& id) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) != 0 && errno != ESRCH) {
    return Status::FromErrno(errno, "pidfd_send_signal(monitor of " + id + ", SIGKILL)");
  }
  struct pollfd p {pidfd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&p, 1, 10'000);
    if (n > 0) return Status::Ok();
    if (n == 0) {
      return Status::Error(Code::kUnavailable,
                           "the monitor of " + id + " did not die within 10 s of SIGKILL");
    }
    if (errno != EINTR) return Status::FromErrno(errno, "poll(monitor pidfd of " + id + ")");
  }
}

// How long recovery waits, for all jobs together, for monitors that hold
// their jobs' locks to identify themselves: looks 10 ms apart for 2 s.
static constexpr int64_t kUnidentifiedWaitNs = 2'000'000'000;
static constexpr useconds_t kUnidentifiedReprobeUs = 10'000;

Status CoreImpl::ReadoptAndCollect(api::RecoveryReport* report) {
  int64_t t0 = base::MonotonicNs();
  std::vector<std::string> ids(active_.begin(), active_.end());
  std::vector<api::JobEvent> events;
  uint64_t adopted = 0, ended = 0, lost = 0, hung = 0, errors = 0;
  const int64_t reprobe_until = t0 + kUnidentifiedWaitNs;
  for (const std::string& id : ids) {
    Job* job = Find(id);
    api::JobEvent ev;
    ev.set_job_id(id);
    ev.set_wall_ns(WallNs());
    Result<Probe> probe = ops_.probe(state_dir_, id, config_.hung_after_ms);
    // A held lock whose monitor has not identified itself yet (one that
    // passed its start gate only when the last agent died) is neither
    // adoptable nor killable: it is looked at again for a while, since the
    // monitor writes its identity before anything else.
    while (probe.ok() && probe->fate == MonitorFate::kHung && !probe->pidfd &&
           base::MonotonicNs() < reprobe_until) {
      ::usleep(kUnidentifiedReprobeUs);
      probe = ops_.probe(state_dir_, id, config_.hung_after_ms);
    }
    if (!probe.ok()) {
      // Its fate cannot be read: never guessed.
      errors++;
      ev.set_state(api::LOST);
      ev.set_exit_code(-1);
      ev.set_reason("the agent could not tell what became of the job's monitor: " +
                    probe.status().ToString());
      events.push_back(std::move(ev));
      continue;
    }
    switch (probe->fate) {
      case MonitorFate::kAlive:
        adopted++;
        job->pidfd = std::move(probe->pidfd);
        if (job->e.state() == api::STARTING) {
          ev.set_state(api::RUNNING);
          ev.set_monitor_pid(probe->identity.pid);
          ev.set_monitor_start_ticks(probe->identity.start_ticks);
          events.push_back(std::move(ev));
        }
        WatchMonitor(job);
        WLOG_INFO(id, "re-adopted its monitor, pid " + std::to_string(probe->identity.pid));
        break;
      case MonitorFate::kEnded:
        ended++;
        ev.set_state(probe->state);
        ev.set_exit_code(probe->exit_code);
        ev.set_result_json(std::move(probe->result_json));
        FitResultToRecord(&ev, config_);
        events.push_back(std::move(ev));
        break;
      case MonitorFate::kNeverBegan:
      case MonitorFate::kNoDir:
        requeue_ids_.push_back(id);
        break;
      case MonitorFate::kLost:
        lost++;
        ev.set_state(api::LOST);
        ev.set_exit_code(-1);
        ev.set_reason(probe->reason.empty() ? "the job's monitor died before its result"
                                            : probe->reason);
        events.push_back(std::move(ev));
        break;
      case MonitorFate::kHung: {
        hung++;
        ev.set_state(api::LOST);
        ev.set_exit_code(-1);
        if (!probe->pidfd) {
          // Nothing to kill through: the lock's holder is not a monitor
          // the agent can identify.
          WLOG_ERROR(id, "its lock is held, but not by a monitor the agent can identify: " +
                             probe->reason);
          ev.set_reason("the job's lock is held by a process the agent cannot identify as its "
                        "monitor: " + probe->reason);
          events.push_back(std::move(ev));
          break;
        }
        Status st = KillMonitorAndWait(probe->pidfd.get(), id);
        if (!st.ok()) WLOG_ERROR(id, st.ToString());
        ev.set_reason("monitor hung: no heartbeat for " + std::to_string(config_.hung_after_ms) +
                      " ms");
        events.push_back(std::move(ev));
        break;
      }
    }
  }
  api::RecoveryPhase* ra = AddPhase(report, "re-adopt", ElapsedMicros(t0));
  (*ra->mutable_counts())["probed"] = ids.size();
  (*ra->mutable_counts())["adopted"] = adopted;
  (*ra->mutable_counts())["probe_errors"] = errors;
  LogPhase(*ra);

  t0 = base::MonotonicNs();
  size_t done = 0;
  Status first;
  for (const api::JobEvent& ev : events) {
    AppendEvent(ev, [&done, &first](Result<uint64_t> r) {
      done++;
      if (!r.ok() && first.ok()) first = r.take_status();
    });
  }
  WARDEN_RETURN_IF_ERROR(loop_->RunUntil([&] { return done == events.size(); }, 1ll << 40));
  WARDEN_RETURN_IF_ERROR(first.Wrap("recovery: record what became of running jobs"));
  api::RecoveryPhase* cr = AddPhase(report, "collect results", ElapsedMicros(t0));
  (*cr->mutable_counts())["ended"] = ended;
  (*cr->mutable_counts())["lost"] = lost + errors;
  (*cr->mutable_counts())["hung"] = hung;
  LogPhase(*cr);
  return Status::Ok();
}

void CoreImpl::OrphanScan(api::RecoveryReport* report) {
  const int64_t t0 = base::MonotonicNs();
  // Job directories: the sweep below, which reads jobs/ a slice at a time
  // from the loop once the agent serves (Start), so that a state of 100,000
  // finished jobs does not hold up READY by the time one getdents pass over
  // them takes. A directory that no record owns is left by a crash between
  // retention's record and its removal, or by a repaired log; nothing that
  // runs can need it, and no job is started or re-adopted through it.
  uint64_t removed = 0, killed = 0, failed = 0;
  int dup_fd = ::fcntl(jobs_fd_.get(), F_DUPFD_CLOEXEC, 0);
  sweep_dir_ = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
  if (sweep_dir_ == nullptr) {
    if (dup_fd >= 0) ::close(dup_fd);
    WLOG_ERROR("", "orphan scan: cannot list " + state_dir_ + "/" + kJobsDir + ": " +
                       std::strerror(errno));
    failed++;
  }
  const GcReport gc = launcher_->Gc();
  for (const std::string& e : gc.errors) WLOG_WARN("", "orphan scan: gc: " + e);
  for (const std::string& r : gc.removed) WLOG_INFO("", "orphan scan: gc removed " + r);
  api::RecoveryPhase* phase = AddPhase(report, "orphan scan", ElapsedMicros(t0));
  (*phase->mutable_counts())["dirs_removed"] = removed;
  (*phase->mutable_counts())["dirs_sweep_deferred"] = sweep_dir_ != nullptr ? 1 : 0;
  (*phase->mutable_counts())["monitors_killed"] = killed;
  (*phase->mutable_counts())["errors"] = failed;
  (*phase->mutable_counts())["gc_removed"] = gc.removed.size();
  (*phase->mutable_counts())["gc_errors"] = gc.errors.size();
  LogPhase(*phase);
}

Status CoreImpl::Requeue(api::RecoveryReport* report) {
  const int64_t t0 = base::MonotonicNs();
  size_t done = 0;
  Status first;
  for (const std::string& id : requeue_ids_) {
    // Its monitor never began the launch and holds no lock: what it left
    // (spec, lock, monitor) goes, so that the next start begins afresh.
    Status st = RemoveTreeAt(jobs_fd_.get(), id);
    if (!st.ok()) WLOG_WARN(id, "requeue: " + st.ToString());
    api::JobEvent ev;
    ev.set_job_id(id);
    ev.set_state(api::QUEUED);
    ev.set_wall_ns(WallNs());
    AppendEvent(ev, [&done, &first](Result<uint64_t> r) {
      done++;
      if (!r.ok() && first.ok()) first = r.take_status();
    });
  }
  WARDEN_RETURN_IF_ERROR(loop_->RunUntil([&] { return done == requeue_ids_.size(); }, 1ll << 40));
  WARDEN_RETURN_IF_ERROR(first.Wrap("recovery: requeue jobs that never began"));
  for (const std::string& id : requeue_ids_) WLOG_INFO(id, "requeued: its start never began");
  api::RecoveryPhase* phase = AddPhase(report, "requeue", ElapsedMicros(t0));
  (*phase->mutable_counts())["requeued"] = requeue_ids_.size();
  (*phase->mutable_counts())["queued"] = queue_.size();
  LogPhase(*phase);
  requeue_ids_.clear();
  return Status::Ok();
}

bool CoreImpl::SweepStep(size_t budget) {
  if (sweep_dir_ == nullptr) return false;
  if (sweep_start_ns_ == 0) sweep_start_ns_ = base::MonotonicNs();
  std::vector<std::string> names;
  bool more = true;
  for (size_t i = 0; i < budget; i++) {
    errno = 0;
    const dirent* e = ::readdir(sweep_dir_);
    if (e == nullptr) {
      if (errno != 0) {
        WLOG_ERROR("", std::string("orphan sweep: reading the jobs directory: ") + std::strerror(errno));
        sweep_failed_++;
      }
      more = false;
      break;
    }
    sweep_entries_++;
    std::string n = e->d_name;
    if (n == "." || n == ".." || jobs_.count(n) > 0) continue;
    names.push_back(std::move(n));
  }
  const std::string jobs_dir = state_dir_ + "/" + kJobsDir;
  for (const std::string& n : names) {
    if (jobs_.count(n) > 0) continue;
    if (ValidJobId(n)) {
      // A monitor may still hold its lock (a job whose records were lost
      // with a repaired log): it dies before its directory goes.
      Result<Probe> probe = ops_.probe(state_dir_, n, config_.hung_after_ms);
      if (probe.ok() && (probe->fate == MonitorFate::kAlive || probe->fate == MonitorFate::kHung)) {
        Status st = KillMonitorAndWait(probe->pidfd.get(), n);
        if (!st.ok()) {
          WLOG_ERROR(n, "orphan sweep: " + st.ToString());
          sweep_failed_++;
          continue;
        }
        sweep_killed_++;
      }
    }
    Status st = RemoveTreeAt(jobs_fd_.get(), n);
    if (!st.ok()) {
      if (st.err() == ENOENT) continue;  // retention removed it meanwhile
      WLOG_ERROR(n, "orphan sweep: " + st.Wrap(jobs_dir).ToString());
      sweep_failed_++;
      continue;
    }
    WLOG_INFO(n, "orphan sweep: removed " + jobs_dir + "/" + n + ", which no job owns");
    sweep_removed_++;
  }
  if (!more) {
    ::closedir(sweep_dir_);
    sweep_dir_ = nullptr;
    counters_["orphan_sweep_entries"] = sweep_entries_;
    counters_["orphan_sweep_removed"] = sweep_removed_;
    counters_["orphan_sweep_monitors_killed"] = sweep_killed_;
    counters_["orphan_sweep_errors"] = sweep_failed_;
    WLOG_INFO("", "orphan sweep: " + std::to_string(sweep_entries_) + " entries of " + jobs_dir +
                      ", removed " + std::to_string(sweep_removed_) + ", monitors killed " +
                      std::to_string(sweep_killed_) + ", errors " + std::to_string(sweep_failed_) +
                      ", in " + std::to_string(ElapsedMicros(sweep_start_ns_)) + " us");
  }
  return more;
}

void CoreImpl::SweepOrphans() {
  if (!SweepStep(kSweepSlice)) return;
  std::weak_ptr<bool> alive = alive_;
  loop_->Post([this, alive] {
    if (alive.expired()) return;
    SweepOrphans();
  });
}

}  // namespace warden::agent
