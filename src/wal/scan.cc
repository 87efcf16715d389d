#include "wal/scan.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "wal/wal.h"

namespace warden::wal {
namespace {

// The sequence number the record's batch starts at; false when the batch
// index cannot be right in this segment (version 1 has none; a batch never
// spans segments).
bool BatchFirst(const RecordHeader& h, const SegmentHeader& segment, uint64_t* first) {
  if (segment.version < 2 && h.batch_index != 0) return false;
  if (h.seq < segment.first_seq || h.batch_index > h.seq - segment.first_seq) return false;
  *first = h.seq - h.batch_index;
  return true;
}

// Checks everything beyond the CRC; returns what is wrong, or "".
std::string CheckRecord(const RecordHeader& h, std::string_view body, const SegmentHeader& segment,
                        uint64_t expected_seq, Payload* payload) {
  const uint64_t segment_id = segment.segment_id;
  uint64_t batch_first = 0;
  if (h.segment_id != segment_id) {
    return "record of segment " + std::to_string(h.segment_id) + " in segment " +
           std::to_string(segment_id);
  }
  if (h.seq != expected_seq) {
    return "sequence " + std::to_string(h.seq) + ", expected " + std::to_string(expected_seq);
  }
  if (!BatchFirst(h, segment, &batch_first)) {
    return "batch index " + std::to_string(h.batch_index) + " of sequence " + std::to_string(h.seq) +
           " in a version " + std::to_string(segment.version) + " segment starting at " +
           std::to_string(segment.first_seq);
  }
  if (!payload->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return "payload does not parse";
  }
  if (static_cast<uint32_t>(payload->body_case()) != h.type) {
    return "payload type " + std::to_string(payload->body_case()) + " under header type " +
           std::to_string(h.type);
  }
  return "";
}

// A window over a segment: bytes [start_, start_ + len_) of the source live
// in *buf_. Moving forward reuses what is already read; moving back reads
// again.
class Window {
 public:
  Window(const SegmentSource& source, uint64_t size, size_t chunk, std::string* buf)
      : source_(source), size_(size), chunk_(std::max<size_t>(chunk, 64)), buf_(buf) {}

  // Makes [off, off + need) readable, or as much of it as the data holds.
  // Sets *p to the byte at off and *avail to the bytes readable from there
  // (possibly more than need).
  Status At(uint64_t off, size_t need, const char** p, size_t* avail) {
    uint64_t want = off >= size_ ? 0 : std::min<uint64_t>(need, size_ - off);
    if (off < start_ || off + want > start_ + len_) {
      WARDEN_RETURN_IF_ERROR(Fill(off, static_cast<size_t>(want)));
    }
    uint64_t end = start_ + len_;
    *avail = off >= end ? 0 : static_cast<size_t>(end - off);
    *p = buf_->data() + (off - start_);
    return Status::Ok();
  }

  uint64_t size() const { return size_; }

 private:
  Status Fill(uint64_t off, size_t want) {
    const uint64_t end = start_ + len_;
    size_t keep = off >= start_ && off < end ? static_cast<size_t>(end - off) : 0;
    if (keep > 0 && off > start_) std::memmove(buf_->data(), buf_->data() + (off - start_), keep);
    start_ = off;
    len_ = keep;
    // Twice the largest request: a window that slides by at least half its
    // size moves each byte at most once more.
    size_t cap = std::max(chunk_, 2 * want);
    if (buf_->size() < cap) buf_->resize(cap);
    cap = buf_->size();
    while (len_ < want) {
      uint64_t pos = start_ + len_;
      size_t n = static_cast<size_t>(std::min<uint64_t>(cap - len_, size_ - pos));
      WARDEN_ASSIGN_OR_RETURN(size_t got, source_(pos, buf_->data() + len_, n));
      len_ += got;
      if (got < n) {
        size_ = start_ + len_;  // shorter than its size said: the data ends here
        break;
      }
    }
    return Status::Ok();
  }

  const SegmentSource& source_;
  uint64_t size_;
  size_t chunk_;
  std::string* buf_;
  uint64_t start_ = 0;
  size_t len_ = 0;
};

// Offset of the first non-zero byte in p[0, n), or n.
size_t FirstNonZero(const char* p, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w != 0) break;
  }
  while (i < n && p[i] == 0) ++i;
  return i;
}

// End of the last non-zero byte at or after `from` that comes before the
// first run of zero_run zeros; `from` when there is none.
Result<uint64_t> NonZeroEnd(Window& w, uint64_t from, uint64_t zero_run) {
  uint64_t last_end = from;
  uint64_t pos = from;
  while (pos < w.size() && pos - last_end < zero_run) {
    const char* p;
    size_t avail;
    WARDEN_RETURN_IF_ERROR(w.At(pos, kScanChunkBytes, &p, &avail));
    if (avail == 0) break;
    size_t n = std::min<size_t>(avail, kScanChunkBytes);
    for (size_t i = FirstNonZero(p, n); i < n; i = i + 1 + FirstNonZero(p + i + 1, n - i - 1)) {
      if (pos + i - last_end >= zero_run) return last_end;
      last_end = pos + i + 1;
    }
    pos += n;
  }
  return last_end;
}

