#include "policy/run_options.h"

#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "base/file.h"
#include "base/hash.h"
#include "policy/layer.h"  // kMaxEnvValueBytes, kMaxNetworkAllow
#include "policy/oci_seccomp.h"
#include "policy/owned_bind.h"
#include "policy_data/parse_util.h"

namespace warden::policy {
namespace {

Status Refuse(std::string message) {
  return Status::Error(Code::kInvalidArgument, std::move(message));
}

std::string Cut(std::string_view s, size_t n = 128) {
  return std::string(s.substr(0, n)) + (s.size() > n ? "..." : "");
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

enum Id {
  kPolicy = 256, kRoBind, kBind, kBindOwned, kEnv, kEnvPass, kEnvFile, kTimeout, kOutputDir,
  kResult, kResultFd, kNet, kAllow, kCgroupParent, kJobId, kPty, kChdir, kUid, kGid, kMemory,
  kPids, kCpus, kTmpSize, kHostname, kStdin, kSeccompProfile, kHelp,
};

// The one table of `warden run`'s options: getopt's, the suggestions' and
// the examples for a missing value.
struct Flag {
  const char* name;
  int id;
  const char* example;  // a value, for "--NAME needs a value (e.g. ...)"; null: takes none
};
constexpr Flag kFlags[] = {
    {"policy", kPolicy, "default"},
    {"ro-bind", kRoBind, "./src /src"},
    {"bind", kBind, "./out /out"},
    {"bind-owned", kBindOwned, "\"$PWD\" /work"},
    {"env", kEnv, "CI=1"},
    {"env-pass", kEnvPass, "HOME"},
    {"env-file", kEnvFile, "ci.env"},
    {"timeout", kTimeout, "30s"},
    {"output-dir", kOutputDir, "out"},
    {"result", kResult, "result.json"},
    {"result-fd", kResultFd, "3"},
    {"net", kNet, "veth"},
    {"allow", kAllow, "10.0.0.1:443"},
    {"cgroup-parent", kCgroupParent, "ci"},
    {"job-id", kJobId, "build-42"},
    {"pty", kPty, nullptr},
    {"chdir", kChdir, "/work"},
    {"uid", kUid, "1000"},
    {"gid", kGid, "1000"},
    {"memory", kMemory, "512M"},
    {"pids", kPids, "256"},
    {"cpus", kCpus, "1.5"},
    {"tmp-size", kTmpSize, "256M"},
    {"hostname", kHostname, "build"},
    {"stdin", kStdin, "input.txt"},
    {"seccomp-profile", kSeccompProfile, "profile.json"},
    {"help", kHelp, nullptr},
};

const Flag* FlagById(int id) {
  for (const Flag& f : kFlags) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The option `name` (dashes and "=VALUE" removed) was probably meant as:
// the only one it is a prefix of, else the only nearest one within a small
// edit distance; "" when there is no such single option.
std::string Suggestion(std::string_view name) {
  if (name.empty() || name.size() > 64) return "";
  const Flag* prefix_of = nullptr;
  int prefixes = 0;
  for (const Flag& f : kFlags) {
    if (std::string_view(f.name).starts_with(name)) {
      prefix_of = &f;
      ++prefixes;
    }
  }
  if (prefixes == 1) return prefix_of->name;
  if (prefixes > 1) return "";
  const size_t limit = name.size() <= 4 ? 1 : 2;
  const Flag* best = nullptr;
  size_t best_d = limit + 1;
  bool tie = false;
  for (const Flag& f : kFlags) {
    const size_t d = EditDistance(name, f.name);
    if (d < best_d) {
      best = &f;
      best_d = d;
      tie = false;
    } else if (d == best_d) {
      tie = true;
    }
  }
  return best && !tie ? best->name : "";
}

// One line for an option getopt did not take, as written in `arg`.
Status UnknownOption(std::string_view arg) {
  std::string_view name = arg;
  while (name.starts_with("-")) name.remove_prefix(1);
  name = name.substr(0, name.find('='));
  std::string message = "unknown option \"" + Cut(arg, 64) + "\"";
  if (std::string s = Suggestion(name); !s.empty()) message += ": did you mean --" + s + "?";
  return Refuse(std::move(message));
}

// The contents of a file the caller named, for an option: a regular file
// (a FIFO or a device is refused without blocking on it) of at most
// kMaxOptionFileBytes.
Result<std::string> ReadOptionFile(const std::string& flag, const std::string& path) {
  base::UniqueFd fd(base::RetryEintr(
      [&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); }));
  if (!fd) return Status::FromErrno(errno, flag + ": open(\"" + Cut(path) + "\")");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, flag + ": fstat(\"" + Cut(path) + "\")");
  if (!S_ISREG(st.st_mode)) return Refuse(flag + " " + Cut(path) + ": not a regular file");
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = base::RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return Status::FromErrno(errno, flag + ": read(\"" + Cut(path) + "\")");
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxOptionFileBytes) {
      return Refuse(flag + " " + Cut(path) + ": larger than " + std::to_string(kMaxOptionFileBytes) +
                    " bytes");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

// Why NAME=VALUE cannot be in the job's environment, or "": the rule of
// --env and env.set (a valid name, a bounded value, PATH as env.path).
std::string EnvProblem(std::string_view name, std::string_view value) {
  if (!IsValidEnvName(name)) {
    return "\"" + Cut(name, 64) + "\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)";
  }
  if (value.size() > kMaxEnvValueBytes) {
    return std::string(name) + ": the value is longer than " + std::to_string(kMaxEnvValueBytes) + " bytes";
  }
  if (name == "PATH" && (value.empty() || value[0] != '/')) {
    return "PATH: a ':'-separated list of absolute directories";
  }
  return "";
}

// A cgroup limit option: "none", or a value that `parse` takes.
template <typename T, typename F>
Result<CgroupLimit<T>> LimitOption(const std::string& flag, const char* value, F parse) {
  CgroupLimit<T> limit;  // never optional: a limit asked for on the command line is required
  if (std::string_view(value) == "none") return limit;
  Result<T> v = parse(value);
  if (!v.ok()) return Refuse(flag + " " + v.status().message() + " (or none for no limit)");
  limit.value = v.value();
  return limit;
}

}  // namespace

Status ParseEnvFile(const std::string& path, std::string_view text, EnvFile* out) {
  const std::string where = "--env-file " + Cut(path);
  if (text.find('\0') != std::string_view::npos) return Refuse(where + ": contains a NUL byte");
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 BOM, as docker drops it
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    while (!line.empty() && (line[0] == ' ' || line[0] == '\t')) line.remove_prefix(1);
    if (line.empty() || line[0] == '#') continue;
    const std::string at = where + ":" + std::to_string(line_no) + ": ";
    const size_t eq = line.find('=');
    const std::string name(line.substr(0, eq));
    if (eq == std::string_view::npos) {
      if (!IsValidEnvName(name)) {
        return Refuse(at + "\"" + Cut(name, 64) + "\" is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
      }
      if (name == "PATH") return Refuse(at + "PATH is the policy's env.path; write PATH=/usr/bin:/bin");
      out->set.erase(name);
      if (std::find(out->pass.begin(), out->pass.end(), name) == out->pass.end()) out->pass.push_back(name);
    } else {
      const std::string_view value = line.substr(eq + 1);
      if (std::string problem = EnvProblem(name, value); !problem.empty()) return Refuse(at + problem);
      std::erase(out->pass, name);
      out->set[name] = std::string(value);
    }
    if (out->set.size() + out->pass.size() > kMaxEnv) {
      return Refuse(where + ": more than " + std::to_string(kMaxEnv) + " variables");
    }
  }
  return Status::Ok();
}

Result<RunOptions> ParseRunOptions(int argc, char** argv) {
  static const std::vector<struct option> kOptions = [] {
    std::vector<struct option> v;
    for (const Flag& f : kFlags) {
      v.push_back({f.name, f.example ? required_argument : no_argument, nullptr, f.id});
    }
    v.push_back({nullptr, 0, nullptr, 0});
    return v;
  }();
  RunOptions o;
  JobRequest& req = o.request;
  std::map<std::string, std::string> cli_env;  // --env: wins over every --env-file
  EnvFile file_env;
  optind = 0;  // 0, not 1: also resets getopt's state from an earlier parse
  opterr = 0;
  int c;
  // "+": stop at the first non-option, so the job's own flags stay its own.
  // ":": a missing value is told apart from an unknown option.
  for (;;) {
    const int at = optind == 0 ? 1 : optind;
    const std::string_view written = at < argc ? argv[at] : "";
    int index = -1;
    c = getopt_long(argc, argv, "+:h", kOptions.data(), &index);
    if (c == -1) break;
    // getopt_long takes any unambiguous abbreviation; warden does not, so
    // that adding an option never changes what an existing command means.
    if (index >= 0 && written.starts_with("--")) {
      const std::string_view name = written.substr(2, written.find('=') - 2);
      if (name != kOptions[static_cast<size_t>(index)].name) return UnknownOption(written);
    }
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
      case kBind:
      case kBindOwned: {
        const std::string flag = "--" + std::string(FlagById(c)->name);
        // Two arguments, as bubblewrap takes them.
        if (optind >= argc) return Refuse(flag + " needs SRC and DEST (e.g. " + flag + " " + FlagById(c)->example + ")");
        if (req.extra_mounts.size() >= kMaxCliBinds) {
          return Refuse(flag + ": more than " + std::to_string(kMaxCliBinds) + " binds");
        }
        MountSpec m;
        m.kind = MountSpec::Kind::kBind;
        WARDEN_ASSIGN_OR_RETURN(m.source, AbsoluteSource(optarg));
        m.destination = argv[optind++];
        // An owned bind is there to be written, as `owned = true` in a policy.
        m.writable = c != kRoBind;
        m.owned = c == kBindOwned;
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
        cli_env[kv.substr(0, eq)] = kv.substr(eq + 1);
        if (cli_env.size() + req.env_pass.size() > kMaxEnv) {
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
        if (cli_env.size() + req.env_pass.size() > kMaxEnv) {
          return Refuse("--env/--env-pass: more than " + std::to_string(kMaxEnv) + " variables");
        }
        break;
      case kEnvFile: {
        WARDEN_ASSIGN_OR_RETURN(std::string text, ReadOptionFile("--env-file", optarg));
        WARDEN_RETURN_IF_ERROR(ParseEnvFile(optarg, text, &file_env));
        break;
      }
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
      case kResultFd: {
        // 0, 1 and 2 are the job's own streams.
        Result<uint64_t> fd = ParseCount(optarg, 3, INT_MAX);
        if (!fd.ok()) {
          return Refuse("--result-fd " + fd.status().message() +
                        " (a file descriptor warden inherits, 3 or more; 0-2 are the job's streams)");
        }
        o.result_fd = static_cast<int>(fd.value());
        break;
      }
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
      case kChdir:
        // filesystem.cwd's rule.
        if (std::string problem = PathProblem(optarg); !problem.empty()) {
          return Refuse("--chdir \"" + Cut(optarg) + "\": " + problem);
        }
        o.chdir = optarg;
        break;
      case kUid:
      case kGid: {
        Result<uint32_t> id = ParseId(optarg);
        if (!id.ok()) return Refuse(std::string(c == kUid ? "--uid " : "--gid ") + id.status().message());
        (c == kUid ? o.uid : o.gid) = id.value();
        break;
      }
      case kMemory: {
        auto parse = [](std::string_view v) -> Result<uint64_t> {
          WARDEN_ASSIGN_OR_RETURN(uint64_t b, ParseSize(v));
          if (b < kMinMemoryBytes) {
            return Refuse("\"" + Cut(v, 32) + "\" is less than " + std::to_string(kMinMemoryBytes) + " bytes (1M)");
          }
          return b;
        };
        WARDEN_ASSIGN_OR_RETURN(o.memory, LimitOption<uint64_t>("--memory", optarg, parse));
        break;
      }
      case kPids: {
        auto parse = [](std::string_view v) { return ParseCount(v, 1, kMaxPids); };
        WARDEN_ASSIGN_OR_RETURN(o.pids, LimitOption<uint64_t>("--pids", optarg, parse));
        break;
      }
      case kCpus: {
        WARDEN_ASSIGN_OR_RETURN(o.cpus, LimitOption<double>("--cpus", optarg, ParseCpus));
        break;
      }
      case kTmpSize: {
        Result<uint64_t> size = ParseSize(optarg);
        if (!size.ok()) return Refuse("--tmp-size " + size.status().message());
        if (std::string problem = TmpfsSizeProblem(size.value()); !problem.empty()) {
          return Refuse("--tmp-size " + problem);
        }
        o.tmp_size_bytes = size.value();
        break;
      }
      case kHostname:
        if (std::string problem = HostnameProblem(optarg); !problem.empty()) {
          return Refuse("--hostname \"" + Cut(optarg, 64) + "\" " + problem);
        }
        o.hostname = optarg;
        break;
      case kStdin:
        if (optarg[0] == '\0') return Refuse("--stdin \"\": name a file (e.g. --stdin input.txt)");
        o.stdin_file = optarg;
        break;
      case kSeccompProfile: {
        WARDEN_ASSIGN_OR_RETURN(std::string text, ReadOptionFile("--seccomp-profile", optarg));
        Result<SeccompSpec> spec = SeccompFromOci(text, optarg);
        if (!spec.ok()) {
          // The translation's own code: a profile it cannot express is
          // refused, never weakened.
          return Status::Error(spec.status().code(), "--seccomp-profile " + spec.status().message());
        }
        o.seccomp = std::move(spec.value());
        o.seccomp_profile = optarg;
        break;
      }
      case kHelp:
      case 'h':
        o.help = true;
        return o;
      case ':': {
        // getopt_long does not say which option it matched here: an
        // abbreviation ("--time") is unknown, as above.
        const Flag* f = FlagById(optopt);
        if (!f || written != "--" + std::string(f->name)) return UnknownOption(written);
        return Refuse("--" + std::string(f->name) + " needs a value (e.g. --" + f->name + " " + f->example + ")");
      }
      default:
        // '?': an unknown option, or a value given to one that takes none.
        if (const Flag* f = FlagById(optopt); f && written.find('=') != std::string_view::npos) {
          return Refuse("--" + std::string(f->name) + " takes no value (got \"" + Cut(written, 64) + "\")");
        }
        return UnknownOption(written);
    }
  }
  for (int i = optind; i < argc; ++i) req.argv.push_back(argv[i]);
  if (req.argv.empty()) return Refuse("no command given: use warden run [options] -- CMD [ARGS...]");
  if (req.pty && !req.output_dir.empty()) {
    return Refuse("--pty and --output-dir: the terminal's output goes to warden's stdout; use one");
  }
  if (req.pty && !o.stdin_file.empty()) {
    return Refuse("--pty and --stdin: the terminal is the job's stdin; use one");
  }
  // --env and --env-pass win over the files for the same name.
  req.env = std::move(file_env.set);
  for (const std::string& name : req.env_pass) req.env.erase(name);
  for (auto& [k, v] : cli_env) req.env[k] = std::move(v);
  for (const std::string& name : file_env.pass) {
    if (!cli_env.count(name) && std::find(req.env_pass.begin(), req.env_pass.end(), name) == req.env_pass.end()) {
      req.env_pass.push_back(name);
    }
  }
  if (req.env.size() + req.env_pass.size() > kMaxEnv) {
    return Refuse("--env/--env-pass/--env-file: more than " + std::to_string(kMaxEnv) + " variables");
  }
  return o;
}

namespace {

// --uid/--gid: the policy's own id, or one its allow list names. Never 0
// without a user namespace, whatever the list says (the loader refuses such
// a list, but a library caller may build a Policy by hand).
Status CheckId(const char* flag, const char* key, const char* list, uint32_t id, uint32_t current,
               const std::vector<IdRange>& allowed, const Policy& p) {
  if (id == 0 && !p.user_namespace) {
    return Refuse(std::string(flag) + " 0: jobs never run as host root (a policy with namespaces.user = true may map root)");
  }
  if (id == current || IdInRanges(allowed, id)) return Status::Ok();
  std::string ranges;
  for (const IdRange& r : allowed) ranges += (ranges.empty() ? "" : ", ") + IdRangeString(r);
  const std::string name = p.name.empty() ? "the policy" : "policy \"" + p.name + "\"";
  return Refuse(std::string(flag) + " " + std::to_string(id) + ": " + name + " runs jobs as " + key + " " +
                std::to_string(current) + (ranges.empty() ? " and allows no other" : " and allows only " + ranges) +
                "; to allow it, add it to identity." + list + " in the policy (e.g. " + list + " = [\"" +
                std::to_string(id) + "\"])");
}

// The values a library caller put in the request and options directly,
// checked with the same rules as the command line's parser (which has
// checked them already for `warden run`): a program that embeds warden gets
// no wider limits than a command line can ask for.
Status CheckRequestValues(const RunOptions& o, const JobRequest& req) {
  if (req.wall_time_ms && *req.wall_time_ms > kMaxDurationMs) {
    return Refuse("timeout of " + std::to_string(*req.wall_time_ms) +
                  " ms is longer than 366 days; give a shorter one, or 0 for none");
  }
  if (o.tmp_size_bytes) {
    if (std::string problem = TmpfsSizeProblem(*o.tmp_size_bytes); !problem.empty()) {
      return Refuse("tmp size " + problem);
    }
  }
  if (o.memory && o.memory->value && *o.memory->value < kMinMemoryBytes) {
    return Refuse("memory limit " + std::to_string(*o.memory->value) + " is less than " +
                  std::to_string(kMinMemoryBytes) + " bytes (1M)");
  }
  if (o.pids && o.pids->value && (*o.pids->value < 1 || *o.pids->value > kMaxPids)) {
    return Refuse("pids limit " + std::to_string(*o.pids->value) + " is not in 1.." +
                  std::to_string(kMaxPids));
  }
  if (o.cpus && o.cpus->value) {
    if (std::string problem = CpusProblem(*o.cpus->value); !problem.empty()) {
      return Refuse("cpus limit: " + problem);
    }
  }
  if (o.hostname) {
    if (std::string problem = HostnameProblem(*o.hostname); !problem.empty()) {
      return Refuse("hostname \"" + Cut(*o.hostname, 64) + "\" " + problem);
    }
  }
  if (o.chdir) {
    if (std::string problem = PathProblem(*o.chdir); !problem.empty()) {
      return Refuse("working directory \"" + Cut(*o.chdir) + "\": " + problem);
    }
  }
  for (const std::string& a : o.allow) {
    if (Result<AllowEntry> entry = ParseAllowEntry(a); !entry.ok()) {
      return Refuse("allow entry: " + entry.status().message());
    }
  }
  for (const auto& [name, value] : req.env) {
    if (!IsValidEnvName(name) || value.find('\0') != std::string::npos) {
      return Refuse("environment variable \"" + Cut(name, 64) +
                    "\": the name must be [A-Za-z_][A-Za-z0-9_]* and the value without NUL");
    }
  }
  for (const std::string& name : req.env_pass) {
    if (!IsValidEnvName(name) || name == "PATH") {
      return Refuse("env_pass \"" + Cut(name, 64) +
                    "\": not a variable name, or PATH (which is the policy's env.path)");
    }
  }
  if (req.env.size() + req.env_pass.size() > kMaxEnv) {
    return Refuse("more than " + std::to_string(kMaxEnv) + " environment variables");
  }
  for (const MountSpec& m : req.extra_mounts) {
    if (std::string problem = MountProblem(m); !problem.empty()) {
      return Refuse("bind \"" + Cut(m.source) + "\" -> \"" + Cut(m.destination) + "\": " + problem);
    }
  }
  return Status::Ok();
}

}  // namespace

Status FinishRunRequest(const RunOptions& options, JobRequest* request) {
  WARDEN_RETURN_IF_ERROR(CheckRequestValues(options, *request));
  Policy& p = request->policy;
  NetworkSpec& net = p.network;
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
  if (p.mounts.size() + request->extra_mounts.size() > kMaxMounts) {
    return Refuse("more than " + std::to_string(kMaxMounts) +
                  " mounts with the policy's: use fewer --bind/--ro-bind");
  }
  if (options.uid) {
    WARDEN_RETURN_IF_ERROR(CheckId("--uid", "uid", "allow_uids", *options.uid, p.uid, p.allow_uids, p));
  }
  if (options.gid) {
    WARDEN_RETURN_IF_ERROR(CheckId("--gid", "gid", "allow_gids", *options.gid, p.gid, p.allow_gids, p));
  }
  // Applied only once both are checked: a refused --gid leaves no --uid behind.
  if (options.uid) p.uid = *options.uid;
  if (options.gid) p.gid = *options.gid;
  // Last, so that it overrides the cwd a script's directory gave.
  if (options.chdir) p.cwd = *options.chdir;
  if (options.memory) p.cgroup.memory_max_bytes = *options.memory;
  if (options.pids) p.cgroup.pids_max = *options.pids;
  if (options.cpus) p.cgroup.cpu = *options.cpus;
  if (options.tmp_size_bytes) p.tmp_size_bytes = *options.tmp_size_bytes;
  if (options.hostname) p.hostname = *options.hostname;
  if (options.seccomp) p.seccomp = *options.seccomp;
  // Last, on the final seccomp spec (a --seccomp-profile included): an
  // owned bind keeps set-uid and set-gid bits out of its owner's files.
  if (HasOwnedBind(p, request->extra_mounts)) {
    WARDEN_RETURN_IF_ERROR(AddOwnedBindRules(&p.seccomp));
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
