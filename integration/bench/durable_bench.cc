// Benchmarks of the durable core (issue 4). Prints "BENCH name=value" lines;
// names without a suffix are the io_uring backend, "_plain" the plain one.
// Replay is timed twice: warm (the WAL just written, in the page cache) and
// cold (its files evicted with posix_fadvise(DONTNEED) first).
//   durable_bench [--only=WORD] [DIR]
// DIR: where to put files (default $TMPDIR or /tmp). --only runs just the
// measures whose line name contains WORD (floor, acks, replay, commits).
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/errno_text.h"
#include "io/env.h"
#include "io/loop.h"
#include "store/atomic.h"
#include "wal/wal.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace io = warden::io;
namespace wal = warden::wal;
namespace fs = std::filesystem;

constexpr double kRunSeconds = 1.0;
constexpr size_t kRecordBytes = 200;

// Where the benchmark's files live; Die removes it.
std::string g_base_dir;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "durable_bench: %s\n", what.c_str());
  if (!g_base_dir.empty()) {
    std::error_code ec;
    fs::remove_all(g_base_dir, ec);
  }
  std::exit(1);
}

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

wal::Payload Record() {
  wal::Payload p;
  p.mutable_blob()->set_kind(1);
  p.mutable_blob()->set_data(std::string(kRecordBytes - 8, 'r'));
  return p;
}

std::unique_ptr<io::Loop> MakeLoop(io::Backend b) {
  io::LoopOptions o;
  o.force = true;
  o.backend = b;
  auto loop = io::Loop::Create(o);
  if (!loop.ok()) Die(loop.status().ToString());
  return std::move(loop).value();
}

struct AckStats {
  double acks_per_s = 0;
  double p99_ms = 0;
};

AckStats RunAppenders(io::Loop* loop, const std::string& dir, int appenders) {
  fs::remove_all(dir);
  wal::WalOptions opts;
  opts.segment_bytes = 64ull << 20;
  auto w = wal::Wal::Open(loop, io::PosixEnv(), dir, opts, {});
  if (!w.ok()) Die(w.status().ToString());
  const wal::Payload rec = Record();
  std::vector<double> lat_ms;
  lat_ms.reserve(1 << 20);
  uint64_t acks = 0;
  bool stop = false;
  int outstanding = 0;
  const auto start = Clock::now();
  std::function<void()> issue = [&] {
    auto t0 = Clock::now();
    ++outstanding;
    w.value()->Append(rec, [&, t0](warden::Result<uint64_t> r) {
      --outstanding;
      if (!r.ok()) Die(r.status().ToString());
      auto now = Clock::now();
      ++acks;
      lat_ms.push_back(Seconds(t0, now) * 1000);
      if (Seconds(start, now) >= kRunSeconds) stop = true;
      if (!stop) issue();
    });
  };
  for (int i = 0; i < appenders; ++i) issue();
  (void)loop->RunUntil([&] { return stop && outstanding == 0; }, 60000);
  double secs = Seconds(start, Clock::now());
  std::sort(lat_ms.begin(), lat_ms.end());
  AckStats s;
  s.acks_per_s = static_cast<double>(acks) / secs;
  s.p99_ms = lat_ms.empty() ? 0 : lat_ms[lat_ms.size() * 99 / 100];
  return s;
}

// The floor: the least a group-committing log can do. Every round writes the
// records of all `appenders` waiting clients with one pwrite and one
// fdatasync into a pre-allocated file, then acknowledges them.
double Floor(const std::string& path, int appenders) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("floor: open(\"" + path + "\"): " + warden::base::ErrnoText(errno));
  if (::fallocate(fd, 0, 0, 64 << 20) != 0) Die("floor: fallocate(\"" + path + "\"): " + warden::base::ErrnoText(errno));
  std::string batch(static_cast<size_t>(appenders) * (kRecordBytes + 32), 'f');
  uint64_t acks = 0;
  off_t off = 0;
  const auto start = Clock::now();
  while (Seconds(start, Clock::now()) < kRunSeconds) {
    if (off + static_cast<off_t>(batch.size()) > (64 << 20)) off = 0;
    if (::pwrite(fd, batch.data(), batch.size(), off) != static_cast<ssize_t>(batch.size())) {
      Die("floor: pwrite(\"" + path + "\"): " + warden::base::ErrnoText(errno));
    }
    if (::fdatasync(fd) != 0) Die("floor: fdatasync(\"" + path + "\"): " + warden::base::ErrnoText(errno));
    off += static_cast<off_t>(batch.size());
    acks += static_cast<uint64_t>(appenders);
  }
  double secs = Seconds(start, Clock::now());
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(acks) / secs;
}

// Evicts every file under `dir` from the page cache (the WAL's pages are
// clean: each record was fdatasync'ed before its ack), so that the next
// replay reads from the disk. Returns the pages still resident after it, as
// mincore() sees them.
size_t DropPageCache(const std::string& dir) {
  size_t resident = 0;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) Die("open(\"" + e.path().string() + "\"): " + warden::base::ErrnoText(errno));
    if (::fdatasync(fd) != 0) Die("fdatasync(\"" + e.path().string() + "\"): " + warden::base::ErrnoText(errno));
    int rc = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    if (rc != 0) Die("posix_fadvise(DONTNEED, \"" + e.path().string() + "\"): " + warden::base::ErrnoText(rc));
    const size_t size = static_cast<size_t>(e.file_size());
    if (size > 0) {
      void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      if (m != MAP_FAILED) {
        std::vector<unsigned char> vec((size + page - 1) / page);
        if (::mincore(m, size, vec.data()) == 0) {
          for (unsigned char v : vec) resident += v & 1;
        }
        ::munmap(m, size);
      }
    }
    ::close(fd);
  }
  return resident;
}

