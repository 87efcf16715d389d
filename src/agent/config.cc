// The agent's configuration file (agent/config.h, docs/agent-config.md).
//
// The TOML is parsed by the policy loader's ParseToml (toml++ behind its
// guards) and its values by the policy module's one grammar for sizes and
// durations; every error is "FILE:LINE:COL: section.key ..." and says what
// is allowed.
#include "agent/config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "agent/state_dir.h"
#include "policy/layer.h"
#include "policy/loader.h"
#include "policy_data/parse_util.h"

namespace warden::agent {

namespace {

using policy::ErrLoc;
using policy::Loc;
using policy::LocOf;
using policy::TypeName;

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxValueBytes = 4096;
constexpr uint64_t kDayMs = 24ull * 3600 * 1000;

struct Key {
  const char* section;
  const char* name;
};

// Every key, for the unknown-key message and its suggestion.
constexpr Key kKeys[] = {
    {"agent", "state_dir"},
    {"agent", "socket"},
    {"agent", "group"},
    {"agent", "socket_mode"},
    {"limits", "max_message_bytes"},
    {"limits", "max_connections"},
    {"limits", "max_connections_per_uid"},
    {"limits", "idle_timeout"},
    {"limits", "max_queued"},
    {"limits", "max_queued_per_uid"},
    {"scheduler", "max_running"},
    {"scheduler", "memory_budget"},
    {"scheduler", "pids_budget"},
    {"scheduler", "hold"},
    {"retention", "max_age"},
    {"retention", "max_jobs"},
    {"retention", "max_bytes"},
    {"wal", "checkpoint_every_records"},
    {"wal", "segment_bytes"},
    {"monitor", "heartbeat_interval"},
    {"monitor", "hung_after"},
    {"launcher", "state_dir"},
    {"launcher", "cache_dir"},
    {"launcher", "policy_dir"},
    {"launcher", "cgroup_parent"},
    {"launcher", "net_pool"},
    {"launcher", "uid_range"},
    {"launcher", "cgroup_disable"},
    {"launcher", "net_state_dir"},
    {"launcher", "uid_state_dir"},
    {"launcher", "may_change_sysctls"},
};

constexpr const char* kSections[] = {"agent", "limits", "scheduler", "retention",
                                     "wal",   "monitor", "launcher"};

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The one candidate nearest to `name` within a small edit distance, or "".
std::string Nearest(std::string_view name, const std::vector<std::string_view>& candidates) {
  if (name.empty() || name.size() > 64) return "";
  const size_t limit = name.size() <= 4 ? 1 : (name.size() <= 10 ? 2 : 3);
  std::string_view best;
  size_t best_d = limit + 1;
  bool tie = false;
  for (std::string_view c : candidates) {
    const size_t d = EditDistance(name, c);
    if (d < best_d) {
      best = c;
      best_d = d;
      tie = false;
    } else if (d == best_d) {
      tie = true;
    }
  }
  return best_d <= limit && !tie ? std::string(best) : "";
}

std::string Shown(std::string_view s) {
  std::string out(s.substr(0, 64));
  for (char& ch : out) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  }
  return out + (s.size() > 64 ? "..." : "");
}

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Status Apply(const toml::table& root, AgentConfig* c) {
    for (auto&& [k, v] : root) {
      const std::string_view name = k.str();
      const bool known = std::find(std::begin(kSections), std::end(kSections), name) !=
                         std::end(kSections);
      if (!known) {
        std::string m = "unknown section [" + Shown(name) + "]";
        std::vector<std::string_view> all(std::begin(kSections), std::end(kSections));
        if (std::string s = Nearest(name, all); !s.empty()) m += "; did you mean [" + s + "]?";
        // A key written before any section header lands at the top level.
        for (const Key& key : kKeys) {
          if (name == key.name) {
            m += "; '" + std::string(key.name) + "' belongs in [" + key.section + "]";
            break;
          }
        }
        m += "; sections: agent, limits, scheduler, retention, wal, monitor, launcher";
        return ErrLoc(LocOf(k.source(), file_), m);
      }
      if (!v.is_table()) {
        return ErrLoc(LocOf(v.source(), file_),
                      "[" + std::string(name) + "] must be a table, not " + TypeName(v));
      }
      const toml::table& t = *v.as_table();
      WARDEN_RETURN_IF_ERROR(CheckKeys(t, name));
      section_ = std::string(name);
      for (auto&& [kk, vv] : t) WARDEN_RETURN_IF_ERROR(Value(std::string(kk.str()), vv, c));
    }
    return Status::Ok();
  }

