// The job's stdio: the phase OpenStdio (launch/job_run.h) and its pieces.
#include "launch/job_stdio.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
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

// /dev/null, zero, full, random, urandom: memory devices that hold no state.
bool StatelessDevice(dev_t rdev) {
  const unsigned minor_no = minor(rdev);
  return major(rdev) == 1 &&
         (minor_no == 3 || minor_no == 5 || minor_no == 7 || minor_no == 8 || minor_no == 9);
}

Result<base::UniqueFd> OpenDevNull(int flags, const char* stream) {
  base::UniqueFd fd(base::RetryEintr([&] { return ::open("/dev/null", flags | O_CLOEXEC); }));
  if (!fd) {
    return Status::FromErrno(errno, std::string("open(\"/dev/null\") for the job's ") + stream);
  }
  return fd;
}

// --pty: a new pseudo-terminal whose slave is the job's fds 0-2 and
// controlling terminal; the supervisor relays `in` to the master and the
// master to `out`. The window size is copied from whichever of the two is
// a terminal, and `in` is put in raw mode while the job runs when it is one.
Status OpenPty(int in, int out, Pty* pty, Plan* plan, SuperviseOptions* sopts) {
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
  for (int fd : {in, out}) {
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0) {
      (void)::ioctl(pty->master.get(), TIOCSWINSZ, &ws);
      // ...and follows it while the job runs (Supervise, on SIGWINCH).
      sopts->window_source = fd;
      sopts->window_sink = pty->master.get();
      break;
    }
  }
  if (::isatty(in)) WARDEN_RETURN_IF_ERROR(pty->raw.Enter(in));
  plan->stdin_fd = plan->stdout_fd = plan->stderr_fd = pty->slave.get();
  plan->controlling_tty = true;
  sopts->stdout_max_bytes = UINT64_MAX;
  sopts->stdout_pipe = pty->master.get();
  sopts->stdout_file = out;
  sopts->input = in;
  sopts->input_sink = pty->master.get();
  return Status::Ok();
}

// The job's stdin from its spec.
Status OpenInput(JobRun& run) {
  const StdioSpec& in = run.stdio.in;
  switch (in.kind) {
    case StdioSpec::Kind::kNull: {
      Result<base::UniqueFd> fd = OpenDevNull(O_RDONLY, "stdin");
      if (!fd.ok()) return fd.status();
      run.in_file = std::move(fd.value());
      break;
    }
    case StdioSpec::Kind::kFd:
      run.plan.stdin_fd = in.fd;
      return Status::Ok();
    case StdioSpec::Kind::kFile: {
      Result<base::UniqueFd> fd = OpenStdinFile(in.path, "stdin file " + in.path + " (--stdin)");
      if (!fd.ok()) return fd.status();
      run.in_file = std::move(fd.value());
      break;
    }
    default:
      return Status::Error(Code::kInvalidArgument,
                           "stdin: only kNull, kFd and kFile are inputs; give one of them");
  }
  run.plan.stdin_fd = run.in_file.get();
  return Status::Ok();
}

// Where the supervisor puts one output stream, and the job's end of it.
struct OutputSlot {
  const char* name;  // "stdout", "stderr"
  const StdioSpec* spec;
  base::UniqueFd* file;
  Pipe* pipe;
  int* plan_fd;
  int* sup_pipe;
  int* sup_file;
  std::string** sup_capture;
  uint64_t* sup_max;
  std::string* data;  // the result's stdout_data or stderr_data
};

