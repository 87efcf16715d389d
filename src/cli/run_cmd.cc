// warden run [--policy NAME|FILE] [options] -- CMD [ARGS...]
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "base/safe_open.h"
#include "cli/commands.h"
#include "cli/result_out.h"
#include "policy/run_options.h"
#include "warden/diagnostics.h"
#include "warden/job.h"
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

// /dev/null, zero, full, random, urandom: memory devices that hold no state.
bool StatelessDevice(dev_t rdev) {
  const unsigned minor_no = minor(rdev);
  return major(rdev) == 1 &&
         (minor_no == 3 || minor_no == 5 || minor_no == 7 || minor_no == 8 || minor_no == 9);
}

// Opens --stdin FILE for the job. warden is root, so it opens only what
// gives the job nothing but bytes to read, and what the real caller may
// read:
// - a regular file;
// - a FIFO: the job reads what a writer sends, as with `cmd < fifo`; a
//   pipe hands no privilege over;
// - of the character devices, only the memory devices that hold no state
//   (/dev/null, zero, full, random, urandom). A terminal would hand the job
//   a terminal to inject input into, a disk or /dev/mem what root may read;
// - no directory, socket or block device.
// A symlink anywhere in the path is refused (a job may plant one in a
// shared directory), and what is checked is what is opened: the name is
// first opened O_PATH below its directory's fd, its type checked on that
// fd (nothing is opened for real that is refused), then reopened through
// the fd.
Result<base::UniqueFd> OpenStdin(const std::string& path) {
  const std::string what = "--stdin " + path;
  const base::PathParts parts = base::SplitPath(path);
  if (parts.name.empty()) {
    return Status::Error(Code::kInvalidArgument, what + ": name a file, not a directory");
  }
  Result<base::UniqueFd> dir = base::OpenDirNoFollow(parts.dir);
  if (!dir.ok()) return Status(dir.status()).Wrap(what);
  base::UniqueFd handle(::openat(dir->get(), parts.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!handle) return Status::FromErrno(errno, what + ": open");
  struct stat st;
  if (::fstat(handle.get(), &st) != 0) return Status::FromErrno(errno, what + ": fstat");
  if (S_ISLNK(st.st_mode)) {
    return Status::Error(Code::kInvalidArgument, what + ": is a symlink; name the file it points to");
  }
  const bool ok_type = S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
                       (S_ISCHR(st.st_mode) && StatelessDevice(st.st_rdev));
  if (!ok_type) {
    // Devices are refused before they are opened: opening some does
    // something (a tape rewinds, a modem line hangs up).
    const char* kind = S_ISDIR(st.st_mode)   ? "a directory"
                       : S_ISCHR(st.st_mode) ? "a device"
                       : S_ISBLK(st.st_mode) ? "a device"
                                             : "not a regular file";
    return Status::Error(Code::kInvalidArgument,
                         what + ": is " + kind + "; give a regular file, a FIFO or /dev/null");
  }
  // The calling user's right to read it, on the fd (faccessat2 with
  // AT_EMPTY_PATH checks the real uid, as access(2) does).
  if (::syscall(SYS_faccessat2, handle.get(), "", R_OK, AT_EMPTY_PATH) != 0) {
    return Status::FromErrno(errno, what + ": access(R_OK) for the calling user");
  }
  // A FIFO is opened blocking, as the shell's `< fifo` is: the open waits
  // for a writer, and the job then reads what it sends.
  const std::string self = "/proc/self/fd/" + std::to_string(handle.get());
  base::UniqueFd fd(::open(self.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC |
                                              (S_ISFIFO(st.st_mode) ? 0 : O_NONBLOCK)));
  if (!fd) return Status::FromErrno(errno, what + ": open");
  struct stat again;
  if (::fstat(fd.get(), &again) != 0) return Status::FromErrno(errno, what + ": fstat");
  if (again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
    return Status::Error(Code::kInvalidArgument, what + ": changed while it was opened; try again");
  }
  if (::fcntl(fd.get(), F_SETFL, 0) != 0) return Status::FromErrno(errno, what + ": fcntl");
  return fd;
}

// Writes the result to its targets; false (after saying so) when one
// failed.
bool WriteOrSay(const ResultOut& out, const JobResult& result) {
  Status st = out.Write(result);
  if (st.ok()) return true;
  std::fprintf(stderr, "warden: cannot write the result: %s\n", st.ToString().c_str());
  return false;
}

// The request that RunJob takes, with the per-job options folded into the
// policy.
Result<JobRequest> RequestFromSpec(JobSpec spec) {
  JobRequest req;
  req.policy = std::move(spec.policy);
  req.argv = std::move(spec.argv);
  req.extra_mounts = std::move(spec.extra_mounts);
  req.env = std::move(spec.env);
  req.env_pass = std::move(spec.env_pass);
  req.wall_time_ms = spec.wall_time_ms;
  req.output_dir = std::move(spec.output_dir);
  req.pty = spec.pty;
  req.job_id = std::move(spec.job_id);
  req.cgroup_parent = std::move(spec.cgroup_parent);
  req.die_with_parent = spec.die_with_parent;
  policy::RunOptions options;
  options.chdir = std::move(spec.cwd);
  options.uid = spec.uid;
  options.gid = spec.gid;
  options.hostname = std::move(spec.hostname);
  options.memory = spec.memory;
  options.pids = spec.pids;
  options.cpus = spec.cpus;
  options.tmp_size_bytes = spec.tmp_size_bytes;
  options.net = spec.net;
  options.allow = std::move(spec.allow);
  options.seccomp = std::move(spec.seccomp);
  WARDEN_RETURN_IF_ERROR(policy::FinishRunRequest(options, &req));
  return req;
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
  // The policy: named, or chosen by the program's suffix, its "#!" line or
  // its own name (`-- python3 app.py` gets python's).
  const std::string program = spec.argv[0];
  const bool is_script = IsScript(program);
  Result<Policy> pol = options.policy ? ResolvePolicy(*options.policy) : PolicyForProgram(program);
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

  // Last, after every change to the request: --net and --allow go into the
  // policy, and its hash becomes that of what runs.
  Result<JobRequest> request = RequestFromSpec(spec);
  if (!request.ok()) return fail(request.status().message());
  JobRequest& req = request.value();
  spec.policy.hash = req.policy.hash;  // refusals from here on name what would run

  // --stdin: the job's fd 0, which it inherits from warden.
  if (!options.stdin_file.empty()) {
    Result<base::UniqueFd> in = OpenStdin(options.stdin_file);
    if (!in.ok()) return fail(in.status().ToString());
    if (::dup2(in->get(), STDIN_FILENO) < 0) {
      return fail(Status::FromErrno(errno, "dup2(--stdin, 0)").ToString());
    }
  }

  Result<JobResult> r = RunJob(req);
  if (!r.ok()) return fail(r.status().ToString());
  const JobResult& res = r.value();
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
