// The agent's job core: the job table rebuilt from the WAL, the queue and
// its admission, the monitors, retention and checkpoints; the Service that
// the server hands requests to (docs/agent.md).
#ifndef WARDEN_AGENT_CORE_H_
#define WARDEN_AGENT_CORE_H_

#include <functional>
#include <memory>
#include <string>

#include "agent/api.pb.h"
#include "agent/config.h"
#include "agent/service.h"
#include "io/env.h"
#include "io/loop.h"
#include "warden/status.h"

namespace warden::agent {

struct CoreOptions {
  AgentConfig config;        // config.state_dir is the state directory
  int warden_binary_fd = -1; // build/warden, for monitors (execveat)
};

class Core : public Service {
 public:
  // Recovery's phases after the lock, in order: checkpoint, wal replay,
  // re-adopt, collect results, orphan scan, requeue. Each is appended to
  // *report with its time and counts, and logged. An error (corruption in
  // the middle of a segment: the message names the segment, the offset
  // and the `warden agent --repair` command) means the agent must not
  // start.
  static Result<std::unique_ptr<Core>> Recover(io::Loop* loop, io::Env* env,
                                               const CoreOptions& options,
                                               api::RecoveryReport* report);
  ~Core() override;

  // The full report (with the daemon's own phases), for Stats.
  virtual void SetRecoveryReport(const api::RecoveryReport& report) = 0;
  // Starts scheduling queued jobs (unless config.hold), and the orphan
  // sweep of job directories that no record owns (a slice per loop turn).
  virtual void Start() = 0;
  // Runs the whole orphan sweep now (`--recover-only`, tests).
  virtual void FinishOrphanSweep() = 0;
  // SIGTERM: new submits are refused; `done` runs once every submit
  // already accepted has been answered. Running jobs keep running.
  virtual void Shutdown(std::function<void()> done) = 0;
  // Runs when the WAL fails (an fsync or write error): the agent exits
  // non-zero with that reason; the next start recovers from the WAL.
  virtual void SetOnFatal(std::function<void(const Status&)> cb) = 0;

 protected:
  Core() = default;
};

// `warden agent --repair`: wal::Repair on STATE/wal, with its report.
Status RepairState(const std::string& state_dir, std::string* report);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_CORE_H_
