// warden: one binary, several subcommands.
#include <cstdio>
#include <cstring>

#include "base/trace.h"
#include "cli/commands.h"
#include "warden/job.h"

namespace {

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
               "\n"
               "`warden run --help` lists the run options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  warden::base::TracePhase("main");
  if (argc < 2) {
    Usage(stderr);
    return 2;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "run") == 0) return warden::cli::RunCommand(argc - 1, argv + 1);
  if (std::strcmp(cmd, "doctor") == 0) return warden::cli::DoctorCommand(argc - 1, argv + 1);
  if (std::strcmp(cmd, "policy") == 0) return warden::cli::PolicyCommand(argc - 2, argv + 2);
  if (std::strcmp(cmd, "gc") == 0) return warden::cli::GcCommand(argc - 1, argv + 1);
  if (std::strcmp(cmd, "version") == 0 || std::strcmp(cmd, "--version") == 0) {
    std::printf("warden %s\n", warden::Version());
    return 0;
  }
  if (std::strcmp(cmd, "help") == 0 || std::strcmp(cmd, "--help") == 0 ||
      std::strcmp(cmd, "-h") == 0) {
    Usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "warden: unknown command \"%s\"\n\n", cmd);
  Usage(stderr);
  return 2;
}
