#include "io/sync_pool.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace warden::io {

Status SyncPool::Init() {
  event_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event_fd_) return Status::FromErrno(errno, "eventfd");
  return Status::Ok();
}

SyncPool::~SyncPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void SyncPool::Submit(std::function<Status()> work, StatusCallback cb) {
  ++in_flight_;
  bool spawn = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(Item{std::move(work), std::move(cb), Status::Ok()});
    spawn = idle_ < queue_.size() && threads_.size() < max_threads_;
  }
  if (spawn) {
    // The new thread inherits the mask in force here: everything blocked.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    threads_.emplace_back([this] { Worker(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  // An idle worker takes it (or the next one) as well: with more work queued
  // than idle workers, the new thread alone would leave them asleep.
  cv_.notify_one();
}

void SyncPool::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    item.result = item.work();
    item.work = nullptr;
    lock.lock();
    done_.push_back(std::move(item));
    uint64_t one = 1;
    // Cannot fail short of a counter overflow; the loop drains it each tick.
    ssize_t n = ::write(event_fd_.get(), &one, sizeof(one));
    (void)n;
  }
}

void SyncPool::TakeFinished(std::deque<Callback>* out) {
  uint64_t count;
  ssize_t n = ::read(event_fd_.get(), &count, sizeof(count));
  (void)n;  // EAGAIN: nothing was signalled, the list below may still hold items
  std::deque<Item> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(done_);
  }
  in_flight_ -= done.size();
  for (Item& item : done) {
    out->push_back([cb = std::move(item.cb), st = std::move(item.result)]() mutable {
      cb(std::move(st));
    });
  }
}

}  // namespace warden::io
