// Policy: the validated description of one sandbox. Loaded from TOML
// (policies/README.md documents the format) and then treated as a plain
// value: launch code never re-parses or re-validates it.
//
// Every size and count below has a hard upper bound enforced by the loader
// (see kMax* constants); a Policy that came out of LoadPolicy* is within them.
#ifndef WARDEN_POLICY_H_
#define WARDEN_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "warden/export.h"
#include "warden/status.h"

namespace warden {

inline constexpr size_t kMaxPolicyBytes = 1 << 20;
inline constexpr size_t kMaxMounts = 64;
inline constexpr size_t kMaxEnv = 256;
inline constexpr size_t kMaxSyscallRules = 512;
inline constexpr size_t kMaxPathBytes = 4095;

struct MountSpec {
  enum class Kind { kBind, kTmpfs };
  Kind kind = Kind::kBind;
  std::string source;       // host path (binds); empty for tmpfs
  std::string destination;  // absolute path inside the sandbox
  bool writable = false;    // default read-only
  bool optional = false;    // a missing source is skipped, not an error
  uint64_t size_bytes = 0;  // tmpfs size; 0 means the loader's default
  // Binds only: an idmapped mount (MOUNT_ATTR_IDMAP). The job's uid/gid see
  // SRC's owner's files as their own, and what the job creates belongs on
  // the host to SRC's owner (`--bind-owned`, `owned = true`).
  bool owned = false;
  // Binds only: when either is set, the source as the bind opens it must
  // be this file (st_dev, st_ino) or the job does not start, so that what
  // a caller checked once (warden agent, at submit) is what is bound,
  // however the path changed since.
  uint64_t expect_dev = 0;
  uint64_t expect_ino = 0;

  bool operator==(const MountSpec&) const = default;
};

// One condition on a syscall argument (libseccomp's scmp_arg_cmp).
struct ArgCondition {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };
  unsigned index = 0;  // 0..5
  Op op = Op::kEq;
  uint64_t value = 0;
  uint64_t mask = 0;  // only for kMaskedEq

  bool operator==(const ArgCondition&) const = default;
};

enum class SeccompAction { kAllow, kErrno, kKill, kLog };

// An explicit rule: when `syscall` is called and every condition holds, take
// `action` (with `errno_value` for kErrno).
struct SyscallRule {
  std::string syscall;
  SeccompAction action = SeccompAction::kErrno;
  int errno_value = 1;  // EPERM
  std::vector<ArgCondition> args;

  bool operator==(const SyscallRule&) const = default;
};

struct SeccompSpec {
  // Groups ("@mount") and names denied; the loader expands groups.
  std::vector<std::string> deny;
  // Names removed again from the expanded deny list.
  std::vector<std::string> allow;
  std::vector<SyscallRule> rules;
  // What a denied syscall gets: kErrno (with deny_errno), kKill or kLog.
  // The deny list, the calls of a syscall with "allow" rules that none of
  // them matches, and rules without an action of their own get it.
  SeccompAction deny_action = SeccompAction::kErrno;
  // The errno of a kErrno deny action, 1..4095; 1 (EPERM) unless
  // deny_action is kErrno, as the loader keeps it.
  int deny_errno = 1;  // EPERM
  // Syscall numbers unknown to warden's table get ENOSYS.
  int unknown_errno = 38;  // ENOSYS

  bool operator==(const SeccompSpec&) const = default;
};

// An inclusive range of uids or gids: "1000-1999" is {1000, 1999}, "65534"
// is {65534, 65534}.
struct IdRange {
  uint32_t first = 0;
  uint32_t last = 0;

  bool operator==(const IdRange&) const = default;
};

struct RlimitSpec {
  uint64_t nofile = 1024;
  uint64_t nproc = 4096;
  uint64_t fsize_bytes = 1ull << 30;
  uint64_t stack_bytes = 8ull << 20;
  uint64_t core_bytes = 0;

  bool operator==(const RlimitSpec&) const = default;
};

