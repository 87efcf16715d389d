// The agent's configuration: /etc/warden/agent.toml (docs/agent-config.md lists
// every key). Every value has a default; a key that is not known, a value
// of the wrong type or out of range is an error naming file:line:col.
#ifndef WARDEN_AGENT_CONFIG_H_
#define WARDEN_AGENT_CONFIG_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "warden/status.h"

namespace warden::agent {

struct AgentConfig {
  // [agent]
  std::string state_dir = "/var/lib/warden";
  std::string socket = "/run/warden/agent.sock";
  std::string group = "warden";    // may connect besides root; "" : root only
  uint32_t socket_mode = 0660;
  // [limits]
  uint32_t max_message_bytes = 1u << 20;
  uint32_t max_connections = 256;
  uint32_t max_connections_per_uid = 32;
  uint64_t idle_timeout_ms = 300'000;
  uint32_t max_queued = 10'000;
  uint32_t max_queued_per_uid = 1'000;
  // [scheduler]
  uint32_t max_running = 0;          // 0: twice the CPU count
  uint64_t memory_budget_bytes = 0;  // 0: none
  uint64_t pids_budget = 0;          // 0: none
  bool hold = false;                 // start no job (benchmarks, maintenance)
  // [retention]
  uint64_t retention_ms = 30ull * 24 * 3600 * 1000;
  uint64_t retention_max_jobs = 0;   // 0: no count bound
  uint64_t retention_max_bytes = 0;  // 0: no size bound
  // [wal]
  uint64_t checkpoint_every_records = 10'000;
  uint64_t wal_segment_bytes = 32ull << 20;  // wal::WalOptions::segment_bytes
  // [monitor]
  uint64_t heartbeat_ms = 1'000;
  uint64_t hung_after_ms = 30'000;
  // [launcher]: what monitors give warden::LauncherOptions
  std::string launcher_state_dir = "/run/warden";
  std::string cache_dir = "/var/cache/warden";
  std::string policy_dir;   // policies a non-root client may name besides the shipped ones
  std::string cgroup_parent;
  std::string net_pool;
  std::string uid_range;
  std::string cgroup_disable;
  std::string net_state_dir;
  std::string uid_state_dir;
  bool may_change_sysctls = false;
};

// The largest WAL record (a submit's spec must fit one): 1 MiB, or a
// quarter of a segment when segments are smaller than 4 MiB.
inline uint32_t WalMaxRecordBytes(const AgentConfig& c) {
  const uint64_t quarter = c.wal_segment_bytes / 4;
  return quarter < (1u << 20) ? static_cast<uint32_t>(quarter) : (1u << 20);
}

// Reads `path`. A missing file is the defaults only when `missing_ok`
// (the default path); a named file must exist.
Result<AgentConfig> LoadAgentConfig(const std::string& path, bool missing_ok);

// Parses TOML text; `name` is used in error locations.
Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& name);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_CONFIG_H_
