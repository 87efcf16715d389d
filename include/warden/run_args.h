// `warden run`'s command line as a library function, for the warden command
// itself and for programs that accept warden's flags and hand them on.
//
//   std::vector<std::string> args = {"--memory", "512M", "--", "make"};
//   warden::Result<warden::RunArguments> parsed = warden::ParseRunArguments(args);
//   if (!parsed.ok()) { ... parsed.status().message() ... }
//   warden::JobSpec spec = std::move(parsed->spec);
//   spec.policy = launcher->LoadPolicy(parsed->policy.value_or("default")).value();
//   ... spec.in / out / err ...
//   auto job = launcher->Start(std::move(spec));
//
// Every option is described by `warden run --help` and docs/warden.1; the
// grammar (option names, value syntax, limits) is the same here and never
// changes meaning between versions: an option that is added is new, and an
// abbreviation of an option is refused so that it cannot come to mean
// another.
#ifndef WARDEN_RUN_ARGS_H_
#define WARDEN_RUN_ARGS_H_

#include <optional>
#include <string>
#include <vector>

#include "warden/export.h"
#include "warden/launcher.h"
#include "warden/status.h"

namespace warden {

struct RunArguments {
  // The job as the options describe it: argv (the program and its
  // arguments), extra_mounts, env (--env and --env-file), env_pass,
  // wall_time_ms, output_dir, pty, job_id, cgroup_parent, and the per-job
  // options cwd to seccomp (--seccomp-profile, already translated). Every
  // value has been checked with the policy loader's rule for the key it
  // overrides; whether the policy allows it (--uid, --allow) is checked by
  // Launcher::Start. `policy` and the stdio specs are left at their
  // defaults: the caller chooses them.
  JobSpec spec;
  // --policy NAME|FILE, never empty; nullopt: choose by the program.
  std::optional<std::string> policy;
  // What the options ask of the caller rather than of the job:
  std::string result_file;  // --result FILE ("-": stdout); empty: none
  int result_fd = -1;       // --result-fd N (N >= 3); -1: none
  std::string stdin_file;   // --stdin FILE; empty: the caller's stdin
  bool help = false;        // --help / -h: print the usage, run nothing
};

// Parses `args`, the arguments that follow "run" on warden's command line.
// Option parsing stops at "--" or at the first argument that is not an
// option, which starts the job's argv. Relative bind sources are made
// absolute against the current directory; --env-file and --seccomp-profile
// files are read here (regular files of at most 1 MiB).
//
// Errors are kInvalidArgument (or the code of the failing read), with one
// line that names the option, the value and what is allowed; an unknown
// option says "did you mean --NAME?" when one is close. No argv (and no
// --help) is an error.
//
// Not thread-safe: it uses getopt_long, whose state is process-wide. Call
// it from one thread at a time.
WARDEN_EXPORT Result<RunArguments> ParseRunArguments(const std::vector<std::string>& args);

}  // namespace warden

#endif  // WARDEN_RUN_ARGS_H_