 private:
  Status CheckKeys(const toml::table& t, std::string_view section) const {
    std::vector<std::string_view> allowed;
    for (const Key& key : kKeys) {
      if (section == key.section) allowed.push_back(key.name);
    }
    for (auto&& [k, v] : t) {
      const std::string_view name = k.str();
      if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
      std::string m = "unknown key '" + Shown(name) + "' in [" + std::string(section) + "]";
      if (std::string s = Nearest(name, allowed); !s.empty()) {
        m += "; did you mean '" + s + "'?";
      } else {
        for (const Key& key : kKeys) {
          if (name == key.name) {
            m += "; '" + std::string(key.name) + "' belongs in [" + key.section + "]";
            break;
          }
        }
      }
      m += "; allowed keys: ";
      for (size_t i = 0; i < allowed.size(); ++i) m += (i ? ", " : "") + std::string(allowed[i]);
      return ErrLoc(LocOf(k.source(), file_), m);
    }
    return Status::Ok();
  }

  Status Err(const toml::node& n, const std::string& key, const std::string& what) const {
    return ErrLoc(LocOf(n.source(), file_), section_ + "." + key + " " + what);
  }

  Result<uint64_t> Int(const toml::node& n, const std::string& key, uint64_t min,
                       uint64_t max) const {
    const toml::value<int64_t>* i = n.as_integer();
    if (!i) return Err(n, key, "must be an integer, not " + std::string(TypeName(n)));
    const int64_t v = i->get();
    if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) {
      return Err(n, key,
                 "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", not " + std::to_string(v));
    }
    return static_cast<uint64_t>(v);
  }

  Result<bool> Bool(const toml::node& n, const std::string& key) const {
    const toml::value<bool>* b = n.as_boolean();
    if (!b) return Err(n, key, "must be true or false, not " + std::string(TypeName(n)));
    return b->get();
  }

  Result<std::string> String(const toml::node& n, const std::string& key) const {
    const toml::value<std::string>* s = n.as_string();
    if (!s) return Err(n, key, "must be a string, not " + std::string(TypeName(n)));
    const std::string& v = s->get();
    if (v.size() > kMaxValueBytes) {
      return Err(n, key, "is longer than " + std::to_string(kMaxValueBytes) + " bytes");
    }
    if (v.find('\0') != std::string::npos) return Err(n, key, "contains a NUL byte");
    return v;
  }

  // An absolute path; `empty_ok`: "" means the default.
  Result<std::string> Path(const toml::node& n, const std::string& key, bool empty_ok) const {
    WARDEN_ASSIGN_OR_RETURN(std::string v, String(n, key));
    if (v.empty() && empty_ok) return v;
    if (std::string problem = policy::PathProblem(v); !problem.empty()) {
      return Err(n, key, "\"" + Shown(v) + "\": " + problem);
    }
    return v;
  }

  // A size string ("64M") or an integer number of bytes, within [min, max].
  Result<uint64_t> Size(const toml::node& n, const std::string& key, uint64_t min,
                        uint64_t max) const {
    uint64_t v = 0;
    if (const toml::value<int64_t>* i = n.as_integer()) {
      if (i->get() < 0) return Err(n, key, "must not be negative");
      v = static_cast<uint64_t>(i->get());
    } else if (const toml::value<std::string>* s = n.as_string()) {
      Result<uint64_t> parsed = policy::ParseSize(s->get());
      if (!parsed.ok()) return Err(n, key, "is not a size: " + parsed.status().message());
      v = parsed.value();
    } else {
      return Err(n, key, "must be a size like \"64M\" or \"8G\" (or bytes, an integer), not " +
                             std::string(TypeName(n)));
    }
    if (v < min || v > max) {
      return Err(n, key, "must be between " + std::to_string(min) + " and " +
                             std::to_string(max) + " bytes, not " + std::to_string(v));
    }
    return v;
  }

