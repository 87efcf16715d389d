// `warden policy check FILE|NAME`: validates a policy (including compiling
// its seccomp filter) and prints the effective policy and its hash.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "seccomp/seccomp.h"
#include "warden/policy.h"

namespace warden::cli {
namespace {

constexpr int kExitInvalid = 125;
constexpr int kExitUsage = 2;

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: warden policy check FILE|NAME\n"
               "\n"
               "Validates a policy and prints the effective policy (every default filled in,\n"
               "syscall groups expanded) and its hash. NAME is a shipped policy from\n"
               "%s (set WARDEN_POLICY_DIR to use another directory);\n"
               "a path containing '/' or ending in .toml is a file.\n"
               "Exit status: 0 valid, 125 invalid (FILE:LINE:COL: message on stderr), 2 usage.\n",
               PolicyDirectory().c_str());
}

}  // namespace

int PolicyCommand(int argc, char** argv) {
  if (argc < 1 || argv[0] == nullptr) {
    Usage(stderr);
    return kExitUsage;
  }
  if (std::strcmp(argv[0], "--help") == 0 || std::strcmp(argv[0], "-h") == 0 ||
      std::strcmp(argv[0], "help") == 0) {
    Usage(stdout);
    return 0;
  }
  if (std::strcmp(argv[0], "check") != 0) {
    std::fprintf(stderr, "warden policy: unknown subcommand \"%s\"\n\n", argv[0]);
    Usage(stderr);
    return kExitUsage;
  }
  if (argc != 2 || argv[1] == nullptr || argv[1][0] == '\0') {
    Usage(stderr);
    return kExitUsage;
  }
  Result<Policy> policy = ResolvePolicy(argv[1]);
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
  seccomp::CompileOptions opts;
  opts.use_cache = false;  // checking a policy writes nothing
  Result<seccomp::BpfProgram> bpf = seccomp::Compile(policy->seccomp, opts);
  if (!bpf.ok()) {
    std::string where = policy->source_path.empty() ? policy->name : policy->source_path;
    std::fprintf(stderr, "%s:1:1: [seccomp] cannot be compiled: %s\n", where.c_str(),
                 bpf.status().ToString().c_str());
    return kExitInvalid;
  }
  std::printf("# policy: %s\n", policy->name.c_str());
  if (!policy->source_path.empty()) std::printf("# source: %s\n", policy->source_path.c_str());
  std::printf("# hash: sha256:%s\n", policy->hash.c_str());
  std::printf("# seccomp: %zu BPF instructions, filter hash sha256:%s\n", bpf->insns.size(),
              bpf->hash.c_str());
  std::printf("\n%s", PolicyToToml(policy.value()).c_str());
  return 0;
}

}  // namespace warden::cli
