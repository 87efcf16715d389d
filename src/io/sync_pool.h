// Internal to the plain loop backend: a few worker threads that run blocking
// file work (write+fdatasync, commit chains, fsync) so that many operations
// can be in flight at once, as they are on io_uring. Finished work is handed
// back through an eventfd that the loop's epoll set watches; its callbacks
// run on the loop thread.
#ifndef WARDEN_IO_SYNC_POOL_H_
#define WARDEN_IO_SYNC_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "io/loop.h"

namespace warden::io {

class SyncPool {
 public:
  // Threads start on the first Submit.
  explicit SyncPool(unsigned max_threads) : max_threads_(max_threads) {}
  // Waits for the work that is running; work not yet started is dropped
  // along with its callback.
  ~SyncPool();
  SyncPool(const SyncPool&) = delete;
  SyncPool& operator=(const SyncPool&) = delete;

  // Creates the eventfd that becomes readable when work has finished.
  Status Init();
  int event_fd() const { return event_fd_.get(); }

  // Runs work on a worker thread; cb(result) is collected by TakeFinished.
  // Workers block every signal, so signals keep going to the loop thread.
  void Submit(std::function<Status()> work, StatusCallback cb);

  // Moves finished work into `out` as ready-to-run callbacks and clears the
  // eventfd.
  void TakeFinished(std::deque<Callback>* out);

  // Work submitted whose callback has not been taken yet.
  size_t in_flight() const { return in_flight_; }

 private:
  struct Item {
    std::function<Status()> work;
    StatusCallback cb;
    Status result;
  };
  void Worker();

  const unsigned max_threads_;
  base::UniqueFd event_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // guarded by mu_
  std::deque<Item> done_;   // guarded by mu_
  unsigned idle_ = 0;       // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::vector<std::thread> threads_;
  size_t in_flight_ = 0;  // loop thread only
};

}  // namespace warden::io

#endif  // WARDEN_IO_SYNC_POOL_H_
