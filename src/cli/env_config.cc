#include "cli/env_config.h"

#include <unistd.h>

#include <optional>
#include <utility>

#include "warden/agent_client.h"
#include "warden/policy.h"

namespace warden::cli {
namespace {

// The value of `name`, "" when it is unset.
std::string Get(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

// A lease directory as given; "" (unset) is the default under
// LauncherOptions::state_dir. A value Launcher::Create refuses (a relative
// path) stops warden, naming the variable: quietly falling back to the
// default would let two setups meant to share a lease directory hand out
// the same uids and addresses, or two meant to be apart share them.
std::string StateDir(const std::map<std::string, std::string>& env, const char* name) {
  return Get(env, name);
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

// What ApplyEnvironment read, for LauncherFromEnvironment.
std::optional<LauncherOptions>& Saved() {
  static std::optional<LauncherOptions> options;
  return options;
}

// The variable behind an option that Launcher::Create refused: each is
// tried alone on the defaults (Create makes nothing on the host). Empty
// when none fails alone.
std::string RefusedVariable(const LauncherOptions& options) {
  struct Field {
    const char* variable;
    std::string LauncherOptions::*member;
  };
  static const Field kFields[] = {
      {"WARDEN_CACHE_DIR", &LauncherOptions::cache_dir},
      {"WARDEN_POLICY_DIR", &LauncherOptions::policy_dir},
      {"WARDEN_NET_DIR", &LauncherOptions::net_state_dir},
      {"WARDEN_UID_DIR", &LauncherOptions::uid_state_dir},
      {"WARDEN_NET_POOL", &LauncherOptions::net_pool},
      {"WARDEN_UID_RANGE", &LauncherOptions::uid_range},
      {"WARDEN_CGROUP_DISABLE", &LauncherOptions::cgroup_disable},
  };
  const LauncherOptions defaults;
  for (const Field& f : kFields) {
    if (options.*f.member == defaults.*f.member) continue;
    LauncherOptions alone;
    alone.*f.member = options.*f.member;
    if (!Launcher::Create(std::move(alone)).ok()) return f.variable;
  }
  return "";
}

}  // namespace

Result<LauncherOptions> LauncherOptionsFromEnvironment(const std::map<std::string, std::string>& env) {
  LauncherOptions options;
  if (std::string v = Get(env, "WARDEN_CACHE_DIR"); !v.empty()) options.cache_dir = v;
  options.net_state_dir = StateDir(env, "WARDEN_NET_DIR");
  options.uid_state_dir = StateDir(env, "WARDEN_UID_DIR");
  options.policy_dir = Get(env, "WARDEN_POLICY_DIR");
  options.net_pool = Get(env, "WARDEN_NET_POOL");
  options.uid_range = Get(env, "WARDEN_UID_RANGE");
  options.cgroup_disable = Get(env, "WARDEN_CGROUP_DISABLE");
  // The host's word on net.ipv4.ip_forward: "1" forbids warden to turn it
  // on (a veth job that needs it then fails closed); unset, "" or "0"
  // allows it. Set it in the environment of the service or runner that
  // starts warden.
  const std::string no_forward = Get(env, "WARDEN_NO_IP_FORWARD");
  if (!no_forward.empty() && no_forward != "0" && no_forward != "1") {
    return Status::Error(Code::kInvalidArgument, "WARDEN_NO_IP_FORWARD must be 0 or 1, not \"" +
                                                     no_forward.substr(0, 32) + "\"");
  }
  options.may_change_sysctls = no_forward != "1";
  // `warden` is a process of its own: moving it into a leaf of its cgroup
  // disturbs no one.
  options.may_move_self = true;
  options.environment = env;
  return options;
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
  WARDEN_ASSIGN_OR_RETURN(LauncherOptions options, LauncherOptionsFromEnvironment(env));
  WARDEN_RETURN_IF_ERROR(ConfigureDiagnostics(DiagnosticsFromEnvironment(env))
                             .Wrap("the WARDEN_* environment"));
  Saved() = std::move(options);
  return Status::Ok();
}

Result<std::string> AgentSocketFromEnvironment() {
  const std::string socket = Saved() ? Get(Saved()->environment, "WARDEN_AGENT_SOCKET") : "";
  if (socket.empty()) return std::string(kDefaultAgentSocket);
  if (socket[0] != '/') {
    return Status::Error(Code::kInvalidArgument,
                         "WARDEN_AGENT_SOCKET=" + socket + ": the agent's socket must be an absolute path");
  }
  return socket;
}

std::string PolicyDirectoryFromEnvironment() {
  return Saved() && !Saved()->policy_dir.empty() ? Saved()->policy_dir : PolicyDirectory();
}

Result<std::unique_ptr<Launcher>> LauncherFromEnvironment(bool forward_signals) {
  if (!Saved()) {
    return Status::Error(Code::kInternal, "the WARDEN_* environment was not read (ApplyEnvironment)");
  }
  LauncherOptions options = *Saved();
  options.forward_signals = forward_signals;
  Result<std::unique_ptr<Launcher>> launcher = Launcher::Create(options);
  if (launcher.ok()) return launcher;
  Status st = launcher.take_status();
  if (std::string variable = RefusedVariable(options); !variable.empty()) {
    st.Wrap(variable + "=" + Get(options.environment, variable.c_str()));
  }
  return st;
}

}  // namespace warden::cli
