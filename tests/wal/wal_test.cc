#include "wal/wal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <algorithm>
#include <random>
#include <set>
#include <string>

#include "base/fault.h"
#include "base/file.h"
#include "io/fault_env.h"
#include "io/test_backends.h"
#include "test_util.h"
#include "wal/format.h"
#include "wal/wal_test_util.h"

using warden::Code;
using warden::Result;
using warden::Status;
using warden::testing::BlobPayload;
using warden::testing::OpenWal;
using warden::testing::Replayed;
using warden::testing::SmallOptions;
using warden::testing::TempDir;
namespace io = warden::io;
namespace wal = warden::wal;
namespace fs = std::filesystem;

namespace {

std::string Seg(const TempDir& dir, uint64_t id) {
  return dir.Join("wal/" + wal::SegmentFileName(id));
}

void AppendN(wal::Wal* w, int n, const std::string& prefix) {
  for (int i = 0; i < n; ++i) {
    auto r = w->AppendAndWait(BlobPayload(prefix + std::to_string(i)));
    REQUIRE(r.ok());
  }
}

void PatchFile(const std::string& path, size_t off, const std::string& bytes) {
  auto data = warden::base::ReadFile(path, 1 << 30);
  REQUIRE(data.ok());
  std::string d = data.value();
  REQUIRE(off + bytes.size() <= d.size());
  d.replace(off, bytes.size(), bytes);
  warden::base::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  REQUIRE(warden::base::WriteAll(fd.get(), d.data(), d.size(), "patch").ok());
}

}  // namespace

TEST_CASE("wal: appends survive reopen across segments", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE(w.ok());
    // ~1 KiB records in 64 KiB segments: several rolls.
    for (int i = 0; i < 200; ++i) {
      auto seq = w.value()->AppendAndWait(BlobPayload(std::string(1000, 'a' + i % 26) + std::to_string(i)));
      REQUIRE(seq.ok());
      CHECK(seq.value() == static_cast<uint64_t>(i + 1));
    }
    CHECK(w.value()->segment_count() > 2);
  }
  auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
  REQUIRE(w.ok());
  REQUIRE(r.blobs.size() == 200);
  for (int i = 0; i < 200; ++i) {
    CHECK(r.seqs[i] == static_cast<uint64_t>(i + 1));
    CHECK(r.blobs[i] == std::string(1000, 'a' + i % 26) + std::to_string(i));
  }
  CHECK(w.value()->recovery().torn_file.empty());
  CHECK(w.value()->AppendAndWait(BlobPayload("next")).value() == 201);
}

TEST_CASE("wal: concurrent appends are group-committed in order", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  Replayed r;
  auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
  REQUIRE(w.ok());
  std::vector<uint64_t> acked;
  for (int i = 0; i < 64; ++i) {
    w.value()->Append(BlobPayload("r" + std::to_string(i)), [&](Result<uint64_t> s) {
      REQUIRE(s.ok());
      acked.push_back(s.value());
    });
  }
  CHECK(acked.empty());  // never acknowledged before the loop ran the sync
  REQUIRE(loop->RunUntil([&] { return acked.size() == 64; }, 5000).ok());
  for (size_t i = 0; i < acked.size(); ++i) CHECK(acked[i] == i + 1);
  w.value().reset();
  auto w2 = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
  REQUIRE(w2.ok());
  REQUIRE(r.blobs.size() == 64);
  CHECK(r.blobs[63] == "r63");
}

TEST_CASE("wal: a torn tail at every byte offset of the last record is cut off", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 3, "record-number-");
  }
  const std::string seg = Seg(dir, 1);
  const std::string pristine = warden::base::ReadFile(seg, 1 << 20).value();
  size_t rec = wal::RecordExtent(BlobPayload("record-number-0").ByteSizeLong());
  size_t last = wal::kSegmentHeaderBytes + 2 * rec;
  // Bytes of the record proper; cutting only the zero padding tears nothing.
  size_t used = wal::kRecordHeaderBytes + BlobPayload("record-number-0").ByteSizeLong();
  for (size_t cut = 0; cut < used; ++cut) {
    INFO("cut at byte " << cut);
    PatchFile(seg, 0, pristine);
    PatchFile(seg, last + cut, std::string(rec - cut, '\0'));
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE(w.ok());
    CHECK(r.blobs.size() == 2);
    if (cut > 0) {
      CHECK(w.value()->recovery().torn_offset == last);
    }
    // The log continues where the good records end.
    CHECK(w.value()->AppendAndWait(BlobPayload("after")).value() == 3);
  }
}

