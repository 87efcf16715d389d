// `warden run`'s per-job flags that override the policy (--chdir, --uid,
// --gid, --memory, --pids, --cpus, --tmp-size, --hostname, --env-file,
// --seccomp-profile, --bind-owned, --stdin, --result-fd), the loader rules
// they share (identity.allow_uids/allow_gids, "none" for a cgroup limit),
// and the one-line refusal of unknown options. No root needed.
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "policy/layer.h"
#include "policy/run_options.h"
#include "policy_data/parse_util.h"
#include "policy/run_args.h"
#include "test_util.h"

namespace warden::policy {
namespace {

using testing::RepoPolicies;
using testing::TempDir;
using testing::WriteText;

struct PolicyDirEnv : ::warden::testing::ScopedHostConfig {
  explicit PolicyDirEnv(const std::string& dir)
      : ScopedHostConfig(&base::HostConfig::policy_dir, dir) {}
};

Result<RunOptions> Parse(std::vector<std::string> args) {
  return testing::ParseRunArgs(std::move(args));
}

std::string Refusal(const std::vector<std::string>& args) {
  Result<RunOptions> r = Parse(args);
  std::string shown;
  for (const std::string& a : args) shown += a.substr(0, 40) + " ";
  INFO(shown);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  // One line: the CLI prints it, then a pointer to --help.
  CHECK(r.status().message().find('\n') == std::string::npos);
  return r.status().message();
}

RunOptions Accepted(const std::vector<std::string>& args) {
  Result<RunOptions> r = Parse(args);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r.value());
}

Policy Load(const std::string& text) {
  Result<Policy> p = LoadPolicyString(text, "t.toml");
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  return p.value();
}

std::string LoadError(const std::string& text) {
  Result<Policy> p = LoadPolicyString(text, "t.toml");
  REQUIRE_FALSE(p.ok());
  return p.status().message();
}

// The request that `args` and the policy `toml` make, finished.
Result<JobRequest> Finished(const std::vector<std::string>& args, const std::string& toml) {
  RunOptions o = Accepted(args);
  JobRequest req = o.request;
  req.policy = Load(toml);
  WARDEN_RETURN_IF_ERROR(FinishRunRequest(o, &req));
  return req;
}

// The flags' policy is the one a file that says the same would load: same
// hash, and EffectivePolicy agrees.
void CheckSameAsFile(const std::vector<std::string>& args, const std::string& base,
                     const std::string& file) {
  Result<JobRequest> req = Finished(args, base);
  INFO(req.status().ToString());
  REQUIRE(req.ok());
  CHECK(req->policy.hash == Load(file).hash);
  CHECK(EffectivePolicy(req.value()).hash == req->policy.hash);
  CHECK(req->policy.hash != Load(base).hash);
}

// What a program that embeds warden puts in a request directly (no parser
// in between) meets the command line's rules: the widest it can ask for is
// what a command line could.
TEST_CASE("run flags: a request built without the parser is held to the parser's rules",
          "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  auto refused = [](RunOptions o, JobRequest req) {
    req.policy = Load("extends = \"default\"\n");
    req.argv = {"/bin/true"};
    Status st = FinishRunRequest(o, &req);
    INFO(st.ToString());
    CHECK(st.code() == Code::kInvalidArgument);
    return st.message();
  };
  RunOptions o;
  JobRequest req;
  {
    RunOptions t = o;
    t.tmp_size_bytes = 0;  // a tmpfs of size 0 has no limit
    CHECK_THAT(refused(t, req), Catch::Contains("must not be 0"));
  }
  {
    JobRequest t = req;
    t.wall_time_ms = kMaxDurationMs + 1;
    CHECK_THAT(refused(o, t), Catch::Contains("366 days"));
    t.wall_time_ms = UINT64_MAX;
    CHECK_THAT(refused(o, t), Catch::Contains("366 days"));
  }
  {
    RunOptions t = o;
    t.memory = CgroupLimit<uint64_t>{4096, false};
    CHECK_THAT(refused(t, req), Catch::Contains("less than"));
    t = o;
    t.pids = CgroupLimit<uint64_t>{0, false};
    CHECK_THAT(refused(t, req), Catch::Contains("pids"));
    t = o;
    t.cpus = CgroupLimit<double>{-1.0, false};
    CHECK_THAT(refused(t, req), Catch::Contains("cpus"));
    t = o;
    t.hostname = std::string("bad host/name");
    CHECK_THAT(refused(t, req), Catch::Contains("hostname"));
    t = o;
    t.chdir = std::string("relative/dir");
    CHECK_THAT(refused(t, req), Catch::Contains("working directory"));
    t = o;
    t.allow = {"not an entry"};
    CHECK_THAT(refused(t, req), Catch::Contains("allow"));
  }
  {
    JobRequest t = req;
    t.env = {{"BAD=NAME", "x"}};
    CHECK_THAT(refused(o, t), Catch::Contains("environment variable"));
    t = req;
    t.env = {{"OK", std::string("a\0b", 3)}};
    CHECK_THAT(refused(o, t), Catch::Contains("without NUL"));
    t = req;
    t.env_pass = {"PATH"};
    CHECK_THAT(refused(o, t), Catch::Contains("env_pass"));
    t = req;
    t.extra_mounts = {MountSpec{.source = "relative", .destination = "/x"}};
    CHECK_THAT(refused(o, t), Catch::Contains("bind"));
  }
  // The same values within the rules pass.
  RunOptions good = o;
  good.tmp_size_bytes = 1 << 20;
  good.memory = CgroupLimit<uint64_t>{64u << 20, false};
  good.hostname = std::string("build-1");
  JobRequest good_req = req;
  good_req.wall_time_ms = kMaxDurationMs;
  good_req.policy = Load("extends = \"default\"\n");
  good_req.argv = {"/bin/true"};
  Status st = FinishRunRequest(good, &good_req);
  INFO(st.ToString());
  CHECK(st.ok());
}

