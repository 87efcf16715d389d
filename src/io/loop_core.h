// Internal: what both loop backends share (timers, posted callbacks). Not
// part of the io API.
#ifndef WARDEN_IO_LOOP_CORE_H_
#define WARDEN_IO_LOOP_CORE_H_

#include <deque>
#include <map>
#include <unordered_map>
#include <utility>

#include "io/loop.h"

namespace warden::io {

// Blocking file work (fsync, fdatasync) that may run at once: io_uring's
// bounded io-wq workers, the plain backend's pool threads. A journaling file
// system commits concurrent syncs together, so more waiters mean more
// commits per journal write.
inline constexpr unsigned kSyncWorkers = 32;

class LoopCore : public Loop {
 public:
  void Post(Callback cb) override { posted_.push_back(std::move(cb)); }
  TimerId AddTimer(uint64_t delay_ms, Callback cb) override;
  bool CancelTimer(TimerId id) override;

 protected:
  explicit LoopCore(const LoopOptions& options) : options_(options) {}
  // The wait a tick may take: 0 when callbacks are ready, the time to the
  // next timer, or `requested` (-1: forever), whichever is smallest.
  int WaitMs(int requested) const;
  // Runs expired timers and the callbacks posted before this call.
  void RunTimersAndPosted();

  LoopOptions options_;
  uint64_t next_id_ = 1;

 private:
  std::deque<Callback> posted_;
  std::map<std::pair<uint64_t, TimerId>, Callback> timers_;
  std::unordered_map<TimerId, uint64_t> timer_deadlines_;
};

// Backend constructors, defined in uring_loop.cc and epoll_loop.cc.
Result<std::unique_ptr<Loop>> CreateUringLoop(const LoopOptions& options, std::string reason);
Result<std::unique_ptr<Loop>> CreateEpollLoop(const LoopOptions& options, std::string reason);

}  // namespace warden::io

#endif  // WARDEN_IO_LOOP_CORE_H_
