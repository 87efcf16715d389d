// Small parsers and validators behind the policy loader and `warden run`'s
// options: sizes ("64M"), durations ("30s"), paths, mounts, environment
// names, hostnames. They are the one grammar for each of these: the CLI and
// the loader call the same function and get the same bounds. Each returns a
// reason (or an error Status without location) on bad input, so the caller
// can attach the TOML location or the option name.
#ifndef WARDEN_POLICY_DATA_PARSE_UTIL_H_
#define WARDEN_POLICY_DATA_PARSE_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/policy.h"

namespace warden::policy {

// The longest duration and the largest size anything accepts. Both parsers
// refuse more, so a parsed value can be multiplied into nanoseconds (or
// added to a clock) without overflow.
inline constexpr uint64_t kMaxDurationMs = 366ull * 24 * 3600 * 1000;
inline constexpr uint64_t kMaxSizeBytes = 1ull << 50;

// DIGITS, optionally followed by a binary multiple: "4096", "4096B", "64K",
// "64M", "1G", "2T" (an optional "B" or "iB" after the letter: "64MiB").
// At most kMaxSizeBytes. Nothing else: no sign, no fraction, no spaces, no
// "nan" or "inf". An error (kInvalidArgument) says why, without location.
Result<uint64_t> ParseSize(std::string_view s);

// DIGITS, optionally followed by a unit: "250ms", "30s", "5m" (or "5min"),
// "2h"; no unit means seconds ("30"), as an integer in a policy does. At
// most kMaxDurationMs (366 days). 0 is a valid duration: what it means
// (for wall_time and --timeout: no limit) is the caller's. No sign, no
// fraction, no spaces, no "nan" or "inf". An error (kInvalidArgument) says
// why, without location.
Result<uint64_t> ParseDurationMs(std::string_view s);

// Why `path` is not an acceptable absolute path, or "" when it is: it must
// start with '/', hold no NUL, no ".." component and fit kMaxPathBytes.
std::string PathProblem(std::string_view path);

// Why `m` is not an acceptable mount, or "" when it is: the one rule for
// policy [[filesystem.mount]] entries and --bind/--ro-bind. The destination
// is an acceptable path (PathProblem) other than "/" (the root is
// filesystem.rootfs); a bind's source is an acceptable path; a tmpfs has no
// source.
std::string MountProblem(const MountSpec& m);

// The largest uid or gid: (uid_t)-1 means "no change" to setresuid, so it
// is never a valid id.
inline constexpr uint32_t kMaxId = 4294967294;

// A uid or gid in decimal, 0..kMaxId (identity.uid, --uid). No sign, no
// spaces. An error (kInvalidArgument) says why, without location.
Result<uint32_t> ParseId(std::string_view s);

// "N" or "N-M" with N <= M, each a ParseId (identity.allow_uids entries).
Result<IdRange> ParseIdRange(std::string_view s);

// `range` as ParseIdRange reads it: "N" or "N-M".
std::string IdRangeString(const IdRange& range);

// Whether `id` is in one of `ranges`.
bool IdInRanges(const std::vector<IdRange>& ranges, uint32_t id);

// Bounds of the cgroup limits, for the loader's [cgroup] and for --memory,
// --pids, --cpus alike.
inline constexpr uint64_t kMinMemoryBytes = 1 << 20;
inline constexpr uint64_t kMaxPids = 4194304;
inline constexpr double kMinCpus = 0.01;
inline constexpr double kMaxCpus = 4096;

// Why `cpus` is not an acceptable number of CPUs, or "" when it is:
// finite and within kMinCpus..kMaxCpus.
std::string CpusProblem(double cpus);

// A number of CPUs as --cpus writes it: DIGITS[.DIGITS] ("2", "0.5"), no
// sign, no exponent, no "nan", then CpusProblem.
Result<double> ParseCpus(std::string_view s);

// Strict decimal within [min, max] ("256" for --pids): no sign, no unit.
Result<uint64_t> ParseCount(std::string_view s, uint64_t min, uint64_t max);

// Why `name` is not an acceptable identity.hostname / --hostname, or "":
// IsValidHostname, and at most 64 bytes (the kernel's limit).
std::string HostnameProblem(std::string_view name);

// Why `bytes` is not an acceptable size for /tmp or /dev/shm, or "": a
// tmpfs of size 0 has no limit at all, so 0 is refused.
std::string TmpfsSizeProblem(uint64_t bytes);

// The network.mode / --net spelling: "none", "loopback" or "veth".
std::optional<NetworkSpec::Mode> ParseNetworkMode(std::string_view s);

// One network.allow / --allow entry, parsed. The loader checks every entry
// with ParseAllowEntry, so a policy that loads never fails later, at a veth
// run, on its allow list; net::ParseAllow builds its rules from it.
struct AllowEntry {
  enum class Proto { kAny, kTcp, kUdp };
  bool host = false;     // "host:PORT": the host end of the veth
  uint32_t address = 0;  // IPv4, host byte order; 0 for host
  int prefix_len = 32;   // 0..32; host bits beyond it are zero
  uint16_t port = 0;     // 0: every port (and, with kAny, every protocol)
  Proto proto = Proto::kAny;
};

inline constexpr size_t kMaxAllowEntryBytes = 64;

// "ADDR[/PREFIX][:PORT][/tcp|/udp]" with a numeric IPv4 ADDR, or
// "host:PORT[/tcp|/udp]". Host names are refused: warden resolves no names
// (an allow rule is an address in the job's firewall, fixed before it
// starts). Errors are kInvalidArgument, "allow entry \"ENTRY\": why".
Result<AllowEntry> ParseAllowEntry(std::string_view entry);

// [A-Za-z_][A-Za-z0-9_]*, at most 255 bytes.
bool IsValidEnvName(std::string_view name);

// RFC 1123 host name: labels of [A-Za-z0-9-], dots between, at most 253 bytes.
bool IsValidHostname(std::string_view name);

// A numeric IPv4 or IPv6 address.
bool IsIpAddress(std::string_view s);

// The policy spelling of a seccomp action: "allow", "errno", "kill", "log".
const char* SeccompActionName(SeccompAction action);

// The action spelled `name` (as SeccompActionName writes it), or nullopt.
std::optional<SeccompAction> ParseSeccompAction(std::string_view name);

// `s` as a TOML basic string, quotes included.
std::string TomlQuote(std::string_view s);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_DATA_PARSE_UTIL_H_