TEST_CASE("wal: bit flips are detected; damage before valid records refuses to open", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 3, "bits-");
  }
  const std::string seg = Seg(dir, 1);
  const std::string pristine = warden::base::ReadFile(seg, 1 << 20).value();
  size_t rec = wal::RecordExtent(BlobPayload("bits-0").ByteSizeLong());
  size_t used = wal::kRecordHeaderBytes + BlobPayload("bits-0").ByteSizeLong();
  for (size_t bit = 0; bit < (wal::kSegmentHeaderBytes + 3 * rec) * 8; ++bit) {
    size_t byte = bit / 8;
    size_t in_rec = (byte - wal::kSegmentHeaderBytes) % rec;
    if (byte >= wal::kSegmentHeaderBytes && in_rec >= used) continue;  // padding
    INFO("bit " << bit);
    std::string bad = pristine;
    bad[byte] = static_cast<char>(bad[byte] ^ (1 << (bit % 8)));
    PatchFile(seg, 0, bad);
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    size_t rec_index = byte < wal::kSegmentHeaderBytes ? 99 : (byte - wal::kSegmentHeaderBytes) / rec;
    if (rec_index == 2) {
      // The last record cannot be told from a torn write: cut, and said so.
      REQUIRE(w.ok());
      CHECK(r.blobs.size() == 2);
      CHECK(w.value()->recovery().torn_bytes > 0);
    } else {
      REQUIRE_FALSE(w.ok());
      CHECK(w.status().code() == Code::kCorruption);
      CHECK(w.status().message().find(seg) != std::string::npos);
      if (rec_index != 99) {
        CHECK(w.status().message().find("offset " + std::to_string(wal::kSegmentHeaderBytes + rec_index * rec)) !=
              std::string::npos);
      }
    }
    for (size_t i = 0; i < r.blobs.size(); ++i) CHECK(r.blobs[i] == "bits-" + std::to_string(i));
  }
}

TEST_CASE("wal: repair quarantines a damaged segment and keeps a copy", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 5, "rep-");
  }
  size_t rec = wal::RecordExtent(BlobPayload("rep-0").ByteSizeLong());
  PatchFile(Seg(dir, 1), wal::kSegmentHeaderBytes + rec + 40, "\x55");
  REQUIRE_FALSE(OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r).ok());
  std::string report;
  REQUIRE(wal::Repair(io::PosixEnv(), dir.Join("wal"), SmallOptions(), &report).ok());
  CHECK(report.find("quarantine/") != std::string::npos);
  size_t copies = 0;
  for (const auto& e : fs::directory_iterator(dir.Join("wal/quarantine"))) {
    CHECK(e.file_size() > 0);
    ++copies;
  }
  CHECK(copies == 1);
  auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.blobs == std::vector<std::string>{"rep-0"});
  CHECK(w.value()->AppendAndWait(BlobPayload("x")).value() == 2);
  REQUIRE(wal::Repair(io::PosixEnv(), dir.Join("wal"), SmallOptions(), &report).ok());
  CHECK(report == "nothing to repair\n");
}

