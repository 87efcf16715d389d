#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>

#include "base/fault.h"
#include "base/file.h"
#include "io/fault_env.h"
#include "io/test_backends.h"
#include "store/atomic.h"
#include "store/heartbeat.h"
#include "store/store.h"
#include "test_util.h"
#include "wal/wal_test_util.h"

using warden::Code;
using warden::Status;
using warden::testing::TempDir;
namespace io = warden::io;
namespace store = warden::store;

namespace {

std::string Read(const std::string& path) {
  auto r = warden::base::ReadFile(path);
  return r.ok() ? r.value() : "<missing>";
}

}  // namespace

TEST_CASE("store: CommitFile replaces a file; stale temps are removed", "[store]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  int done = 0;
  for (int i = 0; i < 32; ++i) {
    store::CommitFile(loop.get(), io::PosixEnv(), dir.path(), "f" + std::to_string(i % 4),
                      "v" + std::to_string(i), [&](Status st) {
                        REQUIRE(st.ok());
                        ++done;
                      });
  }
  REQUIRE(loop->RunUntil([&] { return done == 32; }, 10000).ok());
  for (int f = 0; f < 4; ++f) CHECK(Read(dir.Join("f" + std::to_string(f))).rfind("v", 0) == 0);
  CHECK(store::CommitFileSync(io::PosixEnv(), dir.path(), "f0", "sync").ok());
  CHECK(Read(dir.Join("f0")) == "sync");
  CHECK(store::CommitFileSync(io::PosixEnv(), dir.path(), "../x", "no").code() == Code::kInvalidArgument);
  REQUIRE(warden::base::WriteAll(
              warden::base::UniqueFd(::open(dir.Join("f0.1-2.wtmp").c_str(), O_WRONLY | O_CREAT, 0644)).get(),
              "x", 1, "tmp")
              .ok());
  auto removed = store::RemoveStaleTemps(io::PosixEnv(), dir.path());
  REQUIRE(removed.ok());
  CHECK(removed.value() == 1);
  CHECK(Read(dir.Join("f0")) == "sync");
}

TEST_CASE("store: CommitFile under a simulated crash is all or nothing", "[store]") {
  WARDEN_EACH_BACKEND(loop);
  for (uint64_t crash_at = 0; crash_at < 6; ++crash_at) {
    TempDir dir;
    io::FaultEnv env;
    REQUIRE(store::CommitFileSync(&env, dir.path(), "state", "old").ok());
    env.CrashAfterOps(crash_at);
    bool done = false;
    Status result;
    store::CommitFile(loop.get(), &env, dir.path(), "state", "new", [&](Status st) {
      result = st;
      done = true;
    });
    REQUIRE(loop->RunUntil([&] { return done; }, 5000).ok());
    env.Crash();
    env.Restart();
    std::string now = Read(dir.Join("state"));
    INFO("crash after " << crash_at << " ops: " << result.ToString());
    CHECK((now == "old" || now == "new"));
    if (result.ok()) CHECK(now == "new");
  }
}

