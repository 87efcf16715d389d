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

namespace warden::base {
namespace {

struct FaultConfig {
  std::string name;     // empty: no crash point armed
  unsigned long nth = 1;
};

std::mutex g_mu;
FaultConfig g_config;
std::atomic<bool> g_loaded{false};
std::atomic<bool> g_armed{false};
std::atomic<unsigned long> g_hits{0};

void LoadLocked() {
  g_config = FaultConfig();
  g_hits.store(0);
  const char* env = std::getenv("WARDEN_FAULT");
  if (env != nullptr && *env != '\0' && std::strlen(env) < 256) {
    std::string spec(env);
    size_t colon = spec.rfind(':');
    g_config.name = spec.substr(0, colon);
    if (colon != std::string::npos) {
      char* end = nullptr;
      unsigned long nth = std::strtoul(spec.c_str() + colon + 1, &end, 10);
      // A malformed count arms nothing rather than crashing at a guess.
      if (end == nullptr || *end != '\0' || nth == 0) g_config.name.clear();
      g_config.nth = nth;
    }
  }
  g_armed.store(!g_config.name.empty());
  g_loaded.store(true);
}

}  // namespace

const std::vector<std::string>& KnownCrashPoints() {
  static const std::vector<std::string> kPoints = {
      "wal.before_write",     "wal.after_write",      "wal.after_sync",
      "wal.segment_created",  "wal.checkpoint_committed", "wal.checkpoint_before_delete",
      "commit.after_write",   "commit.after_sync",    "commit.after_rename",
      "commit.after_dirsync", "txn.after_temps",      "txn.after_intent",
      "txn.after_rename",     "txn.before_done",      "heartbeat.before_commit",
      "launch.after_clone",
  };
  return kPoints;
}

void CrashPoint(const char* name) {
  if (!g_loaded.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_loaded.load()) LoadLocked();
  }
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
  if (!g_loaded.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_loaded.load()) LoadLocked();
  }
  if (!g_armed.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(g_mu);
  return g_config.name == name;
}

namespace {
std::atomic<bool> g_child_faults{false};
}  // namespace

void EnableChildFaults() { g_child_faults.store(true); }

const char* ChildFaultSpec() {
  if (!g_child_faults.load()) return nullptr;
  const char* spec = std::getenv("WARDEN_FAULT_CHILD_STEP");
  return spec != nullptr && *spec != '\0' ? spec : nullptr;
}

namespace {
std::atomic<bool> g_parent_faults{false};

// Splits "<call>[:<errno>]"; false when the errno part is not a positive
// number.
bool SplitParentSpec(const char* spec, std::string* call, int* err) {
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

const char* ParentFaultSpec() {
  if (!g_parent_faults.load()) return nullptr;
  const char* spec = std::getenv("WARDEN_FAULT_PARENT_CALL");
  return spec != nullptr && *spec != '\0' ? spec : nullptr;
}
}  // namespace

void EnableParentFaults() { g_parent_faults.store(true); }

const std::vector<std::string>& KnownParentFaultCalls() {
  static const std::vector<std::string> kCalls = {
      "sigprocmask", "signalfd", "fcntl(output pipe)", "fcntl(pty master)",
  };
  return kCalls;
}

bool ParentFaultSpecValid(std::string* problem) {
  const char* spec = ParentFaultSpec();
  if (spec == nullptr) return true;
  std::string call;
  int err = 0;
  const auto& known = KnownParentFaultCalls();
  if (!SplitParentSpec(spec, &call, &err) ||
      std::find(known.begin(), known.end(), call) == known.end()) {
    *problem = std::string("WARDEN_FAULT_PARENT_CALL: no parent call \"") + spec +
               "\" (or a bad errno)";
    return false;
  }
  return true;
}

int ParentCallErrno(const char* call, int err) {
  const auto& known = KnownParentFaultCalls();
  WARDEN_CHECK(std::find(known.begin(), known.end(), call) != known.end());
  if (err != 0) return err;
  const char* spec = ParentFaultSpec();
  if (spec == nullptr) return 0;
  std::string name;
  int injected = 0;
  if (!SplitParentSpec(spec, &name, &injected) || name != call) return 0;
  return injected;
}

void ReloadFaultConfig() {
  std::lock_guard<std::mutex> lock(g_mu);
  LoadLocked();
}

}  // namespace warden::base
