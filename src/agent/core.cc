// The agent's job core (agent/core.h): the job table rebuilt from the WAL,
// recovery, the scheduler, starts and ends through monitors, hung-monitor
// checks, checkpoints and retention. Recovery is in core_recover.cc, the
// requests in core_service.cc.
//
// Every state change of a job is one WAL record (an api::JobEvent in a Blob
// of kind kJobEventKind), and the table changes only when that record is
// durable: Apply() is the one place that changes it, for replay and for live
// appends alike.
//
// Crash points (base/fault.h, docs/durability.md):
//   agent.submit.before_append    a submit is valid, its QUEUED record not appended
//   agent.submit.after_durable    the QUEUED record is durable, no reply sent
//   agent.start.after_starting    the STARTING record is durable, no monitor spawned
//   agent.start.after_spawn       the monitor runs, the RUNNING record not appended
//   agent.start.after_running     the RUNNING record is durable, the pidfd not watched
//   agent.exit.before_record      the monitor ended, its terminal record not appended
//   agent.exit.after_record       the terminal record is durable
//   agent.checkpoint.before       a checkpoint is about to be written
//   agent.checkpoint.after        the checkpoint is committed
//   agent.retention.after_record  a removal record is durable, the directory still there
//
// The log's failure (docs/agent.md): the WAL fails as a whole on any write
// or fdatasync error, and is never retried. When the failure is ENOSPC (no
// segment could be allocated) the agent stays up: submits are refused with
// NO_SPACE, while Status, List, Wait, Logs, Events and Stats keep working
// from the table; a state change that can no longer be recorded leaves the
// job in its last durable state (its monitor still runs and commits its
// result, which the next start collects). Any other failure (EIO, an fsync
// error) calls the on_fatal callback: the agent exits non-zero and the next
// start recovers from the WAL.
#include "agent/core.h"

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
#include <ctime>
#include <thread>

#include "agent/core_impl.h"
#include "agent/job_dir.h"
#include "agent/records.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/safe_open.h"

