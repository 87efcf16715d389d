// How `warden run SCRIPT` runs a script: through the interpreter on its
// "#!" line (with that line's one argument, as the kernel does), or the
// policy's `interpreter` when the script has none; from its own directory,
// shown read-only at its own path.
#ifndef WARDEN_CLI_SCRIPT_H_
#define WARDEN_CLI_SCRIPT_H_

#include <string>
#include <vector>

#include "warden/job.h"

namespace warden::cli {

// Why a script cannot run, with warden run's exit code for it: 126 (the
// "#!" line names no interpreter), 127 (the interpreter is not in the
// sandbox), 125 (warden failed).
struct ScriptError {
  int exit_code = 125;
  std::string message;
};

// Rewrites `req` (its policy chosen, argv[0] the script's host path, `head`
// the script's first bytes) so that the script runs as described above:
// argv becomes INTERPRETER [ARG] SCRIPT ARGS...; the script's directory is
// bound read-only at its own path when the sandbox does not show it (a
// MountSpec in extra_mounts, checked now as the launch will check it) and
// becomes the job's working directory. When the directory cannot be
// bound (it holds a socket, is too big, is the host's /tmp...), only the
// script is bound, at /tmp/NAME, and `warnings` says what the job will not
// see. A script with neither a "#!" line nor a policy interpreter is left as
// it is (the kernel refuses it: exit 126).
bool PrepareScript(const std::string& head, JobRequest* req, std::vector<std::string>* warnings,
                   ScriptError* error);

}  // namespace warden::cli

#endif  // WARDEN_CLI_SCRIPT_H_
