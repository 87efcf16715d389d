// warden run [--policy NAME|FILE] [options] -- CMD [ARGS...]
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/env_config.h"
#include "cli/result_out.h"
#include "warden/diagnostics.h"
#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/policy.h"
#include "warden/run_args.h"
#include "warden/script.h"

namespace warden::cli {
namespace {

constexpr int kUsageExit = 125;  // bad invocation is warden's failure

void RunUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden run [options] -- CMD [ARGS...]\n"
      "       warden run [options] SCRIPT [ARGS...]\n"
      "\n"
      "The policy is --policy's, else the one matching the program: by suffix (.py .js\n"
      ".sh), by its #! line, or by its name (-- python3 app.py); else default. A SCRIPT\n"
      "runs with the interpreter on its #! line (the policy's when it has none), from\n"
      "its own directory, shown read-only at its own path.\n"
      "\n"
      "policy and files:\n"
      "  --policy NAME|FILE     shipped policy name (default, python, node, shell) or a file\n"
      "  --ro-bind SRC DEST     bind host SRC read-only at DEST (as bubblewrap)\n"
      "  --bind SRC DEST        bind host SRC writable at DEST\n"
      "  --bind-owned SRC DEST  bind SRC writable, idmapped: the job owns SRC's owner's files\n"
      "  --chdir DIR            the job's working directory\n"
      "  --tmp-size SIZE        size of the job's /tmp (64M, 1G)\n"
      "  --seccomp-profile FILE an OCI/Docker seccomp profile (JSON) instead of the policy's\n"
      "                         filter; what warden cannot express exactly is refused\n"
      "identity and environment:\n"
      "  --uid N, --gid N       run as N, where the policy's identity rules allow it\n"
      "  --hostname NAME        the sandbox's hostname\n"
      "  --env K=V              set a variable in the job's environment\n"
      "  --env-pass K           copy variable K from warden's environment\n"
      "  --env-file FILE        K=V lines (docker's format); a bare K is --env-pass K\n"
      "limits:\n"
      "  --timeout DURATION     wall time limit: 30, 30s, 500ms, 2m, at most 366 days; 0 for\n"
      "                         none (SIGTERM, grace, SIGKILL)\n"
      "  --memory SIZE          cgroup memory limit (512M; none)\n"
      "  --pids N               cgroup pids limit (none)\n"
      "  --cpus N               CPUs' worth of time (1.5; none)\n"
      "  --cgroup-parent PATH   create the job's cgroup under PATH in each hierarchy\n"
      "input, output, result:\n"
      "  --stdin FILE           the job's stdin (a file, a FIFO, /dev/null); default: warden's\n"
      "  --output-dir DIR       write the job's stdout and stderr to DIR/stdout, DIR/stderr\n"
      "  --result FILE          write the outcome as JSON to FILE, also when warden refuses\n"
      "                         to start (status setup-error); '-' for stdout, only with\n"
      "                         --output-dir\n"
      "  --result-fd N          write the outcome as JSON to fd N (N >= 3, e.g. 3>r.json);\n"
      "                         the job never holds it\n"
      "  --pty                  give the job a new terminal, relayed to warden's stdin/stdout\n"
      "network:\n"
      "  --net MODE             none, loopback (default) or veth\n"
      "  --allow DEST           veth egress whitelist entry: ADDR[/PREFIX][:PORT][/tcp|/udp], host:PORT\n"
      "  --job-id ID            name the job (default: random)\n"
      "  --help, -h             this text\n"
      "\n"
      "exit: the job's code; 128+N killed by signal N; 124 timeout; 125 warden failed;\n"
      "      126 cannot execute; 127 not found\n");
}

// Writes the result to its targets; false (after saying so) when one
// failed.
bool WriteOrSay(const ResultOut& out, const JobResult& result) {
  Status st = out.Write(result);
  if (st.ok()) return true;
  std::fprintf(stderr, "warden: cannot write the result: %s\n", st.ToString().c_str());
  return false;
}

// The job's stdin, stdout and stderr, as `warden run` has always given
// them: --stdin FILE, else warden's own stdin unless it is a terminal (a
// job must not read, or inject input into, the caller's terminal); output
// to warden's own fds, relayed when they are a terminal, whose settings
// the job must not reach. --pty: the job's terminal, relayed to warden's
// stdin and stdout.
void ChooseStdio(const std::string& stdin_file, JobSpec* spec) {
  if (spec->pty) {
    spec->in = StdioSpec::Fd(STDIN_FILENO);
    spec->out = StdioSpec::Fd(STDOUT_FILENO);
    spec->err = StdioSpec::Fd(STDERR_FILENO);
    return;
  }
  if (!stdin_file.empty()) {
    spec->in = StdioSpec::File(stdin_file);
  } else {
    spec->in = ::isatty(STDIN_FILENO) ? StdioSpec::Null() : StdioSpec::Fd(STDIN_FILENO);
  }
  spec->out = ::isatty(STDOUT_FILENO) ? StdioSpec::Relay(STDOUT_FILENO) : StdioSpec::Fd(STDOUT_FILENO);
  spec->err = ::isatty(STDERR_FILENO) ? StdioSpec::Relay(STDERR_FILENO) : StdioSpec::Fd(STDERR_FILENO);
}

}  // namespace

