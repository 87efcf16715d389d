#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include "base/file.h"
#include "base/log.h"
#include "cgroup/host.h"
#include "cgroup/limits.h"
#include "cgroup/teardown.h"

namespace warden::cgroup {

namespace {

// Attempts of MakeLeaf against concurrent removals of the top; plenty.
constexpr int kMkdirAttempts = 8;

Status CheckJobId(const std::string& id) {
  if (id.empty() || id.size() > kMaxJobIdBytes || id[0] == '.') {
    return Status::Error(Code::kInvalidArgument,
                         "job id \"" + id + "\" must be 1.." + std::to_string(kMaxJobIdBytes) +
                             " characters and not start with '.'");
  }
  for (char ch : id) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-';
    if (!ok) {
      return Status::Error(Code::kInvalidArgument,
                           "job id \"" + id + "\": only [A-Za-z0-9_.-] are allowed");
    }
  }
  return Status::Ok();
}

// Makes the job's cgroup `leaf`, below the top-level group `top` when there
// is one: the top is made (if missing) and readied by `ready_top` first.
// A concurrent Remove of another job may rmdir the top between the two
// mkdirs; then both are tried again.
Status MakeLeaf(const std::string& top, const std::string& leaf,
                const std::function<Status()>& ready_top) {
  Status st;
  for (int attempt = 0; attempt < kMkdirAttempts; ++attempt) {
    if (!top.empty()) {
      st = base::MkdirIfMissing(top, 0755);
      if (st.ok()) st = ready_top();
      if (!st.ok()) return st;
    }
    if (::mkdir(leaf.c_str(), 0755) == 0) return Status::Ok();
    st = Status::FromErrno(errno, "mkdir(\"" + leaf + "\")");
    if (st.err() != ENOENT || top.empty()) return st;
  }
  return st;
}

// v1 cpuset refuses tasks until cpus and mems are set: inherit the parent's.
Status CopyCpuset(const std::string& dir) {
  std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    WARDEN_ASSIGN_OR_RETURN(std::string mine, ReadCgroupFile(dir + "/" + file));
    if (!SplitWords(mine).empty()) continue;
    WARDEN_ASSIGN_OR_RETURN(std::string theirs, ReadCgroupFile(parent + "/" + file));
    std::vector<std::string> w = SplitWords(theirs);
    if (w.empty()) continue;
    WARDEN_RETURN_IF_ERROR(WriteCgroupFile(dir + "/" + file, w[0]));
  }
  return Status::Ok();
}

// Enables `names` in DIR/cgroup.subtree_control one at a time, so that an
// error names the controller. Returns controller -> error for the failures.
std::map<std::string, std::string> EnableSubtree(const std::string& dir,
                                                 const std::vector<std::string>& names) {
  std::map<std::string, std::string> failed;
  Result<std::string> cur = ReadCgroupFile(dir + "/cgroup.subtree_control");
  std::vector<std::string> enabled = cur.ok() ? SplitWords(*cur) : std::vector<std::string>{};
  for (const std::string& n : names) {
    if (std::find(enabled.begin(), enabled.end(), n) != enabled.end()) continue;
    Status st = WriteCgroupFile(dir + "/cgroup.subtree_control", "+" + n);
    if (!st.ok()) failed[n] = st.ToString();
  }
  return failed;
}

