// Internal to wal/: reading segments and checkpoints back, shared by
// Wal::Open and Repair.
#ifndef WARDEN_WAL_SCAN_H_
#define WARDEN_WAL_SCAN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "io/env.h"
#include "wal/format.h"
#include "wal/wal.pb.h"
#include "warden/status.h"

namespace warden::wal {

inline constexpr uint64_t kMaxSegmentFileBytes = 1ull << 30;
inline constexpr uint64_t kMaxCheckpointBytes = 1ull << 30;

struct SegmentScan {
  bool header_ok = false;
  bool all_zero = false;      // nothing but zeros: creation was interrupted
  SegmentHeader header;
  uint64_t end_offset = 0;    // just after the last good record
  uint64_t last_seq = 0;      // of the last good record; first_seq - 1 if none
  uint64_t records = 0;
  bool bad = false;           // a bad record at bad_offset
  uint64_t bad_offset = 0;
  std::string what;           // what was found there
  // After the end of the good records (a bad record, or an all-zero header
  // with non-zero bytes after it): a valid record of this segment follows.
  bool valid_after = false;
  // One of those starts a batch after the one the end lies in: that batch
  // was synced (the next is written only after), so the damage is to
  // acknowledged records. Only valid_after without this is a torn batch.
  bool later_batch_after = false;
  uint64_t garbage_end = 0;   // end of the non-zero bytes after end_offset
};

// Where a segment's bytes come from: fills buf with up to len bytes from
// offset and returns how many; fewer than len only at the end of the data.
using SegmentSource = std::function<Result<size_t>(uint64_t offset, char* buf, size_t len)>;
using RecordFn = std::function<Status(uint64_t seq, const Payload& payload)>;

// Bytes read per call when scanning. The scan buffer grows beyond this only
// for a record (or a damaged length field) longer than that.
inline constexpr size_t kScanChunkBytes = 1u << 20;
// Non-zero bytes after a run of `zero_run` zeros are not looked at: reading
// the zeroed rest of a pre-allocated segment would cost more than the scan.
// The WAL passes TailWindow(options): no batch, and so no hole a crash tore
// into one, is longer, whatever max_batch_bytes allows. ScanSegment (bytes
// in memory, for tests and the fuzz target) defaults to this.
inline constexpr uint64_t kZeroRunToStop = 8ull << 20;

// Scans `size` bytes of one segment read through `source`, in order and in
// bounded chunks into *buffer (reused across calls; nothing is copied per
// record). Good records (CRC, segment id, the expected sequence, a payload
// that parses and matches its type) go to on_record, in order, until the
// first bad one or the first all-zero record header. The non-zero bytes
// after that are searched for valid records of this segment: none means a
// clean end or a torn tail; records of the batch the end lies in (their
// batch starts at or before last_seq + 1) mean a batch torn by a crash;
// a record starting a later batch means damage. The result does not depend
// on chunk_bytes (tests and the fuzz target check that).
Status ScanSegmentSource(const SegmentSource& source, uint64_t size, uint64_t segment_id,
                         size_t max_record_bytes, uint64_t zero_run, const RecordFn& on_record,
                         SegmentScan* out, std::string* buffer,
                         size_t chunk_bytes = kScanChunkBytes);

// The same over a segment file opened through env (at most 1 GiB).
Status ScanSegmentFile(io::Env* env, const std::string& path, uint64_t segment_id,
                       size_t max_record_bytes, uint64_t zero_run, const RecordFn& on_record,
                       SegmentScan* out, std::string* buffer);

// The same over bytes in memory.
Status ScanSegment(std::string_view data, uint64_t segment_id, size_t max_record_bytes,
                   const RecordFn& on_record, SegmentScan* out,
                   size_t chunk_bytes = kScanChunkBytes, uint64_t zero_run = kZeroRunToStop);

// Bytes past the end of the synced records that may hold bytes of a batch
// that was in flight at a crash: one batch is written at a time, starting
// where the synced records end, and it is at most max_batch_bytes long or one
// record of at most max_record_bytes (a batch always takes one record).
uint64_t TailWindow(size_t max_batch_bytes, size_t max_record_bytes);

// Writes zeros over the non-zero parts of [from, to) of file, reading it in
// bounded chunks; bytes that already read as zeros are not written. Returns
// the bytes written (0: nothing needed, and nothing needs syncing).
Result<uint64_t> ZeroNonZero(io::Env* env, io::File& file, uint64_t from, uint64_t to);

// Checkpoint file: "WRDNCKP1", u64 seq, u32 crc32c of seq and data, u32 0,
// then the snapshot bytes.
std::string EncodeCheckpoint(uint64_t seq, const std::string& snapshot);
Status DecodeCheckpoint(const std::string& file, const std::string& path, uint64_t* seq,
                        std::string* snapshot);
bool ParseCheckpointFileName(const std::string& name, uint64_t* seq);

}  // namespace warden::wal

#endif  // WARDEN_WAL_SCAN_H_
