// The job's stdin, stdout and stderr as a launch opens them (the phase
// OpenStdio, launch/job_run.h): output pipes that the supervisor drains into
// --output-dir files or warden's own terminal, a --pty pseudo-terminal, and
// /dev/null in place of a terminal on stdin.
#ifndef WARDEN_LAUNCH_JOB_STDIO_H_
#define WARDEN_LAUNCH_JOB_STDIO_H_

#include <termios.h>

#include "base/fd.h"
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
