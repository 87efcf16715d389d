// warden run [--policy NAME|FILE] [options] -- CMD [ARGS...]
#include <fcntl.h>
#include <getopt.h>
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
      "  --timeout DURATION     wall time limit: 30, 30s, 500ms, 2m (SIGTERM, grace, SIGKILL)\n"
      "  --output-dir DIR       write the job's stdout and stderr to DIR/stdout, DIR/stderr\n"
      "  --result FILE          write the outcome as JSON to FILE ('-' for stdout)\n"
      "  --net MODE             none, loopback (default) or veth\n"
      "  --allow DEST           veth egress whitelist entry: ADDR[/PREFIX][:PORT][/tcp|/udp], host:PORT\n"
      "  --cgroup-parent PATH   create the job's cgroup under PATH in each hierarchy\n"
      "  --job-id ID            name the job (default: random)\n"
      "\n"
      "exit: the job's code; 128+N killed by signal N; 124 timeout; 125 warden failed;\n"
      "      126 cannot execute; 127 not found\n");
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "warden: %s\n", msg.c_str());
  return kUsageExit;
}

// "30" and "30s" are seconds; "ms" and "m" suffixes too.
bool ParseDuration(const std::string& s, uint64_t* ms) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno || end == s.c_str() || v < 0 || v > 1e9) return false;
  std::string unit(end);
  double mult = 1000;
  if (unit == "ms") mult = 1;
  else if (unit == "s" || unit.empty()) mult = 1000;
  else if (unit == "m") mult = 60000;
  else if (unit == "h") mult = 3600000;
  else return false;
  *ms = static_cast<uint64_t>(v * mult);
  return *ms > 0;
}

bool ValidEnvName(const std::string& k) {
  if (k.empty() || k.size() > 256 || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
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
  enum {
    kPolicy = 256, kRoBind, kBind, kEnv, kEnvPass, kTimeout, kOutputDir, kResult, kNet,
    kAllow, kCgroupParent, kJobId, kHelp,
  };
  static const struct option kOptions[] = {
      {"policy", required_argument, nullptr, kPolicy},
      {"ro-bind", required_argument, nullptr, kRoBind},
      {"bind", required_argument, nullptr, kBind},
      {"env", required_argument, nullptr, kEnv},
      {"env-pass", required_argument, nullptr, kEnvPass},
      {"timeout", required_argument, nullptr, kTimeout},
      {"output-dir", required_argument, nullptr, kOutputDir},
      {"result", required_argument, nullptr, kResult},
      {"net", required_argument, nullptr, kNet},
      {"allow", required_argument, nullptr, kAllow},
      {"cgroup-parent", required_argument, nullptr, kCgroupParent},
      {"job-id", required_argument, nullptr, kJobId},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  JobRequest req;
  std::string policy_arg, result_file, net_mode;
  std::vector<std::string> allow;
  optind = 1;
  opterr = 0;
  int c;
  // "+": stop at the first non-option, so the job's own flags stay its own.
  while ((c = getopt_long(argc, argv, "+h", kOptions, nullptr)) != -1) {
    switch (c) {
      case kPolicy: policy_arg = optarg; break;
      case kRoBind:
      case kBind: {
        // Two arguments, as bubblewrap takes them.
        if (optind >= argc) return Fail(std::string("--") + (c == kBind ? "bind" : "ro-bind") + " needs SRC and DEST");
        MountSpec m;
        m.kind = MountSpec::Kind::kBind;
        m.source = optarg;
        m.destination = argv[optind++];
        m.writable = c == kBind;
        if (m.destination.empty() || m.destination[0] != '/') {
          return Fail("bind destination \"" + m.destination + "\" must be an absolute path");
        }
        req.extra_mounts.push_back(m);
        break;
      }
      case kEnv: {
        std::string kv = optarg;
        size_t eq = kv.find('=');
        if (eq == std::string::npos || !ValidEnvName(kv.substr(0, eq))) {
          return Fail("--env wants K=V with K made of letters, digits and _ (got \"" + kv + "\")");
        }
        req.env[kv.substr(0, eq)] = kv.substr(eq + 1);
        break;
      }
      case kEnvPass:
        if (!ValidEnvName(optarg)) return Fail(std::string("--env-pass: bad name \"") + optarg + "\"");
        req.env_pass.push_back(optarg);
        break;
      case kTimeout: {
        uint64_t ms = 0;
        if (!ParseDuration(optarg, &ms)) {
          return Fail(std::string("--timeout: \"") + optarg + "\" is not a duration (try 30s, 500ms, 2m)");
        }
        req.wall_time_ms = ms;
        break;
      }
      case kOutputDir: req.output_dir = optarg; break;
      case kResult: result_file = optarg; break;
      case kNet: net_mode = optarg; break;
      case kAllow: allow.push_back(optarg); break;
      case kCgroupParent: req.cgroup_parent = optarg; break;
      case kJobId: req.job_id = optarg; break;
      case kHelp:
      case 'h':
        RunUsage(stdout);
        return 0;
      default:
        RunUsage(stderr);
        return Fail(std::string("unknown or incomplete option \"") + argv[optind - 1] + "\"");
    }
  }
  for (int i = optind; i < argc; ++i) req.argv.push_back(argv[i]);
  if (req.argv.empty()) {
    RunUsage(stderr);
    return Fail("no command given");
  }

  base::TracePhase("options parsed");
  // The policy: named, or chosen by the script's suffix or shebang.
  const std::string& program = req.argv[0];
  // A script is a text file (never an ELF binary) named by path or found
  // in the current directory; binaries run under the default policy.
  const std::string head = IsRegularFile(program) ? FileHead(program) : "";
  const bool is_script = IsRegularFile(program) && !IsElf(head) &&
                         (program.find('/') != std::string::npos || ::access(program.c_str(), X_OK) != 0);
  Result<Policy> pol = policy_arg.empty()
                           ? (is_script ? PolicyForProgram(program) : ResolvePolicy("default"))
                           : ResolvePolicy(policy_arg);
  if (!pol.ok()) return Fail(pol.status().ToString());
  req.policy = std::move(pol.value());
  base::TracePhase("policy loaded");

  if (!net_mode.empty()) {
    if (net_mode == "none") req.policy.network.mode = NetworkSpec::Mode::kNone;
    else if (net_mode == "loopback") req.policy.network.mode = NetworkSpec::Mode::kLoopback;
    else if (net_mode == "veth") req.policy.network.mode = NetworkSpec::Mode::kVeth;
    else return Fail("--net must be none, loopback or veth (got \"" + net_mode + "\")");
  }
  for (const std::string& a : allow) req.policy.network.allow.push_back(a);
  if (!allow.empty() && req.policy.network.mode != NetworkSpec::Mode::kVeth) {
    return Fail("--allow needs veth networking: add --net veth");
  }

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
