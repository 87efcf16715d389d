// Entry points of the agent's processes that the warden command runs.
// (The agent's client API is warden/agent_client.h.)
#ifndef WARDEN_AGENT_H_
#define WARDEN_AGENT_H_

#include <string>
#include <vector>

#include "warden/export.h"

namespace warden {

// The body of `warden monitor STATE_DIR JOB_ID LOCK_FD`, which the agent
// spawns for each job it starts (docs/agent.md). Not for people: it takes
// its orders from the job's directory. Returns the process's exit status.
WARDEN_EXPORT int RunAgentMonitor(const std::vector<std::string>& args);

}  // namespace warden

#endif  // WARDEN_AGENT_H_
