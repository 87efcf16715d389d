// Internal: what this host's cgroup setup looks like, and where each
// controller of a job goes. Read from /proc/self/mountinfo, /proc/self/cgroup
// and the cgroup.controllers files; discovery changes nothing on the host.
#ifndef WARDEN_CGROUP_HOST_H_
#define WARDEN_CGROUP_HOST_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "warden/status.h"

namespace warden::cgroup {

// Controllers warden uses. kCpuacct and kFreezer exist only on v1 (v2 has
// cpu.stat and cgroup.freeze in every cgroup).
enum Controller : int { kMemory = 0, kPids, kCpu, kCpuset, kIo, kCpuacct, kFreezer, kNumControllers };

enum class Backend { kNone, kV1, kV2 };

const char* ControllerName(Controller c);    // "memory", ..., "io", "cpuacct", "freezer"
const char* V1ControllerName(Controller c);  // as above, but "blkio" for kIo
const char* BackendName(Backend b);          // "none", "v1", "v2"

inline constexpr char kTopGroup[] = "warden";
inline constexpr char kNamePrefix[] = "warden-";
inline constexpr char kSelfPrefix[] = "warden-self-";
inline constexpr size_t kMaxJobIdBytes = 64;

// Where one controller of a job lives.
struct Placement {
  Backend backend = Backend::kNone;
  std::string mount;   // hierarchy mount point
  std::string parent;  // absolute directory in which job cgroups are made
  // The top-level `warden` group warden creates on demand and removes when
  // empty ("" when jobs nest under an existing cgroup).
  std::string top;
  std::string reason;  // why this backend and place (shown by doctor)
  // Non-empty when `parent` would put a job outside a limit warden itself
  // runs under (v2: own cgroup busy, a limit above it): says which. Limits
  // on such a controller fail closed, and jobs are not placed there.
  std::string escapes;
};

struct V1Hierarchy {
  std::string mount;                 // /sys/fs/cgroup/memory
  std::string mount_root;            // the mountinfo root field, usually "/"
  std::vector<std::string> names;    // controllers of this hierarchy
  std::string own;                   // our cgroup in it, relative ("/a/b")
};

struct HostLayout {
  std::string v2_mount;                  // "" when no cgroup2 is mounted
  std::string v2_own;                    // our v2 cgroup, relative, warden-self-* stripped
  std::vector<std::string> v2_controllers;  // cgroup.controllers of the v2 parent
  bool v2_delegate = false;              // v2 jobs nest under v2_own
  std::vector<V1Hierarchy> v1;
  std::array<Placement, kNumControllers> placement;
  std::vector<std::string> disabled;     // HostConfig::cgroup_disable, validated
};

// `rel` ("/a/b", "a/b", "" or "/") below the directory `dir`.
std::string JoinPath(const std::string& dir, const std::string& rel);

// The directory --cgroup-parent names in a v1 hierarchy: relative to
// warden's own cgroup in that hierarchy (the mount when that is the root), so
// that jobs never leave a cgroup the caller confined warden to.
std::string V1ParentDir(const V1Hierarchy& v, const std::string& parent);

// Reads the host layout and resolves every controller. `parent_override` is
// Options::parent; `disabled_controllers` the comma-separated controllers
// not to use (HostConfig::cgroup_disable, WARDEN_CGROUP_DISABLE for `warden
// run`). Errors only when /proc cannot be read, the override is malformed or
// a disabled controller is unknown (kInvalidArgument); missing controllers
// are reported in placement[].reason.
Result<HostLayout> DiscoverHost(const std::string& parent_override,
                                const std::string& disabled_controllers = "");

// Parses "warden-<pid>-<job>" and "warden-self-<pid>"; returns the pid.
std::optional<pid_t> OwnerOfName(const std::string& name);

// True when `pid` names a live process (kill(pid, 0) does not say ESRCH).
bool ProcessAlive(pid_t pid);

// Small cgroupfs helpers shared by the backends.
Result<std::string> ReadCgroupFile(const std::string& path);
Status WriteCgroupFile(const std::string& path, const std::string& value);
bool PathExists(const std::string& path);
// The pids listed in DIR/cgroup.procs.
Result<std::vector<pid_t>> ReadProcs(const std::string& dir);
// "key value" lines (memory.events, cpu.stat, cpuacct.stat): the value of key.
std::optional<uint64_t> KeyedValue(const std::string& text, const std::string& key);
std::optional<uint64_t> ParseU64(const std::string& text);
std::vector<std::string> SplitWords(const std::string& text);

}  // namespace warden::cgroup

#endif  // WARDEN_CGROUP_HOST_H_
