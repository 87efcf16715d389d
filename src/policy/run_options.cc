#include "policy/run_options.h"

#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "base/hash.h"
#include "policy/layer.h"  // kMaxEnvValueBytes, kMaxNetworkAllow
#include "policy/parse_util.h"

namespace warden::policy {
namespace {

Status Refuse(std::string message) {
  return Status::Error(Code::kInvalidArgument, std::move(message));
}

// A bind's source as the loader wants it: absolute. A relative one is taken
// from the current directory, as bubblewrap takes it.
Result<std::string> AbsoluteSource(const std::string& source) {
  if (source.empty() || source[0] == '/') return source;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) {
    return Status::FromErrno(errno, "getcwd (for the relative bind source \"" + source + "\")");
  }
  std::string dir = cwd;
  return (dir == "/" ? "" : dir) + "/" + source;
}

}  // namespace

Result<RunOptions> ParseRunOptions(int argc, char** argv) {
  enum {
    kPolicy = 256, kRoBind, kBind, kEnv, kEnvPass, kTimeout, kOutputDir, kResult, kNet,
    kAllow, kCgroupParent, kJobId, kPty, kHelp,
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
      {"pty", no_argument, nullptr, kPty},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0},
  };
  RunOptions o;
  JobRequest& req = o.request;
  optind = 0;  // 0, not 1: also resets getopt's state from an earlier parse
  opterr = 0;
  int c;
  // "+": stop at the first non-option, so the job's own flags stay its own.
  while ((c = getopt_long(argc, argv, "+h", kOptions, nullptr)) != -1) {
    switch (c) {
      case kPolicy:
        // An empty name would silently mean "choose by the program"; the
        // caller meant some policy, so say that none was named.
        if (optarg[0] == '\0') {
          return Refuse("--policy \"\": name a shipped policy (default, python, node, shell) or a file");
        }
        o.policy = optarg;
        break;
      case kRoBind:
      case kBind: {
        const std::string flag = c == kBind ? "--bind" : "--ro-bind";
        // Two arguments, as bubblewrap takes them.
        if (optind >= argc) return Refuse(flag + " needs SRC and DEST");
        if (req.extra_mounts.size() >= kMaxCliBinds) {
          return Refuse(flag + ": more than " + std::to_string(kMaxCliBinds) + " binds");
        }
        MountSpec m;
        m.kind = MountSpec::Kind::kBind;
        WARDEN_ASSIGN_OR_RETURN(m.source, AbsoluteSource(optarg));
        m.destination = argv[optind++];
        m.writable = c == kBind;
        // The loader's own rule for [[filesystem.mount]]: no "/" destination
        // (which the mount plan would silently skip, leaving the host's
        // root), no "..", absolute paths within kMaxPathBytes.
        if (std::string problem = MountProblem(m); !problem.empty()) {
          return Refuse(flag + " " + std::string(optarg).substr(0, 128) + " " +
                        m.destination.substr(0, 128) + ": " + problem);
        }
        req.extra_mounts.push_back(std::move(m));
        break;
      }
      case kEnv: {
        const std::string kv = optarg;
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || !IsValidEnvName(kv.substr(0, eq))) {
          return Refuse("--env wants K=V with K made of letters, digits and _, not starting "
                        "with a digit (got \"" + kv.substr(0, 128) + "\")");
        }
        if (kv.size() - eq - 1 > kMaxEnvValueBytes) {
          return Refuse("--env " + kv.substr(0, eq) + ": the value is longer than " +
                        std::to_string(kMaxEnvValueBytes) + " bytes");
        }
        // PATH is the policy's env.path, which must be absolute directories.
        if (kv.compare(0, eq, "PATH") == 0 && (eq + 1 == kv.size() || kv[eq + 1] != '/')) {
          return Refuse("--env PATH=...: a ':'-separated list of absolute directories");
        }
        req.env[kv.substr(0, eq)] = kv.substr(eq + 1);
        if (req.env.size() + req.env_pass.size() > kMaxEnv) {
          return Refuse("--env/--env-pass: more than " + std::to_string(kMaxEnv) + " variables");
        }
        break;
      }
      case kEnvPass:
        if (!IsValidEnvName(optarg)) {
          return Refuse(std::string("--env-pass: \"") + std::string(optarg).substr(0, 128) +
                        "\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
        }
        if (std::strcmp(optarg, "PATH") == 0) {
          return Refuse("--env-pass PATH: PATH is the policy's env.path; set it with --env PATH=...");
        }
        if (std::find(req.env_pass.begin(), req.env_pass.end(), optarg) == req.env_pass.end()) {
          req.env_pass.push_back(optarg);
        }
        if (req.env.size() + req.env_pass.size() > kMaxEnv) {
          return Refuse("--env/--env-pass: more than " + std::to_string(kMaxEnv) + " variables");
        }
        break;
      case kTimeout: {
        // The policy's own grammar and bounds; 0 means no limit, as
        // limits.wall_time = 0 does.
        Result<uint64_t> ms = ParseDurationMs(optarg);
        if (!ms.ok()) return Refuse("--timeout " + ms.status().message());
        req.wall_time_ms = ms.value();
        break;
      }
      case kOutputDir: req.output_dir = optarg; break;
      case kResult: o.result_file = optarg; break;
      case kNet: {
        std::optional<NetworkSpec::Mode> mode = ParseNetworkMode(optarg);
        if (!mode) {
          return Refuse(std::string("--net must be none, loopback or veth (got \"") +
                        std::string(optarg).substr(0, 64) + "\")");
        }
        o.net = mode;
        break;
      }
      case kAllow: {
        Result<AllowEntry> entry = ParseAllowEntry(optarg);
        if (!entry.ok()) return Refuse("--allow: " + entry.status().message());
        o.allow.push_back(optarg);
        break;
      }
      case kCgroupParent: req.cgroup_parent = optarg; break;
      case kJobId: req.job_id = optarg; break;
      case kPty: req.pty = true; break;
      case kHelp:
      case 'h':
        o.help = true;
        return o;
      default:
        return Refuse(std::string("unknown or incomplete option \"") + argv[optind - 1] +
                      "\" (see warden run --help)");
    }
  }
  for (int i = optind; i < argc; ++i) req.argv.push_back(argv[i]);
  if (req.argv.empty()) return Refuse("no command given: use warden run [options] -- CMD [ARGS...]");
  if (req.pty && !req.output_dir.empty()) {
    return Refuse("--pty and --output-dir: the terminal's output goes to warden's stdout; use one");
  }
  return o;
}

