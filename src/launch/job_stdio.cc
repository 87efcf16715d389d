// The job's stdio: the phase OpenStdio (launch/job_run.h) and its pieces.
#include "launch/job_stdio.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <tuple>

#include "base/fault.h"
#include "base/file.h"
#include "base/safe_open.h"
#include "launch/job_run.h"

namespace warden::launch {

Result<Pipe> MakePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return Status::FromErrno(errno, "pipe2(output)");
  Pipe out{base::UniqueFd(p[0]), base::UniqueFd(p[1])};
  // The supervisor drains this end in its poll loop: a blocking read there
  // would stop timeouts and signal forwarding until the job writes again.
  const int r = ::fcntl(out.read.get(), F_SETFL, O_NONBLOCK);
  if (int err = base::ParentCallErrno("fcntl(output pipe)", r == 0 ? 0 : errno); err != 0) {
    return Status::FromErrno(err, "fcntl(output pipe, F_SETFL, O_NONBLOCK)");
  }
  return out;
}

Status RawTerminal::Enter(int fd) {
  if (::tcgetattr(fd, &saved_) != 0) return Status::FromErrno(errno, "tcgetattr(stdin)");
  struct termios raw = saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) return Status::FromErrno(errno, "tcsetattr(stdin, raw)");
  fd_ = fd;
  return Status::Ok();
}

namespace {

// --pty: a new pseudo-terminal whose slave is the job's fds 0-2 and
// controlling terminal; warden relays its own stdin to the master and the
// master to its own stdout. The window size is copied from warden's terminal.
Status OpenPty(Pty* pty, Plan* plan, SuperviseOptions* sopts) {
  pty->master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty->master) return Status::FromErrno(errno, "posix_openpt");
  if (::grantpt(pty->master.get()) != 0) return Status::FromErrno(errno, "grantpt");
  if (::unlockpt(pty->master.get()) != 0) return Status::FromErrno(errno, "unlockpt");
  char name[64];
  if (int e = ::ptsname_r(pty->master.get(), name, sizeof name); e != 0) {
    return Status::FromErrno(e, "ptsname_r");
  }
  pty->slave.reset(
      base::RetryEintr([&] { return ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC); }));
  if (!pty->slave) return Status::FromErrno(errno, std::string("open(\"") + name + "\")");
  // The supervisor reads the master in its poll loop, like an output pipe.
  const int r = ::fcntl(pty->master.get(), F_SETFL, O_NONBLOCK);
  if (int err = base::ParentCallErrno("fcntl(pty master)", r == 0 ? 0 : errno); err != 0) {
    return Status::FromErrno(err, "fcntl(pty master, F_SETFL, O_NONBLOCK)");
  }
  struct winsize ws;
  for (int fd : {STDIN_FILENO, STDOUT_FILENO}) {
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0) {
      (void)::ioctl(pty->master.get(), TIOCSWINSZ, &ws);
      // ...and follows it while the job runs (Supervise, on SIGWINCH).
      sopts->window_source = fd;
      sopts->window_sink = pty->master.get();
      break;
    }
  }
  if (::isatty(STDIN_FILENO)) WARDEN_RETURN_IF_ERROR(pty->raw.Enter(STDIN_FILENO));
  plan->stdin_fd = plan->stdout_fd = plan->stderr_fd = pty->slave.get();
  plan->controlling_tty = true;
  sopts->output_max_bytes = UINT64_MAX;
  sopts->stdout_pipe = pty->master.get();
  sopts->stdout_file = STDOUT_FILENO;
  sopts->input = STDIN_FILENO;
  sopts->input_sink = pty->master.get();
  return Status::Ok();
}

}  // namespace

Status OpenStdio(JobRun& run) {
  const JobRequest& req = run.req;
  Plan& plan = run.plan;
  SuperviseOptions& sopts = run.sopts;
  run.wall_ms = req.wall_time_ms.value_or(run.policy.wall_time_ms);
  sopts.wall_time_ms = run.wall_ms;
  sopts.kill_grace_ms = run.policy.kill_grace_ms;
  sopts.output_max_bytes = run.policy.output_max_bytes;
  if (!req.output_dir.empty()) {
    // The job may share the output directory: it is walked and made without
    // following a symlink anywhere, and the files are opened relative to its
    // fd and refused unless they are regular files (base/safe_open.h).
    Result<base::UniqueFd> dir = base::OpenDirNoFollow(req.output_dir, true, 0755);
    if (!dir.ok()) return Status(dir.status()).Wrap("--output-dir");
    for (auto [file, pipe, name] : {std::tuple{&run.out_file, &run.out_pipe, "stdout"},
                                    std::tuple{&run.err_file, &run.err_pipe, "stderr"}}) {
      Result<base::UniqueFd> f =
          base::OpenOutputFileAt(dir->get(), name, 0600, req.output_dir + "/" + name);
      if (!f.ok()) return Status(f.status()).Wrap("--output-dir");
      *file = std::move(f.value());
      Result<Pipe> p = MakePipe();
      if (!p.ok()) return p.status();
      *pipe = std::move(p.value());
    }
    plan.stdout_fd = run.out_pipe.write.get();
    plan.stderr_fd = run.err_pipe.write.get();
    sopts.stdout_pipe = run.out_pipe.read.get();
    sopts.stdout_file = run.out_file.get();
    sopts.stderr_pipe = run.err_pipe.read.get();
    sopts.stderr_file = run.err_file.get();
  } else if (req.pty) {
    Status pst = OpenPty(&run.pty, &plan, &sopts);
    if (!pst.ok()) return pst.Wrap("--pty");
  } else {
    // The job never holds warden's terminal: with the fd it could change the
    // operator's terminal settings (TCSETS), read what the operator types, or
    // push input back (TIOCSTI). Output on a terminal is relayed through a
    // pipe that warden drains into its own fd, unlimited as it was before;
    // any other stdout or stderr (a file, a pipe) is handed over as it is.
    sopts.output_max_bytes = UINT64_MAX;
    for (auto [fd, pipe, plan_fd, sup_pipe, sup_file] :
         {std::tuple{STDOUT_FILENO, &run.out_pipe, &plan.stdout_fd, &sopts.stdout_pipe,
                     &sopts.stdout_file},
          std::tuple{STDERR_FILENO, &run.err_pipe, &plan.stderr_fd, &sopts.stderr_pipe,
                     &sopts.stderr_file}}) {
      if (!::isatty(fd)) continue;
      Result<Pipe> p = MakePipe();
      if (!p.ok()) return p.status();
      *pipe = std::move(p.value());
      *plan_fd = pipe->write.get();
      *sup_pipe = pipe->read.get();
      *sup_file = fd;
    }
  }
  // A terminal on stdin is not the job's to read: it gets /dev/null instead.
  if (!req.pty && ::isatty(STDIN_FILENO)) {
    run.null_stdin.reset(
        base::RetryEintr([] { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }));
    if (!run.null_stdin) {
      return Status::FromErrno(errno, "open(\"/dev/null\") for the job's stdin");
    }
    plan.stdin_fd = run.null_stdin.get();
  }
  return Status::Ok();
}

}  // namespace warden::launch
