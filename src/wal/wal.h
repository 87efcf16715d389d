// The write-ahead log: durable, checksummed, group-committed records.
//
// Append hands a record to the log; its callback runs with the record's
// sequence number only after the batch holding it has been written and
// fdatasync'ed. Appends that arrive while a batch is in flight form the next
// batch, which starts as soon as the previous one is durable: there is no
// timer and no artificial delay.
//
// Open recovers the directory: it replays the newest checkpoint snapshot and
// every record after it, cuts off a torn tail (an incomplete last batch, even
// one with records after its damage: that batch was never acknowledged),
// and refuses to open when damage is followed by a record of a later batch
// (acknowledged records were damaged), naming the file, the offset and what
// was found. Repair() is the operator's way out of
// that state; it keeps copies of everything it removes.
//
// Failure model: any write or fdatasync error puts the log in a failed state.
// Every pending and later append fails; the log is never retried, because
// after a failed fsync the kernel may have dropped the dirty pages. Reopening
// recovers from what is on disk.
//
// Threading: a Wal lives on one Loop; call it only from the loop's thread.
#ifndef WARDEN_WAL_WAL_H_
#define WARDEN_WAL_WAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/env.h"
#include "io/loop.h"
#include "wal/wal.pb.h"
#include "warden/status.h"

namespace warden::wal {

struct SegmentScan;  // wal/scan.h

struct WalOptions {
  // Size every segment is pre-allocated to. 64 KiB .. 1 GiB.
  uint64_t segment_bytes = 32ull << 20;
  // Largest serialized payload. 1 .. 16 MiB, and a record must fit a segment.
  uint32_t max_record_bytes = 1u << 20;
  // Appends accepted and not yet acknowledged. 1 .. 1,000,000.
  size_t max_queue_depth = 4096;
  // Largest write of one group commit. At least one record always goes.
  size_t max_batch_bytes = 4u << 20;
};

// What Open found and did.
struct RecoveryInfo {
  uint64_t snapshot_seq = 0;      // 0: no checkpoint
  uint64_t records_replayed = 0;  // records after the snapshot
  uint64_t last_seq = 0;          // highest durable sequence number
  size_t segments = 0;
  // A torn tail that was cut off (a bad last record, or non-zero bytes after
  // the last good one, left by a batch in flight at a crash): file, offset
  // where the good records end, and bytes zeroed. Empty file when none.
  std::string torn_file;
  uint64_t torn_offset = 0;
  uint64_t torn_bytes = 0;
  // What was found there, e.g. a batch torn by a crash: a bad record with
  // records of the same batch after it.
  std::string torn_what;
  size_t stale_temps_removed = 0;
};

struct ReplayHandler {
  // Called first when a checkpoint exists, with its snapshot and the last
  // sequence number it covers.
  std::function<Status(const std::string& snapshot, uint64_t seq)> on_snapshot;
  // Called for each record after the snapshot, in sequence order. A non-ok
  // return stops Open with that error.
  std::function<Status(uint64_t seq, const Payload& payload)> on_record;
};

using AppendCallback = std::function<void(Result<uint64_t> seq)>;

class Wal {
 public:
  // Opens (creating when missing) the log in dir and replays it into
  // handler. When Open fails, whatever was replayed must be discarded.
  static Result<std::unique_ptr<Wal>> Open(io::Loop* loop, io::Env* env, const std::string& dir,
                                           const WalOptions& options,
                                           const ReplayHandler& handler);
  // Waits for the batch in flight; callbacks of appends not yet written are
  // dropped.
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Queues a record. cb runs on the loop: with the sequence number once the
  // record is durable, or with an error (kResourceExhausted: queue full or
  // record too large; kFailedPrecondition: the log failed earlier; the I/O
  // error itself for the batch that failed).
  void Append(const Payload& payload, AppendCallback cb);
  // Appends and runs the loop until the record is durable. Not from inside a
  // loop callback.
  Result<uint64_t> AppendAndWait(const Payload& payload);

  // Writes `snapshot`, which must reflect every record up to and including
  // `covered_seq` (<= last_acked_seq()), as the new checkpoint with an atomic
  // commit, then deletes segments and checkpoints it makes unnecessary.
  void Checkpoint(std::string snapshot, uint64_t covered_seq, io::StatusCallback cb);
  Status CheckpointAndWait(std::string snapshot, uint64_t covered_seq);

  uint64_t last_acked_seq() const { return last_acked_seq_; }
  size_t queue_depth() const { return pending_.size() + in_flight_.size(); }
  // Ok, or the error that failed the log.
  const Status& health() const { return failed_; }
  const RecoveryInfo& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }
  size_t segment_count() const { return segments_.size(); }

 private:
  struct Pending {
    uint32_t type;
    std::string payload;
    AppendCallback cb;
  };
  struct Segment {
    uint64_t id;
    uint64_t first_seq;
  };

  Wal(io::Loop* loop, io::Env* env, std::string dir, const WalOptions& options);
  Status Recover(const ReplayHandler& handler);
  // Zeroes what a crashed batch may have left after the end of the active
  // segment's records; see docs/durability.md.
  Status ClearTail(const std::string& path, const SegmentScan& scan);
  Status CreateSegment(uint64_t id, uint64_t first_seq);
  void ScheduleFlush();
  void StartFlush();
  void OnFlushed(Status st, uint64_t bytes);
  void Fail(Status st);
  Status DeleteObsolete(uint64_t covered_seq);
  std::string SegmentPath(uint64_t id) const;

  io::Loop* loop_;
  io::Env* env_;
  std::string dir_;
  WalOptions options_;
  RecoveryInfo recovery_;

  std::vector<Segment> segments_;  // oldest first; back() is active
  std::unique_ptr<io::File> active_;
  uint64_t active_offset_ = 0;     // where the next batch goes
  uint64_t next_seq_ = 1;
  uint64_t last_acked_seq_ = 0;
  bool roll_requested_ = false;

  std::vector<Pending> pending_;
  std::vector<Pending> in_flight_;
  std::string batch_;
  bool flushing_ = false;
  bool flush_scheduled_ = false;
  Status failed_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Repairs a log that Open refuses: the damaged segment is copied to
// dir/quarantine/, cut back to its last good record, and every later segment
// (and an unreadable checkpoint) is moved to dir/quarantine/. Records after
// the damage are lost from the log but kept in the copies. `report` says
// what was done. Ok and "nothing to repair" when the log opens cleanly.
Status Repair(io::Env* env, const std::string& dir, const WalOptions& options,
              std::string* report);

// Checkpoint files: "checkpoint-<seq as 16 hex>.snap".
std::string CheckpointFileName(uint64_t seq);

}  // namespace warden::wal

#endif  // WARDEN_WAL_WAL_H_