TEST_CASE("run flags: --chdir sets the job's cwd, last, with the loader's path rule",
          "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  CheckSameAsFile({"--chdir", "/usr/share", "--", "/bin/true"}, "extends = \"default\"\n",
                  "extends = \"default\"\n[filesystem]\ncwd = \"/usr/share\"\n");
  // It overrides a cwd set before FinishRunRequest (a script's directory).
  RunOptions o = Accepted({"--chdir", "/work", "--", "./build.sh"});
  JobRequest req = o.request;
  req.policy = Load("extends = \"default\"\n");
  req.policy.cwd = "/home/runner/src";
  REQUIRE(FinishRunRequest(o, &req).ok());
  CHECK(req.policy.cwd == "/work");

  CHECK_THAT(Refusal({"--chdir", "work", "--", "/bin/true"}), Catch::Contains("absolute"));
  CHECK_THAT(Refusal({"--chdir", "/a/../etc", "--", "/bin/true"}), Catch::Contains("'..'"));
  CHECK_THAT(Refusal({"--chdir", "", "--", "/bin/true"}), Catch::Contains("empty"));
  CHECK_THAT(Refusal({"--chdir", "/" + std::string(kMaxPathBytes, 'a'), "--", "/bin/true"}),
             Catch::Contains("longer than"));
}

