// The io_uring backend. Every operation is an Op; each SQE it submits carries
// a pointer to one of the Op's step tags, so a completion finds its Op and
// step. An Op is finished only when every SQE of its current submission has
// completed: a chain whose write came back short is resubmitted from the
// remaining bytes once the kernel has cancelled the rest of the chain.
#include <liburing.h>
#include <poll.h>

#include <array>
#include <cstring>
#include <unordered_map>

#include "base/check.h"
#include "base/fault.h"
#include "io/loop_core.h"

namespace warden::io {
namespace {

enum class Kind { kRead, kWrite, kFsync, kPoll, kWriteSync, kCommit };

struct Op;
struct Tag {
  Op* op = nullptr;
  int step = 0;
};

struct Op {
  Kind kind = Kind::kRead;
  uint64_t id = 0;
  int fd = -1;
  const char* buf = nullptr;
  size_t len = 0;
  int64_t offset = 0;
  size_t written = 0;          // bytes of buf already written (chains)
  uint32_t poll_events = 0;
  bool data_only = true;
  bool cancelled = false;
  CommitOp commit;
  int inflight = 0;            // SQEs of the current submission not yet reaped
  int first_step = 0;
  std::array<int, 4> res{};    // results of the current submission by step
  std::array<Tag, 4> tags;
  IoCallback io_cb;
  StatusCallback status_cb;
  Callback cb;
};

class UringLoop final : public LoopCore {
 public:
  UringLoop(const LoopOptions& options, std::string reason) : LoopCore(options) {
    reason_ = std::move(reason);
  }
  ~UringLoop() override {
    if (initialized_) io_uring_queue_exit(&ring_);
  }

  Status Init() {
    int rc = io_uring_queue_init(options_.ring_entries, &ring_, 0);
    if (rc < 0) return Status::FromErrno(-rc, "io_uring_queue_init");
    initialized_ = true;
    // fsync and fdatasync run on io-wq's bounded workers, by default 4 per
    // CPU: too few to keep a journaling file system batching when many
    // commits are in flight (8 workers gave half the commits/s of 32 threads
    // on a 2-CPU host). An older kernel without this call keeps its default.
    unsigned workers[2] = {kSyncWorkers, 0};  // bounded, unbounded (0: unchanged)
    (void)io_uring_register_iowq_max_workers(&ring_, workers);
    return Status::Ok();
  }

  Backend backend() const override { return Backend::kUring; }
  size_t pending() const override { return ops_.size(); }

  WatchId Watch(int fd, uint32_t poll_events, Callback cb) override {
    Op* op = NewOp(Kind::kPoll);
    op->fd = fd;
    op->poll_events = poll_events;
    op->cb = std::move(cb);
    Submit(op, 0);
    return op->id;
  }

  void CancelWatch(WatchId id) override {
    auto it = ops_.find(id);
    if (it == ops_.end() || it->second->kind != Kind::kPoll || it->second->cancelled) return;
    Op* op = it->second.get();
    op->cancelled = true;
    io_uring_sqe* sqe = GetSqe(1);
    io_uring_prep_poll_remove(sqe, reinterpret_cast<uint64_t>(&op->tags[0]));
    io_uring_sqe_set_data64(sqe, 0);  // the removal's own completion is ignored
  }

  void Read(int fd, void* buf, size_t len, int64_t offset, IoCallback cb) override {
    SubmitIo(Kind::kRead, fd, buf, len, offset, std::move(cb));
  }

  void Write(int fd, const void* buf, size_t len, int64_t offset, IoCallback cb) override {
    SubmitIo(Kind::kWrite, fd, buf, len, offset, std::move(cb));
  }

  void Fsync(int fd, bool data_only, StatusCallback cb) override {
    Op* op = NewOp(Kind::kFsync);
    op->fd = fd;
    op->data_only = data_only;
    op->status_cb = std::move(cb);
    Submit(op, 0);
  }

  void WriteAndSync(int fd, const void* buf, size_t len, uint64_t offset,
                    StatusCallback cb) override {
    Op* op = NewOp(Kind::kWriteSync);
    op->fd = fd;
    op->buf = static_cast<const char*>(buf);
    op->len = len;
    op->offset = static_cast<int64_t>(offset);
    op->status_cb = std::move(cb);
    Submit(op, 0);
  }

  void CommitChain(const CommitOp& commit, StatusCallback cb) override {
    Op* op = NewOp(Kind::kCommit);
    op->commit = commit;
    op->fd = commit.tmp_fd;
    op->buf = static_cast<const char*>(commit.data);
    op->len = commit.len;
    op->offset = 0;
    op->status_cb = std::move(cb);
    Submit(op, 0);
  }