namespace warden::agent {

namespace {

const MonitorOps* g_test_ops = nullptr;

MonitorOps RealMonitorOps() {
  MonitorOps ops;
  ops.spawn = SpawnMonitor;
  ops.probe = ProbeMonitor;
  ops.read_result = ReadResult;
  ops.signal = SignalJob;
  return ops;
}

uint64_t JobNumber(const std::string& id) { return std::strtoull(id.c_str() + 1, nullptr, 16); }

}  // namespace

void SetMonitorOpsForTest(const MonitorOps* ops) { g_test_ops = ops; }

uint64_t WallNs() { return static_cast<uint64_t>(base::ClockNs(CLOCK_REALTIME)); }

void FitResultToRecord(api::JobEvent* ev, const AgentConfig& config) {
  // The margin is the submit's (HandleSubmit): the record's own framing.
  if (ev->ByteSizeLong() + 16 > WalMaxRecordBytes(config)) ev->clear_result_json();
}

Status RepairState(const std::string& state_dir, std::string* report) {
  return wal::Repair(io::PosixEnv(), state_dir + "/" + kWalDir, wal::WalOptions{}, report);
}

Result<std::unique_ptr<Core>> Core::Recover(io::Loop* loop, io::Env* env,
                                            const CoreOptions& options,
                                            api::RecoveryReport* report) {
  auto core = std::make_unique<CoreImpl>(loop, env, options);
  WARDEN_RETURN_IF_ERROR(core->Recover(report));
  return std::unique_ptr<Core>(std::move(core));
}

Core::~Core() = default;

CoreImpl::CoreImpl(io::Loop* loop, io::Env* env, const CoreOptions& options)
    : loop_(loop), env_(env), options_(options), config_(options_.config),
      state_dir_(options_.config.state_dir),
      ops_(g_test_ops != nullptr ? *g_test_ops : RealMonitorOps()) {
  // What every monitor is given besides its job: the [launcher] settings.
  monitor_base_.set_launcher_state_dir(config_.launcher_state_dir);
  monitor_base_.set_cache_dir(config_.cache_dir);
  monitor_base_.set_policy_dir(config_.policy_dir);
  monitor_base_.set_cgroup_parent(config_.cgroup_parent);
  monitor_base_.set_net_pool(config_.net_pool);
  monitor_base_.set_uid_range(config_.uid_range);
  monitor_base_.set_cgroup_disable(config_.cgroup_disable);
  monitor_base_.set_net_state_dir(config_.net_state_dir);
  monitor_base_.set_uid_state_dir(config_.uid_state_dir);
  monitor_base_.set_heartbeat_ms(config_.heartbeat_ms);
  monitor_base_.set_may_change_sysctls(config_.may_change_sysctls);
  max_running_ = config_.max_running;
  if (max_running_ == 0) {
    max_running_ = std::max(2u, 2 * std::thread::hardware_concurrency());
  }
}

CoreImpl::~CoreImpl() {
  alive_.reset();
  if (sweep_dir_ != nullptr) ::closedir(sweep_dir_);
  if (hung_timer_ != 0) loop_->CancelTimer(hung_timer_);
  if (retention_timer_ != 0) loop_->CancelTimer(retention_timer_);
  for (auto& [id, job] : jobs_) {
    if (job->watch != 0) loop_->CancelWatch(job->watch);
  }
  wal_.reset();
}

// ---- the table ----

Job* CoreImpl::Find(const std::string& id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

void CoreImpl::QueueInsert(Job* job) {
  if (queue_.insert({-static_cast<int64_t>(job->e.spec().priority()), job->number}).second) {
    queued_per_uid_[job->e.owner_uid()]++;
  }
}

void CoreImpl::QueueErase(Job* job) {
  if (queue_.erase({-static_cast<int64_t>(job->e.spec().priority()), job->number}) > 0) {
    auto it = queued_per_uid_.find(job->e.owner_uid());
    if (it != queued_per_uid_.end() && --it->second == 0) queued_per_uid_.erase(it);
  }
}

void CoreImpl::ActiveInsert(Job* job) {
  if (active_.insert(job->e.job_id()).second) {
    active_memory_ += job->e.spec().admit_memory_bytes();
    active_pids_ += job->e.spec().admit_pids();
  }
}

void CoreImpl::ActiveErase(Job* job) {
  if (active_.erase(job->e.job_id()) > 0) {
    active_memory_ -= std::min(active_memory_, job->e.spec().admit_memory_bytes());
    active_pids_ -= std::min(active_pids_, job->e.spec().admit_pids());
  }
}

Status CoreImpl::Apply(const api::JobEvent& ev) {
  const std::string& id = ev.job_id();
  if (!ValidJobId(id)) {
    return Status::Error(Code::kCorruption, "job record with an invalid job id");
  }
  const uint64_t number = JobNumber(id);
  next_number_ = std::max(next_number_, number + 1);
  auto it = jobs_.find(id);
  if (ev.removed()) {
    if (it == jobs_.end()) return Status::Ok();
    Job* job = it->second.get();
    QueueErase(job);
    ActiveErase(job);
    if (!job->e.idempotency_key().empty()) {
      auto key = std::make_pair(job->e.owner_uid(), job->e.idempotency_key());
      auto k = idempotency_.find(key);
      if (k != idempotency_.end() && k->second == id) idempotency_.erase(k);
    }
    if (job->watch != 0) loop_->CancelWatch(job->watch);
    jobs_.erase(it);
    return Status::Ok();
  }
  if (ev.state() == api::QUEUED) {
    if (it == jobs_.end()) {
      auto job = std::make_unique<Job>();
      job->number = number;
      api::JobEntry& e = job->e;
      e.set_job_id(id);
      e.set_state(api::QUEUED);
      *e.mutable_spec() = ev.spec();
      e.set_owner_uid(ev.spec().owner_uid());
      *e.mutable_labels() = ev.spec().labels();
      *e.mutable_argv() = ev.spec().argv();
      e.set_submit_wall_ns(ev.spec().submit_wall_ns());
      e.set_idempotency_key(ev.spec().idempotency_key());
      if (!e.idempotency_key().empty()) {
        idempotency_[{e.owner_uid(), e.idempotency_key()}] = id;
      }
      Job* p = job.get();
      jobs_.emplace(id, std::move(job));
      QueueInsert(p);
      return Status::Ok();
    }
    // Back to the queue: its start never began.
    Job* job = it->second.get();
    if (IsTerminal(job->e.state())) {
      return Status::Error(Code::kCorruption, "job " + id + " requeued after it ended");
    }
    ActiveErase(job);
    job->e.set_state(api::QUEUED);
    job->e.set_start_wall_ns(0);
    job->e.set_monitor_pid(0);
    job->e.set_monitor_start_ticks(0);
    QueueInsert(job);
    return Status::Ok();
  }
  if (it == jobs_.end()) {
    return Status::Error(Code::kCorruption, "record for job " + id + ", which was never queued");
  }
  Job* job = it->second.get();
  if (IsTerminal(job->e.state())) {
    return Status::Error(Code::kCorruption, "record for job " + id + ", which already ended");
  }
  switch (ev.state()) {
    case api::STARTING:
      QueueErase(job);
      ActiveInsert(job);
      job->e.set_state(api::STARTING);
      job->e.set_start_wall_ns(ev.wall_ns());
      break;
    case api::RUNNING:
      QueueErase(job);
      ActiveInsert(job);
      job->e.set_state(api::RUNNING);
      job->e.set_monitor_pid(ev.monitor_pid());
      job->e.set_monitor_start_ticks(ev.monitor_start_ticks());
      break;
    default:
      if (!IsTerminal(ev.state()) || !api::State_IsValid(ev.state())) {
        return Status::Error(Code::kCorruption,
                             "record for job " + id + " with state " + std::to_string(ev.state()));
      }
      QueueErase(job);
      ActiveErase(job);
      job->e.set_state(ev.state());
      job->e.set_end_wall_ns(ev.wall_ns());
      job->e.set_result_json(ev.result_json());
      job->e.set_exit_code(ev.exit_code());
      job->e.set_reason(ev.reason());
      // A finished job keeps only what Status shows.
      job->e.clear_spec();
      break;
  }
  return Status::Ok();
}

Status CoreImpl::ApplySnapshot(const std::string& snapshot) {
  api::Checkpoint cp;
  if (!cp.ParseFromString(snapshot)) {
    return Status::Error(Code::kCorruption, "the agent's checkpoint does not parse");
  }
  next_number_ = std::max(next_number_, cp.next_job_number());
  // The entries are taken out of the message, not copied.
  const int n = cp.jobs_size();
  std::vector<api::JobEntry*> raw(static_cast<size_t>(n));
  cp.mutable_jobs()->ExtractSubrange(0, n, raw.data());
  std::vector<std::unique_ptr<api::JobEntry>> entries(raw.begin(), raw.end());
  for (std::unique_ptr<api::JobEntry>& entry : entries) {
    if (!ValidJobId(entry->job_id()) || !api::State_IsValid(entry->state()) ||
        entry->state() == api::STATE_UNSPECIFIED) {
      return Status::Error(Code::kCorruption, "a job of the agent's checkpoint is invalid");
    }
    const uint64_t number = JobNumber(entry->job_id());
    auto job = std::make_unique<Job>(std::move(entry));
    job->number = number;
    next_number_ = std::max(next_number_, number + 1);
    Job* p = job.get();
    // Written in id order: the hint makes each insertion O(1).
    auto it = jobs_.emplace_hint(jobs_.end(), p->e.job_id(), std::move(job));
    if (it->second.get() != p) {
      return Status::Error(Code::kCorruption, "job " + p->e.job_id() + " twice in the checkpoint");
    }
    if (p->e.state() == api::QUEUED) {
      QueueInsert(p);
    } else if (!IsTerminal(p->e.state())) {
      ActiveInsert(p);
    }
    if (!p->e.idempotency_key().empty()) {
      idempotency_[{p->e.owner_uid(), p->e.idempotency_key()}] = p->e.job_id();
    }
  }
  return Status::Ok();
}

Result<base::UniqueFd> CoreImpl::OpenJobDir(const std::string& id) const {
  return base::OpenDirNoFollowAt(jobs_fd_.get(), state_dir_ + "/" + kJobsDir, id);
}

// Bytes of a finished job's output and result (for size-based retention).
uint64_t CoreImpl::JobDirBytes(const std::string& id) const {
  Result<base::UniqueFd> dir = OpenJobDir(id);
  if (!dir.ok()) return 0;
  uint64_t total = 0;
  for (const char* name : {kStdoutFile, kStderrFile, kResultFile, kSpecFile}) {
    struct stat st {};
    if (::fstatat(dir->get(), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_size);
    }
  }
  return total;
}

std::string CoreImpl::ResultJsonOf(const Job& job) const {
  if (!job.e.result_json().empty() || !IsTerminal(job.e.state())) return job.e.result_json();
  // Checkpoints leave finished jobs' results in their result files.
  Result<base::UniqueFd> dir = OpenJobDir(job.e.job_id());
  if (!dir.ok()) return "";
  base::UniqueFd fd(::openat(dir->get(), kResultFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > kMaxResultBytes) {
    return "";
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd.get(), out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

api::JobInfo CoreImpl::Info(const Job& job, bool with_result) const {
  api::JobInfo info;
  const api::JobEntry& e = job.e;
  info.set_job_id(e.job_id());
  info.set_state(e.state());
  info.set_owner_uid(e.owner_uid());
  *info.mutable_labels() = e.labels();
  *info.mutable_argv() = e.argv();
  info.set_submit_wall_ns(e.submit_wall_ns());
  info.set_start_wall_ns(e.start_wall_ns());
  info.set_end_wall_ns(e.end_wall_ns());
  if (with_result) info.set_result_json(ResultJsonOf(job));
  info.set_reason(e.reason());
  info.set_exit_code(e.exit_code());
  info.set_idempotency_key(e.idempotency_key());
  return info;
}

Status CoreImpl::ReplayForFuzz(const std::string* snapshot,
                               const std::vector<std::string>& records) {
  if (snapshot != nullptr) WARDEN_RETURN_IF_ERROR(ApplySnapshot(*snapshot));
  for (const std::string& r : records) {
    api::JobEvent ev;
    if (!ev.ParseFromString(r)) return Status::Error(Code::kCorruption, "record does not parse");
    WARDEN_RETURN_IF_ERROR(Apply(ev));
  }
  size_t queued = 0, active = 0;
  for (const auto& [id, job] : jobs_) {
    WARDEN_CHECK(id == job->e.job_id() && ValidJobId(id));
    WARDEN_CHECK(job->number < next_number_);
    if (job->e.state() == api::QUEUED) queued++;
    if (job->e.state() == api::STARTING || job->e.state() == api::RUNNING) active++;
  }
  WARDEN_CHECK(queue_.size() == queued);
  WARDEN_CHECK(active_.size() == active);
  CoreImpl copy(nullptr, nullptr, options_);
  const std::string cp = SerializeCheckpoint();
  WARDEN_CHECK(copy.ApplySnapshot(cp).ok());
  WARDEN_CHECK(copy.jobs_.size() == jobs_.size());
  WARDEN_CHECK(copy.queue_ == queue_ && copy.active_ == active_);
  WARDEN_CHECK(copy.next_number_ == next_number_);
  return Status::Ok();
}

// ---- appends ----

bool CoreImpl::log_no_space() const {
  return wal_ != nullptr && !wal_->health().ok() && wal_->health().err() == ENOSPC;
}

void CoreImpl::OnLogFailure() {
  if (wal_ == nullptr || wal_->health().ok()) return;  // a refusal (queue full), not a failure
  if (log_no_space()) return;
  if (fatal_reported_) return;
  fatal_reported_ = true;
  counters_["log_failures"]++;
  WLOG_ERROR("", "the agent's log failed; no more acknowledgements: " + wal_->health().ToString());
  if (on_fatal_) {
    std::weak_ptr<bool> alive = alive_;
    loop_->Post([this, alive] {
      if (alive.expired()) return;
      on_fatal_(wal_->health());
    });
  }
}

void CoreImpl::AppendEvent(const api::JobEvent& ev, std::function<void(Result<uint64_t>)> cb) {
  wal::Payload payload;
  payload.mutable_blob()->set_kind(kJobEventKind);
  payload.mutable_blob()->set_data(ev.SerializeAsString());
  records_in_flight_++;
  std::weak_ptr<bool> alive = alive_;
  wal_->Append(payload, [this, alive, ev, cb = std::move(cb)](Result<uint64_t> seq) {
    if (alive.expired()) return;
    records_in_flight_--;
    if (!seq.ok()) {
      counters_["records_failed"]++;
      OnLogFailure();
      cb(std::move(seq));
      MaybeFinishShutdown();
      return;
    }
    // Our own record: a failure to apply it is a bug, and a crash is
    // better than a table that differs from the log.
    Status st = Apply(ev);
    if (!st.ok()) WLOG_ERROR(ev.job_id(), st.ToString());
    WARDEN_CHECK(st.ok());
    records_since_checkpoint_++;
    counters_["records"]++;
    if (Job* job = Find(ev.job_id())) Announce(*job);
    cb(std::move(seq));
    AfterRecord();
  });
}

void CoreImpl::Announce(const Job& job) {
  api::Event event;
  event.set_job_id(job.e.job_id());
  event.set_state(job.e.state());
  event.set_wall_ns(WallNs());
  event.set_owner_uid(job.e.owner_uid());
  // A copy: Send may close a stream, whose on_close edits subscribers_.
  const std::vector<EventSubscriber> subscribers = subscribers_;
  std::vector<std::shared_ptr<Stream>> gone;
  for (const EventSubscriber& s : subscribers) {
    if (!s.root && s.uid != job.e.owner_uid()) continue;
    api::Reply reply;
    *reply.mutable_event() = event;
    if (s.stream->closed() || !s.stream->Send(std::move(reply))) gone.push_back(s.stream);
  }
  if (!gone.empty()) {
    std::erase_if(subscribers_, [&](const EventSubscriber& s) {
      return std::find(gone.begin(), gone.end(), s.stream) != gone.end();
    });
  }
  if (!IsTerminal(job.e.state())) return;
  Job* j = Find(job.e.job_id());
  if (j == nullptr) return;
  std::vector<std::shared_ptr<Stream>> waiters = std::move(j->waiters);
  j->waiters.clear();
  for (auto& w : waiters) {
    if (w->closed()) continue;
    api::Reply reply;
    *reply.mutable_wait()->mutable_job() = Info(*j);
    w->Finish(std::move(reply));
  }
  std::vector<EndHook> hooks = std::move(j->end_hooks);
  j->end_hooks.clear();
  for (auto& h : hooks) {
    if (!h.owner.expired()) h.run();
  }
}

void CoreImpl::AfterRecord() {
  MaybeCheckpoint(false, nullptr);
  MaybeFinishShutdown();
}

// ---- scheduling ----

void CoreImpl::Start() {
  if (started_) return;
  started_ = true;
  ArmHungTimer();
  ArmRetentionTimer();
  RunRetention();
  Schedule();
  // The sweep's first slice on the loop's next turn, after READY.
  std::weak_ptr<bool> alive = alive_;
  loop_->Post([this, alive] {
    if (alive.expired()) return;
    SweepOrphans();
  });
}

void CoreImpl::ArmHungTimer() {
  std::weak_ptr<bool> alive = alive_;
  hung_timer_ = loop_->AddTimer(std::max<uint64_t>(config_.heartbeat_ms, 10), [this, alive] {
    if (alive.expired()) return;
    hung_timer_ = 0;
    CheckHung();
    if (!shutting_down_) ArmHungTimer();
  });
}

void CoreImpl::ArmRetentionTimer() {
  std::weak_ptr<bool> alive = alive_;
  retention_timer_ = loop_->AddTimer(3600ull * 1000, [this, alive] {
    if (alive.expired()) return;
    retention_timer_ = 0;
    RunRetention();
    if (!shutting_down_) ArmRetentionTimer();
  });
}

bool CoreImpl::Fits(const Job& job) const {
  if (config_.memory_budget_bytes > 0 &&
      active_memory_ + job.e.spec().admit_memory_bytes() > config_.memory_budget_bytes) {
    return false;
  }
  if (config_.pids_budget > 0 && active_pids_ + job.e.spec().admit_pids() > config_.pids_budget) {
    return false;
  }
  return true;
}

void CoreImpl::Schedule() {
  if (!started_ || config_.hold || shutting_down_ || !wal_->health().ok()) return;
  while (!queue_.empty() && active_.size() < max_running_) {
    Job* job = Find(MakeJobId(queue_.begin()->second));
    WARDEN_CHECK(job != nullptr);
    // Strict order: the head waits for room rather than being overtaken.
    if (!Fits(*job)) break;
    StartJob(job);
  }
}

void CoreImpl::StartJob(Job* job) {
  const std::string id = job->e.job_id();
  QueueErase(job);
  ActiveInsert(job);
  job->record_in_flight = true;
  api::JobEvent ev;
  ev.set_job_id(id);
  ev.set_state(api::STARTING);
  ev.set_wall_ns(WallNs());
  AppendEvent(ev, [this, id](Result<uint64_t> r) {
    Job* j = Find(id);
    if (j == nullptr) return;
    j->record_in_flight = false;
    if (!r.ok()) {
      // Not durable: still queued (the log failed; nothing starts now).
      ActiveErase(j);
      QueueInsert(j);
      return;
    }
    WARDEN_CRASH_POINT("agent.start.after_starting");
    SpawnFor(id);
  });
}

void CoreImpl::SpawnFor(const std::string& id) {
  Job* job = Find(id);
  SpawnRequest req;
  req.state_dir = state_dir_;
  req.warden_binary_fd = options_.warden_binary_fd;
  api::MonitorInput& in = req.input;
  in = monitor_base_;
  in.set_job_id(id);
  *in.mutable_spec() = job->e.spec();
  Result<SpawnedMonitor> spawned = ops_.spawn(req);
  if (!spawned.ok()) {
    // A setup error, recorded once: never retried in a loop.
    counters_["spawn_failures"]++;
    WLOG_ERROR(id, "spawn of its monitor failed: " + spawned.status().ToString());
    EndJob(id, api::SETUP_ERROR, 125, "",
           "the job's monitor could not be started: " + spawned.status().ToString());
    return;
  }
  WARDEN_CRASH_POINT("agent.start.after_spawn");
  job->pidfd = std::move(spawned->pidfd);
  api::JobEvent ev;
  ev.set_job_id(id);
  ev.set_state(api::RUNNING);
  ev.set_wall_ns(WallNs());
  ev.set_monitor_pid(spawned->identity.pid);
  ev.set_monitor_start_ticks(spawned->identity.start_ticks);
  job->record_in_flight = true;
  counters_["started"]++;
  AppendEvent(ev, [this, id](Result<uint64_t> r) {
    Job* j = Find(id);
    if (j == nullptr) return;
    j->record_in_flight = false;
    // Without a durable RUNNING record the monitor still runs; the next
    // start finds it (re-adopt) or its result.
    if (!r.ok()) return;
    WARDEN_CRASH_POINT("agent.start.after_running");
    WatchMonitor(j);
    if (j->pending_signal != 0) {
      Status st = ops_.signal(j->pidfd.get(), j->pending_signal);
      if (!st.ok()) WLOG_WARN(id, "kill: " + st.ToString());
      j->pending_signal = 0;
    }
  });
}

void CoreImpl::WatchMonitor(Job* job) {
  if (!job->pidfd || job->watch != 0) return;
  std::weak_ptr<bool> alive = alive_;
  const std::string id = job->e.job_id();
  job->watch = loop_->Watch(job->pidfd.get(), POLLIN, [this, alive, id] {
    if (alive.expired()) return;
    if (Job* j = Find(id)) j->watch = 0;
    OnMonitorExited(id);
  });
}

void CoreImpl::OnMonitorExited(const std::string& id) {
  Job* job = Find(id);
  if (job == nullptr || IsTerminal(job->e.state()) || job->record_in_flight) return;
  Result<Probe> result = ops_.read_result(state_dir_, id);
  if (result.ok()) {
    EndJob(id, result->state, result->exit_code, std::move(result->result_json), "");
    return;
  }
  Result<Probe> probe = ops_.probe(state_dir_, id, config_.hung_after_ms);
  if (probe.ok() && probe->fate == MonitorFate::kEnded) {
    EndJob(id, probe->state, probe->exit_code, std::move(probe->result_json), "");
  } else if (probe.ok() && (probe->fate == MonitorFate::kNeverBegan ||
                            probe->fate == MonitorFate::kNoDir)) {
    EndJob(id, api::SETUP_ERROR, 125, "",
           "the job's monitor exited before the launch began: " + result.status().ToString());
  } else if (probe.ok() && probe->fate == MonitorFate::kLost && !probe->reason.empty()) {
    EndJob(id, api::LOST, -1, "", probe->reason);
    CollectLeftovers(id);
  } else {
    EndJob(id, api::LOST, -1, "",
           "the job's monitor exited without a result: " + result.status().ToString());
    CollectLeftovers(id);
  }
}

// A monitor that died without its result could not remove what its
// sandbox had (cgroups, a veth link, address and uid leases): warden's gc
// takes what no living process owns. The sandbox dies with its monitor,
// but not at the same instant: gc runs now, and again 1 s and 5 s later
// for what was still dying.
void CoreImpl::CollectLeftovers(const std::string& id, int round) {
  const GcReport gc = launcher_->Gc();
  for (const std::string& e : gc.errors) WLOG_WARN(id, "gc after a lost job: " + e);
  for (const std::string& r : gc.removed) WLOG_INFO(id, "gc after a lost job: removed " + r);
  if (round >= 2) return;
  std::weak_ptr<bool> alive = alive_;
  loop_->AddTimer(round == 0 ? 1000 : 4000, [this, alive, id, round] {
    if (alive.expired()) return;
    CollectLeftovers(id, round + 1);
  });
}

void CoreImpl::EndJob(const std::string& id, api::State state, int exit_code,
                      std::string result_json, std::string reason) {
  Job* job = Find(id);
  if (job == nullptr || IsTerminal(job->e.state())) return;
  WARDEN_CRASH_POINT("agent.exit.before_record");
  job->record_in_flight = true;
  api::JobEvent ev;
  ev.set_job_id(id);
  ev.set_state(state);
  ev.set_wall_ns(WallNs());
  ev.set_exit_code(exit_code);
  ev.set_result_json(std::move(result_json));
  ev.set_reason(std::move(reason));
  FitResultToRecord(&ev, config_);
  AppendEvent(ev, [this, id](Result<uint64_t> r) {
    Job* j = Find(id);
    if (j == nullptr) return;
    j->record_in_flight = false;
    if (!r.ok()) return;
    WARDEN_CRASH_POINT("agent.exit.after_record");
    counters_["ended"]++;
    if (j->watch != 0) loop_->CancelWatch(j->watch);
    j->watch = 0;
    j->pidfd.reset();
    j->e.set_dir_bytes(JobDirBytes(id));
    Schedule();
  });
}

void CoreImpl::CheckHung() {
  std::vector<std::string> ids(active_.begin(), active_.end());
  for (const std::string& id : ids) {
    Job* job = Find(id);
    if (job == nullptr || job->e.state() != api::RUNNING || !job->pidfd || job->record_in_flight) {
      continue;
    }
    Result<Probe> probe = ops_.probe(state_dir_, id, config_.hung_after_ms);
    if (!probe.ok() || probe->fate != MonitorFate::kHung) continue;
    counters_["hung"]++;
    if (job->watch != 0) loop_->CancelWatch(job->watch);
    job->watch = 0;
    Status st = KillMonitorAndWait(job->pidfd.get(), id);
    if (!st.ok()) WLOG_ERROR(id, st.ToString());
    EndJob(id, api::LOST, -1, "",
           "monitor hung: no heartbeat for " + std::to_string(config_.hung_after_ms) + " ms");
    if (st.ok()) CollectLeftovers(id);
  }
}

// ---- checkpoints, retention, shutdown ----

namespace {

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::string CoreImpl::SerializeCheckpoint() {
  // An api::Checkpoint, written entry by entry without copying the table:
  // field 1 (jobs, length-delimited) for each job, then field 2
  // (next_job_number, varint).
  std::string out;
  std::string entry;
  for (const auto& [id, job] : jobs_) {
    api::JobEntry& e = job->e;
    // Kept small, in the checkpoint and in memory from now on: a finished
    // job's result stays in its result file (ResultJsonOf reads it).
    if (IsTerminal(e.state())) e.clear_result_json();
    entry.clear();
    e.AppendToString(&entry);
    out.push_back(static_cast<char>((1 << 3) | 2));
    AppendVarint(entry.size(), &out);
    out += entry;
  }
  out.push_back(static_cast<char>(2 << 3));
  AppendVarint(next_number_, &out);
  return out;
}

void CoreImpl::MaybeCheckpoint(bool force, std::function<void()> done) {
  auto finish = [&done] {
    if (done) done();
  };
  if (checkpoint_in_flight_ || wal_ == nullptr || !wal_->health().ok()) return finish();
  if (records_since_checkpoint_ == 0) return finish();
  if (!force && records_since_checkpoint_ < std::max<uint64_t>(1, config_.checkpoint_every_records)) {
    return finish();
  }
  checkpoint_in_flight_ = true;
  std::weak_ptr<bool> alive = alive_;
  // On the next tick: every record acknowledged by then has been applied
  // (acknowledgements of one batch run together), so the snapshot covers
  // exactly last_acked_seq().
  loop_->Post([this, alive, done = std::move(done)]() mutable {
    if (alive.expired()) return;
    WARDEN_CRASH_POINT("agent.checkpoint.before");
    const uint64_t covered = wal_->last_acked_seq();
    const uint64_t since = records_since_checkpoint_;
    records_since_checkpoint_ = 0;
    wal_->Checkpoint(SerializeCheckpoint(), covered,
                     [this, alive, covered, since, done = std::move(done)](Status st) {
                       if (alive.expired()) return;
                       checkpoint_in_flight_ = false;
                       if (!st.ok()) {
                         records_since_checkpoint_ += since;
                         counters_["checkpoint_failures"]++;
                         WLOG_ERROR("", "checkpoint at record " + std::to_string(covered) +
                                            " failed: " + st.ToString());
                       } else {
                         WARDEN_CRASH_POINT("agent.checkpoint.after");
                         counters_["checkpoints"]++;
                       }
                       if (done) done();
                     });
  });
}

void CoreImpl::RunRetention() {
  if (retention_in_flight_ || wal_ == nullptr || !wal_->health().ok()) return;
  const uint64_t now = WallNs();
  std::vector<std::pair<uint64_t, Job*>> finished;
  for (auto& [id, job] : jobs_) {
    if (IsTerminal(job->e.state()) && !job->record_in_flight) {
      finished.emplace_back(job->e.end_wall_ns(), job.get());
    }
  }
  const uint64_t max_age_ns = config_.retention_ms > UINT64_MAX / 1'000'000ull
                                  ? UINT64_MAX
                                  : config_.retention_ms * 1'000'000ull;
  auto expired = [&](const std::pair<uint64_t, Job*>& f) {
    return f.first < now && now - f.first > max_age_ns;
  };
  if (config_.retention_max_jobs == 0 && config_.retention_max_bytes == 0) {
    // Age alone: no order needed, and usually nothing to do.
    finished.erase(std::remove_if(finished.begin(), finished.end(),
                                  [&](const auto& f) { return !expired(f); }),
                   finished.end());
  }
  std::sort(finished.begin(), finished.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t drop = 0;
  while (drop < finished.size() && expired(finished[drop])) drop++;
  if (config_.retention_max_jobs > 0 && finished.size() - drop > config_.retention_max_jobs) {
    drop = finished.size() - config_.retention_max_jobs;
  }
  if (config_.retention_max_bytes > 0) {
    uint64_t total = 0;
    for (size_t i = drop; i < finished.size(); i++) {
      Job* job = finished[i].second;
      if (job->e.dir_bytes() == 0) job->e.set_dir_bytes(JobDirBytes(job->e.job_id()));
      total += job->e.dir_bytes();
    }
    while (drop < finished.size() && total > config_.retention_max_bytes) {
      total -= finished[drop].second->e.dir_bytes();
      drop++;
    }
  }
  // At most this many removals at a time: the log's queue is bounded.
  constexpr size_t kBatch = 1000;
  const bool more = drop > kBatch;
  drop = std::min(drop, kBatch);
  if (drop == 0) return;
  retention_in_flight_ = true;
  auto pending = std::make_shared<size_t>(drop);
  std::weak_ptr<bool> alive = alive_;
  for (size_t i = 0; i < drop; i++) {
    Job* job = finished[i].second;
    api::JobEvent ev;
    ev.set_job_id(job->e.job_id());
    ev.set_state(job->e.state());
    ev.set_wall_ns(now);
    ev.set_removed(true);
    const std::string id = job->e.job_id();
    AppendEvent(ev, [this, alive, id, pending, more](Result<uint64_t> r) {
      if (r.ok()) {
        WARDEN_CRASH_POINT("agent.retention.after_record");
        counters_["removed"]++;
        Status st = RemoveTreeAt(jobs_fd_.get(), id);
        if (!st.ok()) WLOG_WARN(id, "retention: " + st.ToString());
      }
      if (--*pending == 0) {
        retention_in_flight_ = false;
        if (more && r.ok()) {
          loop_->Post([this, alive] {
            if (!alive.expired()) RunRetention();
          });
        }
      }
    });
  }
}

void CoreImpl::Shutdown(std::function<void()> done) {
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  if (hung_timer_ != 0) loop_->CancelTimer(hung_timer_);
  if (retention_timer_ != 0) loop_->CancelTimer(retention_timer_);
  hung_timer_ = retention_timer_ = 0;
  MaybeFinishShutdown();
}

void CoreImpl::MaybeFinishShutdown() {
  if (!shutting_down_ || !shutdown_done_ || submits_in_flight_ > 0 || records_in_flight_ > 0) {
    return;
  }
  std::function<void()> done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  // A clean stop leaves a checkpoint, so the next start replays nothing.
  std::weak_ptr<bool> alive = alive_;
  loop_->Post([this, alive, done = std::move(done)]() mutable {
    if (alive.expired()) return;
    MaybeCheckpoint(true, std::move(done));
  });
}

}  // namespace warden::agent
