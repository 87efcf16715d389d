// RunJob: policy -> plan -> cgroup, network -> clone -> supervise -> result.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>

#include "base/clock.h"
#include "base/errno_text.h"
#include "base/fault.h"
#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "base/safe_open.h"
#include "base/trace.h"
#include "caps/privileges.h"
#include "cgroup/cgroup.h"
#include "launch/cgroup_join.h"
#include "launch/launcher.h"
#include "mnt/cgroup_view.h"
#include "mnt/mount_plan.h"
#include "net/net.h"
#include "proto/plan.h"
#include "seccomp/seccomp.h"
#include "user/uid_lease.h"
#include "warden/job.h"

extern char** environ;

namespace warden {
namespace {

using launch::Plan;

std::string NewJobId() {
  unsigned char b[6];
  if (::getrandom(b, sizeof b, 0) != sizeof b) {
    // Never fails for 6 bytes after boot; fall back to pid and time.
    return std::to_string(::getpid()) + "-" + std::to_string(base::MonotonicNs() % 1000000);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

// What to tell the user for a failed setup step: chosen by the step and the
// errno together (an EPERM from setgroups is not a missing privilege of
// warden's, which CheckLaunchPrivileges has checked before any of this).
std::string SetupHint(launch::Step step, int err) {
  using launch::Step;
  const bool mount_step = (step >= Step::kMountTmpfs && step <= Step::kMountRemount) ||
                          step == Step::kMount || step == Step::kMaskTemplate ||
                          step == Step::kRootBind || step == Step::kRootReadOnly ||
                          step == Step::kStaging || step == Step::kMountPrivate ||
                          step == Step::kPivotRoot || step == Step::kDetachOldRoot;
  switch (err) {
    case EPERM:
    case EACCES:
      if (mount_step || step == Step::kCgroupNamespace || step == Step::kHostname) {
        return " (something above warden forbids it: inside a container warden needs a seccomp "
               "and AppArmor profile that allow mount, unshare and clone3 - see `warden doctor`)";
      }
      if (step == Step::kSetgroups || step == Step::kSetgid || step == Step::kSetuid ||
          step == Step::kUsernsRoot) {
        return " (the kernel refused the job's ids: with user_namespace = true the uid and gid "
               "must be below 65536; a LSM policy may also forbid the change)";
      }
      if (step == Step::kSeccomp) {
        return " (the kernel refused the filter: a seccomp filter from above warden may forbid "
               "adding one - see `warden doctor`)";
      }
      return " (the kernel or a security module refused it - see `warden doctor`)";
    case ENOSPC:
      if (mount_step) return " (the mount table is full: see /proc/sys/fs/mount-max)";
      return " (a namespace limit is reached: check /proc/sys/user/max_*_namespaces)";
    case ENOENT:
      if (step == Step::kChdir) return " (the policy's cwd does not exist in the sandbox)";
      if (mount_step) {
        return " (the destination does not exist in the sandbox root: create it there or "
               "choose a path under /tmp)";
      }
      return "";
    case EROFS:
      if (mount_step) {
        return " (the destination does not exist in the read-only root: choose an existing "
               "path or one under /tmp)";
      }
      return "";
    case EAGAIN:
      if (step == Step::kSetuid || step == Step::kForkJob) {
        return " (the job's uid has too many processes already: RLIMIT_NPROC)";
      }
      return "";
    default:
      return "";
  }
}

// Arms the test-only fault point of the child (base/fault.h), and checks
// the parent's: nothing unless this process enabled faults, which only
// tests do.
Status ArmChildFault(Plan* plan) {
  if (std::string problem; !base::ParentFaultSpecValid(&problem)) {
    return Status::Error(Code::kInvalidArgument, problem);
  }
  const char* spec = base::ChildFaultSpec();
  if (spec == nullptr) return Status::Ok();
  std::string s(spec);
  int err = EIO;
  if (size_t colon = s.rfind(':'); colon != std::string::npos) {
    err = std::atoi(s.c_str() + colon + 1);
    s.resize(colon);
  }
  const launch::Step step = launch::StepByName(s.c_str());
  if (step == launch::Step::kNone || err <= 0) {
    return Status::Error(Code::kInvalidArgument, "WARDEN_FAULT_CHILD_STEP: no child step \"" +
                                                     s + "\" (or a bad errno)");
  }
  plan->fault_step = static_cast<int>(step);
  plan->fault_errno = err;
  return Status::Ok();
}

// Sets a limit for the job. Raising a hard limit above warden's own needs
// CAP_SYS_RESOURCE; without it the value is capped there, with a warning
// (a lower limit is never weakened).
void AddRlimit(Plan* plan, int resource, uint64_t value, const char* name,
               std::vector<std::string>* warnings) {
  launch::RlimitStep r;
  r.resource = resource;
  r.limit.rlim_cur = r.limit.rlim_max = value;
  struct rlimit own;
  if (::getrlimit(resource, &own) == 0 && own.rlim_max != RLIM_INFINITY && value > own.rlim_max &&
      !caps::HaveCapability(CAP_SYS_RESOURCE)) {
    r.limit.rlim_cur = r.limit.rlim_max = own.rlim_max;
    warnings->push_back(std::string("rlimit ") + name + " capped at " +
                        std::to_string(own.rlim_max) + " (warden's own hard limit; raising it "
                        "needs CAP_SYS_RESOURCE)");
  }
  plan->rlimits.push_back(r);
}

// PATH, the policy's variables, passed-through ones, then --env.
void BuildEnv(const JobRequest& req, Plan* plan) {
  std::map<std::string, std::string> env;
  env["PATH"] = req.policy.path;
  for (const auto& [k, v] : req.policy.env) env[k] = v;
  auto pass = [&](const std::string& name) {
    if (const char* v = ::getenv(name.c_str())) env[name] = v;
  };
  for (const std::string& n : req.policy.env_pass) pass(n);
  for (const std::string& n : req.env_pass) pass(n);
  for (const auto& [k, v] : req.env) env[k] = v;
  for (const auto& [k, v] : env) plan->envp_vec.push_back(plan->Keep(k + "=" + v));
  plan->envp_vec.push_back(nullptr);
  plan->envp = plan->envp_vec.data();
  plan->path_env = plan->Keep(env["PATH"]);
}

struct Pipe {
  base::UniqueFd read, write;
};

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
  Status Enter(int fd) {
    if (::tcgetattr(fd, &saved_) != 0) return Status::FromErrno(errno, "tcgetattr(stdin)");
    struct termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(fd, TCSANOW, &raw) != 0) return Status::FromErrno(errno, "tcsetattr(stdin, raw)");
    fd_ = fd;
    return Status::Ok();
  }

 private:
  int fd_ = -1;
  struct termios saved_ {};
};

struct Pty {
  base::UniqueFd master, slave;
  RawTerminal raw;
};

// --pty: a new pseudo-terminal whose slave is the job's fds 0-2 and
// controlling terminal; warden relays its own stdin to the master and the
// master to its own stdout. The window size is copied from warden's terminal.
Status OpenPty(Pty* pty, launch::Plan* plan, launch::SuperviseOptions* sopts) {
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

void FillCgroupFigures(const cgroup::Accounting& a, JobResult* res) {
  auto put = [&](const char* key, const std::optional<uint64_t>& v, uint64_t div = 1) {
    if (v) res->cgroup[key] = *v / div;
  };
  put("memory_peak_bytes", a.memory_peak_bytes);
  put("oom_kill", a.oom_kill_count);
  put("pids_peak", a.pids_peak ? a.pids_peak : a.pids_current);
  put("cpu_user_ms", a.cpu_user_usec, 1000);
  put("cpu_system_ms", a.cpu_system_usec, 1000);
  put("cpu_throttled_ms", a.cpu_throttled_usec, 1000);
  put("io_read_bytes", a.io_read_bytes);
  put("io_write_bytes", a.io_write_bytes);
}

// What the sandbox reported when its own setup failed.
Status SetupFailure(const launch::Outcome& o) {
  std::string msg = "sandbox setup failed at " + o.failure + SetupHint(o.step, o.err);
  return Status::Error(Code::kUnavailable, msg);
}

}  // namespace

const char* Version() { return WARDEN_VERSION; }

Result<JobResult> RunJob(const JobRequest& req) {
  if (req.argv.empty()) {
    return Status::Error(Code::kInvalidArgument,
                         "no command given: use warden run [options] -- CMD [ARGS...]");
  }
  const Policy& policy = req.policy;
  JobResult res;
  res.job_id = req.job_id.empty() ? NewJobId() : req.job_id;
  res.policy_name = policy.name;
  res.policy_hash = policy.hash;
  auto setup_error = [&](const Status& st) -> Result<JobResult> {
    res.status = JobStatus::kSetupError;
    res.exit_code = 125;
    res.error = st.ToString();
    return res;
  };

  base::TracePhase("job requested");
  if (Status st = caps::CheckLaunchPrivileges(); !st.ok()) return setup_error(st);

  Plan plan;
  for (const std::string& a : req.argv) plan.argv_vec.push_back(plan.Keep(a));
  plan.argv_vec.push_back(nullptr);
  plan.argv = plan.argv_vec.data();
  BuildEnv(req, &plan);
  plan.cwd = plan.Keep(policy.cwd);
  plan.hostname = plan.Keep(policy.hostname);
  plan.uid = policy.uid;
  plan.gid = policy.gid;
  // Each concurrent job gets a uid/gid of its own (user/uid_lease.h) where
  // the policy keeps the default 65534 and no user namespace maps ids;
  // the lease is released once init reports that the job's last process is
  // gone, or when RunJob returns.
  std::optional<user::UidLease> uid_lease;
  if (!policy.user_namespace && policy.uid == 65534 && policy.gid == 65534) {
    Result<std::optional<user::UidRange>> range = user::UidRangeFromEnv();
    if (!range.ok()) return setup_error(range.status());
    if (range->has_value()) {
      Result<user::UidLease> lease = user::UidLease::Acquire(**range, res.job_id);
      if (!lease.ok()) return setup_error(Status(lease.status()).Wrap("uid lease"));
      uid_lease.emplace(std::move(lease.value()));
      plan.uid = plan.gid = uid_lease->id();
    }
  }
  plan.user_namespace = policy.user_namespace;
  plan.cap_last_cap = caps::CapLastCap();
  plan.die_with_parent = req.die_with_parent;
  plan.loopback_up = policy.network.mode != NetworkSpec::Mode::kNone;

  base::TracePhase("privileges checked");
  if (Status st = mnt::BuildMountPlan(policy, req.extra_mounts, &plan); !st.ok()) {
    return setup_error(st.Wrap("root filesystem"));
  }

  base::TracePhase("mount plan built");
  Result<seccomp::BpfProgram> bpf = seccomp::Compile(policy.seccomp);
  if (!bpf.ok()) return setup_error(Status(bpf.status()).Wrap("seccomp"));
  plan.bpf = bpf->insns;
  plan.trace_seccomp_kills = policy.seccomp.deny_action == SeccompAction::kKill;

  base::TracePhase("seccomp filter ready");
  const RlimitSpec& rl = policy.rlimits;
  AddRlimit(&plan, RLIMIT_NOFILE, rl.nofile, "nofile", &res.warnings);
  AddRlimit(&plan, RLIMIT_NPROC, rl.nproc, "nproc", &res.warnings);
  AddRlimit(&plan, RLIMIT_FSIZE, rl.fsize_bytes, "fsize", &res.warnings);
  AddRlimit(&plan, RLIMIT_STACK, rl.stack_bytes, "stack", &res.warnings);
  AddRlimit(&plan, RLIMIT_CORE, rl.core_bytes, "core", &res.warnings);
  if (policy.cpu_time_ms) {
    // RLIMIT_CPU counts seconds: SIGXCPU at the soft limit, SIGKILL a second later.
    launch::RlimitStep r;
    r.resource = RLIMIT_CPU;
    r.limit.rlim_cur = (policy.cpu_time_ms + 999) / 1000;
    r.limit.rlim_max = r.limit.rlim_cur + 1;
    plan.rlimits.push_back(r);
  }

  // Network: resolv.conf and hosts are literal files, never the host's.
  std::unique_ptr<net::VethSession> veth;
  if (policy.network.mode == NetworkSpec::Mode::kVeth) {
    Result<std::unique_ptr<net::VethSession>> v = net::VethSession::Prepare(policy.network, res.job_id, &res.warnings);
    if (!v.ok()) return setup_error(Status(v.status()).Wrap("network"));
    veth = std::move(v.value());
  }
  std::string resolv = net::ResolvConf(policy.network);
  if (!resolv.empty()) {
    plan.generated.push_back({"resolv.conf", plan.Keep(resolv), resolv.size(), "/etc/resolv.conf"});
  }
  if (veth || !policy.network.hosts.empty()) {
    std::string hosts = net::HostsFile(policy.network, veth ? veth->host_address() : "");
    plan.generated.push_back({"hosts", plan.Keep(hosts), hosts.size(), "/etc/hosts"});
  }

  base::TracePhase("network prepared");
  for (const std::string& w : res.warnings) WLOG_WARN(res.job_id, w);

  // Cgroup: every job gets one, with the policy's limits (fail closed), made
  // before clone: on v2 clone3 starts the child inside it, and everywhere the
  // sandbox's root shows it. Cgroups of wardens that died (SIGKILL) are
  // collected later, while the child builds its root: off the critical path.
  std::unique_ptr<cgroup::JobCgroup> job_cgroup;
  std::optional<cgroup::HostLayout> gc_host;
  auto make_cgroup = [&]() -> Status {
    // One look at the host's cgroup layout serves both. When it fails there
    // is nothing to collect, and Create looks again to report why.
    Result<cgroup::HostLayout> host = cgroup::DiscoverHost(req.cgroup_parent);
    if (host.ok()) gc_host = host.value();
    cgroup::Options copts;
    copts.job_id = res.job_id;
    copts.parent = req.cgroup_parent;
    copts.host = host.ok() ? &host.value() : nullptr;
    const size_t known = res.warnings.size();
    Result<std::unique_ptr<cgroup::JobCgroup>> cg =
        cgroup::JobCgroup::Create(policy.cgroup, copts, &res.warnings);
    if (!cg.ok()) return Status(cg.status()).Wrap("cgroup");
    job_cgroup = std::move(cg.value());
    for (size_t i = known; i < res.warnings.size(); ++i) WLOG_WARN(res.job_id, res.warnings[i]);
    base::TracePhase("cgroup created");
    return Status::Ok();
  };
  // The job's view of its own cgroups (mnt/cgroup_view.h) is planned from
  // its cgroup directories, so on v1 too they are made before clone.
  if (Status cst = make_cgroup(); !cst.ok()) return setup_error(cst);
  if (Status vst = mnt::AddCgroupView(job_cgroup->Paths(), job_cgroup->clone_into_fd() >= 0, &plan);
      !vst.ok()) {
    return setup_error(vst.Wrap("cgroup view"));
  }
  // v1: the child joins its cgroups itself (cgroup.h, OpenSelfJoin).
  if (Status jst = launch::PlanCgroupSelfJoin(job_cgroup.get(), &plan); !jst.ok()) {
    return setup_error(jst.Wrap("cgroup"));
  }

  // Output capture.
  const uint64_t wall_ms = req.wall_time_ms.value_or(policy.wall_time_ms);
  launch::SuperviseOptions sopts;
  sopts.wall_time_ms = wall_ms;
  sopts.kill_grace_ms = policy.kill_grace_ms;
  sopts.output_max_bytes = policy.output_max_bytes;
  base::UniqueFd out_file, err_file;
  Pipe out_pipe, err_pipe;
  // Declared before the raw-mode guard inside it, so the operator's terminal
  // is restored on every return from here on.
  Pty pty;
  if (!req.output_dir.empty()) {
    // The job may share the output directory: it is walked and made without
    // following a symlink anywhere, and the files are opened relative to its
    // fd and refused unless they are regular files (base/safe_open.h).
    Result<base::UniqueFd> dir = base::OpenDirNoFollow(req.output_dir, true, 0755);
    if (!dir.ok()) return setup_error(Status(dir.status()).Wrap("--output-dir"));
    for (auto [file, pipe, name] : {std::tuple{&out_file, &out_pipe, "stdout"},
                                    std::tuple{&err_file, &err_pipe, "stderr"}}) {
      Result<base::UniqueFd> f =
          base::OpenOutputFileAt(dir->get(), name, 0600, req.output_dir + "/" + name);
      if (!f.ok()) return setup_error(Status(f.status()).Wrap("--output-dir"));
      *file = std::move(f.value());
      Result<Pipe> p = MakePipe();
      if (!p.ok()) return setup_error(p.status());
      *pipe = std::move(p.value());
    }
    plan.stdout_fd = out_pipe.write.get();
    plan.stderr_fd = err_pipe.write.get();
    sopts.stdout_pipe = out_pipe.read.get();
    sopts.stdout_file = out_file.get();
    sopts.stderr_pipe = err_pipe.read.get();
    sopts.stderr_file = err_file.get();
  } else if (req.pty) {
    Status pst = OpenPty(&pty, &plan, &sopts);
    if (!pst.ok()) return setup_error(pst.Wrap("--pty"));
  } else {
    // The job never holds warden's terminal: with the fd it could change the
    // operator's terminal settings (TCSETS), read what the operator types, or
    // push input back (TIOCSTI). Output on a terminal is relayed through a
    // pipe that warden drains into its own fd, unlimited as it was before;
    // any other stdout or stderr (a file, a pipe) is handed over as it is.
    sopts.output_max_bytes = UINT64_MAX;
    for (auto [fd, pipe, plan_fd, sup_pipe, sup_file] :
         {std::tuple{STDOUT_FILENO, &out_pipe, &plan.stdout_fd, &sopts.stdout_pipe,
                     &sopts.stdout_file},
          std::tuple{STDERR_FILENO, &err_pipe, &plan.stderr_fd, &sopts.stderr_pipe,
                     &sopts.stderr_file}}) {
      if (!::isatty(fd)) continue;
      Result<Pipe> p = MakePipe();
      if (!p.ok()) return setup_error(p.status());
      *pipe = std::move(p.value());
      *plan_fd = pipe->write.get();
      *sup_pipe = pipe->read.get();
      *sup_file = fd;
    }
  }
  // A terminal on stdin is not the job's to read: it gets /dev/null instead.
  base::UniqueFd null_stdin;
  if (!req.pty && ::isatty(STDIN_FILENO)) {
    null_stdin.reset(base::RetryEintr([] { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }));
    if (!null_stdin) {
      return setup_error(Status::FromErrno(errno, "open(\"/dev/null\") for the job's stdin"));
    }
    plan.stdin_fd = null_stdin.get();
  }

  if (Status fst = ArmChildFault(&plan); !fst.ok()) return setup_error(fst);
  const int64_t start_ns = base::MonotonicNs();
  Result<std::unique_ptr<launch::Sandbox>> sbr =
      launch::Sandbox::Clone(&plan, job_cgroup ? job_cgroup->clone_into_fd() : -1);
  if (!sbr.ok()) return setup_error(Status(sbr.status()).Wrap("start sandbox"));
  std::unique_ptr<launch::Sandbox> sb = std::move(sbr.value());
  base::TracePhase("cloned");
  // A warden killed here, perhaps before the child has set its parent-death
  // signal, must still not leave the child behind (see ChildMain).
  WARDEN_CRASH_POINT("launch.after_clone");
  out_pipe.write.reset();
  err_pipe.write.reset();
  pty.slave.reset();

  // Outside work on the blocked child, then release it.
  // The child builds its root while we place it in its cgroup and network;
  // it starts the job only after the second release.
  Status st = Status::Ok();
  if (plan.user_namespace) st = sb->WriteIdMaps();
  if (st.ok()) st = sb->Release();
  if (st.ok() && gc_host) {
    std::vector<std::string> collected;
    if (Status gc = cgroup::Gc(*gc_host, {}, &collected); !gc.ok()) {
      WLOG_WARN(res.job_id, gc.ToString());
    }
    for (const std::string& c : collected) WLOG_INFO(res.job_id, "removed leftover " + c);
    base::TracePhase("leftover cgroups collected");
  }
  if (st.ok() && !job_cgroup) {
    // Fail closed: a limit that cannot be enforced stops the child here,
    // before it starts the job (the Sandbox's destructor kills it).
    if (Status cst = make_cgroup(); !cst.ok()) return setup_error(cst);
  }
  if (st.ok()) st = job_cgroup->Attach(sb->pid());
  if (st.ok() && veth) st = veth->AttachToChild(sb->pid());
  base::TracePhase("child placed from outside");
  if (st.ok()) st = sb->Release();
  if (!st.ok()) {
    // A child that failed on its own (its placement then fails too) says
    // better what went wrong: stop it and read its report.
    (void)sb->Signal(SIGKILL);
    Result<launch::Outcome> failed = launch::Supervise(sb.get(), sopts, start_ns);
    if (failed.ok() && failed->setup_failed) return setup_error(SetupFailure(*failed));
    return setup_error(st.Wrap("prepare sandbox"));
  }

  // The cgroups' figures, then the cgroups themselves. Once init has
  // reported the job's end, every other process of the sandbox is gone (init
  // killed and reaped them all), so the figures are final and the job's uid
  // is free: both are taken then, while init is still exiting (tearing down
  // the namespaces), instead of after. The cgroups go once init has exited,
  // as it is in them.
  std::optional<Result<cgroup::Accounting>> acct;
  auto finish_cgroup = [&] {
    if (!acct) acct = job_cgroup->ReadAccounting();
    if (Status rm = job_cgroup->Remove(); !rm.ok()) WLOG_WARN(res.job_id, rm.ToString());
    base::TracePhase("cgroup removed");
  };
  sopts.on_finished = [&] {
    acct = job_cgroup->ReadAccounting();
    if (uid_lease) {
      if (Status rel = uid_lease->Release(); !rel.ok()) WLOG_WARN(res.job_id, rel.ToString());
    }
    base::TracePhase("cgroup figures read, uid released");
  };
  sopts.on_timeout = [&] { WLOG_INFO(res.job_id, "wall time limit reached: stopping the job"); };
  Result<launch::Outcome> oc = launch::Supervise(sb.get(), sopts, start_ns);
  if (!oc.ok()) return setup_error(Status(oc.status()).Wrap("supervise"));
  const launch::Outcome& o = oc.value();
  for (const std::string& w : o.warnings) {
    WLOG_WARN(res.job_id, w);
    res.warnings.push_back(w);
  }
  base::TracePhase("job ended");
  finish_cgroup();
  if (acct->ok()) FillCgroupFigures(acct->value(), &res);
  if (veth) {
    if (Status rel = veth->Release(); !rel.ok()) WLOG_WARN(res.job_id, rel.ToString());
    base::TracePhase("network released");
    if (base::TraceEnabled()) {
      const net::VethTimings& t = veth->timings();
      const std::string split =
          "veth us: prepare lease=" + std::to_string(t.prepare_lease_us) +
          " netlink=" + std::to_string(t.prepare_netlink_us) +
          " nft=" + std::to_string(t.prepare_nft_us) +
          ", attach netlink=" + std::to_string(t.attach_netlink_us) +
          " nft=" + std::to_string(t.attach_nft_us) + ", release=" + std::to_string(t.release_us);
      base::TracePhase(split.c_str());
    }
  }

  res.wall_ms = o.wall_ms;
  res.cpu_user_ms = o.user_usec / 1000;
  res.cpu_sys_ms = o.sys_usec / 1000;
  res.max_rss_kib = o.max_rss_kib;
  res.stdout_truncated = o.stdout_truncated;
  res.stderr_truncated = o.stderr_truncated;
  const bool oom = acct->ok() && acct->value().oom_killed();

  if (o.setup_failed) return setup_error(SetupFailure(o));
  if (o.timed_out) {
    res.status = JobStatus::kTimeout;
    res.exit_code = 124;
    res.error = "wall time limit of " + std::to_string(wall_ms) + " ms reached";
    return res;
  }
  const int ws = o.wait_status;
  if (WIFEXITED(ws)) {
    res.job_exit = WEXITSTATUS(ws);
    res.exit_code = *res.job_exit;
    res.status = res.exit_code == 0 ? JobStatus::kOk : JobStatus::kNonzero;
    if (o.exec_failed) {
      res.error = "cannot execute \"" + o.detail + "\": " + std::strerror(o.err);
      if (o.err == ENOENT && o.detail.find('/') == std::string::npos) {
        res.error += " (looked in PATH=" + std::string(plan.path_env) + " inside the sandbox)";
      }
    }
  } else if (WIFSIGNALED(ws)) {
    res.signal = WTERMSIG(ws);
    res.exit_code = 128 + *res.signal;
    res.status = JobStatus::kSignaled;
    if (*res.signal == SIGSYS) {
      res.status = JobStatus::kSeccompViolation;
      if (o.seccomp_syscall >= 0) {
        std::string name = seccomp::SyscallName(o.seccomp_syscall);
        res.seccomp_syscall = name.empty() ? std::to_string(o.seccomp_syscall) : name;
      }
    }
  }
  if (oom) res.status = JobStatus::kOom;
  return res;
}

}  // namespace warden