// Decodes the record at off with everything it claims to need in the window.
Status DecodeAt(Window& w, uint64_t off, size_t max_record_bytes, DecodeStatus* ds,
                RecordHeader* h, std::string_view* body) {
  const char* p;
  size_t avail;
  WARDEN_RETURN_IF_ERROR(w.At(off, kRecordHeaderBytes, &p, &avail));
  if (avail >= kRecordHeaderBytes) {
    uint32_t length;
    std::memcpy(&length, p + 4, 4);
    if (length <= max_record_bytes && RecordExtent(length) > avail) {
      WARDEN_RETURN_IF_ERROR(w.At(off, RecordExtent(length), &p, &avail));
    }
  }
  *ds = DecodeRecord(p, avail, max_record_bytes, h, body);
  return Status::Ok();
}

}  // namespace

Status ScanSegmentSource(const SegmentSource& source, uint64_t size, uint64_t segment_id,
                         size_t max_record_bytes, uint64_t zero_run, const RecordFn& on_record,
                         SegmentScan* out, std::string* buffer, size_t chunk_bytes) {
  *out = SegmentScan();
  Window w(source, size, chunk_bytes, buffer);
  const char* p;
  size_t avail;
  WARDEN_RETURN_IF_ERROR(w.At(0, kSegmentHeaderBytes, &p, &avail));
  if (!DecodeSegmentHeader(p, avail, &out->header)) {
    WARDEN_ASSIGN_OR_RETURN(uint64_t end, NonZeroEnd(w, 0, zero_run));
    out->all_zero = end == 0;
    return Status::Ok();
  }
  out->header_ok = true;
  if (out->header.segment_id != segment_id) {
    out->bad = true;
    out->bad_offset = 0;
    out->what = "segment header names segment " + std::to_string(out->header.segment_id);
    return Status::Ok();
  }
  uint64_t expected = out->header.first_seq;
  out->last_seq = expected - 1;
  uint64_t off = kSegmentHeaderBytes;
  Payload payload;
  for (;;) {
    RecordHeader h;
    std::string_view body;
    DecodeStatus ds;
    WARDEN_RETURN_IF_ERROR(DecodeAt(w, off, max_record_bytes, &ds, &h, &body));
    if (ds == DecodeStatus::kEnd) break;
    std::string what = ds == DecodeStatus::kOk ? CheckRecord(h, body, out->header, expected, &payload)
                                               : DecodeStatusName(ds);
    if (!what.empty()) {
      out->bad = true;
      out->bad_offset = off;
      out->what = what;
      break;
    }
    if (on_record) WARDEN_RETURN_IF_ERROR(on_record(h.seq, payload));
    out->last_seq = h.seq;
    ++out->records;
    ++expected;
    off += RecordExtent(h.length);
  }
  out->end_offset = off;
  // What lies after the end: a torn tail, a batch torn by a crash, or
  // damage with acknowledged records after it?
  WARDEN_ASSIGN_OR_RETURN(out->garbage_end, NonZeroEnd(w, off, zero_run));
  out->garbage_end = std::max(out->garbage_end, off);
  if (out->garbage_end == off) return Status::Ok();  // zeros: a clean end
  if (!out->bad) out->what = "all-zero record header";
  const uint64_t next = out->last_seq + 1;
  for (uint64_t pos = off + kRecordAlign; pos + kRecordHeaderBytes <= out->garbage_end;) {
    RecordHeader h;
    std::string_view body;
    DecodeStatus ds;
    WARDEN_RETURN_IF_ERROR(DecodeAt(w, pos, max_record_bytes, &ds, &h, &body));
    uint64_t batch_first = 0;
    if (ds != DecodeStatus::kOk || h.segment_id != segment_id ||
        !BatchFirst(h, out->header, &batch_first)) {
      pos += kRecordAlign;
      continue;
    }
    if (!out->valid_after || batch_first > next) {
      const char* kind = batch_first > next ? "; a record of a later batch" : "; a valid record";
      out->what += kind + std::string(" (sequence ") + std::to_string(h.seq) + ", batch from " +
                   std::to_string(batch_first) + ") follows at offset " + std::to_string(pos);
    }
    out->valid_after = true;
    if (batch_first > next) {
      out->later_batch_after = true;
      break;
    }
    pos += RecordExtent(h.length);
  }
  return Status::Ok();
}

