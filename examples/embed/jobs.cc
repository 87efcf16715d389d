// jobs.cc: 100 sandboxed jobs started concurrently from 4 threads through
// warden's C++ API (warden/launcher.h). Each job runs `/bin/echo N` under
// the default policy with its stdout captured; the program prints each
// job's status, exit code and output, in order, and exits 1 when any job
// did not end "ok" with its own number as output.
//
//   g++ -std=c++20 -o jobs jobs.cc $(pkg-config --cflags --libs warden)
//   sudo ./jobs [COUNT]
//
// WARDEN_CACHE_DIR, when set, is where the launcher keeps its caches (the
// library reads no environment variable itself; this program passes it).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <warden/launcher.h>

namespace {

constexpr int kThreads = 4;

struct Outcome {
  std::string error;  // why the job could not start; empty when it did
  warden::JobResult result;
};

// Thread `index` starts jobs index, index+4, ... without waiting, then
// waits for each: every thread's jobs run at the same time.
void RunJobs(warden::Launcher& launcher, const warden::Policy& policy, int index, int count,
             std::vector<Outcome>& outcomes) {
  std::vector<std::pair<int, std::unique_ptr<warden::Job>>> jobs;
  for (int n = index; n < count; n += kThreads) {
    warden::JobSpec spec;
    spec.policy = policy;
    spec.argv = {"/bin/echo", std::to_string(n)};
    spec.out = warden::StdioSpec::Capture(64);
    auto job = launcher.Start(std::move(spec));
    if (!job.ok()) {
      outcomes[n].error = job.status().ToString();
      continue;
    }
    jobs.emplace_back(n, std::move(job).value());
  }
  for (auto& [n, job] : jobs) outcomes[n].result = job->Wait();
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 100;
  if (count < 1 || count > 10000) {
    std::fprintf(stderr, "usage: jobs [COUNT], COUNT from 1 to 10000\n");
    return 2;
  }
  warden::LauncherOptions options;
  if (const char* cache = std::getenv("WARDEN_CACHE_DIR")) options.cache_dir = cache;
  auto launcher = warden::Launcher::Create(options);
  if (!launcher.ok()) {
    std::fprintf(stderr, "jobs: %s\n", launcher.status().ToString().c_str());
    return 2;
  }
  auto policy = (*launcher)->LoadPolicy("default");
  if (!policy.ok()) {
    std::fprintf(stderr, "jobs: %s\n", policy.status().ToString().c_str());
    return 2;
  }

  std::vector<Outcome> outcomes(count);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(RunJobs, std::ref(**launcher), std::cref(policy.value()), t, count,
                         std::ref(outcomes));
  }
  for (std::thread& t : threads) t.join();

  int ok = 0;
  for (int n = 0; n < count; ++n) {
    const Outcome& o = outcomes[n];
    if (!o.error.empty()) {
      std::printf("job %d: %s\n", n, o.error.c_str());
      continue;
    }
    std::string out = o.result.stdout_data;
    if (!out.empty() && out.back() == '\n') out.pop_back();
    ok += o.result.status == warden::JobStatus::kOk && out == std::to_string(n);
    std::printf("job %d: %s exit %d output %s\n", n, warden::JobStatusName(o.result.status),
                o.result.exit_code, out.c_str());
  }
  std::printf("%d jobs, %d ok\n", count, ok);
  return ok == count ? 0 : 1;
}