  Status RunOnce(int timeout_ms) override {
    int wait_ms = WaitMs(timeout_ms);
    io_uring_cqe* cqe = nullptr;
    int rc;
    if (wait_ms == 0) {
      io_uring_submit(&ring_);
      rc = io_uring_peek_cqe(&ring_, &cqe);
    } else if (wait_ms < 0) {
      rc = io_uring_submit_and_wait(&ring_, 1);
    } else {
      __kernel_timespec ts{};
      ts.tv_sec = wait_ms / 1000;
      ts.tv_nsec = static_cast<long long>(wait_ms % 1000) * 1000000;
      rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
    if (rc < 0 && rc != -ETIME && rc != -EAGAIN && rc != -EINTR && rc != -EBUSY) {
      return Status::FromErrno(-rc, "io_uring_submit_and_wait");
    }
    io_uring_cqe* cqes[64];
    unsigned budget = options_.max_completions_per_tick;
    while (budget > 0) {
      unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, std::min<unsigned>(budget, 64));
      if (n == 0) break;
      for (unsigned i = 0; i < n; ++i) {
        uint64_t data = io_uring_cqe_get_data64(cqes[i]);
        int res = cqes[i]->res;
        io_uring_cqe_seen(&ring_, cqes[i]);
        if (data != 0) Complete(reinterpret_cast<Tag*>(data), res);
      }
      budget -= n;
    }
    RunTimersAndPosted();
    return Status::Ok();
  }

 private:
  void SubmitIo(Kind kind, int fd, const void* buf, size_t len, int64_t offset, IoCallback cb) {
    Op* op = NewOp(kind);
    op->fd = fd;
    op->buf = static_cast<const char*>(buf);
    op->len = len;
    op->offset = offset;
    op->io_cb = std::move(cb);
    Submit(op, 0);
  }

  Op* NewOp(Kind kind) {
    auto op = std::make_unique<Op>();
    op->kind = kind;
    op->id = next_id_++;
    for (int i = 0; i < 4; ++i) op->tags[i] = Tag{op.get(), i};
    Op* raw = op.get();
    ops_.emplace(raw->id, std::move(op));
    return raw;
  }

  // Returns an SQE, submitting what is queued when fewer than `need` slots
  // are free so that a chain is never split across a full ring.
  io_uring_sqe* GetSqe(unsigned need) {
    if (io_uring_sq_space_left(&ring_) < need) io_uring_submit(&ring_);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (sqe == nullptr) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    return sqe;
  }

  size_t WriteLen(size_t remaining) const {
    if (options_.test_max_write_bytes != 0 && remaining > options_.test_max_write_bytes) {
      return options_.test_max_write_bytes;
    }
    return remaining;
  }

  void Prep(Op* op, int step, io_uring_sqe* sqe, bool link) {
    switch (op->kind) {
      case Kind::kRead:
        io_uring_prep_read(sqe, op->fd, const_cast<char*>(op->buf), static_cast<unsigned>(op->len),
                           static_cast<uint64_t>(op->offset));
        break;
      case Kind::kWrite:
        io_uring_prep_write(sqe, op->fd, op->buf, static_cast<unsigned>(WriteLen(op->len)),
                            static_cast<uint64_t>(op->offset));
        break;
      case Kind::kFsync:
        io_uring_prep_fsync(sqe, op->fd, op->data_only ? IORING_FSYNC_DATASYNC : 0);
        break;
      case Kind::kPoll:
        io_uring_prep_poll_add(sqe, op->fd, op->poll_events);
        break;
      case Kind::kWriteSync:
      case Kind::kCommit:
        if (step == 0) {
          size_t rem = op->len - op->written;
          io_uring_prep_write(sqe, op->fd, op->buf + op->written,
                              static_cast<unsigned>(WriteLen(rem)),
                              static_cast<uint64_t>(op->offset) + op->written);
        } else if (step == 1) {
          io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
        } else if (step == 2) {
          io_uring_prep_renameat(sqe, op->commit.dir_fd, op->commit.tmp_name.c_str(),
                                 op->commit.dir_fd, op->commit.final_name.c_str(), 0);
        } else {
          io_uring_prep_fsync(sqe, op->commit.dir_fd, 0);
        }
        break;
    }
    io_uring_sqe_set_data64(sqe, reinterpret_cast<uint64_t>(&op->tags[step]));
    if (link) sqe->flags |= IOSQE_IO_LINK;
  }

  int Steps(const Op* op) const {
    if (op->kind == Kind::kWriteSync) return 2;
    if (op->kind == Kind::kCommit) return 4;
    return 1;
  }

