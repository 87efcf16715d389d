#include "store/heartbeat.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include "base/clock.h"
#include "base/fault.h"
#include "base/log.h"
#include "store/atomic.h"
#include "wal/format.h"

namespace warden::store {

std::string EncodeHeartbeat(const HeartbeatRecord& r) {
  char body[128];
  std::snprintf(body, sizeof body, "WHB1 %" PRIu64 " %" PRIu64 " %" PRIu64 " %d", r.seq,
                r.monotonic_ns, r.wall_ns, static_cast<int>(r.pid));
  std::string text(body);
  char crc[16];
  std::snprintf(crc, sizeof crc, " %08x\n", wal::Crc32c(text.data(), text.size()));
  return text + crc;
}

Result<HeartbeatRecord> DecodeHeartbeat(const std::string& text) {
  auto bad = [&](const char* what) {
    return Status::Error(Code::kCorruption, std::string("heartbeat: ") + what);
  };
  if (text.size() > 128 || text.size() < 16 || text.back() != '\n') return bad("bad length");
  size_t crc_at = text.rfind(' ');
  if (crc_at == std::string::npos || text.size() - crc_at != 10) return bad("no checksum");
  unsigned crc = 0;
  if (std::sscanf(text.c_str() + crc_at + 1, "%8x", &crc) != 1) return bad("bad checksum field");
  if (wal::Crc32c(text.data(), crc_at) != crc) return bad("checksum mismatch");
  HeartbeatRecord r;
  int pid = 0;
  if (std::sscanf(text.c_str(), "WHB1 %" SCNu64 " %" SCNu64 " %" SCNu64 " %d", &r.seq,
                  &r.monotonic_ns, &r.wall_ns, &pid) != 4 ||
      pid <= 0) {
    return bad("bad fields");
  }
  r.pid = pid;
  return r;
}

Heartbeat::Heartbeat(io::Loop* loop, io::Env* env, std::string dir, std::string name,
                     uint64_t interval_ms)
    : loop_(loop), env_(env), dir_(std::move(dir)), name_(std::move(name)),
      interval_ms_(interval_ms == 0 ? 1 : interval_ms) {}

Heartbeat::~Heartbeat() {
  Stop();
  *alive_ = false;
  while (in_flight_) {
    if (!loop_->RunOnce(100).ok()) break;
  }
}

void Heartbeat::Start() {
  if (running_) return;
  running_ = true;
  Beat();
}

void Heartbeat::Stop() {
  if (!running_) return;
  running_ = false;
  loop_->CancelTimer(timer_);
}

void Heartbeat::Beat() {
  if (!running_) return;
  // One commit at a time: a slow disk delays beats rather than piling them up.
  if (!in_flight_) {
    HeartbeatRecord r{++seq_, static_cast<uint64_t>(base::MonotonicNs()),
                      static_cast<uint64_t>(base::ClockNs(CLOCK_REALTIME)), ::getpid()};
    in_flight_ = true;
    WARDEN_CRASH_POINT("heartbeat.before_commit");
    std::weak_ptr<bool> alive = alive_;
    CommitFile(loop_, env_, dir_, name_, EncodeHeartbeat(r), [this, alive](Status st) {
      if (alive.expired()) return;
      in_flight_ = false;
      if (!*alive.lock()) return;
      if (st.ok()) {
        ++beats_;
      } else {
        ++failures_;
        WLOG_WARN("", "heartbeat: " + st.ToString());
      }
    });
  }
  timer_ = loop_->AddTimer(interval_ms_, [this] { Beat(); });
}

const char* HeartbeatStateName(HeartbeatState state) {
  switch (state) {
    case HeartbeatState::kFresh: return "fresh";
    case HeartbeatState::kStale: return "stale";
    case HeartbeatState::kDeadPid: return "dead pid";
  }
  return "?";
}

Result<HeartbeatReading> ReadHeartbeat(io::Env* env, const std::string& path,
                                       uint64_t stale_after_ms) {
  WARDEN_ASSIGN_OR_RETURN(std::string text, env->ReadFileToString(path, 256));
  WARDEN_ASSIGN_OR_RETURN(HeartbeatRecord r, DecodeHeartbeat(text));
  HeartbeatReading reading;
  reading.record = r;
  uint64_t now = static_cast<uint64_t>(base::MonotonicNs());
  // A beat "from the future" was written before a reboot.
  bool from_before_boot = r.monotonic_ns > now;
  reading.age_ms = from_before_boot ? UINT64_MAX : (now - r.monotonic_ns) / 1000000;
  if (::kill(r.pid, 0) != 0 && errno == ESRCH) {
    reading.state = HeartbeatState::kDeadPid;
  } else if (from_before_boot || reading.age_ms > stale_after_ms) {
    reading.state = HeartbeatState::kStale;
  } else {
    reading.state = HeartbeatState::kFresh;
  }
  return reading;
}

}  // namespace warden::store