TEST_CASE("store: multi-file commit interrupted at every step is all or nothing", "[store]") {
  WARDEN_EACH_BACKEND(loop);
  const std::vector<std::pair<std::string, std::string>> v1 = {{"a", "a1"}, {"b", "b1"}, {"c", "c1"}};
  const std::vector<std::pair<std::string, std::string>> v2 = {{"a", "a2"}, {"b", "b2"}, {"c", "c2"}};
  bool finished = false;
  for (uint64_t crash_at = 0; crash_at < 60 && !finished; ++crash_at) {
    INFO("crash after " << crash_at << " ops");
    TempDir dir;
    io::FaultEnv env;
    Status result;
    {
      auto s = store::Store::Open(loop.get(), &env, dir.Join("st"), warden::testing::SmallOptions());
      REQUIRE(s.ok());
      REQUIRE(s.value()->CommitFiles(v1).ok());
      env.CrashAfterOps(crash_at);
      result = s.value()->CommitFiles(v2);
      finished = !env.crashed() && result.ok();
      env.Crash();
    }
    env.Restart();
    auto s = store::Store::Open(loop.get(), &env, dir.Join("st"), warden::testing::SmallOptions());
    REQUIRE(s.ok());
    std::string a = Read(dir.Join("st/a")), b = Read(dir.Join("st/b")), c = Read(dir.Join("st/c"));
    bool all_old = a == "a1" && b == "b1" && c == "c1";
    bool all_new = a == "a2" && b == "b2" && c == "c2";
    CHECK((all_old || all_new));
    if (result.ok()) CHECK(all_new);
    auto names = env.ListDir(dir.Join("st"));
    REQUIRE(names.ok());
    for (const auto& n : names.value()) CHECK(n.find(".wtmp") == std::string::npos);
  }
  CHECK(finished);  // the sweep reached a commit that no crash interrupted
}

TEST_CASE("store: the store root made by Open survives a crash", "[store]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  io::FaultEnv env;
  {
    auto s = store::Store::Open(loop.get(), &env, dir.Join("st"), warden::testing::SmallOptions());
    REQUIRE(s.ok());
    REQUIRE(s.value()->CommitFiles({{"a", "a1"}}).ok());
  }
  env.Crash();
  env.Restart();
  auto s = store::Store::Open(loop.get(), &env, dir.Join("st"), warden::testing::SmallOptions());
  REQUIRE(s.ok());
  CHECK(Read(dir.Join("st/a")) == "a1");
}

TEST_CASE("store: an error past the commit point refuses every later commit until reopen", "[store]") {
  WARDEN_EACH_BACKEND(loop);
  const std::vector<std::pair<std::string, std::string>> v1 = {{"a", "a1"}, {"b", "b1"}};
  const std::vector<std::pair<std::string, std::string>> v2 = {{"a", "a2"}, {"b", "b2"}};
  const std::vector<std::pair<std::string, std::string>> v3 = {{"a", "a3"}, {"b", "b3"}};
  // The rename of the first file, or the directory fsync after the renames
  // (the second fsync(dir) of a commit; the first makes the temps durable).
  for (io::FaultRule rule : {io::FaultRule{io::FaultOp::kRename, EIO, 0, 1, 0},
                             io::FaultRule{io::FaultOp::kSyncDir, EIO, 1, 1, 0}}) {
    INFO("failing op " << static_cast<int>(rule.op));
    TempDir dir;
    io::FaultEnv env;
    {
      auto s = store::Store::Open(loop.get(), &env, dir.Join("st"), warden::testing::SmallOptions());
      REQUIRE(s.ok());
      REQUIRE(s.value()->CommitFiles(v1).ok());
      env.AddRule(rule);
      REQUIRE_FALSE(s.value()->CommitFiles(v2).ok());
      // A later commit would be overwritten (or made impossible to finish)
      // when the next Open rolls the failed one forward.
      Status later = s.value()->CommitFiles(v3);
      CHECK(later.code() == Code::kFailedPrecondition);
      CHECK(later.message().find("reopen") != std::string::npos);
      CHECK(s.value()->CommitFiles(v3).code() == Code::kFailedPrecondition);
      CHECK_FALSE(s.value()->health().ok());
    }
    auto s = store::Store::Open(loop.get(), &env, dir.Join("st"), warden::testing::SmallOptions());
    REQUIRE(s.ok());
    CHECK(s.value()->open_info().rolled_forward == 1);
    CHECK(Read(dir.Join("st/a")) == "a2");
    CHECK(Read(dir.Join("st/b")) == "b2");
    REQUIRE(s.value()->CommitFiles(v3).ok());
    CHECK(Read(dir.Join("st/a")) == "a3");
  }
}

