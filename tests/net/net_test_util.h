// Test scaffolding for src/net: throwaway network namespaces standing in for
// the host, the sandbox and a remote server, and small socket probes.
// Everything here is undone by destructors, so a failing REQUIRE leaves no
// namespace, link, process or environment change behind.
#ifndef WARDEN_TESTS_NET_NET_TEST_UTIL_H_
#define WARDEN_TESTS_NET_NET_TEST_UTIL_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "net/net.h"
#include "net/netlink.h"
#include "net/netns.h"
#include "net/nft.h"
#include "test_util.h"
#include "warden/status.h"

// Fails the test case with the status's message unless it is OK.
#define REQUIRE_OK(expr)                              \
  do {                                                \
    ::warden::Status _s = (expr);                     \
    INFO(_s.ToString());                              \
    REQUIRE(_s.ok());                                 \
  } while (0)

namespace warden::net::testing {

// Header-only: the Makefile builds tests/<m>/*_test.cc files only.

// Moves the calling thread into a new, empty netns (with lo up) for the
// scope's life; the destructor moves it back. When nothing else holds the
// fake host, the kernel removes it with every link and table in it.
class FakeHost {
 public:
  FakeHost() {
    Result<base::UniqueFd> cur = OpenCurrentNetns();
    if (!cur.ok()) return;
    saved_ = std::move(cur.value());
    if (::unshare(CLONE_NEWNET) != 0) {
      saved_.reset();
      return;
    }
    Result<nl::Socket> s = nl::Socket::Open();
    ok_ = s.ok() && nl::SetLinkUp(*s, "lo").ok();
  }
  ~FakeHost() {
    if (saved_.valid() && ::setns(saved_.get(), CLONE_NEWNET) != 0) std::abort();
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;
  bool ok() const { return ok_; }

 private:
  base::UniqueFd saved_;
  bool ok_ = false;
};

// What each veth test stands on: a private state directory for leases (the
// default HostConfig's net_state_dir for the object's life) and a fake host
// network namespace.
class VethTestHost {
 public:
  bool ok() const { return host_.ok(); }
  const std::string& state_dir() const { return state_.path(); }

 private:
  warden::testing::TempDir state_;
  warden::testing::ScopedHostConfig dir_{&base::HostConfig::net_state_dir, state_.path()};
  FakeHost host_;
};

// A child process in a new netns of its own, parked until destruction
// (SIGKILL + waitpid). Stands in for a sandboxed job or a remote server.
class NetnsProcess {
 public:
  NetnsProcess() {
    int ready[2], hold[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return;
    if (::pipe2(hold, O_CLOEXEC) != 0) {
      ::close(ready[0]);
      ::close(ready[1]);
      return;
    }
    pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls from here: the test process has threads.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(ready[0]);
      ::close(hold[1]);
      char c = ::unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      if (::write(ready[1], &c, 1) != 1) ::_exit(1);
      while (::read(hold[0], &c, 1) != 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    base::UniqueFd ready_r(ready[0]);
    hold_.reset(hold[1]);
    if (pid < 0) return;
    pid_ = pid;
    char c = 0;
    if (base::RetryEintr([&] { return ::read(ready_r.get(), &c, 1); }) != 1 || c != 'y') return;
    Result<base::UniqueFd> ns = OpenNetnsOfPid(pid_);
    if (ns.ok()) netns_ = std::move(ns.value());
  }
  ~NetnsProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      base::RetryEintr([&] { return ::waitpid(pid_, &status, 0); });
    }
  }
  NetnsProcess(const NetnsProcess&) = delete;
  NetnsProcess& operator=(const NetnsProcess&) = delete;
  bool ok() const { return pid_ > 0 && netns_.valid(); }
  pid_t pid() const { return pid_; }
  int netns() const { return netns_.get(); }

 private:
  pid_t pid_ = -1;
  base::UniqueFd hold_;  // write end: the child waits for EOF
  base::UniqueFd netns_;
};

inline sockaddr_in SockAddr(const std::string& addr, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  return sa;
}

// A socket created inside netns_fd (sockets keep their netns for life).
inline Result<base::UniqueFd> SocketIn(int netns_fd, int type, int protocol = 0) {
  base::UniqueFd fd;
  Status st = RunInNetns(netns_fd, [&]() -> Status {
    fd.reset(::socket(AF_INET, type | SOCK_CLOEXEC, protocol));
    if (!fd) return Status::FromErrno(errno, "socket");
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return fd;
}

inline Result<base::UniqueFd> Bound(int netns_fd, int type, const std::string& addr,
                                    uint16_t port) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, SocketIn(netns_fd, type));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = SockAddr(addr, port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    return Status::FromErrno(errno, "bind(" + addr + ":" + std::to_string(port) + ")");
  }
  return fd;
}

// A TCP listener (backlog 16) or UDP socket bound to addr:port in netns_fd.
inline Result<base::UniqueFd> ListenTcp(int netns_fd, const std::string& addr, uint16_t port) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, Bound(netns_fd, SOCK_STREAM, addr, port));
  if (::listen(fd.get(), 16) != 0) return Status::FromErrno(errno, "listen");
  return fd;
}
inline Result<base::UniqueFd> BindUdp(int netns_fd, const std::string& addr, uint16_t port) {
  return Bound(netns_fd, SOCK_DGRAM, addr, port);
}

inline bool WaitFor(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return base::RetryEintr([&] { return ::poll(&p, 1, timeout_ms); }) == 1 &&
         (p.revents & events) != 0;
}