TEST_CASE("wal: ENOSPC fails appends clearly and the log stays openable", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 3, "ok-");
    env.AddRule({io::FaultOp::kWrite, ENOSPC, 0, 0, 20});
    auto failed = w.value()->AppendAndWait(BlobPayload("does-not-fit"));
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().err() == ENOSPC);
    CHECK(failed.status().message().find("ENOSPC") != std::string::npos);
    CHECK_FALSE(w.value()->health().ok());
    auto later = w.value()->AppendAndWait(BlobPayload("later"));
    REQUIRE_FALSE(later.ok());
    CHECK(later.status().code() == Code::kFailedPrecondition);
  }
  env.ClearRules();
  auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.blobs == std::vector<std::string>{"ok-0", "ok-1", "ok-2"});
  CHECK(w.value()->AppendAndWait(BlobPayload("fits")).value() == 4);
}

TEST_CASE("wal: an fdatasync error is fatal and never retried", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  Replayed r;
  auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
  REQUIRE(w.ok());
  AppendN(w.value().get(), 1, "a");
  env.AddRule({io::FaultOp::kSync, EIO, 0, 1, 0});
  auto failed = w.value()->AppendAndWait(BlobPayload("b"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().err() == EIO);
  // The rule allowed the next sync, but the log does not try again.
  CHECK(w.value()->AppendAndWait(BlobPayload("c")).status().code() == Code::kFailedPrecondition);
}

TEST_CASE("wal: limits on record size, queue depth and options", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  Replayed r;
  wal::WalOptions o = SmallOptions();
  o.max_queue_depth = 4;
  auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r, o);
  REQUIRE(w.ok());
  auto big = w.value()->AppendAndWait(BlobPayload(std::string(9 << 10, 'x')));
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == Code::kResourceExhausted);
  CHECK(big.status().message().find("max_record_bytes") != std::string::npos);
  int ok = 0, full = 0;
  for (int i = 0; i < 6; ++i) {
    w.value()->Append(BlobPayload("q"), [&](Result<uint64_t> s) {
      if (s.ok()) ++ok;
      else if (s.status().code() == Code::kResourceExhausted) ++full;
    });
  }
  REQUIRE(loop->RunUntil([&] { return ok + full == 6; }, 5000).ok());
  CHECK(ok == 4);
  CHECK(full == 2);
  CHECK(w.value()->health().ok());
  wal::WalOptions bad = SmallOptions();
  bad.segment_bytes = 1000;
  auto b = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal2"), &r, bad);
  REQUIRE_FALSE(b.ok());
  CHECK(b.status().code() == Code::kInvalidArgument);
  bad = SmallOptions();
  bad.max_record_bytes = 64 << 10;
  CHECK(OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal2"), &r, bad).status().code() ==
        Code::kInvalidArgument);
}

TEST_CASE("wal: checkpoints bound replay and delete old segments", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE(w.ok());
    for (int i = 0; i < 150; ++i) REQUIRE(w.value()->AppendAndWait(BlobPayload(std::string(1000, 'c'))).ok());
    size_t before = w.value()->segment_count();
    REQUIRE(before > 2);
    REQUIRE(w.value()->CheckpointAndWait("state@150", 150).ok());
    CHECK(w.value()->segment_count() == 1);
    AppendN(w.value().get(), 2, "after-");
    REQUIRE(w.value()->CheckpointAndWait("state@152", 152).ok());
    AppendN(w.value().get(), 1, "tail-");
    CHECK(w.value()->CheckpointAndWait("too far", 999).code() == Code::kInvalidArgument);
  }
  auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.snapshot == "state@152");
  CHECK(r.snapshot_seq == 152);
  CHECK(r.blobs == std::vector<std::string>{"tail-0"});
  size_t checkpoints = 0;
  for (const auto& e : fs::directory_iterator(dir.Join("wal"))) {
    if (e.path().filename().string().rfind("checkpoint-", 0) == 0) ++checkpoints;
  }
  CHECK(checkpoints == 1);
}

