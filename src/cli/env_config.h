// The WARDEN_* environment of `warden`, the one place that reads it: the
// library below takes a HostConfig and DiagnosticOptions instead.
//
//   WARDEN_CACHE_DIR, WARDEN_NET_DIR, WARDEN_UID_DIR, WARDEN_POLICY_DIR,
//   WARDEN_NET_POOL, WARDEN_UID_RANGE, WARDEN_CGROUP_DISABLE,
//   WARDEN_NO_IP_FORWARD                  -> launch::SetDefaultHostConfig
//   WARDEN_TRACE_STARTUP, WARDEN_IO, WARDEN_MOUNT_API, WARDEN_FAULT,
//   WARDEN_FAULT_CHILD_STEP, WARDEN_FAULT_PARENT_CALL
//                                         -> warden::ConfigureDiagnostics
//
// The process's whole environment becomes HostConfig::environment, where
// env.pass and --env-pass copy variables from.
#ifndef WARDEN_CLI_ENV_CONFIG_H_
#define WARDEN_CLI_ENV_CONFIG_H_

#include <map>
#include <string>

#include "base/host_config.h"
#include "warden/diagnostics.h"
#include "warden/status.h"

namespace warden::cli {

// The HostConfig and DiagnosticOptions that `env` (name -> value) asks for.
// kInvalidArgument names a variable with a value it cannot have
// (WARDEN_NO_IP_FORWARD other than "", "0" or "1"). Values checked where
// they are used (the pool, the uid range, the disabled controllers) pass
// through unchecked, as do unset or empty variables (the defaults).
Result<base::HostConfig> HostConfigFromEnvironment(const std::map<std::string, std::string>& env);
DiagnosticOptions DiagnosticsFromEnvironment(const std::map<std::string, std::string>& env);

// Reads the process environment once and applies both: the default
// HostConfig (launch::SetDefaultHostConfig) and the diagnostics
// (warden::ConfigureDiagnostics). Call before any command runs; on error
// nothing should run.
Status ApplyEnvironment();

}  // namespace warden::cli

#endif  // WARDEN_CLI_ENV_CONFIG_H_
