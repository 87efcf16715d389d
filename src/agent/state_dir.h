// The agent's state directory as the agent takes it at start: made when
// missing, refused when another user could change what is in it, and its
// lock taken (agent/job_dir.h names the files).
#ifndef WARDEN_AGENT_STATE_DIR_H_
#define WARDEN_AGENT_STATE_DIR_H_

#include <string>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::agent {

// A file mode's permission bits as ls and chmod write them ("0755").
std::string OctalMode(unsigned mode);

// Makes DIR (0700) and its parent's entry durable. An existing DIR must be
// a directory (not a symlink) owned by the agent's user and not writable by
// group or others: whoever may write in it could rewrite the WAL or plant
// links that the agent, as root, would follow.
Status MakeStateDir(const std::string& dir);

// The state directory's lock (DIR/lock, never a symlink, FIFO or device),
// held for the agent's life: the fd is never closed; the kernel drops the
// lock when the agent dies. Another holder: kFailedPrecondition naming its
// pid.
Result<base::UniqueFd> LockState(const std::string& dir);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_STATE_DIR_H_
