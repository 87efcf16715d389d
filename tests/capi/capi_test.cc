// The C interface of include/warden/warden.h: every function, and every
// misuse it must survive (NULL, freed, foreign and wrong-kind handles, double
// frees, waiting twice, killing or cancelling an ended job, bad stream
// numbers, results read before the end). Under `make asan` these run with
// ASan and UBSan, which turn a touch of freed memory into a failure.
#include "warden/warden.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "warden/job.h"

namespace warden {
namespace {

using testing::RepoPolicies;
using testing::TempDir;

// The last error mentions `what` (a function's name, a hint).
bool LastErrorHas(const std::string& what) {
  return std::string(warden_last_error()).find(what) != std::string::npos;
}

// A launcher whose caches live in a temp dir and whose policies are the
// repository's.
class TestLauncher {
 public:
  TestLauncher() {
    warden_launcher_options* options = nullptr;
    REQUIRE(warden_launcher_options_new(&options) == WARDEN_OK);
    REQUIRE(warden_launcher_options_set_cache_dir(options, cache_.path().c_str()) == WARDEN_OK);
    REQUIRE(warden_launcher_options_set_policy_dir(options, RepoPolicies().c_str()) == WARDEN_OK);
    REQUIRE(warden_launcher_options_setenv(options, "CAPI_TEST_VAR", "from-options") == WARDEN_OK);
    const int rc = warden_launcher_new(options, &launcher_);
    INFO(warden_last_error());
    REQUIRE(rc == WARDEN_OK);
    REQUIRE(warden_launcher_options_free(options) == WARDEN_OK);
  }
  ~TestLauncher() { CHECK(warden_launcher_free(launcher_) == WARDEN_OK); }
  TestLauncher(const TestLauncher&) = delete;
  TestLauncher& operator=(const TestLauncher&) = delete;
  warden_launcher* get() const { return launcher_; }