  // A duration string ("500ms", "30s", "5m", "2h", and "30d" for days) or an
  // integer number of seconds, within [min_ms, max_ms].
  Result<uint64_t> Duration(const toml::node& n, const std::string& key, uint64_t min_ms,
                            uint64_t max_ms) const {
    uint64_t v = 0;
    if (const toml::value<int64_t>* i = n.as_integer()) {
      if (i->get() < 0 || static_cast<uint64_t>(i->get()) > policy::kMaxDurationMs / 1000) {
        return Err(n, key, "must be between 0 and 366 days");
      }
      v = static_cast<uint64_t>(i->get()) * 1000;
    } else if (const toml::value<std::string>* s = n.as_string()) {
      std::string_view text = s->get();
      if (text.size() > 1 && text.back() == 'd') {
        // Days: the number is the duration grammar's own, in days.
        Result<uint64_t> days = policy::ParseCount(text.substr(0, text.size() - 1), 0, 366);
        if (!days.ok()) return Err(n, key, "is not a duration: " + days.status().message());
        v = days.value() * kDayMs;
      } else {
        Result<uint64_t> parsed = policy::ParseDurationMs(text);
        if (!parsed.ok()) return Err(n, key, "is not a duration: " + parsed.status().message());
        v = parsed.value();
      }
    } else {
      return Err(n, key, "must be a duration like \"500ms\", \"30s\", \"5m\", \"2h\" or \"30d\", not " +
                             std::string(TypeName(n)));
    }
    if (v < min_ms || v > max_ms) {
      return Err(n, key, "must be between " + std::to_string(min_ms) + " ms and " +
                             std::to_string(max_ms) + " ms, not " + std::to_string(v) + " ms");
    }
    return v;
  }

