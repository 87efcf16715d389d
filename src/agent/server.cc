// The agent's transport (agent/server.h).
//
// Every connection is a Conn owned by the server's table (shared_ptr); the
// streams handed to the core hold it weakly, so a stream that outlives its
// connection finds it gone and its calls do nothing. Everything runs on the
// loop's thread. Callbacks registered on the loop check the server's `alive_`
// token first: a callback the loop could not cancel (a watch it failed to
// register runs at once) must not touch a destroyed server.
//
// Bounds, so that no client can make the agent allocate without end or
// starve other clients: a frame is at most max_message_bytes (the decoder
// holds at most one frame and one read), at most kMaxFdsPerFrame fds wait
// in a partial frame, at most kMaxInFlight requests per connection, the
// send queue is max_send_queue_bytes, and one wake-up reads or writes at
// most kMaxBytesPerWake before the connection waits its turn again.
#include "agent/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "agent/frame.h"
#include "agent/peer.h"
#include "agent/state_dir.h"
#include "base/clock.h"
#include "base/errno_text.h"
#include "base/file.h"
#include "base/log.h"
#include "base/safe_open.h"

namespace warden::agent {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxBytesPerWake = 256 * 1024;
constexpr int kMaxAcceptsPerWake = 64;
constexpr size_t kMaxInFlight = 1024;
// How long a connection that is being closed after an error reply may take
// to read that reply.
constexpr uint64_t kLingerMs = 5'000;
// After accept4 fails for want of fds, accepting pauses this long instead of
// spinning on a listening socket that stays readable.
constexpr uint64_t kAcceptBackoffMs = 100;

uint64_t NowMs() { return static_cast<uint64_t>(base::MonotonicNs() / 1'000'000); }

api::Reply ErrorReply(uint64_t id, api::ErrorCode code, const std::string& message) {
  api::Reply r;
  r.set_id(id);
  r.set_end(true);
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_message(message);
  return r;
}

// The id of a request that does not parse, when its first bytes hold one:
// a walk over the top-level fields that stops at the first it cannot read.
uint64_t SalvageId(const std::string& m) {
  size_t i = 0;
  auto varint = [&](uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && i < m.size(); shift += 7) {
      const auto b = static_cast<unsigned char>(m[i++]);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  };
  for (int fields = 0; fields < 64 && i < m.size(); fields++) {
    uint64_t tag = 0;
    if (!varint(&tag)) return 0;
    const uint64_t field = tag >> 3;
    uint64_t v = 0;
    switch (tag & 7) {
      case 0:
        if (!varint(&v)) return 0;
        if (field == 1) return v;
        break;
      case 1:
        if (m.size() - i < 8) return 0;
        i += 8;
        break;
      case 2:
        if (!varint(&v) || v > m.size() - i) return 0;
        i += static_cast<size_t>(v);
        break;
      case 5:
        if (m.size() - i < 4) return 0;
        i += 4;
        break;
      default:
        return 0;
    }
  }
  return 0;
}

// A path for `name` in the open directory `dir_fd` that bind and connect
// resolve through the fd, not through the directory's path again.
Result<struct sockaddr_un> AddrAt(int dir_fd, const std::string& name, const std::string& shown) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  const std::string p = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
  if (p.size() >= sizeof addr.sun_path) {
    return Status::Error(Code::kInvalidArgument,
                         "socket path " + shown + ": its name is too long for a Unix socket");
  }
  std::copy(p.begin(), p.end(), addr.sun_path);
  return addr;
}

// Reads and drops what the peer sent and nobody will read, before a close
// after an error reply: a Unix socket closed with unread input makes the
// peer's next read fail with ECONNRESET instead of seeing the reply and the
// end. Fds that came along are closed by the kernel (no control buffer).
void DrainInput(int fd) {
  char buf[4096];
  for (size_t total = 0; total < kMaxBytesPerWake;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    total += static_cast<size_t>(n);
  }
}

class StreamImpl;

