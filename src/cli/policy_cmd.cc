// `warden policy check FILE|NAME`: validates a policy (including compiling
// its seccomp filter) and prints the effective policy and its hash.
// `warden policy import-oci FILE.json`: writes a policy whose [seccomp] is
// an OCI/Docker seccomp profile, translated exactly or refused.
//
// `warden policy --help` (and `help`, `-h`) prints the usage and exits 0,
// so `warden help policy` can call PolicyCommand with "--help".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/env_config.h"
#include "warden/launcher.h"
#include "warden/policy.h"

namespace warden::cli {
namespace {

constexpr int kExitInvalid = 125;
constexpr int kExitUsage = 2;

void PolicyUsage(FILE* out) {
  std::fprintf(out,
               "usage: warden policy check FILE|NAME\n"
               "       warden policy import-oci FILE.json [--extends NAME|FILE] [-o OUT.toml [--force]]\n"
               "       warden policy SUBCOMMAND --help\n"
               "\n"
               "  check       validate a policy, print the effective one and its hash\n"
               "  import-oci  write a policy whose [seccomp] is an OCI/Docker seccomp profile\n");
}

void CheckUsage(FILE* out) {
  std::fprintf(out,
               "usage: warden policy check FILE|NAME\n"
               "\n"
               "Validates a policy and prints the effective policy (every default filled in,\n"
               "syscall groups expanded) and its hash. NAME is a shipped policy from\n"
               "%s (set WARDEN_POLICY_DIR to use another directory);\n"
               "a path containing '/' or ending in .toml is a file.\n"
               "Exit status: 0 valid, 125 invalid (FILE:LINE:COL: message on stderr), 2 usage.\n",
               PolicyDirectoryFromEnvironment().c_str());
}

void ImportUsage(FILE* out) {
  std::fprintf(out,
               "usage: warden policy import-oci FILE.json [--extends NAME|FILE] [-o OUT.toml [--force]]\n"
               "\n"
               "Translates an OCI runtime-spec (linux.seccomp) or Docker seccomp profile into\n"
               "a policy: the effective NAME policy (default: \"default\") with its [seccomp]\n"
               "replaced by the profile. The result is written to stdout, or to OUT.toml,\n"
               "which must not exist unless --force is given; `warden policy check OUT.toml`\n"
               "loads it back to the same filter.\n"
               "\n"
               "What the profile says that warden cannot express exactly (SCMP_ACT_TRAP,\n"
               "NOTIFY, TRACE, flags, listeners, and combinations of rules warden's filter\n"
               "cannot reproduce) is refused with the JSON path and why: a profile is never\n"
               "weakened. Stricter by construction: i386 and x32 calls and KILL_THREAD kill\n"
               "the whole process. includes/excludes are read for a job without capabilities\n"
               "on this host's architecture and kernel.\n"
               "\n"
               "Exit status: 0 written, 125 refused (the message says why), 2 usage.\n");
}

bool IsHelp(std::string_view a) { return a == "--help" || a == "-h"; }

// NAME|FILE as `warden run --policy` loads it: names from the policy
// directory of the WARDEN_* environment, the policy cache below its cache
// directory.
Result<Policy> LoadNamedPolicy(const std::string& name_or_file) {
  WARDEN_ASSIGN_OR_RETURN(std::unique_ptr<Launcher> launcher,
                          LauncherFromEnvironment(/*forward_signals=*/false));
  return launcher->LoadPolicy(name_or_file);
}

int UsageError(const std::string& cmd, const std::string& what) {
  std::fprintf(stderr, "warden %s: %s (see warden %s --help)\n", cmd.c_str(), what.c_str(), cmd.c_str());
  return kExitUsage;
}

int Check(const std::vector<std::string>& args) {
  std::string target;
  bool options_done = false;
  for (const std::string& a : args) {
    if (!options_done && IsHelp(a)) {
      CheckUsage(stdout);
      return 0;
    }
    if (!options_done && a == "--") {
      options_done = true;
    } else if (!options_done && a.size() > 1 && a[0] == '-') {
      return UsageError("policy check", "unknown option \"" + a.substr(0, 64) + "\"");
    } else if (!target.empty()) {
      return UsageError("policy check", "unexpected argument \"" + a.substr(0, 64) + "\": one FILE|NAME only");
    } else if (a.empty()) {
      return UsageError("policy check", "empty FILE|NAME");
    } else {
      target = a;
    }
  }
  if (target.empty()) return UsageError("policy check", "missing FILE|NAME");
  Result<Policy> policy = LoadNamedPolicy(target);
  if (!policy.ok()) {
    const Status& st = policy.status();
    // Parse and validation errors already read "FILE:LINE:COL: what".
    if (st.code() == Code::kInvalidArgument) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
    } else {
      std::fprintf(stderr, "warden: policy: %s\n", st.ToString().c_str());
    }
    return kExitInvalid;
  }
  // Checking a policy writes nothing: no filter cache.
  Result<SeccompFilterInfo> bpf = CompileSeccompFilter(policy->seccomp);
  if (!bpf.ok()) {
    std::string where = policy->source_path.empty() ? policy->name : policy->source_path;
    std::fprintf(stderr, "%s:1:1: [seccomp] cannot be compiled: %s\n", where.c_str(),
                 bpf.status().ToString().c_str());
    return kExitInvalid;
  }
  std::printf("# policy: %s\n", policy->name.c_str());
  if (!policy->source_path.empty()) std::printf("# source: %s\n", policy->source_path.c_str());
  std::printf("# hash: sha256:%s\n", PolicyHash(policy.value()).c_str());
  std::printf("# seccomp: %zu BPF instructions, filter hash sha256:%s\n", bpf->instructions,
              bpf->hash.c_str());
  std::printf("\n%s", PolicyToToml(policy.value()).c_str());
  return 0;
}

// A path as it may appear in a TOML comment: one line, printable.
std::string CommentSafe(const std::string& s) {
  std::string out = s.substr(0, 512);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// Writes all of `text` to `stream` and flushes it; `what` names the file in
// errors.
Status WriteText(FILE* stream, const std::string& text, const std::string& what) {
  if (std::fwrite(text.data(), 1, text.size(), stream) != text.size() || std::fflush(stream) != 0) {
    return Status::FromErrno(errno, "write(" + what + ")");
  }
  return Status::Ok();
}

// Writes `text` to `out` without following a symlink planted there and
// without truncating anything: a new file (O_EXCL), or with `force` a new
// file beside it renamed over it (the rename replaces a symlink itself,
// never its target).
Status WriteOutput(const std::string& out, const std::string& text, bool force) {
  std::string path = out;
  if (force) {
    const size_t slash = out.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : out.substr(0, slash));
    path = dir + "/.warden-import-" + std::to_string(::getpid()) + ".tmp";
  }
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    Status st = Status::FromErrno(errno, "open(\"" + path + "\", O_CREAT|O_EXCL|O_NOFOLLOW)");
    if (errno == EEXIST && !force) st.Wrap(out + " exists; pass --force to replace it");
    return st;
  }
  FILE* stream = ::fdopen(fd, "w");
  if (stream == nullptr) {
    Status st = Status::FromErrno(errno, "fdopen(\"" + path + "\")");
    ::close(fd);
    ::unlink(path.c_str());
    return st;
  }
  Status st = WriteText(stream, text, path);
  if (st.ok() && ::fsync(fd) != 0) st = Status::FromErrno(errno, "fsync(\"" + path + "\")");
  if (std::fclose(stream) != 0 && st.ok()) st = Status::FromErrno(errno, "close(\"" + path + "\")");
  if (st.ok() && force && ::rename(path.c_str(), out.c_str()) != 0) {
    st = Status::FromErrno(errno, "rename(\"" + path + "\" -> \"" + out + "\")");
  }
  if (!st.ok() && force) ::unlink(path.c_str());
  return st;
}

