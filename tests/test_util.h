// Helpers shared by the unit tests.
#ifndef WARDEN_TESTS_TEST_UTIL_H_
#define WARDEN_TESTS_TEST_UTIL_H_

#include <cstdlib>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "base/host_config.h"
#include "warden/policy.h"

namespace warden::testing {

// Prints "SKIPPED: <test>: <reason>" on stdout. scripts/run-tests.sh counts
// these lines as skipped, not passed. Use through WARDEN_SKIP.
void PrintSkip(const std::string& reason);

bool IsRoot();

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object goes out of scope, even when the test fails.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The absolute path of the repository's policies/ directory (tests run from
// the repository root, as scripts/run-tests.sh does, or a build folder
// below it); fails the test when there is none.
std::string RepoPolicies();

// The repository's default policy (policies/default.toml, loaded as
// `warden run` would); fails the test when it does not load.
Policy RepoDefaultPolicy();

// How many fds this process has open (entries of /proc/self/fd): tests
// compare it before and after to find leaks.
int CountOpenFds();

// Writes `text` to `path`, replacing it.
void WriteText(const std::string& path, const std::string& text);

// Changes one field of the process's default HostConfig
// (launch::DefaultHostConfig, what RunJob, Doctor, Gc and ResolvePolicy
// use) for the scope's life: ScopedHostConfig cache(&base::HostConfig::
// cache_dir, dir.path()).
class ScopedHostConfig {
 public:
  ScopedHostConfig(std::string base::HostConfig::*field, const std::string& value);
  ~ScopedHostConfig();
  ScopedHostConfig(const ScopedHostConfig&) = delete;
  ScopedHostConfig& operator=(const ScopedHostConfig&) = delete;

 private:
  base::HostConfig old_;
};

// The process's default HostConfig (launch::DefaultHostConfig).
const base::HostConfig& HostConfig();

// The child's (base::SetChildFaultSpec) or the launcher's
// (base::SetParentFaultSpec, which must accept it) fault spec for the
// scope's life; none afterwards.
class ScopedChildFault {
 public:
  explicit ScopedChildFault(const std::string& spec);
  ~ScopedChildFault();
  ScopedChildFault(const ScopedChildFault&) = delete;
  ScopedChildFault& operator=(const ScopedChildFault&) = delete;
};
class ScopedParentFault {
 public:
  explicit ScopedParentFault(const std::string& spec);
  ~ScopedParentFault();
  ScopedParentFault(const ScopedParentFault&) = delete;
  ScopedParentFault& operator=(const ScopedParentFault&) = delete;
};

// mnt::ForceLegacyMountApi(true) for the scope's life.
class ScopedLegacyMountApi {
 public:
  ScopedLegacyMountApi();
  ~ScopedLegacyMountApi();
  ScopedLegacyMountApi(const ScopedLegacyMountApi&) = delete;
  ScopedLegacyMountApi& operator=(const ScopedLegacyMountApi&) = delete;
};

}  // namespace warden::testing

// Ends the current test case as skipped, with a reason a reader can act on.
#define WARDEN_SKIP(reason)                       \
  do {                                            \
    ::warden::testing::PrintSkip(reason);         \
    return;                                       \
  } while (0)

#define WARDEN_REQUIRE_ROOT()                                              \
  do {                                                                     \
    if (!::warden::testing::IsRoot()) WARDEN_SKIP("needs root (run as root)"); \
  } while (0)

#endif  // WARDEN_TESTS_TEST_UTIL_H_