struct Conn {
  uint64_t key = 0;
  base::UniqueFd fd;
  std::shared_ptr<const Peer> peer;
  FrameDecoder decoder;
  bool hello_done = false;
  bool closing = false;  // no more reads; the queue drains, then it closes
  bool dead = false;     // closed: in no table, no watch, no timer
  uint64_t last_rx_ms = 0;
  // Fds received and not yet given to a frame, by stream offset, so that a
  // partial frame cannot make the agent hold fds without bound.
  uint64_t rx_bytes = 0;
  uint64_t popped_bytes = 0;
  std::deque<std::pair<uint64_t, size_t>> held_fds;
  // Encoded frames waiting for the socket; `out_off` bytes of the first are
  // written.
  std::deque<std::string> out;
  size_t out_bytes = 0;
  size_t out_off = 0;
  io::WatchId read_watch = 0;
  bool read_armed = false;
  io::WatchId write_watch = 0;
  bool write_armed = false;
  io::TimerId timer = 0;
  bool timer_armed = false;
  uint64_t next_stream = 1;
  std::unordered_map<uint64_t, std::shared_ptr<StreamImpl>> streams;

  explicit Conn(uint32_t max_message_bytes) : decoder(max_message_bytes) {}
};

}  // namespace

struct Server::Impl {
  io::Loop* loop = nullptr;
  ServerOptions options;
  Service* service = nullptr;
  base::UniqueFd dir_fd;
  std::string socket_name;
  dev_t socket_dev = 0;
  ino_t socket_ino = 0;
  base::UniqueFd listen_fd;
  io::WatchId accept_watch = 0;
  bool accept_armed = false;
  io::TimerId accept_timer = 0;
  bool accept_timer_armed = false;
  std::unordered_map<uint64_t, std::shared_ptr<Conn>> conns;
  std::unordered_map<uid_t, uint32_t> per_uid;
  uint64_t next_key = 1;
  ServerCounters counters;
  std::shared_ptr<char> alive = std::make_shared<char>(0);
  // Streams whose connection closed and whose on_close has not run yet.
  std::vector<std::shared_ptr<StreamImpl>> close_pending;
  bool close_posted = false;
  char rbuf[kReadChunk];

  ~Impl();

  template <typename F>
  io::Callback Guard(F f) {
    return [w = std::weak_ptr<char>(alive), f = std::move(f)]() mutable {
      if (w.expired()) return;
      f();
    };
  }

  void ArmAccept();
  void OnAccept();
  void Admit(base::UniqueFd fd);
  void Refuse(int fd, api::ErrorCode code, const std::string& message);
  void StopAccepting();

  void ArmRead(const std::shared_ptr<Conn>& c);
  void ArmWrite(const std::shared_ptr<Conn>& c);
  void ArmTimer(const std::shared_ptr<Conn>& c, uint64_t delay_ms);
  void OnReadable(const std::shared_ptr<Conn>& c);
  void OnWritable(const std::shared_ptr<Conn>& c);
  // Writes queued frames until the socket is full; false on a write error.
  bool WriteOut(const std::shared_ptr<Conn>& c);
  void OnTimer(const std::shared_ptr<Conn>& c);
  void Frames(const std::shared_ptr<Conn>& c);
  void OnFrame(const std::shared_ptr<Conn>& c, const std::string& message,
               std::vector<base::UniqueFd> fds);
  bool Queue(const std::shared_ptr<Conn>& c, const api::Reply& reply);
  void ErrorThenClose(const std::shared_ptr<Conn>& c, uint64_t id, api::ErrorCode code,
                      const std::string& message);
  void StreamDone(const std::shared_ptr<Conn>& c, uint64_t stream_key);
  void Close(const std::shared_ptr<Conn>& c, bool run_callbacks_now);
  void RunClosePending();
};

namespace {

// A request's replies, bound to its connection by a weak pointer.
class StreamImpl final : public Stream, public std::enable_shared_from_this<StreamImpl> {
 public:
  StreamImpl(Server::Impl* server, io::Loop* loop, std::weak_ptr<Conn> conn, uint64_t key,
             uint64_t id, std::shared_ptr<const Peer> peer)
      : server_(server),
        loop_(loop),
        conn_(std::move(conn)),
        key_(key),
        id_(id),
        peer_(std::move(peer)) {}

