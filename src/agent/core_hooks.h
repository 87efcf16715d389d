// The job core's calls into agent/monitor.h, replaceable by tests that
// cannot spawn real monitors (a fake monitor process, a probe that reports
// a chosen fate).
#ifndef WARDEN_AGENT_CORE_HOOKS_H_
#define WARDEN_AGENT_CORE_HOOKS_H_

#include <functional>
#include <string>

#include "agent/monitor.h"
#include "warden/status.h"

namespace warden::agent {

struct MonitorOps {
  std::function<Result<SpawnedMonitor>(const SpawnRequest&)> spawn;
  std::function<Result<Probe>(const std::string& state_dir, const std::string& job_id,
                              uint64_t hung_after_ms)>
      probe;
  std::function<Result<Probe>(const std::string& state_dir, const std::string& job_id)>
      read_result;
  std::function<Status(int pidfd, int sig)> signal;
};

// The monitor calls of Cores recovered after this call; nullptr restores
// the real ones. Tests only; not thread-safe.
void SetMonitorOpsForTest(const MonitorOps* ops);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_CORE_HOOKS_H_
