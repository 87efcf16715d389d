// FaultEnv: an Env for tests that injects I/O errors and simulated crashes.
//
// It forwards to a real Env (files live on disk) and remembers what is not
// yet durable: file contents written since the file's last Sync, and creates,
// renames and removes since the last SyncDir of their directory. Crash()
// puts the disk back to the durable state, as a power cut would, and fails
// every later call with EIO until Restart().
//
// A crash keeps none of a file's unsynced pages by default. A page filter
// (SetCrashPageFilter, SetCrashPageSeed) keeps any chosen subset instead, as
// a disk that wrote some pages of a write back and not others before the
// power went. Directories made by CreateDir and not yet synced in their
// parent vanish at a crash, with everything in them.
//
// Not thread-safe. Files opened through it must not be written by other
// means. Contents are snapshotted whole, so it suits test-sized files.
#ifndef WARDEN_IO_FAULT_ENV_H_
#define WARDEN_IO_FAULT_ENV_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "io/env.h"

namespace warden::io {

// Bytes per page of the crash model.
inline constexpr size_t kFaultPageBytes = 4096;

// Decides whether unsynced page `page` (index, kFaultPageBytes each) of
// `path` keeps its new content at a crash.
using PageFilter = std::function<bool(const std::string& path, uint64_t page)>;

enum class FaultOp { kOpen, kWrite, kSync, kAllocate, kRename, kRemove, kSyncDir };

struct FaultRule {
  FaultOp op = FaultOp::kWrite;
  int err = EIO;
  uint64_t skip = 0;     // let this many matching calls (after AddRule) succeed first
  uint64_t times = 1;    // then fail this many (0: every later call)
  // Writes only: bytes written before the error, as a disk that fills up
  // part way through a write does.
  size_t partial_bytes = 0;
};

class FaultEnv final : public Env {
 public:
  explicit FaultEnv(Env* base = PosixEnv()) : base_(base) {}

  void AddRule(const FaultRule& rule) { rules_.push_back({rule, calls_[rule.op]}); }
  void ClearRules() { rules_.clear(); }
  // Every underlying write moves at most this many bytes (0: no cap), so the
  // short-write continuation runs.
  void SetMaxWriteChunk(size_t bytes) { max_chunk_ = bytes; }
  // Crashes instead of performing the mutating call after `ops` more of them
  // (Open with create/truncate, Write, Sync, Allocate, Truncate, Rename,
  // Remove, SyncDir).
  void CrashAfterOps(uint64_t ops) { crash_after_ = ops; }
  // The next Write persists only its first keep_bytes bytes, then crashes:
  // a torn write at power loss.
  void TearNextWrite(size_t keep_bytes) { tear_keep_ = keep_bytes; }
  // The pages the next crash keeps (default: none). Applies however the
  // crash comes (Crash, CrashAfterOps, TearNextWrite); Restart resets it.
  void SetCrashPageFilter(PageFilter keep) { page_filter_ = std::move(keep); }
  // Keeps each unsynced page with probability 1/2, a pure function of seed,
  // the file's name (its last path component) and page index: the same seed
  // drops the same pages, whatever directory a test runs in.
  void SetCrashPageSeed(uint64_t seed);
  // Indices of the pages of path whose content differs from its durable
  // content, in order.
  std::vector<uint64_t> UnsyncedPages(const std::string& path);
  // Drops everything not durable now (but the pages the filter keeps) and
  // fails every later call.
  void Crash();
  bool crashed() const { return crashed_; }
  // Forgets the crash and all tracking: the next calls see a "rebooted" disk.
  void Restart();
  uint64_t mutating_ops() const { return mutating_ops_; }

  Result<std::unique_ptr<File>> Open(const std::string& path, int flags) override;
  Result<size_t> Read(File& file, void* buf, size_t len, uint64_t offset) override;
  Status Write(File& file, const void* buf, size_t len, uint64_t offset) override;
  Status Sync(File& file, bool data_only) override;
  Status Allocate(File& file, uint64_t len) override;
  Status Truncate(File& file, uint64_t len) override;
  Result<uint64_t> Size(File& file) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Status CreateDir(const std::string& dir) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  bool Exists(const std::string& path) override;

 private:
  struct RenameRecord {
    std::string from, to;
    std::optional<std::string> old_to;  // durable content of the replaced file
  };
  Status Gate(FaultOp op, bool mutating, const std::string& what, size_t* partial = nullptr);
  // Saves the durable content of path before its first unsynced change.
  void Snapshot(const std::string& path);
  std::optional<std::string> DurableContent(const std::string& path);
  Status CrashedError(const std::string& what) const;
  // What path holds after a crash: durable content with the kept pages of
  // current laid over it.
  std::string Survivor(const std::string& path, const std::string& durable,
                       const std::string& current) const;

  Env* base_;
  struct ActiveRule {
    FaultRule rule;
    uint64_t base;  // matching calls made before the rule was added
  };
  std::vector<ActiveRule> rules_;
  std::map<FaultOp, uint64_t> calls_;
  size_t max_chunk_ = 0;
  std::optional<uint64_t> crash_after_;
  std::optional<size_t> tear_keep_;
  bool crashed_ = false;
  uint64_t mutating_ops_ = 0;

  // path -> content as of the last Sync (absent: never changed since).
  std::map<std::string, std::string> snapshots_;
  std::set<std::string> unsynced_creates_;
  std::vector<RenameRecord> unsynced_renames_;
  std::map<std::string, std::string> unsynced_removes_;  // path -> durable content
  std::set<std::string> unsynced_dirs_;  // made by CreateDir, parent not synced
  PageFilter page_filter_;
};

}  // namespace warden::io

#endif  // WARDEN_IO_FAULT_ENV_H_
