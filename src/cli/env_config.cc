#include "cli/env_config.h"

#include <unistd.h>

#include <utility>

#include "launch/job_run.h"

namespace warden::cli {
namespace {

// The value of `name`, "" when it is unset.
std::string Get(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

// A state directory: an absolute path shorter than 256 bytes, else the
// default (what warden has always done with WARDEN_NET_DIR and
// WARDEN_UID_DIR).
std::string StateDir(const std::map<std::string, std::string>& env, const char* name,
                     const std::string& fallback) {
  const std::string v = Get(env, name);
  return !v.empty() && v[0] == '/' && v.size() < 256 ? v : fallback;
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    // The first of duplicate names wins, as getenv would have it.
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

}  // namespace

Result<base::HostConfig> HostConfigFromEnvironment(
    const std::map<std::string, std::string>& env) {
  base::HostConfig config;
  if (std::string v = Get(env, "WARDEN_CACHE_DIR"); !v.empty()) config.cache_dir = v;
  config.net_state_dir = StateDir(env, "WARDEN_NET_DIR", config.net_state_dir);
  config.uid_state_dir = StateDir(env, "WARDEN_UID_DIR", config.uid_state_dir);
  config.policy_dir = Get(env, "WARDEN_POLICY_DIR");
  config.net_pool = Get(env, "WARDEN_NET_POOL");
  config.uid_range = Get(env, "WARDEN_UID_RANGE");
  config.cgroup_disable = Get(env, "WARDEN_CGROUP_DISABLE");
  // The host's word on net.ipv4.ip_forward: "1" forbids warden to turn it
  // on (a veth job that needs it then fails closed); unset, "" or "0"
  // allows it. Set it in the environment of the service or runner that
  // starts warden.
  const std::string no_forward = Get(env, "WARDEN_NO_IP_FORWARD");
  if (!no_forward.empty() && no_forward != "0" && no_forward != "1") {
    return Status::Error(Code::kInvalidArgument, "WARDEN_NO_IP_FORWARD must be 0 or 1, not \"" +
                                                     no_forward.substr(0, 32) + "\"");
  }
  config.may_change_sysctls = no_forward != "1";
  // `warden` is a process of its own: moving it into a leaf of its cgroup
  // disturbs no one.
  config.may_move_self = true;
  config.environment = env;
  return config;
}

DiagnosticOptions DiagnosticsFromEnvironment(const std::map<std::string, std::string>& env) {
  DiagnosticOptions d;
  d.trace_startup = Get(env, "WARDEN_TRACE_STARTUP") == "1";
  // Only "plain" ever meant something; other values leave the choice to
  // the kernel, as they always did.
  if (Get(env, "WARDEN_IO") == "plain") d.io_backend = "plain";
  d.legacy_mount_api = Get(env, "WARDEN_MOUNT_API") == "legacy";
  d.crash_point = Get(env, "WARDEN_FAULT");
  d.fault_child_step = Get(env, "WARDEN_FAULT_CHILD_STEP");
  d.fault_parent_call = Get(env, "WARDEN_FAULT_PARENT_CALL");
  return d;
}

Status ApplyEnvironment() {
  const std::map<std::string, std::string> env = ProcessEnvironment();
  WARDEN_ASSIGN_OR_RETURN(base::HostConfig config, HostConfigFromEnvironment(env));
  WARDEN_RETURN_IF_ERROR(ConfigureDiagnostics(DiagnosticsFromEnvironment(env))
                             .Wrap("the WARDEN_* environment"));
  launch::SetDefaultHostConfig(std::move(config));
  return Status::Ok();
}

}  // namespace warden::cli
