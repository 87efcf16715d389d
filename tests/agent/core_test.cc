// The agent's job core (agent/core.h) driven on a loop with fake streams
// and peers: submits, queries, kills, checkpoints, recovery, and the start
// and exit paths through fake monitors (agent/core_hooks.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/core.h"
#include "agent/core_hooks.h"
#include "agent/job_dir.h"
#include "agent/records.h"
#include "base/fault.h"
#include "io/env.h"
#include "io/fault_env.h"
#include "io/loop.h"
#include "test_util.h"
#include "wal/wal.h"

namespace warden::agent {
namespace {

using testing::TempDir;

Peer RootPeer() { return Peer{0, 0, 1, {}}; }
Peer UserPeer(uid_t uid = 1000) { return Peer{uid, uid, 2, {}}; }

class FakeStream : public Stream {
 public:
  explicit FakeStream(Peer peer) : peer_(std::move(peer)) {}
  bool Send(api::Reply reply) override {
    if (closed_) return false;
    replies.push_back(std::move(reply));
    return true;
  }
  void Finish(api::Reply reply) override {
    reply.set_end(true);
    replies.push_back(std::move(reply));
    finished = true;
  }
  void Fail(api::ErrorCode code, const std::string& message) override {
    api::Reply reply;
    reply.set_end(true);
    reply.mutable_error()->set_code(code);
    reply.mutable_error()->set_message(message);
    replies.push_back(std::move(reply));
    finished = true;
  }
  bool closed() const override { return closed_; }
  void set_on_close(std::function<void()> cb) override { on_close_ = std::move(cb); }
  const Peer& peer() const override { return peer_; }
  void Close() {
    closed_ = true;
    if (on_close_) {
      auto cb = std::move(on_close_);
      on_close_ = nullptr;
      cb();
    }
  }
  const api::Reply& last() const {
    REQUIRE(!replies.empty());
    return replies.back();
  }
  api::ErrorCode code() const { return last().error().code(); }

  std::vector<api::Reply> replies;
  bool finished = false;

 private:
  Peer peer_;
  bool closed_ = false;
  std::function<void()> on_close_;
};

// A fake monitor: a forked child that waits on a pipe (the test ends it) or
// exits at once; read_result reaps it and reports its exit code.
struct FakeMonitors {
  MonitorOps ops;
  int spawns = 0;
  bool exit_at_once = true;
  std::map<std::string, pid_t> pids;          // job id -> child
  std::map<std::string, int> release;         // job id -> write end of its pipe
  std::map<std::string, MonitorFate> fates;   // what probe says
  std::map<std::string, int> signals;

  FakeMonitors() {
    ops.spawn = [this](const SpawnRequest& req) -> Result<SpawnedMonitor> {
      spawns++;
      int p[2];
      REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        // Only its own read end stays open, so closing the write end in
        // End() is what wakes it.
        char c;
        ::dup2(p[0], 0);
        ::syscall(SYS_close_range, 3, ~0U, 0);
        if (!exit_at_once) (void)!::read(0, &c, 1);
        ::_exit(7);
      }
      ::close(p[0]);
      release[req.input.job_id()] = p[1];
      pids[req.input.job_id()] = pid;
      SpawnedMonitor m;
      m.identity.pid = pid;
      m.identity.start_ticks = 1;
      m.identity.job_id = req.input.job_id();
      m.pidfd = base::UniqueFd(base::PidfdOpen(pid));
      REQUIRE(m.pidfd.valid());
      return m;
    };
    ops.read_result = [this](const std::string&, const std::string& id) -> Result<Probe> {
      auto it = pids.find(id);
      if (it == pids.end()) return Status::Error(Code::kNotFound, "no result");
      int status = 0;
      ::waitpid(it->second, &status, 0);
      Probe probe;
      probe.fate = MonitorFate::kEnded;
      probe.state = api::EXITED;
      probe.exit_code = WEXITSTATUS(status);
      probe.result_json = "{\"exit_code\":" + std::to_string(probe.exit_code) + "}";
      return probe;
    };
    ops.probe = [this](const std::string&, const std::string& id, uint64_t) -> Result<Probe> {
      Probe probe;
      auto it = fates.find(id);
      probe.fate = it == fates.end() ? MonitorFate::kNoDir : it->second;
      if (probe.fate == MonitorFate::kLost) probe.reason = "began, no result";
      return probe;
    };
    ops.signal = [this](int, int sig) -> Status {
      signals[std::to_string(sig)]++;
      return Status::Ok();
    };
  }
  ~FakeMonitors() {
    for (auto& [id, fd] : release) ::close(fd);
    for (auto& [id, pid] : pids) ::waitpid(pid, nullptr, WNOHANG);
  }
  void End(const std::string& id) {
    ::close(release[id]);
    release.erase(id);
  }
};

struct ScopedOps {
  explicit ScopedOps(const MonitorOps* ops) { SetMonitorOpsForTest(ops); }
  ~ScopedOps() { SetMonitorOpsForTest(nullptr); }
};

class Harness {
 public:
  Harness() {
    auto loop = io::Loop::Create();
    REQUIRE(loop.ok());
    loop_ = std::move(loop).value();
    AgentConfig& c = options.config;
    c.state_dir = dir.Join("state");
    c.launcher_state_dir = dir.Join("run");
    c.cache_dir = dir.Join("cache");
    c.hold = true;
  }
  ~Harness() { core.reset(); }

  void Open(io::Env* env = io::PosixEnv()) {
    core.reset();
    report.Clear();
    auto c = Core::Recover(loop_.get(), env, options, &report);
    if (!c.ok()) FAIL(c.status().ToString());
    core = std::move(c).value();
    const auto s0 = std::chrono::steady_clock::now();
    core->Start();
    start_us = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - s0).count();
  }
  long long start_us = 0;