  void Submit(Op* op, int first_step) {
    int steps = Steps(op);
    // A zero-length chain write would be a no-op SQE; start at the sync.
    if (first_step == 0 && steps > 1 && op->written == op->len) first_step = 1;
    // The test cap makes a write short on purpose; the kernel would cancel
    // the rest of a chain after a short write, so the cap submits the write
    // alone and the chain is continued exactly as after a real short write.
    if (first_step == 0 && steps > 1 && WriteLen(op->len - op->written) < op->len - op->written) {
      steps = 1;
    }
    op->first_step = first_step;
    op->inflight = steps - first_step;
    op->res.fill(-ECANCELED);
    for (int s = first_step; s < steps; ++s) {
      io_uring_sqe* sqe = GetSqe(static_cast<unsigned>(steps - s));
      Prep(op, s, sqe, s + 1 < steps);
    }
  }

  void Complete(Tag* tag, int res) {
    Op* op = tag->op;
    op->res[tag->step] = res;
    if (--op->inflight > 0) return;
    auto node = ops_.extract(op->id);
    WARDEN_CHECK(!node.empty());
    std::unique_ptr<Op> owned = std::move(node.mapped());
    if (!Finish(op)) {
      ops_.emplace(op->id, std::move(owned));  // resubmitted: keep it alive
    }
  }

  // Returns false when the op was resubmitted and stays in flight.
  bool Finish(Op* op) {
    switch (op->kind) {
      case Kind::kRead:
      case Kind::kWrite: {
        int res = op->res[0];
        const char* call = op->kind == Kind::kRead ? "read" : "write";
        if (res < 0) {
          op->io_cb(Status::FromErrno(-res, std::string(call) + "(fd " +
                                                std::to_string(op->fd) + ")"));
        } else {
          op->io_cb(static_cast<size_t>(res));
        }
        return true;
      }
      case Kind::kFsync:
        op->status_cb(op->res[0] < 0 ? Status::FromErrno(-op->res[0], op->data_only
                                                                          ? "fdatasync"
                                                                          : "fsync")
                                     : Status::Ok());
        return true;
      case Kind::kPoll:
        if (!op->cancelled && op->res[0] >= 0) op->cb();
        return true;
      case Kind::kWriteSync:
      case Kind::kCommit:
        return FinishChain(op);
    }
    return true;
  }

  bool FinishChain(Op* op) {
    const bool commit = op->kind == Kind::kCommit;
    const char* names[4] = {"write", "fdatasync", "renameat", "fsync(dir)"};
    std::string target = commit ? "\"" + op->commit.tmp_name + "\"" : "fd " + std::to_string(op->fd);
    if (op->first_step == 0) {
      int res = op->res[0];
      if (res < 0) {
        op->status_cb(Status::FromErrno(-res, "write(" + target + ")"));
        return true;
      }
      op->written += static_cast<size_t>(res);
      if (op->written < op->len) {
        if (res == 0) {
          op->status_cb(Status::Error(Code::kIoError, "write(" + target + "): wrote 0 bytes"));
          return true;
        }
        // Short write: the kernel cancelled the linked steps; continue from
        // the remaining bytes with a fresh chain.
        Submit(op, 0);
        return false;
      }
    }
    if (commit) WARDEN_CRASH_POINT("commit.after_write");
    for (int s = 1; s < Steps(op); ++s) {
      int res = op->res[s];
      if (res < 0) {
        std::string what = std::string(names[s]) + "(" +
                            (s == 2 ? "\"" + op->commit.tmp_name + "\" -> \"" +
                                          op->commit.final_name + "\""
                                    : s == 3 ? std::string("dir") : target) +
                            ")";
        op->status_cb(Status::FromErrno(-res, what));
        return true;
      }
      if (commit && s == 1) WARDEN_CRASH_POINT("commit.after_sync");
      if (commit && s == 2) WARDEN_CRASH_POINT("commit.after_rename");
      if (commit && s == 3) WARDEN_CRASH_POINT("commit.after_dirsync");
    }
    op->status_cb(Status::Ok());
    return true;
  }

  io_uring ring_{};
  bool initialized_ = false;
  std::unordered_map<uint64_t, std::unique_ptr<Op>> ops_;
};

}  // namespace

Result<std::unique_ptr<Loop>> CreateUringLoop(const LoopOptions& options, std::string reason) {
  auto loop = std::make_unique<UringLoop>(options, std::move(reason));
  WARDEN_RETURN_IF_ERROR(loop->Init());
  return std::unique_ptr<Loop>(std::move(loop));
}

}  // namespace warden::io
