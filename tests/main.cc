// The unit tests' main: the library reads no environment variable, so the
// settings scripts/run-tests.sh passes in the environment (a private
// WARDEN_CACHE_DIR, the repository's WARDEN_POLICY_DIR, WARDEN_IO=plain
// for the plain event loop's run) are applied here, before any test runs.
// Nothing then writes to /var/cache/warden.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "base/host_config.h"
#include "launch/job_run.h"
#include "warden/diagnostics.h"

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// As `warden` reads them (src/cli/env_config.cc); the tests may move
// themselves into a cgroup leaf and turn on forwarding, as warden does.
warden::base::HostConfig ConfigFromEnvironment() {
  warden::base::HostConfig config;
  if (std::string v = Env("WARDEN_CACHE_DIR"); !v.empty()) config.cache_dir = v;
  config.policy_dir = Env("WARDEN_POLICY_DIR");
  config.may_change_sysctls = Env("WARDEN_NO_IP_FORWARD") != "1";
  config.may_move_self = true;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  warden::launch::SetDefaultHostConfig(ConfigFromEnvironment());
  warden::DiagnosticOptions diagnostics;
  if (Env("WARDEN_IO") == "plain") diagnostics.io_backend = "plain";
  if (warden::Status st = warden::ConfigureDiagnostics(diagnostics); !st.ok()) {
    std::fprintf(stderr, "unit_tests: %s\n", st.ToString().c_str());
    return 2;
  }
  return Catch::Session().run(argc, argv);
}
