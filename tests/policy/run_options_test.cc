// `warden run`'s options (policy::ParseRunOptions, FinishRunRequest,
// EffectivePolicy) and the one duration, size, mount and allow grammar that
// they share with the policy loader. No root needed.
#include "policy/run_options.h"

#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include "policy/layer.h"  // kMaxEnvValueBytes
#include "policy_data/parse_util.h"
#include "policy/run_args.h"
#include "test_util.h"

namespace warden::policy {
namespace {

using testing::RepoPolicies;

struct PolicyDirEnv : ::warden::testing::ScopedHostConfig {
  explicit PolicyDirEnv(const std::string& dir)
      : ScopedHostConfig(&base::HostConfig::policy_dir, dir) {}
};

Result<RunOptions> Parse(std::vector<std::string> args) {
  return testing::ParseRunArgs(std::move(args));
}

// The refusal for `args` (must be refused).
std::string Refusal(const std::vector<std::string>& args) {
  Result<RunOptions> r = Parse(args);
  INFO((args.empty() ? std::string() : args[0]));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  return r.status().message();
}

Policy Load(const std::string& text) {
  Result<Policy> p = LoadPolicyString(text, "t.toml");
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  return p.value();
}

TEST_CASE("units: one duration grammar, bounded, 0 allowed", "[policy][cli]") {
  struct Ok {
    const char* text;
    uint64_t ms;
  };
  for (const Ok& c : {Ok{"0", 0}, Ok{"0s", 0}, Ok{"30", 30000}, Ok{"30s", 30000},
                      Ok{"500ms", 500}, Ok{"2m", 120000}, Ok{"2min", 120000}, Ok{"1h", 3600000},
                      Ok{"8784h", kMaxDurationMs}, Ok{"31622400", kMaxDurationMs},
                      Ok{"007s", 7000}}) {
    INFO(c.text);
    Result<uint64_t> r = ParseDurationMs(c.text);
    REQUIRE(r.ok());
    CHECK(r.value() == c.ms);
  }
  struct Bad {
    const char* text;
    const char* says;
  };
  for (const Bad& c : {Bad{"", "empty"}, Bad{"nan", "not a duration"}, Bad{"inf", "not a duration"},
                       Bad{"-1s", "negative"}, Bad{"-0", "negative"}, Bad{"+5s", "not a duration"},
                       Bad{"1.5s", "unknown duration unit"}, Bad{"9000h", "366 days"},
                       Bad{"8785h", "366 days"}, Bad{"31622401", "366 days"},
                       Bad{"99999999999999999999999", "too large"},
                       Bad{"18446744073709551615ms", "366 days"}, Bad{"5 s", "unknown duration unit"},
                       Bad{"5d", "unknown duration unit"}, Bad{"0x10s", "unknown duration unit"},
                       Bad{"1e3", "unknown duration unit"}, Bad{" 5s", "not a duration"}}) {
    INFO(c.text);
    Result<uint64_t> r = ParseDurationMs(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains(c.says));
  }
}

TEST_CASE("units: one size grammar, bounded", "[policy][cli]") {
  struct Ok {
    const char* text;
    uint64_t bytes;
  };
  for (const Ok& c : {Ok{"0", 0}, Ok{"4096", 4096}, Ok{"4096B", 4096}, Ok{"64K", 64ull << 10},
                      Ok{"64k", 64ull << 10}, Ok{"512M", 512ull << 20}, Ok{"512MiB", 512ull << 20},
                      Ok{"1G", 1ull << 30}, Ok{"1GB", 1ull << 30}, Ok{"1024T", kMaxSizeBytes}}) {
    INFO(c.text);
    Result<uint64_t> r = ParseSize(c.text);
    REQUIRE(r.ok());
    CHECK(r.value() == c.bytes);
  }
  for (const char* bad : {"", "nan", "inf", "-1", "-1G", "1.5G", "1025T", "16777216G", "1X",
                          "1KK", "1BB", "99999999999999999999999", "1 G", "G"}) {
    INFO(bad);
    Result<uint64_t> r = ParseSize(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("units: the loader and --timeout agree on every duration", "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  for (const char* text : {"0", "30", "30s", "500ms", "9000h", "nan", "inf", "-5s", "8784h", "1.5s"}) {
    INFO(text);
    Result<Policy> p = LoadPolicyString(
        std::string("extends = \"none\"\n[limits]\nwall_time = \"") + text + "\"\n", "t.toml");
    Result<RunOptions> o = Parse({"--timeout", text, "--", "/bin/true"});
    REQUIRE(p.ok() == o.ok());
    if (p.ok()) CHECK(p->wall_time_ms == *o->request.wall_time_ms);
  }
}

TEST_CASE("run options: every accepted form", "[policy][cli]") {
  Result<RunOptions> r = Parse(
      {"--policy", "python", "--ro-bind", "/usr", "/opt/usr", "--bind", "/srv/in", "/in",
       "--env", "A=1", "--env", "B=x=y", "--env", "C=", "--env-pass", "HOME", "--timeout", "2m",
       "--output-dir", "/tmp/out", "--result", "-", "--net", "veth", "--allow", "10.0.0.0/8:443/tcp",
       "--allow", "host:9000", "--cgroup-parent", "ci.slice", "--job-id", "j1", "--", "/bin/echo",
       "--policy", "x"});
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  const RunOptions& o = r.value();
  CHECK_FALSE(o.help);
  CHECK(o.policy == "python");
  const JobRequest& q = o.request;
  REQUIRE(q.extra_mounts.size() == 2);
  CHECK(q.extra_mounts[0].source == "/usr");
  CHECK(q.extra_mounts[0].destination == "/opt/usr");
  CHECK_FALSE(q.extra_mounts[0].writable);
  CHECK(q.extra_mounts[1].writable);
  CHECK(q.extra_mounts[1].kind == MountSpec::Kind::kBind);
  CHECK(q.env.at("A") == "1");
  CHECK(q.env.at("B") == "x=y");
  CHECK(q.env.at("C").empty());
  CHECK(q.env_pass == std::vector<std::string>{"HOME"});
  CHECK(q.wall_time_ms == 120000);
  CHECK(q.output_dir == "/tmp/out");
  CHECK(o.result_file == "-");
  CHECK(o.net == NetworkSpec::Mode::kVeth);
  CHECK(o.allow == std::vector<std::string>{"10.0.0.0/8:443/tcp", "host:9000"});
  CHECK(q.cgroup_parent == "ci.slice");
  CHECK(q.job_id == "j1");
  // Everything after "--" is the job's, its own flags included.
  CHECK(q.argv == std::vector<std::string>{"/bin/echo", "--policy", "x"});

  // The first non-option starts the job's argv too.
  Result<RunOptions> bare = Parse({"--net", "none", "/bin/sh", "-c", "--timeout"});
  REQUIRE(bare.ok());
  CHECK(bare->request.argv == std::vector<std::string>{"/bin/sh", "-c", "--timeout"});
  CHECK(bare->net == NetworkSpec::Mode::kNone);
  CHECK_FALSE(bare->request.wall_time_ms);
  CHECK_FALSE(bare->policy);

  // --timeout 0: no limit, as limits.wall_time = 0 (it overrides the policy's).
  Result<RunOptions> zero = Parse({"--timeout", "0", "--", "/bin/true"});
  REQUIRE(zero.ok());
  CHECK(zero->request.wall_time_ms == 0);

  Result<RunOptions> help = Parse({"--help"});
  REQUIRE(help.ok());
  CHECK(help->help);
  Result<RunOptions> h = Parse({"-h"});
  REQUIRE(h.ok());
  CHECK(h->help);

  // A relative bind source is the current directory's, as in bubblewrap.
  char cwd[PATH_MAX];
  REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
  Result<RunOptions> rel = Parse({"--ro-bind", "data", "/data", "--", "/bin/true"});
  REQUIRE(rel.ok());
  CHECK(rel->request.extra_mounts[0].source == std::string(cwd) + "/data");
}

TEST_CASE("run options: each refusal says what is wrong", "[policy][cli]") {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const std::string long_path = "/" + std::string(kMaxPathBytes, 'a');
  const std::vector<Case> cases = {
      {{}, "no command given"},
      {{"--net", "veth"}, "no command given"},
      {{"--nope", "--", "/bin/true"}, "unknown option \"--nope\""},
      {{"--pty", "--output-dir", "/tmp/o", "--", "/bin/true"}, "--pty and --output-dir"},
      {{"--timeout"}, "--timeout needs a value (e.g. --timeout 30s)"},
      {{"--policy", "", "--", "/bin/true"}, "--policy \"\""},
      // "/" as a destination was silently skipped, leaving the host's root.
      {{"--bind", "/srv", "/", "--", "/bin/true"}, "must not be \"/\""},
      {{"--ro-bind", "/srv", "/", "--", "/bin/true"}, "must not be \"/\""},
      {{"--bind", "/srv", "//", "--", "/bin/true"}, "must not be \"/\""},
      {{"--bind", "/srv", "/./", "--", "/bin/true"}, "must not be \"/\""},
      {{"--bind", "/srv", "/tmp/../etc", "--", "/bin/true"}, "'..'"},
      {{"--bind", "/srv/../etc", "/x", "--", "/bin/true"}, "'..'"},
      {{"--bind", "/srv", "x", "--", "/bin/true"}, "absolute"},
      {{"--bind", "/srv", "", "--", "/bin/true"}, "empty"},
      {{"--bind", "/srv", long_path, "--", "/bin/true"}, "longer than"},
      {{"--bind", "/srv"}, "needs SRC and DEST"},
      {{"--env", "A", "--", "/bin/true"}, "K=V"},
      {{"--env", "1A=x", "--", "/bin/true"}, "K=V"},
      {{"--env", "A-B=x", "--", "/bin/true"}, "K=V"},
      {{"--env", "=x", "--", "/bin/true"}, "K=V"},
      {{"--env", "A=" + std::string(kMaxEnvValueBytes + 1, 'v'), "--", "/bin/true"}, "longer than"},
      {{"--env", "PATH=bin", "--", "/bin/true"}, "absolute directories"},
      {{"--env-pass", "A=B", "--", "/bin/true"}, "not a variable name"},
      {{"--env-pass", "PATH", "--", "/bin/true"}, "--env PATH="},
      {{"--timeout", "nan", "--", "/bin/true"}, "not a duration"},
      {{"--timeout", "inf", "--", "/bin/true"}, "not a duration"},
      {{"--timeout", "-1", "--", "/bin/true"}, "negative"},
      {{"--timeout", "9000h", "--", "/bin/true"}, "366 days"},
      {{"--timeout", "1e300", "--", "/bin/true"}, "unknown duration unit"},
      {{"--timeout", "99999999999999999999999", "--", "/bin/true"}, "too large"},
      {{"--net", "host", "--", "/bin/true"}, "none, loopback or veth"},
      {{"--allow", "1.2.3.4:99999", "--", "/bin/true"}, "1..65535"},
      {{"--allow", "pypi.org:443", "--", "/bin/true"}, "resolves no host names"},
      {{"--allow", "10.0.0.1/8", "--", "/bin/true"}, "did you mean 10.0.0.0/8"},
  };
  for (const Case& c : cases) {
    std::string shown;
    for (const std::string& a : c.args) shown += a.substr(0, 40) + " ";
    INFO(shown);
    CHECK_THAT(Refusal(c.args), Catch::Contains(c.says));
  }
  std::vector<std::string> many;
  for (size_t i = 0; i <= kMaxCliBinds; ++i) {
    many.insert(many.end(), {"--ro-bind", "/usr", "/m" + std::to_string(i)});
  }
  many.insert(many.end(), {"--", "/bin/true"});
  CHECK_THAT(Refusal(many), Catch::Contains("binds"));
}

TEST_CASE("run options: --net and --allow are in the policy and its hash", "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  Result<RunOptions> o = Parse({"--net", "veth", "--allow", "192.0.2.0/24:443/tcp", "--", "/bin/true"});
  REQUIRE(o.ok());
  JobRequest with = o->request;
  with.policy = Load("extends = \"default\"\n");
  const std::string default_hash = with.policy.hash;
  REQUIRE(FinishRunRequest(o.value(), &with).ok());
  CHECK(with.policy.network.mode == NetworkSpec::Mode::kVeth);
  CHECK(with.policy.network.allow == std::vector<std::string>{"192.0.2.0/24:443/tcp"});
  // The hash is that of what runs: not the file's, and the same as a file
  // that says the same.
  CHECK(with.policy.hash != default_hash);
  Policy same = Load("extends = \"default\"\n[network]\nmode = \"veth\"\nallow = [\"192.0.2.0/24:443/tcp\"]\n");
  CHECK(with.policy.hash == same.hash);

  // Without any flag, the hash stays the file's.
  Result<RunOptions> plain = Parse({"--", "/bin/true"});
  REQUIRE(plain.ok());
  JobRequest without = plain->request;
  without.policy = Load("extends = \"default\"\n");
  REQUIRE(FinishRunRequest(plain.value(), &without).ok());
  CHECK(without.policy.hash == default_hash);

  // --allow without veth is refused after the policy is known.
  Result<RunOptions> a = Parse({"--allow", "192.0.2.1", "--", "/bin/true"});
  REQUIRE(a.ok());
  JobRequest loopback = a->request;
  loopback.policy = Load("extends = \"default\"\n");
  Status st = FinishRunRequest(a.value(), &loopback);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("--net veth"));
}

TEST_CASE("run options: binds, env and timeout are in the hash as a policy file says them",
          "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  Result<RunOptions> o = Parse({"--ro-bind", "/usr/share", "/data", "--bind", "/srv", "/out",
                                "--env", "A=1", "--env", "PATH=/opt/bin", "--env-pass", "HOME",
                                "--timeout", "90s", "--", "/bin/true"});
  REQUIRE(o.ok());
  JobRequest req = o->request;
  req.policy = Load("extends = \"default\"\n");
  REQUIRE(FinishRunRequest(o.value(), &req).ok());
  Policy same = Load(
      "extends = \"default\"\n"
      "[[filesystem.mount]]\nsource = \"/usr/share\"\ndestination = \"/data\"\n"
      "[[filesystem.mount]]\nsource = \"/srv\"\ndestination = \"/out\"\nwritable = true\n"
      "[env]\npath = \"/opt/bin\"\npass = [\"HOME\"]\n[env.set]\nA = \"1\"\n"
      "[limits]\nwall_time = \"90s\"\n");
  CHECK(req.policy.hash == same.hash);
  CHECK(EffectivePolicy(req).hash == req.policy.hash);
}

}  // namespace
}  // namespace warden::policy
