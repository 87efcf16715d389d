// `warden run`'s command line: parsed and checked with the policy loader's
// own rules (durations, mounts, environment names, network modes and allow
// entries), then folded into the job's policy. Kept out of src/cli so that
// unit tests can drive every refusal and every accepted form.
#ifndef WARDEN_POLICY_RUN_OPTIONS_H_
#define WARDEN_POLICY_RUN_OPTIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "warden/job.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::policy {

// What the options said. Only the policy-independent part of the request is
// filled in here (argv, binds, env, timeout, output dir, job id, cgroup
// parent); the policy is chosen afterwards.
struct RunOptions {
  JobRequest request;
  std::optional<std::string> policy;            // --policy NAME|FILE, never empty
  std::string result_file;                      // --result; "-" is stdout
  int result_fd = -1;                           // --result-fd N: the JSON goes to fd N
  std::string stdin_file;                       // --stdin FILE; empty: inherited
  std::optional<NetworkSpec::Mode> net;         // --net
  std::vector<std::string> allow;               // --allow, each a valid entry
  bool help = false;                            // --help / -h: print usage, run nothing
};

// At most this many --bind/--ro-bind, as a policy's mounts.
inline constexpr size_t kMaxCliBinds = kMaxMounts;

// Parses `argv[1..argc)` (argv[0] is the subcommand's name). Option parsing
// stops at "--" or at the first non-option, which starts the job's argv.
// Every refusal is kInvalidArgument with a message that names the option,
// the value and what is allowed. Relative bind sources are made absolute
// against the current directory; sources and destinations then obey the
// loader's mount rule (MountProblem). Uses getopt_long: not thread-safe.
Result<RunOptions> ParseRunOptions(int argc, char** argv);

// Folds the options that change the policy (--net, --allow) into
// `request->policy`, checks the result as the loader would (--allow needs
// veth; the allow list's and the mounts' bounds), and sets
// `request->policy.hash` to EffectivePolicyHash. Call once the policy is
// chosen and every other change to the request is made.
Status FinishRunRequest(const RunOptions& options, JobRequest* request);

// The policy that a request runs: its policy with the request's binds,
// environment (PATH becomes env.path) and timeout folded in, as a policy
// file that says the same would load. Its `hash` is that of
// PolicyToToml, so equal to what `warden policy check` prints for such a
// file.
Policy EffectivePolicy(const JobRequest& request);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_RUN_OPTIONS_H_
