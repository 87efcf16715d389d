#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/file.h"
#include "io/doctor.h"
#include "io/loop.h"
#include "io/test_backends.h"
#include "test_util.h"

using warden::Result;
using warden::Status;
using warden::base::UniqueFd;
namespace io = warden::io;

TEST_CASE("io: timers fire in deadline order and can be cancelled", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  std::string order;
  loop->AddTimer(30, [&] { order += "c"; });
  loop->AddTimer(1, [&] { order += "a"; });
  io::TimerId cancelled = loop->AddTimer(10, [&] { order += "X"; });
  loop->AddTimer(10, [&] { order += "b"; });
  REQUIRE(loop->CancelTimer(cancelled));
  REQUIRE_FALSE(loop->CancelTimer(cancelled));
  REQUIRE(loop->RunUntil([&] { return order.size() == 3; }, 2000).ok());
  CHECK(order == "abc");
}

TEST_CASE("io: posted callbacks run on a later tick, never inline", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  int ran = 0;
  loop->Post([&] {
    ++ran;
    loop->Post([&] { ++ran; });  // posted during a tick: runs on the next one
  });
  CHECK(ran == 0);
  REQUIRE(loop->RunOnce(0).ok());
  CHECK(ran == 1);
  REQUIRE(loop->RunOnce(0).ok());
  CHECK(ran == 2);
}

