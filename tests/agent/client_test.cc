// The agent's client (warden/agent_client.h) against a fake agent: a
// listening socket served by one thread that speaks the protocol with
// RecvFrame/SendFrame and replies from a script. The fake thread only
// records; every assertion is on the test's thread, after it is joined.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "agent/api.pb.h"
#include "agent/frame.h"
#include "base/fd.h"
#include "test_util.h"
#include "warden/agent_client.h"
#include "warden/run_args.h"

namespace warden {
namespace {

namespace api = agent::api;
using testing::TempDir;

// One accepted connection, as a session of the fake sees it. Failures are
// noted in `errors`, for the test to check once the fake is done.
struct Conn {
  int fd;
  std::vector<std::string>* errors;

  bool Read(api::Request* req, std::vector<base::UniqueFd>* fds = nullptr) {
    std::string bytes;
    std::vector<base::UniqueFd> got;
    Result<bool> r = agent::RecvFrame(fd, agent::kDefaultMaxMessageBytes, &bytes, &got);
    if (!r.ok() || !r.value()) {
      errors->push_back("fake: no request: " + (r.ok() ? std::string("closed") : r.status().message()));
      return false;
    }
    if (!req->ParseFromString(bytes)) {
      errors->push_back("fake: a request that does not parse");
      return false;
    }
    if (fds != nullptr) *fds = std::move(got);
    return true;
  }
  bool Send(const api::Reply& reply) {
    std::string bytes;
    reply.SerializeToString(&bytes);
    Status st = agent::SendFrame(fd, bytes);
    if (!st.ok()) errors->push_back("fake: send: " + st.message());
    return st.ok();
  }
  // Answers `req` once, with `fill` setting the body.
  bool Answer(const api::Request& req, const std::function<void(api::Reply*)>& fill, bool end = true) {
    api::Reply reply;
    reply.set_id(req.id());
    reply.set_end(end);
    fill(&reply);
    return Send(reply);
  }
  bool Fail(const api::Request& req, api::ErrorCode code, const std::string& message) {
    return Answer(req, [&](api::Reply* r) {
      r->mutable_error()->set_code(code);
      r->mutable_error()->set_message(message);
    });
  }
  bool Handshake(uint32_t version = api::VERSION_1) {
    api::Request req;
    if (!Read(&req)) return false;
    if (!req.has_hello()) {
      errors->push_back("fake: the first request is not a hello");
      return false;
    }
    if (req.hello().version() != api::VERSION_1) errors->push_back("fake: hello's version");
    if (req.hello().client().rfind("warden ", 0) != 0) errors->push_back("fake: hello's client name");
    return Answer(req, [&](api::Reply* r) {
      r->mutable_hello()->set_version(version);
      r->mutable_hello()->set_agent_pid(4242);
      r->mutable_hello()->set_agent_version("0.1.0");
    });
  }
};

// Serves one session per connection, in order, on its own thread; each
// session starts after the handshake. The listening socket stays open
// between connections, so a client that reconnects is queued by the kernel
// until the next session accepts it.
class FakeAgent {
 public:
  using Session = std::function<void(Conn&)>;
  FakeAgent(const std::string& path, std::vector<Session> sessions, uint32_t hello_version = api::VERSION_1)
      : sessions_(std::move(sessions)) {
    listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ok_ = listen_ && ::bind(listen_.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0 &&
          ::listen(listen_.get(), 8) == 0;
    if (!ok_) return;
    thread_ = std::thread([this, hello_version] {
      for (Session& session : sessions_) {
        base::UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) {
          errors_.push_back("fake: accept failed");
          return;
        }
        Conn c{conn.get(), &errors_};
        if (!c.Handshake(hello_version)) continue;
        session(c);
      }
    });
  }
  ~FakeAgent() { Join(/*abandon=*/true); }
  bool ok() const { return ok_; }
  // Waits for every session to end (shutting the listening socket down
  // first when `abandon`: a session still waiting to accept gives up).
  const std::vector<std::string>& Join(bool abandon = false) {
    if (abandon) ::shutdown(listen_.get(), SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    return errors_;
  }

 private:
  std::vector<Session> sessions_;
  base::UniqueFd listen_;
  bool ok_ = false;
  std::thread thread_;
  std::vector<std::string> errors_;
};

AgentClientOptions Options(const TempDir& dir) {
  AgentClientOptions o;
  o.socket_path = dir.Join("agent.sock");
  o.reconnect_delay_ms = 1;
  o.reconnect_attempts = 5;
  o.request_timeout_ms = 60'000;
  return o;
}

RunArguments Args(const std::vector<std::string>& args) {
  Result<RunArguments> parsed = ParseRunArguments(args);
  INFO(parsed.status().message());
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  int access = -1;  // O_ACCMODE of the fd's flags
  bool is_dir = false;
  bool operator==(const FileId&) const = default;
};

FileId IdOfPath(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return FileId{st.st_dev, st.st_ino, O_RDONLY, S_ISDIR(st.st_mode)};
}

TEST_CASE("agent client: submit converts run's options and passes bind sources and stdin as fds",
          "[agent][client]") {
  TempDir dir;
  const std::string src = dir.Join("src");
  const std::string file = dir.Join("data.txt");
  const std::string input = dir.Join("in.txt");
  REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  testing::WriteText(file, "data");
  testing::WriteText(input, "input");

  api::JobSpec got;
  std::vector<FileId> fd_ids;
  FakeAgent fake(dir.Join("agent.sock"), {[&](Conn& c) {
                   api::Request req;
                   std::vector<base::UniqueFd> fds;
                   if (!c.Read(&req, &fds)) return;
                   got = req.submit().spec();
                   for (const base::UniqueFd& fd : fds) {
                     struct stat st;
                     FileId id;
                     if (::fstat(fd.get(), &st) == 0) {
                       id = FileId{st.st_dev, st.st_ino, ::fcntl(fd.get(), F_GETFL) & O_ACCMODE,
                                   S_ISDIR(st.st_mode)};
                     }
                     fd_ids.push_back(id);
                   }
                   c.Answer(req, [](api::Reply* r) {
                     r->mutable_submit()->set_job_id("job-7");
                     r->mutable_submit()->set_existing(true);
                   });
                 }});
  REQUIRE(fake.ok());
  const int fds_before = testing::CountOpenFds();
  {
    auto client = AgentClient::Connect(Options(dir));
    INFO(client.status().message());
    REQUIRE(client.ok());
    CHECK((*client)->agent_pid() == 4242);
    CHECK((*client)->agent_version() == "0.1.0");
    SubmitOptions opts;
    opts.idempotency_key = "build-1";
    opts.labels = {{"pipeline", "main"}, {"step", "test"}};
    opts.priority = 5;
    opts.output_max_bytes = 4096;
    RunArguments args = Args({"--ro-bind", src, "/src", "--bind", file, "/data.txt", "--stdin", input,
                              "--policy", "python", "--env", "A=1", "--timeout", "30s", "--net",
                              "none", "--chdir", "/src", "--uid", "1000", "--gid", "1001",
                              "--hostname", "build", "--memory", "512M", "--pids", "64", "--cpus",
                              "1.5", "--tmp-size", "128M", "--", "/bin/echo", "hi"});
    Result<AgentSubmission> sub = (*client)->Submit(args, opts);
    INFO(sub.status().message());
    REQUIRE(sub.ok());
    CHECK(sub->job_id == "job-7");
    CHECK(sub->existing);
  }
  REQUIRE(fake.Join().empty());
  CHECK(testing::CountOpenFds() == fds_before);  // the client's fds are closed

  CHECK(std::vector<std::string>(got.argv().begin(), got.argv().end()) ==
        std::vector<std::string>{"/bin/echo", "hi"});
  CHECK(got.policy() == "python");
  CHECK(got.env().at("A") == "1");
  REQUIRE(got.binds_size() == 2);
  CHECK(got.binds(0).source() == src);
  CHECK(got.binds(0).destination() == "/src");
  CHECK_FALSE(got.binds(0).writable());
  CHECK(got.binds(0).fd_index() == 0);
  CHECK(got.binds(1).source() == file);
  CHECK(got.binds(1).writable());
  CHECK(got.binds(1).fd_index() == 1);
  CHECK(got.stdin_file() == input);
  CHECK(got.stdin_fd_index() == 2);
  CHECK(got.net() == "none");
  CHECK(got.timeout_ms() == 30'000);
  CHECK(got.output_max_bytes() == 4096);
  CHECK(got.cwd().value() == "/src");
  CHECK(got.uid().value() == 1000);
  CHECK(got.gid().value() == 1001);
  CHECK(got.hostname().value() == "build");
  CHECK(got.memory_bytes().value() == 512ull << 20);
  CHECK(got.pids().value() == 64);
  CHECK(got.cpus().value() == 1.5);
  CHECK(got.tmp_size_bytes().value() == 128ull << 20);
  CHECK(got.labels().at("pipeline") == "main");
  CHECK(got.labels().at("step") == "test");
  CHECK(got.idempotency_key() == "build-1");
  CHECK(got.priority() == 5);
  CHECK(got.owner_uid() == 0);  // the agent's to fill
  // The fds name the very files, opened read-only (the directory as one),
  // the file of a writable bind for writing: the agent refuses a writable
  // bind whose fd proves no write access.
  REQUIRE(fd_ids.size() == 3);
  CHECK(fd_ids[0] == IdOfPath(src));
  FileId writable_file = IdOfPath(file);
  writable_file.access = O_RDWR;
  CHECK(fd_ids[1] == writable_file);
  CHECK(fd_ids[2] == IdOfPath(input));
}

TEST_CASE("agent client: a FIFO without a writer as --stdin or bind source does not block the client",
          "[agent][client]") {
  TempDir dir;
  const std::string fifo = dir.Join("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::vector<FileId> fd_ids;
  FakeAgent fake(dir.Join("agent.sock"), {[&](Conn& c) {
                   api::Request req;
                   std::vector<base::UniqueFd> fds;
                   if (!c.Read(&req, &fds)) return;
                   for (const base::UniqueFd& fd : fds) {
                     struct stat st;
                     FileId id;
                     if (::fstat(fd.get(), &st) == 0) {
                       id = FileId{st.st_dev, st.st_ino, ::fcntl(fd.get(), F_GETFL) & O_ACCMODE,
                                   S_ISDIR(st.st_mode)};
                     }
                     fd_ids.push_back(id);
                   }
                   c.Answer(req, [](api::Reply* r) { r->mutable_submit()->set_job_id("job-8"); });
                 }});
  REQUIRE(fake.ok());
  {
    auto client = AgentClient::Connect(Options(dir));
    REQUIRE(client.ok());
    Result<AgentSubmission> sub = (*client)->Submit(
        Args({"--bind", fifo, "/fifo", "--stdin", fifo, "--", "/bin/cat"}), {});
    INFO(sub.status().message());
    REQUIRE(sub.ok());
    CHECK(sub->job_id == "job-8");
  }
  REQUIRE(fake.Join().empty());
  REQUIRE(fd_ids.size() == 2);
  FileId rw = IdOfPath(fifo);
  rw.access = O_RDWR;
  CHECK(fd_ids[0] == rw);
  CHECK(fd_ids[1] == IdOfPath(fifo));
}

TEST_CASE("agent client: submit refuses what cannot travel, naming the option", "[agent][client]") {
  TempDir dir;
  // Refusals come before any request: the fake only shakes hands.
  FakeAgent fake(dir.Join("agent.sock"), {[](Conn&) {}});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--pty", "--", "sh"}, "--pty"},
      {{"--output-dir", dir.Join("out"), "--", "sh"}, "--output-dir"},
      {{"--result", dir.Join("r.json"), "--", "sh"}, "--result"},
      {{"--env-pass", "HOME", "--", "sh"}, "--env-pass"},
      {{"--job-id", "x", "--", "sh"}, "--job-id"},
      {{"--cgroup-parent", "ci", "--", "sh"}, "--cgroup-parent"},
      {{"--policy", dir.Join("p.toml"), "--", "sh"}, "--policy FILE"},
      {{"--memory", "none", "--", "sh"}, "--memory none"},
      {{"--timeout", "0", "--", "sh"}, "--timeout 0"},
      {{"--ro-bind", dir.Join("missing"), "/m", "--", "sh"}, "bind source"},
  };
  // A relative --stdin is made absolute (the agent has no working
  // directory of the client's); a directory is refused.
  {
    Result<AgentSubmission> sub = (*client)->Submit(Args({"--stdin", dir.path(), "--", "sh"}), {});
    CHECK(sub.status().message().find("is a directory") != std::string::npos);
  }
  for (const auto& [argv, option] : cases) {
    Result<AgentSubmission> sub = (*client)->Submit(Args(argv), {});
    INFO(option << ": " << sub.status().message());
    REQUIRE_FALSE(sub.ok());
    CHECK(sub.status().message().find(option) != std::string::npos);
  }
  client->reset();
  CHECK(fake.Join().empty());
}

TEST_CASE("agent client: status, wait and the exit contract", "[agent][client]") {
  TempDir dir;
  FakeAgent fake(dir.Join("agent.sock"), {[](Conn& c) {
                   api::Request req;
                   if (!c.Read(&req) || !req.has_status()) return;
                   c.Answer(req, [&](api::Reply* r) {
                     api::JobInfo* j = r->mutable_status()->mutable_job();
                     j->set_job_id(req.status().job_id());
                     j->set_state(api::RUNNING);
                     j->set_owner_uid(1000);
                     (*j->mutable_labels())["k"] = "v";
                     j->add_argv("make");
                     j->set_submit_wall_ns(11);
                     j->set_start_wall_ns(12);
                   });
                   if (!c.Read(&req) || !req.has_wait()) return;
                   // A progress reply, then the end.
                   c.Answer(req, [&](api::Reply* r) { r->mutable_wait()->mutable_job()->set_state(api::RUNNING); },
                            /*end=*/false);
                   c.Answer(req, [&](api::Reply* r) {
                     api::JobInfo* j = r->mutable_wait()->mutable_job();
                     j->set_job_id(req.wait().job_id());
                     j->set_state(api::EXITED);
                     j->set_exit_code(3);
                     j->set_end_wall_ns(13);
                     j->set_result_json("{\"status\":\"nonzero\",\"exit_code\":3}");
                   });
                 }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  Result<AgentJob> job = (*client)->Status("job-1");
  INFO(job.status().message());
  REQUIRE(job.ok());
  CHECK(job->id == "job-1");
  CHECK(job->state == "running");
  CHECK_FALSE(job->ended());
  CHECK(job->owner_uid == 1000);
  CHECK(job->labels.at("k") == "v");
  CHECK(job->argv == std::vector<std::string>{"make"});
  CHECK(job->start_wall_ns == 12);
  Result<AgentJob> done = (*client)->Wait("job-1");
  INFO(done.status().message());
  REQUIRE(done.ok());
  CHECK(done->state == "exited");
  CHECK(done->ended());
  CHECK(AgentExitCode(*done) == 3);
  CHECK(done->result_json.find("nonzero") != std::string::npos);
  client->reset();
  CHECK(fake.Join().empty());

  AgentJob j;
  j.state = "cancelled";
  CHECK(AgentExitCode(j) == 143);
  j.state = "lost";
  CHECK(AgentExitCode(j) == 125);
  j.state = "timeout";
  CHECK(AgentExitCode(j) == 124);
  j.state = "signaled";
  j.exit_code = 137;
  CHECK(AgentExitCode(j) == 137);
  j.state = "oom";
  j.exit_code = 0;
  CHECK(AgentExitCode(j) == 125);  // never success for a job a signal ended
}

TEST_CASE("agent client: the agent's errors become Status codes with its message", "[agent][client]") {
  TempDir dir;
  FakeAgent fake(dir.Join("agent.sock"), {[](Conn& c) {
                   api::Request req;
                   if (!c.Read(&req)) return;
                   c.Fail(req, api::NOT_FOUND, "no job job-9");
                   if (!c.Read(&req)) return;
                   c.Fail(req, api::UNAUTHORIZED, "job-1 is not yours");
                   if (!c.Read(&req)) return;
                   c.Fail(req, api::QUEUE_FULL, "the queue is full (10000 jobs)");
                   if (!c.Read(&req)) return;
                   c.Fail(req, api::NEVER_FITS, "512G is over the memory budget");
                 }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  Result<AgentJob> a = (*client)->Status("job-9");
  CHECK(a.status().code() == Code::kNotFound);
  CHECK(a.status().message() == "no job job-9");
  Status b = (*client)->Kill("job-1", 15);
  CHECK(b.code() == Code::kPermissionDenied);
  CHECK(b.message() == "job-1 is not yours");
  Result<AgentSubmission> c = (*client)->Submit(Args({"--", "true"}), {});
  CHECK(c.status().code() == Code::kResourceExhausted);
  CHECK(c.status().message() == "the queue is full (10000 jobs)");
  Result<AgentStats> d = (*client)->Stats();
  CHECK(d.status().code() == Code::kFailedPrecondition);
  client->reset();
  CHECK(fake.Join().empty());
}

TEST_CASE("agent client: no agent says how to start one", "[agent][client]") {
  TempDir dir;
  const std::string path = dir.Join("agent.sock");
  auto client = AgentClient::Connect(path);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == Code::kUnavailable);
  CHECK(client.status().message() ==
        "no warden agent at " + path +
            " (connect: ENOENT (No such file or directory)); start it with `systemctl start "
            "warden-agent` or `warden agent`");

  // A socket left behind by an agent that is gone: nothing listens.
  base::UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  REQUIRE(::bind(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0);
  client = AgentClient::Connect(path);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().message().find("ECONNREFUSED") != std::string::npos);
  CHECK(client.status().message().find("start it with") != std::string::npos);
}

TEST_CASE("agent client: a socket served by another user is not the agent", "[agent][client]") {
  if (::geteuid() != 0) return;  // needs root to listen as another uid
  TempDir dir;
  const std::string path = dir.Join("agent.sock");
  base::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  REQUIRE(::bind(listener.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0);
  int ready[2];
  REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  base::UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Listens as uid 65534 (the kernel records who called listen()),
    // takes one connection and reports whether any byte came on it.
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0 ||
        ::listen(listener.get(), 1) != 0) {
      ::_exit(2);
    }
    ready_w.reset();
    base::UniqueFd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) ::_exit(3);
    char b;
    ::_exit(::recv(c.get(), &b, 1, 0) == 0 ? 0 : 1);
  }
  ready_w.reset();
  char b;
  REQUIRE(::read(ready_r.get(), &b, 1) == 0);  // the child listens
  listener.reset();
  AgentClientOptions o = Options(dir);
  auto client = AgentClient::Connect(o);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == Code::kPermissionDenied);
  CHECK(client.status().message().find("served by uid 65534") != std::string::npos);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // nothing was sent to it
}

TEST_CASE("agent client: an agent of another protocol version is refused", "[agent][client]") {
  TempDir dir;
  FakeAgent fake(dir.Join("agent.sock"), {[](Conn&) {}}, /*hello_version=*/2);
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == Code::kFailedPrecondition);
  CHECK(client.status().message().find("version 2") != std::string::npos);
  CHECK(fake.Join().empty());
}

TEST_CASE("agent client: a followed log resumes after the connection breaks", "[agent][client]") {
  TempDir dir;
  std::vector<uint64_t> offsets;  // of each logs request
  std::vector<bool> follows;
  auto logs_chunk = [](Conn& c, const api::Request& req, const std::string& data, uint64_t at, bool end) {
    return c.Answer(req, [&](api::Reply* r) {
      r->mutable_logs()->set_data(data);
      r->mutable_logs()->set_offset(at);
    }, end);
  };
  FakeAgent fake(dir.Join("agent.sock"),
                 {[&](Conn& c) {
                    api::Request req;
                    if (!c.Read(&req)) return;
                    offsets.push_back(req.logs().offset());
                    follows.push_back(req.logs().follow());
                    logs_chunk(c, req, "hello ", 0, false);
                    logs_chunk(c, req, "wor", 6, false);
                    // The agent goes away mid-stream (a restart).
                  },
                  [&](Conn& c) {
                    api::Request req;
                    if (!c.Read(&req)) return;
                    offsets.push_back(req.logs().offset());
                    follows.push_back(req.logs().follow());
                    // The restarted agent starts a byte early: that byte is
                    // not given twice.
                    logs_chunk(c, req, "rld\n", 8, false);
                    c.Answer(req, [](api::Reply*) {}, /*end=*/true);
                  }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  std::string out;
  std::vector<uint64_t> chunk_offsets;
  Status st = (*client)->Logs("job-1", /*stderr_stream=*/false, 0, /*follow=*/true,
                              [&](std::string_view data, uint64_t offset) {
                                out += data;
                                chunk_offsets.push_back(offset);
                                return true;
                              });
  INFO(st.message());
  CHECK(st.ok());
  client->reset();
  CHECK(fake.Join().empty());
  CHECK(out == "hello world\n");
  CHECK(chunk_offsets == std::vector<uint64_t>{0, 6, 9});
  CHECK(offsets == std::vector<uint64_t>{0, 9});
  CHECK(follows == std::vector<bool>{true, true});
}

TEST_CASE("agent client: a log without follow does not reconnect", "[agent][client]") {
  TempDir dir;
  FakeAgent fake(dir.Join("agent.sock"), {[](Conn& c) {
                   api::Request req;
                   if (!c.Read(&req)) return;
                   c.Answer(req, [](api::Reply* r) { r->mutable_logs()->set_data("ab"); }, false);
                 }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  std::string out;
  Status st = (*client)->Logs("job-1", true, 0, false, [&](std::string_view d, uint64_t) {
    out += d;
    return true;
  });
  CHECK(st.code() == Code::kUnavailable);
  CHECK(out == "ab");
  client->reset();
  CHECK(fake.Join().empty());
}

TEST_CASE("agent client: list pages through every job and names states", "[agent][client]") {
  TempDir dir;
  std::vector<std::string> tokens;
  std::vector<int> states;
  FakeAgent fake(dir.Join("agent.sock"), {[&](Conn& c) {
                   for (int page = 0; page < 2; ++page) {
                     api::Request req;
                     if (!c.Read(&req)) return;
                     tokens.push_back(req.list().page_token());
                     if (page == 0) {
                       for (int s : req.list().states()) states.push_back(s);
                     }
                     c.Answer(req, [&](api::Reply* r) {
                       r->mutable_list()->add_jobs()->set_job_id("job-" + std::to_string(2 * page));
                       r->mutable_list()->add_jobs()->set_job_id("job-" + std::to_string(2 * page + 1));
                       if (page == 0) r->mutable_list()->set_next_page_token("p2");
                     });
                   }
                 }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  AgentListFilter bad;
  bad.states = {"runing"};
  Result<std::vector<AgentJob>> refused = (*client)->List(bad);
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK(refused.status().message().find("\"runing\"") != std::string::npos);
  AgentListFilter filter;
  filter.states = {"queued", "lost"};
  Result<std::vector<AgentJob>> jobs = (*client)->List(filter);
  INFO(jobs.status().message());
  REQUIRE(jobs.ok());
  REQUIRE(jobs->size() == 4);
  CHECK((*jobs)[3].id == "job-3");
  client->reset();
  CHECK(fake.Join().empty());
  CHECK(tokens == std::vector<std::string>{"", "p2"});
  CHECK(states == std::vector<int>{api::QUEUED, api::LOST});
}

TEST_CASE("agent client: stats carry the recovery report", "[agent][client]") {
  TempDir dir;
  FakeAgent fake(dir.Join("agent.sock"), {[](Conn& c) {
                   api::Request req;
                   if (!c.Read(&req)) return;
                   c.Answer(req, [](api::Reply* r) {
                     api::StatsReply* s = r->mutable_stats();
                     s->set_queued(2);
                     s->set_running(1);
                     s->set_jobs(9);
                     s->set_connections(3);
                     (*s->mutable_counters())["submits"] = 12;
                     api::RecoveryPhase* p = s->mutable_recovery()->add_phases();
                     p->set_name("wal replay");
                     p->set_micros(1500);
                     (*p->mutable_counts())["records"] = 40;
                     s->mutable_recovery()->set_total_micros(2000);
                   });
                 }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  Result<AgentStats> stats = (*client)->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->queued == 2);
  CHECK(stats->running == 1);
  CHECK(stats->jobs == 9);
  CHECK(stats->connections == 3);
  CHECK(stats->counters.at("submits") == 12);
  REQUIRE(stats->recovery.size() == 1);
  CHECK(stats->recovery[0].name == "wal replay");
  CHECK(stats->recovery[0].micros == 1500);
  CHECK(stats->recovery[0].counts.at("records") == 40);
  CHECK(stats->recovery_total_micros == 2000);
  client->reset();
  CHECK(fake.Join().empty());
}

}  // namespace
}  // namespace warden

namespace warden {
namespace {

TEST_CASE("agent client: a wait goes on after the agent restarts", "[agent][client]") {
  TempDir dir;
  std::vector<std::string> waited;
  FakeAgent fake(dir.Join("agent.sock"), {[&](Conn& c) {
                                            api::Request req;
                                            if (!c.Read(&req)) return;
                                            waited.push_back(req.wait().job_id());
                                            // Gone before the job ended.
                                          },
                                          [&](Conn& c) {
                                            api::Request req;
                                            if (!c.Read(&req)) return;
                                            waited.push_back(req.wait().job_id());
                                            c.Answer(req, [](api::Reply* r) {
                                              api::JobInfo* j = r->mutable_wait()->mutable_job();
                                              j->set_job_id("job-2");
                                              j->set_state(api::SIGNALED);
                                              j->set_exit_code(137);
                                            });
                                          }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  Result<AgentJob> job = (*client)->Wait("job-2");
  INFO(job.status().message());
  REQUIRE(job.ok());
  CHECK(job->state == "signaled");
  CHECK(AgentExitCode(*job) == 137);
  client->reset();
  CHECK(fake.Join().empty());
  CHECK(waited == std::vector<std::string>{"job-2", "job-2"});
}

TEST_CASE("agent client: a connection the agent closed for idleness is made again", "[agent][client]") {
  TempDir dir;
  std::promise<void> closed;
  FakeAgent fake(dir.Join("agent.sock"), {[&](Conn& c) {
                                            api::Reply idle;
                                            idle.set_end(true);
                                            idle.mutable_error()->set_code(api::IDLE);
                                            idle.mutable_error()->set_message("idle for 300000 ms");
                                            c.Send(idle);
                                            ::shutdown(c.fd, SHUT_RDWR);
                                            closed.set_value();
                                          },
                                          [&](Conn& c) {
                                            api::Request req;
                                            if (!c.Read(&req)) return;
                                            c.Answer(req, [&](api::Reply* r) {
                                              r->mutable_status()->mutable_job()->set_job_id(req.status().job_id());
                                              r->mutable_status()->mutable_job()->set_state(api::QUEUED);
                                            });
                                          }});
  REQUIRE(fake.ok());
  auto client = AgentClient::Connect(Options(dir));
  REQUIRE(client.ok());
  closed.get_future().wait();  // the agent's side is closed before the next call
  Result<AgentJob> job = (*client)->Status("job-3");
  INFO(job.status().message());
  REQUIRE(job.ok());
  CHECK(job->state == "queued");
  client->reset();
  CHECK(fake.Join().empty());
}

}  // namespace
}  // namespace warden
