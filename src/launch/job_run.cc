// The phases of one launch (launch/job_run.h), in launch order.
#include "launch/job_run.h"

#include <linux/capability.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/trace.h"
#include "caps/privileges.h"
#include "launch/cgroup_join.h"
#include "mnt/cgroup_view.h"
#include "mnt/mount_plan.h"
#include "seccomp/cache.h"
#include "seccomp/seccomp.h"

namespace warden::launch {
namespace {

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
      if (step == Step::kChdir) {
        return " (the working directory (--chdir, filesystem.cwd, or a script's directory) "
               "does not exist in the sandbox: bind a directory there or choose one that exists)";
      }
      if (mount_step) {
        // Missing destinations are made by warden; what is missing here is
        // a path on the host side, or one removed while the sandbox was built.
        return " (a path this step needs is gone: was a bind source removed or renamed while "
               "warden started the job?)";
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
  const std::string spec = base::ChildFaultSpec();
  if (spec.empty()) return Status::Ok();
  WARDEN_ASSIGN_OR_RETURN(ChildFault fault, ParseChildFaultSpec(spec));
  plan->fault_step = static_cast<int>(fault.step);
  plan->fault_errno = fault.err;
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

// PATH, the policy's variables, passed-through ones (from `from`, the
// caller's HostConfig::environment), then --env.
void BuildEnv(const JobRequest& req, const std::map<std::string, std::string>& from, Plan* plan) {
  std::map<std::string, std::string> env;
  env["PATH"] = req.policy.path;
  for (const auto& [k, v] : req.policy.env) env[k] = v;
  auto pass = [&](const std::string& name) {
    if (auto it = from.find(name); it != from.end()) env[name] = it->second;
  };
  for (const std::string& n : req.policy.env_pass) pass(n);
  for (const std::string& n : req.env_pass) pass(n);
  for (const auto& [k, v] : req.env) env[k] = v;
  for (const auto& [k, v] : env) plan->envp_vec.push_back(plan->Keep(k + "=" + v));
  plan->envp_vec.push_back(nullptr);
  plan->envp = plan->envp_vec.data();
  plan->path_env = plan->Keep(env["PATH"]);
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

// Cgroups of wardens that died (SIGKILL) are collected while the child
// builds its root, off the critical path. Failures are only logged.
void CollectLeftoverCgroups(JobRun& run) {
  std::vector<std::string> collected;
  if (Status gc = cgroup::Gc(*run.gc_host, {}, &collected); !gc.ok()) {
    WLOG_WARN(run.res.job_id, gc.ToString());
  }
  for (const std::string& c : collected) WLOG_INFO(run.res.job_id, "removed leftover " + c);
  base::TracePhase("leftover cgroups collected");
}

}  // namespace

Result<ChildFault> ParseChildFaultSpec(const std::string& spec) {
  std::string s = spec;
  int err = EIO;
  if (size_t colon = s.rfind(':'); colon != std::string::npos) {
    err = std::atoi(s.c_str() + colon + 1);
    s.resize(colon);
  }
  const Step step = StepByName(s.c_str());
  if (step == Step::kNone || err <= 0 || err > 4095) {
    return Status::Error(Code::kInvalidArgument, "WARDEN_FAULT_CHILD_STEP: no child step \"" +
                                                     s.substr(0, 64) + "\" (or a bad errno)");
  }
  return ChildFault{step, err};
}

JobRun::JobRun(const JobRequest& request, std::string job_id, const base::HostConfig& host)
    : req(request), policy(request.policy), config(host) {
  res.job_id = std::move(job_id);
  res.policy_name = policy.name;
  res.policy_hash = policy.hash;
}

Status CheckPrivileges(JobRun&) { return caps::CheckLaunchPrivileges(); }

Status PlanProcess(JobRun& run) {
  const Policy& policy = run.policy;
  Plan& plan = run.plan;
  for (const std::string& a : run.req.argv) plan.argv_vec.push_back(plan.Keep(a));
  plan.argv_vec.push_back(nullptr);
  plan.argv = plan.argv_vec.data();
  BuildEnv(run.req, run.config.environment, &plan);
  plan.cwd = plan.Keep(policy.cwd);
  plan.hostname = plan.Keep(policy.hostname);
  plan.uid = policy.uid;
  plan.gid = policy.gid;
  if (!policy.user_namespace && policy.uid == 65534 && policy.gid == 65534) {
    Result<std::optional<user::UidRange>> range = user::UidRangeFromConfig(run.config);
    if (!range.ok()) return range.status();
    if (range->has_value()) {
      Result<user::UidLease> lease = user::UidLease::Acquire(run.config.uid_state_dir, **range, run.res.job_id);
      if (!lease.ok()) return Status(lease.status()).Wrap("uid lease");
      run.uid_lease.emplace(std::move(lease.value()));
      plan.uid = plan.gid = run.uid_lease->id();
    }
  }
  plan.user_namespace = policy.user_namespace;
  plan.cap_last_cap = caps::CapLastCap();
  plan.die_with_parent = run.req.die_with_parent;
  plan.loopback_up = policy.network.mode != NetworkSpec::Mode::kNone;
  base::TracePhase("privileges checked");
  return Status::Ok();
}

Status PlanRootFilesystem(JobRun& run) {
  if (Status st = mnt::BuildMountPlan(run.policy, run.req.extra_mounts, &run.plan,
                                         run.config.cache_dir); !st.ok()) {
    return st.Wrap("root filesystem");
  }
  base::TracePhase("mount plan built");
  return Status::Ok();
}

Status CompileSeccomp(JobRun& run) {
  seccomp::CompileOptions copts;
  copts.cache_dir = seccomp::CacheDirFor(run.config);
  Result<seccomp::BpfProgram> bpf = seccomp::Compile(run.policy.seccomp, copts);
  if (!bpf.ok()) return Status(bpf.status()).Wrap("seccomp");
  run.plan.bpf = bpf->insns;
  run.plan.trace_seccomp_kills = run.policy.seccomp.deny_action == SeccompAction::kKill;
  base::TracePhase("seccomp filter ready");
  return Status::Ok();
}

Status PlanRlimits(JobRun& run) {
  const RlimitSpec& rl = run.policy.rlimits;
  std::vector<std::string>* warnings = &run.res.warnings;
  AddRlimit(&run.plan, RLIMIT_NOFILE, rl.nofile, "nofile", warnings);
  AddRlimit(&run.plan, RLIMIT_NPROC, rl.nproc, "nproc", warnings);
  AddRlimit(&run.plan, RLIMIT_FSIZE, rl.fsize_bytes, "fsize", warnings);
  AddRlimit(&run.plan, RLIMIT_STACK, rl.stack_bytes, "stack", warnings);
  AddRlimit(&run.plan, RLIMIT_CORE, rl.core_bytes, "core", warnings);
  if (run.policy.cpu_time_ms) {
    // RLIMIT_CPU counts seconds: SIGXCPU at the soft limit, SIGKILL a second later.
    RlimitStep r;
    r.resource = RLIMIT_CPU;
    r.limit.rlim_cur = (run.policy.cpu_time_ms + 999) / 1000;
    r.limit.rlim_max = r.limit.rlim_cur + 1;
    run.plan.rlimits.push_back(r);
  }
  return Status::Ok();
}

Status PrepareNetwork(JobRun& run) {
  const NetworkSpec& spec = run.policy.network;
  if (spec.mode == NetworkSpec::Mode::kVeth) {
    Result<std::unique_ptr<net::VethSession>> v =
        net::VethSession::Prepare(spec, run.res.job_id, run.config, &run.res.warnings);
    if (!v.ok()) return Status(v.status()).Wrap("network");
    run.veth = std::move(v.value());
  }
  // resolv.conf and hosts are literal files, never the host's.
  Plan& plan = run.plan;
  std::string resolv = net::ResolvConf(spec);
  if (!resolv.empty()) {
    plan.generated.push_back({"resolv.conf", plan.Keep(resolv), resolv.size(), "/etc/resolv.conf"});
  }
  if (run.veth || !spec.hosts.empty()) {
    std::string hosts = net::HostsFile(spec, run.veth ? run.veth->host_address() : "");
    plan.generated.push_back({"hosts", plan.Keep(hosts), hosts.size(), "/etc/hosts"});
  }
  base::TracePhase("network prepared");
  // The warnings so far: the rlimits' and the network's.
  for (const std::string& w : run.res.warnings) WLOG_WARN(run.res.job_id, w);
  return Status::Ok();
}

// Every job gets a cgroup, with the policy's limits (fail closed), made
// before clone: on v2 clone3 starts the child inside it, and everywhere the
// sandbox's root shows it.
Status CreateCgroup(JobRun& run) {
  // One look at the host's cgroup layout serves both the job's cgroup and
  // the collection of leftovers (PlaceChild). When it fails there is
  // nothing to collect, and Create looks again to report why.
  Result<cgroup::HostLayout> host =
      cgroup::DiscoverHost(run.req.cgroup_parent, run.config.cgroup_disable);
  if (host.ok()) run.gc_host = host.value();
  cgroup::Options copts;
  copts.job_id = run.res.job_id;
  copts.parent = run.req.cgroup_parent;
  copts.disabled_controllers = run.config.cgroup_disable;
  copts.may_move_self = run.config.may_move_self;
  copts.host = host.ok() ? &host.value() : nullptr;
  const size_t known = run.res.warnings.size();
  Result<std::unique_ptr<cgroup::JobCgroup>> cg =
      cgroup::JobCgroup::Create(run.policy.cgroup, copts, &run.res.warnings);
  if (!cg.ok()) return Status(cg.status()).Wrap("cgroup");
  run.job_cgroup = std::move(cg.value());
  for (size_t i = known; i < run.res.warnings.size(); ++i) {
    WLOG_WARN(run.res.job_id, run.res.warnings[i]);
  }
  base::TracePhase("cgroup created");
  // The job's view of its own cgroups (mnt/cgroup_view.h) is planned from
  // its cgroup directories, so on v1 too they are made before clone.
  cgroup::JobCgroup* jc = run.job_cgroup.get();
  if (Status vst = mnt::AddCgroupView(jc->Paths(), jc->clone_into_fd() >= 0, &run.plan);
      !vst.ok()) {
    return vst.Wrap("cgroup view");
  }
  // v1: the child joins its cgroups itself (cgroup.h, OpenSelfJoin).
  if (Status jst = PlanCgroupSelfJoin(jc, &run.plan); !jst.ok()) return jst.Wrap("cgroup");
  return Status::Ok();
}

Status CloneSandbox(JobRun& run) {
  WARDEN_RETURN_IF_ERROR(ArmChildFault(&run.plan));
  run.start_ns = base::MonotonicNs();
  Result<std::unique_ptr<Sandbox>> sbr = Sandbox::Clone(&run.plan, run.job_cgroup->clone_into_fd());
  if (!sbr.ok()) return Status(sbr.status()).Wrap("start sandbox");
  run.sandbox = std::move(sbr.value());
  base::TracePhase("cloned");
  // A warden killed here, perhaps before the child has set its parent-death
  // signal, must still not leave the child behind (see ChildMain).
  WARDEN_CRASH_POINT("launch.after_clone");
  // The child has its copies; the job's end must close the pipes for good.
  run.out_pipe.write.reset();
  run.err_pipe.write.reset();
  run.pty.slave.reset();
  return Status::Ok();
}

Status PlaceChild(JobRun& run) {
  // The child builds its root while we place it in its cgroup and network;
  // it starts the job only after the second release.
  Sandbox* sb = run.sandbox.get();
  Status st = Status::Ok();
  if (run.plan.user_namespace) st = sb->WriteIdMaps();
  if (st.ok()) st = sb->Release();
  if (st.ok() && run.gc_host) CollectLeftoverCgroups(run);
  if (st.ok()) st = run.job_cgroup->Attach(sb->pid());
  if (st.ok() && run.veth) st = run.veth->AttachToChild(sb->pid());
  base::TracePhase("child placed from outside");
  if (st.ok()) st = sb->Release();
  if (!st.ok()) {
    // A child that failed on its own (its placement then fails too) says
    // better what went wrong: stop it and read its report.
    (void)sb->Signal(SIGKILL);
    Result<Outcome> failed = Supervise(sb, run.sopts, run.start_ns);
    if (failed.ok() && failed->setup_failed) return SetupFailure(*failed);
    return st.Wrap("prepare sandbox");
  }
  return Status::Ok();
}

Status SuperviseJob(JobRun& run) {
  // Once init has reported the job's end, every other process of the
  // sandbox is gone (init killed and reaped them all), so the cgroups'
  // figures are final and the job's uid is free: both are taken then,
  // while init is still exiting (tearing down the namespaces), instead of
  // after.
  run.sopts.on_finished = [&run] {
    run.acct = run.job_cgroup->ReadAccounting();
    if (run.uid_lease) {
      if (Status rel = run.uid_lease->Release(); !rel.ok()) {
        WLOG_WARN(run.res.job_id, rel.ToString());
      }
    }
    base::TracePhase("cgroup figures read, uid released");
  };
  run.sopts.on_timeout = [&run] {
    WLOG_INFO(run.res.job_id, "wall time limit reached: stopping the job");
  };
  Result<Outcome> oc = Supervise(run.sandbox.get(), run.sopts, run.start_ns);
  if (!oc.ok()) return Status(oc.status()).Wrap("supervise");
  run.outcome = std::move(oc.value());
  for (const std::string& w : run.outcome->warnings) {
    WLOG_WARN(run.res.job_id, w);
    run.res.warnings.push_back(w);
  }
  base::TracePhase("job ended");
  return Status::Ok();
}

void Teardown(JobRun& run) {
  // The cgroups go once init has exited, as it is in them.
  if (!run.acct) run.acct = run.job_cgroup->ReadAccounting();
  if (Status rm = run.job_cgroup->Remove(); !rm.ok()) WLOG_WARN(run.res.job_id, rm.ToString());
  base::TracePhase("cgroup removed");
  if (run.acct->ok()) FillCgroupFigures(run.acct->value(), &run.res);
  if (!run.veth) return;
  if (Status rel = run.veth->Release(); !rel.ok()) WLOG_WARN(run.res.job_id, rel.ToString());
  base::TracePhase("network released");
  if (base::TraceEnabled()) {
    const net::VethTimings& t = run.veth->timings();
    const std::string split =
        "veth us: prepare lease=" + std::to_string(t.prepare_lease_us) +
        " netlink=" + std::to_string(t.prepare_netlink_us) +
        " nft=" + std::to_string(t.prepare_nft_us) +
        ", attach netlink=" + std::to_string(t.attach_netlink_us) +
        " nft=" + std::to_string(t.attach_nft_us) + ", release=" + std::to_string(t.release_us);
    base::TracePhase(split.c_str());
  }
}

Status CollectResult(JobRun& run) {
  const Outcome& o = *run.outcome;
  JobResult& res = run.res;
  res.wall_ms = o.wall_ms;
  res.cpu_user_ms = o.user_usec / 1000;
  res.cpu_sys_ms = o.sys_usec / 1000;
  res.max_rss_kib = o.max_rss_kib;
  res.stdout_truncated = o.stdout_truncated;
  res.stderr_truncated = o.stderr_truncated;
  const bool oom = run.acct->ok() && run.acct->value().oom_killed();

  if (o.setup_failed) return SetupFailure(o);
  if (o.cancelled) {
    res.status = JobStatus::kCancelled;
    res.exit_code = 143;
    res.error = "cancelled";
    return Status::Ok();
  }
  if (o.timed_out) {
    res.status = JobStatus::kTimeout;
    res.exit_code = 124;
    res.error = "wall time limit of " + std::to_string(run.wall_ms) + " ms reached";
    return Status::Ok();
  }
  const int ws = o.wait_status;
  if (WIFEXITED(ws)) {
    res.job_exit = WEXITSTATUS(ws);
    res.exit_code = *res.job_exit;
    res.status = res.exit_code == 0 ? JobStatus::kOk : JobStatus::kNonzero;
    if (o.exec_failed) {
      res.error = "cannot execute \"" + o.detail + "\": " + std::strerror(o.err);
      if (o.err == ENOENT && o.detail.find('/') == std::string::npos) {
        res.error += " (looked in PATH=" + std::string(run.plan.path_env) + " inside the sandbox)";
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
  return Status::Ok();
}

Result<JobResult> SetupError(JobRun& run, const Status& st) {
  run.res.status = JobStatus::kSetupError;
  run.res.exit_code = 125;
  run.res.error = st.ToString();
  return std::move(run.res);
}

}  // namespace warden::launch