TEST_CASE("io: file write, read and fsync round trip", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  warden::testing::TempDir dir;
  UniqueFd fd(::open(dir.Join("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(fd);
  const std::string data = "hello, durable world";
  size_t wrote = 0;
  bool synced = false;
  loop->Write(fd.get(), data.data(), data.size(), 100, [&](Result<size_t> r) {
    REQUIRE(r.ok());
    wrote = r.value();
    loop->Fsync(fd.get(), true, [&](Status st) {
      REQUIRE(st.ok());
      synced = true;
    });
  });
  REQUIRE(loop->RunUntil([&] { return synced; }, 2000).ok());
  CHECK(wrote == data.size());
  std::string back(data.size(), '\0');
  bool read = false;
  loop->Read(fd.get(), back.data(), back.size(), 100, [&](Result<size_t> r) {
    REQUIRE(r.ok());
    CHECK(r.value() == data.size());
    read = true;
  });
  REQUIRE(loop->RunUntil([&] { return read; }, 2000).ok());
  CHECK(back == data);
}

TEST_CASE("io: write errors carry the errno", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  warden::testing::TempDir dir;
  UniqueFd fd(::open(dir.Join("ro").c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(fd);
  bool done = false;
  loop->Write(fd.get(), "x", 1, 0, [&](Result<size_t> r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().err() == EBADF);
    done = true;
  });
  REQUIRE(loop->RunUntil([&] { return done; }, 2000).ok());
}

TEST_CASE("io: WriteAndSync continues short writes", "[io]") {
  io::LoopOptions options;
  options.test_max_write_bytes = 7;
  WARDEN_EACH_BACKEND(loop, options);
  warden::testing::TempDir dir;
  UniqueFd fd(::open(dir.Join("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(fd);
  std::string data(1000, 'q');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  bool done = false;
  loop->WriteAndSync(fd.get(), data.data(), data.size(), 5, [&](Status st) {
    REQUIRE(st.ok());
    done = true;
  });
  REQUIRE(loop->RunUntil([&] { return done; }, 5000).ok());
  auto content = warden::base::ReadFile(dir.Join("f"));
  REQUIRE(content.ok());
  CHECK(content.value() == std::string(5, '\0') + data);
}

TEST_CASE("io: CommitChain replaces a file atomically, short writes included", "[io]") {
  io::LoopOptions options;
  const size_t cap = GENERATE(size_t{0}, size_t{3});
  options.test_max_write_bytes = cap;
  WARDEN_EACH_BACKEND(loop, options);
  warden::testing::TempDir dir;
  REQUIRE(warden::base::WriteAll(
              UniqueFd(::open(dir.Join("state").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644))
                  .get(),
              "old", 3, "state")
              .ok());
  UniqueFd dfd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd tfd(::open(dir.Join("state.tmp").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(dfd);
  REQUIRE(tfd);
  const std::string data = "the new state, longer than the cap";
  io::CommitOp op{tfd.get(), dfd.get(), "state.tmp", "state", data.data(), data.size()};
  bool done = false;
  loop->CommitChain(op, [&](Status st) {
    REQUIRE(st.ok());
    done = true;
  });
  REQUIRE(loop->RunUntil([&] { return done; }, 5000).ok());
  CHECK(warden::base::ReadFile(dir.Join("state")).value() == data);
  CHECK(::access(dir.Join("state.tmp").c_str(), F_OK) != 0);
}

TEST_CASE("io: CommitChain reports the failing step", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  warden::testing::TempDir dir;
  UniqueFd dfd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd tfd(::open(dir.Join("t").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  // Renaming onto a path in a missing directory fails at renameat.
  io::CommitOp op{tfd.get(), dfd.get(), "t", "missing/dir/final", "x", 1};
  bool done = false;
  loop->CommitChain(op, [&](Status st) {
    REQUIRE_FALSE(st.ok());
    CHECK(st.err() == ENOENT);
    CHECK(st.message().find("renameat") != std::string::npos);
    done = true;
  });
  REQUIRE(loop->RunUntil([&] { return done; }, 2000).ok());
}

TEST_CASE("io: many commit chains in flight all land, callbacks on the loop thread", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  warden::testing::TempDir dir;
  UniqueFd dfd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(dfd);
  constexpr int kN = 48;
  std::vector<UniqueFd> tmp(kN);
  std::vector<std::string> data(kN);
  const pthread_t loop_thread = ::pthread_self();
  int done = 0;
  size_t max_pending = 0;
  for (int i = 0; i < kN; ++i) {
    const std::string name = "f" + std::to_string(i);
    tmp[i].reset(::open(dir.Join(name + ".tmp").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(tmp[i]);
    data[i] = "contents of " + name;
    io::CommitOp op{tmp[i].get(), dfd.get(), name + ".tmp", name, data[i].data(), data[i].size()};
    loop->CommitChain(op, [&](Status st) {
      REQUIRE(st.ok());
      CHECK(::pthread_equal(::pthread_self(), loop_thread));
      ++done;
    });
    max_pending = std::max(max_pending, loop->pending());
  }
  CHECK(max_pending == kN);
  REQUIRE(loop->RunUntil([&] { return done == kN; }, 10000).ok());
  CHECK(loop->pending() == 0);
  for (int i = 0; i < kN; ++i) {
    CHECK(warden::base::ReadFile(dir.Join("f" + std::to_string(i))).value() == data[i]);
  }
}

TEST_CASE("io: destroying a loop with syncs in flight neither crashes nor calls back", "[io]") {
  warden::testing::TempDir dir;
  UniqueFd fd(::open(dir.Join("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  REQUIRE(fd);
  static const char kData[] = "0123456789abcdef";
  bool called = false;
  {
    WARDEN_EACH_BACKEND(loop);
    for (int i = 0; i < 16; ++i) {
      loop->WriteAndSync(fd.get(), kData, 16, static_cast<uint64_t>(i) * 16,
                         [&](Status) { called = true; });
    }
  }
  CHECK_FALSE(called);
}

TEST_CASE("io: completions per tick are bounded", "[io]") {
  io::LoopOptions options;
  options.max_completions_per_tick = 4;
  WARDEN_EACH_BACKEND(loop, options);
  warden::testing::TempDir dir;
  UniqueFd fd(::open(dir.Join("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  char buf[16][8] = {};
  int completed = 0;
  for (int i = 0; i < 16; ++i) {
    loop->Write(fd.get(), buf[i], sizeof buf[i], i * 8, [&](Result<size_t> r) {
      REQUIRE(r.ok());
      ++completed;
    });
  }
  int ticks = 0;
  while (completed < 16 && ticks < 1000) {
    int before = completed;
    REQUIRE(loop->RunOnce(100).ok());
    CHECK(completed - before <= 4);
    ++ticks;
  }
  CHECK(completed == 16);
  CHECK(ticks >= 4);
}

TEST_CASE("io: socket readiness and stream I/O", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
  UniqueFd a(sv[0]), b(sv[1]);
  char in[16] = {};
  size_t got = 0;
  loop->Read(b.get(), in, sizeof in, -1, [&](Result<size_t> r) {
    REQUIRE(r.ok());
    got = r.value();
  });
  bool sent = false;
  loop->AddTimer(5, [&] {
    loop->Write(a.get(), "ping", 4, -1, [&](Result<size_t> r) {
      REQUIRE(r.ok());
      sent = true;
    });
  });
  REQUIRE(loop->RunUntil([&] { return got > 0 && sent; }, 2000).ok());
  CHECK(std::string(in, got) == "ping");

  bool fired = false;
  io::WatchId w = loop->Watch(b.get(), POLLIN, [&] { fired = true; });
  loop->CancelWatch(w);
  REQUIRE(::write(a.get(), "x", 1) == 1);
  for (int i = 0; i < 5; ++i) REQUIRE(loop->RunOnce(5).ok());
  CHECK_FALSE(fired);
}

TEST_CASE("io: pidfd readiness reports a process exit", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::usleep(20000);
    ::_exit(3);
  }
  auto pidfd = io::OpenPidfd(pid);
  if (!pidfd.ok()) {
    ::waitpid(pid, nullptr, 0);
    WARDEN_SKIP("pidfd_open unavailable: " + pidfd.status().ToString());
  }
  bool exited = false;
  io::WatchPidfd(loop.get(), pidfd->get(), [&] { exited = true; });
  Status st = loop->RunUntil([&] { return exited; }, 5000);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  REQUIRE(st.ok());
  CHECK(WEXITSTATUS(wstatus) == 3);
}

TEST_CASE("io: signalfd delivers signals through the loop", "[io]") {
  WARDEN_EACH_BACKEND(loop);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, nullptr, &old) == 0);
  int got = 0;
  {
    auto watcher = io::SignalWatcher::Create(loop.get(), set, [&](int signo) { got = signo; });
    REQUIRE(watcher.ok());
    REQUIRE(::kill(::getpid(), SIGUSR1) == 0);
    CHECK(loop->RunUntil([&] { return got != 0; }, 2000).ok());
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  CHECK(got == SIGUSR1);
}

TEST_CASE("io: a forced plain backend (WARDEN_IO=plain) is used; doctor says why", "[io]") {
  const bool was_plain = io::ChooseBackend().reason.find("WARDEN_IO=plain") != std::string::npos;
  io::ForcePlainBackend(true);
  auto loop = io::Loop::Create();
  auto checks = io::DoctorChecks(::warden::testing::HostConfig());
  io::ForcePlainBackend(was_plain);
  REQUIRE(loop.ok());
  CHECK(loop.value()->backend() == io::Backend::kPlain);
  CHECK(loop.value()->backend_reason().find("WARDEN_IO=plain") != std::string::npos);
  REQUIRE(checks.size() == 1);
  CHECK(checks[0].feature == "io_uring");
  CHECK_FALSE(checks[0].ok);
  CHECK(checks[0].detail.find("plain") != std::string::npos);
  CHECK_FALSE(checks[0].fix.empty());
}

TEST_CASE("io: default backend choice is io_uring when the host allows it", "[io]") {
  if (io::ChooseBackend().reason.find("WARDEN_IO=plain") != std::string::npos) {
    WARDEN_SKIP("this run forces the plain backend (WARDEN_IO=plain)");
  }
  io::BackendChoice choice = io::ChooseBackend();
  auto loop = io::Loop::Create();
  REQUIRE(loop.ok());
  CHECK(loop.value()->backend() == choice.backend);
  CHECK_FALSE(choice.reason.empty());
  if (choice.backend != io::Backend::kUring) WARDEN_SKIP("io_uring unavailable: " + choice.reason);
}