  std::shared_ptr<FakeStream> Begin(const api::Request& req, const Peer& peer,
                                    std::vector<base::UniqueFd> fds = {}) {
    auto s = std::make_shared<FakeStream>(peer);
    core->Handle(req, std::move(fds), s);
    return s;
  }
  void RunUntil(const std::function<bool()>& done) {
    Status st = loop_->RunUntil(done, 20'000);
    REQUIRE(st.ok());
  }
  std::shared_ptr<FakeStream> Call(const api::Request& req, const Peer& peer = RootPeer(),
                                   std::vector<base::UniqueFd> fds = {}) {
    auto s = Begin(req, peer, std::move(fds));
    RunUntil([&] { return s->finished; });
    return s;
  }

  std::shared_ptr<FakeStream> Submit(api::JobSpec spec, const Peer& peer = RootPeer(),
                                     std::vector<base::UniqueFd> fds = {}) {
    api::Request req;
    *req.mutable_submit()->mutable_spec() = std::move(spec);
    return Call(req, peer, std::move(fds));
  }
  std::string SubmitOk(api::JobSpec spec, const Peer& peer = RootPeer()) {
    auto s = Submit(std::move(spec), peer);
    INFO(s->last().error().message());
    REQUIRE(s->last().has_submit());
    return s->last().submit().job_id();
  }
  api::JobInfo StatusOf(const std::string& id, const Peer& peer = RootPeer()) {
    api::Request req;
    req.mutable_status()->set_job_id(id);
    auto s = Call(req, peer);
    INFO(s->last().error().message());
    REQUIRE(s->last().has_status());
    return s->last().status().job();
  }
  std::shared_ptr<FakeStream> Kill(const std::string& id, const Peer& peer = RootPeer()) {
    api::Request req;
    req.mutable_kill()->set_job_id(id);
    return Call(req, peer);
  }
  api::ListReply List(api::ListRequest list, const Peer& peer = RootPeer()) {
    api::Request req;
    *req.mutable_list() = std::move(list);
    auto s = Call(req, peer);
    INFO(s->last().error().message());
    REQUIRE(s->last().has_list());
    return s->last().list();
  }

  TempDir dir;
  CoreOptions options;
  std::unique_ptr<Core> core;
  api::RecoveryReport report;

 private:
  std::unique_ptr<io::Loop> loop_;
};

api::JobSpec Spec(const std::string& arg = "/bin/true") {
  api::JobSpec spec;
  spec.add_argv(arg);
  return spec;
}

const api::RecoveryPhase* Phase(const api::RecoveryReport& r, const std::string& name) {
  for (const auto& p : r.phases()) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

TEST_CASE("a submit is acknowledged only once durable, and survives a reopen", "[agent][core]") {
  Harness h;
  h.Open();
  api::Request req;
  *req.mutable_submit()->mutable_spec() = Spec();
  auto s = h.Begin(req, RootPeer());
  // Handle never answers a submit inline: the reply waits for fdatasync.
  CHECK(s->replies.empty());
  h.RunUntil([&] { return s->finished; });
  REQUIRE(s->last().has_submit());
  const std::string id = s->last().submit().job_id();
  CHECK(ValidJobId(id));
  CHECK_FALSE(s->last().submit().existing());
  api::JobInfo info = h.StatusOf(id);
  CHECK(info.state() == api::QUEUED);
  CHECK(info.argv(0) == "/bin/true");

  h.Open();
  info = h.StatusOf(id);
  CHECK(info.state() == api::QUEUED);
  CHECK(info.owner_uid() == 0);
  // The counter is recovered: a new job gets a new id.
  CHECK(h.SubmitOk(Spec()) > id);
  REQUIRE(Phase(h.report, "wal replay") != nullptr);
  CHECK(Phase(h.report, "wal replay")->counts().at("records") == 1);
  for (const char* name : {"checkpoint", "re-adopt", "collect results", "orphan scan", "requeue"}) {
    CHECK(Phase(h.report, name) != nullptr);
  }
}

TEST_CASE("idempotent submits return the first job, also while it is appended and after a reopen",
          "[agent][core]") {
  Harness h;
  h.Open();
  api::Request req;
  api::JobSpec spec = Spec();
  spec.set_idempotency_key("build-42");
  *req.mutable_submit()->mutable_spec() = spec;
  auto a = h.Begin(req, UserPeer());
  auto b = h.Begin(req, UserPeer());  // while a's record is in flight
  h.RunUntil([&] { return a->finished && b->finished; });
  REQUIRE(a->last().has_submit());
  REQUIRE(b->last().has_submit());
  CHECK(a->last().submit().job_id() == b->last().submit().job_id());
  CHECK_FALSE(a->last().submit().existing());
  CHECK(b->last().submit().existing());
  // Another uid's key is its own.
  auto other = h.Submit(spec, UserPeer(1001));
  CHECK(other->last().submit().job_id() != a->last().submit().job_id());

  h.Open();
  auto c = h.Submit(spec, UserPeer());
  REQUIRE(c->last().has_submit());
  CHECK(c->last().submit().job_id() == a->last().submit().job_id());
  CHECK(c->last().submit().existing());
}

TEST_CASE("submits are validated and bounded", "[agent][core]") {
  Harness h;
  h.Open();
  CHECK(h.Submit(api::JobSpec())->code() == api::BAD_REQUEST);
  api::JobSpec spec = Spec();
  spec.set_net("bridge");
  CHECK(h.Submit(spec)->code() == api::BAD_REQUEST);
  spec = Spec();
  for (int i = 0; i < 65; i++) (*spec.mutable_labels())["k" + std::to_string(i)] = "v";
  CHECK(h.Submit(spec)->code() == api::BAD_REQUEST);
  spec = Spec();
  spec.set_idempotency_key(std::string(257, 'k'));
  CHECK(h.Submit(spec)->code() == api::BAD_REQUEST);
  spec = Spec();
  api::Bind* b = spec.add_binds();
  b->set_source("relative/path");
  b->set_destination("/data");
  b->set_fd_index(-1);
  CHECK(h.Submit(spec)->code() == api::BAD_REQUEST);
  spec = Spec();
  spec.add_argv(std::string(64 * 1024 + 1, 'a'));
  CHECK(h.Submit(spec)->code() == api::BAD_REQUEST);
  // A client cannot fill in what the agent records.
  spec = Spec();
  spec.set_owner_uid(0);
  spec.set_admit_memory_bytes(1);
  std::string id = h.SubmitOk(spec, UserPeer());
  CHECK(h.StatusOf(id).owner_uid() == 1000);
}

TEST_CASE("a spec too big for one log record is refused as too large", "[agent][core]") {
  Harness h;
  h.Open();
  api::JobSpec spec = Spec();
  for (int i = 0; i < 20; i++) spec.add_argv(std::string(60 * 1024, 'a'));
  auto s = h.Submit(spec);
  CHECK(s->code() == api::TOO_LARGE);
  // The id was not used up.
  CHECK(h.SubmitOk(Spec()) == MakeJobId(1));
}

TEST_CASE("the queue is bounded, in all and per uid", "[agent][core]") {
  Harness h;
  h.options.config.max_queued = 3;
  h.options.config.max_queued_per_uid = 2;
  h.Open();
  h.SubmitOk(Spec(), UserPeer());
  h.SubmitOk(Spec(), UserPeer());
  auto s = h.Submit(Spec(), UserPeer());
  CHECK(s->code() == api::QUEUE_FULL);
  CHECK(s->last().error().message() == "queue full: 2 jobs of uid 1000 queued; retry later");
  h.SubmitOk(Spec(), RootPeer());
  s = h.Submit(Spec(), RootPeer());
  CHECK(s->code() == api::QUEUE_FULL);
  CHECK(s->last().error().message() == "queue full: 3 jobs queued; retry later");
}

TEST_CASE("a job over the memory or pids budget never fits", "[agent][core]") {
  Harness h;
  h.options.config.memory_budget_bytes = 1ull << 30;
  h.options.config.pids_budget = 100;
  h.Open();
  api::JobSpec spec = Spec();
  spec.mutable_memory_bytes()->set_value(2ull << 30);
  auto s = h.Submit(spec);
  CHECK(s->code() == api::NEVER_FITS);
  CHECK_THAT(s->last().error().message(), Catch::Contains("memory budget"));
  spec = Spec();
  spec.mutable_pids()->set_value(101);
  CHECK(h.Submit(spec)->code() == api::NEVER_FITS);
  spec = Spec();
  spec.mutable_memory_bytes()->set_value(1ull << 20);
  spec.mutable_pids()->set_value(10);
  h.SubmitOk(spec);
}

TEST_CASE("a client that is not root is held to its own jobs, shipped policies and its fds",
          "[agent][core]") {
  Harness h;
  h.Open();
  const std::string root_job = h.SubmitOk(Spec());
  api::Request req;
  req.mutable_status()->set_job_id(root_job);
  auto s = h.Call(req, UserPeer());
  CHECK(s->code() == api::UNAUTHORIZED);
  CHECK(s->last().error().message() == "job " + root_job + " belongs to uid 0");
  CHECK(h.Kill(root_job, UserPeer())->code() == api::UNAUTHORIZED);
  req.mutable_status()->set_job_id("j00000000ffff");
  CHECK(h.Call(req, UserPeer())->code() == api::NOT_FOUND);
  req.mutable_status()->set_job_id("../../etc");
  CHECK(h.Call(req, UserPeer())->code() == api::BAD_REQUEST);

  api::JobSpec spec = Spec();
  spec.set_policy("/etc/warden/mine.toml");
  CHECK(h.Submit(spec, UserPeer())->code() == api::UNAUTHORIZED);
  spec.set_policy("no-such-policy");
  CHECK(h.Submit(spec, UserPeer())->code() == api::UNAUTHORIZED);
  spec.set_policy("default");
  h.SubmitOk(spec, UserPeer());

  // A bind without the client's fd.
  const std::string a = h.dir.Join("a");
  const std::string b = h.dir.Join("b");
  REQUIRE(::mkdir(a.c_str(), 0755) == 0);
  REQUIRE(::mkdir(b.c_str(), 0755) == 0);
  spec = Spec();
  api::Bind* bind = spec.add_binds();
  bind->set_source(a);
  bind->set_destination("/data");
  bind->set_fd_index(-1);
  s = h.Submit(spec, UserPeer());
  CHECK(s->code() == api::UNAUTHORIZED);
  CHECK_THAT(s->last().error().message(), Catch::Contains("as an fd"));

  // An fd of another directory than the source named.
  bind->set_fd_index(0);
  std::vector<base::UniqueFd> fds;
  fds.emplace_back(::open(b.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  s = h.Submit(spec, UserPeer(), std::move(fds));
  CHECK(s->code() == api::UNAUTHORIZED);
  CHECK_THAT(s->last().error().message(), Catch::Contains("not the file the client passed"));

  // The right fd: accepted, read-only.
  fds.clear();
  fds.emplace_back(::open(a.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto ok = h.Submit(spec, UserPeer(), std::move(fds));
  INFO(ok->last().error().message());
  CHECK(ok->last().has_submit());

  // Writable: the directory (root's) is not the client's.
  bind->set_writable(true);
  fds.clear();
  fds.emplace_back(::open(a.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  s = h.Submit(spec, UserPeer(), std::move(fds));
  CHECK(s->code() == api::UNAUTHORIZED);
  CHECK_THAT(s->last().error().message(), Catch::Contains("owned by uid 0"));
  // ... and is when chowned to it.
  REQUIRE(::chown(a.c_str(), 1000, 1000) == 0);
  fds.clear();
  fds.emplace_back(::open(a.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ok = h.Submit(spec, UserPeer(), std::move(fds));
  INFO(ok->last().error().message());
  CHECK(ok->last().has_submit());

  // An owned bind shows the source's owner's files as the job's own: even
  // read-only, only the client's own source (in one of its groups).
  bind->set_writable(false);
  bind->set_owned(true);
  fds.clear();
  fds.emplace_back(::open(b.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  bind->set_source(b);
  s = h.Submit(spec, UserPeer(), std::move(fds));
  CHECK(s->code() == api::UNAUTHORIZED);
  CHECK_THAT(s->last().error().message(), Catch::Contains("owned bind"));
  REQUIRE(::chown(b.c_str(), 1000, 0) == 0);
  fds.clear();
  fds.emplace_back(::open(b.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  s = h.Submit(spec, UserPeer(), std::move(fds));
  CHECK(s->code() == api::UNAUTHORIZED);
  CHECK_THAT(s->last().error().message(), Catch::Contains("gid 0"));
  REQUIRE(::chown(b.c_str(), 1000, 1000) == 0);
  fds.clear();
  fds.emplace_back(::open(b.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ok = h.Submit(spec, UserPeer(), std::move(fds));
  INFO(ok->last().error().message());
  CHECK(ok->last().has_submit());
  bind->set_owned(false);
  bind->set_source(a);

  // A non-root client's list shows only its own jobs, and not another's.
  api::ListRequest list;
  const api::ListReply own = h.List(list, UserPeer());
  CHECK(own.jobs_size() > 0);
  for (const auto& j : own.jobs()) CHECK(j.owner_uid() == 1000);
  list.mutable_owner_uid()->set_value(0);
  api::Request lr;
  *lr.mutable_list() = list;
  CHECK(h.Call(lr, UserPeer())->code() == api::UNAUTHORIZED);
}

TEST_CASE("list filters by state, owner and labels and pages in id order", "[agent][core]") {
  Harness h;
  h.Open();
  std::vector<std::string> ids;
  for (int i = 0; i < 7; i++) {
    api::JobSpec spec = Spec();
    (*spec.mutable_labels())["parity"] = i % 2 == 0 ? "even" : "odd";
    ids.push_back(h.SubmitOk(spec, i < 5 ? RootPeer() : UserPeer()));
  }
  REQUIRE(h.Kill(ids[0])->last().has_kill());

  api::ListRequest list;
  list.set_page_size(3);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; page++) {
    api::ListReply reply = h.List(list);
    for (const auto& j : reply.jobs()) seen.push_back(j.job_id());
    CHECK(reply.jobs_size() <= 3);
    if (reply.next_page_token().empty()) break;
    list.set_page_token(reply.next_page_token());
  }
  CHECK(seen == ids);

  api::ListRequest even;
  (*even.mutable_labels())["parity"] = "even";
  CHECK(h.List(even).jobs_size() == 4);
  api::ListRequest cancelled;
  cancelled.add_states(api::CANCELLED);
  api::ListReply c = h.List(cancelled);
  REQUIRE(c.jobs_size() == 1);
  CHECK(c.jobs(0).job_id() == ids[0]);
  api::ListRequest mine;
  mine.mutable_owner_uid()->set_value(1000);
  CHECK(h.List(mine).jobs_size() == 2);
  CHECK(h.List(api::ListRequest(), UserPeer()).jobs_size() == 2);
}

TEST_CASE("kill of a queued job cancels it; wait and events see it", "[agent][core]") {
  Harness h;
  h.Open();
  api::Request ev;
  ev.mutable_events();
  auto events = h.Begin(ev, UserPeer());
  auto root_events = h.Begin(ev, RootPeer());
  const std::string id = h.SubmitOk(Spec(), UserPeer());
  h.SubmitOk(Spec(), RootPeer());
  api::Request wait;
  wait.mutable_wait()->set_job_id(id);
  auto w = h.Begin(wait, UserPeer());
  auto closed_waiter = h.Begin(wait, UserPeer());
  closed_waiter->Close();
  CHECK_FALSE(w->finished);
  auto k = h.Kill(id, UserPeer());
  REQUIRE(k->last().has_kill());
  h.RunUntil([&] { return w->finished; });
  REQUIRE(w->last().has_wait());
  CHECK(w->last().wait().job().state() == api::CANCELLED);
  CHECK(h.StatusOf(id).state() == api::CANCELLED);
  auto again = h.Kill(id, UserPeer());
  CHECK(again->code() == api::BAD_REQUEST);
  CHECK_THAT(again->last().error().message(), Catch::Contains("already ended"));
  // The user's subscription saw its own job only; root's saw both.
  std::vector<api::State> states;
  for (const auto& r : events->replies) {
    CHECK(r.event().job_id() == id);
    states.push_back(r.event().state());
  }
  CHECK(states == std::vector<api::State>{api::QUEUED, api::CANCELLED});
  CHECK(root_events->replies.size() == 3);
  // After a reopen the cancellation holds.
  h.Open();
  CHECK(h.StatusOf(id).state() == api::CANCELLED);
}

TEST_CASE("a checkpoint and a reopen give the same table", "[agent][core]") {
  Harness h;
  h.options.config.checkpoint_every_records = 4;
  h.Open();
  for (int i = 0; i < 9; i++) {
    api::JobSpec spec = Spec();
    (*spec.mutable_labels())["n"] = std::to_string(i);
    if (i == 3) spec.set_idempotency_key("k3");
    const std::string id = h.SubmitOk(spec, i % 2 ? UserPeer() : RootPeer());
    if (i % 3 == 0) REQUIRE(h.Kill(id)->last().has_kill());
  }
  // Let the checkpoint's commit finish.
  api::Request stats;
  stats.mutable_stats();
  h.RunUntil([&] { return h.Call(stats)->last().stats().counters().count("checkpoints") > 0; });
  api::ListRequest all;
  const std::string before = h.List(all).SerializeAsString();
  h.Open();
  CHECK(Phase(h.report, "checkpoint")->counts().at("snapshot_seq") > 0);
  CHECK(h.List(all).SerializeAsString() == before);
  api::JobSpec spec = Spec();
  spec.set_idempotency_key("k3");
  CHECK(h.Submit(spec, UserPeer())->last().submit().existing());
  // A clean shutdown leaves a checkpoint: nothing to replay.
  bool done = false;
  h.core->Shutdown([&] { done = true; });
  h.RunUntil([&] { return done; });
  CHECK(h.core->Unavailable() == "the agent is shutting down");
  h.Open();
  CHECK(Phase(h.report, "wal replay")->counts().at("records") == 0);
  CHECK(h.List(all).jobs_size() == 9);
}

TEST_CASE("recovery of 100,000 finished and 1,000 queued jobs", "[agent][core]") {
  Harness h;
  const std::string state = h.options.config.state_dir;
  {
    // The state as a long-running agent leaves it: one checkpoint.
    auto loop = io::Loop::Create();
    REQUIRE(loop.ok());
    REQUIRE(io::PosixEnv()->CreateDir(state).ok());
    auto w = wal::Wal::Open(loop->get(), io::PosixEnv(), state + "/" + kWalDir, wal::WalOptions{},
                            wal::ReplayHandler{[](const std::string&, uint64_t) { return Status::Ok(); },
                                               [](uint64_t, const wal::Payload&) { return Status::Ok(); }});
    REQUIRE(w.ok());
    api::Checkpoint cp;
    const uint64_t now = 1'700'000'000'000'000'000ull;
    for (uint64_t n = 1; n <= 101'000; n++) {
      api::JobEntry* e = cp.add_jobs();
      e->set_job_id(MakeJobId(n));
      e->set_owner_uid(n % 7 == 0 ? 0 : 1000);
      e->add_argv("/usr/bin/make");
      e->add_argv("test");
      (*e->mutable_labels())["ci"] = "pipeline-" + std::to_string(n % 100);
      e->set_submit_wall_ns(now + n);
      if (n <= 100'000) {
        e->set_state(api::EXITED);
        e->set_start_wall_ns(now + n + 1);
        e->set_end_wall_ns(now + n + 2);
        e->set_exit_code(0);
      } else {
        e->set_state(api::QUEUED);
        api::JobSpec* spec = e->mutable_spec();
        spec->add_argv("/usr/bin/make");
        spec->add_argv("test");
        spec->set_owner_uid(e->owner_uid());
        spec->set_submit_wall_ns(now + n);
      }
    }
    cp.set_next_job_number(101'001);
    wal::Payload p;
    p.mutable_blob()->set_kind(kJobEventKind);
    api::JobEvent ev;
    ev.set_job_id(MakeJobId(101'000));
    ev.set_state(api::QUEUED);
    p.mutable_blob()->set_data(ev.SerializeAsString());
    auto seq = (*w)->AppendAndWait(p);  // a record for the snapshot to cover
    REQUIRE(seq.ok());
    REQUIRE((*w)->CheckpointAndWait(cp.SerializeAsString(), *seq).ok());
  }
  // Retention must not remove these on Start: their end is long past.
  h.options.config.retention_ms = ~0ull / 2'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  h.Open();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("recovery of 100,000 finished + 1,000 queued jobs: %llu us (report), %lld us "
              "(Recover+Start)\n",
              static_cast<unsigned long long>(h.report.total_micros()), static_cast<long long>(us));
  std::printf("  Start            %8lld us\n", h.start_us);
  for (const auto& p : h.report.phases()) {
    std::printf("  %-16s %8llu us\n", p.name().c_str(), static_cast<unsigned long long>(p.micros()));
  }
  api::Request stats;
  stats.mutable_stats();
  auto s = h.Call(stats);
  CHECK(s->last().stats().jobs() == 101'000);
  CHECK(s->last().stats().queued() == 1'000);
  CHECK(h.StatusOf(MakeJobId(5)).state() == api::EXITED);
  CHECK(h.SubmitOk(Spec()) == MakeJobId(101'001));
}

TEST_CASE("jobs start through monitors, end with their exit codes, and wait returns them",
          "[agent][core]") {
  FakeMonitors mon;
  ScopedOps scoped(&mon.ops);
  Harness h;
  h.options.config.hold = false;
  h.options.config.max_running = 1;
  h.Open();
  mon.exit_at_once = false;
  const std::string a = h.SubmitOk(Spec());
  const std::string b = h.SubmitOk(Spec());
  h.RunUntil([&] { return h.StatusOf(a).state() == api::RUNNING; });
  // max_running 1: b waits for a.
  CHECK(h.StatusOf(b).state() == api::QUEUED);
  api::Request wait;
  wait.mutable_wait()->set_job_id(a);
  auto w = h.Begin(wait, RootPeer());
  mon.End(a);
  h.RunUntil([&] { return w->finished; });
  REQUIRE(w->last().has_wait());
  CHECK(w->last().wait().job().state() == api::EXITED);
  CHECK(w->last().wait().job().exit_code() == 7);
  CHECK(w->last().wait().job().result_json() == "{\"exit_code\":7}");
  h.RunUntil([&] { return h.StatusOf(b).state() == api::RUNNING; });
  // Kill of a running job goes to its monitor.
  REQUIRE(h.Kill(b)->last().has_kill());
  CHECK(mon.signals[std::to_string(SIGKILL)] == 1);
  mon.End(b);
  h.RunUntil([&] { return h.StatusOf(b).state() == api::EXITED; });
  CHECK(mon.spawns == 2);
}

TEST_CASE("the scheduler starts higher priorities first, FIFO within one, within the budgets",
          "[agent][core]") {
  FakeMonitors mon;
  mon.exit_at_once = false;
  ScopedOps scoped(&mon.ops);
  Harness h;
  h.options.config.hold = false;
  h.options.config.max_running = 2;
  h.options.config.memory_budget_bytes = 100 << 20;
  h.Open();
  api::JobSpec big = Spec();
  big.mutable_memory_bytes()->set_value(60 << 20);
  const std::string first = h.SubmitOk(big);
  h.RunUntil([&] { return h.StatusOf(first).state() == api::RUNNING; });
  // Room for one more by count, not by memory: the next waits.
  const std::string low = h.SubmitOk(big);
  api::JobSpec high = big;
  high.set_priority(5);
  const std::string high_a = h.SubmitOk(high);
  const std::string high_b = h.SubmitOk(high);
  CHECK(h.StatusOf(low).state() == api::QUEUED);
  CHECK(h.StatusOf(high_a).state() == api::QUEUED);
  mon.End(first);
  h.RunUntil([&] { return h.StatusOf(high_a).state() == api::RUNNING; });
  CHECK(h.StatusOf(high_b).state() == api::QUEUED);
  CHECK(h.StatusOf(low).state() == api::QUEUED);
  mon.End(high_a);
  h.RunUntil([&] { return h.StatusOf(high_b).state() == api::RUNNING; });
  CHECK(h.StatusOf(low).state() == api::QUEUED);
  mon.End(high_b);
  h.RunUntil([&] { return h.StatusOf(low).state() == api::RUNNING; });
  mon.End(low);
  h.RunUntil([&] { return h.StatusOf(low).state() == api::EXITED; });
}

TEST_CASE("RepairState on a sound log has nothing to repair", "[agent][core]") {
  Harness h;
  h.Open();
  h.SubmitOk(Spec());
  h.core.reset();
  std::string report;
  REQUIRE(RepairState(h.options.config.state_dir, &report).ok());
  CHECK_FALSE(report.empty());
  h.Open();
  CHECK(h.List(api::ListRequest()).jobs_size() == 1);
}

TEST_CASE("a failed spawn is a setup error, recorded once", "[agent][core]") {
  MonitorOps ops;
  int spawns = 0;
  ops.spawn = [&](const SpawnRequest&) -> Result<SpawnedMonitor> {
    spawns++;
    return Status::Error(Code::kUnavailable, "no monitor today");
  };
  ops.probe = [](const std::string&, const std::string&, uint64_t) -> Result<Probe> {
    return Probe{};
  };
  ops.read_result = [](const std::string&, const std::string&) -> Result<Probe> {
    return Status::Error(Code::kNotFound, "none");
  };
  ops.signal = [](int, int) { return Status::Ok(); };
  ScopedOps scoped(&ops);
  Harness h;
  h.options.config.hold = false;
  h.Open();
  const std::string id = h.SubmitOk(Spec());
  h.RunUntil([&] { return h.StatusOf(id).state() == api::SETUP_ERROR; });
  CHECK_THAT(h.StatusOf(id).reason(), Catch::Contains("no monitor today"));
  CHECK(spawns == 1);
}

TEST_CASE("recovery decides by the monitors' fates: lost, requeued and started once",
          "[agent][core]") {
  FakeMonitors mon;
  mon.exit_at_once = false;
  ScopedOps scoped(&mon.ops);
  Harness h;
  h.options.config.hold = false;
  h.Open();
  const std::string lost = h.SubmitOk(Spec());
  const std::string never = h.SubmitOk(Spec());
  h.RunUntil([&] {
    return h.StatusOf(lost).state() == api::RUNNING && h.StatusOf(never).state() == api::RUNNING;
  });
  // The agent goes away (its monitors stay); at the next start one
  // monitor died after its launch began, the other never got to it.
  h.core.reset();
  mon.fates[lost] = MonitorFate::kLost;
  mon.fates[never] = MonitorFate::kNeverBegan;
  mon.End(lost);
  mon.End(never);
  const int spawns = mon.spawns;
  h.Open();
  CHECK(h.StatusOf(lost).state() == api::LOST);
  CHECK(h.StatusOf(lost).reason() == "began, no result");
  CHECK(Phase(h.report, "requeue")->counts().at("requeued") == 1);
  h.RunUntil([&] { return h.StatusOf(never).state() == api::RUNNING; });
  CHECK(mon.spawns == spawns + 1);
  mon.End(never);
  h.RunUntil([&] { return h.StatusOf(never).state() == api::EXITED; });
  CHECK(mon.spawns == spawns + 1);
}

TEST_CASE("recovery waits for a monitor that holds its lock to identify itself, and adopts it",
          "[agent][core]") {
  FakeMonitors mon;
  mon.exit_at_once = false;
  ScopedOps scoped(&mon.ops);
  Harness h;
  h.options.config.hold = false;
  h.Open();
  const std::string id = h.SubmitOk(Spec());
  h.RunUntil([&] { return h.StatusOf(id).state() == api::RUNNING; });
  h.core.reset();
  // At the next start its monitor holds the lock but has not written its
  // identity yet: the first looks find it unidentified (no pidfd).
  int probes = 0;
  mon.ops.probe = [&](const std::string&, const std::string& job, uint64_t) -> Result<Probe> {
    Probe probe;
    probe.fate = MonitorFate::kHung;
    probe.reason = "monitor never identified itself";
    if (job == id && ++probes > 3) {
      probe.fate = MonitorFate::kAlive;
      probe.identity.pid = mon.pids[id];
      probe.identity.job_id = id;
      probe.pidfd = base::UniqueFd(base::PidfdOpen(mon.pids[id]));
      REQUIRE(probe.pidfd.valid());
    }
    return probe;
  };
  h.Open();
  CHECK(probes == 4);
  CHECK(h.StatusOf(id).state() == api::RUNNING);
  mon.End(id);
  h.RunUntil([&] { return h.StatusOf(id).state() == api::EXITED; });
  CHECK(h.StatusOf(id).exit_code() == 7);
}

TEST_CASE("a result too big for one log record still ends its job, live and at recovery",
          "[agent][core]") {
  FakeMonitors mon;
  mon.exit_at_once = false;
  const std::string big = "{\"status\":\"ok\",\"exit_code\":0,\"error\":\"" +
                          std::string(2 << 20, 'x') + "\"}";
  mon.ops.read_result = [&](const std::string&, const std::string& id) -> Result<Probe> {
    if (mon.pids.count(id) > 0) ::waitpid(mon.pids[id], nullptr, 0);
    Probe probe;
    probe.fate = MonitorFate::kEnded;
    probe.state = api::EXITED;
    probe.result_json = big;
    return probe;
  };
  ScopedOps scoped(&mon.ops);
  Harness h;
  h.options.config.hold = false;
  h.Open();
  const std::string live = h.SubmitOk(Spec());
  const std::string away = h.SubmitOk(Spec());
  h.RunUntil([&] {
    return h.StatusOf(live).state() == api::RUNNING && h.StatusOf(away).state() == api::RUNNING;
  });
  mon.End(live);
  h.RunUntil([&] { return h.StatusOf(live).state() == api::EXITED; });
  // The agent goes away; meanwhile the other job ends with a big result.
  h.core.reset();
  mon.End(away);
  mon.ops.probe = [&](const std::string& dir, const std::string& id, uint64_t) {
    return mon.ops.read_result(dir, id);
  };
  h.Open();
  CHECK(h.StatusOf(away).state() == api::EXITED);
  CHECK(h.StatusOf(live).state() == api::EXITED);
}

TEST_CASE("a running job whose monitor stops beating is killed and lost", "[agent][core]") {
  FakeMonitors mon;
  mon.exit_at_once = false;
  ScopedOps scoped(&mon.ops);
  Harness h;
  h.options.config.hold = false;
  h.options.config.heartbeat_ms = 10;
  h.options.config.hung_after_ms = 50;
  h.Open();
  const std::string id = h.SubmitOk(Spec());
  h.RunUntil([&] { return h.StatusOf(id).state() == api::RUNNING; });
  mon.fates[id] = MonitorFate::kHung;
  h.RunUntil([&] { return h.StatusOf(id).state() == api::LOST; });
  CHECK(h.StatusOf(id).reason() == "monitor hung: no heartbeat for 50 ms");
  // SIGKILLed, not left running.
  int status = 0;
  REQUIRE(::waitpid(mon.pids[id], &status, 0) == mon.pids[id]);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  mon.pids.erase(id);
}

TEST_CASE("orphan job directories are removed without following links", "[agent][core]") {
  Harness h;
  h.Open();
  const std::string jobs = h.options.config.state_dir + "/" + kJobsDir;
  const std::string orphan = jobs + "/" + MakeJobId(99);
  REQUIRE(::mkdir(orphan.c_str(), 0755) == 0);
  const std::string victim = h.dir.Join("victim");
  REQUIRE(::mkdir(victim.c_str(), 0755) == 0);
  testing::WriteText(victim + "/keep", "x");
  REQUIRE(::symlink(victim.c_str(), (orphan + "/link").c_str()) == 0);
  testing::WriteText(orphan + "/stdout", "out");
  h.Open();
  // The sweep of job directories runs after recovery, from the loop.
  CHECK(Phase(h.report, "orphan scan")->counts().at("dirs_sweep_deferred") == 1);
  struct stat st {};
  CHECK(::lstat(orphan.c_str(), &st) == 0);
  h.core->FinishOrphanSweep();
  CHECK(::lstat(orphan.c_str(), &st) != 0);
  CHECK(::stat((victim + "/keep").c_str(), &st) == 0);
}

TEST_CASE("logs are read from the job's files, in bounded replies, and followed to the end",
          "[agent][core]") {
  Harness h;
  h.Open();
  const std::string id = h.SubmitOk(Spec());
  const std::string jd = JobDir(h.options.config.state_dir, id);
  REQUIRE(::mkdir(jd.c_str(), 0755) == 0);
  testing::WriteText(jd + "/stdout", std::string(100 * 1024, 'o'));
  api::Request req;
  req.mutable_logs()->set_job_id(id);
  auto s = h.Call(req);
  REQUIRE(s->replies.size() == 3);
  CHECK(s->replies[0].logs().data().size() == 64 * 1024);
  CHECK(s->replies[1].logs().offset() == 64 * 1024);
  CHECK(s->replies[1].logs().data().size() == 36 * 1024);
  CHECK(s->replies[2].end());
  // Follow: waits at EOF until the job ends.
  req.mutable_logs()->set_offset(100 * 1024);
  req.mutable_logs()->set_follow(true);
  auto f = h.Begin(req, RootPeer());
  h.RunUntil([&] { return true; });
  CHECK_FALSE(f->finished);
  REQUIRE(h.Kill(id)->last().has_kill());
  h.RunUntil([&] { return f->finished; });
  CHECK(f->last().end());
  // stderr is a link: refused, never followed.
  REQUIRE(::symlink("/etc/passwd", (jd + "/stderr").c_str()) == 0);
  req.mutable_logs()->set_stderr(true);
  req.mutable_logs()->set_offset(0);
  req.mutable_logs()->set_follow(false);
  s = h.Call(req);
  for (const auto& r : s->replies) CHECK(r.logs().data().empty());
}

TEST_CASE("log followers that went away leave nothing behind on their job", "[agent][core]") {
  Harness h;
  h.Open();
  const std::string id = h.SubmitOk(Spec());  // held: queued until the end
  api::Request req;
  req.mutable_logs()->set_job_id(id);
  req.mutable_logs()->set_follow(true);
  api::Request stats;
  stats.mutable_stats();
  for (int i = 0; i < 200; i++) {
    auto f = h.Begin(req, RootPeer());
    h.RunUntil([&] { return true; });
    CHECK_FALSE(f->finished);
    f->Close();
  }
  auto live = h.Begin(req, RootPeer());
  h.RunUntil([&] { return true; });
  CHECK(h.Call(stats)->last().stats().counters().at("log_follow_hooks") <= 2);
  REQUIRE(h.Kill(id)->last().has_kill());
  h.RunUntil([&] { return live->finished; });
  CHECK(live->last().end());
  CHECK(h.Call(stats)->last().stats().counters().at("log_follow_hooks") == 0);
}

TEST_CASE("retention removes finished jobs beyond the count bound", "[agent][core]") {
  Harness h;
  h.options.config.retention_max_jobs = 2;
  h.Open();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; i++) {
    ids.push_back(h.SubmitOk(Spec()));
    REQUIRE(h.Kill(ids.back())->last().has_kill());
  }
  const std::string jd = JobDir(h.options.config.state_dir, ids[0]);
  REQUIRE(::mkdir(jd.c_str(), 0755) == 0);
  h.Open();  // retention runs at start
  api::Request req;
  req.mutable_status()->set_job_id(ids[0]);
  h.RunUntil([&] { return h.Call(req)->code() == api::NOT_FOUND; });
  req.mutable_status()->set_job_id(ids[1]);
  CHECK(h.Call(req)->code() == api::NOT_FOUND);
  CHECK(h.StatusOf(ids[3]).state() == api::CANCELLED);
  struct stat st {};
  CHECK(::lstat(jd.c_str(), &st) != 0);
  h.Open();
  req.mutable_status()->set_job_id(ids[0]);
  CHECK(h.Call(req)->code() == api::NOT_FOUND);
}

TEST_CASE("ENOSPC in the log refuses submits with NO_SPACE while reads go on", "[agent][core]") {
  Harness h;
  io::FaultEnv env;
  h.Open(&env);
  const std::string id = h.SubmitOk(Spec());
  bool fatal = false;
  h.core->SetOnFatal([&](const Status&) { fatal = true; });
  // The next segment cannot be allocated, nor any write made.
  env.AddRule({io::FaultOp::kWrite, ENOSPC, 0, 0, 0});
  env.AddRule({io::FaultOp::kAllocate, ENOSPC, 0, 0, 0});
  auto s = h.Submit(Spec());
  CHECK(s->code() == api::NO_SPACE);
  CHECK_THAT(s->last().error().message(), Catch::Contains("no space left for the agent's log"));
  CHECK(h.Submit(Spec())->code() == api::NO_SPACE);
  CHECK(h.StatusOf(id).state() == api::QUEUED);
  CHECK(h.core->Unavailable().empty());
  CHECK_FALSE(fatal);
  h.core.reset();  // before the Env it uses
}

TEST_CASE("an fdatasync error stops acknowledgements and is fatal", "[agent][core]") {
  Harness h;
  io::FaultEnv env;
  h.Open(&env);
  bool fatal = false;
  h.core->SetOnFatal([&](const Status&) { fatal = true; });
  env.AddRule({io::FaultOp::kSync, EIO, 0, 0, 0});
  auto s = h.Submit(Spec());
  CHECK(s->code() == api::UNAVAILABLE);
  h.RunUntil([&] { return fatal; });
  CHECK_FALSE(h.core->Unavailable().empty());
  // The next start recovers from what is durable (a power cut drops what
  // the failed fdatasync did not make so): nothing was acknowledged.
  h.core.reset();
  env.Crash();
  env.Restart();
  env.ClearRules();
  h.Open(&env);
  CHECK(h.List(api::ListRequest()).jobs_size() == 0);
  h.SubmitOk(Spec());
  h.core.reset();  // before the Env it uses
}

// ---- with the real monitors (agent/monitor.cc) and build/warden ----

class RealHarness : public Harness {
 public:
  RealHarness() {
    binary_.reset(::open("build/warden", O_RDONLY | O_CLOEXEC));
    options.warden_binary_fd = binary_.get();
    options.config.hold = false;
    options.config.policy_dir = testing::RepoPolicies();
    options.config.heartbeat_ms = 200;
    options.config.hung_after_ms = 30'000;
  }
  bool ready() const { return binary_.valid(); }

 private:
  base::UniqueFd binary_;
};

#define REQUIRE_REAL_MONITORS()                                     \
  do {                                                              \
    if (!testing::IsRoot()) WARDEN_SKIP("needs root (run as root)"); \
  } while (0)

api::JobSpec ShellSpec(const std::string& script) {
  api::JobSpec spec;
  spec.add_argv("/bin/sh");
  spec.add_argv("-c");
  spec.add_argv(script);
  spec.set_policy("default");
  return spec;
}

// The monitor's pid, from STATE/jobs/ID/monitor.
pid_t MonitorPid(const Harness& h, const std::string& id) {
  FILE* f = std::fopen((JobDir(h.options.config.state_dir, id) + "/" + kMonitorFile).c_str(), "r");
  if (f == nullptr) return 0;
  int pid = 0;
  if (std::fscanf(f, "%d", &pid) != 1) pid = 0;
  std::fclose(f);
  return pid;
}

TEST_CASE("a job runs through its monitor to EXITED with its exit code", "[agent][core][root]") {
  REQUIRE_REAL_MONITORS();
  RealHarness h;
  if (!h.ready()) WARDEN_SKIP("build/warden is missing (make build/warden)");
  h.Open();
  const std::string id = h.SubmitOk(ShellSpec("echo hello; exit 3"));
  api::Request wait;
  wait.mutable_wait()->set_job_id(id);
  auto w = h.Call(wait);
  REQUIRE(w->last().has_wait());
  INFO(w->last().wait().job().reason());
  INFO(w->last().wait().job().result_json());
  CHECK(w->last().wait().job().state() == api::EXITED);
  CHECK(w->last().wait().job().exit_code() == 3);
  api::Request logs;
  logs.mutable_logs()->set_job_id(id);
  auto l = h.Call(logs);
  std::string out;
  for (const auto& r : l->replies) out += r.logs().data();
  CHECK(out == "hello\n");
  // After a clean stop (a checkpoint) the result is read from the job's
  // result file.
  const std::string result = w->last().wait().job().result_json();
  CHECK_FALSE(result.empty());
  bool done = false;
  h.core->Shutdown([&] { done = true; });
  h.RunUntil([&] { return done; });
  h.Open();
  CHECK(Phase(h.report, "wal replay")->counts().at("records") == 0);
  CHECK(h.StatusOf(id).result_json() == result);
  CHECK(h.StatusOf(id).exit_code() == 3);
}

TEST_CASE("a job whose monitor was SIGKILLed while the agent was away is lost",
          "[agent][core][root]") {
  REQUIRE_REAL_MONITORS();
  RealHarness h;
  if (!h.ready()) WARDEN_SKIP("build/warden is missing (make build/warden)");
  h.Open();
  const std::string id = h.SubmitOk(ShellSpec("sleep 60"));
  h.RunUntil([&] {
    return h.StatusOf(id).state() == api::RUNNING && MonitorPid(h, id) > 0;
  });
  // The launch began once the job's output exists; give it that long.
  const std::string began = JobDir(h.options.config.state_dir, id) + "/" + kBeganFile;
  struct stat st {};
  h.RunUntil([&] { return ::stat(began.c_str(), &st) == 0; });
  h.core.reset();  // the agent goes away; its monitor stays
  const pid_t pid = MonitorPid(h, id);
  base::UniqueFd pidfd(base::PidfdOpen(pid));
  REQUIRE(pidfd.valid());
  REQUIRE(::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) == 0);
  struct pollfd p {pidfd.get(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10'000) == 1);
  h.Open();
  api::JobInfo info = h.StatusOf(id);
  INFO(info.reason());
  CHECK(info.state() == api::LOST);
  CHECK_FALSE(info.reason().empty());
}

TEST_CASE("a STARTING job without a job directory is requeued and started once",
          "[agent][core][root]") {
  REQUIRE_REAL_MONITORS();
  RealHarness h;
  if (!h.ready()) WARDEN_SKIP("build/warden is missing (make build/warden)");
  const std::string id = MakeJobId(1);
  {
    // What a crash at agent.start.after_starting leaves.
    auto loop = io::Loop::Create();
    REQUIRE(loop.ok());
    REQUIRE(io::PosixEnv()->CreateDir(h.options.config.state_dir).ok());
    auto w = wal::Wal::Open(loop->get(), io::PosixEnv(), h.options.config.state_dir + "/" + kWalDir,
                            wal::WalOptions{},
                            wal::ReplayHandler{[](const std::string&, uint64_t) { return Status::Ok(); },
                                               [](uint64_t, const wal::Payload&) { return Status::Ok(); }});
    REQUIRE(w.ok());
    api::JobEvent queued;
    queued.set_job_id(id);
    queued.set_state(api::QUEUED);
    *queued.mutable_spec() = ShellSpec("exit 5");
    api::JobEvent starting;
    starting.set_job_id(id);
    starting.set_state(api::STARTING);
    for (const api::JobEvent* ev : {&queued, &starting}) {
      wal::Payload p;
      p.mutable_blob()->set_kind(kJobEventKind);
      p.mutable_blob()->set_data(ev->SerializeAsString());
      REQUIRE((*w)->AppendAndWait(p).ok());
    }
  }
  h.Open();
  CHECK(Phase(h.report, "requeue")->counts().at("requeued") == 1);
  api::Request wait;
  wait.mutable_wait()->set_job_id(id);
  auto w = h.Call(wait);
  REQUIRE(w->last().has_wait());
  INFO(w->last().wait().job().reason());
  CHECK(w->last().wait().job().state() == api::EXITED);
  CHECK(w->last().wait().job().exit_code() == 5);
  api::Request stats;
  stats.mutable_stats();
  CHECK(h.Call(stats)->last().stats().counters().at("started") == 1);
}

TEST_CASE("a restarted agent re-adopts a running job and collects its exit", "[agent][core][root]") {
  REQUIRE_REAL_MONITORS();
  RealHarness h;
  if (!h.ready()) WARDEN_SKIP("build/warden is missing (make build/warden)");
  h.Open();
  const std::string id = h.SubmitOk(ShellSpec("sleep 2; exit 4"));
  const std::string began = JobDir(h.options.config.state_dir, id) + "/" + kBeganFile;
  struct stat st {};
  h.RunUntil([&] { return h.StatusOf(id).state() == api::RUNNING && ::stat(began.c_str(), &st) == 0; });
  h.core.reset();  // the agent goes away; the job goes on
  h.Open();
  // Re-adopted while it runs, or (on a slow host) collected if it ended.
  const auto& ra = Phase(h.report, "re-adopt")->counts();
  const auto& cr = Phase(h.report, "collect results")->counts();
  CHECK(ra.at("adopted") + cr.at("ended") == 1);
  api::Request wait;
  wait.mutable_wait()->set_job_id(id);
  auto w = h.Call(wait);
  REQUIRE(w->last().has_wait());
  INFO(w->last().wait().job().reason());
  CHECK(w->last().wait().job().state() == api::EXITED);
  CHECK(w->last().wait().job().exit_code() == 4);
}

TEST_CASE("kill of a running job signals it through its monitor", "[agent][core][root]") {
  REQUIRE_REAL_MONITORS();
  RealHarness h;
  if (!h.ready()) WARDEN_SKIP("build/warden is missing (make build/warden)");
  h.Open();
  const std::string id = h.SubmitOk(ShellSpec("sleep 60"));
  const std::string began = JobDir(h.options.config.state_dir, id) + "/" + kBeganFile;
  struct stat st {};
  h.RunUntil([&] { return h.StatusOf(id).state() == api::RUNNING && ::stat(began.c_str(), &st) == 0; });
  auto k = h.Kill(id);
  INFO(k->last().error().message());
  REQUIRE(k->last().has_kill());
  api::Request wait;
  wait.mutable_wait()->set_job_id(id);
  auto w = h.Call(wait);
  REQUIRE(w->last().has_wait());
  INFO(w->last().wait().job().reason());
  INFO(w->last().wait().job().result_json());
  CHECK(w->last().wait().job().state() == api::SIGNALED);
}

// Runs an agent core in a child process with crash point `point` armed:
// it submits `spec` and runs its loop until the crash point kills it.
// Returns whether it died by SIGKILL.
bool CrashAt(const CoreOptions& options, const std::string& point, const api::JobSpec& spec) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!base::SetCrashPoint(point).ok()) ::_exit(2);
    auto loop = io::Loop::Create();
    if (!loop.ok()) ::_exit(3);
    api::RecoveryReport report;
    auto core = Core::Recover(loop->get(), io::PosixEnv(), options, &report);
    if (!core.ok()) ::_exit(4);
    (*core)->Start();
    api::Request req;
    *req.mutable_submit()->mutable_spec() = spec;
    auto stream = std::make_shared<FakeStream>(RootPeer());
    (*core)->Handle(req, {}, stream);
    // Until the crash point fires (or a minute passes).
    (void)(*loop)->RunUntil([] { return false; }, 60'000);
    ::_exit(0);
  }
  int wstatus = 0;
  REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
  return WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL;
}

TEST_CASE("crashes around a submit's record: acknowledged means durable", "[agent][core]") {
  Harness h;
  REQUIRE(CrashAt(h.options, "agent.submit.before_append", Spec()));
  h.Open();
  CHECK(h.List(api::ListRequest()).jobs_size() == 0);
  h.core.reset();
  REQUIRE(CrashAt(h.options, "agent.submit.after_durable", Spec()));
  h.Open();
  api::ListReply list = h.List(api::ListRequest());
  REQUIRE(list.jobs_size() == 1);
  CHECK(list.jobs(0).state() == api::QUEUED);
}

TEST_CASE("crashes in a job's start and exit paths neither lose nor repeat it",
          "[agent][core][root]") {
  REQUIRE_REAL_MONITORS();
  for (const char* point : {"agent.start.after_starting", "agent.start.after_spawn",
                            "agent.start.after_running", "agent.exit.before_record"}) {
    DYNAMIC_SECTION(point) {
      RealHarness h;
      if (!h.ready()) WARDEN_SKIP("build/warden is missing (make build/warden)");
      REQUIRE(CrashAt(h.options, point, ShellSpec("echo once >&2; exit 6")));
      h.Open();
      api::ListReply list = h.List(api::ListRequest());
      REQUIRE(list.jobs_size() == 1);
      const std::string id = list.jobs(0).job_id();
      api::Request wait;
      wait.mutable_wait()->set_job_id(id);
      auto w = h.Call(wait);
      REQUIRE(w->last().has_wait());
      INFO(w->last().wait().job().reason());
      CHECK(w->last().wait().job().state() == api::EXITED);
      CHECK(w->last().wait().job().exit_code() == 6);
      // It ran once: its stderr holds one line.
      api::Request logs;
      logs.mutable_logs()->set_job_id(id);
      logs.mutable_logs()->set_stderr(true);
      auto l = h.Call(logs);
      std::string err;
      for (const auto& r : l->replies) err += r.logs().data();
      CHECK(err == "once\n");
    }
  }
}

TEST_CASE("the orphan scan kills a live monitor that no job owns before removing its directory",
          "[agent][core][root]") {
  REQUIRE_REAL_MONITORS();
  RealHarness h;
  if (!h.ready()) WARDEN_SKIP("build/warden is missing (make build/warden)");
  h.Open();
  const std::string id = h.SubmitOk(ShellSpec("sleep 60"));
  const std::string jd = JobDir(h.options.config.state_dir, id);
  struct stat st {};
  h.RunUntil([&] {
    return h.StatusOf(id).state() == api::RUNNING && ::stat((jd + "/" + kBeganFile).c_str(), &st) == 0;
  });
  h.core.reset();
  const pid_t pid = MonitorPid(h, id);
  base::UniqueFd pidfd(base::PidfdOpen(pid));
  REQUIRE(pidfd.valid());
  // The log is lost (an operator removed it): no job owns the directory.
  const std::string wal_dir = h.options.config.state_dir + "/" + kWalDir;
  auto names = io::PosixEnv()->ListDir(wal_dir);
  REQUIRE(names.ok());
  const std::vector<std::string> wal_files = names.value();
  for (const auto& name : wal_files) {
    REQUIRE(::unlink((wal_dir + "/" + name).c_str()) == 0);
  }
  h.Open();
  h.core->FinishOrphanSweep();
  CHECK(::lstat(jd.c_str(), &st) != 0);
  struct pollfd p {pidfd.get(), POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 1);
}

}  // namespace
}  // namespace warden::agent
