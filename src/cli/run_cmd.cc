// warden run [--policy NAME|FILE] [options] -- CMD [ARGS...]
#include <fcntl.h>
#include <sys/stat.h>
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
#include "base/trace.h"
#include "cli/commands.h"
#include "policy/run_options.h"
#include "warden/job.h"
#include "warden/policy.h"

namespace warden::cli {
namespace {

constexpr int kUsageExit = 125;  // bad invocation is warden's failure

void RunUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden run [options] -- CMD [ARGS...]\n"
      "       warden run [options] SCRIPT [ARGS...]   (policy chosen by suffix or shebang)\n"
      "\n"
      "  --policy NAME|FILE     shipped policy name (default, python, node, shell) or a file\n"
      "  --ro-bind SRC DEST     bind host SRC read-only at DEST (as bubblewrap)\n"
      "  --bind SRC DEST        bind host SRC writable at DEST\n"
      "  --env K=V              set a variable in the job's environment\n"
      "  --env-pass K           copy variable K from warden's environment\n"
      "  --timeout DURATION     wall time limit: 30, 30s, 500ms, 2m, at most 366 days; 0 for\n"
      "                         none (SIGTERM, grace, SIGKILL)\n"
      "  --output-dir DIR       write the job's stdout and stderr to DIR/stdout, DIR/stderr\n"
      "  --result FILE          write the outcome as JSON to FILE ('-' for stdout)\n"
      "  --net MODE             none, loopback (default) or veth\n"
      "  --allow DEST           veth egress whitelist entry: ADDR[/PREFIX][:PORT][/tcp|/udp], host:PORT\n"
      "  --cgroup-parent PATH   create the job's cgroup under PATH in each hierarchy\n"
      "  --job-id ID            name the job (default: random)\n"
      "  --pty                  give the job a new terminal, relayed to warden's stdin/stdout\n"
      "\n"
      "exit: the job's code; 128+N killed by signal N; 124 timeout; 125 warden failed;\n"
      "      126 cannot execute; 127 not found\n");
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "warden: %s\n", msg.c_str());
  return kUsageExit;
}

