// The agent's state directory at start (agent/state_dir.h): what another
// user could write in is refused, the lock file is never followed or
// waited on.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "agent/state_dir.h"
#include "test_util.h"

namespace agent = warden::agent;
using warden::Code;
using warden::testing::TempDir;

TEST_CASE("agent state dir: made 0700 when missing, an existing one kept", "[agent][state_dir]") {
  TempDir dir;
  const std::string state = dir.Join("state");
  REQUIRE(agent::MakeStateDir(state).ok());
  struct stat st;
  REQUIRE(::lstat(state.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == 0700);
  REQUIRE(::chmod(state.c_str(), 0755) == 0);
  CHECK(agent::MakeStateDir(state).ok());
}

TEST_CASE("agent state dir: one that others may write in is refused", "[agent][state_dir]") {
  TempDir dir;
  const std::string state = dir.Join("state");
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  for (mode_t mode : {0777, 0770, 01777, 0702}) {
    REQUIRE(::chmod(state.c_str(), mode) == 0);
    warden::Status st = agent::MakeStateDir(state);
    INFO(mode);
    REQUIRE_FALSE(st.ok());
    CHECK(st.code() == Code::kPermissionDenied);
    CHECK(st.message().find("not writable by group or others") != std::string::npos);
  }
  REQUIRE(::chmod(state.c_str(), 0700) == 0);
  if (::geteuid() == 0) {
    // Owned by another user: refused whatever its mode.
    REQUIRE(::chown(state.c_str(), 65534, 65534) == 0);
    warden::Status st = agent::MakeStateDir(state);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("owned by uid 65534") != std::string::npos);
  }
  // A symlink to a good directory is refused too.
  const std::string real = dir.Join("real");
  REQUIRE(::mkdir(real.c_str(), 0700) == 0);
  const std::string link = dir.Join("link");
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  CHECK_FALSE(agent::MakeStateDir(link).ok());
}

TEST_CASE("agent state dir: the lock is taken once, and never through a link, FIFO or device",
          "[agent][state_dir]") {
  TempDir dir;
  const std::string state = dir.Join("state");
  REQUIRE(agent::MakeStateDir(state).ok());
  {
    auto lock = agent::LockState(state);
    REQUIRE(lock.ok());
    auto again = agent::LockState(state);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().code() == Code::kFailedPrecondition);
    CHECK(again.status().message().find("pid " + std::to_string(::getpid())) != std::string::npos);
  }
  const std::string lock_path = state + "/lock";
  REQUIRE(::unlink(lock_path.c_str()) == 0);
  // A FIFO: refused at once (no wait for a writer).
  REQUIRE(::mkfifo(lock_path.c_str(), 0600) == 0);
  auto fifo = agent::LockState(state);
  REQUIRE_FALSE(fifo.ok());
  CHECK(fifo.status().message().find("not a regular file") != std::string::npos);
  REQUIRE(::unlink(lock_path.c_str()) == 0);
  // A symlink is not followed (nothing is made at its target).
  const std::string target = dir.Join("target");
  REQUIRE(::symlink(target.c_str(), lock_path.c_str()) == 0);
  CHECK_FALSE(agent::LockState(state).ok());
  CHECK(::access(target.c_str(), F_OK) != 0);
  REQUIRE(::unlink(lock_path.c_str()) == 0);
  // A device: refused.
  if (::geteuid() == 0 && ::mknod(lock_path.c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0) {
    auto dev = agent::LockState(state);
    REQUIRE_FALSE(dev.ok());
    CHECK(dev.status().message().find("not a regular file") != std::string::npos);
  }
}
