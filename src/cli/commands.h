// The `warden` subcommands. Each takes its own name and the arguments after
// it (argv[0] is the subcommand's name, except for PolicyCommand, which gets
// only what follows "policy") and returns the process exit code. Every one
// prints its usage on stdout and exits 0 for --help or -h, and refuses
// arguments it does not know.
#ifndef WARDEN_CLI_COMMANDS_H_
#define WARDEN_CLI_COMMANDS_H_

#include <cstdio>

namespace warden::cli {

int RunCommand(int argc, char** argv);     // warden run
int DoctorCommand(int argc, char** argv);  // warden doctor
int PolicyCommand(int argc, char** argv);  // warden policy check FILE
int GcCommand(int argc, char** argv);      // warden gc

// The agent's client commands (agent_cmds.cc). Every failure of warden's
// own, usage errors included, exits 125; `submit --wait` and `wait` exit by
// `warden run`'s contract for the job.
int SubmitCommand(int argc, char** argv);  // warden submit [run options] -- CMD
int StatusCommand(int argc, char** argv);  // warden status ID
int ListCommand(int argc, char** argv);    // warden list
int WaitCommand(int argc, char** argv);    // warden wait ID
int KillCommand(int argc, char** argv);    // warden kill ID [-s SIG]
int LogsCommand(int argc, char** argv);    // warden logs ID [-f] [--stderr]
// warden agent [ARGS...]: executes build/warden-agent (next to this
// binary) with ARGS; returns only when that fails.
int AgentCommand(int argc, char** argv);

// Exit status of a usage error in the commands other than `run` (which
// exits 125, as for any failure of warden's own).
inline constexpr int kUsageErrorExit = 2;

// For commands that take no arguments: -1 when argv holds none (go on);
// 0 after printing `usage` on stdout for --help/-h; kUsageErrorExit after
// naming the first unexpected argument on stderr, with where to read more.
int NoArgumentsOrHelp(const char* command, int argc, char** argv, void (*usage)(FILE*));

}  // namespace warden::cli

#endif  // WARDEN_CLI_COMMANDS_H_