int ImportOci(const std::vector<std::string>& args) {
  const std::string cmd = "policy import-oci";
  std::string file, out, base = "default";
  bool force = false, options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    // The option's value: the next argument, which must not be empty.
    auto value = [&](std::string* dst) -> bool {
      if (i + 1 >= args.size() || args[i + 1].empty()) return false;
      *dst = args[++i];
      return true;
    };
    if (options_done) {
      if (!file.empty()) return UsageError(cmd, "unexpected argument \"" + a.substr(0, 64) + "\": one FILE.json only");
      file = a;
    } else if (IsHelp(a)) {
      ImportUsage(stdout);
      return 0;
    } else if (a == "--") {
      options_done = true;
    } else if (a == "--extends") {
      if (!value(&base)) return UsageError(cmd, "--extends needs a policy NAME or FILE");
    } else if (a.starts_with("--extends=")) {
      base = a.substr(10);
      if (base.empty()) return UsageError(cmd, "--extends needs a policy NAME or FILE");
    } else if (a == "-o" || a == "--output") {
      if (!value(&out)) return UsageError(cmd, a + " needs a file name (or - for stdout)");
    } else if (a.starts_with("--output=")) {
      out = a.substr(9);
      if (out.empty()) return UsageError(cmd, "--output needs a file name (or - for stdout)");
    } else if (a == "--force") {
      force = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return UsageError(cmd, "unknown option \"" + a.substr(0, 64) + "\"");
    } else if (!file.empty()) {
      return UsageError(cmd, "unexpected argument \"" + a.substr(0, 64) + "\": one FILE.json only");
    } else if (a.empty()) {
      return UsageError(cmd, "empty FILE.json");
    } else {
      file = a;
    }
  }
  if (file.empty()) return UsageError(cmd, "missing FILE.json");
  if (out == "-") out.clear();
  if (force && out.empty()) return UsageError(cmd, "--force needs -o OUT.toml");

  Result<SeccompSpec> spec = ImportOciSeccompProfile(file);
  if (!spec.ok()) {
    std::fprintf(stderr, "warden: %s: %s\n", cmd.c_str(), spec.status().message().c_str());
    return kExitInvalid;
  }
  Result<Policy> based = LoadNamedPolicy(base);
  if (!based.ok()) {
    std::fprintf(stderr, "warden: %s: --extends %s: %s\n", cmd.c_str(), base.c_str(),
                 based.status().message().c_str());
    return kExitInvalid;
  }
  Policy p = std::move(based).value();
  p.seccomp = spec.value();
  const std::string text = "# Written by `warden policy import-oci`: the effective \"" + CommentSafe(p.name) +
                           "\" policy,\n# with [seccomp] translated from " + CommentSafe(file) + ".\n" +
                           PolicyToToml(p);

  // The file must load back to the same filter, and the filter must
  // compile (its size, its allow rules per syscall): checked before
  // anything is written.
  const std::string out_name = out.empty() ? "imported.toml" : out;
  Result<Policy> back = LoadPolicyString(text, out_name);
  if (!back.ok() || !(back->seccomp == spec.value())) {
    std::fprintf(stderr, "warden: %s: %s: the written policy would not load back to the same [seccomp]%s%s\n",
                 cmd.c_str(), file.c_str(), back.ok() ? "" : ": ", back.ok() ? "" : back.status().message().c_str());
    return kExitInvalid;
  }
  Result<SeccompFilterInfo> bpf = CompileSeccompFilter(spec.value());
  if (!bpf.ok()) {
    std::fprintf(stderr, "warden: %s: %s: the translated filter cannot be compiled: %s\n", cmd.c_str(),
                 file.c_str(), bpf.status().ToString().c_str());
    return kExitInvalid;
  }

  if (out.empty()) {
    Status st = WriteText(stdout, text, "stdout");
    if (!st.ok()) {
      std::fprintf(stderr, "warden: %s: %s\n", cmd.c_str(), st.ToString().c_str());
      return kExitInvalid;
    }
    return 0;
  }
  Status st = WriteOutput(out, text, force);
  if (!st.ok()) {
    std::fprintf(stderr, "warden: %s: %s\n", cmd.c_str(), st.ToString().c_str());
    return kExitInvalid;
  }
  std::fprintf(stderr, "warden: wrote %s (%zu seccomp rules, %zu BPF instructions)\n", out.c_str(),
               spec->rules.size(), bpf->instructions);
  return 0;
}

}  // namespace

int PolicyCommand(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 0; i < argc && argv[i] != nullptr; ++i) args.emplace_back(argv[i]);
  if (args.empty()) return UsageError("policy", "missing subcommand: check or import-oci");
  const std::string sub = args[0];
  args.erase(args.begin());
  if (IsHelp(sub) || sub == "help") {
    if (!args.empty()) {
      if (args[0] == "check") {
        CheckUsage(stdout);
        return 0;
      }
      if (args[0] == "import-oci") {
        ImportUsage(stdout);
        return 0;
      }
      return UsageError("policy", "no help for \"" + args[0].substr(0, 64) + "\": subcommands are check and import-oci");
    }
    PolicyUsage(stdout);
    return 0;
  }
  if (sub == "check") return Check(args);
  if (sub == "import-oci") return ImportOci(args);
  return UsageError("policy", "unknown subcommand \"" + sub.substr(0, 64) + "\": check or import-oci");
}

}  // namespace warden::cli
