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

// Loads libnftables (dlopen, a few ms) if that has not happened yet, so that
// a thread can do it while the caller's thread works on something else.
void PreloadNftables();

}  // namespace warden::net

#endif  // WARDEN_NET_NFT_H_
