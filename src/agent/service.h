// The seam between the agent's transport (agent/server.h: sockets, frames,
// peers, limits) and its job core (agent/core.h: the job table, the WAL,
// the scheduler, the monitors). The server decodes a Request, checks
// nothing but framing, the handshake and its connection limits, and hands
// the request to Service::Handle with a Stream to answer on. Everything
// about jobs (authorization included) is the core's.
//
// Threading: both sides live on the agent's one loop thread.
#ifndef WARDEN_AGENT_SERVICE_H_
#define WARDEN_AGENT_SERVICE_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/api.pb.h"
#include "base/fd.h"

namespace warden::agent {

// Who is on the other end of a connection (SO_PEERCRED, and the peer's
// supplementary groups from /proc/PID/status at accept).
struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  std::vector<gid_t> groups;
  bool root() const { return uid == 0; }
};

// The replies to one request. Send may be called any number of times until
// Finish (or an error); a streaming request ends with Finish. When the
// client goes away, closed() turns true and on_close runs once: the core
// stops its work for the request (a Wait, a following Logs, Events).
// A Stream is owned by the server and stays valid until on_close has run
// or Finish/Fail was called, whichever comes last; the core holds it by
// shared_ptr.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues one reply (its id is set by the stream). Returns false when the
  // connection is gone or its send queue is over its bound (the server then
  // closes it: a client that does not read cannot make the agent buffer
  // without end).
  virtual bool Send(api::Reply reply) = 0;
  // Sends `reply` with end set; the request is done.
  virtual void Finish(api::Reply reply) = 0;
  // Sends an error reply (end set); the request is done.
  virtual void Fail(api::ErrorCode code, const std::string& message) = 0;
  virtual bool closed() const = 0;
  // Runs once when the connection closes before the request is done.
  virtual void set_on_close(std::function<void()> cb) = 0;
  virtual const Peer& peer() const = 0;
};

class Service {
 public:
  virtual ~Service() = default;
  // Every request after the handshake: Submit, Status, List, Wait, Kill,
  // Logs, Events, Stats. `fds` are those that came with the frame (bind
  // sources, stdin), owned by the callee. Must not block: durable work
  // answers from a WAL callback.
  virtual void Handle(const api::Request& request, std::vector<base::UniqueFd> fds,
                      std::shared_ptr<Stream> stream) = 0;
  // Whether new work is refused (shutting down, log failed): the server
  // answers UNAVAILABLE with this message when non-empty.
  virtual std::string Unavailable() const = 0;
};

}  // namespace warden::agent

#endif  // WARDEN_AGENT_SERVICE_H_
