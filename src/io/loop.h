// The event loop: one thread, one loop, two interchangeable backends.
//
// The io_uring backend submits file and socket operations to the kernel and
// reaps their completions; the plain backend runs the same operations as
// ordinary syscalls (epoll for readiness, blocking pwrite/fdatasync for
// files) and delivers their completions on a later tick. Code written against
// Loop cannot tell them apart, except in speed.
//
// Threading: a Loop and everything it calls back run on the thread that calls
// Run/RunOnce. No method is thread-safe. Callbacks always run from the loop,
// never inside the call that registered them, so a caller may hold state that
// the callback also touches.
//
// Buffers passed to Read/Write/WriteAndSync/CommitChain must stay valid until
// the callback runs. Callbacks that have not run when the loop is destroyed
// are dropped without being called.
#ifndef WARDEN_IO_LOOP_H_
#define WARDEN_IO_LOOP_H_

#include <signal.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::io {

enum class Backend { kUring, kPlain };
const char* BackendName(Backend backend);

struct LoopOptions {
  // Unset: io_uring unless unavailable or WARDEN_IO=plain. Set: that backend
  // or an error (kUring on a host without io_uring fails, it does not fall
  // back).
  bool force = false;
  Backend backend = Backend::kUring;
  unsigned ring_entries = 256;           // submission queue size, 8..4096
  unsigned max_completions_per_tick = 64;  // 1..4096
  // Test hook: the io_uring backend caps every file write at this many bytes
  // so that the short-write path of CommitChain and WriteAndSync runs. 0: off.
  size_t test_max_write_bytes = 0;
};

// Which backend a new loop would use, and why, without creating one.
struct BackendChoice {
  Backend backend = Backend::kPlain;
  std::string reason;
};
BackendChoice ChooseBackend();
// Process-wide (DiagnosticOptions::io_backend = "plain"): true makes every
// new loop, and ChooseBackend, use plain syscalls. Set before loops start.
void ForcePlainBackend(bool force);

using Callback = std::function<void()>;
using IoCallback = std::function<void(Result<size_t>)>;
using StatusCallback = std::function<void(Status)>;
using TimerId = uint64_t;
using WatchId = uint64_t;

// An atomic file replacement: `data` is written to the open file tmp_fd,
// made durable with fdatasync, renamed from tmp_name to final_name in the
// directory dir_fd, and the directory is fsynced. On io_uring the four steps
// are one chain of linked SQEs.
struct CommitOp {
  int tmp_fd = -1;
  int dir_fd = -1;
  std::string tmp_name;    // relative to dir_fd
  std::string final_name;  // relative to dir_fd
  const void* data = nullptr;
  size_t len = 0;
};

class Loop {
 public:
  virtual ~Loop() = default;
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Creates a loop on the backend from ChooseBackend() or options.
  static Result<std::unique_ptr<Loop>> Create(const LoopOptions& options = {});

  virtual Backend backend() const = 0;
  const std::string& backend_reason() const { return reason_; }

  // Runs cb on the next tick.
  virtual void Post(Callback cb) = 0;
  // Runs cb once, no earlier than delay_ms from now.
  virtual TimerId AddTimer(uint64_t delay_ms, Callback cb) = 0;
  // Returns false when the timer already ran or does not exist.
  virtual bool CancelTimer(TimerId id) = 0;

  // Calls cb once when fd is readable (POLLIN) or writable (POLLOUT), as
  // `events` asks. Used for pidfds (readable when the process has exited),
  // signalfds and sockets.
  virtual WatchId Watch(int fd, uint32_t poll_events, Callback cb) = 0;
  virtual void CancelWatch(WatchId id) = 0;

  // One read or write. offset >= 0 for files; -1 for sockets and pipes
  // (the current position). The result is the byte count, which may be short.
  virtual void Read(int fd, void* buf, size_t len, int64_t offset, IoCallback cb) = 0;
  virtual void Write(int fd, const void* buf, size_t len, int64_t offset, IoCallback cb) = 0;
  virtual void Fsync(int fd, bool data_only, StatusCallback cb) = 0;

  // Writes all of buf at offset (short writes are continued) and then
  // fdatasyncs fd. On io_uring the write and fdatasync are linked SQEs.
  virtual void WriteAndSync(int fd, const void* buf, size_t len, uint64_t offset,
                            StatusCallback cb) = 0;
  // See CommitOp. The callback's Status names the step that failed.
  virtual void CommitChain(const CommitOp& op, StatusCallback cb) = 0;

  // One tick: waits up to timeout_ms (-1: until something happens) for work,
  // then runs expired timers, callbacks posted before the tick and at most
  // max_completions_per_tick completions. Errors are loop failures, not
  // failures of single operations.
  virtual Status RunOnce(int timeout_ms) = 0;
  // Ticks until done() returns true; kUnavailable ("timed out") when
  // timeout_ms passes first.
  Status RunUntil(const std::function<bool()>& done, int64_t timeout_ms);
  // Ticks until Stop() is called.
  Status Run();
  void Stop() { stop_ = true; }

  // Number of operations submitted and not yet completed.
  virtual size_t pending() const = 0;

 protected:
  Loop() = default;
  std::string reason_;
  bool stop_ = false;
};

// Blocks `signals` in the calling thread and delivers them through a
// signalfd watched by the loop; cb runs once per signal received.
class SignalWatcher {
 public:
  static Result<std::unique_ptr<SignalWatcher>> Create(
      Loop* loop, const sigset_t& signals, std::function<void(int signo)> cb);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  SignalWatcher() = default;
  void Arm();
  Loop* loop_ = nullptr;
  base::UniqueFd fd_;
  sigset_t signals_{};
  std::function<void(int)> cb_;
  WatchId watch_ = 0;
  bool armed_ = false;
};

// Calls cb once when the process behind pidfd has exited. The caller keeps
// the pidfd open until then; need not be the process's parent.
WatchId WatchPidfd(Loop* loop, int pidfd, Callback cb);

// Opens a pidfd for pid (pidfd_open).
Result<base::UniqueFd> OpenPidfd(pid_t pid);

}  // namespace warden::io

#endif  // WARDEN_IO_LOOP_H_
