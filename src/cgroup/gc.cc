// Gc: collects the cgroups of warden processes that died without removing
// them (SIGKILL, crash), and DoctorChecks: what this host offers.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "base/log.h"
#include "cgroup/cgroup.h"
#include "cgroup/host.h"
#include "cgroup/teardown.h"

namespace warden::cgroup {
namespace {

constexpr size_t kMaxScanEntries = 65536;
// A walk of a whole hierarchy (GcOptions::walk) goes this deep, and reads at
// most kMaxScanEntries directories in all.
constexpr int kMaxWalkDepth = 8;

struct Found {
  std::string path;
  Backend backend;
  bool freezer;  // a v1 freezer hierarchy: used to stop the job before killing
};

struct ScanDir {
  std::string dir;
  Backend backend;
  bool freezer;
  bool may_hold_self;  // v2 own cgroup: warden-self-<pid> leaves live here
  bool top = false;     // a top-level `warden` group, removed once empty
};

std::vector<ScanDir> ScanDirs(const HostLayout& h, const std::string& parent) {
  std::vector<ScanDir> out;
  if (!h.v2_mount.empty()) {
    out.push_back({h.v2_mount + "/" + kTopGroup, Backend::kV2, false, false, true});
    if (h.v2_own != "/") {
      out.push_back({JoinPath(h.v2_mount, h.v2_own), Backend::kV2, false, true});
    }
    if (!parent.empty()) {
      out.push_back({JoinPath(h.v2_mount, parent), Backend::kV2, false, false});
    }
  }
  for (const V1Hierarchy& v : h.v1) {
    bool freezer = std::find(v.names.begin(), v.names.end(), "freezer") != v.names.end();
    out.push_back({v.mount + "/" + kTopGroup, Backend::kV1, freezer, false, true});
    // Jobs of a warden below the root of a hierarchy live in its own cgroup
    // there (DiscoverHost); a dead warden's jobs are found next to us only
    // when it ran in the same cgroup, which is the case gc is asked about.
    if (v.own != "/") {
      out.push_back({JoinPath(v.mount, v.own), Backend::kV1, freezer, false});
    }
    if (!parent.empty()) out.push_back({V1ParentDir(v, parent), Backend::kV1, freezer, false});
  }
  return out;
}

// Every hierarchy's root, for a walk.
std::vector<ScanDir> Roots(const HostLayout& h) {
  std::vector<ScanDir> out;
  if (!h.v2_mount.empty()) out.push_back({h.v2_mount, Backend::kV2, false, false});
  for (const V1Hierarchy& v : h.v1) {
    bool freezer = std::find(v.names.begin(), v.names.end(), "freezer") != v.names.end();
    out.push_back({v.mount, Backend::kV1, freezer, false});
  }
  return out;
}

// Job cgroups (warden-<pid>-<job>) anywhere below `root`, breadth first and
// bounded; a job's own cgroup is not descended into. Unreadable directories
// are skipped.
void Walk(const ScanDir& root, size_t* budget, std::vector<std::string>* jobs) {
  std::vector<std::string> level = {root.dir};
  for (int depth = 0; depth < kMaxWalkDepth && !level.empty() && *budget > 0; ++depth) {
    std::vector<std::string> next;
    for (const std::string& dir : level) {
      Result<std::vector<std::string>> children = ChildDirs(dir, *budget);
      if (!children.ok()) continue;
      *budget -= std::min(*budget, children->size());
      for (std::string& path : *children) {
        std::string name = path.substr(path.rfind('/') + 1);
        if (name.rfind(kSelfPrefix, 0) != 0 && OwnerOfName(name)) {
          jobs->push_back(std::move(path));
        } else {
          next.push_back(std::move(path));
        }
      }
    }
    level = std::move(next);
  }
}

}  // namespace

Status Gc(const base::HostConfig& config, std::vector<std::string>* removed) {
  GcOptions opts;
  opts.walk = true;
  opts.disabled_controllers = config.cgroup_disable;
  return Gc(opts, removed);
}

Status Gc(const GcOptions& opts, std::vector<std::string>* removed) {
  WARDEN_ASSIGN_OR_RETURN(HostLayout h, DiscoverHost(opts.parent, opts.disabled_controllers));
  return Gc(h, opts, removed);
}

Status Gc(const HostLayout& h, const GcOptions& opts, std::vector<std::string>* removed) {
  Status first;
  auto note = [&](Status st) {
    if (!st.ok() && first.ok()) first = std::move(st);
  };
  std::map<std::string, std::vector<Found>> jobs;  // by name: one job's dirs
  std::vector<std::string> self_leaves;
  std::vector<std::string> scanned;
  std::vector<std::string> tops;  // top-level groups that exist
  std::vector<std::string> seen;  // job directories already listed
  auto consider = [&](const std::string& path, const std::string& name, const ScanDir& s) {
    std::optional<pid_t> owner = OwnerOfName(name);
    if (!owner) return;
    if (opts.only_owner > 0 && *owner != opts.only_owner) return;
    if (opts.keep && opts.keep(name)) return;
    if (*owner == ::getpid() || ProcessAlive(*owner)) return;
    if (name.rfind(kSelfPrefix, 0) == 0) {
      if (s.may_hold_self) self_leaves.push_back(path);
      return;
    }
    if (std::find(seen.begin(), seen.end(), path) != seen.end()) return;
    seen.push_back(path);
    jobs[name].push_back({path, s.backend, s.freezer});
  };
  for (const ScanDir& s : ScanDirs(h, opts.parent)) {
    if (std::find(scanned.begin(), scanned.end(), s.dir) != scanned.end()) continue;
    scanned.push_back(s.dir);
    // Best effort: a directory that cannot be read is skipped, so that the
    // others are still collected. (Most top-level groups do not exist
    // between jobs.)
    bool exists = false;
    Result<std::vector<std::string>> children = ChildDirs(s.dir, kMaxScanEntries, &exists);
    if (!children.ok()) continue;
    if (s.top && exists) tops.push_back(s.dir);
    for (const std::string& path : *children) consider(path, path.substr(s.dir.size() + 1), s);
  }
  if (opts.walk) {
    // Jobs of a warden that ran in another cgroup than ours (a CI runner's
    // confined cgroup, in each hierarchy) are only found by looking.
    size_t budget = kMaxScanEntries;
    for (const ScanDir& root : Roots(h)) {
      std::vector<std::string> found;
      Walk(root, &budget, &found);
      for (const std::string& path : found) {
        consider(path, path.substr(path.rfind('/') + 1), root);
      }
    }
  }

  for (auto& [name, dirs] : jobs) {
    // Stop the job first where it can be stopped, so that a fork bomb left
    // behind cannot outrun the kills.
    for (const Found& f : dirs) {
      if (f.backend == Backend::kV2) note(KillV2(f.path));
      if (f.freezer) note(KillV1(f.path));
    }
    auto deadline = Clock::now() + kEmptyTimeout;
    for (const Found& f : dirs) {
      Status st = DrainAndRemove(f.path, f.backend, deadline);
      if (st.ok()) {
        WLOG_INFO("", "gc: removed " + f.path + " (owner " + name + " is dead)");
        if (removed != nullptr) removed->push_back(f.path);
      } else {
        note(st.Wrap("gc " + f.path));
      }
    }
  }
  // A dead warden's own leaf is removed only when nothing lives in it: what
  // is there was started by that warden itself, not as a job.
  for (const std::string& leaf : self_leaves) {
    if (::rmdir(leaf.c_str()) == 0) {
      if (removed != nullptr) removed->push_back(leaf);
    } else if (errno != EBUSY && errno != ENOENT) {
      note(Status::FromErrno(errno, "rmdir(\"" + leaf + "\")").Wrap("gc"));
    }
  }
  for (const std::string& top : tops) RemoveTopIfEmpty(top);
  return first;
}

base::DoctorChecks DoctorChecks(const base::HostConfig& config) {
  base::DoctorChecks out;
  Result<HostLayout> h = DiscoverHost("", config.cgroup_disable);
  if (!h.ok()) {
    out.push_back({"cgroups", false, false, h.status().ToString(),
                   "check /proc/self/mountinfo, /proc/self/cgroup and the disabled controllers "
                   "(WARDEN_CGROUP_DISABLE)"});
    return out;
  }
  bool v2_main = h->placement[kMemory].backend == Backend::kV2;
  for (int ci = 0; ci < kNumControllers; ++ci) {
    Controller c = Controller(ci);
    const Placement& p = h->placement[ci];
    base::DoctorCheck check;
    check.feature = std::string("cgroup ") + ControllerName(c);
    check.ok = p.backend != Backend::kNone;
    if (check.ok && !p.escapes.empty()) {
      check.ok = false;
      check.detail = p.reason + "; " + p.escapes;
      check.fix = "run warden in a cgroup of its own that it may delegate, or pass "
                  "--cgroup-parent";
    } else if (check.ok) {
      check.detail = p.reason;
    } else if ((c == kCpuacct || c == kFreezer) && v2_main) {
      check.ok = true;
      check.detail = "not needed: cgroup v2 has cpu.stat and cgroup.freeze in every cgroup";
    } else {
      check.detail = std::string("unavailable: ") + p.reason;
      check.fix = std::string("policies asking for a ") + ControllerName(c) +
                  " limit will not start; enable the " + ControllerName(c) +
                  " controller (cgroup v2: echo +" + ControllerName(c) +
                  " > cgroup.subtree_control of the parent; v1: mount it), or mark the limit "
                  "optional = true";
    }
    out.push_back(std::move(check));
  }
  base::DoctorCheck kill;
  kill.feature = "cgroup teardown";
  if (v2_main) {
    kill.ok = true;
    kill.detail = "v2 cgroup.kill (freeze, kill, thaw before Linux 5.14)";
  } else if (h->placement[kFreezer].backend == Backend::kV1) {
    kill.ok = true;
    kill.detail = "v1 freezer: freeze, kill every process, thaw";
  } else {
    kill.ok = false;
    kill.detail = "no v1 freezer: jobs are killed by repeated SIGKILL of cgroup.procs, which a "
                  "fork bomb may outrun for a while";
    kill.fix = "mount the v1 freezer controller or use cgroup v2";
  }
  out.push_back(std::move(kill));
  return out;
}

}  // namespace warden::cgroup
