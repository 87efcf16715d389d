// Fuzz target for WAL recovery: arbitrary bytes read as a segment file and as
// a checkpoint file (both are outside input after a crash or a bad disk).
//
// Checks, beyond "no crash, no sanitizer report":
//   - scanning through a 64-byte window finds exactly what scanning with the
//     default window finds (the window logic is the tricky part of replay);
//   - the records handed out are consecutive from the header's first_seq,
//     their count matches the scan, and every offset lies inside the input;
//   - a bad record is reported where the good ones end.
//
// Build and run: `make fuzz` (gcc, with tests/fuzz/fuzz_main.cc as driver).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "wal/format.h"
#include "wal/scan.h"

namespace {

using warden::Status;
namespace wal = warden::wal;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "wal_fuzz: %s\n", what);
  std::abort();
}

struct Seen {
  uint64_t count = 0;
  uint64_t first = 0;
  uint64_t last = 0;
  bool consecutive = true;
};

wal::SegmentScan Scan(std::string_view data, size_t chunk, Seen* seen) {
  wal::SegmentScan scan;
  auto on_record = [&](uint64_t seq, const wal::Payload&) -> Status {
    if (seen->count == 0) seen->first = seq;
    else if (seq != seen->last + 1) seen->consecutive = false;
    seen->last = seq;
    ++seen->count;
    return Status::Ok();
  };
  Status st = wal::ScanSegment(data, 1, 1 << 16, on_record, &scan, chunk);
  if (!st.ok()) Fail("ScanSegment failed on in-memory data");
  return scan;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Seen a, b;
  wal::SegmentScan big = Scan(in, 1 << 20, &a);
  wal::SegmentScan small = Scan(in, 64, &b);
  if (big.header_ok != small.header_ok || big.all_zero != small.all_zero ||
      big.end_offset != small.end_offset || big.records != small.records ||
      big.bad != small.bad || big.bad_offset != small.bad_offset || big.what != small.what ||
      big.valid_after != small.valid_after || big.garbage_end != small.garbage_end ||
      a.count != b.count) {
    Fail("the scan depends on the window size");
  }
  if (big.header_ok) {
    if (a.count != big.records) Fail("records handed out differ from the count");
    if (!a.consecutive) Fail("records out of sequence");
    if (a.count > 0 && a.first != big.header.first_seq) Fail("first record is not first_seq");
    if (big.last_seq != big.header.first_seq + big.records - 1) Fail("last_seq inconsistent");
    if (big.end_offset < wal::kSegmentHeaderBytes || big.end_offset > size) {
      Fail("end offset outside the input");
    }
    if (big.bad && big.bad_offset != big.end_offset) Fail("bad record not where good ones end");
    if (big.bad && big.garbage_end < big.bad_offset) Fail("garbage ends before it starts");
  } else if (a.count != 0) {
    Fail("records from a segment without a valid header");
  }
  uint64_t seq = 0;
  std::string snapshot;
  (void)wal::DecodeCheckpoint(std::string(in), "fuzz-checkpoint", &seq, &snapshot);
  return 0;
}
