// The job core's implementation, shared by core.cc (the table, the WAL,
// recovery, the scheduler, the monitors, checkpoints, retention) and
// core_service.cc (the requests of Service::Handle).
//
// Threading: everything runs on the agent's loop thread.
#ifndef WARDEN_AGENT_CORE_IMPL_H_
#define WARDEN_AGENT_CORE_IMPL_H_

#include <dirent.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/api.pb.h"
#include "agent/core.h"
#include "agent/core_hooks.h"
#include "agent/monitor.h"
#include "base/fd.h"
#include "io/env.h"
#include "io/loop.h"
#include "wal/wal.h"
#include "warden/launcher.h"

namespace warden::agent {

// Bounds on what a client may submit.
inline constexpr size_t kMaxArgvItems = 4096;
inline constexpr size_t kMaxStringBytes = 64 * 1024;
inline constexpr size_t kMaxEnvItems = 4096;
inline constexpr size_t kMaxLabels = 64;
inline constexpr size_t kMaxLabelBytes = 256;
inline constexpr size_t kMaxIdempotencyKeyBytes = 256;
inline constexpr size_t kMaxBinds = 256;
inline constexpr size_t kMaxAllow = 4096;
// Logs: bytes per reply, and how often a follower at EOF looks again.
inline constexpr size_t kLogChunkBytes = 64 * 1024;
inline constexpr uint64_t kLogPollMs = 100;
// A List reply stops after the job that takes it past this many bytes.
inline constexpr size_t kMaxListReplyBytes = 512 * 1024;
// A result file bigger than this is not shown.
inline constexpr size_t kMaxResultBytes = 1 << 20;

inline bool IsTerminal(api::State s) { return s >= api::EXITED; }
uint64_t WallNs();
// Microseconds of CLOCK_MONOTONIC since since_ns.
uint64_t ElapsedMicros(int64_t since_ns);
// Leaves the result JSON out of a terminal record that would not fit one
// log record with it (a refused record would leave the job running in the
// table, and fail the next start's recovery): the job's result file keeps
// it (CoreImpl::ResultJsonOf).
void FitResultToRecord(api::JobEvent* ev, const AgentConfig& config);
// Removes `name` in `parent_fd` and everything below it without following a
// symlink (core_recover.cc).
Status RemoveTreeAt(int parent_fd, const std::string& name, int depth = 0);

// What admission needs of a policy (CoreImpl::PolicyLimits).
struct AdmitLimits {
  std::string stamp;  // the files' identity and times when it was loaded
  uint64_t memory_bytes = 0;  // 0: none
  uint64_t pids = 0;          // 0: none
  double cpus = 0;            // 0: none
  uint64_t wall_time_ms = 0;  // 0: none
  uint64_t tmp_size_bytes = 0;
};

// What runs when a job ends (a log follower's wake-up), kept while its
// owner lives: a follower that went away leaves nothing behind.
struct EndHook {
  std::weak_ptr<void> owner;
  std::function<void()> run;
};

struct Job {
  // Takes a checkpoint's entry as it is (no copy: recovery of 100,000 jobs
  // allocates once per job).
  explicit Job(std::unique_ptr<api::JobEntry> entry) : owned(std::move(entry)), e(*owned) {}
  Job() : Job(std::make_unique<api::JobEntry>()) {}
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  std::unique_ptr<api::JobEntry> owned;
  api::JobEntry& e;     // what Status shows; e.spec() only while not finished
  uint64_t number = 0;  // from the id; FIFO order
  base::UniqueFd pidfd; // the monitor's, while it runs (or was re-adopted)
  io::WatchId watch = 0;
  bool record_in_flight = false;  // a start, end or cancel record is being appended
  int pending_signal = 0;         // a Kill that came while STARTING
  std::vector<std::shared_ptr<Stream>> waiters;
  std::vector<EndHook> end_hooks;  // log followers
};

struct EventSubscriber {
  std::shared_ptr<Stream> stream;
  bool root = false;
  uid_t uid = 0;
};

class CoreImpl : public Core {
 public:
  CoreImpl(io::Loop* loop, io::Env* env, const CoreOptions& options);
  ~CoreImpl() override;

  Status Recover(api::RecoveryReport* report);

  // Core
  void SetRecoveryReport(const api::RecoveryReport& report) override { report_ = report; }
  void Start() override;
  void FinishOrphanSweep() override {
    while (SweepStep(kSweepSlice)) {
    }
  }
  void Shutdown(std::function<void()> done) override;
  void SetOnFatal(std::function<void(const Status&)> cb) override { on_fatal_ = std::move(cb); }
  // Service (core_service.cc)
  void Handle(const api::Request& request, std::vector<base::UniqueFd> fds,
              std::shared_ptr<Stream> stream) override;
  std::string Unavailable() const override;

  // Fuzzing and tests: applies a checkpoint snapshot (when not null) and
  // job records as recovery would, without a log; checks the table's
  // invariants and that a checkpoint of it reads back the same.
  Status ReplayForFuzz(const std::string* snapshot, const std::vector<std::string>& records);

 private:
  // ---- the table (core.cc) ----
  // Applies one durable record; the same code for replay and live appends.
  Status Apply(const api::JobEvent& ev);
  Status ApplySnapshot(const std::string& snapshot);
  Job* Find(const std::string& id);
  void QueueInsert(Job* job);
  void QueueErase(Job* job);
  void ActiveInsert(Job* job);
  void ActiveErase(Job* job);
  api::JobInfo Info(const Job& job, bool with_result = true) const;
  std::string ResultJsonOf(const Job& job) const;
  // STATE/jobs/ID, opened below jobs_fd_ without following a link.
  Result<base::UniqueFd> OpenJobDir(const std::string& id) const;
  uint64_t JobDirBytes(const std::string& id) const;