  Result<uint32_t> Mode(const toml::node& n, const std::string& key) const {
    const char* allowed = "a string of octal digits like \"0660\", at most \"0777\"";
    uint64_t v = 0;
    if (const toml::value<std::string>* s = n.as_string()) {
      const std::string& t = s->get();
      if (t.empty() || t.size() > 4 ||
          !std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '7'; })) {
        return Err(n, key, "\"" + Shown(t) + "\" must be " + allowed);
      }
      for (char ch : t) v = v * 8 + static_cast<uint64_t>(ch - '0');
    } else if (const toml::value<int64_t>* i = n.as_integer()) {
      // TOML's own octal integers (0o660).
      if (i->get() < 0) return Err(n, key, std::string("must be ") + allowed);
      v = static_cast<uint64_t>(i->get());
    } else {
      return Err(n, key, std::string("must be ") + allowed + ", not " + TypeName(n));
    }
    if (v > 0777) return Err(n, key, std::string("must be ") + allowed + " (no setuid, setgid or sticky bit)");
    if ((v & 0600) != 0600) return Err(n, key, "must let the owner (root) read and write the socket");
    return static_cast<uint32_t>(v);
  }

  Result<std::string> Group(const toml::node& n, const std::string& key) const {
    WARDEN_ASSIGN_OR_RETURN(std::string v, String(n, key));
    const bool ok =
        v.size() <= 32 && std::all_of(v.begin(), v.end(), [](char ch) {
          return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '-' || ch == '.';
        }) && (v.empty() || v[0] != '-');
    if (!ok) {
      return Err(n, key, "\"" + Shown(v) + "\" is not a group name (letters, digits, '_', '-', "
                         "'.', at most 32); \"\" admits root only");
    }
    return v;
  }

  Status Value(const std::string& key, const toml::node& n, AgentConfig* c) {
    const std::string& s = section_;
    if (s == "agent") {
      if (key == "state_dir") return Assign(Path(n, key, false), &c->state_dir);
      if (key == "socket") return Assign(Path(n, key, false), &c->socket);
      if (key == "group") return Assign(Group(n, key), &c->group);
      if (key == "socket_mode") return Assign(Mode(n, key), &c->socket_mode);
    } else if (s == "limits") {
      if (key == "max_message_bytes") return Assign(Size(n, key, 1 << 10, 64 << 20), &c->max_message_bytes);
      if (key == "max_connections") {
        loc_max_connections_ = LocOf(n.source(), file_);
        return Assign(Int(n, key, 1, 65536), &c->max_connections);
      }
      if (key == "max_connections_per_uid") {
        loc_per_uid_ = LocOf(n.source(), file_);
        return Assign(Int(n, key, 1, 65536), &c->max_connections_per_uid);
      }
      if (key == "idle_timeout") return Assign(Duration(n, key, 1'000, 7 * kDayMs), &c->idle_timeout_ms);
      if (key == "max_queued") return Assign(Int(n, key, 1, 10'000'000), &c->max_queued);
      if (key == "max_queued_per_uid") {
        loc_queued_per_uid_ = LocOf(n.source(), file_);
        return Assign(Int(n, key, 1, 10'000'000), &c->max_queued_per_uid);
      }
    } else if (s == "scheduler") {
      if (key == "max_running") return Assign(Int(n, key, 0, 65536), &c->max_running);
      if (key == "memory_budget") {
        return Assign(Size(n, key, 0, policy::kMaxSizeBytes), &c->memory_budget_bytes);
      }
      if (key == "pids_budget") return Assign(Int(n, key, 0, 1ull << 32), &c->pids_budget);
      if (key == "hold") return Assign(Bool(n, key), &c->hold);
    } else if (s == "retention") {
      if (key == "max_age") return Assign(Duration(n, key, 0, policy::kMaxDurationMs), &c->retention_ms);
      if (key == "max_jobs") return Assign(Int(n, key, 0, 100'000'000), &c->retention_max_jobs);
      if (key == "max_bytes") {
        return Assign(Size(n, key, 0, policy::kMaxSizeBytes), &c->retention_max_bytes);
      }
    } else if (s == "wal") {
      if (key == "checkpoint_every_records") {
        return Assign(Int(n, key, 1, 100'000'000), &c->checkpoint_every_records);
      }
      if (key == "segment_bytes") {
        return Assign(Size(n, key, 64ull << 10, 1ull << 30), &c->wal_segment_bytes);
      }
    } else if (s == "monitor") {
      if (key == "heartbeat_interval") {
        loc_heartbeat_ = LocOf(n.source(), file_);
        return Assign(Duration(n, key, 10, 3'600'000), &c->heartbeat_ms);
      }
      if (key == "hung_after") {
        loc_hung_ = LocOf(n.source(), file_);
        return Assign(Duration(n, key, 1, policy::kMaxDurationMs), &c->hung_after_ms);
      }
    } else if (s == "launcher") {
      if (key == "state_dir") return Assign(Path(n, key, false), &c->launcher_state_dir);
      if (key == "cache_dir") return Assign(Path(n, key, false), &c->cache_dir);
      if (key == "policy_dir") return Assign(Path(n, key, true), &c->policy_dir);
      if (key == "net_state_dir") return Assign(Path(n, key, true), &c->net_state_dir);
      if (key == "uid_state_dir") return Assign(Path(n, key, true), &c->uid_state_dir);
      // The launcher checks these at its start (LauncherOptions); here
      // they are bounded strings.
      if (key == "cgroup_parent") return Assign(String(n, key), &c->cgroup_parent);
      if (key == "net_pool") return Assign(String(n, key), &c->net_pool);
      if (key == "uid_range") return Assign(String(n, key), &c->uid_range);
      if (key == "cgroup_disable") return Assign(String(n, key), &c->cgroup_disable);
      if (key == "may_change_sysctls") return Assign(Bool(n, key), &c->may_change_sysctls);
    }
    // CheckKeys let through only known keys.
    return ErrLoc(LocOf(n.source(), file_), "unknown key " + s + "." + key);
  }

  template <typename T, typename U>
  static Status Assign(Result<T> r, U* out) {
    if (!r.ok()) return r.take_status();
    *out = static_cast<U>(r.value());
    return Status::Ok();
  }

 public:
  // The checks between keys, at the location of the key that breaks them.
  Status CrossChecks(const AgentConfig& c) const {
    if (c.max_connections_per_uid > c.max_connections) {
      return ErrLoc(At(loc_per_uid_.line ? loc_per_uid_ : loc_max_connections_),
                    "limits.max_connections_per_uid (" + std::to_string(c.max_connections_per_uid) +
                        ") must be at most limits.max_connections (" +
                        std::to_string(c.max_connections) + ")");
    }
    if (c.max_queued_per_uid > c.max_queued) {
      return ErrLoc(At(loc_queued_per_uid_),
                    "limits.max_queued_per_uid (" + std::to_string(c.max_queued_per_uid) +
                        ") must be at most limits.max_queued (" + std::to_string(c.max_queued) + ")");
    }
    if (c.hung_after_ms <= 2 * c.heartbeat_ms) {
      return ErrLoc(At(loc_hung_.line ? loc_hung_ : loc_heartbeat_),
                    "monitor.hung_after (" + std::to_string(c.hung_after_ms) +
                        " ms) must be more than twice monitor.heartbeat_interval (" +
                        std::to_string(c.heartbeat_ms) + " ms)");
    }
    return Status::Ok();
  }

 private:
  // A key's location, or the file's start for a key that kept its default.
  Loc At(const Loc& loc) const { return loc.line ? loc : Loc{file_, 1, 1}; }

  std::string file_;
  std::string section_;
  // Where the keys of the cross checks were; line 0: not in the file.
  Loc loc_max_connections_{"", 0, 0};
  Loc loc_per_uid_{"", 0, 0};
  Loc loc_queued_per_uid_{"", 0, 0};
  Loc loc_heartbeat_{"", 0, 0};
  Loc loc_hung_{"", 0, 0};
};

uint32_t CpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<uint32_t>(n);
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

}  // namespace

