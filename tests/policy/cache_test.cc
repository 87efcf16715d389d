#include "policy/cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/cache_file.h"
#include "test_util.h"

namespace warden {
namespace {

using policy::CacheEntry;
using policy::DecodeEntry;
using policy::EncodeEntry;

using testing::RepoPolicies;
using testing::WriteText;

std::vector<std::string> EntryFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// A policy with every field away from its default, so that a field the
// encoding forgot cannot round-trip by luck.
Policy EveryField() {
  Policy p;
  p.name = "every";
  p.source_path = "/etc/warden/every.toml";
  p.hash = std::string(64, 'a');
  p.match_suffixes = {".rb", ".ru"};
  p.match_interpreters = {"ruby"};
  p.interpreter = {"/usr/bin/env", "ruby", "-W0"};
  p.user_namespace = true;
  p.rootfs = "/srv/image";
  p.mask = {"/secret", ""};
  MountSpec bind;
  bind.source = "/data";
  bind.destination = "/mnt/data";
  bind.writable = true;
  bind.optional = true;
  bind.owned = true;
  MountSpec tmp;
  tmp.kind = MountSpec::Kind::kTmpfs;
  tmp.destination = "/scratch";
  tmp.size_bytes = 1ull << 40;
  p.mounts = {bind, tmp};
  p.tmp_size_bytes = 1;
  p.shm_size_bytes = UINT64_MAX;
  p.hostname = "h";
  p.cwd = "/work";
  p.uid = 4000000000u;
  p.gid = 7;
  p.allow_uids = {{1000, 1999}, {4000000000u, 4294967294u}};
  p.allow_gids = {{7, 7}};
  p.env = {{"A", "1"}, {"B", ""}, {"LONG", std::string(300, 'x')}};
  p.env_pass = {"TERM", "TZ"};
  p.path = "/bin";
  p.wall_time_ms = 5;
  p.cpu_time_ms = 6;
  p.kill_grace_ms = 7;
  p.output_max_bytes = 8;
  p.rlimits = {1, 2, 3, 4, 5};
  p.cgroup.memory_max_bytes = {256ull << 20, true};
  p.cgroup.memory_swap_max_bytes = {0, false};  // set, and zero
  p.cgroup.pids_max = {std::nullopt, true};      // unset, but optional
  p.cgroup.cpu = {0.25, false};
  p.cgroup.cpuset_cpus = {"0-1", true};
  p.cgroup.cpuset_mems = {"", false};
  p.cgroup.io_max = {"8:0 rbps=1048576", false};
  p.seccomp.deny = {"mount", "bpf"};
  p.seccomp.allow = {"chown"};
  SyscallRule r;
  r.syscall = "socket";
  r.action = SeccompAction::kLog;
  r.errno_value = 13;
  r.args = {{0, ArgCondition::Op::kMaskedEq, 17, 0xffffffff}, {5, ArgCondition::Op::kGe, UINT64_MAX, 0}};
  SyscallRule kill;
  kill.syscall = "ptrace";
  kill.action = SeccompAction::kKill;
  p.seccomp.rules = {r, kill};
  p.seccomp.deny_action = SeccompAction::kKill;
  p.seccomp.deny_errno = 38;
  p.seccomp.unknown_errno = 4095;
  p.network.mode = NetworkSpec::Mode::kVeth;
  p.network.allow = {"192.0.2.1:443/tcp", "host:9000"};
  p.network.dns = {"192.0.2.53"};
  p.network.hosts = {{"db", "192.0.2.2"}, {"cache", "192.0.2.3"}};
  return p;
}

CacheEntry EntryOf(const Policy& p) {
  CacheEntry e;
  e.key = std::string(64, 'b');
  e.deps = {{"/p/default.toml", base::Sha256("x")}};
  e.policy = p;
  return e;
}

TEST_CASE("policy cache: entries round-trip every field", "[policy]") {
  Policy every = EveryField();
  REQUIRE_FALSE(every == Policy{});
  CacheEntry decoded;
  REQUIRE(DecodeEntry(EncodeEntry(EntryOf(every)), &decoded));
  CHECK(decoded.policy == every);
  CHECK(decoded.key == std::string(64, 'b'));
  REQUIRE(decoded.deps.size() == 1);
  CHECK(decoded.deps[0].path == "/p/default.toml");
  CHECK(decoded.deps[0].sha256 == base::Sha256("x"));

  CacheEntry plain;
  REQUIRE(DecodeEntry(EncodeEntry(EntryOf(Policy{})), &plain));
  CHECK(plain.policy == Policy{});

  // The shipped policies, as the loader builds them.
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, RepoPolicies());
  for (const char* name : {"default", "python", "node", "shell"}) {
    INFO(name);
    Result<Policy> p = ResolvePolicy(name);
    REQUIRE(p.ok());
    CacheEntry e;
    REQUIRE(DecodeEntry(EncodeEntry(EntryOf(p.value())), &e));
    CHECK(e.policy == p.value());
  }
}

TEST_CASE("policy cache: malformed entries are refused", "[policy]") {
  const std::string body = EncodeEntry(EntryOf(EveryField()));
  CacheEntry e;
  REQUIRE(DecodeEntry(body, &e));
  // Every truncation, and a trailing byte.
  for (size_t n = 0; n < body.size(); ++n) {
    INFO(n);
    CHECK_FALSE(DecodeEntry(std::string_view(body).substr(0, n), &e));
  }
  CHECK_FALSE(DecodeEntry(body + '\0', &e));
  // An out-of-range enum: the network mode is the body's third-from-last
  // field group; patching the encoded mode byte (value 2, kVeth) to 3.
  Policy p = EveryField();
  p.network.allow.clear();
  p.network.dns.clear();
  p.network.hosts.clear();
  std::string b = EncodeEntry(EntryOf(p));
  // Layout end: mode, then three empty lists (one zero byte each).
  REQUIRE(b.size() > 4);
  REQUIRE(b.substr(b.size() - 4) == std::string("\x02\x00\x00\x00", 4));
  CHECK(DecodeEntry(b, &e));
  b[b.size() - 4] = '\x03';
  CHECK_FALSE(DecodeEntry(b, &e));
  // One encoding per value: a number written longer than needed is refused
  // (the key's length, 64, as two bytes).
  std::string longer = body;
  REQUIRE(longer[0] == '\x40');
  longer.replace(0, 1, std::string("\xc0\x00", 2));
  CHECK_FALSE(DecodeEntry(longer, &e));
  // A length longer than the input, and a varint over 64 bits.
  CHECK_FALSE(DecodeEntry(std::string(64, '\xff'), &e));
  CHECK_FALSE(DecodeEntry(std::string("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11), &e));
}

TEST_CASE("policy cache: a load is cached, and any change to a file of the chain is a miss",
          "[policy]") {
  testing::TempDir dir;
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, dir.path());
  const std::string cache_dir = cache.Join("policy");
  CHECK(policy::PolicyCacheDir(::warden::testing::HostConfig()) == cache_dir);
  WriteText(dir.Join("base.toml"), "extends = \"none\"\n[identity]\nhostname = \"one\"\n");
  WriteText(dir.Join("child.toml"), "extends = \"base\"\n[identity]\nuid = 1000\n");

  Result<Policy> first = ResolvePolicy("child");
  REQUIRE(first.ok());
  CHECK(first->hostname == "one");
  CHECK(first->uid == 1000);
  std::vector<std::string> files = EntryFiles(cache_dir);
  REQUIRE(files.size() == 1);
  CHECK(files[0].size() == 64 + 4);
  CHECK(files[0].ends_with(".pol"));
  struct stat st;
  REQUIRE(stat((cache_dir + "/" + files[0]).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // The second load comes from the entry: replace the entry's policy with a
  // different one under the same key and it is what the load returns.
  const std::string text = "extends = \"base\"\n[identity]\nuid = 1000\n";
  const std::string key =
      policy::PolicyCacheKey(dir.Join("child.toml"), "child", dir.path(), text);
  CHECK(files[0] == key + ".pol");
  Result<Policy> again = ResolvePolicy("child");
  REQUIRE(again.ok());
  CHECK(again.value() == first.value());
  Policy marked = first.value();
  marked.hostname = "from-cache";
  std::vector<policy::Dependency> deps = {
      {dir.Join("base.toml"), base::Sha256("extends = \"none\"\n[identity]\nhostname = \"one\"\n")}};
  REQUIRE(policy::WriteCachedPolicy(cache_dir, key, marked, deps).ok());
  CHECK(ResolvePolicy("child")->hostname == "from-cache");

  // The extended file changes: its recorded hash no longer matches.
  WriteText(dir.Join("base.toml"), "extends = \"none\"\n[identity]\nhostname = \"two\"\n");
  Result<Policy> rebased = ResolvePolicy("child");
  REQUIRE(rebased.ok());
  CHECK(rebased->hostname == "two");
  CHECK(rebased->hash != first->hash);

  // The file itself changes: a new key.
  WriteText(dir.Join("child.toml"), "extends = \"base\"\n[identity]\nuid = 1001\n");
  Result<Policy> edited = ResolvePolicy("child");
  REQUIRE(edited.ok());
  CHECK(edited->uid == 1001);
  CHECK(edited->hostname == "two");

  // Another policy directory: another key, even for the same file.
  testing::TempDir other;
  WriteText(other.Join("base.toml"), "extends = \"none\"\n[identity]\nhostname = \"three\"\n");
  {
    ::warden::testing::ScopedHostConfig other_env(&base::HostConfig::policy_dir, other.path());
    Result<Policy> moved = LoadPolicyFile(dir.Join("child.toml"));
    REQUIRE(moved.ok());
    CHECK(moved->hostname == "three");
  }

  // Errors are never cached: the same broken text fails every time.
  const size_t before = EntryFiles(cache_dir).size();
  WriteText(dir.Join("child.toml"), "extends = \"base\"\n[identity]\nuid = -1\n");
  CHECK_FALSE(ResolvePolicy("child").ok());
  CHECK_FALSE(ResolvePolicy("child").ok());
  CHECK(EntryFiles(cache_dir).size() == before);
  for (const std::string& f : EntryFiles(cache_dir)) CHECK(f.ends_with(".pol"));
}

TEST_CASE("policy cache: one reader opens the cache directory once and reads each extended "
          "file once",
          "[policy]") {
  testing::TempDir dir;
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, dir.path());
  const std::string cache_dir = cache.Join("policy");
  const std::string base_text = "extends = \"none\"\n[identity]\nhostname = \"one\"\n";
  const std::string a_text = "extends = \"base\"\n[identity]\nuid = 1000\n";
  const std::string b_text = "extends = \"base\"\n[identity]\nuid = 1001\n";
  WriteText(dir.Join("base.toml"), base_text);
  WriteText(dir.Join("a.toml"), a_text);
  WriteText(dir.Join("b.toml"), b_text);
  REQUIRE(ResolvePolicy("a").ok());
  REQUIRE(ResolvePolicy("b").ok());
  const std::string key_a = policy::PolicyCacheKey(dir.Join("a.toml"), "a", dir.path(), a_text);
  const std::string key_b = policy::PolicyCacheKey(dir.Join("b.toml"), "b", dir.path(), b_text);
  CHECK(key_a == policy::PolicyCacheKey(dir.Join("a.toml"), "a", dir.path(), base::Sha256(a_text)));

  policy::CacheReader reader(cache_dir);
  std::optional<Policy> a = reader.Read(key_a);
  REQUIRE(a.has_value());
  CHECK(a->uid == 1000);
  CHECK(a->hostname == "one");

  // The directory was opened once: moved away, it is still read through
  // the reader's fd (a new reader misses).
  REQUIRE(::rename(cache_dir.c_str(), (cache_dir + ".moved").c_str()) == 0);
  CHECK_FALSE(policy::ReadCachedPolicy(cache_dir, key_b).has_value());
  // base.toml was read once: b is checked against the same snapshot, even
  // though the file changed since.
  WriteText(dir.Join("base.toml"), "extends = \"none\"\n[identity]\nhostname = \"two\"\n");
  std::optional<Policy> b = reader.Read(key_b);
  REQUIRE(b.has_value());
  CHECK(b->uid == 1001);
  CHECK(b->hostname == "one");
  // The snapshot's digest serves the same bytes only.
  CHECK(reader.Digest(dir.Join("base.toml"), base_text) == base::Sha256(base_text));
  CHECK(reader.Digest(dir.Join("base.toml"), "other") == base::Sha256("other"));
  // A new reader sees the change: the entry's dependency no longer matches.
  CHECK_FALSE(policy::ReadCachedPolicy(cache_dir + ".moved", key_b).has_value());
  REQUIRE(::rename((cache_dir + ".moved").c_str(), cache_dir.c_str()) == 0);
  Result<Policy> rebased = ResolvePolicy("b");
  REQUIRE(rebased.ok());
  CHECK(rebased->hostname == "two");
}

TEST_CASE("policy cache: corrupt, untrusted and unwritable caches only cost a parse",
          "[policy]") {
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, RepoPolicies());
  const std::string cache_dir = cache.Join("policy");
  Result<Policy> want = ResolvePolicy("python");
  REQUIRE(want.ok());
  // python extends default: one entry, for the chain's top file.
  REQUIRE(EntryFiles(cache_dir).size() == 1);
  const std::string entry = cache_dir + "/" + EntryFiles(cache_dir)[0];

  auto flip = [&](long offset) {
    std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset, std::ios::end);
    char c = 0;
    f.get(c);
    f.seekp(offset, std::ios::end);
    f.put(static_cast<char>(c ^ 0x20));
  };
  flip(-10);  // in the body: the digest fails
  CHECK(ResolvePolicy("python").value() == want.value());
  // ... and the entry was rewritten: its digest holds again.
  std::optional<std::string> data = base::ReadTrustedCacheFile(entry, 0, 1 << 20, "test");
  REQUIRE(data.has_value());
  CHECK(data->substr(0, 8) == "WDNPOL01");
  CHECK(base::Sha256(std::string_view(*data).substr(40)) ==
        [&] {
          base::Sha256Digest d;
          std::memcpy(d.data(), data->data() + 8, 32);
          return d;
        }());

  REQUIRE(truncate(entry.c_str(), 20) == 0);
  CHECK(ResolvePolicy("python").value() == want.value());

  // A file others could have written is ignored, and replaced by our own.
  REQUIRE(chmod(entry.c_str(), 0666) == 0);
  CHECK(ResolvePolicy("python").value() == want.value());
  struct stat st;
  REQUIRE(stat(entry.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  // A cache that cannot be written is no error.
  ::warden::testing::ScopedHostConfig bad(&base::HostConfig::cache_dir, "/proc/warden-no-such-dir");
  Result<Policy> uncached = ResolvePolicy("python");
  REQUIRE(uncached.ok());
  CHECK(uncached.value() == want.value());
}

TEST_CASE("cache files: the oldest entries beyond the limit are removed", "[base]") {
  testing::TempDir dir;
  const std::string d = dir.Join("c");
  for (int i = 0; i < 5; ++i) {
    const std::string name = "e" + std::to_string(i);
    REQUIRE(base::WriteCacheFile(d, name, "x", 3).ok());
    // Distinct modification times, oldest first.
    struct timespec times[2] = {{0, UTIME_OMIT}, {1000 + i, 0}};
    REQUIRE(utimensat(AT_FDCWD, (d + "/" + name).c_str(), times, 0) == 0);
  }
  REQUIRE(base::WriteCacheFile(d, "e5", "x", 3).ok());
  std::vector<std::string> left = EntryFiles(d);
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{"e3", "e4", "e5"});
  CHECK(base::ReadTrustedCacheFile(d + "/e5", 1, 1, "test") == std::optional<std::string>("x"));
  CHECK_FALSE(base::ReadTrustedCacheFile(d + "/e5", 2, 10, "test").has_value());
  CHECK_FALSE(base::ReadTrustedCacheFile(d + "/e0", 0, 10, "test").has_value());
}

TEST_CASE("cache files: temp files of writers that died are removed, others kept", "[base]") {
  testing::TempDir dir;
  const std::string d = dir.Join("c");
  REQUIRE(base::WriteCacheFile(d, "e0", "x", 8).ok());
  WriteText(d + "/.e1.4242.7.tmp", "partial");  // a writer killed an hour ago
  struct timespec old[2] = {{0, UTIME_OMIT}, {::time(nullptr) - 3600, 0}};
  REQUIRE(utimensat(AT_FDCWD, (d + "/.e1.4242.7.tmp").c_str(), old, 0) == 0);
  WriteText(d + "/.e2.4243.8.tmp", "partial");  // a writer at work right now
  REQUIRE(base::WriteCacheFile(d, "e3", "x", 8).ok());
  std::vector<std::string> left = EntryFiles(d);
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{".e2.4243.8.tmp", "e0", "e3"});
}

TEST_CASE("policy cache: a policy's [env.set] secrets are cached readable by its owner only",
          "[policy]") {
  testing::TempDir cache;
  testing::TempDir dir;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, dir.path());
  WriteText(dir.Join("secret.toml"),
            "extends = \"none\"\n[env.set]\nAPI_TOKEN = \"hunter2\"\n");
  REQUIRE(::chmod(dir.Join("secret.toml").c_str(), 0600) == 0);
  REQUIRE(ResolvePolicy("secret").ok());
  const std::string cache_dir = cache.Join("policy");
  std::vector<std::string> files = EntryFiles(cache_dir);
  REQUIRE(files.size() == 1);
  struct stat st;
  REQUIRE(::stat((cache_dir + "/" + files[0]).c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  REQUIRE(::stat(cache_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  // The attack: any other uid (a later job sees /var/cache) reads the entry.
  const std::string entry = cache_dir + "/" + files[0];
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    ::_exit(::open(entry.c_str(), O_RDONLY) >= 0 ? 1 : 0);
  }
  int ws = 0;
  REQUIRE(::waitpid(pid, &ws, 0) == pid);
  CHECK(WIFEXITED(ws));
  CHECK(WEXITSTATUS(ws) == 0);
}

TEST_CASE("policy cache: an entry open to others, or another user's, is not trusted",
          "[policy]") {
  testing::TempDir cache;
  ::warden::testing::ScopedHostConfig cache_env(&base::HostConfig::cache_dir, cache.path());
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, RepoPolicies());
  const std::string cache_dir = cache.Join("policy");
  REQUIRE(ResolvePolicy("shell").ok());
  REQUIRE(EntryFiles(cache_dir).size() == 1);
  const std::string entry = cache_dir + "/" + EntryFiles(cache_dir)[0];
  CHECK(base::ReadTrustedCacheFile(entry, 0, 1 << 20, "test").has_value());
  // Readable by others (as older wardens wrote it): a miss, then rewritten 0600.
  REQUIRE(::chmod(entry.c_str(), 0644) == 0);
  CHECK_FALSE(base::ReadTrustedCacheFile(entry, 0, 1 << 20, "test").has_value());
  REQUIRE(ResolvePolicy("shell").ok());
  struct stat st;
  REQUIRE(::stat(entry.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  // Another owner.
  if (::geteuid() == 0) {
    REQUIRE(::chown(entry.c_str(), 12345, 12345) == 0);
    CHECK_FALSE(base::ReadTrustedCacheFile(entry, 0, 1 << 20, "test").has_value());
  }
}

TEST_CASE("cache files: a symlinked, foreign or world-writable cache directory is refused",
          "[base]") {
  testing::TempDir dir;
  testing::TempDir elsewhere;
  // A symlink planted as the cache directory: nothing is written through it.
  REQUIRE(::symlink(elsewhere.path().c_str(), dir.Join("c").c_str()) == 0);
  CHECK_FALSE(base::WriteCacheFile(dir.Join("c"), "e0", "x", 8).ok());
  CHECK(EntryFiles(elsewhere.path()).empty());
  WriteText(elsewhere.Join("e1"), "x");
  REQUIRE(::chmod(elsewhere.Join("e1").c_str(), 0600) == 0);
  CHECK_FALSE(base::ReadTrustedCacheFile(dir.Join("c/e1"), 0, 10, "test").has_value());

  // Writable by others: anyone could have planted its entries.
  const std::string open_dir = dir.Join("open");
  REQUIRE(::mkdir(open_dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
  WriteText(open_dir + "/e1", "x");
  REQUIRE(::chmod((open_dir + "/e1").c_str(), 0600) == 0);
  CHECK_FALSE(base::ReadTrustedCacheFile(open_dir + "/e1", 0, 10, "test").has_value());
  CHECK_FALSE(base::WriteCacheFile(open_dir, "e2", "x", 8).ok());

  // Ours and 0755 (made by an older warden): tightened to 0700 and used.
  const std::string old_dir = dir.Join("old");
  REQUIRE(::mkdir(old_dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(old_dir.c_str(), 0755) == 0);
  REQUIRE(base::WriteCacheFile(old_dir, "e3", "x", 8).ok());
  struct stat st;
  REQUIRE(::stat(old_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  CHECK(base::ReadTrustedCacheFile(old_dir + "/e3", 0, 10, "test").has_value());

  // Another user's directory.
  if (::geteuid() == 0) {
    REQUIRE(::chown(old_dir.c_str(), 12345, 12345) == 0);
    CHECK_FALSE(base::ReadTrustedCacheFile(old_dir + "/e3", 0, 10, "test").has_value());
    CHECK_FALSE(base::WriteCacheFile(old_dir, "e4", "x", 8).ok());
  }
}

}  // namespace
}  // namespace warden