TEST_CASE("run flags: --uid/--gid only where identity.allow_uids/allow_gids allow",
          "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  const std::string base = "extends = \"default\"\n";
  // The default allows no other id: the refusal names the key to change.
  Result<JobRequest> refused = Finished({"--uid", "1000", "--", "/bin/true"}, base);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK_THAT(refused.status().message(), Catch::Contains("--uid 1000") &&
                                             Catch::Contains("identity.allow_uids") &&
                                             Catch::Contains("allows no other"));
  Result<JobRequest> gid_refused = Finished({"--gid", "1000", "--", "/bin/true"}, base);
  REQUIRE_FALSE(gid_refused.ok());
  CHECK_THAT(gid_refused.status().message(), Catch::Contains("identity.allow_gids"));
  // The policy's own id is no change, so always allowed.
  REQUIRE(Finished({"--uid", "65534", "--gid", "65534", "--", "/bin/true"}, base).ok());

  const std::string allowing = base + "[identity]\nallow_uids = [\"1000-1999\", 65534]\nallow_gids = [\"1000\"]\n";
  CheckSameAsFile({"--uid", "1500", "--gid", "1000", "--", "/bin/true"}, allowing,
                  allowing + "uid = 1500\ngid = 1000\n");
  Result<JobRequest> outside = Finished({"--uid", "2000", "--", "/bin/true"}, allowing);
  REQUIRE_FALSE(outside.ok());
  CHECK_THAT(outside.status().message(), Catch::Contains("allows only 1000-1999, 65534"));
  // A refused --gid leaves the uid as the policy said.
  RunOptions both = Accepted({"--uid", "1500", "--gid", "1500", "--", "/bin/true"});
  JobRequest req = both.request;
  req.policy = Load(allowing);
  REQUIRE_FALSE(FinishRunRequest(both, &req).ok());
  CHECK(req.policy.uid == 65534);

  // 0 never without a user namespace, whatever a hand-built list says.
  Policy hand = Load(base);
  hand.allow_uids = {{0, 10}};
  RunOptions root = Accepted({"--uid", "0", "--", "/bin/true"});
  JobRequest root_req = root.request;
  root_req.policy = hand;
  Status st = FinishRunRequest(root, &root_req);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("never run as host root"));
  // With a user namespace, root inside it may be allowed.
  REQUIRE(Finished({"--uid", "0", "--", "/bin/true"},
                   base + "[namespaces]\nuser = true\n[identity]\nallow_uids = [\"0\"]\n").ok());

  CHECK_THAT(Refusal({"--uid", "-1", "--", "/bin/true"}), Catch::Contains("--uid"));
  CHECK_THAT(Refusal({"--uid", "4294967295", "--", "/bin/true"}), Catch::Contains("not in 0..4294967294"));
  CHECK_THAT(Refusal({"--uid", "nobody", "--", "/bin/true"}), Catch::Contains("not a whole number"));
  CHECK_THAT(Refusal({"--gid", "1e3", "--", "/bin/true"}), Catch::Contains("--gid"));
  CHECK_THAT(Refusal({"--gid", "", "--", "/bin/true"}), Catch::Contains("empty"));
}

