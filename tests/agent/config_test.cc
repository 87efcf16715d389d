// The agent's configuration file (agent/config.h).
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "agent/config.h"
#include "base/file.h"
#include "test_util.h"

namespace agent = warden::agent;
using warden::Code;

namespace {

agent::AgentConfig Parse(const std::string& text) {
  auto c = agent::ParseAgentConfig(text, "agent.toml");
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return c.value();
}

// The error for `text`, which must fail.
std::string Error(const std::string& text) {
  auto c = agent::ParseAgentConfig(text, "agent.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Code::kInvalidArgument);
  return c.status().message();
}

}  // namespace

TEST_CASE("agent config: the defaults", "[agent][config]") {
  agent::AgentConfig c = Parse("");
  agent::AgentConfig d;
  CHECK(c.state_dir == "/var/lib/warden");
  CHECK(c.socket == "/run/warden/agent.sock");
  CHECK(c.group == "warden");
  CHECK(c.socket_mode == 0660);
  CHECK(c.max_message_bytes == d.max_message_bytes);
  CHECK(c.max_connections == 256);
  CHECK(c.idle_timeout_ms == 300'000);
  CHECK(c.max_running == 0);  // ParseAgentConfig leaves it; LoadAgentConfig resolves it
  CHECK(c.retention_ms == 30ull * 24 * 3600 * 1000);
  CHECK(c.heartbeat_ms == 1'000);
  CHECK(c.hung_after_ms == 30'000);
  CHECK(c.launcher_state_dir == "/run/warden");
  CHECK_FALSE(c.may_change_sysctls);
}

TEST_CASE("agent config: every section", "[agent][config]") {
  agent::AgentConfig c = Parse(R"(
[agent]
state_dir = "/srv/warden"
socket = "/run/w/a.sock"
group = "ci"
socket_mode = "0600"

[limits]
max_message_bytes = "4M"
max_connections = 1000
max_connections_per_uid = 100
idle_timeout = "5m"
max_queued = 500
max_queued_per_uid = 50

[scheduler]
max_running = 7
memory_budget = "8G"
pids_budget = 10000
hold = true

[retention]
max_age = "30d"
max_jobs = 1000
max_bytes = "10G"

[wal]
checkpoint_every_records = 5000

[monitor]
heartbeat_interval = "500ms"
hung_after = "10s"

[launcher]
state_dir = "/run/w"
cache_dir = "/var/cache/w"
policy_dir = "/etc/warden/policies"
cgroup_parent = "ci"
net_pool = "10.9.0.0/16"
uid_range = "100000-165535"
cgroup_disable = "blkio"
net_state_dir = "/run/w/net"
uid_state_dir = "/run/w/uid"
may_change_sysctls = true
)");
  CHECK(c.state_dir == "/srv/warden");
  CHECK(c.socket == "/run/w/a.sock");
  CHECK(c.group == "ci");
  CHECK(c.socket_mode == 0600);
  CHECK(c.max_message_bytes == 4u << 20);
  CHECK(c.max_connections == 1000);
  CHECK(c.max_connections_per_uid == 100);
  CHECK(c.idle_timeout_ms == 300'000);
  CHECK(c.max_queued == 500);
  CHECK(c.max_queued_per_uid == 50);
  CHECK(c.max_running == 7);
  CHECK(c.memory_budget_bytes == 8ull << 30);
  CHECK(c.pids_budget == 10000);
  CHECK(c.hold);
  CHECK(c.retention_ms == 30ull * 24 * 3600 * 1000);
  CHECK(c.retention_max_jobs == 1000);
  CHECK(c.retention_max_bytes == 10ull << 30);
  CHECK(c.checkpoint_every_records == 5000);
  CHECK(c.heartbeat_ms == 500);
  CHECK(c.hung_after_ms == 10'000);
  CHECK(c.launcher_state_dir == "/run/w");
  CHECK(c.cache_dir == "/var/cache/w");
  CHECK(c.policy_dir == "/etc/warden/policies");
  CHECK(c.cgroup_parent == "ci");
  CHECK(c.net_pool == "10.9.0.0/16");
  CHECK(c.uid_range == "100000-165535");
  CHECK(c.cgroup_disable == "blkio");
  CHECK(c.net_state_dir == "/run/w/net");
  CHECK(c.uid_state_dir == "/run/w/uid");
  CHECK(c.may_change_sysctls);

  // Other spellings: TOML octal, bytes and seconds as integers, "" group.
  agent::AgentConfig o = Parse(
      "[agent]\nsocket_mode = 0o640\ngroup = \"\"\n[limits]\nmax_message_bytes = 2048\n"
      "idle_timeout = 60\n");
  CHECK(o.socket_mode == 0640);
  CHECK(o.group.empty());
  CHECK(o.max_message_bytes == 2048);
  CHECK(o.idle_timeout_ms == 60'000);
}

TEST_CASE("agent config: unknown keys and sections name the place and the fix", "[agent][config]") {
  CHECK(Error("[agent]\nsocket = \"/run/a.sock\"\nsockett = \"/x\"\n") ==
        "agent.toml:3:1: unknown key 'sockett' in [agent]; did you mean 'socket'?; allowed keys: "
        "state_dir, socket, group, socket_mode");
  CHECK(Error("[limits]\n  max_conections = 5\n").starts_with(
      "agent.toml:2:3: unknown key 'max_conections' in [limits]; did you mean 'max_connections'?"));
  CHECK(Error("[limit]\nmax_connections = 5\n").starts_with(
      "agent.toml:1:2: unknown section [limit]; did you mean [limits]?"));
  CHECK(Error("max_running = 4\n").find("'max_running' belongs in [scheduler]") != std::string::npos);
  CHECK(Error("[agent]\nheartbeat_interval = \"1s\"\n").find("belongs in [monitor]") !=
        std::string::npos);
  CHECK(Error("agent = 5\n").starts_with("agent.toml:1:9: [agent] must be a table"));
}

TEST_CASE("agent config: wrong types", "[agent][config]") {
  CHECK(Error("[limits]\nmax_connections = \"many\"\n") ==
        "agent.toml:2:19: limits.max_connections must be an integer, not a string");
  CHECK(Error("[scheduler]\nhold = 1\n") ==
        "agent.toml:2:8: scheduler.hold must be true or false, not an integer");
  CHECK(Error("[agent]\nstate_dir = 5\n").find("agent.state_dir must be a string") != std::string::npos);
  CHECK(Error("[agent]\nsocket_mode = true\n").find("octal digits") != std::string::npos);
  CHECK(Error("[monitor]\nheartbeat_interval = 1.5\n").find("must be a duration") != std::string::npos);
  CHECK(Error("[scheduler]\nmemory_budget = [1]\n").find("must be a size") != std::string::npos);
  CHECK(Error("[agent\n").find("agent.toml:1:") == 0);  // TOML syntax
}

TEST_CASE("agent config: values out of range", "[agent][config]") {
  CHECK(Error("[limits]\nmax_message_bytes = \"100\"\n") ==
        "agent.toml:2:21: limits.max_message_bytes must be between 1024 and 67108864 bytes, not 100");
  CHECK(Error("[limits]\nmax_message_bytes = \"65M\"\n").find("between 1024 and 67108864") !=
        std::string::npos);
  CHECK(Error("[limits]\nmax_connections = 0\n").find("between 1 and 65536, not 0") != std::string::npos);
  CHECK(Error("[limits]\nmax_connections = 70000\n").find("between 1 and 65536") != std::string::npos);
  CHECK(Error("[limits]\nmax_connections = 10\nmax_connections_per_uid = 11\n") ==
        "agent.toml:3:27: limits.max_connections_per_uid (11) must be at most "
        "limits.max_connections (10)");
  // The default per-uid limit (32) over a lowered max_connections.
  CHECK(Error("[limits]\nmax_connections = 8\n").starts_with("agent.toml:2:19: "));
  CHECK(Error("[limits]\nmax_queued = 10\n").find("max_queued_per_uid (1000) must be at most") !=
        std::string::npos);
  CHECK(Error("[monitor]\nheartbeat_interval = \"5ms\"\n").find("between 10 ms") != std::string::npos);
  CHECK(Error("[monitor]\nheartbeat_interval = \"1s\"\nhung_after = \"2s\"\n") ==
        "agent.toml:3:14: monitor.hung_after (2000 ms) must be more than twice "
        "monitor.heartbeat_interval (1000 ms)");
  CHECK(Error("[monitor]\nheartbeat_interval = \"20s\"\n").starts_with("agent.toml:2:22: "));
  CHECK(Error("[agent]\nsocket = \"run/a.sock\"\n").find("must be absolute") != std::string::npos);
  CHECK(Error("[launcher]\ncache_dir = \"/var/../etc\"\n").find("'..'") != std::string::npos);
  CHECK(Error("[agent]\nsocket_mode = \"0999\"\n").find("octal digits") != std::string::npos);
  CHECK(Error("[agent]\nsocket_mode = \"04770\"\n").find("octal digits") != std::string::npos);
  CHECK(Error("[agent]\nsocket_mode = \"0066\"\n").find("owner") != std::string::npos);
  CHECK(Error("[agent]\ngroup = \"a b\"\n").find("not a group name") != std::string::npos);
  CHECK(Error("[retention]\nmax_age = \"400d\"\n").find("max_age is not a duration") != std::string::npos);
  CHECK(Error("[retention]\nmax_age = \"-1d\"\n").find("max_age is not a duration") != std::string::npos);
  CHECK(Error("[scheduler]\nmax_running = -1\n").find("between 0 and 65536") != std::string::npos);
  CHECK(Error("[launcher]\nnet_pool = \"a\\u0000b\"\n").find("NUL") != std::string::npos);
}

// The shipped example and the documentation's example parse; the example's
// commented values are the defaults.
TEST_CASE("agent config: the shipped example holds every key at its default", "[agent][config]") {
  std::string root = warden::testing::RepoPolicies();
  root = root.substr(0, root.rfind('/'));
  auto text = warden::base::ReadFile(root + "/scripts/agent.toml.example");
  REQUIRE(text.ok());
  // As shipped: every key commented, so the defaults.
  Parse(text.value());
  // Uncommented: every key, each at its default.
  std::string all;
  size_t keys = 0;
  for (size_t at = 0; at < text.value().size();) {
    size_t end = text.value().find('\n', at);
    if (end == std::string::npos) end = text.value().size();
    std::string line = text.value().substr(at, end - at);
    if (line.starts_with("# ") && line.find(" = ") != std::string::npos) {
      line = line.substr(2);
      keys++;
    }
    all += line + "\n";
    at = end + 1;
  }
  CHECK(keys == 31);
  agent::AgentConfig c = Parse(all);
  agent::AgentConfig d;
  CHECK(c.state_dir == d.state_dir);
  CHECK(c.socket == d.socket);
  CHECK(c.group == d.group);
  CHECK(c.socket_mode == d.socket_mode);
  CHECK(c.max_message_bytes == d.max_message_bytes);
  CHECK(c.max_connections == d.max_connections);
  CHECK(c.max_connections_per_uid == d.max_connections_per_uid);
  CHECK(c.idle_timeout_ms == d.idle_timeout_ms);
  CHECK(c.max_queued == d.max_queued);
  CHECK(c.max_queued_per_uid == d.max_queued_per_uid);
  CHECK(c.max_running == d.max_running);
  CHECK(c.memory_budget_bytes == d.memory_budget_bytes);
  CHECK(c.pids_budget == d.pids_budget);
  CHECK(c.hold == d.hold);
  CHECK(c.retention_ms == d.retention_ms);
  CHECK(c.retention_max_jobs == d.retention_max_jobs);
  CHECK(c.retention_max_bytes == d.retention_max_bytes);
  CHECK(c.checkpoint_every_records == d.checkpoint_every_records);
  CHECK(c.wal_segment_bytes == d.wal_segment_bytes);
  CHECK(c.heartbeat_ms == d.heartbeat_ms);
  CHECK(c.hung_after_ms == d.hung_after_ms);
  CHECK(c.launcher_state_dir == d.launcher_state_dir);
  CHECK(c.cache_dir == d.cache_dir);
  CHECK(c.policy_dir == d.policy_dir);
  CHECK(c.cgroup_parent == d.cgroup_parent);
  CHECK(c.net_pool == d.net_pool);
  CHECK(c.uid_range == d.uid_range);
  CHECK(c.cgroup_disable == d.cgroup_disable);
  CHECK(c.net_state_dir == d.net_state_dir);
  CHECK(c.uid_state_dir == d.uid_state_dir);
  CHECK(c.may_change_sysctls == d.may_change_sysctls);

  // The example in docs/agent-config.md.
  auto doc = warden::base::ReadFile(root + "/docs/agent-config.md");
  REQUIRE(doc.ok());
  const size_t start = doc.value().rfind("```toml\n");
  REQUIRE(start != std::string::npos);
  const size_t stop = doc.value().find("```", start + 8);
  REQUIRE(stop != std::string::npos);
  agent::AgentConfig e = Parse(doc.value().substr(start + 8, stop - start - 8));
  CHECK(e.group == "ci");
  CHECK(e.retention_ms == 7ull * 24 * 3600 * 1000);
}

TEST_CASE("agent config: loading a file", "[agent][config]") {
  warden::testing::TempDir dir;
  const unsigned cpus = std::thread::hardware_concurrency();

  auto missing = agent::LoadAgentConfig(dir.Join("none.toml"), /*missing_ok=*/true);
  REQUIRE(missing.ok());
  CHECK(missing->max_running >= 2);
  if (cpus > 0) CHECK(missing->max_running <= 2 * cpus);
  auto required = agent::LoadAgentConfig(dir.Join("none.toml"), /*missing_ok=*/false);
  REQUIRE_FALSE(required.ok());
  CHECK(required.status().code() == Code::kNotFound);

  warden::testing::WriteText(dir.Join("a.toml"), "[scheduler]\nmax_running = 3\n");
  REQUIRE(::chmod(dir.Join("a.toml").c_str(), 0644) == 0);  // whatever the umask
  auto a = agent::LoadAgentConfig(dir.Join("a.toml"), false);
  REQUIRE(a.ok());
  CHECK(a->max_running == 3);

  warden::testing::WriteText(dir.Join("b.toml"), "[limits]\nbogus = 1\n");
  REQUIRE(::chmod(dir.Join("b.toml").c_str(), 0644) == 0);
  auto b = agent::LoadAgentConfig(dir.Join("b.toml"), false);
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().message().starts_with(dir.Join("b.toml") + ":2:1: unknown key 'bogus'"));

  REQUIRE(::symlink(dir.Join("a.toml").c_str(), dir.Join("link.toml").c_str()) == 0);
  auto link = agent::LoadAgentConfig(dir.Join("link.toml"), false);
  REQUIRE_FALSE(link.ok());
  CHECK(link.status().message().find("symbolic link") != std::string::npos);

  REQUIRE(::mkfifo(dir.Join("fifo.toml").c_str(), 0600) == 0);
  auto fifo = agent::LoadAgentConfig(dir.Join("fifo.toml"), false);
  REQUIRE_FALSE(fifo.ok());
  CHECK(fifo.status().message().find("not a regular file") != std::string::npos);

  // A file that another user could rewrite is refused.
  auto refused = [&](const std::string& why) {
    auto open = agent::LoadAgentConfig(dir.Join("a.toml"), false);
    REQUIRE_FALSE(open.ok());
    CHECK(open.status().code() == Code::kPermissionDenied);
    CHECK(open.status().message().find(why) != std::string::npos);
  };
  for (mode_t mode : {0666, 0646, 0602}) {
    INFO(mode);
    REQUIRE(::chmod(dir.Join("a.toml").c_str(), mode) == 0);
    refused("not writable by group or others");
  }
  REQUIRE(::chmod(dir.Join("a.toml").c_str(), 0640) == 0);
  CHECK(agent::LoadAgentConfig(dir.Join("a.toml"), false).ok());
  if (::geteuid() == 0) {
    // Writable by the root group: allowed; by another group: refused.
    REQUIRE(::chown(dir.Join("a.toml").c_str(), 0, 0) == 0);
    REQUIRE(::chmod(dir.Join("a.toml").c_str(), 0664) == 0);
    CHECK(agent::LoadAgentConfig(dir.Join("a.toml"), false).ok());
    REQUIRE(::chown(dir.Join("a.toml").c_str(), 0, 65534) == 0);
    refused("group 65534");
    REQUIRE(::chown(dir.Join("a.toml").c_str(), 65534, 0) == 0);
    REQUIRE(::chmod(dir.Join("a.toml").c_str(), 0644) == 0);
    refused("owned by uid 65534");
  }

  warden::testing::WriteText(dir.Join("big.toml"), std::string((1 << 20) + 1, '#'));
  auto big = agent::LoadAgentConfig(dir.Join("big.toml"), false);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().message().find("larger than") != std::string::npos);
}