 private:
  TempDir cache_;
  warden_launcher* launcher_ = nullptr;
};

// A spec for `argv` under the default policy, stdout captured.
warden_job_spec* Spec(const std::vector<const char*>& argv) {
  warden_job_spec* spec = nullptr;
  REQUIRE(warden_job_spec_new(&spec) == WARDEN_OK);
  REQUIRE(warden_job_spec_set_argv(spec, argv.size(), argv.data()) == WARDEN_OK);
  REQUIRE(warden_job_spec_set_stdio_capture(spec, WARDEN_STDOUT, 1 << 16) == WARDEN_OK);
  return spec;
}

warden_job* Start(const TestLauncher& launcher, const std::vector<const char*>& argv) {
  warden_job_spec* spec = Spec(argv);
  warden_job* job = nullptr;
  const int rc = warden_job_start(launcher.get(), spec, &job);
  INFO(warden_last_error());
  REQUIRE(rc == WARDEN_OK);
  REQUIRE(warden_job_spec_free(spec) == WARDEN_OK);
  return job;
}

std::string Output(warden_job* job, int stream) {
  char* data = nullptr;
  size_t len = 0;
  REQUIRE(warden_job_output(job, stream, &data, &len) == WARDEN_OK);
  std::string out(data, len);
  CHECK(data[len] == '\0');
  CHECK(warden_free(data) == WARDEN_OK);
  return out;
}

TEST_CASE("capi: versions, error names and status names", "[capi]") {
  CHECK(std::string(warden_version()) == Version());
  CHECK(warden_abi_version() == WARDEN_ABI_VERSION);
  CHECK(std::string(warden_error_name(WARDEN_OK)) == "WARDEN_OK");
  CHECK(std::string(warden_error_name(WARDEN_EBADHANDLE)) == "WARDEN_EBADHANDLE");
  CHECK(std::string(warden_error_name(WARDEN_EINTERNAL)) == "WARDEN_EINTERNAL");
  CHECK(std::string(warden_error_name(1)) == "unknown");
  CHECK(std::string(warden_error_name(-100)) == "unknown");
  // The C enumerators are JobStatus's, in order, with the JSON's names.
  CHECK(std::string(warden_job_status_name(WARDEN_JOB_OK)) == "ok");
  CHECK(std::string(warden_job_status_name(WARDEN_JOB_SECCOMP_VIOLATION)) == "seccomp-violation");
  CHECK(std::string(warden_job_status_name(WARDEN_JOB_SETUP_ERROR)) == "setup-error");
  CHECK(std::string(warden_job_status_name(WARDEN_JOB_CANCELLED)) == "cancelled");
  CHECK(std::string(warden_job_status_name(-1)) == "unknown");
  CHECK(std::string(warden_job_status_name(8)) == "unknown");
  for (int s = WARDEN_JOB_OK; s <= WARDEN_JOB_CANCELLED; ++s) {
    CHECK(std::string(warden_job_status_name(s)) == JobStatusName(static_cast<JobStatus>(s)));
  }
}

TEST_CASE("capi: the last error is per thread and empty before any failure", "[capi]") {
  CHECK(warden_launcher_free(nullptr) == WARDEN_EBADHANDLE);
  CHECK(LastErrorHas("warden_launcher_free"));
  std::string other = "unset";
  std::thread([&] { other = warden_last_error(); }).join();
  CHECK(other.empty());
  // A call that succeeds leaves the message as it was.
  warden_job_spec* spec = nullptr;
  REQUIRE(warden_job_spec_new(&spec) == WARDEN_OK);
  CHECK(LastErrorHas("warden_launcher_free"));
  CHECK(warden_job_spec_free(spec) == WARDEN_OK);
}

TEST_CASE("capi: every function refuses a NULL handle with WARDEN_EBADHANDLE", "[capi]") {
  const char* argv[] = {"/bin/true"};
  int value = 0;
  char* text = nullptr;
  size_t len = 0;
  warden_job* job = nullptr;
  warden_launcher* launcher = nullptr;
  CHECK(warden_free(nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_free(nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_state_dir(nullptr, "/run/x") == WARDEN_EBADHANDLE);
  CHECK(LastErrorHas("warden_launcher_options_set_state_dir: the launcher options handle is NULL"));
  CHECK(warden_launcher_options_set_net_state_dir(nullptr, "/x") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_uid_state_dir(nullptr, "/x") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_cache_dir(nullptr, "/x") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_policy_dir(nullptr, "/x") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_cgroup_parent(nullptr, "x") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_net_pool(nullptr, "10.0.0.0/16") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_uid_range(nullptr, "none") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_cgroup_disable(nullptr, "cpu") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_may_move_self(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_forward_signals(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_may_change_sysctls(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_set_log(nullptr, nullptr, nullptr, WARDEN_LOG_WARN) ==
        WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_setenv(nullptr, "A", "b") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_import_environ(nullptr, nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_options_clear_environment(nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_free(nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_free(nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_policy(nullptr, "default") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_policy_toml(nullptr, "", "x") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_argv(nullptr, 1, argv) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_setenv(nullptr, "A", "b") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_add_env_pass(nullptr, "A") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_add_bind(nullptr, "/a", "/b", WARDEN_BIND_RO) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_timeout_ms(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_stdio_null(nullptr, WARDEN_STDIN) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_stdio_fd(nullptr, WARDEN_STDIN, 0) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_stdio_relay(nullptr, WARDEN_STDOUT, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_stdio_file(nullptr, WARDEN_STDOUT, "/x", 0) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_stdio_capture(nullptr, WARDEN_STDOUT, 0) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_output_dir(nullptr, "/x") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_pty(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_job_id(nullptr, "x") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_cgroup_parent(nullptr, "x") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_die_with_parent(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_cwd(nullptr, "/tmp") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_uid(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_gid(nullptr, 1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_hostname(nullptr, "h") == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_memory_bytes(nullptr, 1 << 20) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_pids(nullptr, 10) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_cpus(nullptr, 1.0) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_tmp_size_bytes(nullptr, 1 << 20) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_set_net(nullptr, WARDEN_NET_NONE) == WARDEN_EBADHANDLE);
  CHECK(warden_job_spec_add_allow(nullptr, "host:80") == WARDEN_EBADHANDLE);
  CHECK(warden_launcher_new(nullptr, nullptr) == WARDEN_EINVAL);
  CHECK(warden_job_start(nullptr, nullptr, &job) == WARDEN_EBADHANDLE);
  CHECK(job == nullptr);
  CHECK(warden_job_free(nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_job_id(nullptr) == nullptr);
  CHECK(warden_job_fd(nullptr, WARDEN_FD_END) == WARDEN_EBADHANDLE);
  CHECK(warden_job_wait(nullptr, -1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_kill(nullptr, SIGTERM) == WARDEN_EBADHANDLE);
  CHECK(warden_job_cancel(nullptr) == WARDEN_EBADHANDLE);
  CHECK(warden_job_status(nullptr, &value) == WARDEN_EBADHANDLE);
  CHECK(warden_job_exit_code(nullptr, &value) == WARDEN_EBADHANDLE);
  CHECK(warden_result_json(nullptr, &text) == WARDEN_EBADHANDLE);
  CHECK(warden_job_output(nullptr, WARDEN_STDOUT, &text, &len) == WARDEN_EBADHANDLE);
  CHECK(text == nullptr);
  CHECK(launcher == nullptr);
}

TEST_CASE("capi: a double free, a freed, foreign or wrong-kind handle is WARDEN_EBADHANDLE",
          "[capi]") {
  warden_launcher_options* options = nullptr;
  warden_job_spec* spec = nullptr;
  REQUIRE(warden_launcher_options_new(&options) == WARDEN_OK);
  REQUIRE(warden_job_spec_new(&spec) == WARDEN_OK);

  SECTION("a handle of another kind") {
    auto* as_options = reinterpret_cast<warden_launcher_options*>(spec);
    CHECK(warden_launcher_options_set_cache_dir(as_options, "/x") == WARDEN_EBADHANDLE);
    CHECK(LastErrorHas("not a live launcher options handle"));
    CHECK(warden_launcher_options_free(as_options) == WARDEN_EBADHANDLE);
    auto* as_job = reinterpret_cast<warden_job*>(options);
    CHECK(warden_job_wait(as_job, 0) == WARDEN_EBADHANDLE);
    CHECK(warden_job_free(as_job) == WARDEN_EBADHANDLE);
    // Neither was freed by the refused calls.
    CHECK(warden_job_spec_set_job_id(spec, "x") == WARDEN_OK);
    CHECK(warden_launcher_options_set_cache_dir(options, "/x") == WARDEN_OK);
    CHECK(warden_job_spec_free(spec) == WARDEN_OK);
    CHECK(warden_launcher_options_free(options) == WARDEN_OK);
  }
  SECTION("freed twice, by the typed function or warden_free") {
    CHECK(warden_job_spec_free(spec) == WARDEN_OK);
    CHECK(warden_job_spec_free(spec) == WARDEN_EBADHANDLE);
    CHECK(warden_free(spec) == WARDEN_EBADHANDLE);
    CHECK(warden_free(options) == WARDEN_OK);
    CHECK(warden_launcher_options_free(options) == WARDEN_EBADHANDLE);
    CHECK(warden_free(options) == WARDEN_EBADHANDLE);
    CHECK(LastErrorHas("freed already"));
  }
  SECTION("used after its free") {
    CHECK(warden_job_spec_free(spec) == WARDEN_OK);
    CHECK(warden_launcher_options_free(options) == WARDEN_OK);
    CHECK(warden_job_spec_set_policy(spec, "default") == WARDEN_EBADHANDLE);
    CHECK(warden_launcher_options_setenv(options, "A", "b") == WARDEN_EBADHANDLE);
    warden_launcher* launcher = nullptr;
    CHECK(warden_launcher_new(options, &launcher) == WARDEN_EBADHANDLE);
    CHECK(launcher == nullptr);
  }
  SECTION("a pointer that never came from warden") {
    int local = 0;
    auto* foreign = reinterpret_cast<warden_job*>(&local);
    CHECK(warden_job_wait(foreign, 0) == WARDEN_EBADHANDLE);
    CHECK(warden_job_free(foreign) == WARDEN_EBADHANDLE);
    CHECK(warden_free(&local) == WARDEN_EBADHANDLE);
    std::string heap = "not a warden string";
    CHECK(warden_free(heap.data()) == WARDEN_EBADHANDLE);
    CHECK(warden_job_spec_free(spec) == WARDEN_OK);
    CHECK(warden_launcher_options_free(options) == WARDEN_OK);
  }
}

TEST_CASE("capi: setters refuse bad arguments and keep what was set", "[capi]") {
  warden_launcher_options* options = nullptr;
  warden_job_spec* spec = nullptr;
  REQUIRE(warden_launcher_options_new(&options) == WARDEN_OK);
  REQUIRE(warden_job_spec_new(&spec) == WARDEN_OK);
  const char* argv_with_null[] = {"/bin/echo", nullptr};

  CHECK(warden_launcher_options_set_state_dir(options, nullptr) == WARDEN_EINVAL);
  CHECK(LastErrorHas("value is NULL"));
  CHECK(warden_launcher_options_set_log(options, nullptr, nullptr, 4) == WARDEN_EINVAL);
  CHECK(warden_launcher_options_set_log(options, nullptr, nullptr, -1) == WARDEN_EINVAL);
  CHECK(warden_launcher_options_set_log(options, nullptr, nullptr, WARDEN_LOG_DEBUG) == WARDEN_OK);
  CHECK(warden_launcher_options_setenv(options, "A=B", "c") == WARDEN_EINVAL);
  CHECK(warden_launcher_options_setenv(options, "", "c") == WARDEN_EINVAL);
  CHECK(warden_launcher_options_setenv(options, "A", nullptr) == WARDEN_EINVAL);
  const char* envp[] = {"X=1", "no-equals", "=empty-name", "Y=a=b", nullptr};
  CHECK(warden_launcher_options_import_environ(options, envp) == WARDEN_OK);
  CHECK(warden_launcher_options_import_environ(options, nullptr) == WARDEN_EINVAL);
  CHECK(warden_launcher_options_clear_environment(options) == WARDEN_OK);

  CHECK(warden_job_spec_set_argv(spec, 0, argv_with_null) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_argv(spec, 2, argv_with_null) == WARDEN_EINVAL);
  CHECK(LastErrorHas("argv[1] is NULL"));
  CHECK(warden_job_spec_set_argv(spec, 1, nullptr) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_argv(spec, 1, argv_with_null) == WARDEN_OK);
  CHECK(warden_job_spec_add_bind(spec, "/tmp", "/mnt", 3) == WARDEN_EINVAL);
  CHECK(warden_job_spec_add_bind(spec, nullptr, "/mnt", WARDEN_BIND_RO) == WARDEN_EINVAL);
  CHECK(warden_job_spec_add_bind(spec, "/tmp", "/mnt", WARDEN_BIND_OWNED) == WARDEN_OK);
  CHECK(warden_job_spec_set_net(spec, 3) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_net(spec, WARDEN_NET_VETH) == WARDEN_OK);
  CHECK(warden_job_spec_set_cpus(spec, NAN) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_cpus(spec, INFINITY) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_cpus(spec, WARDEN_NO_CPU_LIMIT) == WARDEN_OK);
  CHECK(warden_job_spec_set_memory_bytes(spec, WARDEN_NO_LIMIT) == WARDEN_OK);
  CHECK(warden_job_spec_set_policy_toml(spec, nullptr, "x") == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_policy_toml(spec, "x", nullptr) == WARDEN_EINVAL);

  // Stream numbers: 0..2, and output-only kinds only on 1 and 2.
  for (int stream : {-1, 3, 1000}) {
    INFO(stream);
    CHECK(warden_job_spec_set_stdio_null(spec, stream) == WARDEN_EINVAL);
    CHECK(warden_job_spec_set_stdio_fd(spec, stream, 1) == WARDEN_EINVAL);
    CHECK(warden_job_spec_set_stdio_file(spec, stream, "/tmp/x", 0) == WARDEN_EINVAL);
    CHECK(warden_job_spec_set_stdio_capture(spec, stream, 0) == WARDEN_EINVAL);
    CHECK(warden_job_spec_set_stdio_relay(spec, stream, 1) == WARDEN_EINVAL);
  }
  CHECK(LastErrorHas("is not WARDEN_STDOUT (1) or WARDEN_STDERR (2)"));
  CHECK(warden_job_spec_set_stdio_capture(spec, WARDEN_STDIN, 0) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_stdio_relay(spec, WARDEN_STDIN, 1) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_stdio_fd(spec, WARDEN_STDIN, -1) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_stdio_file(spec, WARDEN_STDOUT, nullptr, 0) == WARDEN_EINVAL);
  CHECK(warden_job_spec_set_stdio_fd(spec, WARDEN_STDIN, 0) == WARDEN_OK);
  CHECK(warden_job_spec_set_stdio_capture(spec, WARDEN_STDERR, 10) == WARDEN_OK);

  CHECK(warden_job_spec_free(spec) == WARDEN_OK);
  CHECK(warden_launcher_options_free(options) == WARDEN_OK);
}

TEST_CASE("capi: a policy from TOML is checked at once, with its location", "[capi]") {
  warden_job_spec* spec = nullptr;
  REQUIRE(warden_job_spec_new(&spec) == WARDEN_OK);
  CHECK(warden_job_spec_set_policy_toml(spec, "[filesystem]\ntmp_size = \"lots\"\n", "mine") ==
        WARDEN_EINVAL);
  CHECK(LastErrorHas("mine:2:"));
  CHECK(warden_job_spec_set_policy_toml(spec, "extends = \"none\"\n[identity]\nhostname = \"capi\"\n",
                                        "mine") == WARDEN_OK);
  CHECK(warden_job_spec_free(spec) == WARDEN_OK);
}

TEST_CASE("capi: warden_launcher_new names a bad option", "[capi]") {
  warden_launcher_options* options = nullptr;
  REQUIRE(warden_launcher_options_new(&options) == WARDEN_OK);
  REQUIRE(warden_launcher_options_set_state_dir(options, "relative/dir") == WARDEN_OK);
  warden_launcher* launcher = nullptr;
  CHECK(warden_launcher_new(options, &launcher) == WARDEN_EINVAL);
  CHECK(launcher == nullptr);
  CHECK(LastErrorHas("relative/dir"));
  CHECK(warden_launcher_options_free(options) == WARDEN_OK);
  // No options: every default; nothing is made on the host yet.
  REQUIRE(warden_launcher_new(nullptr, &launcher) == WARDEN_OK);
  CHECK(warden_launcher_free(launcher) == WARDEN_OK);
  CHECK(warden_launcher_free(launcher) == WARDEN_EBADHANDLE);
}

TEST_CASE("capi: a job's result, waited for twice; kill and cancel of an ended job",
          "[capi][root]") {
  WARDEN_REQUIRE_ROOT();
  TestLauncher launcher;
  warden_job* job = Start(launcher, {"/bin/echo", "hello"});
  REQUIRE(warden_job_id(job) != nullptr);
  CHECK(std::strlen(warden_job_id(job)) > 0);
  REQUIRE(warden_job_wait(job, -1) == WARDEN_OK);
  CHECK(warden_job_wait(job, -1) == WARDEN_OK);
  CHECK(warden_job_wait(job, 0) == WARDEN_OK);
  CHECK(warden_job_wait(job, -2) == WARDEN_EINVAL);

  int status = -1, code = -1;
  REQUIRE(warden_job_status(job, &status) == WARDEN_OK);
  CHECK(status == WARDEN_JOB_OK);
  REQUIRE(warden_job_exit_code(job, &code) == WARDEN_OK);
  CHECK(code == 0);
  CHECK(warden_job_status(job, nullptr) == WARDEN_EINVAL);
  CHECK(Output(job, WARDEN_STDOUT) == "hello\n");
  CHECK(Output(job, WARDEN_STDERR).empty());
  char* data = nullptr;
  size_t len = 0;
  CHECK(warden_job_output(job, WARDEN_STDIN, &data, &len) == WARDEN_EINVAL);
  CHECK(warden_job_output(job, 7, &data, &len) == WARDEN_EINVAL);
  CHECK(data == nullptr);

  char* json = nullptr;
  REQUIRE(warden_result_json(job, &json) == WARDEN_OK);
  const nlohmann::json doc = nlohmann::json::parse(json);
  CHECK(doc.at("status") == "ok");
  CHECK(doc.at("job_id") == warden_job_id(job));
  CHECK(warden_free(json) == WARDEN_OK);
  CHECK(warden_free(json) == WARDEN_EBADHANDLE);

  CHECK(warden_job_kill(job, SIGKILL) == WARDEN_ESTATE);
  CHECK(warden_job_kill(job, SIGTERM) == WARDEN_ESTATE);
  CHECK(warden_job_cancel(job) == WARDEN_ESTATE);
  CHECK(LastErrorHas("warden_job_cancel"));

  const int end_fd = warden_job_fd(job, WARDEN_FD_END);
  REQUIRE(end_fd >= 0);
  struct pollfd p = {end_fd, POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 1);
  CHECK(warden_job_fd(job, 0) == WARDEN_EINVAL);
  CHECK(warden_job_fd(job, 3) == WARDEN_EINVAL);

  CHECK(warden_job_free(job) == WARDEN_OK);
  CHECK(warden_job_free(job) == WARDEN_EBADHANDLE);
  CHECK(warden_job_wait(job, -1) == WARDEN_EBADHANDLE);
  CHECK(warden_job_id(job) == nullptr);
}

TEST_CASE("capi: results before the end are WARDEN_ESTATE; a timed wait; cancel stops the job",
          "[capi][root]") {
  WARDEN_REQUIRE_ROOT();
  TestLauncher launcher;
  warden_job* job = Start(launcher, {"/bin/sleep", "1000"});
  int status = -1;
  char* json = nullptr;
  char* data = nullptr;
  size_t len = 0;
  CHECK(warden_job_status(job, &status) == WARDEN_ESTATE);
  CHECK(LastErrorHas("has not ended: call warden_job_wait"));
  CHECK(warden_job_exit_code(job, &status) == WARDEN_ESTATE);
  CHECK(warden_result_json(job, &json) == WARDEN_ESTATE);
  CHECK(warden_job_output(job, WARDEN_STDOUT, &data, &len) == WARDEN_ESTATE);
  CHECK(status == -1);
  CHECK(json == nullptr);
  CHECK(warden_job_wait(job, 0) == WARDEN_ETIMEDOUT);
  CHECK(warden_job_wait(job, 20) == WARDEN_ETIMEDOUT);
  CHECK(LastErrorHas("still runs"));
  CHECK(warden_job_fd(job, WARDEN_FD_PID) >= 0);
  CHECK(warden_job_kill(job, SIGSEGV) == WARDEN_EINVAL);

  REQUIRE(warden_job_cancel(job) == WARDEN_OK);
  CHECK(warden_job_cancel(job) == WARDEN_OK);
  REQUIRE(warden_job_wait(job, -1) == WARDEN_OK);
  REQUIRE(warden_job_status(job, &status) == WARDEN_OK);
  CHECK(status == WARDEN_JOB_CANCELLED);
  CHECK(warden_job_free(job) == WARDEN_OK);
}

TEST_CASE("capi: a job freed while another thread waits on it is killed, and the wait returns",
          "[capi][root]") {
  WARDEN_REQUIRE_ROOT();
  TestLauncher launcher;
  warden_job* job = Start(launcher, {"/bin/sleep", "1000"});
  // A copy of the job's pidfd, to see its end once the handle is gone.
  const int pidfd = ::fcntl(warden_job_fd(job, WARDEN_FD_PID), F_DUPFD_CLOEXEC, 0);
  REQUIRE(pidfd >= 0);
  int wait_rc = 1;
  std::thread waiter([&] {
    // The free below may come before this wait (a freed handle) or during
    // it (the job is killed and the wait returns): either way, no crash.
    wait_rc = warden_job_wait(job, -1);
  });
  CHECK(warden_job_free(job) == WARDEN_OK);
  waiter.join();
  CHECK((wait_rc == WARDEN_OK || wait_rc == WARDEN_EBADHANDLE));
  CHECK(warden_job_free(job) == WARDEN_EBADHANDLE);
  // The sandbox's init has exited: its pidfd is readable at once.
  struct pollfd p = {pidfd, POLLIN, 0};
  CHECK(::poll(&p, 1, 0) == 1);
  ::close(pidfd);
}

TEST_CASE("capi: the launcher's environment feeds env_pass; spec options reach the job; a bad policy or spec starts nothing",
          "[capi][root]") {
  WARDEN_REQUIRE_ROOT();
  TestLauncher launcher;
  warden_job_spec* spec = Spec({"/usr/bin/env"});
  REQUIRE(warden_job_spec_add_env_pass(spec, "CAPI_TEST_VAR") == WARDEN_OK);
  REQUIRE(warden_job_spec_setenv(spec, "CAPI_OWN", "own-value") == WARDEN_OK);
  REQUIRE(warden_job_spec_set_job_id(spec, "capi-env-test") == WARDEN_OK);
  REQUIRE(warden_job_spec_set_timeout_ms(spec, 60000) == WARDEN_OK);
  warden_job* job = nullptr;
  int rc = warden_job_start(launcher.get(), spec, &job);
  INFO(warden_last_error());
  REQUIRE(rc == WARDEN_OK);
  CHECK(std::string(warden_job_id(job)) == "capi-env-test");
  REQUIRE(warden_job_wait(job, -1) == WARDEN_OK);
  const std::string out = Output(job, WARDEN_STDOUT);
  CHECK(out.find("CAPI_OWN=own-value\n") != std::string::npos);
  // From the options' environment, never from this process's.
  CHECK(out.find("CAPI_TEST_VAR=from-options\n") != std::string::npos);
  CHECK(warden_job_free(job) == WARDEN_OK);

  // A second start of the spec, with the policy it resolved the first time.
  REQUIRE(warden_job_spec_set_job_id(spec, "") == WARDEN_OK);
  rc = warden_job_start(launcher.get(), spec, &job);
  INFO(warden_last_error());
  REQUIRE(rc == WARDEN_OK);
  REQUIRE(warden_job_wait(job, -1) == WARDEN_OK);
  int status = -1;
  CHECK(warden_job_status(job, &status) == WARDEN_OK);
  CHECK(status == WARDEN_JOB_OK);
  CHECK(warden_job_free(job) == WARDEN_OK);

  // An unknown policy name fails the start, and starts nothing.
  REQUIRE(warden_job_spec_set_policy(spec, "no-such-policy") == WARDEN_OK);
  job = nullptr;
  CHECK(warden_job_start(launcher.get(), spec, &job) == WARDEN_ENOTFOUND);
  CHECK(LastErrorHas("no-such-policy"));
  CHECK(job == nullptr);
  // A spec the launcher refuses (no argv): nothing started either.
  warden_job_spec* empty = nullptr;
  REQUIRE(warden_job_spec_new(&empty) == WARDEN_OK);
  CHECK(warden_job_start(launcher.get(), empty, &job) == WARDEN_EINVAL);
  CHECK(job == nullptr);
  CHECK(warden_job_spec_free(empty) == WARDEN_OK);
  CHECK(warden_job_spec_free(spec) == WARDEN_OK);
}

}  // namespace
}  // namespace warden