TEST_CASE("policy: identity.allow_uids/allow_gids grammar, and no 0 without a user namespace",
          "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  Policy p = Load("extends = \"default\"\n[identity]\nallow_uids = [\"1000-1999\", 65534, \"7\"]\n");
  CHECK(p.allow_uids == std::vector<IdRange>{{1000, 1999}, {65534, 65534}, {7, 7}});
  CHECK(p.allow_gids.empty());
  CHECK_THAT(PolicyToToml(p), Catch::Contains("allow_uids = [\"1000-1999\", \"65534\", \"7\"]"));
  // The canonical TOML loads back to the same policy.
  Policy again = Load(PolicyToToml(p));
  CHECK(again.allow_uids == p.allow_uids);
  CHECK(again.hash == p.hash);
  // A policy without the lists hashes as before they existed.
  CHECK(PolicyToToml(Load("extends = \"default\"\n")).find("allow_") == std::string::npos);
  // An extending layer replaces the list, so it can narrow it.
  {
    testing::TempDir dir;
    WriteText(dir.Join("wide.toml"), "extends = \"none\"\n[identity]\nallow_uids = [\"1000-1999\"]\n");
    PolicyDirEnv here(dir.path());
    CHECK(Load("extends = \"wide\"\n[identity]\nallow_uids = []\n").allow_uids.empty());
  }

  CHECK_THAT(LoadError("extends = \"default\"\n[identity]\nallow_uids = [\"0-10\"]\n"),
             Catch::Contains("t.toml:3:14: identity.allow_uids must not include 0"));
  CHECK_THAT(LoadError("extends = \"default\"\n[identity]\nallow_gids = [0]\n"),
             Catch::Contains("allow_gids must not include 0"));
  CHECK(Load("extends = \"default\"\n[namespaces]\nuser = true\n[identity]\nallow_uids = [0]\n")
            .allow_uids == std::vector<IdRange>{{0, 0}});
  CHECK_THAT(LoadError("extends = \"default\"\n[identity]\nallow_uids = [\"2000-1000\"]\n"),
             Catch::Contains("ends before it starts"));
  CHECK_THAT(LoadError("extends = \"default\"\n[identity]\nallow_uids = [\"1000-\"]\n"),
             Catch::Contains("empty number"));
  CHECK_THAT(LoadError("extends = \"default\"\n[identity]\nallow_uids = [\"x\"]\n"),
             Catch::Contains("not a whole number"));
  CHECK_THAT(LoadError("extends = \"default\"\n[identity]\nallow_uids = [-1]\n"),
             Catch::Contains("between 0 and 4294967294"));
  CHECK_THAT(LoadError("extends = \"default\"\n[identity]\nallow_uids = \"1000\"\n"),
             Catch::Contains("must be an array"));
  std::string many = "extends = \"default\"\n[identity]\nallow_uids = [";
  for (size_t i = 1; i <= kMaxIdRanges + 1; ++i) many += std::to_string(i) + ",";
  CHECK_THAT(LoadError(many + "]\n"), Catch::Contains("at most 64"));
}

TEST_CASE("run flags: --memory, --pids, --cpus are required limits; none removes the policy's",
          "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  const std::string base = "extends = \"default\"\n";
  CheckSameAsFile({"--memory", "256M", "--pids", "64", "--cpus", "1.5", "--", "/bin/true"}, base,
                  base + "[cgroup]\nmemory = \"256M\"\npids = 64\ncpu = 1.5\n");
  Result<JobRequest> req = Finished({"--memory", "1G", "--cpus", "2", "--", "/bin/true"}, base);
  REQUIRE(req.ok());
  CHECK(req->policy.cgroup.memory_max_bytes.value == (1ull << 30));
  CHECK_FALSE(req->policy.cgroup.memory_max_bytes.optional);
  CHECK(req->policy.cgroup.cpu.value == 2.0);
  // A flag is required even where the policy's limit was optional.
  const std::string optional = base + "[cgroup]\nmemory = { value = \"64M\", optional = true }\n";
  Result<JobRequest> opt = Finished({"--memory", "128M", "--", "/bin/true"}, optional);
  REQUIRE(opt.ok());
  CHECK_FALSE(opt->policy.cgroup.memory_max_bytes.optional);

  const std::string limited = base + "[cgroup]\nmemory = \"64M\"\npids = 32\ncpu = 0.5\n";
  CheckSameAsFile({"--memory", "none", "--pids", "none", "--cpus", "none", "--", "/bin/true"},
                  limited, base + "[cgroup]\nmemory = \"none\"\npids = \"none\"\ncpu = \"none\"\n");
  Result<JobRequest> unlimited =
      Finished({"--memory", "none", "--pids", "none", "--cpus", "none", "--", "/bin/true"}, limited);
  REQUIRE(unlimited.ok());
  CHECK_FALSE(unlimited->policy.cgroup.memory_max_bytes.value);
  CHECK_FALSE(unlimited->policy.cgroup.pids_max.value);
  CHECK_FALSE(unlimited->policy.cgroup.cpu.value);

  CHECK_THAT(Refusal({"--memory", "512K", "--", "/bin/true"}), Catch::Contains("less than 1048576"));
  CHECK_THAT(Refusal({"--memory", "12Q", "--", "/bin/true"}), Catch::Contains("unknown size unit") &&
                                                                  Catch::Contains("or none"));
  CHECK_THAT(Refusal({"--memory", "-1", "--", "/bin/true"}), Catch::Contains("negative"));
  CHECK_THAT(Refusal({"--memory", "unlimited", "--", "/bin/true"}), Catch::Contains("--memory"));
  CHECK_THAT(Refusal({"--pids", "0", "--", "/bin/true"}), Catch::Contains("not in 1..4194304"));
  CHECK_THAT(Refusal({"--pids", "4194305", "--", "/bin/true"}), Catch::Contains("not in 1..4194304"));
  CHECK_THAT(Refusal({"--pids", "10k", "--", "/bin/true"}), Catch::Contains("not a whole number"));
  for (const char* bad : {"0", "0.001", "4097", "nan", "inf", "-1", "1e2", ".5", "1.", "1,5", "0x1", " 1"}) {
    INFO(bad);
    CHECK_THAT(Refusal({"--cpus", bad, "--", "/bin/true"}), Catch::Contains("--cpus"));
  }
  for (const char* good : {"0.01", "0.5", "1", "4096", "2.25"}) {
    INFO(good);
    CHECK(Accepted({"--cpus", good, "--", "/bin/true"}).cpus.has_value());
  }
}