// Moves warden itself (only its own process) into a leaf below its cgroup, so
// that the cgroup may delegate controllers (no internal processes on v2).
// Moving the caller's process is a change the embedding program must allow
// (`may_move`); without it the job fails rather than move it.
Status MoveSelfToLeaf(const std::string& own_dir, bool may_move) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  Result<std::vector<pid_t>> procs = ReadProcs(own_dir);
  if (!procs.ok()) return procs.take_status();
  if (procs->empty()) return Status::Ok();  // already in a leaf
  if (!may_move) {
    return Status::Error(Code::kFailedPrecondition,
                         own_dir + " holds this process, so jobs cannot nest below it, and "
                                   "moving the process into " + kSelfPrefix + "<pid> is not "
                                   "allowed here: set the cgroup parent "
                                   "(LauncherOptions::cgroup_parent, --cgroup-parent) to a "
                                   "cgroup without processes");
  }
  if (procs->size() != 1 || (*procs)[0] != ::getpid()) {
    return Status::Error(Code::kFailedPrecondition,
                         own_dir + " holds processes other than warden; cannot delegate");
  }
  std::string leaf = own_dir + "/" + kSelfPrefix + std::to_string(::getpid());
  WARDEN_RETURN_IF_ERROR(base::MkdirIfMissing(leaf, 0755));
  return WriteCgroupFile(leaf + "/cgroup.procs", std::to_string(::getpid()));
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// What to do when --cgroup-parent cannot hold the job in this hierarchy.
std::string ParentRemedy(const Placement& p, Controller c) {
  std::string fix = "create it (mkdir -p " + p.parent + ")";
  if (p.backend == Backend::kV2) {
    fix += " and delegate the " + std::string(ControllerName(c)) + " controller to it (echo +" +
           ControllerName(c) + " > " + p.parent + "/cgroup.subtree_control)";
  }
  return fix + ", or fix the path (on v1 it is relative to warden's own cgroup in each "
               "hierarchy, on v2 to the cgroup2 mount)";
}

// What to do when the job's cgroup cannot be made in its default place.
std::string PlacementRemedy(const Placement& p) {
  if (!p.escapes.empty()) {
    return "run warden in a cgroup of its own that it may delegate (systemd-run --scope -p "
           "Delegate=yes ...), or pass --cgroup-parent naming a cgroup inside those limits";
  }
  return "the job's cgroup belongs below " + p.parent +
         ", so that it stays inside the limits warden itself runs under: let warden create "
         "cgroups there, or pass --cgroup-parent naming a cgroup below it that warden may use";
}

}  // namespace

struct JobCgroup::Dir {
  Backend backend = Backend::kNone;
  std::string path;
  std::string top;  // top-level group to remove when empty, or ""
  std::vector<Controller> controllers;
  bool self_join = false;  // the job's process joins it itself (OpenSelfJoin)
  bool Serves(Controller c) const {
    return std::find(controllers.begin(), controllers.end(), c) != controllers.end();
  }
};

JobCgroup::JobCgroup() = default;

JobCgroup::~JobCgroup() {
  Status st = Remove();
  if (!st.ok()) WLOG_ERROR("", "remove cgroup " + name_ + ": " + st.ToString());
}

