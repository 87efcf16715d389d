// `warden run`'s command line as a JobSpec (warden/run_args.h), over the
// one parser of its grammar, policy::ParseRunOptions.
#include "warden/run_args.h"

#include <utility>

#include "policy/run_options.h"

namespace warden {
namespace {

// The job's part of what the options said: the request's fields, and the
// per-job options that Launcher::Start checks against the policy and
// folds into it.
JobSpec SpecFromOptions(policy::RunOptions&& options) {
  JobRequest& req = options.request;
  JobSpec spec;
  spec.argv = std::move(req.argv);
  spec.extra_mounts = std::move(req.extra_mounts);
  spec.env = std::move(req.env);
  spec.env_pass = std::move(req.env_pass);
  spec.wall_time_ms = req.wall_time_ms;
  spec.output_dir = std::move(req.output_dir);
  spec.pty = req.pty;
  spec.job_id = std::move(req.job_id);
  spec.cgroup_parent = std::move(req.cgroup_parent);
  spec.die_with_parent = req.die_with_parent;
  spec.cwd = std::move(options.chdir);
  spec.uid = options.uid;
  spec.gid = options.gid;
  spec.hostname = std::move(options.hostname);
  spec.memory = options.memory;
  spec.pids = options.pids;
  spec.cpus = options.cpus;
  spec.tmp_size_bytes = options.tmp_size_bytes;
  spec.net = options.net;
  spec.allow = std::move(options.allow);
  spec.seccomp = std::move(options.seccomp);
  return spec;
}

}  // namespace

Result<RunArguments> ParseRunArguments(const std::vector<std::string>& args) {
  // getopt_long wants a writable, NULL-terminated argv whose [0] is the
  // command's name; it permutes nothing here (ParseRunOptions asks for
  // options first), but may write through the pointers' array.
  std::vector<std::string> copy;
  copy.reserve(args.size() + 1);
  copy.emplace_back("run");
  copy.insert(copy.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(copy.size() + 1);
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  WARDEN_ASSIGN_OR_RETURN(policy::RunOptions options,
                          policy::ParseRunOptions(static_cast<int>(copy.size()), argv.data()));
  RunArguments out;
  out.policy = std::move(options.policy);
  out.result_file = std::move(options.result_file);
  out.result_fd = options.result_fd;
  out.stdin_file = std::move(options.stdin_file);
  out.help = options.help;
  out.spec = SpecFromOptions(std::move(options));
  return out;
}

}  // namespace warden
