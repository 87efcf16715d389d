// The plain backend: epoll for readiness, ordinary blocking syscalls for file
// I/O. Reads and writes run inline (page cache speed) and their callbacks are
// queued as completions, so callers see the same "callback on a later tick"
// contract as on io_uring. Work that waits for the disk (fsync, write+sync,
// commit chains) runs on a small worker pool, so that many of them can be in
// flight at once, as on io_uring. Each watch registers its own dup() of the fd, so a read and a
// write watch on one socket never collide in the epoll set.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <deque>
#include <unordered_map>

#include "base/fault.h"
#include "base/file.h"
#include "io/loop_core.h"
#include "io/sync_pool.h"

namespace warden::io {
namespace {

struct WatchEntry {
  base::UniqueFd dup_fd;
  Callback cb;
};

class EpollLoop final : public LoopCore {
 public:
  EpollLoop(const LoopOptions& options, std::string reason) : LoopCore(options) {
    reason_ = std::move(reason);
  }

  Status Init() {
    epfd_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epfd_) return Status::FromErrno(errno, "epoll_create1");
    WARDEN_RETURN_IF_ERROR(pool_.Init());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kPoolEvent;
    if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, pool_.event_fd(), &ev) != 0) {
      return Status::FromErrno(errno, "epoll_ctl(eventfd)");
    }
    return Status::Ok();
  }

  Backend backend() const override { return Backend::kPlain; }
  size_t pending() const override {
    return watches_.size() + completions_.size() + pool_.in_flight();
  }

  WatchId Watch(int fd, uint32_t poll_events, Callback cb) override {
    WatchId id = next_id_++;
    WatchEntry entry;
    entry.dup_fd.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!entry.dup_fd) {
      // No fd to watch with: report readiness at once, so that the caller's
      // read or write runs and returns the real error.
      completions_.push_back(std::move(cb));
      return id;
    }
    epoll_event ev{};
    ev.events = EPOLLONESHOT;
    if (poll_events & POLLIN) ev.events |= EPOLLIN;
    if (poll_events & POLLOUT) ev.events |= EPOLLOUT;
    ev.data.u64 = id;
    if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, entry.dup_fd.get(), &ev) != 0) {
      completions_.push_back(std::move(cb));
      return id;
    }
    entry.cb = std::move(cb);
    watches_.emplace(id, std::move(entry));
    return id;
  }

  void CancelWatch(WatchId id) override {
    auto it = watches_.find(id);
    if (it == watches_.end()) return;
    ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, it->second.dup_fd.get(), nullptr);
    watches_.erase(it);
  }

  void Read(int fd, void* buf, size_t len, int64_t offset, IoCallback cb) override {
    if (offset >= 0) {
      ssize_t n = base::RetryEintr([&] { return ::pread(fd, buf, len, offset); });
      completions_.push_back(BindIo(std::move(cb), n, "pread", fd));
      return;
    }
    Watch(fd, POLLIN, [this, fd, buf, len, cb = std::move(cb)]() mutable {
      ssize_t n = base::RetryEintr([&] { return ::read(fd, buf, len); });
      BindIo(std::move(cb), n, "read", fd)();
    });
  }

  void Write(int fd, const void* buf, size_t len, int64_t offset, IoCallback cb) override {
    if (offset >= 0) {
      ssize_t n = base::RetryEintr([&] { return ::pwrite(fd, buf, len, offset); });
      completions_.push_back(BindIo(std::move(cb), n, "pwrite", fd));
      return;
    }
    ssize_t n = base::RetryEintr([&] { return ::write(fd, buf, len); });
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      completions_.push_back(BindIo(std::move(cb), n, "write", fd));
      return;
    }
    Watch(fd, POLLOUT, [this, fd, buf, len, cb = std::move(cb)]() mutable {
      ssize_t m = base::RetryEintr([&] { return ::write(fd, buf, len); });
      BindIo(std::move(cb), m, "write", fd)();
    });
  }

  void Fsync(int fd, bool data_only, StatusCallback cb) override {
    pool_.Submit(
        [fd, data_only] {
          int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
          return rc == 0 ? Status::Ok()
                         : Status::FromErrno(errno, data_only ? "fdatasync" : "fsync");
        },
        std::move(cb));
  }

  void WriteAndSync(int fd, const void* buf, size_t len, uint64_t offset,
                    StatusCallback cb) override {
    pool_.Submit(
        [this, fd, buf, len, offset] {
          WARDEN_RETURN_IF_ERROR(PWriteAll(fd, static_cast<const char*>(buf), len, offset,
                                           "fd " + std::to_string(fd)));
          if (::fdatasync(fd) != 0) {
            return Status::FromErrno(errno, "fdatasync(fd " + std::to_string(fd) + ")");
          }
          return Status::Ok();
        },
        std::move(cb));
  }

  void CommitChain(const CommitOp& op, StatusCallback cb) override {
    pool_.Submit([this, op] { return RunCommit(op); }, std::move(cb));
  }

  Status RunOnce(int timeout_ms) override {
    unsigned budget = options_.max_completions_per_tick;
    int wait_ms = completions_.empty() ? WaitMs(timeout_ms) : 0;
    epoll_event events[64];
    int max_events = static_cast<int>(std::min<unsigned>(budget, 64));
    int n = ::epoll_wait(epfd_.get(), events, max_events, wait_ms);
    if (n < 0 && errno != EINTR) return Status::FromErrno(errno, "epoll_wait");
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kPoolEvent) {
        pool_.TakeFinished(&completions_);
        continue;
      }
      auto it = watches_.find(events[i].data.u64);
      if (it == watches_.end()) continue;
      Callback cb = std::move(it->second.cb);
      ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, it->second.dup_fd.get(), nullptr);
      watches_.erase(it);
      --budget;
      cb();
    }
    // Completions queued before this point only: those queued by the
    // callbacks below wait for the next tick, as on io_uring.
    size_t ready = std::min<size_t>(completions_.size(), budget);
    for (size_t i = 0; i < ready; ++i) {
      Callback cb = std::move(completions_.front());
      completions_.pop_front();
      cb();
    }
    RunTimersAndPosted();
    return Status::Ok();
  }

 private:
  static Callback BindIo(IoCallback cb, ssize_t n, const char* call, int fd) {
    Result<size_t> r = n >= 0 ? Result<size_t>(static_cast<size_t>(n))
                              : Result<size_t>(Status::FromErrno(
                                    errno, std::string(call) + "(fd " + std::to_string(fd) + ")"));
    return [cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); };
  }

  // PWriteAll and RunCommit run on pool threads: they read options_, which
  // never changes after construction, and nothing else of the loop.
  Status PWriteAll(int fd, const char* p, size_t len, uint64_t offset, const std::string& what) {
    size_t done = 0;
    while (done < len) {
      size_t chunk = len - done;
      if (options_.test_max_write_bytes != 0) chunk = std::min(chunk, options_.test_max_write_bytes);
      ssize_t n = base::RetryEintr(
          [&] { return ::pwrite(fd, p + done, chunk, static_cast<off_t>(offset + done)); });
      if (n < 0) return Status::FromErrno(errno, "pwrite(" + what + ")");
      if (n == 0) return Status::Error(Code::kIoError, "pwrite(" + what + "): wrote 0 bytes");
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status RunCommit(const CommitOp& op) {
    const std::string tmp = "\"" + op.tmp_name + "\"";
    WARDEN_RETURN_IF_ERROR(PWriteAll(op.tmp_fd, static_cast<const char*>(op.data), op.len, 0, tmp));
    WARDEN_CRASH_POINT("commit.after_write");
    if (::fdatasync(op.tmp_fd) != 0) return Status::FromErrno(errno, "fdatasync(" + tmp + ")");
    WARDEN_CRASH_POINT("commit.after_sync");
    if (::renameat(op.dir_fd, op.tmp_name.c_str(), op.dir_fd, op.final_name.c_str()) != 0) {
      return Status::FromErrno(errno, "renameat(" + tmp + " -> \"" + op.final_name + "\")");
    }
    WARDEN_CRASH_POINT("commit.after_rename");
    if (::fsync(op.dir_fd) != 0) return Status::FromErrno(errno, "fsync(dir)");
    WARDEN_CRASH_POINT("commit.after_dirsync");
    return Status::Ok();
  }

  // Watch ids count up from 1; this one marks the pool's eventfd.
  static constexpr uint64_t kPoolEvent = ~uint64_t{0};

  base::UniqueFd epfd_;
  std::unordered_map<WatchId, WatchEntry> watches_;
  std::deque<Callback> completions_;
  // Last member: destroyed first, so running work finishes while the rest of
  // the loop still exists.
  SyncPool pool_{kSyncWorkers};
};

}  // namespace

Result<std::unique_ptr<Loop>> CreateEpollLoop(const LoopOptions& options, std::string reason) {
  auto loop = std::make_unique<EpollLoop>(options, std::move(reason));
  WARDEN_RETURN_IF_ERROR(loop->Init());
  return std::unique_ptr<Loop>(std::move(loop));
}

}  // namespace warden::io
