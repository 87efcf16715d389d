#include "warden/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "policy_data/syscall_groups.h"
#include "test_util.h"

namespace warden {
namespace {

// Points PolicyDirectory() at `dir` for the test and restores the
// environment afterwards.
struct PolicyDirEnv : ::warden::testing::ScopedHostConfig {
  explicit PolicyDirEnv(const std::string& dir)
      : ScopedHostConfig(&base::HostConfig::policy_dir, dir) {}
};

using testing::RepoPolicies;
using testing::WriteText;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The error for `toml` loaded as "t.toml" (must fail).
// Texts without their own `extends` get `extends = "none"` as line 1.
std::string ErrorOf(const std::string& toml) {
  bool bare = toml.find("extends") == std::string::npos && toml.find("missing") == std::string::npos;
  Result<Policy> r = LoadPolicyString(bare && toml != "interpreter = []\n" ? "extends = \"none\"\n" + toml : toml, "t.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kInvalidArgument);
  return r.status().message();
}

TEST_CASE("policy: every shipped policy loads and hashes", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  for (const char* name : {"default", "python", "node", "shell"}) {
    INFO(name);
    Result<Policy> p = ResolvePolicy(name);
    REQUIRE(p.ok());
    CHECK(p->name == name);
    CHECK(p->hash.size() == 64);
    CHECK(p->uid == 65534);
    CHECK(p->gid == 65534);
    CHECK(Contains(p->mask, "/root"));
    CHECK(Contains(p->mask, "/var/tmp"));
    CHECK(Contains(p->seccomp.deny, "mount"));
    CHECK(Contains(p->seccomp.deny, "io_uring_setup"));
    CHECK(Contains(p->seccomp.deny, "bpf"));
    CHECK(Contains(p->seccomp.deny, "keyctl"));
    CHECK(Contains(p->seccomp.deny, "unshare"));
    CHECK_FALSE(Contains(p->seccomp.deny, "clone"));
    CHECK(p->seccomp.deny_action == SeccompAction::kErrno);
  }
  Result<Policy> py = ResolvePolicy("python");
  REQUIRE(py.ok());
  CHECK(py->interpreter == std::vector<std::string>{"/usr/bin/python3"});
  CHECK(py->env.at("PYTHONDONTWRITEBYTECODE") == "1");
  CHECK(py->env.at("LANG") == "C.UTF-8");  // inherited from default
  Result<Policy> node = ResolvePolicy("node");
  REQUIRE(node.ok());
  CHECK(node->rlimits.nofile == 65536);
  CHECK(Contains(node->match_suffixes, ".mjs"));
  Result<Policy> def = ResolvePolicy("default");
  REQUIRE(def.ok());
  CHECK(def->hash != py->hash);
}

TEST_CASE("policy: the default policy denies what the issue lists", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  Result<Policy> p = ResolvePolicy("default");
  REQUIRE(p.ok());
  for (const char* s :
       {"io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
        "userfaultfd", "keyctl", "add_key", "request_key", "mount", "umount2", "pivot_root",
        "fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",
        "unshare", "setns", "ptrace", "process_vm_readv", "process_vm_writev", "kexec_load",
        "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
        "swapoff", "acct", "open_by_handle_at", "name_to_handle_at", "clock_settime",
        "settimeofday", "iopl", "ioperm", "quotactl", "syslog", "modify_ldt", "kcmp"}) {
    INFO(s);
    CHECK(Contains(p->seccomp.deny, s));
  }
  auto has_rule = [&](const std::string& sc) {
    return std::any_of(p->seccomp.rules.begin(), p->seccomp.rules.end(),
                       [&](const SyscallRule& r) { return r.syscall == sc; });
  };
  for (const char* s : {"clone", "clone3", "ioctl", "socket", "personality"}) {
    INFO(s);
    CHECK(has_rule(s));
  }
}

TEST_CASE("policy: effective TOML round-trips to the same hash", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  for (const char* name : {"default", "python", "node", "shell"}) {
    INFO(name);
    Result<Policy> p = ResolvePolicy(name);
    REQUIRE(p.ok());
    std::string text = PolicyToToml(p.value());
    Result<Policy> again = LoadPolicyString(text, std::string(name) + ".toml");
    INFO(again.status().ToString());
    REQUIRE(again.ok());
    CHECK(again->hash == p->hash);
    CHECK(PolicyToToml(again.value()) == text);
  }
}

TEST_CASE("policy: errors carry file:line:col and say what is allowed", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  struct Case {
    const char* toml;
    const char* location;
    const char* needle;
  };
  const Case cases[] = {
      {"[filesystem]\nbogus = 1\n", "t.toml:3:1: ", "allowed keys: rootfs"},
      {"nope = 1\n", "t.toml:2:1: ", "unknown key 'nope' in the top level"},
      {"[filesystem]\ntmp_size = \"12Q\"\n", "t.toml:3:12: ", "unknown size unit; use 4096, 64K"},
      {"[filesystem]\ntmp_size = true\n", "t.toml:3:12: ", "must be a size"},
      {"[filesystem]\nmask = [\"relative\"]\n", "t.toml:3:8: ", "absolute"},
      {"[filesystem]\nmask = [\"/a/../b\"]\n", "t.toml:3:8: ", "'..'"},
      {"[filesystem]\ncwd = \"/a\\u0000b\"\n", "t.toml:3:7: ", "NUL"},
      {"[identity]\nuid = -1\n", "t.toml:3:7: ", "between 0 and 4294967294"},
      {"[identity]\nuid = 4294967295\n", "t.toml:3:7: ", "between 0 and"},
      {"[identity]\nuid = 0\n", "t.toml:3:7: ", "uid 0 is not allowed"},
      {"[identity]\nhostname = \"a b\"\n", "t.toml:3:12: ", "letters, digits"},
      {"[env.set]\n\"1BAD\" = \"x\"\n", "t.toml:3:1: ", "not a valid variable name"},
      {"[env]\npass = [\"A-B\"]\n", "t.toml:3:8: ", "not a valid variable name"},
      {"[env.set]\nPATH = \"/bin\"\n", "t.toml:3:1: ", "env.path"},
      {"[seccomp]\ndeny = [\"@nonsense\"]\n", "t.toml:3:9: ", "groups are: @clock"},
      {"[seccomp]\ndeny = [\"notasyscall\"]\n", "t.toml:3:9: ", "unknown syscall"},
      {"[seccomp]\naction = \"explode\"\n", "t.toml:3:10: ", "\"errno\" (seccomp.errno, default EPERM), \"kill\" or \"log\""},
      {"[[seccomp.rule]]\nsyscall = \"socket\"\nargs = [{ index = 7, op = \"eq\", value = 1 }]\n",
       "t.toml:4:19: ", "between 0 and 5"},
      {"[[seccomp.rule]]\nsyscall = \"socket\"\nargs = [{ index = 0, op = \"like\", value = 1 }]\n",
       "t.toml:4:27: ", "eq, ne, lt"},
      {"[[seccomp.rule]]\nsyscall = \"socket\"\nargs = [{ index = 0, op = \"masked_eq\", value = 1 }]\n",
       "t.toml:4:9: ", "needs mask"},
      {"[[seccomp.rule]]\nsyscall = \"socket\"\nargs = [{ index = 0, op = \"eq\", value = 1 }, "
       "{ index = 0, op = \"eq\", value = 2 }]\n",
       "t.toml:4:56: ", "compared twice"},
      {"[seccomp]\ndeny = [\"mount\"]\n[[seccomp.rule]]\nsyscall = \"mount\"\n", "t.toml:4:1: ", "has no effect"},
      {"extends = \"default\"\n[[seccomp.rule]]\nsyscall = \"mount\"\n", "t.toml:2:1: ",
       "has no effect"},
      {"[[seccomp.rule]]\nsyscall = \"read\"\nerrno = \"EBOGUS\"\n", "t.toml:4:9: ", "needs action"},
      {"[[seccomp.rule]]\nsyscall = \"read\"\naction = \"errno\"\nerrno = \"EBOGUS\"\n",
       "t.toml:5:9: ", "errno name"},
      {"[[seccomp.rule]]\nsyscall = \"read\"\naction = \"allow\"\n", "t.toml:2:1: ", "needs args"},
      {"[network]\nmode = \"internet\"\n", "t.toml:3:8: ", "\"none\", \"loopback\" or \"veth\""},
      {"[network]\ndns = [\"8.8.8\"]\n", "t.toml:3:7: ", "IPv4 or IPv6"},
      {"[network.hosts]\n\"bad host\" = \"1.2.3.4\"\n", "t.toml:3:1: ", "not a valid host name"},
      {"[cgroup]\nmemory = \"1K\"\n", "t.toml:3:10: ", "at least"},
      {"[cgroup]\nmemory = { value = \"1G\", optionl = true }\n", "t.toml:3:26: ",
       "allowed keys: value, optional"},
      {"[cgroup]\ncpu = \"half\"\n", "t.toml:3:7: ", "number of CPUs"},
      {"[cgroup]\ncpuset_cpus = \"0-3;rm\"\n", "t.toml:3:15: ", "\"0-3,6\""},
      {"[limits]\nwall_time = \"10 years\"\n", "t.toml:3:13: ", "unknown duration unit; use 500ms, 30s"},
      {"[rlimits]\nnofile = 99999999\n", "t.toml:3:10: ", "between 3 and 1048576"},
      {"[match]\nsuffixes = [\"py\"]\n", "t.toml:3:12: ", "\".py\""},
      {"interpreter = [\"python3\"]\n", "t.toml:2:15: ", "absolute"},
      {"extends = \"no-such-policy\"\n", "t.toml:1:11: ", "is neither in"},
      {"extends = \"../etc/passwd\"\n", "t.toml:1:11: ", "shipped policy"},
      {"[[filesystem.mount]]\nsource = \"/data\"\n", "t.toml:2:1: ", "needs destination"},
      {"[[filesystem.mount]]\ntype = \"tmpfs\"\nsource = \"/x\"\ndestination = \"/y\"\n",
       "t.toml:4:10: ", "takes no source"},
      {"[[filesystem.mount]]\ntype = \"overlay\"\ndestination = \"/y\"\n", "t.toml:3:8: ",
       "\"bind\" or \"tmpfs\""},
      {"interpreter = []\n", "t.toml:1:1: ", "missing extends"},
      {"missing = 1\n", "t.toml:1:1: ", "unknown key 'missing'"},
      {"[identity]\nmissing_uid = 1\n", "t.toml:2:1: ", "unknown key 'missing_uid'"},
      {"[filesystem\n", "t.toml:2:", "TOML syntax"},
      {"a = \"unterminated\n", "t.toml:2:", "TOML syntax"},
  };
  for (const Case& c : cases) {
    INFO(c.toml);
    std::string err = ErrorOf(c.toml);
    INFO(err);
    CHECK(err.rfind(c.location, 0) == 0);
    CHECK(err.find(c.needle) != std::string::npos);
  }
}

TEST_CASE("policy: input that trips the TOML parser's own checks is an error, not a crash",
          "[policy]") {
  // toml++ 3.3 asserts on a table header that starts with '#' (found by
  // tests/fuzz/policy_fuzz.cc); policy/toml.h turns that into a parse error.
  Result<Policy> p = LoadPolicyString("extends = \"default\"\n[#files{stem]x]\nbogus = 1\n",
                                      "hostile.toml");
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().rfind("hostile.toml:1:1: TOML syntax:", 0) == 0);
}

TEST_CASE("policy: non-ASCII is refused outside strings and comments, kept inside", "[policy]") {
  // toml++ 3.3 reaches __builtin_unreachable on U+0106 where a value starts
  // (found by tests/fuzz/policy_fuzz.cc); ParseToml refuses it first.
  Result<Policy> bad = LoadPolicyString("extends = \xc4\x86" "default\"\n", "u.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind("u.toml:1:11: TOML syntax: a non-ASCII character", 0) == 0);
  Result<Policy> good = LoadPolicyString(
      "extends = \"default\"  # caf\xc3\xa9\n"
      "[env.set]\n"
      "A = \"gr\xc3\xbc\xc3\x9f \\\" \xc4\x86\"\n"
      "B = '\xc4\x86'\n"
      "C = \"\"\"\n\xc4\x86 \"\" \xc4\x86\"\"\"\n"
      "D = '''\xc4\x86'''\n",
      "u.toml");
  INFO(good.status().ToString());
  REQUIRE(good.ok());
  CHECK(good->env.at("B") == "\xc4\x86");
}

TEST_CASE("policy: seccomp.errno is the errno of the deny action", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  Result<Policy> p = LoadPolicyString("extends = \"default\"\n[seccomp]\nerrno = \"ENOSYS\"\n", "t.toml");
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  CHECK(p->seccomp.deny_action == SeccompAction::kErrno);
  CHECK(p->seccomp.deny_errno == ENOSYS);
  // Rules without an action of their own take it with the action;
  // explicit ones keep theirs.
  bool saw_clone = false;
  for (const SyscallRule& r : p->seccomp.rules) {
    INFO(r.syscall);
    if (r.syscall == "clone") {
      saw_clone = true;
      CHECK(r.errno_value == ENOSYS);
    }
    if (r.action == SeccompAction::kAllow) CHECK(r.errno_value == 1);
  }
  CHECK(saw_clone);
  // Written only when not EPERM; the text loads back to the same policy.
  const std::string text = PolicyToToml(p.value());
  CHECK(text.find("[seccomp]\naction = \"errno\"\nerrno = 38\n") != std::string::npos);
  Result<Policy> again = LoadPolicyString(text, "again.toml");
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(again->seccomp == p->seccomp);
  CHECK(again->hash == p->hash);

  Result<Policy> n = LoadPolicyString("extends = \"none\"\n[seccomp]\naction = \"errno\"\nerrno = 4095\n", "t.toml");
  REQUIRE(n.ok());
  CHECK(n->seccomp.deny_errno == 4095);

  CHECK(ErrorOf("[seccomp]\naction = \"kill\"\nerrno = \"ENOSYS\"\n")
            .find("t.toml:4:9: seccomp.errno needs seccomp.action = \"errno\" (the action in effect is \"kill\")") !=
        std::string::npos);
  CHECK(ErrorOf("[seccomp]\nerrno = \"EBOGUS\"\n").find("seccomp.errno \"EBOGUS\" is not an errno name") !=
        std::string::npos);
  CHECK(ErrorOf("[seccomp]\nerrno = 0\n").find("seccomp.errno must be between 1 and 4095") != std::string::npos);
  CHECK(ErrorOf("[seccomp]\nerrno = 4096\n").find("seccomp.errno must be between 1 and 4095") != std::string::npos);
  CHECK(ErrorOf("[seccomp]\nerrno = true\n").find("seccomp.errno must be an integer") != std::string::npos);
}

TEST_CASE("policy: a later layer's seccomp.action drops an earlier layer's errno", "[policy]") {
  testing::TempDir dir;
  WriteText(dir.Join("base.toml"), "extends = \"none\"\n[seccomp]\nerrno = \"ENOSYS\"\n");
  PolicyDirEnv env(dir.path());
  Result<Policy> kill = LoadPolicyString("extends = \"base\"\n[seccomp]\naction = \"kill\"\n", "t.toml");
  INFO(kill.status().ToString());
  REQUIRE(kill.ok());
  CHECK(kill->seccomp.deny_action == SeccompAction::kKill);
  CHECK(kill->seccomp.deny_errno == 1);
  CHECK(PolicyToToml(kill.value()).find("\nerrno = ") == std::string::npos);
  Result<Policy> kept = LoadPolicyString("extends = \"base\"\n[seccomp]\naction = \"errno\"\n", "t.toml");
  REQUIRE(kept.ok());
  CHECK(kept->seccomp.deny_errno == ENOSYS);
}

TEST_CASE("policy: the shipped policies' text and hash do not depend on seccomp.errno's default", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  for (const char* name : {"default", "python", "node", "shell"}) {
    INFO(name);
    Result<Policy> p = ResolvePolicy(name);
    REQUIRE(p.ok());
    CHECK(p->seccomp.deny_errno == EPERM);
    const std::string text = PolicyToToml(p.value());
    const size_t section = text.find("\n[seccomp]\n");
    REQUIRE(section != std::string::npos);
    CHECK(text.substr(section, text.find("\ndeny = [", section) - section) == "\n[seccomp]\naction = \"errno\"");
    // errno = "EPERM" written out is the same policy, with the same hash.
    Policy q = p.value();
    q.name = "eperm";
    Result<Policy> eperm = LoadPolicyString("extends = \"" + std::string(name) + "\"\n[seccomp]\nerrno = \"EPERM\"\n",
                                            "eperm.toml");
    REQUIRE(eperm.ok());
    CHECK(eperm->seccomp == p->seccomp);
    CHECK(PolicyToToml(eperm.value()) == PolicyToToml(q));
  }
}

TEST_CASE("policy: errors in an extended policy point into that file", "[policy]") {
  testing::TempDir dir;
  WriteText(dir.Join("base.toml"), "extends = \"none\"\n[identity]\nuid = 1000\n\n[filesystem]\nbad = 1\n");
  PolicyDirEnv env(dir.path());
  std::string err = ErrorOf("extends = \"base\"\n");
  CHECK(err.rfind(dir.Join("base.toml") + ":6:1: ", 0) == 0);
}

TEST_CASE("policy: extends cycles are bounded", "[policy]") {
  testing::TempDir dir;
  WriteText(dir.Join("a.toml"), "extends = \"b\"\n");
  WriteText(dir.Join("b.toml"), "extends = \"a\"\n");
  PolicyDirEnv env(dir.path());
  std::string err = ErrorOf("extends = \"a\"\n");
  CHECK(err.find("nests more than") != std::string::npos);
}

TEST_CASE("policy: values, sizes and layering", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  Result<Policy> p = LoadPolicyString(R"(
extends = "default"
interpreter = ["/usr/bin/env", "ruby"]

[filesystem]
mask = ["/srv/secret"]
tmp_size = "128M"
shm_size = 1048576

[[filesystem.mount]]
source = "/usr/share/doc"
destination = "/doc"
optional = true

[[filesystem.mount]]
type = "tmpfs"
destination = "/scratch"
writable = true
size = "1G"

[limits]
wall_time = "90s"
cpu_time = 5
kill_grace = "500ms"

[rlimits]
fsize = "unlimited"

[cgroup]
memory = "256M"
pids = { value = 64, optional = true }
cpu = 0.5
cpuset_cpus = "0-1"

[seccomp]
action = "kill"
allow = ["@clock"]
deny = ["chown"]

[[seccomp.rule]]
syscall = "openat"
action = "errno"
errno = "EACCES"
args = [{ index = 0, op = "eq", value = -100 }, { index = 2, op = "masked_eq", value = 1, mask = 3 }]

[network]
mode = "none"
dns = ["1.1.1.1", "2606:4700::1111"]
hosts = { "db.local" = "10.0.0.2" }
)",
                                      "custom.toml");
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  CHECK(p->name == "custom");
  CHECK(Contains(p->mask, "/root"));  // default masks stay
  CHECK(Contains(p->mask, "/srv/secret"));
  CHECK(p->tmp_size_bytes == 128ull << 20);
  CHECK(p->shm_size_bytes == 1048576);
  REQUIRE(p->mounts.size() == 2);
  CHECK(p->mounts[0].kind == MountSpec::Kind::kBind);
  CHECK(p->mounts[0].optional);
  CHECK_FALSE(p->mounts[0].writable);
  CHECK(p->mounts[1].kind == MountSpec::Kind::kTmpfs);
  CHECK(p->mounts[1].size_bytes == 1ull << 30);
  CHECK(p->wall_time_ms == 90000);
  CHECK(p->cpu_time_ms == 5000);
  CHECK(p->kill_grace_ms == 500);
  CHECK(p->rlimits.fsize_bytes == ~0ull);
  CHECK(p->cgroup.memory_max_bytes.value == (256ull << 20));
  CHECK_FALSE(p->cgroup.memory_max_bytes.optional);
  CHECK(p->cgroup.pids_max.value == 64u);
  CHECK(p->cgroup.pids_max.optional);
  CHECK(p->cgroup.cpu.value == 0.5);
  CHECK(p->cgroup.cpuset_cpus.value == "0-1");
  CHECK_FALSE(p->cgroup.io_max.value.has_value());
  CHECK(p->seccomp.deny_action == SeccompAction::kKill);
  CHECK(Contains(p->seccomp.deny, "chown"));
  CHECK(Contains(p->seccomp.deny, "mount"));            // from default
  CHECK_FALSE(Contains(p->seccomp.deny, "settimeofday"));  // allowed again
  // Inherited rules without an explicit action take this policy's action;
  // explicit ones keep theirs.
  for (const SyscallRule& r : p->seccomp.rules) {
    INFO(r.syscall);
    if (r.syscall == "clone") CHECK(r.action == SeccompAction::kKill);
    if (r.syscall == "clone3") CHECK(r.action == SeccompAction::kErrno);
    if (r.syscall == "clone3") CHECK(r.errno_value == 38);
    if (r.syscall == "openat") {
      CHECK(r.errno_value == 13);
      REQUIRE(r.args.size() == 2);
      CHECK(r.args[0].value == static_cast<uint64_t>(-100));
      CHECK(r.args[1].op == ArgCondition::Op::kMaskedEq);
      CHECK(r.args[1].mask == 3);
    }
  }
  CHECK(p->network.mode == NetworkSpec::Mode::kNone);
  CHECK(p->network.hosts.at("db.local") == "10.0.0.2");

  Result<Policy> again = LoadPolicyString(PolicyToToml(p.value()), "custom.toml");
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(again->hash == p->hash);
}

TEST_CASE("policy: bounds on counts and sizes", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  std::string big(kMaxPolicyBytes + 1, '#');
  CHECK(ErrorOf(big).find("larger than") != std::string::npos);

  std::string masks = "[filesystem]\nmask = [";
  for (size_t i = 0; i <= kMaxMounts; ++i) masks += "\"/m" + std::to_string(i) + "\",";
  masks += "]\n";
  CHECK(ErrorOf(masks).find("at most 64") != std::string::npos);

  std::string mounts;
  for (size_t i = 0; i <= kMaxMounts; ++i) {
    mounts += "[[filesystem.mount]]\ntype = \"tmpfs\"\ndestination = \"/t" + std::to_string(i) + "\"\n";
  }
  CHECK(ErrorOf(mounts).find("[[filesystem.mount]] entries") != std::string::npos);

  std::string env_set = "[env.set]\n";
  for (size_t i = 0; i <= kMaxEnv; ++i) env_set += "V" + std::to_string(i) + " = \"x\"\n";
  CHECK(ErrorOf(env_set).find("environment variables") != std::string::npos);

  std::string rules;
  for (size_t i = 0; i <= kMaxSyscallRules; ++i) {
    rules += "[[seccomp.rule]]\nsyscall = \"read\"\nargs = [{ index = 0, op = \"eq\", value = " +
             std::to_string(i) + " }]\n";
  }
  CHECK(ErrorOf(rules).find("[[seccomp.rule]] entries") != std::string::npos);

  std::string long_path = "[filesystem]\ncwd = \"/" + std::string(kMaxPathBytes, 'a') + "\"\n";
  CHECK(ErrorOf(long_path).find("longer than") != std::string::npos);
  CHECK(ErrorOf("[filesystem]\ntmp_size = \"99999999999T\"\n").find("larger than 1P") != std::string::npos);
}

TEST_CASE("policy: every network.allow entry is parsed at load, as a veth run parses it", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  // Each of these loaded, and only a veth run refused it.
  struct Case {
    const char* entry;
    const char* says;
  };
  for (const Case& c : {Case{"1.2.3.4:99999", "1..65535"}, Case{"1.2.3.4:0", "1..65535"},
                        Case{"pypi.org:443", "resolves no host names"},
                        Case{"10.0.0.1/8", "did you mean 10.0.0.0/8"}, Case{"10.0.0.0/33", "0..32"},
                        Case{"host", "needs a port"}, Case{"*", "not an IPv4 address"},
                        Case{"[::1]:443", "IPv6"}, Case{"1.2.3.4:80/sctp", "not a number"}}) {
    INFO(c.entry);
    std::string err = ErrorOf(std::string("[network]\nmode = \"veth\"\nallow = [\"10.0.0.1\", \"") +
                              c.entry + "\"]\n");
    CHECK_THAT(err, Catch::StartsWith("t.toml:4:"));
    CHECK_THAT(err, Catch::Contains(std::string("network.allow entry \"") + c.entry + "\""));
    CHECK_THAT(err, Catch::Contains(c.says));
  }
  Result<Policy> ok = LoadPolicyString(
      "extends = \"none\"\n[network]\nmode = \"veth\"\nallow = [\"10.0.0.0/8:443/tcp\", "
      "\"192.0.2.9:53/udp\", \"host:9000\", \"0.0.0.0/0\"]\n",
      "t.toml");
  INFO(ok.status().ToString());
  REQUIRE(ok.ok());
  CHECK(ok->network.allow.size() == 4);
}

TEST_CASE("policy: the README's network example loads", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  std::ifstream in(RepoPolicies() + "/README.md");
  REQUIRE(in);
  std::string line;
  int found = 0;
  while (std::getline(in, line)) {
    if (line.rfind("allow = [\"", 0) != 0 || line.find("egress") == std::string::npos) continue;
    ++found;
    INFO(line);
    Result<Policy> p = LoadPolicyString(
        "extends = \"none\"\n[network]\nmode = \"veth\"\n" + line + "\n", "readme.toml");
    INFO(p.status().ToString());
    CHECK(p.ok());
  }
  CHECK(found == 1);
}

TEST_CASE("policy: mounts follow one rule (MountProblem), as --bind does", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  auto mount = [](const std::string& body) { return "[[filesystem.mount]]\n" + body; };
  CHECK_THAT(ErrorOf(mount("source = \"/srv\"\ndestination = \"/\"\n")),
             Catch::Contains("destination must not be \"/\""));
  CHECK_THAT(ErrorOf(mount("source = \"/srv\"\ndestination = \"/./\"\n")),
             Catch::Contains("destination must not be \"/\""));
  CHECK_THAT(ErrorOf(mount("source = \"/srv\"\ndestination = \"/a/../b\"\n")),
             Catch::Contains("'..'"));
  std::string src = ErrorOf(mount("source = \"srv\"\ndestination = \"/b\"\n"));
  CHECK_THAT(src, Catch::StartsWith("t.toml:3:"));
  CHECK_THAT(src, Catch::Contains("source \"srv\": path must be absolute"));
  CHECK_THAT(ErrorOf(mount("type = \"tmpfs\"\ndestination = \"/\"\n")), Catch::Contains("must not be \"/\""));
}

TEST_CASE("policy: group expansion and allow", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  Result<Policy> p = LoadPolicyString("extends = \"none\"\n[seccomp]\ndeny = [\"@mount\", \"@keyring\", \"ptrace\"]\n"
                                      "allow = [\"chroot\"]\n",
                                      "g.toml");
  REQUIRE(p.ok());
  const std::vector<std::string>& d = p->seccomp.deny;
  CHECK(std::is_sorted(d.begin(), d.end()));
  CHECK(Contains(d, "fsopen"));
  CHECK(Contains(d, "keyctl"));
  CHECK(Contains(d, "ptrace"));
  CHECK_FALSE(Contains(d, "chroot"));
  CHECK(d.size() == 11 - 1 + 3 + 1);
}

TEST_CASE("policy: every syscall in every group exists on x86_64", "[policy]") {
  for (const policy::SyscallGroup& g : policy::AllSyscallGroups()) {
    CHECK(g.name.starts_with("@"));
    CHECK_FALSE(g.syscalls.empty());
    for (std::string_view s : g.syscalls) {
      INFO(std::string(g.name) + ": " + std::string(s));
      CHECK(policy::SyscallNumber(s) >= 0);
    }
  }
  CHECK(policy::FindSyscallGroup("@mount") != nullptr);
  CHECK(policy::FindSyscallGroup("@nope") == nullptr);
}

TEST_CASE("policy: PolicyForProgram picks by suffix, then shebang, else default", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  testing::TempDir dir;
  auto name_for = [](const std::string& path) {
    Result<Policy> p = PolicyForProgram(path);
    REQUIRE(p.ok());
    return p->name;
  };
  CHECK(name_for("/x/app.py") == "python");
  CHECK(name_for("app.js") == "node");
  CHECK(name_for("/srv/app.mjs") == "node");
  CHECK(name_for("/srv/app.cjs") == "node");
  CHECK(name_for("build.sh") == "shell");
  CHECK(name_for("/no/such/file") == "default");
  CHECK(name_for("/x/.py") == "default");

  WriteText(dir.Join("tool"), "#!/usr/bin/env -S python3.11 -u\nprint(1)\n");
  CHECK(name_for(dir.Join("tool")) == "python");
  WriteText(dir.Join("run"), "#! /bin/bash -e\necho hi\n");
  CHECK(name_for(dir.Join("run")) == "shell");
  WriteText(dir.Join("srv"), "#!/usr/bin/node\n");
  CHECK(name_for(dir.Join("srv")) == "node");
  WriteText(dir.Join("data"), "\x7f" "ELF....");
  CHECK(name_for(dir.Join("data")) == "default");
  WriteText(dir.Join("perl"), "#!/usr/bin/perl\n");
  CHECK(name_for(dir.Join("perl")) == "default");
  CHECK(name_for("/usr/bin/python3") == "python");
}

TEST_CASE("policy: ResolvePolicy takes names and files", "[policy]") {
  PolicyDirEnv env(RepoPolicies());
  testing::TempDir dir;
  WriteText(dir.Join("mine.toml"), "extends = \"shell\"\n[identity]\nuid = 1234\n");
  Result<Policy> p = ResolvePolicy(dir.Join("mine.toml"));
  REQUIRE(p.ok());
  CHECK(p->uid == 1234);
  CHECK(p->name == "mine");
  CHECK(p->source_path == dir.Join("mine.toml"));
  CHECK(p->interpreter == std::vector<std::string>{"/bin/sh"});

  Result<Policy> missing = ResolvePolicy("nonexistent");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("shipped policies: default") != std::string::npos);
  CHECK_FALSE(ResolvePolicy(dir.Join("absent.toml")).ok());
}

TEST_CASE("policy: PolicyDirectory honours WARDEN_POLICY_DIR", "[policy]") {
  PolicyDirEnv env("/some/where");
  CHECK(PolicyDirectory() == "/some/where");
}

}  // namespace
}  // namespace warden

namespace warden {
namespace {

// The "Every key" example in policies/README.md must stay a valid policy.
TEST_CASE("policy: the README's full example loads", "[policy]") {
  std::string dir = RepoPolicies();
  PolicyDirEnv env(dir);
  std::ifstream f(dir + "/README.md");
  REQUIRE(f.good());
  std::string readme((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t section = readme.find("## Every key");
  REQUIRE(section != std::string::npos);
  size_t begin = readme.find("```toml\n", section);
  REQUIRE(begin != std::string::npos);
  begin += 8;
  size_t end = readme.find("```", begin);
  REQUIRE(end != std::string::npos);
  Result<Policy> p = LoadPolicyString(readme.substr(begin, end - begin), "README.md");
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  CHECK(p->mounts.size() == 2);
  CHECK(p->network.hosts.at("db.local") == "10.0.0.2");
  CHECK(p->seccomp.rules.back().errno_value == 13);
}

}  // namespace
}  // namespace warden
