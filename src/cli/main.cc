// warden: one binary, several subcommands.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/env_config.h"
#include "warden/agent.h"
#include "warden/diagnostics.h"
#include "warden/job.h"

namespace {

constexpr int kUsageExit = 2;

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: warden COMMAND [ARGS]\n"
               "\n"
               "commands:\n"
               "  run [options] -- CMD [ARGS...]   run a command in a sandbox\n"
               "  run [options] SCRIPT [ARGS...]   run a script with its policy (.py .js .sh)\n"
               "  policy check FILE|NAME           validate a policy, print the effective one\n"
               "  doctor                           what works on this host, what to do if not\n"
               "  gc                               remove what crashed wardens left behind\n"
               "  version                          print the version\n"
               "  help [COMMAND]                   this text, or COMMAND's own help\n"
               "\n"
               "`warden COMMAND --help` (or `warden help COMMAND`) describes a command.\n");
}

bool IsHelp(const char* arg) {
  return std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0;
}

int VersionCommand(int argc, char** argv) {
  if (argc == 2 && IsHelp(argv[1])) {
    std::printf("usage: warden version\n\nPrints warden's version.\n");
    return 0;
  }
  if (argc > 1) {
    std::fprintf(stderr, "warden version: unexpected argument \"%s\"\nsee 'warden version --help'\n",
                 argv[1]);
    return kUsageExit;
  }
  std::printf("warden %s\n", warden::Version());
  return 0;
}

// `warden help [COMMAND [SUBCOMMAND]]`: the same text as `warden COMMAND
// --help`, by the same code path.
int HelpCommand(int argc, char** argv) {
  if (argc < 2) {
    Usage(stdout);
    return 0;
  }
  const char* topic = argv[1];
  char help[] = "--help";
  if (std::strcmp(topic, "policy") == 0) {
    // warden help policy [SUB]: as `warden policy [SUB] --help`.
    if (argc > 3) {
      std::fprintf(stderr, "warden help: too many arguments\nsee 'warden help --help'\n");
      return kUsageExit;
    }
    char* args[] = {argc == 3 ? argv[2] : help, help, nullptr};
    return warden::cli::PolicyCommand(argc == 3 ? 2 : 1, args);
  }
  if (argc > 2) {
    std::fprintf(stderr, "warden help: too many arguments\nsee 'warden help --help'\n");
    return kUsageExit;
  }
  char* args[] = {argv[1], help, nullptr};
  if (std::strcmp(topic, "run") == 0) return warden::cli::RunCommand(2, args);
  if (std::strcmp(topic, "doctor") == 0) return warden::cli::DoctorCommand(2, args);
  if (std::strcmp(topic, "gc") == 0) return warden::cli::GcCommand(2, args);
  if (std::strcmp(topic, "version") == 0) return VersionCommand(2, args);
  if (std::strcmp(topic, "help") == 0 || IsHelp(topic)) {
    Usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "warden help: unknown command \"%s\"\nsee 'warden --help'\n", topic);
  return kUsageExit;
}

}  // namespace

int main(int argc, char** argv) {
  // The environment is read once, here: the library reads none.
  if (warden::Status st = warden::cli::ApplyEnvironment(); !st.ok()) {
    std::fprintf(stderr, "warden: %s\n", st.ToString().c_str());
    return 125;
  }
  warden::TraceMark("main");
  if (argc < 2) {
    Usage(stderr);
    return kUsageExit;
  }
  const char* cmd = argv[1];
  // The agent's per-job monitor (not listed: the agent runs it, not people).
  if (std::strcmp(cmd, "monitor") == 0) {
    return warden::RunAgentMonitor(std::vector<std::string>(argv + 2, argv + argc));
  }
  if (std::strcmp(cmd, "run") == 0) return warden::cli::RunCommand(argc - 1, argv + 1);
  if (std::strcmp(cmd, "doctor") == 0) return warden::cli::DoctorCommand(argc - 1, argv + 1);
  if (std::strcmp(cmd, "policy") == 0) return warden::cli::PolicyCommand(argc - 2, argv + 2);
  if (std::strcmp(cmd, "gc") == 0) return warden::cli::GcCommand(argc - 1, argv + 1);
  if (std::strcmp(cmd, "version") == 0 || std::strcmp(cmd, "--version") == 0) {
    return VersionCommand(argc - 1, argv + 1);
  }
  if (std::strcmp(cmd, "help") == 0 || IsHelp(cmd)) return HelpCommand(argc - 1, argv + 1);
  std::fprintf(stderr, "warden: unknown command \"%s\"\nsee 'warden --help'\n", cmd);
  return kUsageExit;
}