TEST_CASE("policy: \"none\" removes a cgroup limit of a base policy", "[policy]") {
  testing::TempDir dir;
  WriteText(dir.Join("limited.toml"),
            "extends = \"none\"\n[cgroup]\nmemory = \"64M\"\npids = 32\ncpu = 0.5\ncpuset_cpus = \"0\"\n");
  PolicyDirEnv here(dir.path());
  Policy p = Load("extends = \"limited\"\n[cgroup]\nmemory = \"none\"\npids = \"none\"\n"
                  "cpu = { value = \"none\" }\ncpuset_cpus = \"none\"\n");
  CHECK_FALSE(p.cgroup.memory_max_bytes.value);
  CHECK_FALSE(p.cgroup.pids_max.value);
  CHECK_FALSE(p.cgroup.cpu.value);
  CHECK_FALSE(p.cgroup.cpuset_cpus.value);
  CHECK(p.hash == Load("extends = \"none\"\n").hash);
  CHECK_THAT(LoadError("extends = \"none\"\n[cgroup]\ncpu = \"lots\"\n"), Catch::Contains("or \"none\""));
  CHECK_THAT(LoadError("extends = \"none\"\n[cgroup]\ncpu = 0.001\n"),
             Catch::Contains("cgroup.cpu must be between 0.01 and 4096 CPUs"));
}

TEST_CASE("run flags: --tmp-size and --hostname take the loader's rules", "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  const std::string base = "extends = \"default\"\n";
  CheckSameAsFile({"--tmp-size", "256M", "--hostname", "build-1.ci", "--", "/bin/true"}, base,
                  base + "[filesystem]\ntmp_size = \"256M\"\n[identity]\nhostname = \"build-1.ci\"\n");
  CHECK_THAT(Refusal({"--tmp-size", "0", "--", "/bin/true"}), Catch::Contains("no limit"));
  CHECK_THAT(Refusal({"--tmp-size", "1.5G", "--", "/bin/true"}), Catch::Contains("unknown size unit"));
  CHECK_THAT(Refusal({"--tmp-size", "2P", "--", "/bin/true"}), Catch::Contains("--tmp-size"));
  CHECK_THAT(LoadError(base + "[filesystem]\ntmp_size = 0\n"), Catch::Contains("tmp_size must not be 0"));
  CHECK_THAT(LoadError(base + "[filesystem]\nshm_size = \"0M\"\n"), Catch::Contains("shm_size must not be 0"));
  for (const std::string& bad : {std::string("-x"), std::string("a_b"), std::string("a..b"),
                                 std::string(""), std::string("x-"), std::string(65, 'a')}) {
    INFO(bad);
    CHECK_THAT(Refusal({"--hostname", bad, "--", "/bin/true"}), Catch::Contains("letters, digits"));
  }
  CHECK_THAT(LoadError(base + "[identity]\nhostname = \"a_b\"\n"), Catch::Contains("letters, digits"));
}

