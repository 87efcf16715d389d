// Store: a directory of state files with all-or-nothing multi-file commits.
//
// CommitFiles makes several files visible together: each new content goes to
// a temp file and is fdatasync'ed; a CommitIntent record naming every temp
// and final name (with size and CRC32C) is appended to the store's WAL; only
// then are the temps renamed, the directory fsynced and a CommitDone record
// appended. The intent is the commit point. Open rolls forward every intent
// without its done record (the temps are durable, so it can) and then
// removes stale temp files, which rolls back commits that never reached
// their intent.
//
// Failure model: an error after a commit's intent may have reached the WAL
// (the intent append itself, a rename, the directory fsync, the done record)
// leaves the commit half applied on disk, and only Open knows how to finish
// it. From then on the Store refuses every commit with kFailedPrecondition
// until it is reopened: a later commit would otherwise be overwritten when
// Open rolls the earlier one forward, or make that roll-forward impossible.
//
// Layout: root/<files>, root/wal/ (the WAL). File names are flat (no '/').
// Threading: one thread, the loop's.
#ifndef WARDEN_STORE_STORE_H_
#define WARDEN_STORE_STORE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/env.h"
#include "io/loop.h"
#include "wal/wal.h"
#include "warden/status.h"

namespace warden::store {

inline constexpr size_t kMaxFilesPerCommit = 64;

struct StoreOpenInfo {
  size_t rolled_forward = 0;   // interrupted commits completed by Open
  size_t stale_temps_removed = 0;
};

class Store {
 public:
  // Opens root (created when missing), recovering interrupted commits.
  // Records of other kinds in the WAL go to on_blob, as in wal::Wal::Open.
  static Result<std::unique_ptr<Store>> Open(
      io::Loop* loop, io::Env* env, const std::string& root,
      const wal::WalOptions& wal_options = {},
      std::function<Status(uint64_t, const wal::Payload&)> on_blob = nullptr);

  // Replaces every (name, content) together, or none of them. Runs the loop
  // until done; not from inside a loop callback. kFailedPrecondition after
  // an error past an earlier commit's commit point: reopen the store.
  Status CommitFiles(const std::vector<std::pair<std::string, std::string>>& files);

  wal::Wal* wal() { return wal_.get(); }
  const StoreOpenInfo& open_info() const { return info_; }
  // Ok, or the error past a commit point that requires a reopen.
  const Status& health() const { return broken_; }
  const std::string& root() const { return root_; }

 private:
  Store(io::Env* env, std::string root) : env_(env), root_(std::move(root)) {}
  Status RollForward(const wal::CommitIntent& intent);
  // The steps of CommitFiles from the intent on; any error leaves the store
  // broken.
  Status ApplyIntent(const wal::Payload& payload);
  Status Refused() const;

  io::Env* env_;
  std::string root_;
  std::unique_ptr<wal::Wal> wal_;
  StoreOpenInfo info_;
  Status broken_;
};

}  // namespace warden::store

#endif  // WARDEN_STORE_STORE_H_