struct ReplayTimes {
  double warm_ms = 0;  // right after writing: the WAL is in the page cache
  double cold_ms = 0;  // after evicting the WAL's files from the page cache
};

ReplayTimes Replay100k(io::Loop* loop, const std::string& dir) {
  fs::remove_all(dir);
  wal::WalOptions opts;
  opts.segment_bytes = 64ull << 20;
  opts.max_queue_depth = 100000;
  {
    auto w = wal::Wal::Open(loop, io::PosixEnv(), dir, opts, {});
    if (!w.ok()) Die(w.status().ToString());
    const wal::Payload rec = Record();
    int acked = 0;
    for (int i = 0; i < 100000; ++i) {
      w.value()->Append(rec, [&](warden::Result<uint64_t> r) {
        if (!r.ok()) Die(r.status().ToString());
        ++acked;
      });
    }
    (void)loop->RunUntil([&] { return acked == 100000; }, 120000);
  }
  auto replay = [&] {
    uint64_t records = 0;
    wal::ReplayHandler h;
    h.on_record = [&](uint64_t, const wal::Payload&) {
      ++records;
      return warden::Status::Ok();
    };
    auto t0 = Clock::now();
    auto w = wal::Wal::Open(loop, io::PosixEnv(), dir, opts, h);
    double ms = Seconds(t0, Clock::now()) * 1000;
    if (!w.ok()) Die(w.status().ToString());
    if (records != 100000) Die("replay: " + std::to_string(records) + " records replayed, expected 100000");
    return ms;
  };
  ReplayTimes t;
  t.warm_ms = replay();
  size_t resident = DropPageCache(dir);
  if (resident > 0) {
    std::fprintf(stderr, "durable_bench: %zu WAL pages still cached before the cold replay\n", resident);
  }
  t.cold_ms = replay();
  return t;
}

double Commits(io::Loop* loop, const std::string& dir, int in_flight) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  uint64_t done = 0;
  bool stop = false;
  int outstanding = 0;
  const std::string data(4096, 'c');
  const auto start = Clock::now();
  std::function<void(int)> issue = [&](int slot) {
    ++outstanding;
    warden::store::CommitFile(loop, io::PosixEnv(), dir, "file" + std::to_string(slot), data,
                              [&, slot](warden::Status st) {
                                --outstanding;
                                if (!st.ok()) Die(st.ToString());
                                ++done;
                                if (Seconds(start, Clock::now()) >= kRunSeconds) stop = true;
                                if (!stop) issue(slot);
                              });
  };
  for (int i = 0; i < in_flight; ++i) issue(i);
  (void)loop->RunUntil([&] { return stop && outstanding == 0; }, 60000);
  return static_cast<double>(done) / Seconds(start, Clock::now());
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  std::string only;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--only=", 0) == 0) {
      only = a.substr(7);
    } else {
      base = a;
    }
  }
  auto want = [&](const char* what) { return only.empty() || std::string(what).find(only) != std::string::npos; };
  base += "/warden-durable-bench-" + std::to_string(::getpid());
  g_base_dir = base;
  std::error_code ec;
  if (!fs::create_directories(base, ec) && ec) Die("create \"" + base + "\": " + ec.message());
  double floor64 = 0;
  if (want("floor_acks")) {
    floor64 = Floor(base + "/floor", 64);
    std::printf("BENCH floor_acks_per_s_64=%.0f\n", floor64);
  }
  for (io::Backend b : {io::Backend::kUring, io::Backend::kPlain}) {
    const std::string sfx = b == io::Backend::kUring ? "" : "_plain";
    auto loop = MakeLoop(b);
    for (int n : {1, 8, 64, 256}) {
      if (!want("wal_acks")) break;
      AckStats s = RunAppenders(loop.get(), base + "/wal", n);
      std::printf("BENCH wal_acks_per_s_%d%s=%.0f\n", n, sfx.c_str(), s.acks_per_s);
      std::printf("BENCH wal_p99_ack_ms_%d%s=%.3f\n", n, sfx.c_str(), s.p99_ms);
      if (n == 64 && floor64 > 0) std::printf("BENCH wal_vs_floor_64%s=%.2f\n", sfx.c_str(), s.acks_per_s / floor64);
      std::fflush(stdout);
    }
    if (want("wal_replay")) {
      ReplayTimes t = Replay100k(loop.get(), base + "/replay");
      std::printf("BENCH wal_replay_100k_ms%s=%.1f\n", sfx.c_str(), t.warm_ms);
      std::printf("BENCH wal_replay_100k_cold_ms%s=%.1f\n", sfx.c_str(), t.cold_ms);
    }
    if (want("commits")) {
      std::printf("BENCH commits_per_s_32%s=%.0f\n", sfx.c_str(),
                  Commits(loop.get(), base + "/commits", 32));
    }
    std::fflush(stdout);
  }
  fs::remove_all(base);
  return 0;
}