TEST_CASE("run flags: --env-file reads docker's format; --env wins", "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  TempDir dir;
  const std::string file = dir.Join("ci.env");
  WriteText(file,
            "\xEF\xBB\xBF# a comment\n"
            "\n"
            "A=1\n"
            "  B=two words = \"kept\" 'as is'\r\n"
            "EMPTY=\n"
            "HOME\n"
            "C=from file\n"
            "PATH=/opt/bin:/usr/bin\n"
            "   # an indented comment\n"
            "D=first\n"
            "D=second\n"
            "E");
  RunOptions o = Accepted({"--env", "C=from flag", "--env-file", file, "--env-pass", "E", "--", "/bin/true"});
  const std::map<std::string, std::string> want = {{"A", "1"},
                                                   {"B", "two words = \"kept\" 'as is'"},
                                                   {"EMPTY", ""},
                                                   {"C", "from flag"},
                                                   {"PATH", "/opt/bin:/usr/bin"},
                                                   {"D", "second"}};
  CHECK(o.request.env == want);
  CHECK(o.request.env_pass == std::vector<std::string>{"E", "HOME"});
  // In the policy and its hash, as a file saying the same.
  CheckSameAsFile({"--env-file", file, "--", "/bin/true"}, "extends = \"default\"\n",
                  "extends = \"default\"\n[env]\npath = \"/opt/bin:/usr/bin\"\npass = [\"HOME\", \"E\"]\n"
                  "[env.set]\nA = \"1\"\nB = \"two words = \\\"kept\\\" 'as is'\"\nEMPTY = \"\"\n"
                  "C = \"from file\"\nD = \"second\"\n");

  // A later file wins over an earlier one; a bare name after a value passes it.
  const std::string second = dir.Join("second.env");
  WriteText(second, "A=2\nD\n");
  RunOptions two = Accepted({"--env-file", file, "--env-file", second, "--", "/bin/true"});
  CHECK(two.request.env.at("A") == "2");
  CHECK(two.request.env.count("D") == 0);
  CHECK(std::find(two.request.env_pass.begin(), two.request.env_pass.end(), "D") != two.request.env_pass.end());

  struct Bad {
    std::string text;
    const char* says;
  };
  for (const Bad& b : {Bad{"A=1\n1B=2\n", "bad.env:2: \"1B\" is not a variable name"},
                       Bad{"A B=1\n", "not a variable name"}, Bad{"=x\n", "not a variable name"},
                       Bad{"export A=1\n", "not a variable name"},
                       Bad{std::string("A=x\0y\n", 6), "NUL"}, Bad{"PATH=bin\n", "absolute directories"},
                       Bad{"PATH\n", "PATH is the policy's env.path"},
                       Bad{"A=" + std::string(kMaxEnvValueBytes + 1, 'v') + "\n", "longer than"}}) {
    INFO(b.text.substr(0, 40));
    WriteText(dir.Join("bad.env"), b.text);
    CHECK_THAT(Refusal({"--env-file", dir.Join("bad.env"), "--", "/bin/true"}), Catch::Contains(b.says));
  }
  std::string lots;
  for (size_t i = 0; i <= kMaxEnv; ++i) lots += "V" + std::to_string(i) + "=x\n";
  WriteText(dir.Join("lots.env"), lots);
  CHECK_THAT(Refusal({"--env-file", dir.Join("lots.env"), "--", "/bin/true"}),
             Catch::Contains("more than 256 variables"));
  std::string half;
  for (size_t i = 0; i < kMaxEnv; ++i) half += "V" + std::to_string(i) + "=x\n";
  WriteText(dir.Join("full.env"), half);
  CHECK_THAT(Refusal({"--env-file", dir.Join("full.env"), "--env", "Z=1", "--", "/bin/true"}),
             Catch::Contains("more than 256 variables"));
  WriteText(dir.Join("big.env"), "A=" + std::string(kMaxOptionFileBytes, 'x'));
  CHECK_THAT(Refusal({"--env-file", dir.Join("big.env"), "--", "/bin/true"}), Catch::Contains("larger than"));
}

