// Embedding versus the command line: /bin/true jobs per second started
// through the C interface (warden.h) by 4 threads of one process, against
// the same number of `warden run -- /bin/true` processes run by
// `xargs -P4`, in one run of this program on the same machine.
//
// What is measured, for each side: the wall time from the first job's start
// to the last job's end, for N jobs (200 unless --jobs), 4 at a time, under
// the default policy (policies/default.toml, the same file for both), with
// the same cache directory (filled by one warm-up job on each side first,
// not timed). The API side: each of 4 threads starts a job, waits for its
// end, frees it, and starts the next, so 4 run at once, as under xargs -P4.
// The command-line side: `xargs -P4` runs `warden run -- /bin/true` once
// per line of N lines, its children's stdout and stderr on /dev/null.
// Both sides pay the sandbox itself (namespaces, mounts, cgroups,
// seccomp); the command line also pays an exec of warden and its process
// start-up per job, which the API does not.
//
// Prints the two rates and their ratio:
//   BENCH embed_api_jobs_per_s=...
//   BENCH embed_cli_jobs_per_s=...
//   BENCH embed_jobs_per_s_4threads=<API rate / command-line rate>
//   embed_bench WARDEN_BINARY POLICY_DIR [--jobs=N]
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "warden/warden.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kThreads = 4;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "embed_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(int rc, const char* what) {
  if (rc != WARDEN_OK) Die(std::string(what) + ": " + warden_last_error());
}

// One /bin/true job through the API, start to end; false when it did not
// end "ok".
bool RunTrue(warden_launcher* launcher, warden_job_spec* spec) {
  warden_job* job = nullptr;
  Check(warden_job_start(launcher, spec, &job), "warden_job_start");
  Check(warden_job_wait(job, -1), "warden_job_wait");
  int status = -1;
  Check(warden_job_status(job, &status), "warden_job_status");
  Check(warden_job_free(job), "warden_job_free");
  return status == WARDEN_JOB_OK;
}

double ApiSeconds(warden_launcher* launcher, int jobs) {
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  auto worker = [&] {
    warden_job_spec* spec = nullptr;
    Check(warden_job_spec_new(&spec), "warden_job_spec_new");
    const char* argv[] = {"/bin/true"};
    Check(warden_job_spec_set_argv(spec, 1, argv), "warden_job_spec_set_argv");
    while (next.fetch_add(1) < jobs) {
      if (!RunTrue(launcher, spec)) failed.fetch_add(1);
    }
    Check(warden_job_spec_free(spec), "warden_job_spec_free");
  };
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed.load() != 0) Die(std::to_string(failed.load()) + " API jobs did not end ok");
  return seconds;
}

// `xargs -P4` running `warden run -- /bin/true` once per line of `jobs`
// lines; the time of the whole pipeline.
double CliSeconds(const std::string& warden, int jobs) {
  const std::string cmd = "seq " + std::to_string(jobs) + " | xargs -P" +
                          std::to_string(kThreads) + " -I{} '" + warden +
                          "' run -- /bin/true >/dev/null 2>&1";
  const Clock::time_point start = Clock::now();
  const int rc = std::system(cmd.c_str());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (rc != 0) Die("`" + cmd + "` failed (status " + std::to_string(rc) + ")");
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) Die("usage: embed_bench WARDEN_BINARY POLICY_DIR [--jobs=N]");
  const std::string warden = argv[1];
  const std::string policy_dir = argv[2];
  int jobs = 200;
  if (argc > 3 && std::strncmp(argv[3], "--jobs=", 7) == 0) jobs = std::atoi(argv[3] + 7);
  if (jobs < kThreads) Die("--jobs must be at least 4");

  char cache[] = "/tmp/warden-embed-bench.XXXXXX";
  if (::mkdtemp(cache) == nullptr) Die("mkdtemp(/tmp/warden-embed-bench.XXXXXX) failed");
  // The command line reads these; the launcher gets them as options.
  ::setenv("WARDEN_CACHE_DIR", cache, 1);
  ::setenv("WARDEN_POLICY_DIR", policy_dir.c_str(), 1);

  warden_launcher_options* options = nullptr;
  Check(warden_launcher_options_new(&options), "warden_launcher_options_new");
  Check(warden_launcher_options_set_cache_dir(options, cache), "set_cache_dir");
  Check(warden_launcher_options_set_policy_dir(options, policy_dir.c_str()), "set_policy_dir");
  warden_launcher* launcher = nullptr;
  Check(warden_launcher_new(options, &launcher), "warden_launcher_new");
  Check(warden_launcher_options_free(options), "warden_launcher_options_free");

  // Warm-up, one job each way: the seccomp filter and policy caches.
  (void)CliSeconds(warden, 1);
  (void)ApiSeconds(launcher, 1);

  const double api_s = ApiSeconds(launcher, jobs);
  const double cli_s = CliSeconds(warden, jobs);
  Check(warden_launcher_free(launcher), "warden_launcher_free");
  std::error_code ec;
  std::filesystem::remove_all(cache, ec);

  const double api_rate = jobs / api_s;
  const double cli_rate = jobs / cli_s;
  std::printf("embed: %d /bin/true jobs, 4 at a time: API %.3f s, warden run via xargs -P4 %.3f s\n",
              jobs, api_s, cli_s);
  std::printf("BENCH embed_api_jobs_per_s=%.1f\n", api_rate);
  std::printf("BENCH embed_cli_jobs_per_s=%.1f\n", cli_rate);
  std::printf("BENCH embed_jobs_per_s_4threads=%.3f\n", api_rate / cli_rate);
  return 0;
}
