// On-disk framing of WAL segments and records.
//
// A segment file "wal-<id as 16 hex>.log" is pre-allocated to its full size
// and reads as zeros beyond its last record. It starts with a 32-byte
// segment header, then records, each 8-byte aligned:
//
//   record header (32 bytes, little endian)
//     u32 crc32c    over bytes 4..31 of the header and the payload
//     u32 length    payload bytes
//     u32 type      the Payload field number (1 blob, 2 intent, 3 done)
//     u32 index     the record's index within its batch (0: the batch's
//                   first record), so a batch starts at sequence - index.
//                   Always 0 in version 1 segments, where every record
//                   counts as its own batch.
//     u64 segment   id of the segment the record was written to
//     u64 sequence  1, 2, 3, ... across segments, without gaps
//   payload (length bytes): a serialized wal.Payload (protobuf lite)
//   zero padding to the next multiple of 8
//
// A header of all zeros is the end of the records: zeroed space never passes
// as a record because type 0 is invalid and the CRC would not match.
//
// Segment versions: 2 is written; 1 (written before batch indexes) is read.
#ifndef WARDEN_WAL_FORMAT_H_
#define WARDEN_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace warden::wal {

inline constexpr size_t kRecordHeaderBytes = 32;
inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr size_t kRecordAlign = 8;
inline constexpr char kSegmentMagic[8] = {'W', 'R', 'D', 'N', 'W', 'A', 'L', '1'};
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kMinFormatVersion = 1;
inline constexpr uint32_t kMaxRecordType = 3;

// CRC32C (Castagnoli), hardware-accelerated by isa-l where the CPU allows,
// its portable table code otherwise.
uint32_t Crc32c(const void* data, size_t len);
// The CRC32C of A followed by data, given crc = Crc32c(A): checksums of
// pieces without joining them. Crc32cExtend(0, data, len) == Crc32c(data, len).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t len);

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t length = 0;
  uint32_t type = 0;
  uint32_t batch_index = 0;
  uint64_t segment_id = 0;
  uint64_t seq = 0;
};

struct SegmentHeader {
  uint64_t segment_id = 0;
  uint64_t first_seq = 0;
  uint32_t version = kFormatVersion;
};

// Bytes a record with this payload occupies, padding included.
inline size_t RecordExtent(size_t payload_len) {
  return (kRecordHeaderBytes + payload_len + kRecordAlign - 1) / kRecordAlign * kRecordAlign;
}

// Appends the framed record (header, payload, padding) to out. batch_index
// must be 0 in a version 1 segment.
void EncodeRecord(uint32_t type, uint64_t segment_id, uint64_t seq, std::string_view payload,
                  std::string* out, uint32_t batch_index = 0);

enum class DecodeStatus {
  kOk,
  kEnd,        // all-zero header: no more records
  kTruncated,  // the record runs past the available bytes
  kBadLength,  // length over the limit
  kBadType,
  kBadCrc,
};
const char* DecodeStatusName(DecodeStatus status);

// Decodes the record at p (avail bytes readable). On kOk, header and payload
// are set and the record occupies RecordExtent(header.length) bytes. The
// batch index is not judged here: what is valid depends on the segment's
// version (see the scanner).
DecodeStatus DecodeRecord(const char* p, size_t avail, size_t max_record_bytes,
                          RecordHeader* header, std::string_view* payload);

std::string EncodeSegmentHeader(const SegmentHeader& header);
// False when the magic or CRC do not match or the version is not one this
// code reads (kMinFormatVersion .. kFormatVersion).
bool DecodeSegmentHeader(const char* p, size_t avail, SegmentHeader* header);

std::string SegmentFileName(uint64_t segment_id);
// True and the id when name is a segment file name.
bool ParseSegmentFileName(const std::string& name, uint64_t* segment_id);

}  // namespace warden::wal

#endif  // WARDEN_WAL_FORMAT_H_