Status OpenOutput(JobRun& run, const OutputSlot& o) {
  const StdioSpec& spec = *o.spec;
  const uint64_t limit = spec.max_bytes ? spec.max_bytes : run.policy.output_max_bytes;
  switch (spec.kind) {
    case StdioSpec::Kind::kNull: {
      Result<base::UniqueFd> fd = OpenDevNull(O_WRONLY, o.name);
      if (!fd.ok()) return fd.status();
      *o.file = std::move(fd.value());
      *o.plan_fd = o.file->get();
      return Status::Ok();
    }
    case StdioSpec::Kind::kFd:
      *o.plan_fd = spec.fd;
      return Status::Ok();
    case StdioSpec::Kind::kRelay:
      *o.sup_file = spec.fd;
      *o.sup_max = UINT64_MAX;
      break;
    case StdioSpec::Kind::kFile: {
      // The file may lie where the job can write too: its directory is
      // walked without following a symlink, and the file is always a new
      // one of warden's, renamed over the name (base/safe_open.h).
      const std::string what = std::string(o.name) + " file " + spec.path;
      const base::PathParts parts = base::SplitPath(spec.path);
      Result<base::UniqueFd> dir = base::OpenDirNoFollow(parts.dir);
      if (!dir.ok()) return Status(dir.status()).Wrap(what);
      Result<base::UniqueFd> f = base::OpenOutputFileAt(dir->get(), parts.name, 0600, spec.path);
      if (!f.ok()) return Status(f.status()).Wrap(what);
      *o.file = std::move(f.value());
      *o.sup_file = o.file->get();
      *o.sup_max = limit;
      break;
    }
    case StdioSpec::Kind::kCapture:
      *o.sup_capture = o.data;
      *o.sup_max = limit;
      break;
  }
  Result<Pipe> p = MakePipe();
  if (!p.ok()) return p.status();
  *o.pipe = std::move(p.value());
  *o.plan_fd = o.pipe->write.get();
  *o.sup_pipe = o.pipe->read.get();
  return Status::Ok();
}

// --output-dir: DIR/stdout and DIR/stderr, DIR made when missing. The job
// may share the output directory: it is walked and made without following
// a symlink anywhere, and the files are made new relative to its fd (a
// file planted there is replaced, never written) (base/safe_open.h).
Status OpenOutputDir(JobRun& run, const OutputSlot (&slots)[2]) {
  const std::string& dir_path = run.stdio.output_dir;
  Result<base::UniqueFd> dir = base::OpenDirNoFollow(dir_path, true, 0755);
  if (!dir.ok()) return Status(dir.status()).Wrap("--output-dir");
  for (const OutputSlot& o : slots) {
    Result<base::UniqueFd> f =
        base::OpenOutputFileAt(dir->get(), o.name, 0600, dir_path + "/" + o.name);
    if (!f.ok()) return Status(f.status()).Wrap("--output-dir");
    *o.file = std::move(f.value());
    Result<Pipe> p = MakePipe();
    if (!p.ok()) return p.status();
    *o.pipe = std::move(p.value());
    *o.plan_fd = o.pipe->write.get();
    *o.sup_pipe = o.pipe->read.get();
    *o.sup_file = o.file->get();
    *o.sup_max = run.policy.output_max_bytes;
  }
  return Status::Ok();
}

bool IsOutputOnly(StdioSpec::Kind k) {
  return k == StdioSpec::Kind::kRelay || k == StdioSpec::Kind::kCapture;
}

// An fd handed to the job (kFd) or written by the supervisor (kRelay) must
// be open and give nothing but a stream of bytes: a directory fd would let
// the job openat() below it, outside its sandbox's view of the file
// system, and an O_PATH fd (of a directory, or of a symlink) names a place
// rather than a stream. A block device is a disk. Pipes, sockets, regular
// files and character devices the caller already holds are handed over as
// they are (a CI runner's stdin is usually a pipe or /dev/null).
Status CheckFd(int fd, const char* stream) {
  const std::string what = std::string(stream) + ": fd " + std::to_string(fd);
  const int fl = fd < 0 ? -1 : ::fcntl(fd, F_GETFL);
  if (fl < 0) {
    return Status::Error(Code::kInvalidArgument,
                         what + " is not open; give an open fd (Start dups it) or another kind");
  }
  const char* accepted =
      "; give a regular file, a pipe, a socket, a terminal or /dev/null";
  if ((fl & O_PATH) == O_PATH) {
    return Status::Error(Code::kInvalidArgument,
                         what + " is an O_PATH fd, which names a place, not a stream" + accepted);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, what + ": fstat");
  const char* kind = S_ISDIR(st.st_mode)   ? "a directory (the job could open files outside "
                                             "its sandbox through it)"
                     : S_ISBLK(st.st_mode) ? "a block device"
                     : S_ISLNK(st.st_mode) ? "a symlink"
                                           : nullptr;
  if (kind != nullptr) {
    return Status::Error(Code::kInvalidArgument, what + " is " + kind + accepted);
  }
  return Status::Ok();
}

}  // namespace