int RunCommand(int argc, char** argv) {
  // Parsing and checking are ParseRunArguments's, with the policy loader's
  // own rules for each value.
  Result<RunArguments> parsed = ParseRunArguments(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    // The error first, on one line; the options are in --help. The result
    // goes where argv asked for it, found without the parser.
    std::fprintf(stderr, "warden: %s\nsee 'warden run --help'\n", parsed.status().message().c_str());
    const ResultArgs args = ScanResultArgs(argc, argv);
    ResultOut out;
    (void)out.Open(args.file, args.fd, args.output_dir);
    WriteOrSay(out, SetupErrorResult(parsed.status().message(), "", "", ""));
    return kUsageExit;
  }
  RunArguments& options = parsed.value();
  if (options.help) {
    RunUsage(stdout);
    return 0;
  }
  JobSpec& spec = options.spec;
  ResultOut out;
  // Every refusal from here on is written to the result's targets too.
  auto fail = [&](const std::string& msg) {
    std::fprintf(stderr, "warden: %s\n", msg.c_str());
    WriteOrSay(out, SetupErrorResult(msg, spec.job_id, spec.policy.name, spec.policy.hash));
    return kUsageExit;
  };
  if (Status st = out.Open(options.result_file, options.result_fd, !spec.output_dir.empty());
      !st.ok()) {
    return fail(st.message());
  }

  TraceMark("options parsed");
  // One launcher, with the options of the WARDEN_* environment; the job in
  // the foreground gets the signals sent to warden.
  Result<std::unique_ptr<Launcher>> launcher = LauncherFromEnvironment(/*forward_signals=*/true);
  if (!launcher.ok()) return fail(launcher.status().ToString());
  // The policy: named, or chosen by the program's suffix, its "#!" line or
  // its own name (`-- python3 app.py` gets python's).
  const std::string program = spec.argv[0];
  const bool is_script = IsScript(program);
  Result<Policy> pol = options.policy ? (*launcher)->LoadPolicy(*options.policy)
                                      : (*launcher)->PolicyForProgram(program);
  if (!pol.ok()) return fail(pol.status().ToString());
  spec.policy = std::move(pol.value());
  TraceMark("policy loaded");

  // A script runs through its "#!" interpreter (or its policy's), from its
  // own directory.
  if (is_script) {
    std::vector<std::string> warnings;
    int exit_code = 0;
    if (Status st = PrepareScript(&spec, &warnings, &exit_code); !st.ok()) {
      std::fprintf(stderr, "warden: %s\n", st.message().c_str());
      JobResult r = SetupErrorResult(st.message(), spec.job_id, spec.policy.name, spec.policy.hash);
      r.exit_code = exit_code;
      WriteOrSay(out, r);
      return exit_code;
    }
    for (const std::string& w : warnings) std::fprintf(stderr, "warden: warning: %s\n", w.c_str());
  }

  ChooseStdio(options.stdin_file, &spec);
  // Start folds the per-job options into the policy (after every change
  // made above) and refuses what the policy does not allow; the refusal
  // names the policy that was chosen.
  const std::string job_id = spec.job_id;
  const std::string policy_name = spec.policy.name;
  const std::string policy_hash = spec.policy.hash;
  Result<std::unique_ptr<Job>> job = (*launcher)->Start(std::move(spec));
  if (!job.ok()) {
    const std::string msg = job.status().ToString();
    std::fprintf(stderr, "warden: %s\n", msg.c_str());
    WriteOrSay(out, SetupErrorResult(msg, job_id, policy_name, policy_hash));
    return kUsageExit;
  }
  const JobResult& res = (*job)->Wait();
  if (!res.error.empty() && (res.exit_code == 125 || res.exit_code == 126 || res.exit_code == 127)) {
    std::fprintf(stderr, "warden: %s\n", res.error.c_str());
  } else if (res.status == JobStatus::kTimeout) {
    std::fprintf(stderr, "warden: job %s timed out (%s)\n", res.job_id.c_str(), res.error.c_str());
  } else if (res.status == JobStatus::kSeccompViolation) {
    std::fprintf(stderr, "warden: job killed by the seccomp policy%s%s\n",
                 res.seccomp_syscall.empty() ? "" : " for calling ", res.seccomp_syscall.c_str());
  } else if (res.status == JobStatus::kOom) {
    std::fprintf(stderr, "warden: the job ran out of memory (cgroup limit)\n");
  }
  if (!WriteOrSay(out, res)) return kUsageExit;
  TraceMark("exit");
  return res.exit_code;
}

}  // namespace warden::cli