// A cgroup limit with its fail-closed switch: when `optional` is false and
// the host cannot enforce the limit, the job does not start. No value: no
// limit (a policy's "none", or `warden run --memory none`, removes a base's).
template <typename T>
struct CgroupLimit {
  std::optional<T> value;
  bool optional = false;

  bool operator==(const CgroupLimit&) const = default;
};

struct CgroupSpec {
  CgroupLimit<uint64_t> memory_max_bytes;
  CgroupLimit<uint64_t> memory_swap_max_bytes;  // default 0 when memory is limited
  CgroupLimit<uint64_t> pids_max;
  CgroupLimit<double> cpu;  // CPUs, fractional allowed: 0.5
  CgroupLimit<std::string> cpuset_cpus;
  CgroupLimit<std::string> cpuset_mems;
  CgroupLimit<std::string> io_max;  // "MAJ:MIN rbps=... wbps=..." lines

  bool operator==(const CgroupSpec&) const = default;
};

struct NetworkSpec {
  enum class Mode { kNone, kLoopback, kVeth };
  Mode mode = Mode::kLoopback;
  std::vector<std::string> allow;  // "ADDR[/PREFIX][:PORT][/tcp|/udp]", "host:PORT"
  std::vector<std::string> dns;    // resolver addresses -> /etc/resolv.conf
  std::map<std::string, std::string> hosts;  // name -> address -> /etc/hosts

  bool operator==(const NetworkSpec&) const = default;
};

struct Policy {
  std::string name;         // "default", or the file's stem
  std::string source_path;  // file it came from; empty for built-ins
  std::string hash;         // hex SHA-256 of the canonical effective policy

  // Which file suffixes and shebang interpreters select this policy
  // (`warden run script.py`), and how to run such a script.
  std::vector<std::string> match_suffixes;      // ".py"
  std::vector<std::string> match_interpreters;  // "python3"
  std::vector<std::string> interpreter;         // argv prefix: ["/usr/bin/python3"]

  // Namespaces: mount, pid, ipc, uts, net and cgroup are always new.
  bool user_namespace = false;

  // Root filesystem. Either the host view (rootfs empty): an empty
  // read-only root showing only the host paths in `view`, read-only, plus
  // the mounts below; or `rootfs`: a host directory bound read-only as "/"
  // ("/" shows the whole host, an explicit choice), with the masks below.
  std::string rootfs;
  std::vector<std::string> view = {"/usr", "/bin",  "/sbin",   "/lib",
                                   "/lib32", "/lib64", "/libx32", "/etc"};
  std::vector<std::string> mask;  // hidden by an empty tmpfs or /dev/null
  std::vector<MountSpec> mounts;
  uint64_t tmp_size_bytes = 64ull << 20;
  uint64_t shm_size_bytes = 16ull << 20;
  std::string hostname = "warden";
  std::string cwd = "/tmp";

  // Identity.
  uint32_t uid = 65534;
  uint32_t gid = 65534;
  // Which other ids `warden run --uid/--gid` may choose (identity.allow_uids,
  // identity.allow_gids); empty: none, the job runs as uid/gid above. 0 is
  // only allowed with user_namespace. A layer's list replaces its base's.
  std::vector<IdRange> allow_uids;
  std::vector<IdRange> allow_gids;

  // Environment: exactly these, plus PATH.
  std::map<std::string, std::string> env;
  std::vector<std::string> env_pass;  // names copied from warden's environment
  std::string path = "/usr/local/bin:/usr/bin:/bin";

  // Limits without cgroups.
  uint64_t wall_time_ms = 0;  // 0: none
  uint64_t cpu_time_ms = 0;   // 0: none (RLIMIT_CPU, rounded up to seconds)
  uint64_t kill_grace_ms = 2000;
  uint64_t output_max_bytes = 16ull << 20;  // per stream with --output-dir
  RlimitSpec rlimits;

  CgroupSpec cgroup;
  SeccompSpec seccomp;
  NetworkSpec network;

  bool operator==(const Policy&) const = default;
};