TEST_CASE("wal: simulated crash at every I/O step keeps every acknowledged append", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  for (uint64_t crash_at = 0; crash_at < 40; ++crash_at) {
    INFO("crash after " << crash_at << " operations");
    TempDir dir;
    io::FaultEnv env;
    Replayed r;
    std::set<std::string> acked;
    {
      auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r, SmallOptions());
      if (!w.ok()) continue;
      env.CrashAfterOps(crash_at);
      int outstanding = 0;
      for (int i = 0; i < 12; ++i) {
        std::string id = "id-" + std::to_string(i) + std::string(6000, 'p');
        ++outstanding;
        w.value()->Append(BlobPayload(id), [&, id](Result<uint64_t> s) {
          --outstanding;
          if (s.ok()) acked.insert(id);
        });
      }
      REQUIRE(loop->RunUntil([&] { return outstanding == 0; }, 5000).ok());
      env.Crash();
    }
    env.Restart();
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    std::set<std::string> seen;
    for (const auto& b : r.blobs) CHECK(seen.insert(b).second);
    for (const auto& a : acked) CHECK(seen.count(a) == 1);
  }
}

TEST_CASE("wal: a torn write at power loss is recovered", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 2, "pre-");
    env.TearNextWrite(21);
    CHECK_FALSE(w.value()->AppendAndWait(BlobPayload("torn-record")).ok());
  }
  env.Restart();
  auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.blobs == std::vector<std::string>{"pre-0", "pre-1"});
  CHECK(w.value()->recovery().torn_bytes > 0);
}

TEST_CASE("wal: the WAL directory made by Open survives a crash", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  Replayed r;
  {
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 2, "acked-");
  }
  // mkdir is not durable until its parent is synced: without that fsync the
  // directory, and every acknowledged record in it, is gone after the crash.
  env.Crash();
  env.Restart();
  auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.blobs == std::vector<std::string>{"acked-0", "acked-1"});
}

namespace {

// Appends `n` records without waiting, so that they go as one batch, and
// runs the loop until every callback ran; returns the acknowledged ones.
std::vector<std::string> AppendBatch(warden::io::Loop* loop, wal::Wal* w,
                                     const std::vector<std::string>& blobs) {
  std::vector<std::string> acked;
  size_t outstanding = blobs.size();
  for (const std::string& b : blobs) {
    w->Append(BlobPayload(b), [&, b](Result<uint64_t> s) {
      --outstanding;
      if (s.ok()) acked.push_back(b);
    });
  }
  REQUIRE(loop->RunUntil([&] { return outstanding == 0; }, 5000).ok());
  return acked;
}

std::vector<std::string> Numbered(const std::string& prefix, int n, size_t pad) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string id = std::to_string(i);
    out.push_back(prefix + std::string(2 - std::min<size_t>(2, id.size()), '0') + id +
                  std::string(pad, prefix[0]));
  }
  return out;
}

}  // namespace

TEST_CASE("wal: a batch whose first page never reached disk leaves no stale records behind", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  Replayed r;
  std::vector<std::string> acked = {"pre-0", "pre-1"};
  const std::string seg = Seg(dir, 1);
  {
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 2, "pre-");
    // One batch of 16 records of about 1 KiB, four pages: its write goes
    // through, the crash comes at its fdatasync, and the disk had written
    // back every page of it but the first.
    const uint64_t batch_start =
        wal::kSegmentHeaderBytes + 2 * wal::RecordExtent(BlobPayload("pre-0").ByteSizeLong());
    const uint64_t first_page = batch_start / io::kFaultPageBytes;
    env.SetCrashPageFilter([&](const std::string& path, uint64_t page) {
      return path != seg || page != first_page;
    });
    env.CrashAfterOps(1);
    CHECK(AppendBatch(loop.get(), w.value().get(), Numbered("old-", 16, 1000)).empty());
    REQUIRE(env.crashed());
  }
  env.Restart();
  {
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    CHECK(r.blobs == acked);
    // Same-size records land where the lost batch's records were; the stale
    // ones after them carry the very sequence numbers that come next.
    for (const std::string& b : Numbered("new-", 4, 1000)) {
      REQUIRE(w.value()->AppendAndWait(BlobPayload(b)).ok());
      acked.push_back(b);
    }
  }
  auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.blobs == acked);
  CHECK(r.seqs.back() == acked.size());
  CHECK(w.value()->AppendAndWait(BlobPayload("next")).value() == acked.size() + 1);
}

