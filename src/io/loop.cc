#include "io/loop.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "io/loop_core.h"

namespace warden::io {

const char* BackendName(Backend backend) {
  return backend == Backend::kUring ? "io_uring" : "plain";
}

TimerId LoopCore::AddTimer(uint64_t delay_ms, Callback cb) {
  TimerId id = next_id_++;
  uint64_t deadline = base::MonotonicNs() + delay_ms * 1000000ull;
  timers_.emplace(std::make_pair(deadline, id), std::move(cb));
  timer_deadlines_.emplace(id, deadline);
  return id;
}

bool LoopCore::CancelTimer(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return false;
  timers_.erase(std::make_pair(it->second, id));
  timer_deadlines_.erase(it);
  return true;
}

int LoopCore::WaitMs(int requested) const {
  if (!posted_.empty()) return 0;
  if (timers_.empty()) return requested;
  uint64_t now = base::MonotonicNs();
  uint64_t deadline = timers_.begin()->first.first;
  // Round up so that a tick never wakes just before its timer is due.
  int64_t ms = deadline <= now ? 0 : static_cast<int64_t>((deadline - now + 999999) / 1000000);
  if (requested >= 0 && requested < ms) return requested;
  return static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

void LoopCore::RunTimersAndPosted() {
  uint64_t now = base::MonotonicNs();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    node.mapped()();
  }
  // Only what was posted before this tick runs now: a callback that posts
  // again cannot starve the completions.
  size_t n = posted_.size();
  for (size_t i = 0; i < n && !posted_.empty(); ++i) {
    Callback cb = std::move(posted_.front());
    posted_.pop_front();
    cb();
  }
}

namespace {

// kernel.io_uring_disabled: 0 enabled, 1 only for io_uring_group, 2 off.
int ReadIoUringDisabled() {
  auto text = base::ReadFile("/proc/sys/kernel/io_uring_disabled", 64);
  if (!text.ok()) return 0;  // sysctl absent: older kernels have no switch
  return std::atoi(text.value().c_str());
}

}  // namespace

namespace {

std::atomic<bool> force_plain{false};

}  // namespace

void ForcePlainBackend(bool force) { force_plain.store(force); }

BackendChoice ChooseBackend() {
  BackendChoice choice;
  if (force_plain.load()) {
    choice.reason = "WARDEN_IO=plain forces plain syscalls";
    return choice;
  }
  if (ReadIoUringDisabled() == 2) {
    choice.reason = "io_uring disabled by sysctl kernel.io_uring_disabled=2";
    return choice;
  }
  io_uring ring;
  int rc = io_uring_queue_init(8, &ring, 0);
  if (rc < 0) {
    int err = -rc;
    const char* name = strerrorname_np(err);
    choice.reason = std::string("io_uring_queue_init failed: ") + (name ? name : "?") +
                    (err == EPERM || err == ENOSYS
                         ? " (denied by kernel.io_uring_disabled or a seccomp profile)"
                         : "");
    return choice;
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  std::string missing;
  if (probe == nullptr) {
    missing = "probe";
  } else {
    const std::pair<int, const char*> needed[] = {
        {IORING_OP_READ, "READ"},         {IORING_OP_WRITE, "WRITE"},
        {IORING_OP_FSYNC, "FSYNC"},       {IORING_OP_RENAMEAT, "RENAMEAT"},
        {IORING_OP_POLL_ADD, "POLL_ADD"}, {IORING_OP_POLL_REMOVE, "POLL_REMOVE"}};
    for (const auto& [op, name] : needed) {
      if (!io_uring_opcode_supported(probe, op)) missing += std::string(" ") + name;
    }
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  if (!missing.empty()) {
    choice.reason = "io_uring lacks opcodes:" + missing;
    return choice;
  }
  choice.backend = Backend::kUring;
  choice.reason = "io_uring available";
  return choice;
}

Result<std::unique_ptr<Loop>> Loop::Create(const LoopOptions& options) {
  if (options.ring_entries < 8 || options.ring_entries > 4096) {
    return Status::Error(Code::kInvalidArgument, "loop: ring_entries must be 8..4096");
  }
  if (options.max_completions_per_tick < 1 || options.max_completions_per_tick > 4096) {
    return Status::Error(Code::kInvalidArgument,
                         "loop: max_completions_per_tick must be 1..4096");
  }
  if (options.force) {
    if (options.backend == Backend::kPlain) return CreateEpollLoop(options, "forced by caller");
    return CreateUringLoop(options, "forced by caller");
  }
  BackendChoice choice = ChooseBackend();
  WLOG_INFO("", std::string("io loop: ") + BackendName(choice.backend) + ": " + choice.reason);
  if (choice.backend == Backend::kUring) {
    auto loop = CreateUringLoop(options, choice.reason);
    if (loop.ok()) return loop;
    WLOG_WARN("", "io loop: io_uring failed, using plain syscalls: " +
                      loop.status().ToString());
    return CreateEpollLoop(options, "io_uring setup failed: " + loop.status().ToString());
  }
  return CreateEpollLoop(options, choice.reason);
}

Status Loop::RunUntil(const std::function<bool()>& done, int64_t timeout_ms) {
  uint64_t deadline = base::MonotonicNs() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
  while (!done()) {
    uint64_t now = base::MonotonicNs();
    if (now >= deadline) return Status::Error(Code::kUnavailable, "loop: timed out");
    int wait = static_cast<int>(std::min<uint64_t>((deadline - now) / 1000000 + 1, 1000));
    WARDEN_RETURN_IF_ERROR(RunOnce(wait));
  }
  return Status::Ok();
}

Status Loop::Run() {
  stop_ = false;
  while (!stop_) WARDEN_RETURN_IF_ERROR(RunOnce(-1));
  return Status::Ok();
}

Result<std::unique_ptr<SignalWatcher>> SignalWatcher::Create(
    Loop* loop, const sigset_t& signals, std::function<void(int)> cb) {
  std::unique_ptr<SignalWatcher> w(new SignalWatcher());
  w->loop_ = loop;
  w->signals_ = signals;
  w->cb_ = std::move(cb);
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &signals, nullptr); rc != 0) {
    return Status::FromErrno(rc, "pthread_sigmask(SIG_BLOCK)");
  }
  w->fd_.reset(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!w->fd_) return Status::FromErrno(errno, "signalfd()");
  w->Arm();
  return w;
}

void SignalWatcher::Arm() {
  armed_ = true;
  watch_ = loop_->Watch(fd_.get(), POLLIN, [this] {
    armed_ = false;
    signalfd_siginfo info;
    // Drain everything pending: one readiness may stand for several signals.
    for (;;) {
      ssize_t n = ::read(fd_.get(), &info, sizeof info);
      if (n != static_cast<ssize_t>(sizeof info)) break;
      cb_(static_cast<int>(info.ssi_signo));
    }
    Arm();
  });
}

SignalWatcher::~SignalWatcher() {
  if (armed_) loop_->CancelWatch(watch_);
}

WatchId WatchPidfd(Loop* loop, int pidfd, Callback cb) {
  return loop->Watch(pidfd, POLLIN, std::move(cb));
}

Result<base::UniqueFd> OpenPidfd(pid_t pid) {
  int fd = base::PidfdOpen(pid);
  if (fd < 0) return Status::FromErrno(errno, "pidfd_open(" + std::to_string(pid) + ")");
  return base::UniqueFd(fd);
}

}  // namespace warden::io