TEST_CASE("run flags: option files are regular files; a FIFO is refused without blocking",
          "[policy][cli]") {
  TempDir dir;
  const std::string fifo = dir.Join("planted");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const char* flag : {"--env-file", "--seccomp-profile"}) {
    INFO(flag);
    CHECK_THAT(Refusal({flag, fifo, "--", "/bin/true"}), Catch::Contains("not a regular file"));
    CHECK_THAT(Refusal({flag, dir.path(), "--", "/bin/true"}), Catch::Contains("not a regular file"));
    Result<RunOptions> missing = Parse({flag, dir.Join("missing"), "--", "/bin/true"});
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.status().ToString(), Catch::Contains("ENOENT") || Catch::Contains("No such file"));
  }
}

TEST_CASE("run flags: --seccomp-profile replaces the policy's seccomp, or says why not",
          "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  TempDir dir;
  const std::string profile = dir.Join("profile.json");
  WriteText(profile,
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mount\", \"ptrace\"], "
            "\"action\": \"SCMP_ACT_ERRNO\"}]}");
  Result<RunOptions> o = Parse({"--seccomp-profile", profile, "--", "/bin/true"});
  if (!o.ok() && o.status().code() == Code::kUnavailable) {
    // The translation is not there yet: its own message comes through.
    CHECK_THAT(o.status().message(), Catch::StartsWith("--seccomp-profile "));
    testing::PrintSkip("run flags: --seccomp-profile acceptance: SeccompFromOci is not implemented in this build");
  } else {
    INFO(o.status().ToString());
    REQUIRE(o.ok());
    REQUIRE(o->seccomp.has_value());
    JobRequest req = o->request;
    req.policy = Load("extends = \"default\"\n");
    const std::string before = req.policy.hash;
    REQUIRE(FinishRunRequest(o.value(), &req).ok());
    CHECK(req.policy.seccomp == *o->seccomp);
    CHECK(req.policy.hash != before);
    CHECK(EffectivePolicy(req).hash == req.policy.hash);
  }
  WriteText(dir.Join("bad.json"), "{not json");
  Result<RunOptions> bad = Parse({"--seccomp-profile", dir.Join("bad.json"), "--", "/bin/true"});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::StartsWith("--seccomp-profile "));
  CHECK_THAT(bad.status().message(), Catch::Contains("bad.json"));
}

TEST_CASE("run flags: --bind-owned is a writable, owned bind", "[policy][cli]") {
  PolicyDirEnv env(RepoPolicies());
  RunOptions o = Accepted({"--bind-owned", "/srv/ws", "/work", "--", "/bin/true"});
  REQUIRE(o.request.extra_mounts.size() == 1);
  const MountSpec& m = o.request.extra_mounts[0];
  CHECK(m.owned);
  CHECK(m.writable);
  CHECK(m.source == "/srv/ws");
  CheckSameAsFile({"--bind-owned", "/srv/ws", "/work", "--", "/bin/true"}, "extends = \"default\"\n",
                  "extends = \"default\"\n[[filesystem.mount]]\nsource = \"/srv/ws\"\n"
                  "destination = \"/work\"\nowned = true\n");
  CHECK_THAT(Refusal({"--bind-owned", "/srv", "/", "--", "/bin/true"}), Catch::Contains("must not be \"/\""));
  CHECK_THAT(Refusal({"--bind-owned", "/srv"}), Catch::Contains("--bind-owned needs SRC and DEST"));
}

