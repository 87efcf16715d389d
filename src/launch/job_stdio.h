// The job's stdin, stdout and stderr as a launch opens them (the phase
// OpenStdio, launch/job_run.h), from the StdioSpecs of warden/launcher.h:
// /dev/null, an fd handed over, output pipes that the supervisor drains into
// a caller's fd, a file or memory, --output-dir files, a --pty
// pseudo-terminal. `warden run` (RunJob) maps its request onto the same
// specs (LegacyStdio).
#ifndef WARDEN_LAUNCH_JOB_STDIO_H_
#define WARDEN_LAUNCH_JOB_STDIO_H_

#include <termios.h>

#include <string>

#include "base/fd.h"
#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/status.h"

namespace warden::launch {

// A pipe whose read end the supervisor drains (non-blocking) and whose
// write end the job gets; the launcher closes its copy of the write end
// once the child has been cloned.
struct Pipe {
  base::UniqueFd read, write;
};

// O_CLOEXEC pipe, read end non-blocking.
Result<Pipe> MakePipe();

// What a launch does with the job's three streams. The fds of kFd and
// kRelay specs stay the caller's while the job runs, unless `owned` holds
// them (a Launcher dups them at Start, so its caller may close its own).
struct StdioPlan {
  StdioSpec in, out, err;
  std::string output_dir;  // JobSpec/JobRequest::output_dir: replaces out, err
  bool pty = false;        // relayed to in.fd and out.fd (kFd both)
  base::UniqueFd owned[3];
};

// `warden run`'s streams, as before the specs: with --output-dir, stdout
// and stderr go to DIR's files; with --pty, the job's terminal is relayed
// to fds 0 and 1; otherwise stdout and stderr on a terminal are relayed
// (the job never holds warden's terminal), and other fds 1 and 2 handed
// over. stdin is fd 0, or /dev/null when fd 0 is a terminal (except --pty).
StdioPlan LegacyStdio(const JobRequest& request);

// Checks specs before anything starts: no capture or relay for stdin, an
// fd that is open and a stream (no directory, O_PATH fd or block device: a
// directory fd would let the job open files outside its sandbox), a path
// where one is needed, kFd in and out with a pty.
// kInvalidArgument names the stream and says what to give instead.
Status CheckStdioSpecs(const StdioPlan& stdio);

// Opens `path` as a job's stdin, as `warden run --stdin` does: a regular
// file, a FIFO (opened blocking: it waits for a writer) or a stateless
// memory device (/dev/null, zero, full, random, urandom), never through a
// symlink in its last component nor below a symlinked directory, never a
// regular file with more than one hard link, and only what the calling
// (real) user may read. `what` names it in errors
// ("--stdin FILE").
Result<base::UniqueFd> OpenStdinFile(const std::string& path, const std::string& what);

// The operator's terminal in raw mode for as long as a --pty job runs: keys
// (^C, ^Z) and line editing belong to the job's terminal, not warden's. The
// destructor puts the saved settings back. A warden killed with SIGKILL
// runs no destructor and leaves the terminal raw: no process of warden's
// outlives it to restore the settings, so the operator's shell has to
// (`stty sane`, or `reset`), as after any raw-mode program killed so.
class RawTerminal {
 public:
  RawTerminal() = default;
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (fd_ >= 0) (void)::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  Status Enter(int fd);

 private:
  int fd_ = -1;
  struct termios saved_ {};
};

// --pty: the master warden relays, the slave that is the job's fds 0-2 and
// controlling terminal, and warden's terminal in raw mode meanwhile.
struct Pty {
  base::UniqueFd master, slave;
  RawTerminal raw;
};

}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_JOB_STDIO_H_