StdioPlan LegacyStdio(const JobRequest& req) {
  StdioPlan s;
  // A terminal on stdin is not the job's to read: it gets /dev/null instead.
  s.in = ::isatty(STDIN_FILENO) ? StdioSpec::Null() : StdioSpec::Fd(STDIN_FILENO);
  if (!req.output_dir.empty()) {
    s.output_dir = req.output_dir;
  } else if (req.pty) {
    s.pty = true;
    s.in = StdioSpec::Fd(STDIN_FILENO);
    s.out = StdioSpec::Fd(STDOUT_FILENO);
  } else {
    // The job never holds warden's terminal: with the fd it could change the
    // operator's terminal settings (TCSETS), read what the operator types, or
    // push input back (TIOCSTI). Output on a terminal is relayed through a
    // pipe that warden drains into its own fd, unlimited as it was before;
    // any other stdout or stderr (a file, a pipe) is handed over as it is.
    s.out = ::isatty(STDOUT_FILENO) ? StdioSpec::Relay(STDOUT_FILENO) : StdioSpec::Fd(STDOUT_FILENO);
    s.err = ::isatty(STDERR_FILENO) ? StdioSpec::Relay(STDERR_FILENO) : StdioSpec::Fd(STDERR_FILENO);
  }
  return s;
}

Status CheckStdioSpecs(const StdioPlan& s) {
  if (IsOutputOnly(s.in.kind)) {
    return Status::Error(Code::kInvalidArgument,
                         "stdin: kCapture and kRelay are for output; give kNull, kFd or kFile");
  }
  if (s.pty) {
    if (s.in.kind != StdioSpec::Kind::kFd || s.out.kind != StdioSpec::Kind::kFd) {
      return Status::Error(Code::kInvalidArgument,
                           "pty: the terminal is relayed to in.fd and out.fd; give both as "
                           "StdioSpec::Fd");
    }
    if (!s.output_dir.empty()) {
      return Status::Error(Code::kInvalidArgument,
                           "pty and output_dir both say where output goes; give one of them");
    }
  }
  const struct {
    const StdioSpec* spec;
    const char* name;
  } streams[] = {{&s.in, "stdin"}, {&s.out, "stdout"}, {&s.err, "stderr"}};
  for (const auto& [spec, name] : streams) {
    if (spec->kind == StdioSpec::Kind::kFd || spec->kind == StdioSpec::Kind::kRelay) {
      WARDEN_RETURN_IF_ERROR(CheckFd(spec->fd, name));
    }
    if (spec->kind == StdioSpec::Kind::kFile &&
        (spec->path.empty() || base::SplitPath(spec->path).name.empty())) {
      return Status::Error(Code::kInvalidArgument,
                           std::string(name) + ": kFile needs the path of a file, not \"" +
                               spec->path + "\"");
    }
  }
  return Status::Ok();
}

