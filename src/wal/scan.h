// Internal to wal/: reading segments and checkpoints back, shared by
// Wal::Open and Repair.
#ifndef WARDEN_WAL_SCAN_H_
#define WARDEN_WAL_SCAN_H_

#include <cstdint>
#include <functional>
#include <string>

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
  bool valid_after = false;   // a valid record follows the bad one
  uint64_t garbage_end = 0;   // end of the non-zero bytes after bad_offset
};

// Reads a segment up to the end of its written bytes: reading stops after
// 8 MiB of zeros in a row (more than any batch's torn hole), so replay does
// not pay for the pre-allocated empty tail.
Result<std::string> ReadSegment(io::Env* env, const std::string& path);

// Scans one segment's bytes. Good records (CRC, segment id, the expected
// sequence, a payload that parses and matches its type) go to on_record, in
// order, until the first bad one.
Status ScanSegment(const std::string& data, uint64_t segment_id, size_t max_record_bytes,
                   const std::function<Status(uint64_t, const Payload&)>& on_record,
                   SegmentScan* out);

// Checkpoint file: "WRDNCKP1", u64 seq, u32 crc32c of seq and data, u32 0,
// then the snapshot bytes.
std::string EncodeCheckpoint(uint64_t seq, const std::string& snapshot);
Status DecodeCheckpoint(const std::string& file, const std::string& path, uint64_t* seq,
                        std::string* snapshot);
bool ParseCheckpointFileName(const std::string& name, uint64_t* seq);

}  // namespace warden::wal

#endif  // WARDEN_WAL_SCAN_H_
