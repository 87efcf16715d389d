// The agent's transport: a Unix stream socket on the agent's loop. It
// accepts connections, identifies each peer (SO_PEERCRED and its groups),
// admits root and members of the configured group, enforces the limits
// (message size, connections in all and per uid, idle time, a bounded send
// queue per connection), does the handshake, decodes frames (agent/frame.h)
// into api::Request and hands them to a Service. Every refusal is an error
// reply sent before the connection is closed; a malformed frame never
// crashes or blocks the agent, and other clients are served meanwhile.
#ifndef WARDEN_AGENT_SERVER_H_
#define WARDEN_AGENT_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "agent/service.h"
#include "io/loop.h"
#include "warden/status.h"

namespace warden::agent {

struct ServerOptions {
  std::string socket_path;
  uint32_t socket_mode = 0660;
  bool has_group = false;  // members of `group` may connect besides root
  gid_t group = 0;
  uint32_t max_message_bytes = 1u << 20;
  uint32_t max_connections = 256;
  uint32_t max_connections_per_uid = 32;
  uint64_t idle_timeout_ms = 300'000;  // no request and nothing in flight
  size_t max_send_queue_bytes = 16u << 20;
};

struct ServerCounters {
  uint64_t accepted = 0;
  uint64_t refused = 0;        // limits, unauthorized
  uint64_t bad_frames = 0;
  uint64_t requests = 0;
};

class Server {
 public:
  // Makes the socket's directory (0755) when missing, refuses to replace a
  // path that is not a socket or on which an agent answers, binds with the
  // mode and group, and listens.
  static Result<std::unique_ptr<Server>> Listen(io::Loop* loop, const ServerOptions& options,
                                                Service* service);
  ~Server();  // closes everything and unlinks the socket path
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // SIGTERM: stop accepting (the listening socket is closed and unlinked);
  // connections stay until their requests in flight are answered.
  void StopAccepting();
  size_t connections() const;
  const ServerCounters& counters() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden::agent

#endif  // WARDEN_AGENT_SERVER_H_
