#include "wal/format.h"

#include <string>

#include "test_util.h"

namespace wal = warden::wal;

TEST_CASE("wal: CRC32C matches the standard check value", "[wal]") {
  CHECK(wal::Crc32c("123456789", 9) == 0xE3069283u);
  CHECK(wal::Crc32c("", 0) == 0u);
}

TEST_CASE("wal: framing round trips", "[wal]") {
  std::string buf;
  const std::string payloads[] = {"", "a", std::string(7, 'x'), std::string(8, 'y'),
                                  std::string(1000, 'z')};
  uint64_t seq = 10;
  for (const auto& p : payloads) wal::EncodeRecord(1, 7, seq++, p, &buf);
  size_t off = 0;
  seq = 10;
  for (const auto& p : payloads) {
    wal::RecordHeader h;
    std::string_view body;
    REQUIRE(wal::DecodeRecord(buf.data() + off, buf.size() - off, 4096, &h, &body) ==
            wal::DecodeStatus::kOk);
    CHECK(h.type == 1);
    CHECK(h.segment_id == 7);
    CHECK(h.seq == seq++);
    CHECK(body == p);
    CHECK(off % wal::kRecordAlign == 0);
    off += wal::RecordExtent(h.length);
  }
  CHECK(off == buf.size());
  wal::RecordHeader h;
  std::string_view body;
  std::string zeros(64, '\0');
  CHECK(wal::DecodeRecord(zeros.data(), zeros.size(), 4096, &h, &body) == wal::DecodeStatus::kEnd);
  CHECK(wal::DecodeRecord(buf.data(), buf.size(), 10, &h, &body) == wal::DecodeStatus::kOk);
  std::string big;
  wal::EncodeRecord(1, 1, 1, std::string(100, 'q'), &big);
  CHECK(wal::DecodeRecord(big.data(), big.size(), 99, &h, &body) == wal::DecodeStatus::kBadLength);
  CHECK(wal::DecodeRecord(big.data(), 50, 4096, &h, &body) == wal::DecodeStatus::kTruncated);
}

TEST_CASE("wal: every single bit flip in a record is detected", "[wal]") {
  std::string rec;
  wal::EncodeRecord(2, 3, 4, "payload bytes that matter", &rec);
  for (size_t bit = 0; bit < rec.size() * 8; ++bit) {
    std::string bad = rec;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    wal::RecordHeader h;
    std::string_view body;
    wal::DecodeStatus st = wal::DecodeRecord(bad.data(), bad.size(), 4096, &h, &body);
    // Flips in the zero padding do not change what the record says.
    if (st == wal::DecodeStatus::kOk) {
      CHECK(bit / 8 >= wal::kRecordHeaderBytes + 25);
      CHECK(body == "payload bytes that matter");
    }
  }
}

TEST_CASE("wal: segment header and file names", "[wal]") {
  std::string hdr = wal::EncodeSegmentHeader({42, 1000});
  wal::SegmentHeader back;
  REQUIRE(wal::DecodeSegmentHeader(hdr.data(), hdr.size(), &back));
  CHECK(back.segment_id == 42);
  CHECK(back.first_seq == 1000);
  hdr[20] ^= 1;
  CHECK_FALSE(wal::DecodeSegmentHeader(hdr.data(), hdr.size(), &back));
  uint64_t id = 0;
  REQUIRE(wal::ParseSegmentFileName(wal::SegmentFileName(0xabc), &id));
  CHECK(id == 0xabc);
  CHECK_FALSE(wal::ParseSegmentFileName("wal-0000000000000abc.lo", &id));
  CHECK_FALSE(wal::ParseSegmentFileName("wal-000000000000zabc.log", &id));
}
