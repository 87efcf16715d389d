#include "net/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <thread>

#include "base/file.h"

namespace warden::net {
namespace {

// std::thread throws when the thread cannot be created; turn that into a
// Status here so no exception leaves the module.
Status RunOnThread(const std::function<Status()>& fn) {
  Status result;
  try {
    std::thread t([&] { result = fn(); });
    t.join();
  } catch (const std::system_error& e) {
    int err = e.code().value();
    return Status::FromErrno(err != 0 ? err : EAGAIN, "std::thread");
  }
  return result;
}

}  // namespace

Result<base::UniqueFd> OpenNetnsOfPid(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  base::UniqueFd fd(base::RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + path + "\")");
  return fd;
}

Result<base::UniqueFd> OpenCurrentNetns() {
  const char* path = "/proc/thread-self/ns/net";
  base::UniqueFd fd(base::RetryEintr([&] { return ::open(path, O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Status::FromErrno(errno, std::string("open(\"") + path + "\")");
  return fd;
}

Result<uint64_t> CurrentNetnsId() {
  struct stat st {};
  if (::stat("/proc/thread-self/ns/net", &st) != 0) {
    return Status::FromErrno(errno, "stat(\"/proc/thread-self/ns/net\")");
  }
  return static_cast<uint64_t>(st.st_ino);
}

Status RunInNetns(int netns_fd, const std::function<Status()>& fn) {
  return RunOnThread([&]() -> Status {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      return Status::FromErrno(errno, "setns(CLONE_NEWNET)");
    }
    return fn();
  });
}

Status RunInNewNetns(const std::function<Status()>& fn) {
  return RunOnThread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return Status::FromErrno(errno, "unshare(CLONE_NEWNET)");
    return fn();
  });
}

}  // namespace warden::net