Status FinishRunRequest(const RunOptions& options, JobRequest* request) {
  NetworkSpec& net = request->policy.network;
  if (options.net) net.mode = *options.net;
  for (const std::string& a : options.allow) {
    if (std::find(net.allow.begin(), net.allow.end(), a) == net.allow.end()) net.allow.push_back(a);
  }
  if (!options.allow.empty() && net.mode != NetworkSpec::Mode::kVeth) {
    return Refuse("--allow needs veth networking: add --net veth");
  }
  if (net.allow.size() > kMaxNetworkAllow) {
    return Refuse("--allow: more than " + std::to_string(kMaxNetworkAllow) +
                  " allow entries with the policy's");
  }
  if (request->policy.mounts.size() + request->extra_mounts.size() > kMaxMounts) {
    return Refuse("more than " + std::to_string(kMaxMounts) +
                  " mounts with the policy's: use fewer --bind/--ro-bind");
  }
  request->policy.hash = EffectivePolicy(*request).hash;
  return Status::Ok();
}

Policy EffectivePolicy(const JobRequest& request) {
  Policy p = request.policy;
  for (const MountSpec& m : request.extra_mounts) p.mounts.push_back(m);
  for (const auto& [k, v] : request.env) {
    if (k == "PATH") {
      p.path = v;
    } else {
      p.env[k] = v;
    }
  }
  for (const std::string& name : request.env_pass) {
    if (std::find(p.env_pass.begin(), p.env_pass.end(), name) == p.env_pass.end()) {
      p.env_pass.push_back(name);
    }
  }
  if (request.wall_time_ms) p.wall_time_ms = *request.wall_time_ms;
  p.hash = base::Sha256Hex(PolicyToToml(p));
  return p;
}

}  // namespace warden::policy
