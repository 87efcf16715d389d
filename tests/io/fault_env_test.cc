#include "io/fault_env.h"

#include <string>
#include <vector>

#include "base/file.h"
#include "test_util.h"

using warden::testing::TempDir;
namespace io = warden::io;

namespace {

std::string Pages(const std::string& fill) {
  std::string out;
  for (char c : fill) out += std::string(io::kFaultPageBytes, c);
  return out;
}

void WriteSynced(io::FaultEnv& env, const std::string& path, const std::string& data) {
  auto f = env.Open(path, io::kOpenWrite | io::kOpenCreate);
  REQUIRE(f.ok());
  REQUIRE(env.Write(*f.value(), data.data(), data.size(), 0).ok());
  REQUIRE(env.Sync(*f.value(), true).ok());
}

std::string Read(const std::string& path) {
  auto r = warden::base::ReadFile(path);
  return r.ok() ? r.value() : "<missing>";
}

}  // namespace

TEST_CASE("fault env: a crash keeps exactly the unsynced pages the filter chooses", "[io][fault_env]") {
  TempDir dir;
  io::FaultEnv env;
  const std::string path = dir.Join("f");
  WriteSynced(env, path, Pages("aaaa"));
  REQUIRE(env.SyncDir(dir.path()).ok());
  auto f = env.Open(path, io::kOpenWrite);
  REQUIRE(f.ok());
  const std::string next = Pages("bbb");
  REQUIRE(env.Write(*f.value(), next.data(), next.size(), io::kFaultPageBytes / 2).ok());
  // Half pages at both ends: four pages hold new bytes.
  CHECK(env.UnsyncedPages(path) == std::vector<uint64_t>{0, 1, 2, 3});
  env.SetCrashPageFilter([&](const std::string& p, uint64_t page) { return p == path && page == 2; });
  env.Crash();
  env.Restart();
  CHECK(Read(path) == Pages("aaba"));
}

TEST_CASE("fault env: a seeded crash drops the same pages every time", "[io][fault_env]") {
  std::vector<std::string> results;
  for (int round = 0; round < 2; ++round) {
    TempDir dir;
    io::FaultEnv env;
    const std::string path = dir.Join("f");
    WriteSynced(env, path, std::string(64 * io::kFaultPageBytes, 'o'));
    REQUIRE(env.SyncDir(dir.path()).ok());
    auto f = env.Open(path, io::kOpenWrite);
    REQUIRE(f.ok());
    const std::string next(64 * io::kFaultPageBytes, 'n');
    REQUIRE(env.Write(*f.value(), next.data(), next.size(), 0).ok());
    env.SetCrashPageSeed(7);
    env.Crash();
    env.Restart();
    std::string now = Read(dir.Join("f"));
    REQUIRE(now.size() == next.size());
    std::string kept;
    for (size_t p = 0; p < 64; ++p) kept += now[p * io::kFaultPageBytes];
    results.push_back(kept);
  }
  CHECK(results[0] == results[1]);
  CHECK(results[0].find('n') != std::string::npos);  // some pages kept
  CHECK(results[0].find('o') != std::string::npos);  // some dropped
}

TEST_CASE("fault env: a directory not synced in its parent vanishes at a crash", "[io][fault_env]") {
  TempDir dir;
  io::FaultEnv env;
  // Two parents, so that syncing one does not make the other durable.
  REQUIRE(warden::base::MkdirIfMissing(dir.Join("a"), 0755).ok());
  REQUIRE(warden::base::MkdirIfMissing(dir.Join("b"), 0755).ok());
  REQUIRE(env.CreateDir(dir.Join("a/lost")).ok());
  REQUIRE(env.CreateDirDurable(dir.Join("b/kept")).ok());
  for (const char* sub : {"a/lost", "b/kept"}) {
    WriteSynced(env, dir.Join(std::string(sub) + "/f"), "data");
    REQUIRE(env.SyncDir(dir.Join(sub)).ok());
  }
  env.Crash();
  env.Restart();
  CHECK(Read(dir.Join("a/lost/f")) == "<missing>");
  CHECK_FALSE(env.Exists(dir.Join("a/lost")));
  CHECK(Read(dir.Join("b/kept/f")) == "data");
}
