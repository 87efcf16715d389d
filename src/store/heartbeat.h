// Heartbeat: proof of life written by a long-running process, read by
// whoever needs to know whether it is still there (a restarted agent, gc).
//
// The file holds one line, "WHB1 <seq> <monotonic ns> <wall ns> <pid>
// <crc32c hex>", replaced atomically (store::CommitFile) every interval_ms
// by a loop timer.
#ifndef WARDEN_STORE_HEARTBEAT_H_
#define WARDEN_STORE_HEARTBEAT_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "io/env.h"
#include "io/loop.h"
#include "warden/status.h"

namespace warden::store {

struct HeartbeatRecord {
  uint64_t seq = 0;
  uint64_t monotonic_ns = 0;
  uint64_t wall_ns = 0;
  pid_t pid = 0;
};

std::string EncodeHeartbeat(const HeartbeatRecord& record);
Result<HeartbeatRecord> DecodeHeartbeat(const std::string& text);

// Commits a heartbeat now and then every interval_ms while it lives. Lives on
// the loop's thread. A failed commit is logged and counted; beating goes on.
class Heartbeat {
 public:
  Heartbeat(io::Loop* loop, io::Env* env, std::string dir, std::string name, uint64_t interval_ms);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  void Start();
  void Stop();
  uint64_t beats() const { return beats_; }
  uint64_t failures() const { return failures_; }

 private:
  void Beat();
  io::Loop* loop_;
  io::Env* env_;
  std::string dir_, name_;
  uint64_t interval_ms_;
  io::TimerId timer_ = 0;
  bool running_ = false;
  bool in_flight_ = false;
  uint64_t seq_ = 0, beats_ = 0, failures_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

enum class HeartbeatState {
  kFresh,    // written within stale_after_ms by a live process
  kStale,    // the process lives (or cannot be checked) but stopped beating
  kDeadPid,  // the writing process no longer exists
};
const char* HeartbeatStateName(HeartbeatState state);

struct HeartbeatReading {
  HeartbeatState state = HeartbeatState::kStale;
  HeartbeatRecord record;
  uint64_t age_ms = 0;
};

// Reads path and judges it. Monotonic time is used for age, so wall clock
// jumps do not matter; a beat from before a reboot reads as stale or dead.
Result<HeartbeatReading> ReadHeartbeat(io::Env* env, const std::string& path,
                                       uint64_t stale_after_ms);

}  // namespace warden::store

#endif  // WARDEN_STORE_HEARTBEAT_H_
