#include "net/netlink.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/c_ptr.h"

namespace warden::net::nl {
namespace {

using LinkPtr = base::CPtr<rtnl_link, rtnl_link_put>;
using AddrPtr = base::CPtr<rtnl_addr, rtnl_addr_put>;
using NlAddrPtr = base::CPtr<nl_addr, nl_addr_put>;
using RoutePtr = base::CPtr<rtnl_route, rtnl_route_put>;
using CachePtr = base::CPtr<nl_cache, nl_cache_free>;

// libnl reports its own error numbers; map the ones with an errno meaning so
// that Status codes (and callers' checks for kNotFound) stay uniform.
Status NlError(int nl_err, const std::string& what) {
  int e = nl_err < 0 ? -nl_err : nl_err;
  int err = 0;
  switch (e) {
    case NLE_EXIST: err = EEXIST; break;
    case NLE_PERM: case NLE_NOACCESS: err = EPERM; break;
    case NLE_NODEV: err = ENODEV; break;
    case NLE_OBJ_NOTFOUND: err = ENOENT; break;
    case NLE_OPNOTSUPP: case NLE_AF_NOSUPPORT: err = EOPNOTSUPP; break;
    case NLE_NOMEM: err = ENOMEM; break;
    case NLE_INVAL: err = EINVAL; break;
    case NLE_BUSY: err = EBUSY; break;
    case NLE_AGAIN: err = EAGAIN; break;
    case NLE_RANGE: err = ERANGE; break;
    case NLE_NOADDR: err = EADDRNOTAVAIL; break;
    default: break;
  }
  if (err != 0) return Status::FromErrno(err, what);
  return Status::Error(Code::kIoError, what + ": " + nl_geterror(e));
}

bool IsGone(int nl_err) {
  int e = nl_err < 0 ? -nl_err : nl_err;
  return e == NLE_OBJ_NOTFOUND || e == NLE_NODEV;
}

Result<LinkPtr> GetLink(const Socket& s, const std::string& name) {
  rtnl_link* link = nullptr;
  int r = rtnl_link_get_kernel(s.get(), 0, name.c_str(), &link);
  if (r < 0) return NlError(r, "rtnl_link_get_kernel(\"" + name + "\")");
  return LinkPtr(link);
}

Result<NlAddrPtr> BuildIpv4(uint32_t address, int prefix_len) {
  uint32_t be = htonl(address);
  nl_addr* a = nl_addr_build(AF_INET, &be, sizeof be);
  if (a == nullptr) return Status::FromErrno(ENOMEM, "nl_addr_build");
  nl_addr_set_prefixlen(a, prefix_len);
  return NlAddrPtr(a);
}

Status ChangeLink(const Socket& s, const std::string& name, rtnl_link* change,
                  const std::string& what) {
  WARDEN_ASSIGN_OR_RETURN(LinkPtr orig, GetLink(s, name));
  int r = rtnl_link_change(s.get(), orig.get(), change, 0);
  if (r < 0) return NlError(r, what);
  return Status::Ok();
}

}  // namespace

Result<Socket> Socket::Open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return Status::FromErrno(ENOMEM, "nl_socket_alloc");
  Socket s(sock);
  int r = nl_connect(sock, NETLINK_ROUTE);
  if (r < 0) return NlError(r, "nl_connect(NETLINK_ROUTE)");
  return s;
}

Socket::Socket(Socket&& o) noexcept : sock_(std::exchange(o.sock_, nullptr)) {}
Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (sock_ != nullptr) nl_socket_free(sock_);
    sock_ = std::exchange(o.sock_, nullptr);
  }
  return *this;
}
Socket::~Socket() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

Status CreateVeth(const Socket& s, const std::string& name, const std::string& peer,
                  const std::string& alias, int peer_netns_fd) {
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return Status::FromErrno(ENOMEM, "rtnl_link_veth_alloc");
  rtnl_link_set_name(link.get(), name.c_str());
  LinkPtr peer_link(rtnl_link_veth_get_peer(link.get()));
  rtnl_link_set_name(peer_link.get(), peer.c_str());
  if (peer_netns_fd >= 0) rtnl_link_set_ns_fd(peer_link.get(), peer_netns_fd);
  int r = rtnl_link_add(s.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (r < 0) return NlError(r, "rtnl_link_add(veth \"" + name + "\" <-> \"" + peer + "\")");
  if (alias.empty()) return Status::Ok();
  // The kernel ignores IFLA_IFALIAS in a request that creates a link (seen
  // on 6.18): the alias, which names the job and owner, is set by a change.
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Status::FromErrno(ENOMEM, "rtnl_link_alloc");
  rtnl_link_set_ifalias(change.get(), alias.c_str());
  return ChangeLink(s, name, change.get(), "rtnl_link_change(\"" + name + "\", alias)");
}

Result<int> LinkIndex(const Socket& s, const std::string& name) {
  WARDEN_ASSIGN_OR_RETURN(LinkPtr link, GetLink(s, name));
  return rtnl_link_get_ifindex(link.get());
}

Status SetLinkUp(const Socket& s, const std::string& name) {
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Status::FromErrno(ENOMEM, "rtnl_link_alloc");
  rtnl_link_set_flags(change.get(), IFF_UP);
  return ChangeLink(s, name, change.get(), "rtnl_link_change(\"" + name + "\", up)");
}

Status MoveLinkToNetns(const Socket& s, const std::string& name, int netns_fd) {
  LinkPtr change(rtnl_link_alloc());
  if (!change) return Status::FromErrno(ENOMEM, "rtnl_link_alloc");
  rtnl_link_set_ns_fd(change.get(), netns_fd);
  return ChangeLink(s, name, change.get(), "rtnl_link_change(\"" + name + "\", netns)");
}

Status AddAddress(const Socket& s, const std::string& ifname, uint32_t address,
                  int prefix_len) {
  WARDEN_ASSIGN_OR_RETURN(int ifindex, LinkIndex(s, ifname));
  WARDEN_ASSIGN_OR_RETURN(NlAddrPtr local, BuildIpv4(address, prefix_len));
  AddrPtr addr(rtnl_addr_alloc());
  if (!addr) return Status::FromErrno(ENOMEM, "rtnl_addr_alloc");
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), AF_INET);
  int r = rtnl_addr_set_local(addr.get(), local.get());
  if (r < 0) return NlError(r, "rtnl_addr_set_local");
  rtnl_addr_set_prefixlen(addr.get(), prefix_len);
  r = rtnl_addr_add(s.get(), addr.get(), 0);
  std::string what = "rtnl_addr_add(\"" + ifname + "\", " + FormatIpv4(address) + "/" +
                     std::to_string(prefix_len) + ")";
  if (r < 0) return NlError(r, what);
  return Status::Ok();
}

