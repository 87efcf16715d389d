#include "wal/scan.h"

#include <cstdio>
#include <cstring>

#include "wal/wal.h"

namespace warden::wal {
namespace {

// Checks everything beyond the CRC; returns what is wrong, or "".
std::string CheckRecord(const RecordHeader& h, std::string_view body, uint64_t segment_id,
                        uint64_t expected_seq, Payload* payload) {
  if (h.segment_id != segment_id) {
    return "record of segment " + std::to_string(h.segment_id) + " in segment " +
           std::to_string(segment_id);
  }
  if (h.seq != expected_seq) {
    return "sequence " + std::to_string(h.seq) + ", expected " + std::to_string(expected_seq);
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

}  // namespace

Result<std::string> ReadSegment(io::Env* env, const std::string& path) {
  constexpr size_t kChunk = 1 << 20;
  constexpr size_t kZeroRunToStop = 8 << 20;
  WARDEN_ASSIGN_OR_RETURN(auto file, env->Open(path, io::kOpenRead));
  WARDEN_ASSIGN_OR_RETURN(uint64_t size, env->Size(*file));
  if (size > kMaxSegmentFileBytes) {
    return Status::Error(Code::kResourceExhausted, "\"" + path + "\": segment larger than 1 GiB");
  }
  std::string out;
  // Reserved, not filled: untouched pages of the empty tail cost nothing.
  out.reserve(size);
  std::string chunk(kChunk, '\0');
  size_t zero_run = 0;
  while (out.size() < size && zero_run < kZeroRunToStop) {
    WARDEN_ASSIGN_OR_RETURN(size_t n, env->Read(*file, chunk.data(), kChunk, out.size()));
    if (n == 0) break;
    size_t last = std::string_view(chunk.data(), n).find_last_not_of('\0');
    zero_run = last == std::string_view::npos ? zero_run + n : n - last - 1;
    out.append(chunk.data(), n);
  }
  // Whatever was not read is zeros as far as scanning is concerned.
  return out;
}

Status ScanSegment(const std::string& data, uint64_t segment_id, size_t max_record_bytes,
                   const std::function<Status(uint64_t, const Payload&)>& on_record,
                   SegmentScan* out) {
  *out = SegmentScan();
  if (!DecodeSegmentHeader(data.data(), data.size(), &out->header)) {
    out->all_zero = data.find_first_not_of('\0') == std::string::npos;
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
  size_t off = kSegmentHeaderBytes;
  Payload payload;
  for (;;) {
    RecordHeader h;
    std::string_view body;
    DecodeStatus ds = DecodeRecord(data.data() + off, data.size() - off, max_record_bytes, &h, &body);
    if (ds == DecodeStatus::kEnd) break;
    std::string what = ds == DecodeStatus::kOk ? CheckRecord(h, body, segment_id, expected, &payload)
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
  if (!out->bad) return Status::Ok();
  // Is the bad record the torn end of the log, or damage with records after
  // it? Any later position holding a record that passes its CRC and names
  // this segment means the latter.
  size_t last_nonzero = data.find_last_not_of('\0');
  out->garbage_end = last_nonzero == std::string::npos ? off : last_nonzero + 1;
  for (size_t pos = off + kRecordAlign; pos + kRecordHeaderBytes <= out->garbage_end;
       pos += kRecordAlign) {
    RecordHeader h;
    std::string_view body;
    if (DecodeRecord(data.data() + pos, data.size() - pos, max_record_bytes, &h, &body) ==
            DecodeStatus::kOk &&
        h.segment_id == segment_id) {
      out->valid_after = true;
      out->what += "; a valid record (sequence " + std::to_string(h.seq) + ") follows at offset " +
                   std::to_string(pos);
      break;
    }
  }
  return Status::Ok();
}

std::string EncodeCheckpoint(uint64_t seq, const std::string& snapshot) {
  std::string out(24, '\0');
  std::memcpy(out.data(), "WRDNCKP1", 8);
  std::memcpy(out.data() + 8, &seq, 8);
  out += snapshot;
  std::string crc_input = out.substr(8, 8) + snapshot;
  uint32_t crc = Crc32c(crc_input.data(), crc_input.size());
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
  std::string crc_input = file.substr(8, 8) + file.substr(24);
  if (Crc32c(crc_input.data(), crc_input.size()) != crc) {
    return Status::Error(Code::kCorruption, "checkpoint \"" + path + "\": CRC mismatch");
  }
  *snapshot = file.substr(24);
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
