#include "test_util.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <climits>
#include <filesystem>
#include <fstream>
#include <utility>

#include "base/fault.h"
#include "launch/job_run.h"
#include "mnt/mount_plan.h"

namespace warden::testing {

void PrintSkip(const std::string& reason) {
  std::printf("SKIPPED: %s: %s\n",
              Catch::getResultCapture().getCurrentTestName().c_str(), reason.c_str());
  std::fflush(stdout);
}

bool IsRoot() { return ::geteuid() == 0; }

std::string RepoPolicies() {
  for (const char* c : {"policies", "../policies", "../../policies"}) {
    if (::access((std::string(c) + "/default.toml").c_str(), R_OK) == 0) {
      char buf[4096];
      if (::realpath(c, buf)) return buf;
    }
  }
  FAIL("policies/ not found: run the unit tests from the repository root (scripts/run-tests.sh)");
  return "";
}

Policy RepoDefaultPolicy() {
  ScopedHostConfig dir(&base::HostConfig::policy_dir, RepoPolicies());
  Result<Policy> p = ResolvePolicy("default");
  REQUIRE(p.ok());
  return p.value();
}

int CountOpenFds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  while (::readdir(d)) ++n;
  ::closedir(d);
  return n;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  REQUIRE(f.good());
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/warden-test-XXXXXX";
  char* p = ::mkdtemp(tmpl.data());
  REQUIRE(p != nullptr);
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ScopedHostConfig::ScopedHostConfig(std::string base::HostConfig::*field,
                                   const std::string& value)
    : old_(launch::DefaultHostConfig()) {
  base::HostConfig changed = old_;
  changed.*field = value;
  launch::SetDefaultHostConfig(std::move(changed));
}

ScopedHostConfig::~ScopedHostConfig() { launch::SetDefaultHostConfig(old_); }

const base::HostConfig& HostConfig() { return launch::DefaultHostConfig(); }

ScopedChildFault::ScopedChildFault(const std::string& spec) { base::SetChildFaultSpec(spec); }
ScopedChildFault::~ScopedChildFault() { base::SetChildFaultSpec(""); }

ScopedParentFault::ScopedParentFault(const std::string& spec) {
  Status st = base::SetParentFaultSpec(spec);
  INFO(st.ToString());
  REQUIRE(st.ok());
}
ScopedParentFault::~ScopedParentFault() { (void)base::SetParentFaultSpec(""); }

ScopedLegacyMountApi::ScopedLegacyMountApi() { mnt::ForceLegacyMountApi(true); }
ScopedLegacyMountApi::~ScopedLegacyMountApi() { mnt::ForceLegacyMountApi(false); }

}  // namespace warden::testing
