// The `warden` subcommands. Each takes the arguments after its own name and
// returns the process exit code.
#ifndef WARDEN_CLI_COMMANDS_H_
#define WARDEN_CLI_COMMANDS_H_

namespace warden::cli {

int RunCommand(int argc, char** argv);     // warden run
int DoctorCommand(int argc, char** argv);  // warden doctor
int PolicyCommand(int argc, char** argv);  // warden policy check FILE
int GcCommand(int argc, char** argv);      // warden gc

}  // namespace warden::cli

#endif  // WARDEN_CLI_COMMANDS_H_