TEST_CASE("wal: a batch torn in the middle by a crash is cut, not refused", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  Replayed r;
  std::vector<std::string> acked = {"pre-0", "pre-1"};
  const std::string seg = Seg(dir, 1);
  const uint64_t batch_start =
      wal::kSegmentHeaderBytes + 2 * wal::RecordExtent(BlobPayload("pre-0").ByteSizeLong());
  {
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    AppendN(w.value().get(), 2, "pre-");
    // The batch's third page never reached the disk; pages before and after
    // it did. Its first byte lies inside a record, whose CRC fails.
    const uint64_t lost = batch_start / io::kFaultPageBytes + 2;
    env.SetCrashPageFilter([&](const std::string& path, uint64_t page) {
      return path != seg || page != lost;
    });
    env.CrashAfterOps(1);
    CHECK(AppendBatch(loop.get(), w.value().get(), Numbered("old-", 16, 1000)).empty());
    REQUIRE(env.crashed());
  }
  env.Restart();
  {
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    REQUIRE(w.ok());
    // The records of the batch before the lost page may come back (written,
    // never acknowledged); nothing after it does.
    REQUIRE(r.blobs.size() >= acked.size());
    REQUIRE(r.blobs.size() < acked.size() + 16);
    CHECK(std::vector<std::string>(r.blobs.begin(), r.blobs.begin() + 2) == acked);
    const auto old = Numbered("old-", 16, 1000);
    for (size_t i = 2; i < r.blobs.size(); ++i) CHECK(r.blobs[i] == old[i - 2]);
    acked = r.blobs;
    const auto& rec = w.value()->recovery();
    CHECK(rec.torn_file == seg);
    CHECK(rec.torn_bytes > 0);
    CHECK(rec.torn_what.find("a valid record") != std::string::npos);
    for (const std::string& b : Numbered("new-", 3, 1000)) {
      REQUIRE(w.value()->AppendAndWait(BlobPayload(b)).ok());
      acked.push_back(b);
    }
  }
  auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.blobs == acked);
  CHECK(w.value()->recovery().torn_file.empty());
}

TEST_CASE("wal: damage in an acknowledged batch followed by a later batch refuses to open", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  const auto first = Numbered("one-", 16, 1000);
  const uint64_t ext = wal::RecordExtent(BlobPayload(first[0]).ByteSizeLong());
  // Zeros over a page from inside a record (its CRC fails) or from a record's
  // first byte (an all-zero header, which reads like the end of the log).
  for (uint64_t from : {wal::kSegmentHeaderBytes + 5 * ext + 100, wal::kSegmentHeaderBytes + 5 * ext}) {
    INFO("zeros from offset " << from);
    TempDir dir;
    Replayed r;
    {
      auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
      REQUIRE(w.ok());
      CHECK(AppendBatch(loop.get(), w.value().get(), first).size() == 16);
      CHECK(AppendBatch(loop.get(), w.value().get(), Numbered("two-", 2, 1000)).size() == 2);
    }
    PatchFile(Seg(dir, 1), from, std::string(io::kFaultPageBytes, '\0'));
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE_FALSE(w.ok());
    CHECK(w.status().code() == Code::kCorruption);
    CHECK(w.status().message().find(Seg(dir, 1)) != std::string::npos);
    CHECK(w.status().message().find("offset " + std::to_string(wal::kSegmentHeaderBytes + 5 * ext)) !=
          std::string::npos);
    CHECK(w.status().message().find("later batch") != std::string::npos);
  }
}