bool CanCloneInto() {
  struct statfs fs;
  return ::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

int JobCgroup::clone_into_fd() const { return all_v2_ ? v2_fd_.get() : -1; }

const JobCgroup::Dir* JobCgroup::DirFor(int controller) const {
  for (const Dir& d : dirs_) {
    if (d.Serves(Controller(controller))) return &d;
  }
  return nullptr;
}

void JobCgroup::Release() {
  dirs_.clear();
  v2_fd_.reset();
  all_v2_ = false;
}

std::vector<std::string> JobCgroup::Paths() const {
  std::vector<std::string> out;
  for (const Dir& d : dirs_) out.push_back(d.path);
  return out;
}

Result<std::unique_ptr<JobCgroup>> JobCgroup::Create(const CgroupSpec& spec, const Options& opts,
                                                     std::vector<std::string>* warnings) {
  WARDEN_RETURN_IF_ERROR(CheckJobId(opts.job_id));
  std::optional<HostLayout> discovered;
  if (opts.host == nullptr) {
    WARDEN_ASSIGN_OR_RETURN(discovered, DiscoverHost(opts.parent, opts.disabled_controllers));
  }
  const HostLayout& host = opts.host != nullptr ? *opts.host : *discovered;
  // Without a place to report warnings, the log is the only place.
  std::vector<std::string> local_warnings;
  const bool log_warnings = warnings == nullptr;
  if (log_warnings) warnings = &local_warnings;

  WARDEN_ASSIGN_OR_RETURN(std::vector<LimitRequest> limits, PlanLimits(spec));
  // A limit is dropped (optional) or fatal (required) when its controller has
  // no backend; anything else is decided when the cgroup exists.
  auto refuse = [&](LimitRequest& l, const std::string& why,
                    const std::string& remedy = "mark it optional = true to run without it")
      -> Status {
    if (l.implicit && std::any_of(limits.begin(), limits.end(), [](const LimitRequest& m) {
          return m.kind == LimitRequest::Kind::kMemory && m.dropped;
        })) {
      l.dropped = true;  // the swap default goes with the memory limit it belongs to
      return Status::Ok();
    }
    std::string msg = "cgroup limit " + l.label + " cannot be enforced: " + why;
    if (!l.optional) {
      return Status::Error(Code::kUnavailable, msg + " (" + remedy + ")");
    }
    warnings->push_back(msg + "; running without it (optional)");
    if (log_warnings) WLOG_WARN(opts.job_id, warnings->back());
    l.dropped = true;
    return Status::Ok();
  };
  for (LimitRequest& l : limits) {
    const Placement& p = host.placement[l.controller];
    if (p.backend == Backend::kNone) {
      WARDEN_RETURN_IF_ERROR(refuse(l, std::string(ControllerName(l.controller)) +
                                           " controller unavailable: " + p.reason));
    }
  }

  // Controllers to use: every limited one plus the accounting and teardown
  // helpers this host has.
  std::vector<bool> use(kNumControllers, false);
  std::vector<bool> required(kNumControllers, false);
  for (const LimitRequest& l : limits) {
    if (l.dropped) continue;
    use[l.controller] = true;
    required[l.controller] = required[l.controller] || !l.optional;
  }
  for (Controller c : {kMemory, kPids, kCpu, kIo, kCpuacct, kFreezer}) {
    // v1 cpu only reports throttling, which a job without a quota never
    // has; cpuacct does its accounting. Every hierarchy costs a mkdir, an
    // attach and an rmdir per job.
    if (c == kCpu && host.placement[c].backend == Backend::kV1 && !use[c]) continue;
    if (host.placement[c].backend != Backend::kNone) use[c] = true;
  }

  pid_t owner = opts.owner_pid > 0 ? opts.owner_pid : ::getpid();
  std::unique_ptr<JobCgroup> job(new JobCgroup());
  job->name_ = std::string(kNamePrefix) + std::to_string(owner) + "-" + opts.job_id;

  // A --cgroup-parent is the operator's word on where the job goes: a
  // hierarchy in which it does not exist fails the job, limits or not,
  // rather than leave the job without a cgroup there.
  if (!opts.parent.empty()) {
    for (int c = 0; c < kNumControllers; ++c) {
      const Placement& p = host.placement[c];
      if (!use[c] || IsDirectory(p.parent)) continue;
      return Status::Error(Code::kFailedPrecondition,
                           "--cgroup-parent \"" + opts.parent + "\": " + p.parent +
                               " does not exist (" + ControllerName(Controller(c)) +
                               " hierarchy); " + ParentRemedy(p, Controller(c)));
    }
  }

  // One directory per hierarchy: all v2 controllers share one, and v1
  // controllers mounted together (cpu,cpuacct) share theirs. A controller
  // whose directory cannot be made there fails the job under a
  // --cgroup-parent, and otherwise fails the limits that need it: the job is
  // never placed anywhere else, where the caller's own limits would not hold.
  auto fail_controller = [&](Controller c, const std::string& why) -> Status {
    const Placement& p = host.placement[c];
    if (!opts.parent.empty()) {
      return Status::Error(Code::kFailedPrecondition,
                           "--cgroup-parent \"" + opts.parent + "\" cannot be used for the " +
                               ControllerName(c) + " controller: " + why + "; " +
                               ParentRemedy(p, c));
    }
    for (LimitRequest& l : limits) {
      if (l.controller == c && !l.dropped) {
        WARDEN_RETURN_IF_ERROR(refuse(l, why, PlacementRemedy(p)));
      }
    }
    use[c] = false;
    return Status::Ok();
  };

  for (int c = 0; c < kNumControllers; ++c) {
    const Placement& p = host.placement[c];
    if (use[c] && !p.escapes.empty()) {
      WARDEN_RETURN_IF_ERROR(fail_controller(Controller(c), p.escapes));
    }
  }

  std::vector<Controller> v2_ctrls;
  for (int c = 0; c < kNumControllers; ++c) {
    if (use[c] && host.placement[c].backend == Backend::kV2) v2_ctrls.push_back(Controller(c));
  }
  if (!v2_ctrls.empty()) {
    const Placement& p = host.placement[v2_ctrls[0]];
    std::vector<std::string> names;
    for (Controller c : v2_ctrls) names.push_back(ControllerName(c));
    std::map<std::string, std::string> failed;
    Status prep;
    if (host.v2_delegate) {
      prep = MoveSelfToLeaf(p.parent, opts.may_move_self);
      if (prep.ok()) failed = EnableSubtree(p.parent, names);
    } else if (!p.top.empty()) {
      failed = EnableSubtree(p.mount, names);
    } else {
      failed = EnableSubtree(p.parent, names);  // --cgroup-parent
    }
    for (Controller c : v2_ctrls) {
      auto it = failed.find(ControllerName(c));
      if (!prep.ok() || it != failed.end()) {
        WARDEN_RETURN_IF_ERROR(
            fail_controller(c, std::string("cannot enable ") + ControllerName(c) + " below " +
                                   p.parent + ": " + (prep.ok() ? it->second : prep.ToString())));
      }
    }
    std::vector<Controller> kept;
    for (Controller c : v2_ctrls) {
      if (use[c]) kept.push_back(c);
    }
    if (!kept.empty()) {
      Dir d{Backend::kV2, p.parent + "/" + job->name_, p.top, kept};
      Status st = MakeLeaf(p.top, d.path, [&]() -> Status {
        std::vector<std::string> top_names;
        for (Controller c : kept) top_names.push_back(ControllerName(c));
        std::map<std::string, std::string> top_failed = EnableSubtree(p.top, top_names);
        if (top_failed.empty()) return Status::Ok();
        return Status::Error(Code::kUnavailable, top_failed.begin()->second);
      });
      if (!st.ok()) {
        for (Controller c : kept) WARDEN_RETURN_IF_ERROR(fail_controller(c, st.ToString()));
      } else {
        job->dirs_.push_back(std::move(d));
        int fd = ::open(job->dirs_.back().path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
          return Status::FromErrno(errno, "open(\"" + job->dirs_.back().path + "\")");
        }
        job->v2_fd_.reset(fd);
      }
    }
  }

  for (const V1Hierarchy& hier : host.v1) {
    std::vector<Controller> ctrls;
    for (int c = 0; c < kNumControllers; ++c) {
      const Placement& p = host.placement[c];
      if (use[c] && p.backend == Backend::kV1 && p.mount == hier.mount) {
        ctrls.push_back(Controller(c));
      }
    }
    if (ctrls.empty()) continue;
    const Placement& p = host.placement[ctrls[0]];
    bool cpuset = std::find(ctrls.begin(), ctrls.end(), kCpuset) != ctrls.end();
    Dir d{Backend::kV1, p.parent + "/" + job->name_, p.top, ctrls};
    Status st = MakeLeaf(p.top, d.path,
                         [&] { return cpuset ? CopyCpuset(p.top) : Status::Ok(); });
    if (st.ok()) {
      job->dirs_.push_back(std::move(d));
      if (cpuset) st = CopyCpuset(job->dirs_.back().path);
    }
    if (!st.ok()) {
      for (Controller c : ctrls) {
        if (!required[c] || !use[c]) {
          WLOG_DEBUG(opts.job_id, std::string("cgroup ") + ControllerName(c) +
                                      " not used: " + st.ToString());
        }
        WARDEN_RETURN_IF_ERROR(fail_controller(c, st.ToString()));
      }
    }
  }

  job->all_v2_ = job->v2_fd_.valid();
  for (const Dir& d : job->dirs_) job->all_v2_ = job->all_v2_ && d.backend == Backend::kV2;

  for (LimitRequest& l : limits) {
    if (l.dropped) continue;
    const Dir* d = job->DirFor(l.controller);
    if (d == nullptr) continue;  // refused above
    Status st = ApplyLimit(l, d->backend, d->path);
    if (!st.ok()) WARDEN_RETURN_IF_ERROR(refuse(l, st.ToString()));
  }
  for (const Dir& d : job->dirs_) {
    if (d.backend == Backend::kV2 && d.Serves(kMemory)) {
      const LimitRequest* memory = nullptr;
      for (const LimitRequest& l : limits) {
        if (l.kind == LimitRequest::Kind::kMemory && !l.dropped) memory = &l;
      }
      const size_t known = warnings->size();
      WARDEN_RETURN_IF_ERROR(ApplyOomGroup(d.path, memory, warnings));
      if (log_warnings && warnings->size() > known) WLOG_WARN(opts.job_id, warnings->back());
    }
  }
  return job;
}

Status JobCgroup::Attach(pid_t pid) {
  if (pid <= 0) return Status::Error(Code::kInvalidArgument, "attach: bad pid");
  for (const Dir& d : dirs_) {
    if (d.self_join) continue;
    Status st = WriteCgroupFile(d.path + "/cgroup.procs", std::to_string(pid));
    if (!st.ok()) return st.Wrap("attach pid " + std::to_string(pid) + " to " + d.path);
  }
  return Status::Ok();
}

Result<std::vector<JobCgroup::SelfJoin>> JobCgroup::OpenSelfJoin() {
  std::vector<SelfJoin> out;
  for (const Dir& d : dirs_) {
    if (d.backend != Backend::kV1) continue;
    SelfJoin j;
    j.path = d.path + "/tasks";
    j.fd.reset(base::RetryEintr(
        [&] { return ::open(j.path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC); }));
    if (!j.fd) return Status::FromErrno(errno, "open(\"" + j.path + "\", O_WRONLY)");
    out.push_back(std::move(j));
  }
  // Marked only once every fd is open: on an error Attach still does all.
  for (Dir& d : dirs_) d.self_join = d.self_join || d.backend == Backend::kV1;
  return out;
}

Status JobCgroup::Kill() {
  Status first;
  auto note = [&](Status st) {
    if (!st.ok() && first.ok()) first = std::move(st);
  };
  const Dir* freezer = DirFor(kFreezer);
  for (const Dir& d : dirs_) {
    if (d.backend == Backend::kV2) note(KillV2(d.path));
  }
  if (freezer != nullptr && freezer->backend == Backend::kV1) {
    // The usual case after a job ended: nothing is left. A job's processes
    // cannot leave the freezer group (they lack the privilege), so an empty
    // one means every hierarchy is empty.
    Result<bool> empty = IsEmpty(freezer->path, Backend::kV1);
    if (empty.ok() && *empty) return first;
    note(KillV1(freezer->path));
  }
  // Without a freezer (or for processes that escaped it) kill through every
  // v1 hierarchy; pids are checked against the cgroup after a pidfd pins them.
  for (const Dir& d : dirs_) {
    if (d.backend == Backend::kV1) note(SignalAll(d.path));
  }
  return first;
}

Status JobCgroup::Freeze(bool frozen) {
  for (const Dir& d : dirs_) {
    if (d.backend == Backend::kV2) return FreezeV2(d.path, frozen);
  }
  if (const Dir* f = DirFor(kFreezer)) return FreezeV1(f->path, frozen);
  return Status::Error(Code::kUnavailable,
                       "freeze: this host has neither cgroup v2 nor the v1 freezer for the job");
}

Status JobCgroup::Remove() {
  if (dirs_.empty()) return Status::Ok();
  Status first = Kill();
  auto deadline = Clock::now() + kEmptyTimeout;
  std::vector<Dir> left;
  for (Dir& d : dirs_) {
    Status st = DrainAndRemove(d.path, d.backend, deadline);
    if (st.ok()) {
      RemoveTopIfEmpty(d.top);
      continue;
    }
    if (first.ok()) first = std::move(st);
    left.push_back(std::move(d));
  }
  dirs_ = std::move(left);
  if (dirs_.empty()) {
    v2_fd_.reset();
    all_v2_ = false;
    return Status::Ok();
  }
  return first;
}

Result<Accounting> JobCgroup::ReadAccounting() const {
  Accounting a;
  for (const Dir& d : dirs_) ReadDirAccounting(d.backend, d.path, d.controllers, &a);
  return a;
}

}  // namespace warden::cgroup