Status ScanSegmentFile(io::Env* env, const std::string& path, uint64_t segment_id,
                       size_t max_record_bytes, uint64_t zero_run, const RecordFn& on_record,
                       SegmentScan* out, std::string* buffer) {
  WARDEN_ASSIGN_OR_RETURN(auto file, env->Open(path, io::kOpenRead));
  WARDEN_ASSIGN_OR_RETURN(uint64_t size, env->Size(*file));
  if (size > kMaxSegmentFileBytes) {
    return Status::Error(Code::kResourceExhausted, "\"" + path + "\": segment larger than 1 GiB");
  }
  SegmentSource source = [&](uint64_t offset, char* buf, size_t len) {
    return env->Read(*file, buf, len, offset);
  };
  return ScanSegmentSource(source, size, segment_id, max_record_bytes, zero_run, on_record, out,
                           buffer);
}

Status ScanSegment(std::string_view data, uint64_t segment_id, size_t max_record_bytes,
                   const RecordFn& on_record, SegmentScan* out, size_t chunk_bytes,
                   uint64_t zero_run) {
  SegmentSource source = [data](uint64_t offset, char* buf, size_t len) -> Result<size_t> {
    if (offset >= data.size()) return size_t{0};
    size_t n = std::min<size_t>(len, data.size() - static_cast<size_t>(offset));
    std::memcpy(buf, data.data() + offset, n);
    return n;
  };
  std::string buffer;
  return ScanSegmentSource(source, data.size(), segment_id, max_record_bytes, zero_run, on_record,
                           out, &buffer, chunk_bytes);
}

uint64_t TailWindow(size_t max_batch_bytes, size_t max_record_bytes) {
  return std::max<uint64_t>(max_batch_bytes, RecordExtent(max_record_bytes));
}

Result<uint64_t> ZeroNonZero(io::Env* env, io::File& file, uint64_t from, uint64_t to) {
  constexpr size_t kChunk = 64u << 10;
  constexpr size_t kBlock = 4096;
  static const std::string kZeros(kChunk, '\0');
  std::string buf(kChunk, '\0');
  uint64_t written = 0;
  for (uint64_t pos = from; pos < to;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, to - pos));
    WARDEN_ASSIGN_OR_RETURN(size_t got, env->Read(file, buf.data(), want, pos));
    if (got == 0) break;  // the file ends here
    // Coalesce the non-zero blocks of this chunk into runs of writes.
    for (size_t i = 0; i < got;) {
      size_t n = std::min(kBlock, got - i);
      if (FirstNonZero(buf.data() + i, n) == n) {
        i += n;
        continue;
      }
      size_t run = i;
      while (run < got && FirstNonZero(buf.data() + run, std::min(kBlock, got - run)) <
                              std::min(kBlock, got - run)) {
        run += std::min(kBlock, got - run);
      }
      WARDEN_RETURN_IF_ERROR(env->Write(file, kZeros.data(), run - i, pos + i));
      written += run - i;
      i = run;
    }
    pos += got;
  }
  return written;
}

std::string EncodeCheckpoint(uint64_t seq, const std::string& snapshot) {
  std::string out(24, '\0');
  std::memcpy(out.data(), "WRDNCKP1", 8);
  std::memcpy(out.data() + 8, &seq, 8);
  out += snapshot;
  uint32_t crc = Crc32cExtend(Crc32c(out.data() + 8, 8), snapshot.data(), snapshot.size());
  std::memcpy(out.data() + 16, &crc, 4);
  return out;
}

Status DecodeCheckpoint(const std::string& file, const std::string& path, uint64_t* seq,
                        std::string* snapshot) {
  if (file.size() < 24 || std::memcmp(file.data(), "WRDNCKP1", 8) != 0) {
    return Status::Error(Code::kCorruption, "checkpoint \"" + path + "\": bad magic or too short");
  }
  uint32_t crc;
  std::memcpy(seq, file.data() + 8, 8);
  std::memcpy(&crc, file.data() + 16, 4);
  if (Crc32cExtend(Crc32c(file.data() + 8, 8), file.data() + 24, file.size() - 24) != crc) {
    return Status::Error(Code::kCorruption, "checkpoint \"" + path + "\": CRC mismatch");
  }
  snapshot->assign(file, 24);
  return Status::Ok();
}

std::string CheckpointFileName(uint64_t seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "checkpoint-%016llx.snap", static_cast<unsigned long long>(seq));
  return buf;
}

bool ParseCheckpointFileName(const std::string& name, uint64_t* seq) {
  if (name.size() != 32 || name.compare(0, 11, "checkpoint-") != 0 ||
      name.compare(27, 5, ".snap") != 0) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = 11; i < 27; ++i) {
    char c = name[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  *seq = v;
  return true;
}

}  // namespace warden::wal
