// Running a script as `warden run SCRIPT` does: through the interpreter on
// its "#!" line (with that line's one argument, as the kernel reads it), or
// through the policy's `interpreter` when the script has none; from the
// script's own directory, shown read-only in the sandbox at its own path.
//
//   if (warden::IsScript(program)) {
//     spec.policy = ...;                     // e.g. PolicyForProgram(program)
//     spec.argv = {program, "arg"};
//     std::vector<std::string> warnings;
//     int exit_code = 0;
//     warden::Status st = warden::PrepareScript(&spec, &warnings, &exit_code);
//     if (!st.ok()) { ... st.message() ..., exit with exit_code ... }
//   }
//
// Both functions read the file system (the script, its directory, the
// sandbox's view of the interpreter) and are safe to call from any thread.
#ifndef WARDEN_SCRIPT_H_
#define WARDEN_SCRIPT_H_

#include <string>
#include <vector>

#include "warden/export.h"
#include "warden/launcher.h"
#include "warden/status.h"

namespace warden {

// Whether `warden run` treats `program` as a script: a regular file that is
// not an ELF binary, named by a path with a '/' or, when named bare, not
// executable from the current directory (a bare name that is executable
// here is a program looked up on PATH). Binaries run as they are.
WARDEN_EXPORT bool IsScript(const std::string& program);

// Rewrites `spec` (its policy chosen, argv[0] the script's host path) so
// that the script runs as described above: argv becomes INTERPRETER [ARG]
// SCRIPT ARGS...; the script's directory is bound read-only at its own path
// when the sandbox does not show it already (a MountSpec added to
// extra_mounts, checked now as the launch will check a bind source) and
// becomes the policy's working directory (JobSpec::cwd still wins). When
// the directory cannot be bound (it holds a socket, is the host's /tmp or
// root ...), only the script is bound, at /tmp/NAME, and `warnings` gets a
// sentence saying what the job will not see. A script with neither a "#!"
// line nor a policy interpreter for its suffix is left as it is (the kernel
// will refuse to execute it: exit code 126).
//
// Opening the script follows a symlink on its path only where only root
// could have made it, as for a bind source: a job that shares the script's
// directory cannot point the next run at a file of its choosing.
//
// An error says why the script cannot run and what to do, and sets
// `*exit_code` to what `warden run` exits with: 126 when the "#!" line
// names no interpreter, 127 when the interpreter is not an executable in
// the sandbox (or, for "#!/usr/bin/env NAME", NAME is not on the job's
// PATH), 125 when the script cannot be opened.
WARDEN_EXPORT Status PrepareScript(JobSpec* spec, std::vector<std::string>* warnings, int* exit_code);

}  // namespace warden

#endif  // WARDEN_SCRIPT_H_