bool IsRegularFile(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The first bytes of a file (enough for the ELF magic and a shebang line,
// which the kernel also cuts at 256 bytes); "" when it cannot be read.
std::string FileHead(const std::string& p) {
  char buf[256];
  base::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  ssize_t n = base::RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool IsElf(const std::string& head) { return head.rfind("\x7f" "ELF", 0) == 0; }

bool UnderPath(const std::string& path, const std::string& dir) {
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

bool Matches(const Policy& p, const std::string& script, const std::string& head) {
  for (const std::string& s : p.match_suffixes) {
    if (script.size() > s.size() && script.compare(script.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  if (head.rfind("#!", 0) != 0) return false;
  std::string line = head.substr(0, head.find('\n'));
  for (const std::string& i : p.match_interpreters) {
    if (line.find("/" + i) != std::string::npos || line.find(" " + i) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

int RunCommand(int argc, char** argv) {
  // Parsing and checking are policy::ParseRunOptions's, with the loader's
  // own rules for each value.
  Result<policy::RunOptions> parsed = policy::ParseRunOptions(argc, argv);
  if (!parsed.ok()) {
    RunUsage(stderr);
    return Fail(parsed.status().message());
  }
  policy::RunOptions& options = parsed.value();
  if (options.help) {
    RunUsage(stdout);
    return 0;
  }
  JobRequest req = std::move(options.request);
  const std::string& result_file = options.result_file;

  base::TracePhase("options parsed");
  // The policy: named, or chosen by the script's suffix or shebang.
  const std::string& program = req.argv[0];
  // A script is a text file (never an ELF binary) named by path or found
  // in the current directory; binaries run under the default policy.
  const std::string head = IsRegularFile(program) ? FileHead(program) : "";
  const bool is_script = IsRegularFile(program) && !IsElf(head) &&
                         (program.find('/') != std::string::npos || ::access(program.c_str(), X_OK) != 0);
  Result<Policy> pol = !options.policy
                           ? (is_script ? PolicyForProgram(program) : ResolvePolicy("default"))
                           : ResolvePolicy(*options.policy);
  if (!pol.ok()) return Fail(pol.status().ToString());
  req.policy = std::move(pol.value());
  base::TracePhase("policy loaded");

  // A script runs through its policy's interpreter. It is bound read-only
  // into the sandbox when its own path is hidden there (/tmp, masked dirs).
  if (is_script && !req.policy.interpreter.empty() && Matches(req.policy, program, head)) {
    char real[PATH_MAX];
    if (::realpath(program.c_str(), real) == nullptr) {
      return Fail("cannot resolve \"" + program + "\": " + std::strerror(errno));
    }
    std::string inside = real;
    bool hidden = UnderPath(inside, "/tmp");
    for (const std::string& m : req.policy.mask) hidden = hidden || UnderPath(inside, m);
    if (req.policy.rootfs.empty()) {  // the host view shows only its own paths
      bool shown = false;
      for (const std::string& v : req.policy.view) shown = shown || UnderPath(inside, v);
      hidden = hidden || !shown;
    }
    if (hidden) {
      inside = "/tmp/" + inside.substr(inside.rfind('/') + 1);
      MountSpec m;
      m.source = real;
      m.destination = inside;
      req.extra_mounts.push_back(m);
    }
    std::vector<std::string> argv2 = req.policy.interpreter;
    argv2.push_back(inside);
    argv2.insert(argv2.end(), req.argv.begin() + 1, req.argv.end());
    req.argv = std::move(argv2);
  }

  // Last, after every change to the request: --net and --allow go into the
  // policy, and its hash becomes that of what runs.
  if (Status st = policy::FinishRunRequest(options, &req); !st.ok()) return Fail(st.message());

  // The result's directory is opened and its target checked before the job
  // runs: the job may share that directory and plant a symlink, FIFO or
  // device there, and a target that cannot be written must stop the run
  // before it starts, not after.
  base::UniqueFd result_dir;
  std::string result_name;
  if (!result_file.empty() && result_file != "-") {
    const base::PathParts parts = base::SplitPath(result_file);
    Result<base::UniqueFd> dir = base::OpenDirNoFollow(parts.dir);
    Status st = dir.ok() ? base::CheckReplaceableFile(dir->get(), parts.name, result_file)
                         : dir.status();
    if (!st.ok()) return Fail("--result " + result_file + ": " + st.ToString());
    result_dir = std::move(dir.value());
    result_name = parts.name;
  }

  Result<JobResult> r = RunJob(req);
  if (!r.ok()) return Fail(r.status().ToString());
  const JobResult& res = r.value();
  if (!res.error.empty() && (res.exit_code == 125 || res.exit_code == 126 || res.exit_code == 127)) {
    std::fprintf(stderr, "warden: %s\n", res.error.c_str());
  } else if (res.status == "timeout") {
    std::fprintf(stderr, "warden: job %s timed out (%s)\n", res.job_id.c_str(), res.error.c_str());
  } else if (res.status == "seccomp-violation") {
    std::fprintf(stderr, "warden: job killed by the seccomp policy%s%s\n",
                 res.seccomp_syscall.empty() ? "" : " for calling ", res.seccomp_syscall.c_str());
  } else if (res.status == "oom") {
    std::fprintf(stderr, "warden: the job ran out of memory (cgroup limit)\n");
  }
  if (!result_file.empty()) {
    std::string json = JobResultToJson(res);
    if (result_file == "-") {
      std::fputs(json.c_str(), stdout);
    } else {
      // A fresh temp file in the directory opened before the run (O_EXCL,
      // O_NOFOLLOW), renamed over the target: renameat replaces whatever
      // the job planted at the name since, and never follows it.
      Status st = base::ReplaceFileAt(result_dir.get(), result_name, json, 0644, result_file);
      if (!st.ok()) {
        std::fprintf(stderr, "warden: cannot write result to %s: %s\n", result_file.c_str(),
                     st.ToString().c_str());
        return 125;
      }
    }
  }
  base::TracePhase("exit");
  return res.exit_code;
}

}  // namespace warden::cli
