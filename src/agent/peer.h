// Who is on the other end of one of the agent's connections: the kernel's
// credentials of the connecting process (SO_PEERCRED) and its supplementary
// groups, as they were at connect() time.
#ifndef WARDEN_AGENT_PEER_H_
#define WARDEN_AGENT_PEER_H_

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "agent/service.h"
#include "warden/status.h"

namespace warden::agent {

// The most groups a peer is read with (NGROUPS_MAX).
inline constexpr size_t kMaxPeerGroups = 65536;

// uid, gid and pid from SO_PEERCRED; for a peer that is not root, its
// groups from SO_PEERGROUPS (the groups at connect time, so a pid reused
// since cannot lend its groups), or, on a kernel without it, from the
// "Groups:" line of /proc/PID/status. A peer whose groups cannot be read
// has none besides its gid: fewer groups can only refuse more.
Result<Peer> IdentifyPeer(int sock);

// The gids of the "Groups:" line of a /proc/PID/status text (at most
// kMaxPeerGroups). Reading stops at the first entry that is not a gid.
std::vector<gid_t> ParseStatusGroups(std::string_view status);

// Whether `peer`'s gid or one of its groups is `group`.
bool PeerInGroup(const Peer& peer, gid_t group);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_PEER_H_
