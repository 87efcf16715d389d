// Internal: turning a CgroupSpec into control-file writes for either
// backend, and reading the accounting files back.
#ifndef WARDEN_CGROUP_LIMITS_H_
#define WARDEN_CGROUP_LIMITS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "cgroup/host.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::cgroup {

inline constexpr uint64_t kCpuPeriodUsec = 100000;
inline constexpr uint64_t kMinCpuQuotaUsec = 1000;  // the kernel's floor
inline constexpr double kMaxCpus = 4096;
inline constexpr size_t kMaxCpusetBytes = 256;
inline constexpr size_t kMaxIoLines = 64;
inline constexpr size_t kMaxIoBytes = 4096;

// One limit of the spec, validated and bound to its controller.
struct LimitRequest {
  enum class Kind { kMemory, kSwap, kPids, kCpu, kCpusetCpus, kCpusetMems, kIo };
  Kind kind = Kind::kMemory;
  Controller controller = kMemory;
  std::string label;  // "memory=67108864": names the limit in errors
  bool optional = false;
  bool implicit = false;   // swap 0 implied by a memory limit
  bool dropped = false;    // optional and not enforceable: skipped
  uint64_t value = 0;      // bytes, pids, or cpu quota in usec
  uint64_t memory = 0;     // kSwap: the memory limit (v1 memsw = memory + swap)
  std::string text;        // cpuset list, io.max lines
};

// Validates `spec` (kInvalidArgument naming the limit) and lists its limits
// in the order they must be written (memory before swap).
Result<std::vector<LimitRequest>> PlanLimits(const CgroupSpec& spec);

// Writes one limit into the job's cgroup `dir` of the given backend.
Status ApplyLimit(const LimitRequest& l, Backend backend, const std::string& dir);

// v2: memory.oom.group = 1 in `dir`, so that an OOM kill ends the whole job
// rather than one process of it (what the README promises). When the write
// fails: with a required memory limit (`memory`, null when there is none)
// the job does not start (kUnavailable naming the file); otherwise a
// warning is appended to *warnings and the job runs.
Status ApplyOomGroup(const std::string& dir, const LimitRequest* memory,
                     std::vector<std::string>* warnings);

// Adds the figures `dir` holds for `controllers` to *a (fields it cannot
// read stay absent).
void ReadDirAccounting(Backend backend, const std::string& dir,
                       const std::vector<Controller>& controllers, Accounting* a);

// True when /proc/swaps lists an active swap area.
bool SwapActive();

}  // namespace warden::cgroup

#endif  // WARDEN_CGROUP_LIMITS_H_