TEST_CASE("wal: version 1 segments are read; new records go to a version 2 segment", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  REQUIRE(warden::base::MkdirIfMissing(dir.Join("wal"), 0755).ok());
  std::string seg = wal::EncodeSegmentHeader(wal::SegmentHeader{1, 1, 1});
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    wal::Payload p = BlobPayload("v1-" + std::to_string(seq));
    wal::EncodeRecord(static_cast<uint32_t>(p.body_case()), 1, seq, p.SerializeAsString(), &seg);
  }
  seg.resize(SmallOptions().segment_bytes, '\0');
  warden::base::UniqueFd fd(::open(Seg(dir, 1).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(warden::base::WriteAll(fd.get(), seg.data(), seg.size(), "segment").ok());
  Replayed r;
  {
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
    REQUIRE(w.ok());
    CHECK(r.blobs == std::vector<std::string>{"v1-1", "v1-2", "v1-3"});
    CHECK(AppendBatch(loop.get(), w.value().get(), {"v2-4", "v2-5"}).size() == 2);
    CHECK(w.value()->segment_count() == 2);
  }
  auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r);
  REQUIRE(w.ok());
  CHECK(r.blobs == std::vector<std::string>{"v1-1", "v1-2", "v1-3", "v2-4", "v2-5"});
  auto hdr = warden::base::ReadFile(Seg(dir, 2), 1 << 20);
  REQUIRE(hdr.ok());
  wal::SegmentHeader h;
  REQUIRE(wal::DecodeSegmentHeader(hdr.value().data(), hdr.value().size(), &h));
  CHECK(h.version == 2);
}

TEST_CASE("wal: random subset crashes keep every acknowledged record, in order, exactly once", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  std::mt19937_64 rng(20261203);
  std::vector<std::string> base;      // what the last successful open replayed
  std::vector<std::string> appended;  // appended since, in order
  std::set<std::string> acked;        // acknowledged since
  int opened = 0;
  for (int cycle = 0; cycle < 300; ++cycle) {
    INFO("cycle " << cycle);
    env.Restart();
    env.SetCrashPageSeed(rng());
    const bool crash_in_open = rng() % 6 == 0;
    if (crash_in_open) env.CrashAfterOps(rng() % 4);
    Replayed r;
    auto w = OpenWal(loop.get(), &env, dir.Join("wal"), &r);
    if (!w.ok()) {
      INFO(w.status().ToString());
      REQUIRE(crash_in_open);
      REQUIRE(env.crashed());
      continue;
    }
    ++opened;
    REQUIRE(r.blobs.size() >= base.size());
    CHECK(std::vector<std::string>(r.blobs.begin(), r.blobs.begin() + base.size()) == base);
    REQUIRE(r.blobs.size() - base.size() <= appended.size());
    for (size_t i = base.size(); i < r.blobs.size(); ++i) CHECK(r.blobs[i] == appended[i - base.size()]);
    for (const std::string& a : acked) {
      CHECK(std::find(r.blobs.begin() + base.size(), r.blobs.end(), a) != r.blobs.end());
    }
    for (size_t i = 0; i < r.seqs.size(); ++i) CHECK(r.seqs[i] == i + 1);
    base = r.blobs;
    appended.clear();
    acked.clear();
    env.CrashAfterOps(rng() % 16);
    for (int batch = 0; batch < 6 && !env.crashed(); ++batch) {
      std::vector<std::string> blobs;
      for (uint64_t i = 0, n = 1 + rng() % 6; i < n; ++i) {
        blobs.push_back("c" + std::to_string(cycle) + "-" + std::to_string(batch) + "-" +
                        std::to_string(i) + std::string(10 + rng() % 3000, 'x'));
      }
      appended.insert(appended.end(), blobs.begin(), blobs.end());
      for (const std::string& a : AppendBatch(loop.get(), w.value().get(), blobs)) acked.insert(a);
    }
    env.Crash();
  }
  CHECK(opened > 200);
}