// True when a TCP connection from netns_fd to addr:port completes in time.
inline bool TcpConnects(int netns_fd, const std::string& addr, uint16_t port,
                        int timeout_ms = 1000) {
  Result<base::UniqueFd> fd = SocketIn(netns_fd, SOCK_STREAM | SOCK_NONBLOCK);
  if (!fd.ok()) return false;
  sockaddr_in sa = SockAddr(addr, port);
  if (::connect(fd->get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return true;
  if (errno != EINPROGRESS) return false;
  if (!WaitFor(fd->get(), POLLOUT, timeout_ms)) return false;
  int err = 0;
  socklen_t len = sizeof err;
  return ::getsockopt(fd->get(), SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

// Sends a datagram from netns_fd to addr:port, where `server` (bound there)
// must receive it and answer; true when the answer comes back.
inline bool UdpRoundTrip(int netns_fd, int server, const std::string& addr, uint16_t port,
                         int timeout_ms = 1000) {
  Result<base::UniqueFd> fd = SocketIn(netns_fd, SOCK_DGRAM);
  if (!fd.ok()) return false;
  sockaddr_in sa = SockAddr(addr, port);
  const char ping[] = "ping";
  if (::sendto(fd->get(), ping, sizeof ping, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    return false;
  }
  if (!WaitFor(server, POLLIN, timeout_ms)) return false;
  char buf[64];
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  if (::recvfrom(server, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                 &from_len) < 0) {
    return false;
  }
  if (::sendto(server, "pong", 4, 0, reinterpret_cast<sockaddr*>(&from), from_len) < 0) {
    return false;
  }
  if (!WaitFor(fd->get(), POLLIN, timeout_ms)) return false;
  return ::recv(fd->get(), buf, sizeof buf, MSG_DONTWAIT) == 4;
}

// ICMP echo from netns_fd to addr; true when a reply arrives.
inline bool Pings(int netns_fd, const std::string& addr, int timeout_ms = 500) {
  Result<base::UniqueFd> fd = SocketIn(netns_fd, SOCK_RAW, IPPROTO_ICMP);
  if (!fd.ok()) return false;
  struct {
    uint8_t type = 8, code = 0;
    uint16_t sum = 0, id = htons(0x5744), seq = htons(1);
  } echo;
  // ICMP checksum over the 8-byte header.
  const auto* w = reinterpret_cast<const uint16_t*>(&echo);
  uint32_t sum = 0;
  for (int i = 0; i < 4; ++i) sum += w[i];
  sum = (sum & 0xffff) + (sum >> 16);
  echo.sum = static_cast<uint16_t>(~sum);
  sockaddr_in sa = SockAddr(addr, 0);
  if (::sendto(fd->get(), &echo, sizeof echo, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) <
      0) {
    return false;
  }
  // Raw sockets see every ICMP packet; look for an echo reply from addr.
  for (int i = 0; i < 8; ++i) {
    if (!WaitFor(fd->get(), POLLIN, timeout_ms)) return false;
    uint8_t buf[128];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd->get(), buf, sizeof buf, MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from), &len);
    if (n >= 28 && from.sin_addr.s_addr == sa.sin_addr.s_addr && buf[(buf[0] & 0xf) * 4] == 0) {
      return true;
    }
  }
  return false;
}

// Links in the calling thread's netns whose names are warden's (wd<hex>).
inline std::vector<std::string> WardenLinks() {
  std::vector<std::string> out;
  Result<nl::Socket> s = nl::Socket::Open();
  if (!s.ok()) return {"<netlink error>"};
  Result<std::vector<std::string>> names = nl::ListLinkNames(*s);
  if (!names.ok()) return {"<netlink error>"};
  for (const std::string& n : *names) {
    if (n.rfind("wd", 0) == 0 || n.rfind("warden", 0) == 0) out.push_back(n);
  }
  return out;
}

// Files in dir (not . and ..); empty when dir does not exist.
inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// nft tables in the calling thread's netns, one "table FAMILY NAME" line
// each (as `nft list tables` prints them).
inline std::string NftTables() {
  std::string out;
  for (NftFamily f : {NftFamily::kIp, NftFamily::kInet}) {
    Result<std::vector<std::string>> names = NftListTables(f);
    if (!names.ok()) return "<nft error: " + names.status().ToString() + ">";
    for (const std::string& n : *names) out += "table " + std::string(NftFamilyName(f)) + " " + n + "\n";
  }
  return out;
}

// NftTables() without the shared NAT table, which outlives jobs by design
// (net/nat.h): what is left is what one job made.
inline std::string NftTablesOfJobs() {
  std::string all = NftTables();
  const std::string shared = "table ip warden_nat\n";
  size_t at = all.find(shared);
  if (at != std::string::npos) all.erase(at, shared.size());
  return all;
}

// VethSession::Prepare, Gc and DoctorChecks with the process's default
// HostConfig (whose lease directory a VethTestHost points at its own).
inline Result<std::unique_ptr<VethSession>> PrepareVeth(const NetworkSpec& spec,
                                                        const std::string& job_id) {
  return VethSession::Prepare(spec, job_id, warden::testing::HostConfig());
}
inline Status GcNet(std::vector<std::string>* removed) {
  return Gc(warden::testing::HostConfig(), removed);
}

}  // namespace warden::net::testing

#endif  // WARDEN_TESTS_NET_NET_TEST_UTIL_H_
