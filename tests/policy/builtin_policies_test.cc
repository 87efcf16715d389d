// The shipped policies built into the binary: the same text as
// policies/*.toml, used where the policy directory has no such file, and
// overridden by one that it has. No root needed.
#include "policy/builtin_policies.h"

#include <string>

#include "base/file.h"
#include "test_util.h"
#include "warden/policy.h"

namespace warden::policy {
namespace {

using testing::RepoPolicies;
using testing::WriteText;

TEST_CASE("builtin policies: each is policies/NAME.toml, byte for byte", "[policy]") {
  const std::string dir = RepoPolicies();
  REQUIRE(BuiltinPolicies().size() >= 4);
  for (const std::string name : {"default", "python", "node", "shell"}) {
    const BuiltinPolicy* b = FindBuiltinPolicy(name);
    REQUIRE(b != nullptr);
    Result<std::string> file = base::ReadFile(dir + "/" + name + ".toml");
    REQUIRE(file.ok());
    CHECK(std::string(b->text, b->size) == file.value());
  }
  CHECK(FindBuiltinPolicy("no-such") == nullptr);
}

TEST_CASE("builtin policies: used where the policy directory has none, with the same hash",
          "[policy]") {
  testing::TempDir empty;
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  std::string want_hash;
  {
    ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, RepoPolicies());
    Result<Policy> on_disk = ResolvePolicy("python");
    REQUIRE(on_disk.ok());
    want_hash = on_disk->hash;
  }
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, empty.path());
  Result<Policy> p = ResolvePolicy("python");  // extends "default": built in too
  REQUIRE(p.ok());
  CHECK(p->name == "python");
  CHECK(p->source_path.empty());
  CHECK(p->hash == want_hash);
  Result<Policy> missing = ResolvePolicy("no-such");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("shipped policies: default, node, python, shell") !=
        std::string::npos);
}

TEST_CASE("builtin policies: a file in the policy directory overrides the built-in one, also "
          "as a base", "[policy]") {
  testing::TempDir dir;
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, dir.path());
  WriteText(dir.Join("default.toml"), "extends = \"none\"\n[identity]\nhostname = \"on-disk\"\n");
  Result<Policy> d = ResolvePolicy("default");
  REQUIRE(d.ok());
  CHECK(d->hostname == "on-disk");
  CHECK(d->source_path == dir.Join("default.toml"));
  Result<Policy> shell = ResolvePolicy("shell");  // built in, on top of the file
  REQUIRE(shell.ok());
  CHECK(shell->hostname == "on-disk");
  CHECK(shell->interpreter == std::vector<std::string>{"/bin/sh"});
}

}  // namespace
}  // namespace warden::policy
