// Parent side of a launch: clone3 into new namespaces, set up what must be
// done from outside (uid maps, cgroup, network), release, supervise.
#ifndef WARDEN_LAUNCH_LAUNCHER_H_
#define WARDEN_LAUNCH_LAUNCHER_H_

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "proto/plan.h"
#include "proto/report.h"
#include "warden/status.h"

namespace warden::launch {

class Sandbox {
 public:
  // Clones the sandbox's first process. It blocks until Release(). When
  // cgroup_fd >= 0 the process starts inside that cgroup (CLONE_INTO_CGROUP);
  // otherwise the caller must place it (and the plan asks the child for a
  // cgroup namespace after release). PR_SET_PDEATHSIG follows the thread
  // that clones: the calling thread must live until the sandbox has ended
  // (a Launcher clones from each job's own supervisor thread).
  //
  // The child runs on a copy-on-write copy of our memory (never on shared
  // memory): `plan` must stay alive and unchanged until Clone returns, and
  // may be changed or freed after that. The child reads nothing of ours
  // after the clone.
  static Result<std::unique_ptr<Sandbox>> Clone(Plan* plan, int cgroup_fd);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  int report_fd() const { return report_read_.get(); }

  // Writes uid_map/gid_map for a user-namespaced sandbox.
  Status WriteIdMaps();
  // Lets the child go on, in two stages. The first call (after the uid
  // maps) lets it build its root filesystem; the caller places it in its
  // cgroup and network meanwhile, then calls again to let it start the job.
  Status Release();
  // Sends a signal to the sandbox's init.
  Status Signal(int sig);
  // Reaps init; returns its wait status. Only after pidfd is readable.
  Result<int> Reap();
  bool reaped() const { return reaped_; }

 private:
  Sandbox() = default;
  pid_t pid_ = -1;
  base::UniqueFd pidfd_;
  base::UniqueFd release_write_;
  int releases_ = 0;
  base::UniqueFd report_read_;
  bool reaped_ = false;
};

// How one supervised run ended.
struct Outcome {
  bool setup_failed = false;  // a setup step failed (report below)
  Step step = Step::kNone;
  int err = 0;
  std::string detail;
  std::string failure;  // the step, the call, the path and the errno, in words
  bool exec_failed = false;   // execve failed: err, detail = program
  bool finished = false;      // init reported the job's end
  int wait_status = 0;        // the job's wait status when finished
  bool timed_out = false;
  bool cancelled = false;     // SuperviseOptions::cancel_requested said so
  int seccomp_syscall = -1;
  int64_t user_usec = 0;
  int64_t sys_usec = 0;
  int64_t max_rss_kib = 0;
  int64_t wall_ms = 0;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  // Things that did not work and weaken no isolation, for the result (e.g.
  // seccomp kills that cannot be attributed to a syscall).
  std::vector<std::string> warnings;
};

struct SuperviseOptions {
  uint64_t wall_time_ms = 0;   // 0: no limit
  uint64_t kill_grace_ms = 2000;
  // Pipes to drain (-1: none) into a file (-1: none) or a string (null:
  // none), each with a byte limit of its own; what is above it is read and
  // dropped, and the outcome says so.
  int stdout_pipe = -1;
  int stdout_file = -1;
  std::string* stdout_capture = nullptr;
  uint64_t stdout_max_bytes = 0;
  int stderr_pipe = -1;
  int stderr_file = -1;
  std::string* stderr_capture = nullptr;
  uint64_t stderr_max_bytes = 0;
  // --pty: bytes read from `input` (warden's stdin) are written to
  // `input_sink` (the pty's master, non-blocking), at most one buffer of them
  // pending at a time; -1: no relay. The master's output is the stdout pipe.
  int input = -1;
  int input_sink = -1;
  // --pty: the operator's terminal, whose window size the job's terminal
  // (`window_sink`, the pty's master) follows: on SIGWINCH warden copies
  // the size over, and the kernel signals the job's foreground group.
  // -1: no relay.
  int window_source = -1;
  int window_sink = -1;
  // true: the forwarded signals (and SIGWINCH for the window relay) are
  // read with a signalfd, blocked in the calling thread meanwhile, and sent
  // on to the sandbox, as `warden run` needs. false: Supervise reads no
  // signal and changes no signal mask.
  bool forward_signals = true;
  // An eventfd (or any fd) that becomes readable when the caller wants the
  // supervisor to look at cancel_requested; -1: none. Supervise reads it
  // (an eventfd's counter is reset) but never closes it.
  int control_fd = -1;
  // Asked each time control_fd is readable: true stops the job as the
  // wall-time limit would (TerminateAllSignal, grace, KillAllSignal), and
  // the outcome says cancelled instead of timed out. May be empty.
  std::function<bool()> cancel_requested;
  // Called when the deadline passes, before init is asked to stop everything
  // (e.g. to freeze or kill a cgroup). May be empty.
  std::function<void()> on_timeout;
  // Called once init has reported the job's end, when every other process
  // of the sandbox is gone, while init itself is still exiting (tearing
  // down the namespaces): for work that can overlap that, such as removing
  // cgroups init is not in. May be empty.
  std::function<void()> on_finished;
};

// Waits for the sandbox to end: with forward_signals, forwards SIGTERM,
// SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 that warden receives to the
// sandbox and relays window size changes (SIGWINCH) under --pty; enforces
// the wall-time limit (SIGTERM to everything, grace, SIGKILL) and a
// cancellation (control_fd), drains output,
// collects init's report and reaps it. `start_ns` is CLOCK_MONOTONIC at
// launch, for wall_ms.
Result<Outcome> Supervise(Sandbox* sandbox, const SuperviseOptions& opts, int64_t start_ns);

// The wait status (as waitpid gives it) of a waitid(WEXITED) result.
int WaitStatusOf(const siginfo_t& info);

// poll's timeout until `next_ns` (CLOCK_MONOTONIC) from `now_ns`: -1 when
// next_ns is 0 (nothing due), 0 when it has passed, else the milliseconds,
// rounded up and clamped to INT_MAX (a wall-time limit of weeks is longer
// than poll can wait at once: the caller's loop waits again).
int PollTimeoutMs(int64_t next_ns, int64_t now_ns);


}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_LAUNCHER_H_