// A parse or validation error: "FILE:LINE:COL: what is wrong".
struct WARDEN_EXPORT PolicyError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string ToString() const;
};

// Loads and validates a policy file. Errors carry location and a clear
// message; the returned Status message is PolicyError::ToString().
WARDEN_EXPORT Result<Policy> LoadPolicyFile(const std::string& path);
// Same, for TOML text held in memory; `name` is used in error locations.
WARDEN_EXPORT Result<Policy> LoadPolicyString(const std::string& toml, const std::string& name);

// Resolves NAME|FILE as `--policy` does: a path containing '/' or ending in
// ".toml" is a file; otherwise a shipped policy from the policy directory.
WARDEN_EXPORT Result<Policy> ResolvePolicy(const std::string& name_or_file);

// Picks the shipped policy for a script by suffix, then by shebang
// interpreter; "default" when nothing matches.
WARDEN_EXPORT Result<Policy> PolicyForProgram(const std::string& program_path);

// Directory of shipped policies: the one the process's default host
// settings name (`warden` takes WARDEN_POLICY_DIR), else the install
// location, else policies/ next to the binary's source tree. LoadPolicyFile,
// LoadPolicyString, ResolvePolicy and PolicyForProgram resolve `extends`
// and NAME there, and use the policy cache below the default cache
// directory; none reads an environment variable.
WARDEN_EXPORT std::string PolicyDirectory();

// The effective policy as TOML, with every default filled in and groups
// expanded (what `warden policy check` prints).
WARDEN_EXPORT std::string PolicyToToml(const Policy& policy);

// Validates NAME|FILE (resolved as ResolvePolicy does) as `warden policy
// check` does: loads it and compiles its seccomp filter, writing nothing
// (no filter cache). OK when it would run; otherwise kInvalidArgument whose
// message reads "FILE:LINE:COL: what is wrong" for a parse, validation or
// filter error, or the error of the failing call (a missing file, an
// unknown NAME). A NAME is looked up in PolicyDirectory(). Safe to call
// from any thread.
WARDEN_EXPORT Status ValidatePolicy(const std::string& name_or_file);

// The hex SHA-256 of the effective policy (PolicyToToml), the value a loaded
// Policy carries in `hash` and `warden policy check` prints after
// "sha256:". Two policies that would run alike have the same hash; `hash`,
// `name` and `source_path` themselves do not enter it. Pure function: safe
// from any thread.
WARDEN_EXPORT std::string PolicyHash(const Policy& policy);

// The BPF filter that a SeccompSpec compiles to, as `warden policy check`
// and `import-oci` report it.
struct SeccompFilterInfo {
  size_t instructions = 0;  // BPF instructions, at most the kernel's 4096
  std::string hash;         // hex SHA-256 of the spec, libseccomp's version
                            // and the architecture: equal filters, equal hash
};

// Compiles `spec` to its BPF filter, writing nothing (no filter cache).
// Errors: kInvalidArgument for a spec that names an unknown syscall or that
// the filter cannot express (too many rules for one call, too long a
// program), kInternal when libseccomp fails. Safe to call from any thread.
WARDEN_EXPORT Result<SeccompFilterInfo> CompileSeccompFilter(const SeccompSpec& spec);

// Reads the OCI runtime-spec (linux.seccomp) or Docker seccomp profile at
// `path` (a regular file of at most kMaxPolicyBytes; a FIFO or a device is
// refused without blocking on it) and translates it into a SeccompSpec,
// exactly or not at all: what warden cannot express exactly (SCMP_ACT_TRAP,
// NOTIFY, TRACE, flags, listeners, argument rules its filter cannot
// reproduce) is an error, never a weaker filter. Errors: kInvalidArgument
// "PATH: JSON.PATH: why" for a profile that is malformed or refused; the
// read's own error otherwise. Stricter by construction: i386 and x32 calls
// and KILL_THREAD kill the whole process. Safe to call from any thread.
WARDEN_EXPORT Result<SeccompSpec> ImportOciSeccompProfile(const std::string& path);

}  // namespace warden

#endif  // WARDEN_POLICY_H_
