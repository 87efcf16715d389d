// Thin RAII layer over libnl-route-3: the handful of rtnetlink operations the
// veth mode needs. Internal to src/net/ (and its tests); no libnl type leaks
// out of this header.
//
// A Socket talks to the netns of the thread that opened it, for its whole
// life, whichever thread later uses it. A Socket is not thread-safe.
#ifndef WARDEN_NET_NETLINK_H_
#define WARDEN_NET_NETLINK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "warden/status.h"

struct nl_sock;

namespace warden::net::nl {

class Socket {
 public:
  static Result<Socket> Open();
  Socket() = default;  // empty; only Open() makes a usable one
  Socket(Socket&&) noexcept;
  Socket& operator=(Socket&&) noexcept;
  ~Socket();
  nl_sock* get() const { return sock_; }

 private:
  explicit Socket(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_ = nullptr;
};

// Creates a veth pair `name` <-> `peer` (both down) in the socket's netns,
// or with the peer directly in peer_netns_fd when it is >= 0 (which spares
// the kernel a namespace move, the costliest link operation).
// `alias` is stored as the host end's ifalias (shown by `ip link`).
Status CreateVeth(const Socket& s, const std::string& name, const std::string& peer,
                  const std::string& alias, int peer_netns_fd = -1);
// kNotFound when there is no such link.
Result<int> LinkIndex(const Socket& s, const std::string& name);
Status SetLinkUp(const Socket& s, const std::string& name);
Status MoveLinkToNetns(const Socket& s, const std::string& name, int netns_fd);
Status AddAddress(const Socket& s, const std::string& ifname, uint32_t address,
                  int prefix_len);
Status AddDefaultRoute(const Socket& s, const std::string& ifname, uint32_t gateway);
// Deletes a link; a link that is already gone is success.
Status DeleteLink(const Socket& s, const std::string& name);

// Whether a link of that name exists in the socket's netns.
Result<bool> LinkExists(const Socket& s, const std::string& name);
Result<std::vector<std::string>> ListLinkNames(const Socket& s);

struct Ipv4Address {
  uint32_t address = 0;  // host byte order
  int prefix_len = 0;
  std::string ifname;
};
Result<std::vector<Ipv4Address>> ListIpv4Addresses(const Socket& s);

// "10.1.2.3" for a host-byte-order address, and back (kInvalidArgument).
std::string FormatIpv4(uint32_t address);
Result<uint32_t> ParseIpv4(const std::string& text);

}  // namespace warden::net::nl

#endif  // WARDEN_NET_NETLINK_H_
