// libnftables, wrapped: runs nft command text in the calling thread's netns
// (use RunInNetns to target another one). Calls are serialised by a process
// lock because libnftables keeps some global state.
#ifndef WARDEN_NET_NFT_H_
#define WARDEN_NET_NFT_H_

#include <string>

#include "warden/status.h"

namespace warden::net {

// Runs `commands` (nft syntax, may span lines) as one atomic transaction.
// `what` names the operation in errors, which carry nft's own message.
Status NftRun(const std::string& commands, const std::string& what);
// Runs one command and returns what nft printed ("list tables").
Result<std::string> NftOutput(const std::string& command);

}  // namespace warden::net

#endif  // WARDEN_NET_NFT_H_