  // Appends `ev` and runs cb with the outcome; on success the event was
  // applied (and announced) first. Failures of the log go to OnLogFailure.
  void AppendEvent(const api::JobEvent& ev, std::function<void(Result<uint64_t>)> cb);
  void OnLogFailure();
  bool log_no_space() const;
  void Announce(const Job& job);
  void AfterRecord();

  // ---- scheduling, starts and ends ----
  void Schedule();
  bool Fits(const Job& job) const;
  void StartJob(Job* job);
  void SpawnFor(const std::string& id);
  void WatchMonitor(Job* job);
  void OnMonitorExited(const std::string& id);
  void EndJob(const std::string& id, api::State state, int exit_code, std::string result_json,
              std::string reason);
  void CheckHung();
  void CollectLeftovers(const std::string& id, int round = 0);
  void ArmHungTimer();
  void ArmRetentionTimer();
  Status KillMonitorAndWait(int pidfd, const std::string& id);

  // ---- recovery phases ----
  Status OpenWal(api::RecoveryReport* report);
  Status ReadoptAndCollect(api::RecoveryReport* report);
  void OrphanScan(api::RecoveryReport* report);
  // The job directories' part of the orphan scan, kSweepSlice entries of
  // jobs/ per loop turn from Start on; SweepStep reads one slice and
  // returns whether more remain.
  static constexpr size_t kSweepSlice = 4096;
  void SweepOrphans();
  bool SweepStep(size_t budget);
  Status Requeue(api::RecoveryReport* report);
  Result<uint64_t> AppendSync(const api::JobEvent& ev);

  // ---- checkpoints, retention, shutdown ----
  std::string SerializeCheckpoint();
  void MaybeCheckpoint(bool force, std::function<void()> done);
  void RunRetention();
  void MaybeFinishShutdown();

  // ---- requests (core_service.cc) ----
  void HandleSubmit(const api::Request& req, std::vector<base::UniqueFd> fds,
                    std::shared_ptr<Stream> stream);
  Status CheckSpec(const api::JobSpec& spec, size_t nfds) const;
  Status Authorize(api::JobSpec* spec, const std::vector<base::UniqueFd>& fds, const Peer& peer,
                   api::ErrorCode* code);
  Status Admit(api::JobSpec* spec, bool root, api::ErrorCode* code);
  Result<AdmitLimits> PolicyLimits(const std::string& name);
  void HandleStatus(const api::Request& req, std::shared_ptr<Stream> stream);
  void HandleList(const api::Request& req, std::shared_ptr<Stream> stream);
  void HandleWait(const api::Request& req, std::shared_ptr<Stream> stream);
  void HandleKill(const api::Request& req, std::shared_ptr<Stream> stream);
  void HandleLogs(const api::Request& req, std::shared_ptr<Stream> stream);
  void HandleEvents(const api::Request& req, std::shared_ptr<Stream> stream);
  void HandleStats(const api::Request& req, std::shared_ptr<Stream> stream);
  // The job `id` names, when the peer may see it; else the stream failed.
  Job* JobFor(const std::string& id, const std::shared_ptr<Stream>& stream);
  struct LogFollow;
  void PumpLogs(std::shared_ptr<LogFollow> f);

  io::Loop* loop_;
  io::Env* env_;
  CoreOptions options_;
  AgentConfig& config_;  // options_.config
  std::string state_dir_;
  base::UniqueFd jobs_fd_;  // STATE/jobs, opened once at recovery
  uint32_t max_running_ = 1;
  MonitorOps ops_;
  std::unique_ptr<wal::Wal> wal_;
  std::unique_ptr<Launcher> launcher_;  // made from monitor_base_ (gc, policies)
  api::MonitorInput monitor_base_;       // every monitor's input but its job's
  std::map<std::string, AdmitLimits> policy_limits_;  // PolicyLimits' cache, by name

  std::map<std::string, std::unique_ptr<Job>> jobs_;  // by id: job-number order
  std::set<std::pair<int64_t, uint64_t>> queue_;      // (-priority, number)
  std::map<uint32_t, uint32_t> queued_per_uid_;
  std::set<std::string> active_;                      // STARTING or RUNNING
  uint64_t active_memory_ = 0;
  uint64_t active_pids_ = 0;
  std::map<std::pair<uint32_t, std::string>, std::string> idempotency_;
  // Submits whose QUEUED record is being appended, by (uid, key): later
  // submits with the same key wait for the first one's outcome.
  std::map<std::pair<uint32_t, std::string>, std::vector<std::shared_ptr<Stream>>> attached_;
  uint32_t submits_in_flight_ = 0;
  std::map<uint32_t, uint32_t> submits_in_flight_per_uid_;
  uint64_t next_number_ = 1;
  std::vector<std::string> requeue_ids_;  // recovery: jobs whose start never began
  uint64_t records_in_flight_ = 0;
  uint64_t records_since_checkpoint_ = 0;
  bool checkpoint_in_flight_ = false;
  bool started_ = false;
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;
  bool fatal_reported_ = false;
  std::function<void(const Status&)> on_fatal_;
  std::vector<EventSubscriber> subscribers_;
  std::map<std::string, uint64_t> counters_;
  api::RecoveryReport report_;
  io::TimerId hung_timer_ = 0;
  io::TimerId retention_timer_ = 0;
  bool retention_in_flight_ = false;
  DIR* sweep_dir_ = nullptr;  // jobs/, while the orphan sweep runs
  int64_t sweep_start_ns_ = 0;
  uint64_t sweep_entries_ = 0, sweep_removed_ = 0, sweep_killed_ = 0, sweep_failed_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warden::agent

#endif  // WARDEN_AGENT_CORE_IMPL_H_