TEST_CASE("run flags: --stdin and --result-fd are parsed for the CLI", "[policy][cli]") {
  RunOptions o = Accepted({"--stdin", "in.txt", "--result-fd", "3", "--", "/bin/true"});
  CHECK(o.stdin_file == "in.txt");
  CHECK(o.result_fd == 3);
  CHECK(Accepted({"--", "/bin/true"}).result_fd == -1);
  CHECK(Accepted({"--", "/bin/true"}).stdin_file.empty());
  for (const char* bad : {"0", "1", "2", "-1", "x", "3x", "99999999999"}) {
    INFO(bad);
    CHECK_THAT(Refusal({"--result-fd", bad, "--", "/bin/true"}), Catch::Contains("--result-fd"));
  }
  CHECK_THAT(Refusal({"--stdin", "", "--", "/bin/true"}), Catch::Contains("--stdin"));
  CHECK_THAT(Refusal({"--pty", "--stdin", "in.txt", "--", "/bin/true"}), Catch::Contains("--pty and --stdin"));
}

TEST_CASE("run flags: an unknown option is one line, with \"did you mean\"", "[policy][cli]") {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {{"--timout", "5", "--", "/bin/true"}, "unknown option \"--timout\": did you mean --timeout?"},
           {{"--tiemout=5", "--", "/bin/true"}, "did you mean --timeout?"},
           {{"-timeout", "5", "--", "/bin/true"}, "did you mean --timeout?"},
           {{"--memroy", "1G", "--", "/bin/true"}, "did you mean --memory?"},
           {{"--env-fiel", "x", "--", "/bin/true"}, "did you mean --env-file?"},
           {{"--hostnmae", "x", "--", "/bin/true"}, "did you mean --hostname?"},
           {{"--seccomp", "p.json", "--", "/bin/true"}, "did you mean --seccomp-profile?"},
           // getopt_long would take these abbreviations; warden does not.
           {{"--time", "5", "--", "/bin/true"}, "unknown option \"--time\": did you mean --timeout?"},
           {{"--mem=1G", "--", "/bin/true"}, "did you mean --memory?"},
           {{"--pt", "--", "/bin/true"}, "did you mean --pty?"},
           {{"--time"}, "unknown option \"--time\": did you mean --timeout?"},
       }) {
    INFO(c.args[0]);
    CHECK_THAT(Refusal(c.args), Catch::Contains(c.says));
  }
  // Nothing close, or more than one: no guess.
  for (const char* far : {"--frobnicate", "--e", "--en", "--xyz"}) {
    INFO(far);
    const std::string m = Refusal({far, "--", "/bin/true"});
    CHECK_THAT(m, Catch::StartsWith("unknown option \"" + std::string(far) + "\""));
    CHECK_THAT(m, !Catch::Contains("did you mean"));
  }
  CHECK_THAT(Refusal({"-x", "--", "/bin/true"}), Catch::StartsWith("unknown option \"-x\""));
  CHECK_THAT(Refusal({"--pty=yes", "--", "/bin/true"}), Catch::Contains("--pty takes no value"));
  // A missing value names the option and shows one.
  for (const auto& [flag, example] : std::vector<std::pair<std::string, std::string>>{
           {"--timeout", "--timeout 30s"}, {"--memory", "--memory 512M"}, {"--chdir", "--chdir /work"},
           {"--uid", "--uid 1000"}, {"--env-file", "--env-file ci.env"}, {"--result-fd", "--result-fd 3"}}) {
    CHECK(Refusal({flag}) == flag + " needs a value (e.g. " + example + ")");
  }
  // The job's own options after the command stay the job's.
  RunOptions o = Accepted({"/bin/ls", "--timout", "-l"});
  CHECK(o.request.argv == std::vector<std::string>{"/bin/ls", "--timout", "-l"});
  // Exact names that prefix others still work.
  CHECK(Accepted({"--env", "A=1", "--bind", "/srv", "/x", "--", "/bin/true"}).request.env.at("A") == "1");
}

}  // namespace
}  // namespace warden::policy