// Opens a stdin file for the job. warden is root, so it opens only what
// gives the job nothing but bytes to read, and what the real caller may
// read:
// - a regular file;
// - a FIFO: the job reads what a writer sends, as with `cmd < fifo`; a
//   pipe hands no privilege over;
// - of the character devices, only the memory devices that hold no state
//   (/dev/null, zero, full, random, urandom). A terminal would hand the job
//   a terminal to inject input into, a disk or /dev/mem what root may read;
// - no directory, socket or block device;
// - no regular file with more than one hard link.
// A symlink anywhere in the path is refused (a job may plant one in a
// shared directory), and what is checked is what is opened: the name is
// first opened O_PATH below its directory's fd, its type checked on that
// fd (nothing is opened for real that is refused), then reopened through
// the fd.
Result<base::UniqueFd> OpenStdinFile(const std::string& path, const std::string& what) {
  const base::PathParts parts = base::SplitPath(path);
  if (parts.name.empty()) {
    return Status::Error(Code::kInvalidArgument, what + ": name a file, not a directory");
  }
  Result<base::UniqueFd> dir = base::OpenDirNoFollow(parts.dir);
  if (!dir.ok()) return Status(dir.status()).Wrap(what);
  base::UniqueFd handle(::openat(dir->get(), parts.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!handle) return Status::FromErrno(errno, what + ": open");
  struct stat st;
  if (::fstat(handle.get(), &st) != 0) return Status::FromErrno(errno, what + ": fstat");
  if (S_ISLNK(st.st_mode)) {
    return Status::Error(Code::kInvalidArgument, what + ": is a symlink; name the file it points to");
  }
  const bool ok_type = S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
                       (S_ISCHR(st.st_mode) && StatelessDevice(st.st_rdev));
  if (!ok_type) {
    // Devices are refused before they are opened: opening some does
    // something (a tape rewinds, a modem line hangs up).
    const char* kind = S_ISDIR(st.st_mode)   ? "a directory"
                       : S_ISCHR(st.st_mode) ? "a device"
                       : S_ISBLK(st.st_mode) ? "a device"
                                             : "not a regular file";
    return Status::Error(Code::kInvalidArgument,
                         what + ": is " + kind + "; give a regular file, a FIFO or /dev/null");
  }
  // A hard link is refused: where protected_hardlinks is off, a job can
  // link a file it may not read (a root-only one) into a shared directory,
  // and the link's permissions are the file's, so the check below could
  // not tell the planted name from the caller's own file.
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    return Status::Error(Code::kInvalidArgument,
                         what + ": has " + std::to_string(st.st_nlink) +
                             " hard links, and warden does not open a stdin file that has "
                             "more than one (a planted link could name a file the caller may "
                             "not read); copy the file and give the copy");
  }
  // The calling user's right to read it, on the fd (faccessat2 with
  // AT_EMPTY_PATH checks the real uid, as access(2) does).
  if (::syscall(SYS_faccessat2, handle.get(), "", R_OK, AT_EMPTY_PATH) != 0) {
    return Status::FromErrno(errno, what + ": access(R_OK) for the calling user");
  }
  // A FIFO is opened blocking, as the shell's `< fifo` is: the open waits
  // for a writer, and the job then reads what it sends.
  const std::string self = "/proc/self/fd/" + std::to_string(handle.get());
  base::UniqueFd fd(::open(self.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC |
                                              (S_ISFIFO(st.st_mode) ? 0 : O_NONBLOCK)));
  if (!fd) return Status::FromErrno(errno, what + ": open");
  struct stat again;
  if (::fstat(fd.get(), &again) != 0) return Status::FromErrno(errno, what + ": fstat");
  if (again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
    return Status::Error(Code::kInvalidArgument, what + ": changed while it was opened; try again");
  }
  if (::fcntl(fd.get(), F_SETFL, 0) != 0) return Status::FromErrno(errno, what + ": fcntl");
  return fd;
}

Status OpenStdio(JobRun& run) {
  Plan& plan = run.plan;
  SuperviseOptions& sopts = run.sopts;
  run.wall_ms = run.req.wall_time_ms.value_or(run.policy.wall_time_ms);
  sopts.wall_time_ms = run.wall_ms;
  sopts.kill_grace_ms = run.policy.kill_grace_ms;
  if (run.stdio.pty) {
    Status pst = OpenPty(run.stdio.in.fd, run.stdio.out.fd, &run.pty, &plan, &sopts);
    if (!pst.ok()) return pst.Wrap("--pty");
    return Status::Ok();
  }
  const OutputSlot slots[2] = {
      {"stdout", &run.stdio.out, &run.out_file, &run.out_pipe, &plan.stdout_fd, &sopts.stdout_pipe,
       &sopts.stdout_file, &sopts.stdout_capture, &sopts.stdout_max_bytes, &run.res.stdout_data},
      {"stderr", &run.stdio.err, &run.err_file, &run.err_pipe, &plan.stderr_fd, &sopts.stderr_pipe,
       &sopts.stderr_file, &sopts.stderr_capture, &sopts.stderr_max_bytes, &run.res.stderr_data},
  };
  if (!run.stdio.output_dir.empty()) {
    WARDEN_RETURN_IF_ERROR(OpenOutputDir(run, slots));
  } else {
    for (const OutputSlot& o : slots) WARDEN_RETURN_IF_ERROR(OpenOutput(run, o));
  }
  return OpenInput(run);
}

}  // namespace warden::launch
