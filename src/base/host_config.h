// What a launch may use and change on the host: directories, pools, and
// permissions. Filled in once from warden::LauncherOptions (or, for `warden
// run`, from the environment by src/cli) and passed down explicitly: no
// module below the CLI reads the process environment.
#ifndef WARDEN_BASE_HOST_CONFIG_H_
#define WARDEN_BASE_HOST_CONFIG_H_

#include <map>
#include <string>

namespace warden::base {

struct HostConfig {
  std::string cache_dir = "/var/cache/warden";    // seccomp/, templates/ below it
  std::string net_state_dir = "/run/warden/net";  // address leases
  std::string uid_state_dir = "/run/warden/uid";  // uid leases
  std::string policy_dir;      // empty: the installed directory, else the source tree's
  std::string net_pool;        // empty: the default pool
  std::string uid_range;       // empty: the default range; "none": no per-job uids
  std::string cgroup_disable;  // comma-separated controllers not to use
  bool may_change_sysctls = false;  // ip_forward for network mode "veth"
  bool may_move_self = false;       // cgroup v2: into warden-self-<pid>
  // Where env.pass and --env-pass copy variables from.
  std::map<std::string, std::string> environment;
};

}  // namespace warden::base

#endif  // WARDEN_BASE_HOST_CONFIG_H_