  bool Send(api::Reply reply) override {
    if (done_ || closed_) return false;
    std::shared_ptr<Conn> c = conn_.lock();
    if (!c || c->dead || c->closing) return false;
    reply.set_id(id_);
    return server_->Queue(c, reply);
  }

  void Finish(api::Reply reply) override {
    if (done_ || closed_) return;
    reply.set_end(true);
    (void)Send(std::move(reply));
    done_ = true;
    std::shared_ptr<Conn> c = conn_.lock();
    if (c && !c->dead) server_->StreamDone(c, key_);
  }

  void Fail(api::ErrorCode code, const std::string& message) override {
    Finish(ErrorReply(id_, code, message));
  }

  bool closed() const override { return closed_; }

  void set_on_close(std::function<void()> cb) override {
    on_close_ = std::move(cb);
    // Set after the close was told (to nobody): tell it now, from the loop.
    if (closed_ && !done_ && !fired_ && !pending_) {
      pending_ = true;
      loop_->Post([w = weak_from_this()] {
        if (std::shared_ptr<StreamImpl> s = w.lock()) s->RunClose();
      });
    }
  }

  const Peer& peer() const override { return *peer_; }

  // The connection closed: closed() turns true now, on_close runs later
  // (RunClose), from the loop.
  void MarkClosed() {
    closed_ = true;
    pending_ = true;
  }
  void RunClose() {
    pending_ = false;
    if (done_ || fired_ || !on_close_) return;
    fired_ = true;
    std::function<void()> cb = std::move(on_close_);
    on_close_ = nullptr;
    cb();
  }

 private:
  Server::Impl* server_;  // valid while conn_ locks to a live Conn
  io::Loop* loop_;
  std::weak_ptr<Conn> conn_;
  uint64_t key_;
  uint64_t id_;
  std::shared_ptr<const Peer> peer_;
  bool done_ = false;
  bool closed_ = false;
  bool fired_ = false;
  bool pending_ = false;  // in the server's close_pending
  std::function<void()> on_close_;
};

}  // namespace

Server::Impl::~Impl() {
  StopAccepting();
  if (accept_timer_armed) loop->CancelTimer(accept_timer);
  // Service outlives the server: the open streams hear of the close now.
  std::vector<std::shared_ptr<Conn>> all;
  for (auto& [k, c] : conns) all.push_back(c);
  for (auto& c : all) Close(c, /*run_callbacks_now=*/false);
  RunClosePending();
}

void Server::Impl::ArmAccept() {
  if (!listen_fd || accept_armed) return;
  accept_armed = true;
  accept_watch = loop->Watch(listen_fd.get(), POLLIN, Guard([this] {
                               accept_armed = false;
                               OnAccept();
                             }));
}

void Server::Impl::OnAccept() {
  if (!listen_fd) return;
  for (int i = 0; i < kMaxAcceptsPerWake; i++) {
    int fd = ::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        WLOG_WARN("", "agent: accept4: " + base::ErrnoText(errno) +
                          "; pausing accepts (raise RLIMIT_NOFILE or lower max_connections)");
        accept_timer_armed = true;
        accept_timer = loop->AddTimer(kAcceptBackoffMs, Guard([this] {
                                        accept_timer_armed = false;
                                        ArmAccept();
                                      }));
        return;
      }
      WLOG_WARN("", "agent: accept4: " + base::ErrnoText(errno));
      break;
    }
    Admit(base::UniqueFd(fd));
  }
  ArmAccept();
}

void Server::Impl::Refuse(int fd, api::ErrorCode code, const std::string& message) {
  counters.refused++;
  // A fresh connection's send buffer is empty: the small reply fits at once.
  const std::string frame = EncodeFrame(ErrorReply(0, code, message).SerializeAsString());
  (void)base::RetryEintr([&] { return ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT); });
  DrainInput(fd);
}

