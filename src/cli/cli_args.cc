// Arguments shared by the subcommands: --help, and refusing the unknown.
#include <cstdio>
#include <cstring>

#include "cli/commands.h"

namespace warden::cli {

int NoArgumentsOrHelp(const char* command, int argc, char** argv, void (*usage)(FILE*)) {
  if (argc < 2) return -1;
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  const bool option = argv[1][0] == '-';
  std::fprintf(stderr, "warden %s: unknown %s \"%s\" (it takes none)\nsee 'warden %s --help'\n",
               command, option ? "option" : "argument", argv[1], command);
  return kUsageErrorExit;
}

}  // namespace warden::cli
