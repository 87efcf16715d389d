#include "wal/format.h"

#include <isa-l/crc.h>

#include <cstdio>
#include <cstring>

#include "base/check.h"

namespace warden::wal {
namespace {

static_assert(kRecordHeaderBytes == 4 + 4 + 4 + 4 + 8 + 8, "record header layout");
static_assert(kSegmentHeaderBytes == 8 + 4 + 4 + 8 + 8, "segment header layout");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "WAL framing assumes little endian");

void Put32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void Put64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t Get32(const char* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t Get64(const char* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

uint32_t Extend(uint32_t crc, const void* data, size_t len) {
  // isa-l's crc32_iscsi takes an int length; feed it in bounded pieces.
  const auto* p = static_cast<const unsigned char*>(data);
  while (len > 0) {
    int n = static_cast<int>(std::min<size_t>(len, 1u << 30));
    crc = crc32_iscsi(const_cast<unsigned char*>(p), n, crc);
    p += n;
    len -= static_cast<size_t>(n);
  }
  return crc;
}

uint32_t RecordCrc(const char* header, std::string_view payload) {
  uint32_t crc = Extend(0xffffffffu, header + 4, kRecordHeaderBytes - 4);
  crc = Extend(crc, payload.data(), payload.size());
  return ~crc;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t len) { return Crc32cExtend(0, data, len); }

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t len) {
  return ~Extend(~crc, data, len);
}

void EncodeRecord(uint32_t type, uint64_t segment_id, uint64_t seq, std::string_view payload,
                  std::string* out, uint32_t batch_index) {
  WARDEN_CHECK(type >= 1 && type <= kMaxRecordType);
  WARDEN_CHECK(payload.size() <= UINT32_MAX);
  size_t start = out->size();
  out->resize(start + RecordExtent(payload.size()), '\0');
  char* h = out->data() + start;
  Put32(h + 4, static_cast<uint32_t>(payload.size()));
  Put32(h + 8, type);
  Put32(h + 12, batch_index);
  Put64(h + 16, segment_id);
  Put64(h + 24, seq);
  std::memcpy(h + kRecordHeaderBytes, payload.data(), payload.size());
  Put32(h, RecordCrc(h, payload));
}

const char* DecodeStatusName(DecodeStatus status) {
  switch (status) {
    case DecodeStatus::kOk: return "ok";
    case DecodeStatus::kEnd: return "end of records";
    case DecodeStatus::kTruncated: return "record runs past the end of the segment";
    case DecodeStatus::kBadLength: return "record length over the limit";
    case DecodeStatus::kBadType: return "unknown record type";
    case DecodeStatus::kBadCrc: return "CRC mismatch";
  }
  return "?";
}

DecodeStatus DecodeRecord(const char* p, size_t avail, size_t max_record_bytes,
                          RecordHeader* header, std::string_view* payload) {
  if (avail < kRecordHeaderBytes) {
    for (size_t i = 0; i < avail; ++i) {
      if (p[i] != 0) return DecodeStatus::kTruncated;
    }
    return DecodeStatus::kEnd;
  }
  static const char kZeros[kRecordHeaderBytes] = {};
  if (std::memcmp(p, kZeros, kRecordHeaderBytes) == 0) return DecodeStatus::kEnd;
  RecordHeader h;
  h.crc = Get32(p);
  h.length = Get32(p + 4);
  h.type = Get32(p + 8);
  h.batch_index = Get32(p + 12);
  h.segment_id = Get64(p + 16);
  h.seq = Get64(p + 24);
  if (h.length > max_record_bytes) return DecodeStatus::kBadLength;
  if (h.type < 1 || h.type > kMaxRecordType) return DecodeStatus::kBadType;
  if (RecordExtent(h.length) > avail) return DecodeStatus::kTruncated;
  std::string_view body(p + kRecordHeaderBytes, h.length);
  if (RecordCrc(p, body) != h.crc) return DecodeStatus::kBadCrc;
  *header = h;
  *payload = body;
  return DecodeStatus::kOk;
}

std::string EncodeSegmentHeader(const SegmentHeader& header) {
  std::string out(kSegmentHeaderBytes, '\0');
  std::memcpy(out.data(), kSegmentMagic, 8);
  WARDEN_CHECK(header.version >= kMinFormatVersion && header.version <= kFormatVersion);
  Put32(out.data() + 8, header.version);
  Put64(out.data() + 16, header.segment_id);
  Put64(out.data() + 24, header.first_seq);
  uint32_t crc = ~Extend(Extend(0xffffffffu, out.data(), 12), out.data() + 16, 16);
  Put32(out.data() + 12, crc);
  return out;
}

bool DecodeSegmentHeader(const char* p, size_t avail, SegmentHeader* header) {
  if (avail < kSegmentHeaderBytes) return false;
  const uint32_t version = Get32(p + 8);
  if (std::memcmp(p, kSegmentMagic, 8) != 0 || version < kMinFormatVersion ||
      version > kFormatVersion) {
    return false;
  }
  uint32_t crc = ~Extend(Extend(0xffffffffu, p, 12), p + 16, 16);
  if (crc != Get32(p + 12)) return false;
  header->segment_id = Get64(p + 16);
  header->first_seq = Get64(p + 24);
  header->version = version;
  return true;
}

std::string SegmentFileName(uint64_t segment_id) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "wal-%016llx.log", static_cast<unsigned long long>(segment_id));
  return buf;
}

bool ParseSegmentFileName(const std::string& name, uint64_t* segment_id) {
  if (name.size() != 24 || name.compare(0, 4, "wal-") != 0 || name.compare(20, 4, ".log") != 0) {
    return false;
  }
  uint64_t id = 0;
  for (size_t i = 4; i < 20; ++i) {
    char c = name[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return false;
    id = id << 4 | static_cast<uint64_t>(v);
  }
  *segment_id = id;
  return true;
}

}  // namespace warden::wal
