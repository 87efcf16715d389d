// The agent's state directory at start (agent/state_dir.h).
#include "agent/state_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "agent/job_dir.h"
#include "io/env.h"

namespace warden::agent {

std::string OctalMode(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

Status MakeStateDir(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Status::Error(Code::kFailedPrecondition,
                           "state directory " + dir + " is a symlink; give the real path");
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::Error(Code::kFailedPrecondition, "state directory " + dir + " is not a directory");
    }
    if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
      return Status::Error(Code::kPermissionDenied,
                           "state directory " + dir + " is owned by uid " + std::to_string(st.st_uid) +
                               " with mode " + OctalMode(st.st_mode) +
                               ": another user could rewrite the agent's log or plant "
                               "links in it; make it owned by the agent's user and not writable "
                               "by group or others");
    }
    return Status::Ok();
  }
  WARDEN_RETURN_IF_ERROR(io::PosixEnv()->CreateDirDurable(dir).Wrap("making the state directory"));
  if (::chmod(dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod " + dir);
  return Status::Ok();
}

Result<base::UniqueFd> LockState(const std::string& dir) {
  const std::string path = dir + "/" + kAgentLockFile;
  // O_NONBLOCK and O_NOCTTY: a FIFO or device there is refused below, not
  // waited on or made the agent's terminal.
  base::UniqueFd fd(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno(errno, "opening " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Error(Code::kFailedPrecondition, path + " is not a regular file; remove it");
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Status::FromErrno(errno, "locking " + path);
    char buf[32] = {};
    const ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return Status::Error(Code::kFailedPrecondition,
                         "another agent (pid " + (holder.empty() ? "unknown" : holder) +
                             ") holds " + path + "; stop it first, or give another --state-dir");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return Status::FromErrno(errno, "writing " + path);
  }
  return fd;
}

}  // namespace warden::agent
