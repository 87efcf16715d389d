// The agent's transport (agent/server.h) on a real loop and socket, with a
// fake Service. The loop runs on the test thread; clients are blocking
// sockets of the same thread (or a forked child), read only once the loop
// has made their reply readable.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/api.pb.h"
#include "agent/frame.h"
#include "agent/peer.h"
#include "agent/server.h"
#include "agent/service.h"
#include "base/fd.h"
#include "io/loop.h"
#include "io/test_backends.h"
#include "test_util.h"

using warden::base::UniqueFd;
namespace agent = warden::agent;
namespace api = warden::agent::api;
namespace io = warden::io;

namespace {

// Records every request; answers Status at once, keeps Wait open until the
// test finishes it, counts on_close calls.
class FakeService : public agent::Service {
 public:
  void Handle(const api::Request& request, std::vector<UniqueFd> fds,
              std::shared_ptr<agent::Stream> stream) override {
    requests.push_back(request);
    fd_counts.push_back(fds.size());
    peers.push_back(stream->peer());
    if (request.has_status()) {
      api::Reply r;
      r.mutable_status()->mutable_job()->set_job_id(request.status().job_id());
      stream->Finish(r);
    } else if (request.has_logs()) {
      // Replies until the server refuses one: the client does not read.
      stream->set_on_close([this] { closes++; });
      api::Reply r;
      r.mutable_logs()->set_data(std::string(64 << 10, 'x'));
      while (stream->Send(r) && sent < 100'000) sent++;
      waits.push_back(stream);
    } else if (request.has_wait()) {
      stream->set_on_close([this] { closes++; });
      waits.push_back(stream);
    } else {
      api::Reply r;
      r.mutable_submit()->set_job_id("j-1");
      stream->Finish(r);
    }
  }
  std::string Unavailable() const override { return unavailable; }

  std::vector<api::Request> requests;
  std::vector<size_t> fd_counts;
  std::vector<agent::Peer> peers;
  std::vector<std::shared_ptr<agent::Stream>> waits;
  int closes = 0;
  int sent = 0;
  std::string unavailable;
};

api::Request Hello(uint64_t id, uint32_t version = api::VERSION_1) {
  api::Request r;
  r.set_id(id);
  r.mutable_hello()->set_version(version);
  r.mutable_hello()->set_client("server_test");
  return r;
}

api::Request StatusReq(uint64_t id, const std::string& job) {
  api::Request r;
  r.set_id(id);
  r.mutable_status()->set_job_id(job);
  return r;
}

api::Request WaitReq(uint64_t id) {
  api::Request r;
  r.set_id(id);
  r.mutable_wait()->set_job_id("j-9");
  return r;
}

UniqueFd Connect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::copy(path.begin(), path.end(), addr.sun_path);
  REQUIRE(::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

void Send(int fd, const api::Request& r, const std::vector<int>& fds = {}) {
  warden::Status st = agent::SendFrame(fd, r.SerializeAsString(), fds);
  REQUIRE(st.ok());
}

void SendRaw(int fd, const std::string& bytes) {
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

// Sends `bytes` with `fds` (SCM_RIGHTS) in one sendmsg.
void SendWithFds(int sock, const std::string& bytes, const std::vector<int>& fds) {
  struct iovec iov = {const_cast<char*>(bytes.data()), bytes.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  REQUIRE(::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

struct Fixture {
  explicit Fixture(io::Loop* l, agent::ServerOptions o = {}) : loop(l), options(std::move(o)) {
    options.socket_path = dir.Join("run/agent.sock");
    auto s = agent::Server::Listen(loop, options, &service);
    REQUIRE(s.ok());
    server = std::move(s).value();
  }

  // Runs the loop until `fd` has something to read (a reply, or the end).
  void WaitReadable(int fd) {
    warden::Status st = loop->RunUntil([&] { return Readable(fd); }, 10'000);
    REQUIRE(st.ok());
  }

  api::Reply Recv(int fd) {
    WaitReadable(fd);
    std::string m;
    auto got = agent::RecvFrame(fd, 64 << 20, &m);
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    REQUIRE(got.value());
    api::Reply r;
    REQUIRE(r.ParseFromString(m));
    return r;
  }

  // The server closed the connection: the next read is the end.
  void RequireClosed(int fd) {
    WaitReadable(fd);
    std::string m;
    auto got = agent::RecvFrame(fd, 64 << 20, &m);
    REQUIRE(got.ok());
    REQUIRE_FALSE(got.value());
  }

  UniqueFd Handshake() {
    UniqueFd c = Connect(options.socket_path);
    Send(c.get(), Hello(1));
    api::Reply r = Recv(c.get());
    REQUIRE(r.id() == 1);
    REQUIRE(r.has_hello());
    REQUIRE_FALSE(r.has_error());
    return c;
  }

  void Settle() {
    for (int i = 0; i < 5; i++) REQUIRE(loop->RunOnce(0).ok());
  }

  warden::testing::TempDir dir;
  io::Loop* loop;
  agent::ServerOptions options;
  FakeService service;
  std::unique_ptr<agent::Server> server;
};

}  // namespace

TEST_CASE("agent server: handshake, requests, streams and their order", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  Fixture f(loop.get());
  struct stat st;
  REQUIRE(::stat(f.options.socket_path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0660);
  REQUIRE(::stat(f.dir.Join("run").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);

  UniqueFd c = Connect(f.options.socket_path);
  Send(c.get(), Hello(5));
  api::Reply hello = f.Recv(c.get());
  CHECK(hello.id() == 5);
  CHECK(hello.end());
  CHECK(hello.hello().version() == api::VERSION_1);
  CHECK(hello.hello().agent_pid() == static_cast<uint32_t>(::getpid()));
  CHECK(hello.hello().agent_version() == WARDEN_VERSION);

  // A Wait stays open while a Status is answered; replies come as produced.
  Send(c.get(), WaitReq(10));
  Send(c.get(), StatusReq(11, "j-2"));
  api::Reply status = f.Recv(c.get());
  CHECK(status.id() == 11);
  CHECK(status.end());
  CHECK(status.status().job().job_id() == "j-2");
  REQUIRE(f.service.waits.size() == 1);
  std::shared_ptr<agent::Stream> wait = f.service.waits[0];
  CHECK(wait->peer().uid == ::getuid());
  CHECK(wait->peer().pid == ::getpid());
  api::Reply part;
  part.mutable_event()->set_job_id("j-9");
  CHECK(wait->Send(part));
  api::Reply done;
  done.mutable_wait()->mutable_job()->set_job_id("j-9");
  wait->Finish(done);
  api::Reply r1 = f.Recv(c.get());
  CHECK(r1.id() == 10);
  CHECK_FALSE(r1.end());
  CHECK(r1.event().job_id() == "j-9");
  api::Reply r2 = f.Recv(c.get());
  CHECK(r2.id() == 10);
  CHECK(r2.end());
  CHECK(r2.wait().job().job_id() == "j-9");
  // Done: later calls do nothing.
  CHECK_FALSE(wait->Send(part));

  // An unavailable service: UNAVAILABLE with its reason, the connection stays.
  f.service.unavailable = "the agent is shutting down";
  Send(c.get(), StatusReq(12, "j-3"));
  api::Reply un = f.Recv(c.get());
  CHECK(un.id() == 12);
  CHECK(un.error().code() == api::UNAVAILABLE);
  CHECK(un.error().message() == "the agent is shutting down");
  f.service.unavailable.clear();
  Send(c.get(), StatusReq(13, "j-4"));
  CHECK(f.Recv(c.get()).status().job().job_id() == "j-4");

  // Stopping to accept keeps the connections that are open.
  f.server->StopAccepting();
  CHECK(::lstat(f.options.socket_path.c_str(), &st) != 0);
  Send(c.get(), StatusReq(14, "j-5"));
  CHECK(f.Recv(c.get()).status().job().job_id() == "j-5");

  CHECK(f.server->connections() == 1);
  CHECK(f.server->counters().accepted == 1);
  CHECK(f.server->counters().requests == 6);
  CHECK(f.service.requests.size() == 4);
}

TEST_CASE("agent server: the handshake is required and versioned", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  Fixture f(loop.get());

  SECTION("wrong version") {
    UniqueFd c = Connect(f.options.socket_path);
    Send(c.get(), Hello(3, 7));
    api::Reply r = f.Recv(c.get());
    CHECK(r.id() == 3);
    CHECK(r.end());
    CHECK(r.error().code() == api::VERSION_MISMATCH);
    CHECK(r.error().message().find("version 7") != std::string::npos);
    f.RequireClosed(c.get());
  }
  SECTION("no hello first") {
    UniqueFd c = Connect(f.options.socket_path);
    Send(c.get(), StatusReq(4, "j-1"));
    api::Reply r = f.Recv(c.get());
    CHECK(r.id() == 4);
    CHECK(r.error().code() == api::BAD_REQUEST);
    CHECK(r.error().message().find("Hello") != std::string::npos);
    f.RequireClosed(c.get());
    CHECK(f.service.requests.empty());
  }
  // Served after all that.
  UniqueFd ok = f.Handshake();
  f.Settle();
  CHECK(f.server->connections() == 1);
}

TEST_CASE("agent server: bad frames", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  agent::ServerOptions o;
  o.max_message_bytes = 1024;
  Fixture f(loop.get(), o);
  UniqueFd c = f.Handshake();

  SECTION("a malformed message: BAD_REQUEST, and the connection still works") {
    // Field 1 (id) = 42, then a field with wire type 7, which no message has.
    SendRaw(c.get(), agent::EncodeFrame(std::string("\x08\x2a\x0f\xff\xff", 5)));
    api::Reply r = f.Recv(c.get());
    CHECK(r.id() == 42);
    CHECK(r.error().code() == api::BAD_REQUEST);
    Send(c.get(), StatusReq(43, "j-5"));
    api::Reply s = f.Recv(c.get());
    CHECK(s.id() == 43);
    CHECK(s.status().job().job_id() == "j-5");
    CHECK(f.server->counters().bad_frames == 1);
  }
  SECTION("a string that is not UTF-8: BAD_REQUEST, the connection stays") {
    // Request{id: 44, status: {job_id: "\xff"}}
    SendRaw(c.get(), agent::EncodeFrame(std::string("\x08\x2c\x22\x03\x0a\x01\xff", 7)));
    api::Reply r = f.Recv(c.get());
    CHECK(r.id() == 44);
    CHECK(r.error().code() == api::BAD_REQUEST);
    Send(c.get(), StatusReq(45, "j-8"));
    CHECK(f.Recv(c.get()).status().job().job_id() == "j-8");
  }
  SECTION("an empty (unknown) body: BAD_REQUEST with its id, the connection stays") {
    api::Request empty;
    empty.set_id(7);
    Send(c.get(), empty);
    api::Reply r = f.Recv(c.get());
    CHECK(r.id() == 7);
    CHECK(r.error().code() == api::BAD_REQUEST);
    Send(c.get(), StatusReq(8, "j-6"));
    CHECK(f.Recv(c.get()).status().job().job_id() == "j-6");
  }
  SECTION("an oversized frame: TOO_LARGE, then closed") {
    SendRaw(c.get(), std::string("\xd0\x07\x00\x00", 4) + std::string(100, 'x'));
    api::Reply r = f.Recv(c.get());
    CHECK(r.id() == 0);
    CHECK(r.error().code() == api::TOO_LARGE);
    CHECK(r.error().message().find("message of 2000 bytes; the limit is 1024") != std::string::npos);
    f.RequireClosed(c.get());
  }
  SECTION("a zero length: TOO_LARGE, then closed") {
    SendRaw(c.get(), std::string(4, '\0'));
    CHECK(f.Recv(c.get()).error().code() == api::TOO_LARGE);
    f.RequireClosed(c.get());
  }
  UniqueFd other = f.Handshake();
  Send(other.get(), StatusReq(9, "j-7"));
  CHECK(f.Recv(other.get()).status().job().job_id() == "j-7");
}

TEST_CASE("agent server: fds sent with a request reach the service", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  Fixture f(loop.get());
  UniqueFd c = f.Handshake();
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  UniqueFd r(p[0]), w(p[1]);
  api::Request submit;
  submit.set_id(20);
  submit.mutable_submit()->mutable_spec()->add_argv("/bin/true");
  Send(c.get(), submit, {r.get(), w.get()});
  api::Reply reply = f.Recv(c.get());
  CHECK(reply.id() == 20);
  CHECK(reply.submit().job_id() == "j-1");
  REQUIRE(f.service.fd_counts.size() == 1);
  CHECK(f.service.fd_counts[0] == 2);
}

TEST_CASE("agent server: a partial frame cannot make the agent hold fds", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  Fixture f(loop.get());
  UniqueFd c = f.Handshake();
  const int before = warden::testing::CountOpenFds();
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  UniqueFd r(p[0]), w(p[1]);
  std::vector<int> fds(agent::kMaxFdsPerFrame, r.get());
  // A frame of 1000 bytes announced, and sent one byte at a time, each
  // with a full load of fds.
  SendWithFds(c.get(), std::string("\xe8\x03\x00\x00", 4), fds);
  SendWithFds(c.get(), "x", fds);
  api::Reply reply = f.Recv(c.get());
  CHECK(reply.error().code() == api::BAD_REQUEST);
  CHECK(reply.error().message().find("fds") != std::string::npos);
  f.RequireClosed(c.get());
  f.Settle();
  // The fds that came went with the connection (the pipe's two are ours).
  CHECK(warden::testing::CountOpenFds() <= before + 2);
}

TEST_CASE("agent server: a client that closes mid-stream closes its streams", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  Fixture f(loop.get());
  UniqueFd c = f.Handshake();
  Send(c.get(), WaitReq(30));
  REQUIRE(f.loop->RunUntil([&] { return f.service.waits.size() == 1; }, 10'000).ok());
  std::shared_ptr<agent::Stream> wait = f.service.waits[0];
  CHECK_FALSE(wait->closed());
  c.reset();
  REQUIRE(f.loop->RunUntil([&] { return f.service.closes == 1; }, 10'000).ok());
  CHECK(wait->closed());
  api::Reply r;
  CHECK_FALSE(wait->Send(r));
  wait->Finish(r);  // a no-op on a dead stream
  wait->Fail(api::INTERNAL, "x");
  f.Settle();
  CHECK(f.service.closes == 1);
  CHECK(f.server->connections() == 0);

  // The server may go before the core lets go of a stream.
  UniqueFd c2 = f.Handshake();
  Send(c2.get(), WaitReq(31));
  REQUIRE(f.loop->RunUntil([&] { return f.service.waits.size() == 2; }, 10'000).ok());
  f.server.reset();
  CHECK(f.service.closes == 2);
  CHECK(f.service.waits[1]->closed());
  CHECK_FALSE(f.service.waits[1]->Send(r));
  struct stat st;
  CHECK(::lstat(f.options.socket_path.c_str(), &st) != 0);
}

TEST_CASE("agent server: a client that does not read is closed at the send queue's bound",
          "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  agent::ServerOptions o;
  o.max_send_queue_bytes = 1 << 20;
  Fixture f(loop.get(), o);
  UniqueFd c = f.Handshake();
  api::Request logs;
  logs.set_id(50);
  logs.mutable_logs()->set_job_id("j-1");
  logs.mutable_logs()->set_follow(true);
  Send(c.get(), logs);
  REQUIRE(f.loop->RunUntil([&] { return f.service.closes == 1; }, 10'000).ok());
  CHECK(f.service.sent > 0);
  CHECK(f.service.sent < 100'000);
  CHECK(f.service.waits[0]->closed());
  CHECK(f.server->connections() == 0);
  // Others are still served.
  UniqueFd other = f.Handshake();
}

TEST_CASE("agent server: idle connections are closed", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  agent::ServerOptions o;
  o.idle_timeout_ms = 50;
  Fixture f(loop.get(), o);
  UniqueFd c = f.Handshake();
  api::Reply r = f.Recv(c.get());
  CHECK(r.error().code() == api::IDLE);
  f.RequireClosed(c.get());
}

TEST_CASE("agent server: the per-uid connection limit", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  agent::ServerOptions o;
  o.max_connections_per_uid = 3;
  o.max_connections = 10;
  Fixture f(loop.get(), o);
  std::vector<UniqueFd> open;
  for (int i = 0; i < 3; i++) open.push_back(f.Handshake());
  UniqueFd extra = Connect(f.options.socket_path);
  Send(extra.get(), Hello(1));
  api::Reply r = f.Recv(extra.get());
  CHECK(r.id() == 0);
  CHECK(r.error().code() == api::TOO_MANY_CONNECTIONS);
  CHECK(r.error().message().find("max_connections_per_uid = 3") != std::string::npos);
  f.RequireClosed(extra.get());
  CHECK(f.server->counters().refused == 1);
  // One goes, another may come.
  open.pop_back();
  f.Settle();
  REQUIRE(f.loop->RunUntil([&] { return f.server->connections() == 2; }, 10'000).ok());
  open.push_back(f.Handshake());
}

namespace {

// Forks a child that drops to uid and gid 65534 with `groups`, connects,
// sends Hello and reads until the agent closes or 64 KiB came; the loop
// serves meanwhile. Returns the first reply.
api::Reply HelloAsNobody(Fixture& f, const std::vector<gid_t>& groups) {
  const std::string hello = agent::EncodeFrame(Hello(1).SerializeAsString());
  const std::string path = f.options.socket_path;
  int p[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == 0);
  UniqueFd rd(p[0]), wr(p[1]);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Only syscalls here: the test process may have threads.
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(65534) != 0 ||
        ::setuid(65534) != 0) {
      _exit(10);
    }
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) _exit(11);
    // The agent may have refused (and closed) already: EPIPE is no failure.
    (void)::send(s, hello.data(), hello.size(), MSG_NOSIGNAL);
    char buf[4096];
    unsigned char head[4] = {};
    ssize_t n;
    size_t total = 0;
    while (total < 65536 && (n = ::read(s, buf, sizeof buf)) > 0) {
      if (::write(wr.get(), buf, static_cast<size_t>(n)) != n) _exit(13);
      for (ssize_t i = 0; i < n && total + static_cast<size_t>(i) < 4; i++) {
        head[total + static_cast<size_t>(i)] = static_cast<unsigned char>(buf[i]);
      }
      total += static_cast<size_t>(n);
      // One reply is enough: an admitted client is not closed on.
      const size_t len = head[0] | head[1] << 8 | head[2] << 16;
      if (total >= 4 && total >= 4 + len) break;
    }
    _exit(0);
  }
  wr.reset();
  int status = -1;
  warden::Status st =
      f.loop->RunUntil([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 10'000);
  if (!st.ok()) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  REQUIRE(st.ok());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  std::string m;
  auto got = agent::RecvFrame(rd.get(), 1 << 20, &m);
  REQUIRE(got.ok());
  REQUIRE(got.value());
  api::Reply r;
  REQUIRE(r.ParseFromString(m));
  return r;
}

}  // namespace

TEST_CASE("agent server: a uid that is neither root nor in the group is refused", "[agent][server]") {
  WARDEN_REQUIRE_ROOT();
  WARDEN_EACH_BACKEND(loop);
  agent::ServerOptions o;
  o.socket_mode = 0666;
  o.has_group = true;
  o.group = 4242;
  Fixture f(loop.get(), o);
  // The child must reach the socket: the test's directory is 0700.
  REQUIRE(::chmod(f.dir.path().c_str(), 0755) == 0);

  api::Reply r = HelloAsNobody(f, {});
  CHECK(r.id() == 0);
  CHECK(r.error().code() == api::UNAUTHORIZED);
  CHECK(r.error().message() ==
        "uid 65534 is not root and not in group 4242; ask the administrator to add you");
  CHECK(f.server->counters().refused == 1);
  CHECK(f.server->connections() == 0);

  // A supplementary group admits.
  api::Reply member = HelloAsNobody(f, {100, 4242});
  CHECK(member.id() == 1);
  CHECK(member.has_hello());
  REQUIRE(f.loop->RunUntil([&] { return f.service.requests.empty() && f.server->connections() == 0; },
                           10'000).ok());
  CHECK(f.server->counters().refused == 1);
  // Root is still served.
  UniqueFd c = f.Handshake();
}

TEST_CASE("agent server: groups from /proc/PID/status", "[agent][server]") {
  using agent::ParseStatusGroups;
  CHECK(ParseStatusGroups("Name:\tx\nGroups:\t4 24 27 4242 \nNSpid:\t1\n") ==
        std::vector<gid_t>{4, 24, 27, 4242});
  CHECK(ParseStatusGroups("Groups:\n").empty());
  CHECK(ParseStatusGroups("Groups:\t1 2").size() == 2);
  CHECK(ParseStatusGroups("Name:\tGroups: 5\n").empty());
  CHECK(ParseStatusGroups("Groups:\t1 x 3\n") == std::vector<gid_t>{1});
  CHECK(ParseStatusGroups("Groups:\t1 4294967295 3\n") == std::vector<gid_t>{1});
  CHECK(ParseStatusGroups("Groups:\t1 99999999999999 3\n") == std::vector<gid_t>{1});
  // Our own process: root, as the tests run.
  int sp[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
  UniqueFd a(sp[0]), b(sp[1]);
  auto peer = agent::IdentifyPeer(a.get());
  REQUIRE(peer.ok());
  CHECK(peer->uid == ::getuid());
  CHECK(peer->gid == ::getgid());
  CHECK(peer->pid == ::getpid());
  agent::Peer p;
  p.gid = 5;
  p.groups = {7, 9};
  CHECK(agent::PeerInGroup(p, 5));
  CHECK(agent::PeerInGroup(p, 9));
  CHECK_FALSE(agent::PeerInGroup(p, 8));
}

TEST_CASE("agent server: listening refuses what is not a stale socket", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  warden::testing::TempDir dir;
  FakeService service;
  agent::ServerOptions o;
  o.socket_path = dir.Join("agent.sock");

  SECTION("a regular file") {
    warden::testing::WriteText(o.socket_path, "x");
    auto s = agent::Server::Listen(loop.get(), o, &service);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message().find("is not a socket") != std::string::npos);
  }
  SECTION("a live agent") {
    auto first = agent::Server::Listen(loop.get(), o, &service);
    REQUIRE(first.ok());
    auto second = agent::Server::Listen(loop.get(), o, &service);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().message() == "an agent already listens on " + o.socket_path + "; stop it first");
    // StopAccepting removes the socket; connections would stay.
    first.value()->StopAccepting();
    struct stat st;
    CHECK(::lstat(o.socket_path.c_str(), &st) != 0);
    auto third = agent::Server::Listen(loop.get(), o, &service);
    CHECK(third.ok());
  }
  SECTION("a stale socket is replaced") {
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::copy(o.socket_path.begin(), o.socket_path.end(), addr.sun_path);
    REQUIRE(::bind(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0);
    s.reset();  // bound, never listened: nobody answers
    auto srv = agent::Server::Listen(loop.get(), o, &service);
    REQUIRE(srv.ok());
  }
  SECTION("a directory others may write to") {
    REQUIRE(::mkdir(dir.Join("open").c_str(), 0755) == 0);
    REQUIRE(::chmod(dir.Join("open").c_str(), 0777) == 0);
    o.socket_path = dir.Join("open/agent.sock");
    auto srv = agent::Server::Listen(loop.get(), o, &service);
    REQUIRE_FALSE(srv.ok());
    CHECK(srv.status().message().find("another user could replace the socket") != std::string::npos);
  }
  SECTION("a symlinked directory") {
    REQUIRE(::mkdir(dir.Join("real").c_str(), 0755) == 0);
    REQUIRE(::symlink(dir.Join("real").c_str(), dir.Join("link").c_str()) == 0);
    o.socket_path = dir.Join("link/agent.sock");
    auto srv = agent::Server::Listen(loop.get(), o, &service);
    REQUIRE_FALSE(srv.ok());
  }
}

TEST_CASE("agent server: 300 clients against max_connections 256", "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  // 300 clients, 256 server ends, a watch each: more than a 1024 fd limit.
  struct rlimit old;
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  struct rlimit want = old;
  if (want.rlim_cur < 4096) want.rlim_cur = std::min<rlim_t>(4096, want.rlim_max);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &want) == 0);
  struct Restore {
    struct rlimit r;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &r); }
  } restore{old};
  if (want.rlim_cur < 2048) WARDEN_SKIP("RLIMIT_NOFILE's hard limit is under 2048");

  agent::ServerOptions o;
  o.max_connections = 256;
  o.max_connections_per_uid = 256;
  Fixture f(loop.get(), o);
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 300; i++) {
    clients.push_back(Connect(f.options.socket_path));
    Send(clients.back().get(), Hello(static_cast<uint64_t>(i + 1)));
  }
  int served = 0, refused = 0;
  for (UniqueFd& c : clients) {
    api::Reply r = f.Recv(c.get());
    if (r.has_hello()) {
      served++;
    } else {
      CHECK(r.error().code() == api::TOO_MANY_CONNECTIONS);
      refused++;
    }
  }
  CHECK(served == 256);
  CHECK(refused == 44);
  CHECK(f.server->connections() == 256);
  CHECK(f.server->counters().refused == 44);
}

TEST_CASE("agent server: fds go to the frame they were sent with, not the one before",
          "[agent][server]") {
  WARDEN_EACH_BACKEND(loop);
  Fixture f(loop.get());
  UniqueFd c = f.Handshake();
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  UniqueFd r(p[0]), w(p[1]);
  // Two requests written before the agent reads: one recvmsg may take the
  // first frame's bytes and the second's with its fds.
  Send(c.get(), StatusReq(30, "j-1"));
  api::Request submit;
  submit.set_id(31);
  submit.mutable_submit()->mutable_spec()->add_argv("/bin/true");
  Send(c.get(), submit, {r.get()});
  CHECK(f.Recv(c.get()).id() == 30);
  CHECK(f.Recv(c.get()).id() == 31);
  REQUIRE(f.service.fd_counts.size() == 2);
  CHECK(f.service.fd_counts[0] == 0);
  CHECK(f.service.fd_counts[1] == 1);
}