Result<AgentConfig> ParseAgentConfig(const std::string& text, const std::string& name) {
  if (text.size() > kMaxConfigBytes) {
    return ErrLoc({name, 1, 1}, "the file is larger than " + std::to_string(kMaxConfigBytes) + " bytes");
  }
  WARDEN_ASSIGN_OR_RETURN(toml::table root, policy::ParseToml(text, name));
  AgentConfig c;
  Parser p(name);
  WARDEN_RETURN_IF_ERROR(p.Apply(root, &c));
  WARDEN_RETURN_IF_ERROR(p.CrossChecks(c));
  return c;
}

Result<AgentConfig> LoadAgentConfig(const std::string& path, bool missing_ok) {
  // The last component is not followed: the file is the administrator's,
  // not something a link points at. A FIFO or device is refused before it
  // can block the read (O_NONBLOCK, then the type check).
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  }));
  if (!fd) {
    if (errno == ENOENT && missing_ok) {
      AgentConfig c;
      c.max_running = 2 * CpuCount();
      return c;
    }
    if (errno == ELOOP) {
      return Status::Error(Code::kInvalidArgument,
                           "agent config \"" + path + "\" is a symbolic link; name the file itself");
    }
    return Status::FromErrno(errno, "open(\"" + path + "\")");
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + path + "\")");
  if (!S_ISREG(st.st_mode)) {
    return Status::Error(Code::kInvalidArgument, "agent config \"" + path + "\" is not a regular file");
  }
  // Who may write the file decides who may use the agent (group,
  // socket_mode), where its state is and which policies it runs: its
  // owner is root (or the agent's user), and no one else may write it but
  // the root group.
  if ((st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & S_IWOTH) != 0 ||
      ((st.st_mode & S_IWGRP) != 0 && st.st_gid != 0)) {
    return Status::Error(Code::kPermissionDenied,
                         "agent config \"" + path + "\" is owned by uid " + std::to_string(st.st_uid) +
                             " with mode " + OctalMode(st.st_mode) + " and group " + std::to_string(st.st_gid) +
                             ": another user could rewrite it; make it owned by root and not "
                             "writable by group or others");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigBytes) {
    return Status::Error(Code::kInvalidArgument, "agent config \"" + path + "\" is larger than " +
                                                     std::to_string(kMaxConfigBytes) + " bytes");
  }
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = base::RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return Status::FromErrno(errno, "read(\"" + path + "\")");
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      return Status::Error(Code::kInvalidArgument, "agent config \"" + path + "\" is larger than " +
                                                       std::to_string(kMaxConfigBytes) + " bytes");
    }
  }
  WARDEN_ASSIGN_OR_RETURN(AgentConfig c, ParseAgentConfig(text, path));
  if (c.max_running == 0) c.max_running = 2 * CpuCount();
  return c;
}

}  // namespace warden::agent