TEST_CASE("store: a crash at every named commit point is all or nothing", "[store][slow]") {
  WARDEN_EACH_BACKEND(loop);
  const char* points[] = {"txn.after_temps", "txn.after_intent", "txn.after_rename",
                          "txn.before_done", "wal.before_write", "wal.after_write",
                          "wal.after_sync", "commit.after_write", "commit.after_rename"};
  for (const char* point : points) {
    for (int nth : {2}) {
      INFO(point << ":" << nth);
      TempDir dir;
      int pipefd[2];
      REQUIRE(::pipe(pipefd) == 0);
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        ::close(pipefd[0]);
        std::string spec = std::string(point) + ":" + std::to_string(nth);
        if (!warden::base::SetCrashPoint(spec).ok()) ::_exit(4);
        auto l = warden::testing::MakeLoop(backend);
        if (!l) ::_exit(2);
        auto s = store::Store::Open(l.get(), io::PosixEnv(), dir.Join("st"));
        if (!s.ok()) ::_exit(3);
        for (int round = 1; round <= 2; ++round) {
          std::string v = std::to_string(round);
          if (!s.value()->CommitFiles({{"a", "a" + v}, {"b", "b" + v}}).ok()) ::_exit(4);
          if (store::CommitFileSync(io::PosixEnv(), dir.Join("st"), "single", v).ok()) {
            char r = static_cast<char>('0' + round);
            if (::write(pipefd[1], &r, 1) != 1) ::_exit(5);
          }
        }
        ::_exit(0);
      }
      ::close(pipefd[1]);
      std::string acked;
      char c;
      while (::read(pipefd[0], &c, 1) == 1) acked += c;
      ::close(pipefd[0]);
      int wstatus = 0;
      REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
      CHECK(((WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) ||
             (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)));
      auto s = store::Store::Open(loop.get(), io::PosixEnv(), dir.Join("st"));
      REQUIRE(s.ok());
      std::string a = Read(dir.Join("st/a")), b = Read(dir.Join("st/b"));
      if (a != "<missing>") CHECK(a.substr(1) == b.substr(1));
      else CHECK(b == "<missing>");
      if (!acked.empty()) {
        // The last acknowledged round's files are at least that new.
        CHECK(a.substr(1) >= acked.substr(acked.size() - 1));
        CHECK(Read(dir.Join("st/single")) >= acked.substr(acked.size() - 1));
      }
    }
  }
}

TEST_CASE("store: heartbeat is fresh while beating, stale after, dead with its pid", "[store]") {
  WARDEN_EACH_BACKEND(loop);
  TempDir dir;
  {
    store::Heartbeat hb(loop.get(), io::PosixEnv(), dir.path(), "heartbeat", 5);
    hb.Start();
    REQUIRE(loop->RunUntil([&] { return hb.beats() >= 3; }, 5000).ok());
    auto r = store::ReadHeartbeat(io::PosixEnv(), dir.Join("heartbeat"), 1000);
    REQUIRE(r.ok());
    CHECK(r->state == store::HeartbeatState::kFresh);
    CHECK(r->record.pid == ::getpid());
    CHECK(r->record.seq >= 3);
    hb.Stop();
  }
  ::usleep(30000);
  auto stale = store::ReadHeartbeat(io::PosixEnv(), dir.Join("heartbeat"), 10);
  REQUIRE(stale.ok());
  CHECK(stale->state == store::HeartbeatState::kStale);

  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  store::HeartbeatRecord dead{1, 1, 1, pid};
  REQUIRE(store::CommitFileSync(io::PosixEnv(), dir.path(), "hb2", store::EncodeHeartbeat(dead)).ok());
  auto d = store::ReadHeartbeat(io::PosixEnv(), dir.Join("hb2"), 100000);
  REQUIRE(d.ok());
  CHECK(d->state == store::HeartbeatState::kDeadPid);
  std::string text = store::EncodeHeartbeat(dead);
  text[6] ^= 1;
  CHECK(store::DecodeHeartbeat(text).status().code() == Code::kCorruption);
}
