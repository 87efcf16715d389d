#include "base/fault.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/check.h"
#include "warden/status.h"

namespace warden::base {
namespace {

struct FaultConfig {
  std::string name;     // empty: no crash point armed
  unsigned long nth = 1;
};

std::mutex g_mu;
FaultConfig g_config;
std::atomic<bool> g_armed{false};
std::atomic<unsigned long> g_hits{0};

// Parses "name" or "name:nth" (nth a positive count); false when it is not
// one of KnownCrashPoints() with a good count.
bool ParseCrashSpec(const std::string& spec, FaultConfig* out) {
  if (spec.size() >= 256) return false;
  size_t colon = spec.rfind(':');
  out->name = spec.substr(0, colon);
  out->nth = 1;
  if (colon != std::string::npos) {
    const char* digits = spec.c_str() + colon + 1;
    char* end = nullptr;
    errno = 0;
    unsigned long nth = std::strtoul(digits, &end, 10);
    if (end == digits || *end != '\0' || nth == 0 || errno != 0) return false;
    out->nth = nth;
  }
  const auto& known = KnownCrashPoints();
  return std::find(known.begin(), known.end(), out->name) != known.end();
}

}  // namespace

Status CheckCrashPoint(const std::string& spec) {
  FaultConfig config;
  if (!spec.empty() && !ParseCrashSpec(spec, &config)) {
    return Status::Error(Code::kInvalidArgument,
                         "crash point \"" + spec.substr(0, 64) +
                             "\": expected NAME or NAME:N (N >= 1), NAME one of the crash "
                             "points in docs/durability.md");
  }
  return Status::Ok();
}

Status SetCrashPoint(const std::string& spec) {
  WARDEN_RETURN_IF_ERROR(CheckCrashPoint(spec));
  FaultConfig config;
  if (!spec.empty()) ParseCrashSpec(spec, &config);
  std::lock_guard<std::mutex> lock(g_mu);
  g_config = spec.empty() ? FaultConfig() : config;
  g_hits.store(0);
  g_armed.store(!g_config.name.empty());
  return Status::Ok();
}

const std::vector<std::string>& KnownCrashPoints() {
  static const std::vector<std::string> kPoints = {
      "wal.before_write",     "wal.after_write",      "wal.after_sync",
      "wal.segment_created",  "wal.checkpoint_committed", "wal.checkpoint_before_delete",
      "commit.after_write",   "commit.after_sync",    "commit.after_rename",
      "commit.after_dirsync", "txn.after_temps",      "txn.after_intent",
      "txn.after_rename",     "txn.before_done",      "heartbeat.before_commit",
      "launch.after_clone",
      // The agent's job core (agent/core.cc).
      "agent.submit.before_append", "agent.submit.after_durable", "agent.start.after_starting",
      "agent.start.after_spawn", "agent.start.after_running", "agent.exit.before_record",
      "agent.exit.after_record", "agent.checkpoint.before", "agent.checkpoint.after",
      "agent.retention.after_record",
  };
  return kPoints;
}

void CrashPoint(const char* name) {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  const auto& known = KnownCrashPoints();
  WARDEN_CHECK(std::find(known.begin(), known.end(), name) != known.end());
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_config.name != name) return;
  if (g_hits.fetch_add(1) + 1 == g_config.nth) {
    // SIGKILL, not abort: nothing may run after a crash point, not even
    // atexit handlers or buffered stdio flushes.
    ::kill(::getpid(), SIGKILL);
    ::pause();
  }
}

bool CrashPointArmed(const char* name) {
  if (!g_armed.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(g_mu);
  return g_config.name == name;
}

namespace {
// The fault specs, set before jobs start (fault.h) and read by launches.
std::mutex g_spec_mu;
std::string g_child_spec;
std::string g_parent_spec;
}  // namespace

void SetChildFaultSpec(const std::string& spec) {
  std::lock_guard<std::mutex> lock(g_spec_mu);
  g_child_spec = spec;
}

std::string ChildFaultSpec() {
  std::lock_guard<std::mutex> lock(g_spec_mu);
  return g_child_spec;
}

namespace {

// Splits "<call>[:<errno>]"; false when the errno part is not a positive
// number.
bool SplitParentSpec(const std::string& spec, std::string* call, int* err) {
  std::string s(spec);
  *err = EIO;
  if (size_t colon = s.rfind(':'); colon != std::string::npos) {
    char* end = nullptr;
    const long e = std::strtol(s.c_str() + colon + 1, &end, 10);
    if (end == s.c_str() + colon + 1 || *end != '\0' || e <= 0 || e > 4095) return false;
    *err = static_cast<int>(e);
    s.resize(colon);
  }
  *call = s;
  return true;
}

std::string ParentFaultSpec() {
  std::lock_guard<std::mutex> lock(g_spec_mu);
  return g_parent_spec;
}
}  // namespace

const std::vector<std::string>& KnownParentFaultCalls() {
  static const std::vector<std::string> kCalls = {
      "sigprocmask", "signalfd", "fcntl(output pipe)", "fcntl(pty master)",
  };
  return kCalls;
}

Status CheckParentFaultSpec(const std::string& spec) {
  if (!spec.empty()) {
    std::string call;
    int err = 0;
    const auto& known = KnownParentFaultCalls();
    if (!SplitParentSpec(spec, &call, &err) ||
        std::find(known.begin(), known.end(), call) == known.end()) {
      return Status::Error(Code::kInvalidArgument, "WARDEN_FAULT_PARENT_CALL: no parent call \"" +
                                                       spec.substr(0, 64) +
                                                       "\" (or a bad errno)");
    }
  }
  return Status::Ok();
}

Status SetParentFaultSpec(const std::string& spec) {
  WARDEN_RETURN_IF_ERROR(CheckParentFaultSpec(spec));
  std::lock_guard<std::mutex> lock(g_spec_mu);
  g_parent_spec = spec;
  return Status::Ok();
}

int ParentCallErrno(const char* call, int err) {
  const auto& known = KnownParentFaultCalls();
  WARDEN_CHECK(std::find(known.begin(), known.end(), call) != known.end());
  if (err != 0) return err;
  const std::string spec = ParentFaultSpec();
  if (spec.empty()) return 0;
  std::string name;
  int injected = 0;
  if (!SplitParentSpec(spec, &name, &injected) || name != call) return 0;
  return injected;
}

}  // namespace warden::base
