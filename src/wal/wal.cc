#include "wal/wal.h"

#include <algorithm>
#include <map>

#include "base/check.h"
#include "base/fault.h"
#include "base/log.h"
#include "wal/format.h"
#include "wal/scan.h"

namespace warden::wal {
namespace {

Status ValidateOptions(const WalOptions& o) {
  auto bad = [](const std::string& what) {
    return Status::Error(Code::kInvalidArgument, "wal options: " + what);
  };
  if (o.segment_bytes < (64u << 10) || o.segment_bytes > kMaxSegmentFileBytes) {
    return bad("segment_bytes must be 64 KiB .. 1 GiB, got " + std::to_string(o.segment_bytes));
  }
  if (o.max_record_bytes < 1 || o.max_record_bytes > (16u << 20)) {
    return bad("max_record_bytes must be 1 .. 16 MiB");
  }
  if (RecordExtent(o.max_record_bytes) + kSegmentHeaderBytes > o.segment_bytes) {
    return bad("max_record_bytes " + std::to_string(o.max_record_bytes) +
               " does not fit a segment of " + std::to_string(o.segment_bytes) + " bytes");
  }
  if (o.max_queue_depth < 1 || o.max_queue_depth > 1000000) {
    return bad("max_queue_depth must be 1 .. 1000000");
  }
  if (o.max_batch_bytes < 1) return bad("max_batch_bytes must be positive");
  return Status::Ok();
}

// The way out for an operator when Open refuses a damaged log.
std::string RepairHint(const std::string& dir) {
  return ". Refusing to drop records; wal::Repair(\"" + dir +
         "\") moves the damaged part aside, keeping copies in \"" + dir + "/quarantine/\"";
}

}  // namespace

Wal::Wal(io::Loop* loop, io::Env* env, std::string dir, const WalOptions& options)
    : loop_(loop), env_(env), dir_(std::move(dir)), options_(options) {}

Wal::~Wal() {
  *alive_ = false;
  // The batch in flight points into batch_; wait until the kernel is done
  // with it.
  while (flushing_) {
    if (!loop_->RunOnce(100).ok()) break;
  }
}

std::string Wal::SegmentPath(uint64_t id) const { return dir_ + "/" + SegmentFileName(id); }

Result<std::unique_ptr<Wal>> Wal::Open(io::Loop* loop, io::Env* env, const std::string& dir,
                                       const WalOptions& options, const ReplayHandler& handler) {
  WARDEN_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<Wal> wal(new Wal(loop, env, dir, options));
  WARDEN_RETURN_IF_ERROR(wal->Recover(handler).Wrap("open WAL \"" + dir + "\""));
  return wal;
}

Status Wal::Recover(const ReplayHandler& handler) {
  WARDEN_RETURN_IF_ERROR(env_->CreateDirDurable(dir_));
  WARDEN_ASSIGN_OR_RETURN(auto names, env_->ListDir(dir_));
  std::map<uint64_t, std::string> segment_files;
  std::map<uint64_t, std::string> checkpoints;
  for (const std::string& name : names) {
    uint64_t n = 0;
    if (ParseSegmentFileName(name, &n)) {
      segment_files.emplace(n, name);
    } else if (ParseCheckpointFileName(name, &n)) {
      checkpoints.emplace(n, name);
    } else if (io::IsTempName(name)) {
      // A checkpoint commit that never reached its rename.
      WARDEN_RETURN_IF_ERROR(env_->Remove(dir_ + "/" + name));
      ++recovery_.stale_temps_removed;
    }
  }

  uint64_t snapshot_seq = 0;
  if (!checkpoints.empty()) {
    // The newest checkpoint was committed atomically: if it does not read
    // back, that is damage, not a crash, and an older one would silently
    // lose the records it replaced.
    const std::string path = dir_ + "/" + checkpoints.rbegin()->second;
    WARDEN_ASSIGN_OR_RETURN(std::string file, env_->ReadFileToString(path, kMaxCheckpointBytes));
    std::string snapshot;
    WARDEN_RETURN_IF_ERROR(DecodeCheckpoint(file, path, &snapshot_seq, &snapshot));
    if (snapshot_seq != checkpoints.rbegin()->first) {
      return Status::Error(Code::kCorruption, "checkpoint \"" + path + "\": holds sequence " +
                                                  std::to_string(snapshot_seq));
    }
    if (handler.on_snapshot) WARDEN_RETURN_IF_ERROR(handler.on_snapshot(snapshot, snapshot_seq));
  }
  recovery_.snapshot_seq = snapshot_seq;

  uint64_t expected = 0;
  SegmentScan last_scan;
  size_t index = 0;
  std::string scan_buffer;  // reused by every segment
  for (const auto& [id, name] : segment_files) {
    const bool is_last = ++index == segment_files.size();
    const std::string path = dir_ + "/" + name;
    SegmentScan scan;
    auto on_record = [&](uint64_t seq, const Payload& payload) -> Status {
      if (seq <= snapshot_seq || !handler.on_record) return Status::Ok();
      ++recovery_.records_replayed;
      return handler.on_record(seq, payload);
    };
    const uint64_t zero_run = TailWindow(options_.max_batch_bytes, options_.max_record_bytes);
    WARDEN_RETURN_IF_ERROR(ScanSegmentFile(env_, path, id, options_.max_record_bytes, zero_run,
                                           on_record, &scan, &scan_buffer));
    if (!scan.header_ok) {
      if (is_last && scan.all_zero) {
        // Created but never written: the crash came before its header.
        WARDEN_RETURN_IF_ERROR(env_->Remove(path));
        WARDEN_RETURN_IF_ERROR(env_->SyncDir(dir_));
        continue;
      }
      return Status::Error(Code::kCorruption,
                           "\"" + path + "\" offset 0: bad segment header" + RepairHint(dir_));
    }
    if (expected == 0) {
      if (scan.header.first_seq > snapshot_seq + 1) {
        return Status::Error(Code::kCorruption,
                             "\"" + path + "\": starts at sequence " +
                                 std::to_string(scan.header.first_seq) + " but the checkpoint ends at " +
                                 std::to_string(snapshot_seq) + ": records are missing");
      }
    } else if (scan.header.first_seq != expected) {
      return Status::Error(Code::kCorruption, "\"" + path + "\": starts at sequence " +
                                                  std::to_string(scan.header.first_seq) +
                                                  ", expected " + std::to_string(expected) +
                                                  RepairHint(dir_));
    }
    // A roll happens only between batches, after the previous batch's
    // fdatasync: every segment but the last was synced whole, so anything
    // after its end is damage. In the last one, records after the end that
    // all belong to the end's batch are a batch torn by a crash (never
    // acknowledged, since its fdatasync did not complete); a record of a
    // later batch means the end's batch had been synced: damage.
    const bool torn = scan.bad || scan.valid_after;
    if (scan.later_batch_after || (torn && !is_last)) {
      return Status::Error(Code::kCorruption,
                           "\"" + path + "\" offset " + std::to_string(scan.end_offset) + ": " +
                               scan.what + (is_last ? "" : "; later segments follow") +
                               RepairHint(dir_));
    }
    expected = scan.last_seq + 1;
    segments_.push_back(Segment{id, scan.header.first_seq});
    // New records carry batch indexes, which a version 1 segment cannot
    // hold: the next batch starts a new segment.
    roll_requested_ = scan.header.version < kFormatVersion;
    last_scan = scan;
  }

  if (segments_.empty()) {
    uint64_t next_id = segment_files.empty() ? 1 : segment_files.rbegin()->first + 1;
    next_seq_ = snapshot_seq + 1;
    WARDEN_RETURN_IF_ERROR(CreateSegment(next_id, next_seq_));
  } else {
    if (expected <= snapshot_seq) {
      return Status::Error(Code::kCorruption, "WAL ends at sequence " + std::to_string(expected - 1) +
                                                  " before its checkpoint " +
                                                  std::to_string(snapshot_seq));
    }
    next_seq_ = expected;
    const std::string path = SegmentPath(segments_.back().id);
    WARDEN_ASSIGN_OR_RETURN(active_, env_->Open(path, io::kOpenWrite));
    active_offset_ = last_scan.end_offset;
    WARDEN_RETURN_IF_ERROR(ClearTail(path, last_scan));
  }
  last_acked_seq_ = next_seq_ - 1;
  recovery_.last_seq = last_acked_seq_;
  recovery_.segments = segments_.size();
  // The checkpoint covers every record, yet the active segment holds some
  // (a checkpoint taken while appends were queued, or by an older
  // version): a new segment lets them go now, so that the next Open reads
  // none of what the checkpoint covers.
  if (snapshot_seq > 0 && last_acked_seq_ == snapshot_seq &&
      active_offset_ > kSegmentHeaderBytes) {
    WARDEN_RETURN_IF_ERROR(CreateSegment(segments_.back().id + 1, next_seq_));
    WARDEN_RETURN_IF_ERROR(DeleteObsolete(snapshot_seq));
  }
  return Status::Ok();
}

Status Wal::ClearTail(const std::string& path, const SegmentScan& scan) {
  // The batch in flight at a crash may have left any subset of its pages in
  // [end, end + window): a lost first page reads as a clean end with stale
  // records after it, which the next batch would land in front of. Zero
  // whatever is non-zero there (and any garbage a bad record ran into), and
  // make it durable before anything new is appended. A crash in between
  // leaves a state this handles again.
  const uint64_t end = scan.end_offset;
  WARDEN_ASSIGN_OR_RETURN(uint64_t size, env_->Size(*active_));
  uint64_t to = std::min(size, end + TailWindow(options_.max_batch_bytes, options_.max_record_bytes));
  to = std::max(to, scan.garbage_end);
  WARDEN_ASSIGN_OR_RETURN(uint64_t zeroed, ZeroNonZero(env_, *active_, end, to));
  if (zeroed == 0 && !scan.bad) return Status::Ok();  // a clean log costs no write
  if (zeroed > 0) WARDEN_RETURN_IF_ERROR(env_->Sync(*active_, true));
  recovery_.torn_file = path;
  recovery_.torn_offset = end;
  recovery_.torn_bytes = zeroed;
  recovery_.torn_what = scan.what.empty() ? "stale bytes after a clean end" : scan.what;
  WLOG_WARN("", "wal: cut the unacknowledged tail at \"" + path + "\" offset " +
                    std::to_string(end) + ", zeroing " + std::to_string(zeroed) + " bytes of [" +
                    std::to_string(end) + ", " + std::to_string(to) + ") (" + recovery_.torn_what +
                    ")");
  return Status::Ok();
}

Status Wal::CreateSegment(uint64_t id, uint64_t first_seq) {
  const std::string path = SegmentPath(id);
  WARDEN_ASSIGN_OR_RETURN(auto file,
                          env_->Open(path, io::kOpenWrite | io::kOpenCreate | io::kOpenTruncate));
  // Zero-filled to full size first, so that recovery never reads stale bytes
  // as records and appends never extend the file (fdatasync stays cheap).
  WARDEN_RETURN_IF_ERROR(env_->Allocate(*file, options_.segment_bytes));
  std::string header = EncodeSegmentHeader(SegmentHeader{id, first_seq});
  WARDEN_RETURN_IF_ERROR(env_->Write(*file, header.data(), header.size(), 0));
  WARDEN_RETURN_IF_ERROR(env_->Sync(*file, false));
  WARDEN_RETURN_IF_ERROR(env_->SyncDir(dir_));
  WARDEN_CRASH_POINT("wal.segment_created");
  active_ = std::move(file);
  active_offset_ = kSegmentHeaderBytes;
  segments_.push_back(Segment{id, first_seq});
  return Status::Ok();
}

void Wal::Append(const Payload& payload, AppendCallback cb) {
  auto reject = [&](Status st) {
    loop_->Post([cb = std::move(cb), st = std::move(st)]() mutable { cb(std::move(st)); });
  };
  if (!failed_.ok()) {
    return reject(Status::Error(Code::kFailedPrecondition,
                                "wal: the log failed earlier and must be reopened: " +
                                    failed_.ToString()));
  }
  if (queue_depth() >= options_.max_queue_depth) {
    return reject(Status::Error(Code::kResourceExhausted,
                                "wal: append queue full (" + std::to_string(options_.max_queue_depth) +
                                    " records waiting); slow down or raise max_queue_depth"));
  }
  if (payload.body_case() == Payload::BODY_NOT_SET) {
    return reject(Status::Error(Code::kInvalidArgument, "wal: append of an empty payload"));
  }
  size_t size = payload.ByteSizeLong();
  if (size > options_.max_record_bytes) {
    return reject(Status::Error(Code::kResourceExhausted,
                                "wal: record of " + std::to_string(size) + " bytes exceeds max_record_bytes " +
                                    std::to_string(options_.max_record_bytes)));
  }
  Pending p;
  p.type = static_cast<uint32_t>(payload.body_case());
  p.payload = payload.SerializeAsString();
  p.cb = std::move(cb);
  pending_.push_back(std::move(p));
  ScheduleFlush();
}

void Wal::ScheduleFlush() {
  if (flushing_ || flush_scheduled_) return;
  flush_scheduled_ = true;
  // Same tick, after the callbacks already queued: appends made together go
  // together, without waiting for a timer.
  std::weak_ptr<bool> alive = alive_;
  loop_->Post([this, alive] {
    if (alive.expired() || !*alive.lock()) return;
    flush_scheduled_ = false;
    StartFlush();
  });
}

void Wal::StartFlush() {
  if (flushing_ || pending_.empty() || !failed_.ok()) return;
  size_t take = 0;
  size_t bytes = 0;
  while (take < pending_.size()) {
    size_t extent = RecordExtent(pending_[take].payload.size());
    if (take > 0 && bytes + extent > options_.max_batch_bytes) break;
    bytes += extent;
    ++take;
  }
  if (roll_requested_ || active_offset_ + bytes > options_.segment_bytes) {
    // Shrink the batch to what one segment holds; the rest goes next time.
    while (take > 1 && kSegmentHeaderBytes + bytes > options_.segment_bytes) {
      --take;
      bytes -= RecordExtent(pending_[take].payload.size());
    }
    Status st = CreateSegment(segments_.back().id + 1, next_seq_);
    if (!st.ok()) return Fail(std::move(st).Wrap("wal: start a new segment"));
    roll_requested_ = false;
  }
  batch_.clear();
  WARDEN_CHECK(in_flight_.empty());
  for (size_t i = 0; i < take; ++i) {
    Pending& p = pending_[i];
    EncodeRecord(p.type, segments_.back().id, next_seq_ + i, p.payload, &batch_,
                 static_cast<uint32_t>(i));
    in_flight_.push_back(std::move(p));
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(take));
  WARDEN_CHECK(batch_.size() == bytes);
  WARDEN_CHECK(active_offset_ + bytes <= options_.segment_bytes);
  flushing_ = true;
  WARDEN_CRASH_POINT("wal.before_write");
  std::weak_ptr<bool> alive = alive_;
  auto done = [this, alive, bytes](Status st) {
    if (alive.expired()) return;
    if (!*alive.lock()) {
      flushing_ = false;
      return;
    }
    OnFlushed(std::move(st), bytes);
  };
  if (base::CrashPointArmed("wal.after_write")) {
    // A crash test wants the point between the write and its fdatasync,
    // which the linked chain has no room for: the two calls go apart (and
    // block the loop, which only such a test accepts).
    Status st = env_->Write(*active_, batch_.data(), batch_.size(), active_offset_);
    if (st.ok()) {
      WARDEN_CRASH_POINT("wal.after_write");
      st = env_->Sync(*active_, /*data_only=*/true);
    }
    loop_->Post([done = std::move(done), st = std::move(st)]() mutable { done(std::move(st)); });
    return;
  }
  env_->WriteAndSync(*loop_, *active_, batch_.data(), batch_.size(), active_offset_, std::move(done));
}

void Wal::OnFlushed(Status st, uint64_t bytes) {
  if (!st.ok()) {
    flushing_ = false;
    // Never retried: after a failed fdatasync the page cache may already
    // have dropped the data, and a retry that succeeds would lie.
    return Fail(std::move(st).Wrap("wal: write+fdatasync of " + std::to_string(in_flight_.size()) +
                                   " records at offset " + std::to_string(active_offset_)));
  }
  // wal.after_write is in StartFlush, between the two calls.
  WARDEN_CRASH_POINT("wal.after_sync");
  active_offset_ += bytes;
  std::vector<Pending> done = std::move(in_flight_);
  in_flight_.clear();
  uint64_t first = next_seq_;
  next_seq_ += done.size();
  last_acked_seq_ = next_seq_ - 1;
  // Still "flushing" while acks run, so that appends they make join the next
  // batch, which starts right after.
  for (size_t i = 0; i < done.size(); ++i) done[i].cb(first + i);
  flushing_ = false;
  StartFlush();
}

void Wal::Fail(Status st) {
  WLOG_ERROR("", st.ToString());
  failed_ = st;
  std::vector<Pending> victims = std::move(in_flight_);
  in_flight_.clear();
  for (auto& p : pending_) victims.push_back(std::move(p));
  pending_.clear();
  for (auto& p : victims) p.cb(st);
}

Result<uint64_t> Wal::AppendAndWait(const Payload& payload) {
  bool done = false;
  Result<uint64_t> result = Status::Error(Code::kInternal, "wal: append did not complete");
  Append(payload, [&](Result<uint64_t> r) {
    result = std::move(r);
    done = true;
  });
  Status st = loop_->RunUntil([&] { return done; }, 1ll << 40);
  if (!st.ok()) return st;
  return result;
}

void Wal::Checkpoint(std::string snapshot, uint64_t covered_seq, io::StatusCallback cb) {
  if (covered_seq > last_acked_seq_) {
    Status st = Status::Error(Code::kInvalidArgument,
                              "wal: checkpoint covers sequence " + std::to_string(covered_seq) +
                                  " beyond the last acknowledged " + std::to_string(last_acked_seq_));
    loop_->Post([cb = std::move(cb), st = std::move(st)]() mutable { cb(std::move(st)); });
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  env_->CommitFile(*loop_, dir_, CheckpointFileName(covered_seq),
                   EncodeCheckpoint(covered_seq, snapshot),
                   [this, alive, covered_seq, cb = std::move(cb)](Status st) {
                     if (alive.expired() || !*alive.lock()) return;
                     if (!st.ok()) return cb(std::move(st).Wrap("wal: checkpoint"));
                     WARDEN_CRASH_POINT("wal.checkpoint_committed");
                     // When the snapshot covers every record (nothing
                     // queued or in flight: a quiet log, an agent's
                     // shutdown), a new segment now lets the active one go
                     // at once, so that the next Open scans none of what
                     // the snapshot covers. Otherwise the active segment
                     // may hold records past the snapshot; the next batch
                     // starts a new one so that it can go next time.
                     if (!flushing_ && pending_.empty() && in_flight_.empty() &&
                         covered_seq == last_acked_seq_ && failed_.ok() &&
                         active_offset_ > kSegmentHeaderBytes) {
                       Status roll = CreateSegment(segments_.back().id + 1, next_seq_);
                       if (!roll.ok()) {
                         Fail(roll);
                         return cb(std::move(roll).Wrap("wal: start a new segment"));
                       }
                     } else {
                       roll_requested_ = true;
                     }
                     cb(DeleteObsolete(covered_seq).Wrap("wal: checkpoint cleanup"));
                   });
}

Status Wal::DeleteObsolete(uint64_t covered_seq) {
  WARDEN_CRASH_POINT("wal.checkpoint_before_delete");
  // Segment i holds sequences [first_i, first_{i+1}); it can go when the
  // snapshot covers all of them. The active segment always stays.
  size_t drop = 0;
  while (drop + 1 < segments_.size() && segments_[drop + 1].first_seq - 1 <= covered_seq) ++drop;
  for (size_t i = 0; i < drop; ++i) WARDEN_RETURN_IF_ERROR(env_->Remove(SegmentPath(segments_[i].id)));
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(drop));
  WARDEN_ASSIGN_OR_RETURN(auto names, env_->ListDir(dir_));
  for (const std::string& name : names) {
    uint64_t seq = 0;
    if (ParseCheckpointFileName(name, &seq) && seq < covered_seq) {
      WARDEN_RETURN_IF_ERROR(env_->Remove(dir_ + "/" + name));
    }
  }
  return env_->SyncDir(dir_);
}

Status Wal::CheckpointAndWait(std::string snapshot, uint64_t covered_seq) {
  bool done = false;
  Status result;
  Checkpoint(std::move(snapshot), covered_seq, [&](Status st) {
    result = std::move(st);
    done = true;
  });
  WARDEN_RETURN_IF_ERROR(loop_->RunUntil([&] { return done; }, 1ll << 40));
  return result;
}

}  // namespace warden::wal