Status AddDefaultRoute(const Socket& s, const std::string& ifname, uint32_t gateway) {
  WARDEN_ASSIGN_OR_RETURN(int ifindex, LinkIndex(s, ifname));
  WARDEN_ASSIGN_OR_RETURN(NlAddrPtr dst, BuildIpv4(0, 0));
  WARDEN_ASSIGN_OR_RETURN(NlAddrPtr gw, BuildIpv4(gateway, 32));
  RoutePtr route(rtnl_route_alloc());
  if (!route) return Status::FromErrno(ENOMEM, "rtnl_route_alloc");
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  int r = rtnl_route_set_dst(route.get(), dst.get());
  if (r < 0) return NlError(r, "rtnl_route_set_dst");
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (nh == nullptr) return Status::FromErrno(ENOMEM, "rtnl_route_nh_alloc");
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh from here
  r = rtnl_route_add(s.get(), route.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (r < 0) {
    return NlError(r, "rtnl_route_add(default via " + FormatIpv4(gateway) + " dev \"" +
                          ifname + "\")");
  }
  return Status::Ok();
}

Status DeleteLink(const Socket& s, const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  if (!link) return Status::FromErrno(ENOMEM, "rtnl_link_alloc");
  rtnl_link_set_name(link.get(), name.c_str());
  int r = rtnl_link_delete(s.get(), link.get());
  if (r < 0 && !IsGone(r)) return NlError(r, "rtnl_link_delete(\"" + name + "\")");
  return Status::Ok();
}

Result<bool> LinkExists(const Socket& s, const std::string& name) {
  rtnl_link* raw = nullptr;
  int r = rtnl_link_get_kernel(s.get(), 0, name.c_str(), &raw);
  LinkPtr link(raw);
  if (r < 0) {
    if (IsGone(r)) return false;
    return NlError(r, "rtnl_link_get_kernel(\"" + name + "\")");
  }
  return true;
}

Result<std::vector<std::string>> ListLinkNames(const Socket& s) {
  nl_cache* raw = nullptr;
  int r = rtnl_link_alloc_cache(s.get(), AF_UNSPEC, &raw);
  if (r < 0) return NlError(r, "rtnl_link_alloc_cache");
  CachePtr cache(raw);
  std::vector<std::string> names;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    const char* n = rtnl_link_get_name(reinterpret_cast<rtnl_link*>(o));
    if (n != nullptr) names.emplace_back(n);
  }
  return names;
}

Result<std::vector<Ipv4Address>> ListIpv4Addresses(const Socket& s) {
  nl_cache* raw = nullptr;
  int r = rtnl_addr_alloc_cache(s.get(), &raw);
  if (r < 0) return NlError(r, "rtnl_addr_alloc_cache");
  CachePtr addrs(raw);
  raw = nullptr;
  r = rtnl_link_alloc_cache(s.get(), AF_UNSPEC, &raw);
  if (r < 0) return NlError(r, "rtnl_link_alloc_cache");
  CachePtr links(raw);
  std::vector<Ipv4Address> out;
  for (nl_object* o = nl_cache_get_first(addrs.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_family(a) != AF_INET) continue;
    nl_addr* local = rtnl_addr_get_local(a);
    if (local == nullptr || nl_addr_get_len(local) != 4) continue;
    uint32_t be = 0;
    std::memcpy(&be, nl_addr_get_binary_addr(local), 4);
    Ipv4Address item;
    item.address = ntohl(be);
    item.prefix_len = rtnl_addr_get_prefixlen(a);
    char name[IF_NAMESIZE + 1] = {};
    if (rtnl_link_i2name(links.get(), rtnl_addr_get_ifindex(a), name, sizeof name) != nullptr) {
      item.ifname = name;
    }
    out.push_back(std::move(item));
  }
  return out;
}

std::string FormatIpv4(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

Result<uint32_t> ParseIpv4(const std::string& text) {
  in_addr a{};
  if (text.size() > 15 || inet_pton(AF_INET, text.c_str(), &a) != 1) {
    return Status::Error(Code::kInvalidArgument, "\"" + text + "\" is not an IPv4 address");
  }
  return ntohl(a.s_addr);
}

}  // namespace warden::net::nl
