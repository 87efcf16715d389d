// The WARDEN_* environment of `warden`, the one place that reads it: the
// library takes LauncherOptions and DiagnosticOptions instead (see the
// README's "Environment").
//
//   WARDEN_CACHE_DIR, WARDEN_NET_DIR, WARDEN_UID_DIR, WARDEN_POLICY_DIR,
//   WARDEN_NET_POOL, WARDEN_UID_RANGE, WARDEN_CGROUP_DISABLE,
//   WARDEN_NO_IP_FORWARD                  -> LauncherOptions
//   WARDEN_TRACE_STARTUP, WARDEN_IO, WARDEN_MOUNT_API, WARDEN_FAULT,
//   WARDEN_FAULT_CHILD_STEP, WARDEN_FAULT_PARENT_CALL
//                                         -> warden::ConfigureDiagnostics
//   WARDEN_AGENT_SOCKET                   -> the agent commands' socket
//
// The process's whole environment becomes LauncherOptions::environment,
// where env.pass and --env-pass copy variables from.
#ifndef WARDEN_CLI_ENV_CONFIG_H_
#define WARDEN_CLI_ENV_CONFIG_H_

#include <map>
#include <memory>
#include <string>

#include "warden/diagnostics.h"
#include "warden/launcher.h"
#include "warden/status.h"

namespace warden::cli {

// The LauncherOptions and DiagnosticOptions that `env` (name -> value)
// asks for. kInvalidArgument names a variable with a value it cannot have
// (WARDEN_NO_IP_FORWARD other than "", "0" or "1"). Values that
// Launcher::Create checks (the pool, the uid range, the disabled
// controllers) pass through, as do unset or empty variables (the
// defaults). warden may move itself into a leaf cgroup and turn on
// ip_forward (unless WARDEN_NO_IP_FORWARD=1); signals are not forwarded
// here (see LauncherFromEnvironment).
Result<LauncherOptions> LauncherOptionsFromEnvironment(const std::map<std::string, std::string>& env);
DiagnosticOptions DiagnosticsFromEnvironment(const std::map<std::string, std::string>& env);

// Reads the process environment once: applies the diagnostics
// (warden::ConfigureDiagnostics) and keeps the launcher options for
// LauncherFromEnvironment. Call before any command runs; on error nothing
// should run.
Status ApplyEnvironment();

// A Launcher with the options ApplyEnvironment read. `forward_signals`:
// the job in the foreground gets warden's SIGTERM, SIGINT, ... (`warden
// run`); the other commands keep their signals. An option that Create
// refuses is named by its WARDEN_* variable.
Result<std::unique_ptr<Launcher>> LauncherFromEnvironment(bool forward_signals);

// Where the agent commands (submit, status, ...) connect without --socket:
// WARDEN_AGENT_SOCKET, else warden::kDefaultAgentSocket. A relative path is
// an error naming the variable: which agent it reaches would depend on the
// working directory.
Result<std::string> AgentSocketFromEnvironment();

// Where `warden` looks policy names up: WARDEN_POLICY_DIR, else the
// library's default (warden::PolicyDirectory()).
std::string PolicyDirectoryFromEnvironment();

}  // namespace warden::cli

#endif  // WARDEN_CLI_ENV_CONFIG_H_