TEST_CASE("wal: the scan looks past a hole as long as a batch allows, beyond 8 MiB", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  wal::WalOptions o;  // 32 MiB segments
  o.max_record_bytes = 10u << 20;
  Replayed r;
  uint64_t end = 0;
  {
    auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r, o);
    REQUIRE(w.ok());
    REQUIRE(w.value()->AppendAndWait(BlobPayload("first")).ok());
    end = wal::kSegmentHeaderBytes + wal::RecordExtent(BlobPayload("first").ByteSizeLong());
    // A 9 MiB record that is almost all zeros, then one more batch.
    REQUIRE(w.value()->AppendAndWait(BlobPayload(std::string(9u << 20, '\0'))).ok());
    REQUIRE(w.value()->AppendAndWait(BlobPayload("after the hole")).ok());
  }
  // Damage: the big record's header reads as zeros. What follows it is a
  // run of zeros longer than 8 MiB, then an acknowledged record, which a
  // scan that stops at 8 MiB of zeros would never see and recovery would
  // zero as a torn tail.
  PatchFile(Seg(dir, 1), end, std::string(wal::kRecordHeaderBytes, '\0'));
  auto w = OpenWal(loop.get(), io::PosixEnv(), dir.Join("wal"), &r, o);
  REQUIRE_FALSE(w.ok());
  CHECK(w.status().code() == Code::kCorruption);
  CHECK(w.status().message().find("offset " + std::to_string(end)) != std::string::npos);
}

namespace {

// The real file system, reporting each Write ('W') and Sync ('S') of a
// segment file to a pipe, unbuffered, so that a parent sees them even after
// the process is killed.
class OpLogEnv final : public io::Env {
 public:
  explicit OpLogEnv(int fd) : fd_(fd) {}
  Result<std::unique_ptr<io::File>> Open(const std::string& path, int flags) override {
    return base()->Open(path, flags);
  }
  Result<size_t> Read(io::File& f, void* buf, size_t len, uint64_t off) override {
    return base()->Read(f, buf, len, off);
  }
  Status Write(io::File& f, const void* buf, size_t len, uint64_t off) override {
    Status st = base()->Write(f, buf, len, off);
    Note(f, 'W');
    return st;
  }
  Status Sync(io::File& f, bool data_only) override {
    Status st = base()->Sync(f, data_only);
    Note(f, 'S');
    return st;
  }
  Status Allocate(io::File& f, uint64_t len) override { return base()->Allocate(f, len); }
  Status Truncate(io::File& f, uint64_t len) override { return base()->Truncate(f, len); }
  Result<uint64_t> Size(io::File& f) override { return base()->Size(f); }
  Status Rename(const std::string& a, const std::string& b) override { return base()->Rename(a, b); }
  Status Remove(const std::string& p) override { return base()->Remove(p); }
  Status SyncDir(const std::string& d) override { return base()->SyncDir(d); }
  Status CreateDir(const std::string& d) override { return base()->CreateDir(d); }
  Result<std::vector<std::string>> ListDir(const std::string& d) override { return base()->ListDir(d); }
  bool Exists(const std::string& p) override { return base()->Exists(p); }

 private:
  static io::Env* base() { return io::PosixEnv(); }
  void Note(const io::File& f, char op) {
    if (f.path().size() > 4 && f.path().compare(f.path().size() - 4, 4, ".log") == 0) {
      if (::write(fd_, &op, 1) != 1) ::_exit(5);
    }
  }
  int fd_;
};

}  // namespace

TEST_CASE("wal: the wal.after_write crash point comes after the write, before its fdatasync", "[wal]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    if (!warden::base::SetCrashPoint("wal.after_write:2").ok()) ::_exit(5);
    auto l = warden::testing::MakeLoop(backend);
    if (!l) ::_exit(2);
    OpLogEnv env(pipefd[1]);
    Replayed r;
    auto w = OpenWal(l.get(), &env, dir.Join("wal"), &r);
    if (!w.ok()) ::_exit(3);
    for (const char* b : {"first", "second"}) {
      if (!w.value()->AppendAndWait(BlobPayload(b)).ok()) ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string ops;
  char c;
  while (::read(pipefd[0], &c, 1) == 1) ops += c;
  ::close(pipefd[0]);
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  REQUIRE(WIFSIGNALED(wstatus));
  CHECK(WTERMSIG(wstatus) == SIGKILL);
  // The segment header (written, synced), the first batch (written,
  // synced), then the second batch written and killed before its sync.
  CHECK(ops == "WSWSW");
}