void Server::Impl::Admit(base::UniqueFd fd) {
  Result<Peer> identified = IdentifyPeer(fd.get());
  if (!identified.ok()) {
    WLOG_WARN("", "agent: " + identified.status().ToString());
    counters.refused++;
    return;
  }
  auto peer = std::make_shared<Peer>(std::move(identified).value());
  if (!peer->root() && !(options.has_group && PeerInGroup(*peer, options.group))) {
    std::string m = "uid " + std::to_string(peer->uid) + " is not root";
    if (options.has_group) {
      m += " and not in group " + std::to_string(options.group) +
           "; ask the administrator to add you";
    } else {
      m += "; this agent admits root only";
    }
    WLOG_DEBUG("", "agent: refused pid " + std::to_string(peer->pid) + ": " + m);
    Refuse(fd.get(), api::UNAUTHORIZED, m);
    return;
  }
  if (conns.size() >= options.max_connections) {
    Refuse(fd.get(), api::TOO_MANY_CONNECTIONS,
           "the agent has " + std::to_string(conns.size()) + " connections, its limit "
           "(max_connections = " + std::to_string(options.max_connections) +
           "); try again when others have closed");
    return;
  }
  uint32_t& mine = per_uid[peer->uid];
  if (mine >= options.max_connections_per_uid) {
    if (mine == 0) per_uid.erase(peer->uid);
    Refuse(fd.get(), api::TOO_MANY_CONNECTIONS,
           "uid " + std::to_string(peer->uid) + " has " + std::to_string(mine) +
               " connections, its limit (max_connections_per_uid = " +
               std::to_string(options.max_connections_per_uid) + "); close some first");
    return;
  }
  mine++;
  counters.accepted++;
  auto c = std::make_shared<Conn>(options.max_message_bytes);
  c->key = next_key++;
  c->fd = std::move(fd);
  c->peer = std::move(peer);
  c->last_rx_ms = NowMs();
  conns.emplace(c->key, c);
  ArmRead(c);
  ArmTimer(c, options.idle_timeout_ms);
}

