#include "test_util.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <climits>
#include <filesystem>
#include <fstream>

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
  ScopedEnv dir("WARDEN_POLICY_DIR", RepoPolicies());
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

}  // namespace warden::testing
