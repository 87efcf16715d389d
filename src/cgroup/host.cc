#include "cgroup/host.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "base/fd.h"
#include "base/file.h"

namespace warden::cgroup {
namespace {

// Control files are tiny; cgroup.procs of a job is bounded by pids.max but
// not by us, so give it room (a million pids at 8 bytes each).
constexpr size_t kMaxControlFileBytes = 1 << 20;
constexpr size_t kMaxProcsFileBytes = 8 << 20;
constexpr size_t kMaxProcFileBytes = 4 << 20;  // /proc/self/mountinfo
constexpr size_t kMaxDisableEnvBytes = 1024;
constexpr size_t kMaxParentBytes = 1024;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) &&
        IsOctal(s[i + 3])) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                                      (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

// "/a/b" relative to a mount whose root is `root`: the part below the root,
// or nullopt when the cgroup is outside what this mount shows.
std::optional<std::string> BelowRoot(const std::string& path, const std::string& root) {
  if (root == "/") return path;
  if (path == root) return std::string("/");
  if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
      path[root.size()] == '/') {
    return path.substr(root.size());
  }
  return std::nullopt;
}

struct MountEntry {
  std::string root, point, fstype, super_opts;
};

Result<std::vector<MountEntry>> ReadCgroupMounts() {
  WARDEN_ASSIGN_OR_RETURN(std::string text,
                          base::ReadFile("/proc/self/mountinfo", kMaxProcFileBytes));
  std::vector<MountEntry> out;
  for (const std::string& line : Split(text, '\n')) {
    std::vector<std::string> f = SplitWords(line);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 10 || dash == f.end() || f.end() - dash < 4) continue;
    MountEntry m{Unescape(f[3]), Unescape(f[4]), *(dash + 1), *(dash + 3)};
    if (m.fstype == "cgroup" || m.fstype == "cgroup2") out.push_back(std::move(m));
  }
  return out;
}

