// `warden run`'s command line: parsed and checked with the policy loader's
// own rules (durations, mounts, environment names, network modes and allow
// entries), then folded into the job's policy. Kept out of src/cli so that
// unit tests can drive every refusal and every accepted form.
#ifndef WARDEN_POLICY_RUN_OPTIONS_H_
#define WARDEN_POLICY_RUN_OPTIONS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/job.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::policy {

// What the options said. Only the policy-independent part of the request is
// filled in here (argv, binds, env with --env-file, timeout, output dir, job
// id, cgroup parent); the policy is chosen afterwards, and the options that
// change it are kept here until FinishRunRequest folds them in. Every value
// has been checked with the loader's rule for the key it overrides.
struct RunOptions {
  JobRequest request;
  std::optional<std::string> policy;            // --policy NAME|FILE, never empty
  std::string result_file;                      // --result; "-" is stdout
  int result_fd = -1;                           // --result-fd N (N >= 3): the JSON goes to fd N
  std::string stdin_file;                       // --stdin FILE; empty: inherited
  std::optional<NetworkSpec::Mode> net;         // --net
  std::vector<std::string> allow;               // --allow, each a valid entry
  std::optional<std::string> chdir;             // --chdir DIR: filesystem.cwd
  std::optional<uint32_t> uid;                  // --uid N: identity.uid, if allow_uids allows
  std::optional<uint32_t> gid;                  // --gid N: identity.gid, if allow_gids allows
  // --memory, --pids, --cpus: cgroup.memory, .pids, .cpu, never optional
  // (fail closed); a limit without a value is "none", which removes the
  // policy's.
  std::optional<CgroupLimit<uint64_t>> memory;
  std::optional<CgroupLimit<uint64_t>> pids;
  std::optional<CgroupLimit<double>> cpus;
  std::optional<uint64_t> tmp_size_bytes;       // --tmp-size: filesystem.tmp_size
  std::optional<std::string> hostname;          // --hostname: identity.hostname
  std::optional<SeccompSpec> seccomp;           // --seccomp-profile, translated
  std::string seccomp_profile;                  // its path, for messages
  bool help = false;                            // --help / -h: print usage, run nothing
};

// --env-file and --seccomp-profile read at most this much, from a regular
// file only.
inline constexpr size_t kMaxOptionFileBytes = 1 << 20;

// At most this many --bind/--ro-bind, as a policy's mounts.
inline constexpr size_t kMaxCliBinds = kMaxMounts;

// What --env-file files say: variables to set, and names to pass from
// warden's environment (never both for one name).
struct EnvFile {
  std::map<std::string, std::string> set;
  std::vector<std::string> pass;
};

// Adds the lines of `text`, an --env-file read from `path` (named in
// errors, "--env-file PATH:LINE: why"), to `out`, which may hold earlier
// files: later lines win. docker's format: one KEY=VALUE per line, taken as
// written (no quotes, no escapes, no expansion; leading blanks and a
// trailing CR dropped); '#' starts a comment line; a bare KEY passes KEY
// from warden's environment, as --env-pass does. Names, values and PATH
// follow --env's rule; refuses a NUL byte and more than kMaxEnv variables.
Status ParseEnvFile(const std::string& path, std::string_view text, EnvFile* out);

// Parses `argv[1..argc)` (argv[0] is the subcommand's name). Option parsing
// stops at "--" or at the first non-option, which starts the job's argv.
// Every refusal is one line, kInvalidArgument (or the code of the error
// that --seccomp-profile's translation gave), with a message that names the
// option, the value and what is allowed: an unknown option says "did you
// mean --NAME?" when one is close; an abbreviation of an option is unknown
// (a later option must not change what an old command line means). Relative
// bind sources are made absolute against the current directory; sources and
// destinations then obey the loader's mount rule (MountProblem).
// --env-file FILE (docker's format: KEY=VALUE lines, '#' comments, blank
// lines, a bare KEY passes KEY from warden's environment, no quote
// processing) and --seccomp-profile FILE are read here, from regular files
// of at most kMaxOptionFileBytes. --env and --env-pass win over every
// --env-file for the same name; a later --env-file over an earlier one.
// Uses getopt_long: not thread-safe.
Result<RunOptions> ParseRunOptions(int argc, char** argv);

// Folds the options that change the policy into `request->policy`: --net,
// --allow, --chdir (after whatever set the cwd before), --uid and --gid
// (only ids the policy's identity.allow_uids/allow_gids allow, or its own),
// --memory, --pids, --cpus, --tmp-size, --hostname, --seccomp-profile
// (replaces the policy's [seccomp]). Checks the result as the loader would
// (--allow needs veth; the allow list's and the mounts' bounds; no id 0
// without a user namespace), and sets `request->policy.hash` to
// EffectivePolicy's hash. Call once the policy is chosen and every other
// change to the request is made.
Status FinishRunRequest(const RunOptions& options, JobRequest* request);

// The policy that a request runs: its policy with the request's binds,
// environment (PATH becomes env.path) and timeout folded in, as a policy
// file that says the same would load. Its `hash` is that of
// PolicyToToml, so equal to what `warden policy check` prints for such a
// file.
Policy EffectivePolicy(const JobRequest& request);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_RUN_OPTIONS_H_
