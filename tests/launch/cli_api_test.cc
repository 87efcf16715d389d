// The public functions that the warden command is built on, beyond
// Launcher: ParseRunArguments (warden/run_args.h), IsScript and
// PrepareScript (warden/script.h), ResultFile (warden/result_file.h),
// CompileSeccompFilter and ImportOciSeccompProfile (warden/policy.h).
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"
#include "warden/policy.h"
#include "warden/result_file.h"
#include "warden/run_args.h"
#include "warden/script.h"

namespace warden {
namespace {

using testing::TempDir;
using testing::WriteText;

std::string ReadAll(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

TEST_CASE("cli api: ParseRunArguments fills the JobSpec and the caller's own fields", "[api][cli]") {
  Result<RunArguments> r = ParseRunArguments(
      {"--policy", "python", "--memory", "64M", "--pids", "32", "--chdir", "/tmp", "--uid", "1000",
       "--hostname", "box", "--net", "veth", "--allow", "10.0.0.1:53/udp", "--env", "A=1",
       "--timeout", "5s", "--job-id", "j1", "--result-fd", "3", "--stdin", "/dev/null", "--",
       "/bin/echo", "hi"});
  REQUIRE(r.ok());
  const JobSpec& spec = r->spec;
  CHECK(r->policy == "python");
  CHECK(r->result_fd == 3);
  CHECK(r->stdin_file == "/dev/null");
  CHECK_FALSE(r->help);
  CHECK(spec.argv == std::vector<std::string>{"/bin/echo", "hi"});
  REQUIRE(spec.memory.has_value());
  CHECK(spec.memory->value == std::optional<uint64_t>(64ull << 20));
  REQUIRE(spec.pids.has_value());
  CHECK(spec.pids->value == std::optional<uint64_t>(32));
  CHECK(spec.cwd == "/tmp");
  CHECK(spec.uid == std::optional<uint32_t>(1000));
  CHECK(spec.hostname == "box");
  CHECK(spec.net == NetworkSpec::Mode::kVeth);
  CHECK(spec.allow == std::vector<std::string>{"10.0.0.1:53/udp"});
  CHECK(spec.env.at("A") == "1");
  CHECK(spec.wall_time_ms == std::optional<uint64_t>(5000));
  CHECK(spec.job_id == "j1");
  // The policy is the caller's to choose: nothing folded in yet.
  CHECK(spec.policy == Policy{});
}

TEST_CASE("cli api: ParseRunArguments refuses as `warden run` does, and knows --help", "[api][cli]") {
  Result<RunArguments> unknown = ParseRunArguments({"--memroy", "1G", "--", "/bin/true"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == Code::kInvalidArgument);
  CHECK(unknown.status().message().find("--memory") != std::string::npos);
  Result<RunArguments> none = ParseRunArguments({});
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("no command given") != std::string::npos);
  Result<RunArguments> help = ParseRunArguments({"--help"});
  REQUIRE(help.ok());
  CHECK(help->help);
}

// A directory outside /tmp (which the sandbox makes itself, so that a
// script there cannot show its directory), readable by the job's user.
class ScriptDir {
 public:
  ScriptDir() {
    char tmpl[] = "/var/tmp/warden-cli-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
    REQUIRE(::chmod(path_.c_str(), 0755) == 0);
  }
  ~ScriptDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("cli api: a script runs through its #! interpreter from its own directory", "[api][cli]") {
  ScriptDir dir;
  const std::string script = dir.path() + "/job.sh";
  WriteText(script, "#!/bin/sh -e\necho hi\n");
  CHECK(IsScript(script));
  CHECK_FALSE(IsScript("/bin/true"));   // an ELF binary runs as it is
  CHECK_FALSE(IsScript(dir.path()));    // not a regular file

  JobSpec spec;
  spec.policy = testing::RepoDefaultPolicy();
  spec.argv = {script, "arg"};
  std::vector<std::string> warnings;
  int exit_code = -1;
  Status st = PrepareScript(&spec, &warnings, &exit_code);
  REQUIRE(st.ok());
  CHECK(warnings.empty());
  CHECK(spec.argv == std::vector<std::string>{"/bin/sh", "-e", script, "arg"});
  CHECK(spec.policy.cwd == dir.path());
  REQUIRE(spec.extra_mounts.size() == 1);
  CHECK(spec.extra_mounts[0].source == dir.path());
  CHECK(spec.extra_mounts[0].destination == dir.path());
}

TEST_CASE("cli api: a script in the host's /tmp is shown alone, with a warning", "[api][cli]") {
  TempDir dir;
  if (dir.path().rfind("/tmp/", 0) != 0) {
    WARDEN_SKIP("the test's temp directory is not under /tmp (TMPDIR is set)");
    return;
  }
  const std::string script = dir.Join("job.sh");
  WriteText(script, "#!/bin/sh\necho hi\n");
  JobSpec spec;
  spec.policy = testing::RepoDefaultPolicy();
  const std::string cwd = spec.policy.cwd;
  spec.argv = {script};
  std::vector<std::string> warnings;
  int exit_code = -1;
  REQUIRE(PrepareScript(&spec, &warnings, &exit_code).ok());
  CHECK(spec.argv == std::vector<std::string>{"/bin/sh", "/tmp/job.sh"});
  CHECK(spec.policy.cwd == cwd);
  REQUIRE(spec.extra_mounts.size() == 1);
  CHECK(spec.extra_mounts[0].source == script);
  CHECK(spec.extra_mounts[0].destination == "/tmp/job.sh");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("cannot be shown in the sandbox") != std::string::npos);
}

TEST_CASE("cli api: PrepareScript says why a script cannot run, with warden run's exit code", "[api][cli]") {
  TempDir dir;
  JobSpec spec;
  spec.policy = testing::RepoDefaultPolicy();
  std::vector<std::string> warnings;
  int exit_code = 0;

  const std::string empty = dir.Join("empty.sh");
  WriteText(empty, "#!\n");
  spec.argv = {empty};
  Status st = PrepareScript(&spec, &warnings, &exit_code);
  REQUIRE_FALSE(st.ok());
  CHECK(exit_code == 126);
  CHECK(st.message().find("names no interpreter") != std::string::npos);

  const std::string missing = dir.Join("missing.sh");
  WriteText(missing, "#!/no/such/interpreter\n");
  spec.argv = {missing};
  st = PrepareScript(&spec, &warnings, &exit_code);
  REQUIRE_FALSE(st.ok());
  CHECK(exit_code == 127);
  CHECK(st.message().find("/no/such/interpreter") != std::string::npos);
}

TEST_CASE("cli api: ResultFile refuses a planted symlink at Open and replaces one planted later", "[api][cli]") {
  TempDir dir;
  const std::string target = dir.Join("victim");
  WriteText(target, "precious\n");
  const std::string link = dir.Join("result.json");
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  Result<ResultFile> refused = ResultFile::Open(link);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("result.json") != std::string::npos);

  REQUIRE(::unlink(link.c_str()) == 0);
  Result<ResultFile> file = ResultFile::Open(link);
  REQUIRE(file.ok());
  // What a job could do between the check and the write.
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  JobResult result;
  result.status = JobStatus::kOk;
  result.exit_code = 0;
  result.job_id = "j-result";
  REQUIRE(file->Write(result).ok());
  CHECK(ReadAll(target) == "precious\n");
  struct stat st;
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(ReadAll(link) == JobResultToJson(result));

  ResultFile moved = std::move(file.value());
  CHECK(moved.Write(result).ok());
  CHECK(file->Write(result).code() == Code::kFailedPrecondition);
}

TEST_CASE("cli api: an OCI profile imports to a spec that compiles, and a refused one says why", "[api][cli]") {
  TempDir dir;
  const std::string good = dir.Join("good.json");
  WriteText(good, R"({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                       {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]})");
  Result<SeccompSpec> spec = ImportOciSeccompProfile(good);
  REQUIRE(spec.ok());
  Result<SeccompFilterInfo> info = CompileSeccompFilter(spec.value());
  REQUIRE(info.ok());
  CHECK(info->instructions > 0);
  CHECK(info->hash.size() == 64);

  const std::string trap = dir.Join("trap.json");
  WriteText(trap, R"({"defaultAction": "SCMP_ACT_TRAP"})");
  Result<SeccompSpec> refused = ImportOciSeccompProfile(trap);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK(refused.status().message().find("trap.json") != std::string::npos);
}

}  // namespace
}  // namespace warden