// Validates --cgroup-parent: a relative path without "." or ".." parts.
Status CheckParent(const std::string& parent) {
  if (parent.size() > kMaxParentBytes) {
    return Status::Error(Code::kInvalidArgument, "cgroup parent is longer than " +
                                                     std::to_string(kMaxParentBytes) + " bytes");
  }
  std::string p = parent;
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  if (p.empty()) return Status::Error(Code::kInvalidArgument, "cgroup parent is empty");
  for (const std::string& part : Split(p, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return Status::Error(Code::kInvalidArgument,
                           "cgroup parent \"" + parent + "\": empty, \".\" or \"..\" component");
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ParseDisabled(const std::string& value) {
  std::vector<std::string> out;
  if (value.empty()) return out;
  if (value.size() > kMaxDisableEnvBytes) {
    return Status::Error(Code::kInvalidArgument, "WARDEN_CGROUP_DISABLE is too long");
  }
  for (const std::string& name : Split(value, ',')) {
    if (name.empty()) continue;
    bool known = name == "blkio";
    for (int c = 0; c < kNumControllers; ++c) known |= name == ControllerName(Controller(c));
    if (!known) {
      return Status::Error(Code::kInvalidArgument,
                           "WARDEN_CGROUP_DISABLE: unknown controller \"" + name +
                               "\" (known: memory,pids,cpu,cpuset,io,blkio,cpuacct,freezer)");
    }
    out.push_back(name == "blkio" ? "io" : name);
  }
  return out;
}

// The first limit set on `own_dir` or an ancestor of it below `mount`
// ("pids.max=20 in /sys/fs/cgroup/ci"), or "" when none is: then a cgroup
// next to the root escapes nothing.
std::string V2LimitAbove(const std::string& mount, const std::string& own_dir) {
  static constexpr const char* kFiles[] = {"memory.max", "memory.high", "memory.swap.max",
                                           "pids.max",   "cpu.max",     "io.max"};
  std::string dir = own_dir;
  while (dir.size() > mount.size()) {
    for (const char* f : kFiles) {
      Result<std::string> v = ReadCgroupFile(dir + "/" + f);
      if (!v.ok()) continue;
      std::vector<std::string> w = SplitWords(*v);
      bool unlimited = w.empty() || w[0] == "max";
      if (!unlimited) return std::string(f) + "=" + w[0] + " in " + dir;
    }
    dir.resize(dir.rfind('/'));
  }
  return "";
}

}  // namespace

const char* ControllerName(Controller c) {
  static constexpr const char* kNames[] = {"memory", "pids",    "cpu",    "cpuset",
                                           "io",     "cpuacct", "freezer"};
  return c >= 0 && c < kNumControllers ? kNames[c] : "?";
}

const char* V1ControllerName(Controller c) { return c == kIo ? "blkio" : ControllerName(c); }

const char* BackendName(Backend b) {
  switch (b) {
    case Backend::kNone: return "none";
    case Backend::kV1: return "v1";
    case Backend::kV2: return "v2";
  }
  return "?";
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::optional<uint64_t> ParseU64(const std::string& text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::optional<uint64_t> KeyedValue(const std::string& text, const std::string& key) {
  for (const std::string& line : Split(text, '\n')) {
    std::vector<std::string> w = SplitWords(line);
    if (w.size() == 2 && w[0] == key) return ParseU64(w[1]);
  }
  return std::nullopt;
}

Result<std::string> ReadCgroupFile(const std::string& path) {
  return base::ReadFile(path, kMaxControlFileBytes);
}

Status WriteCgroupFile(const std::string& path, const std::string& value) {
  base::UniqueFd fd(base::RetryEintr([&] { return ::open(path.c_str(), O_WRONLY | O_CLOEXEC); }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + path + "\")");
  // Control files take one value per write(); a short write is an error.
  ssize_t n = base::RetryEintr([&] { return ::write(fd.get(), value.data(), value.size()); });
  if (n < 0) return Status::FromErrno(errno, "write(\"" + path + "\", \"" + value + "\")");
  if (static_cast<size_t>(n) != value.size()) {
    return Status::Error(Code::kIoError, "write(\"" + path + "\"): short write");
  }
  return Status::Ok();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::vector<pid_t>> ReadProcs(const std::string& dir) {
  WARDEN_ASSIGN_OR_RETURN(std::string text,
                          base::ReadFile(dir + "/cgroup.procs", kMaxProcsFileBytes));
  std::vector<pid_t> out;
  for (const std::string& w : SplitWords(text)) {
    std::optional<uint64_t> v = ParseU64(w);
    if (v && *v > 0 && *v <= INT32_MAX) out.push_back(static_cast<pid_t>(*v));
  }
  return out;
}

std::optional<pid_t> OwnerOfName(const std::string& name) {
  std::string rest;
  if (name.rfind(kSelfPrefix, 0) == 0) {
    rest = name.substr(sizeof(kSelfPrefix) - 1);
  } else if (name.rfind(kNamePrefix, 0) == 0) {
    rest = name.substr(sizeof(kNamePrefix) - 1);
    size_t dash = rest.find('-');
    if (dash == std::string::npos || dash + 1 == rest.size()) return std::nullopt;
    rest.resize(dash);
  } else {
    return std::nullopt;
  }
  std::optional<uint64_t> pid = ParseU64(rest);
  if (!pid || *pid == 0 || *pid > INT32_MAX) return std::nullopt;
  return static_cast<pid_t>(*pid);
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno != ESRCH;
}

std::string JoinPath(const std::string& dir, const std::string& rel) {
  if (rel.empty() || rel == "/") return dir;
  if (rel[0] == '/') return dir + rel;
  return dir + "/" + rel;
}

std::string V1ParentDir(const V1Hierarchy& v, const std::string& parent) {
  return JoinPath(JoinPath(v.mount, v.own), parent);
}

Result<HostLayout> DiscoverHost(const std::string& parent_override,
                                const std::string& disabled_controllers) {
  HostLayout h;
  if (!parent_override.empty()) WARDEN_RETURN_IF_ERROR(CheckParent(parent_override));
  WARDEN_ASSIGN_OR_RETURN(h.disabled, ParseDisabled(disabled_controllers));
  WARDEN_ASSIGN_OR_RETURN(std::vector<MountEntry> mounts, ReadCgroupMounts());
  WARDEN_ASSIGN_OR_RETURN(std::string self,
                          base::ReadFile("/proc/self/cgroup", kMaxControlFileBytes));

  // /proc/self/cgroup: "ID:CONTROLLERS:PATH"; the v2 line is "0::PATH".
  std::string v2_own;
  std::vector<std::pair<std::vector<std::string>, std::string>> v1_own;
  for (const std::string& line : Split(self, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && ctrls.empty()) {
      v2_own = path;
    } else {
      v1_own.emplace_back(Split(ctrls, ','), path);
    }
  }
  // A warden that moved itself into its leaf reports that leaf; jobs belong
  // next to it, under the cgroup it was delegated.
  {
    size_t slash = v2_own.rfind('/');
    if (slash != std::string::npos &&
        v2_own.compare(slash + 1, sizeof(kSelfPrefix) - 1, kSelfPrefix) == 0) {
      v2_own.resize(slash == 0 ? 1 : slash);
    }
  }

  for (const MountEntry& m : mounts) {
    if (m.fstype == "cgroup2") {
      if (!h.v2_mount.empty()) continue;
      std::optional<std::string> below = BelowRoot(v2_own.empty() ? "/" : v2_own, m.root);
      if (!below) continue;
      h.v2_mount = m.point;
      h.v2_own = *below;
      continue;
    }
    V1Hierarchy v;
    v.mount = m.point;
    v.mount_root = m.root;
    for (const std::string& opt : Split(m.super_opts, ',')) {
      for (int c = 0; c < kNumControllers; ++c) {
        if (opt == V1ControllerName(Controller(c))) v.names.push_back(opt);
      }
    }
    if (v.names.empty()) continue;  // name=systemd and friends
    bool dup = false;
    for (const V1Hierarchy& seen : h.v1) dup |= seen.names == v.names;
    if (dup) continue;
    for (const auto& [ctrls, path] : v1_own) {
      bool match = false;
      for (const std::string& n : v.names) match |= Contains(ctrls, n);
      if (!match) continue;
      std::optional<std::string> below = BelowRoot(path, m.root);
      if (below) v.own = *below;
    }
    if (v.own.empty()) continue;  // our cgroup is not visible through this mount
    h.v1.push_back(std::move(v));
  }

  // The v2 parent: --cgroup-parent, else our own cgroup when we may delegate
  // (no process other than us lives in it, or it already delegates), else a
  // top-level `warden` group.
  Placement v2;
  if (!h.v2_mount.empty()) {
    std::string own_dir = JoinPath(h.v2_mount, h.v2_own);
    std::string controllers_file;
    if (!parent_override.empty()) {
      v2.parent = JoinPath(h.v2_mount, parent_override);
      controllers_file = v2.parent + "/cgroup.controllers";
      v2.reason = "v2 under --cgroup-parent " + v2.parent;
    } else {
      bool can_delegate = false;
      if (h.v2_own != "/") {
        Result<std::string> sub = ReadCgroupFile(own_dir + "/cgroup.subtree_control");
        Result<std::vector<pid_t>> procs = ReadProcs(own_dir);
        if (sub.ok() && !SplitWords(*sub).empty()) {
          can_delegate = true;
        } else if (procs.ok()) {
          can_delegate = procs->empty() || (procs->size() == 1 && (*procs)[0] == ::getpid());
        }
      }
      if (can_delegate) {
        h.v2_delegate = true;
        v2.parent = own_dir;
        controllers_file = own_dir + "/cgroup.controllers";
        v2.reason = "v2 delegated below warden's own cgroup " + own_dir;
      } else {
        v2.parent = h.v2_mount + "/" + kTopGroup;
        v2.top = v2.parent;
        controllers_file = h.v2_mount + "/cgroup.controllers";
        v2.reason = h.v2_own == "/" ? "v2 top-level group " + v2.parent
                                    : "v2 top-level group " + v2.parent + " (own cgroup " +
                                          own_dir + " holds other processes)";
        if (h.v2_own != "/") {
          std::string limit = V2LimitAbove(h.v2_mount, own_dir);
          if (!limit.empty()) {
            v2.escapes = "warden's own cgroup " + own_dir +
                         " holds other processes, so jobs cannot go below it, and the "
                         "top-level group would escape " + limit;
          }
        }
      }
    }
    v2.backend = Backend::kV2;
    v2.mount = h.v2_mount;
    Result<std::string> ctl = ReadCgroupFile(controllers_file);
    if (ctl.ok()) h.v2_controllers = SplitWords(*ctl);
  }

  for (int ci = 0; ci < kNumControllers; ++ci) {
    Controller c = Controller(ci);
    Placement& p = h.placement[ci];
    if (Contains(h.disabled, ControllerName(c))) {
      p.reason = "disabled by WARDEN_CGROUP_DISABLE";
      continue;
    }
    if (c != kCpuacct && c != kFreezer && Contains(h.v2_controllers, ControllerName(c))) {
      p = v2;
      continue;
    }
    const V1Hierarchy* hier = nullptr;
    for (const V1Hierarchy& v : h.v1) {
      if (Contains(v.names, V1ControllerName(c))) hier = &v;
    }
    if (hier == nullptr) {
      if ((c == kCpuacct || c == kFreezer) && !h.v2_mount.empty()) {
        p.reason = "not mounted as v1; v2 has cpu.stat and cgroup.freeze built in";
      } else {
        p.reason = h.v2_mount.empty()
                       ? "no v1 hierarchy mounted and no cgroup2 mounted"
                       : "not in " + (v2.parent.empty() ? h.v2_mount : v2.parent) +
                             "'s cgroup.controllers and no v1 hierarchy mounted";
      }
      continue;
    }
    p.backend = Backend::kV1;
    p.mount = hier->mount;
    std::string v2_note =
        h.v2_mount.empty() ? "" : "; the unified hierarchy does not offer it";
    if (!parent_override.empty()) {
      p.parent = V1ParentDir(*hier, parent_override);
      p.reason = "v1 under --cgroup-parent " + p.parent + v2_note;
    } else if (hier->own != "/") {
      // The caller may have confined us to this cgroup (a CI runner that
      // caps its own pids or cpu): jobs stay inside it, in every hierarchy.
      p.parent = JoinPath(hier->mount, hier->own);
      p.reason = std::string("v1 below warden's own ") + V1ControllerName(c) + " cgroup " +
                 p.parent + v2_note;
    } else {
      // At the root nothing confines us; the top-level group is below it.
      p.parent = hier->mount + "/" + kTopGroup;
      p.top = p.parent;
      p.reason = "v1 top-level group " + p.parent + v2_note;
    }
  }
  return h;
}

}  // namespace warden::cgroup