void Server::Impl::StopAccepting() {
  if (accept_armed) loop->CancelWatch(accept_watch);
  accept_armed = false;
  if (!listen_fd) return;
  listen_fd.reset();
  // Unlinked only while it is still the socket this server made: a newer
  // agent may already listen on the path.
  struct stat st;
  if (dir_fd && ::fstatat(dir_fd.get(), socket_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISSOCK(st.st_mode) && st.st_dev == socket_dev && st.st_ino == socket_ino) {
    if (::unlinkat(dir_fd.get(), socket_name.c_str(), 0) != 0) {
      WLOG_WARN("", "agent: unlink(" + options.socket_path + "): " + base::ErrnoText(errno));
    }
  }
}

void Server::Impl::ArmRead(const std::shared_ptr<Conn>& c) {
  if (c->dead || c->closing || c->read_armed) return;
  c->read_armed = true;
  std::weak_ptr<Conn> w = c;
  c->read_watch = loop->Watch(c->fd.get(), POLLIN, Guard([this, w] {
                                std::shared_ptr<Conn> live = w.lock();
                                if (!live || live->dead) return;
                                live->read_armed = false;
                                OnReadable(live);
                              }));
}

void Server::Impl::ArmWrite(const std::shared_ptr<Conn>& c) {
  if (c->dead || c->write_armed) return;
  c->write_armed = true;
  std::weak_ptr<Conn> w = c;
  c->write_watch = loop->Watch(c->fd.get(), POLLOUT, Guard([this, w] {
                                 std::shared_ptr<Conn> live = w.lock();
                                 if (!live || live->dead) return;
                                 live->write_armed = false;
                                 OnWritable(live);
                               }));
}

void Server::Impl::ArmTimer(const std::shared_ptr<Conn>& c, uint64_t delay_ms) {
  if (c->dead) return;
  if (c->timer_armed) loop->CancelTimer(c->timer);
  c->timer_armed = true;
  std::weak_ptr<Conn> w = c;
  c->timer = loop->AddTimer(delay_ms, Guard([this, w] {
                              std::shared_ptr<Conn> live = w.lock();
                              if (!live || live->dead) return;
                              live->timer_armed = false;
                              OnTimer(live);
                            }));
}

void Server::Impl::OnTimer(const std::shared_ptr<Conn>& c) {
  if (c->closing) {
    // The peer did not take its error reply in time.
    Close(c, false);
    return;
  }
  const uint64_t now = NowMs();
  const uint64_t idle_ms = options.idle_timeout_ms;
  if (!c->streams.empty()) {
    ArmTimer(c, idle_ms);
    return;
  }
  if (now - c->last_rx_ms < idle_ms) {
    ArmTimer(c, idle_ms - (now - c->last_rx_ms));
    return;
  }
  ErrorThenClose(c, 0, api::IDLE,
                 "closed after " + std::to_string(idle_ms) +
                     " ms without a request (idle_timeout); connect again");
}

void Server::Impl::OnReadable(const std::shared_ptr<Conn>& c) {
  size_t got = 0;
  while (!c->dead && !c->closing && got < kMaxBytesPerWake) {
    std::vector<base::UniqueFd> fds;
    Result<size_t> n = RecvSome(c->fd.get(), rbuf, sizeof rbuf, &fds);
    if (!n.ok()) {
      if (n.status().code() == Code::kUnavailable) break;  // EAGAIN
      Close(c, false);
      return;
    }
    if (n.value() == 0) {
      // The peer closed (or shut down its side): nobody reads the replies.
      Close(c, false);
      return;
    }
    got += n.value();
    c->last_rx_ms = NowMs();
    // Offset of the read's last byte, as the decoder counts it.
    if (!fds.empty()) c->held_fds.emplace_back(c->rx_bytes + n.value() - 1, fds.size());
    c->rx_bytes += n.value();
    c->decoder.Feed(rbuf, n.value(), std::move(fds));
    Frames(c);
  }
  ArmRead(c);
}

void Server::Impl::Frames(const std::shared_ptr<Conn>& c) {
  while (!c->dead && !c->closing) {
    std::string message;
    std::vector<base::UniqueFd> fds;
    const uint32_t announced = c->decoder.announced();
    switch (c->decoder.Pop(&message, &fds)) {
      case FrameDecoder::Next::kNeedMore: {
        // The fds that wait all belong to the partial frame (earlier ones
        // went with the frames popped): more than a frame may carry will be
        // refused anyway, so stop holding them now.
        size_t held = 0;
        for (const auto& [off, n] : c->held_fds) held += n;
        if (held > kMaxFdsPerFrame) {
          counters.bad_frames++;
          ErrorThenClose(c, 0, api::BAD_REQUEST,
                         "a message carried more than " + std::to_string(kMaxFdsPerFrame) + " fds");
        }
        return;
      }
      case FrameDecoder::Next::kTooLarge:
        counters.bad_frames++;
        ErrorThenClose(c, 0, api::TOO_LARGE,
                       announced == 0
                           ? std::string("a message of 0 bytes (every message has a body)")
                           : "message of " + std::to_string(announced) + " bytes; the limit is " +
                                 std::to_string(options.max_message_bytes) +
                                 " (max_message_bytes)");
        return;
      case FrameDecoder::Next::kTooManyFds:
        counters.bad_frames++;
        ErrorThenClose(c, 0, api::BAD_REQUEST,
                       "a message carried more than " + std::to_string(kMaxFdsPerFrame) + " fds");
        return;
      case FrameDecoder::Next::kFrame: {
        c->popped_bytes += kFrameHeaderBytes + message.size();
        while (!c->held_fds.empty() && c->held_fds.front().first < c->popped_bytes) {
          c->held_fds.pop_front();
        }
        OnFrame(c, message, std::move(fds));
        break;
      }
    }
  }
}

void Server::Impl::OnFrame(const std::shared_ptr<Conn>& c, const std::string& message,
                           std::vector<base::UniqueFd> fds) {
  api::Request req;
  std::string bad;
  uint64_t id = 0;
  bool parsed;
  {
    // protobuf logs to stderr what it refuses (a string that is not UTF-8):
    // a client must not be able to fill the agent's log; the reply says it.
    google::protobuf::LogSilencer quiet;
    parsed = req.ParseFromString(message);
  }
  if (!parsed) {
    // The frame's length was right, so the stream is still in step.
    bad = "the message is not a Request (api.proto); was the client built for another protocol?";
    id = SalvageId(message);
  } else if (req.body_case() == api::Request::BODY_NOT_SET) {
    bad = "an empty or unknown request; this agent speaks protocol version " +
          std::to_string(api::VERSION_1);
    id = req.id();
  }
  if (!bad.empty()) {
    counters.bad_frames++;
    if (!c->hello_done) {
      ErrorThenClose(c, id, api::BAD_REQUEST, bad + "; the first request must be Hello");
    } else {
      Queue(c, ErrorReply(id, api::BAD_REQUEST, bad));
    }
    return;
  }
  counters.requests++;
  if (!c->hello_done) {
    if (req.body_case() != api::Request::kHello) {
      ErrorThenClose(c, req.id(), api::BAD_REQUEST,
                     "the first request must be Hello (the protocol's handshake)");
      return;
    }
    if (req.hello().version() != api::VERSION_1) {
      ErrorThenClose(c, req.id(), api::VERSION_MISMATCH,
                     "the client speaks protocol version " + std::to_string(req.hello().version()) +
                         " and this agent version " + std::to_string(api::VERSION_1) +
                         "; use a client of the same warden release (" WARDEN_VERSION ")");
      return;
    }
    c->hello_done = true;
    api::Reply r;
    r.set_id(req.id());
    r.set_end(true);
    r.mutable_hello()->set_version(api::VERSION_1);
    r.mutable_hello()->set_agent_pid(static_cast<uint32_t>(::getpid()));
    r.mutable_hello()->set_agent_version(WARDEN_VERSION);
    Queue(c, r);
    return;
  }
  if (req.body_case() == api::Request::kHello) {
    Queue(c, ErrorReply(req.id(), api::BAD_REQUEST, "Hello was already done on this connection"));
    return;
  }
  if (std::string why = service->Unavailable(); !why.empty()) {
    Queue(c, ErrorReply(req.id(), api::UNAVAILABLE, why));
    return;
  }
  if (c->streams.size() >= kMaxInFlight) {
    Queue(c, ErrorReply(req.id(), api::BAD_REQUEST,
                        "more than " + std::to_string(kMaxInFlight) +
                            " requests in flight on one connection; wait for their replies"));
    return;
  }
  const uint64_t key = c->next_stream++;
  auto stream = std::make_shared<StreamImpl>(this, loop, c, key, req.id(), c->peer);
  c->streams.emplace(key, stream);
  service->Handle(req, std::move(fds), stream);
}

bool Server::Impl::Queue(const std::shared_ptr<Conn>& c, const api::Reply& reply) {
  if (c->dead) return false;
  std::string frame = EncodeFrame(reply.SerializeAsString());
  if (c->out_bytes + frame.size() > options.max_send_queue_bytes) {
    WLOG_DEBUG("", "agent: closing a connection of uid " + std::to_string(c->peer->uid) +
                       " whose replies are not read (max_send_queue_bytes)");
    Close(c, false);
    return false;
  }
  c->out_bytes += frame.size();
  c->out.push_back(std::move(frame));
  // Straight into the socket when nothing waits before it, so a burst of
  // replies to a reading client is not held in the queue. A failed write
  // leaves the frame queued; the write watch finds the error and closes.
  bool ok = true;
  if (!c->write_armed) ok = WriteOut(c);
  if (!ok || !c->out.empty()) ArmWrite(c);
  return true;
}

bool Server::Impl::WriteOut(const std::shared_ptr<Conn>& c) {
  size_t sent = 0;
  while (!c->out.empty() && sent < kMaxBytesPerWake) {
    const std::string& f = c->out.front();
    const ssize_t n = base::RetryEintr([&] {
      return ::send(c->fd.get(), f.data() + c->out_off, f.size() - c->out_off,
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    });
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    sent += static_cast<size_t>(n);
    c->out_off += static_cast<size_t>(n);
    if (c->out_off == f.size()) {
      c->out_bytes -= f.size();
      c->out_off = 0;
      c->out.pop_front();
    }
  }
  return true;
}

void Server::Impl::OnWritable(const std::shared_ptr<Conn>& c) {
  if (!WriteOut(c)) {
    Close(c, false);
    return;
  }
  if (!c->out.empty()) {
    ArmWrite(c);
  } else if (c->closing) {
    DrainInput(c->fd.get());
    Close(c, false);
  }
}

void Server::Impl::ErrorThenClose(const std::shared_ptr<Conn>& c, uint64_t id,
                                  api::ErrorCode code, const std::string& message) {
  if (c->dead || c->closing) return;
  if (!Queue(c, ErrorReply(id, code, message))) return;
  c->closing = true;
  if (c->read_armed) loop->CancelWatch(c->read_watch);
  c->read_armed = false;
  // The requests in flight end with the connection; their streams stop
  // queueing behind the error.
  for (auto& [k, s] : c->streams) {
    s->MarkClosed();
    close_pending.push_back(s);
  }
  c->streams.clear();
  if (!close_pending.empty() && !close_posted) {
    close_posted = true;
    loop->Post(Guard([this] { RunClosePending(); }));
  }
  ArmTimer(c, kLingerMs);
  // Closes once the queue is written (at once when it already is).
  ArmWrite(c);
}

void Server::Impl::StreamDone(const std::shared_ptr<Conn>& c, uint64_t stream_key) {
  c->streams.erase(stream_key);
  // Idle time counts from the last answer too.
  if (c->streams.empty()) c->last_rx_ms = NowMs();
}

void Server::Impl::Close(const std::shared_ptr<Conn>& c, bool run_callbacks_now) {
  if (c->dead) return;
  c->dead = true;
  if (c->read_armed) loop->CancelWatch(c->read_watch);
  if (c->write_armed) loop->CancelWatch(c->write_watch);
  if (c->timer_armed) loop->CancelTimer(c->timer);
  c->read_armed = c->write_armed = c->timer_armed = false;
  auto it = per_uid.find(c->peer->uid);
  if (it != per_uid.end() && --it->second == 0) per_uid.erase(it);
  for (auto& [k, s] : c->streams) {
    s->MarkClosed();
    close_pending.push_back(s);
  }
  c->streams.clear();
  c->out.clear();
  c->out_bytes = 0;
  conns.erase(c->key);
  // The socket closes with the last reference to c (a caller up the stack
  // may still hold one).
  if (run_callbacks_now) {
    RunClosePending();
  } else if (!close_pending.empty() && !close_posted) {
    close_posted = true;
    loop->Post(Guard([this] { RunClosePending(); }));
  }
}

void Server::Impl::RunClosePending() {
  close_posted = false;
  std::vector<std::shared_ptr<StreamImpl>> run;
  run.swap(close_pending);
  for (auto& s : run) s->RunClose();
}

Result<std::unique_ptr<Server>> Server::Listen(io::Loop* loop, const ServerOptions& options,
                                               Service* service) {
  const std::string& path = options.socket_path;
  const std::string shown = "\"" + path + "\"";
  if (path.empty() || path[0] != '/') {
    return Status::Error(Code::kInvalidArgument, "socket path " + shown + " must be absolute");
  }
  if (options.max_message_bytes == 0 || options.max_connections == 0 ||
      options.max_connections_per_uid == 0 || options.idle_timeout_ms == 0 ||
      options.max_send_queue_bytes == 0) {
    return Status::Error(Code::kInvalidArgument, "server limits must not be 0");
  }
  base::PathParts parts = base::SplitPath(path);
  if (parts.name.empty()) {
    return Status::Error(Code::kInvalidArgument, "socket path " + shown + " names no file");
  }
  auto impl = std::make_unique<Impl>();
  impl->loop = loop;
  impl->options = options;
  impl->service = service;
  impl->socket_name = parts.name;
  // The directory is walked without following symlinks and made when
  // missing; everything below goes through its fd.
  struct stat before;
  const bool dir_existed = ::lstat(parts.dir.c_str(), &before) == 0;
  WARDEN_ASSIGN_OR_RETURN(impl->dir_fd, base::OpenDirNoFollow(parts.dir, /*create=*/true, 0755));
  // A directory made here is 0755 whatever the umask: group members must
  // reach the socket.
  if (!dir_existed && ::fchmod(impl->dir_fd.get(), 0755) != 0) {
    return Status::FromErrno(errno, "chmod(\"" + parts.dir + "\", 0755)");
  }
  struct stat dst;
  if (::fstat(impl->dir_fd.get(), &dst) != 0) {
    return Status::FromErrno(errno, "fstat(\"" + parts.dir + "\")");
  }
  if (dst.st_uid != ::geteuid() || (dst.st_mode & 022) != 0) {
    return Status::Error(Code::kPermissionDenied,
                         "the socket's directory \"" + parts.dir + "\" is owned by uid " +
                             std::to_string(dst.st_uid) + " with mode " +
                             OctalMode(dst.st_mode) + ": another user could replace the socket; make it owned "
                             "by the agent's user and not writable by group or others");
  }
  WARDEN_ASSIGN_OR_RETURN(struct sockaddr_un addr, AddrAt(impl->dir_fd.get(), parts.name, shown));
  const socklen_t addr_len = static_cast<socklen_t>(sizeof addr);

  struct stat st;
  if (::fstatat(impl->dir_fd.get(), parts.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::Error(Code::kFailedPrecondition,
                           "socket path " + shown +
                               " exists and is not a socket; remove it or configure another path");
    }
    base::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!probe) return Status::FromErrno(errno, "socket(AF_UNIX)");
    const int rc = base::RetryEintr([&] {
      return ::connect(probe.get(), reinterpret_cast<const struct sockaddr*>(&addr), addr_len);
    });
    // EAGAIN: the backlog is full, which only a live agent's is.
    if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS) {
      return Status::Error(Code::kFailedPrecondition,
                           "an agent already listens on " + path + "; stop it first");
    }
    // A stale socket of an agent that died.
    if (::unlinkat(impl->dir_fd.get(), parts.name.c_str(), 0) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "unlink(" + shown + ")");
    }
  } else if (errno != ENOENT) {
    return Status::FromErrno(errno, "stat(" + shown + ")");
  }

  impl->listen_fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!impl->listen_fd) return Status::FromErrno(errno, "socket(AF_UNIX)");
  if (::bind(impl->listen_fd.get(), reinterpret_cast<const struct sockaddr*>(&addr), addr_len) != 0) {
    return Status::FromErrno(errno, "bind(" + shown + ")");
  }
  if (::fstatat(impl->dir_fd.get(), parts.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno(errno, "stat(" + shown + ")");
  }
  impl->socket_dev = st.st_dev;
  impl->socket_ino = st.st_ino;
  // Until the mode is set the socket may be more open than configured; the
  // admission check at accept is what keeps strangers out, not the mode.
  if (options.has_group &&
      ::fchownat(impl->dir_fd.get(), parts.name.c_str(), 0, options.group, AT_SYMLINK_NOFOLLOW) != 0) {
    Status s = Status::FromErrno(errno, "chown(" + shown + ", 0:" + std::to_string(options.group) + ")");
    impl->StopAccepting();
    return s;
  }
  if (::fchmodat(impl->dir_fd.get(), parts.name.c_str(), options.socket_mode & 07777, 0) != 0) {
    Status s = Status::FromErrno(errno, "chmod(" + shown + ")");
    impl->StopAccepting();
    return s;
  }
  if (::listen(impl->listen_fd.get(), std::max(1024, SOMAXCONN)) != 0) {
    Status s = Status::FromErrno(errno, "listen(" + shown + ")");
    impl->StopAccepting();
    return s;
  }
  impl->ArmAccept();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() = default;

void Server::StopAccepting() { impl_->StopAccepting(); }

size_t Server::connections() const { return impl_->conns.size(); }

const ServerCounters& Server::counters() const { return impl_->counters; }

}  // namespace warden::agent
