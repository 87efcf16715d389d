// Peer credentials of the agent's connections (agent/peer.h).
#include "agent/peer.h"

#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <string>

#include "base/file.h"

namespace warden::agent {

namespace {

// /proc/PID/status is small; a Groups line of 65536 gids is under 1 MiB.
constexpr size_t kMaxProcStatusBytes = 1 << 20;

}  // namespace

std::vector<gid_t> ParseStatusGroups(std::string_view s) {
  std::vector<gid_t> groups;
  size_t at;
  if (s.starts_with("Groups:")) {
    at = 0;
  } else {
    at = s.find("\nGroups:");
    if (at == std::string_view::npos) return groups;
    at += 1;
  }
  at += 7;
  size_t end = s.find('\n', at);
  if (end == std::string_view::npos) end = s.size();
  const std::string_view line = s.substr(at, end - at);
  size_t i = 0;
  while (i < line.size() && groups.size() < kMaxPeerGroups) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == line.size()) break;
    uint64_t v = 0;
    size_t digits = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9' && digits < 11) {
      v = v * 10 + static_cast<uint64_t>(line[i++] - '0');
      digits++;
    }
    // (gid_t)-1 is no group: setgroups refuses it.
    if (digits == 0 || v >= 0xffffffffu) break;
    if (i < line.size() && line[i] != ' ' && line[i] != '\t') break;
    groups.push_back(static_cast<gid_t>(v));
  }
  return groups;
}

Result<Peer> IdentifyPeer(int sock) {
  struct ucred cred = {};
  socklen_t len = sizeof cred;
  if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::FromErrno(errno, "getsockopt(SO_PEERCRED)");
  }
  Peer peer;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.pid = cred.pid;
  if (peer.root()) return peer;
  std::vector<gid_t> groups(64);
  for (;;) {
    len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      peer.groups = std::move(groups);
      return peer;
    }
    // ERANGE: len now says how much room the groups need.
    if (errno == ERANGE && len / sizeof(gid_t) > groups.size() &&
        len / sizeof(gid_t) <= kMaxPeerGroups) {
      groups.resize(len / sizeof(gid_t));
      continue;
    }
    if (errno != ENOPROTOOPT) return peer;
    break;
  }
  if (peer.pid <= 0) return peer;
  // A kernel before 4.13. The pid may have exited (its groups are then
  // unknown: none) or, rarely, been reused.
  Result<std::string> status =
      base::ReadFile("/proc/" + std::to_string(peer.pid) + "/status", kMaxProcStatusBytes);
  if (status.ok()) peer.groups = ParseStatusGroups(status.value());
  return peer;
}

bool PeerInGroup(const Peer& peer, gid_t group) {
  return peer.gid == group ||
         std::find(peer.groups.begin(), peer.groups.end(), group) != peer.groups.end();
}

}  // namespace warden::agent
