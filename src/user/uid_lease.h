// Per-job uids: each concurrent job runs as a uid/gid of its own, leased
// from a range reserved for warden.
//
// Every job used to run as 65534, the host's `nobody`: RLIMIT_NPROC is
// counted per uid, so all concurrent jobs and the host's nobody processes
// shared one budget, and files a job left on a shared bind were open to
// every other job. A job now gets uid = gid = one id from the range.
//
// Leases work as the network's (net/lease.h): state lives in the directory
// the caller names (HostConfig::uid_state_dir, default /run/warden/uid, a
// 0700 directory reached
// without following symlinks), a `lock` file taken with flock() around
// every change, and one file per lease, `leases/<uid>`, naming the owner by
// pid and process start time. A lease whose owner is gone (a warden killed
// with SIGKILL) is collected by the next Acquire and by `warden gc`.
#ifndef WARDEN_USER_UID_LEASE_H_
#define WARDEN_USER_UID_LEASE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/host_config.h"
#include "warden/status.h"

namespace warden::user {

struct UidRange {
  uint32_t lo = 0;
  uint32_t hi = 0;  // inclusive
  uint32_t size() const { return hi - lo + 1; }
  bool Contains(uint32_t id) const { return id >= lo && id <= hi; }
};

// The default range: 65536 ids above the user-namespace mapping
// (launch::kUsernsHostBase = 1048576, 65536 ids).
inline constexpr UidRange kDefaultUidRange{2000000, 2065535};

// Parses "LO-HI". The range must hold 1..1048576 ids, start at 1000 or
// above (no system accounts), not reach 4294967295, not hold 65534, and not
// overlap the user-namespace mapping 1048576..1114111. kInvalidArgument
// names the value and WARDEN_UID_RANGE.
Result<UidRange> ParseUidRange(const std::string& text);

// config.uid_range: nullopt when it is "none" (every job keeps the
// policy's uid), else the parsed range, or kDefaultUidRange when empty.
Result<std::optional<UidRange>> UidRangeFromConfig(const base::HostConfig& config);

// A uid leased to this process; released (its file removed) when the
// object goes. Move-only.
class UidLease {
 public:
  // Takes a free id of `range` for the calling process, with its lease in
  // the state directory `dir`, on the way collecting leases of dead owners
  // (described in *reclaimed when not null). kResourceExhausted when every
  // id is held by a live owner.
  static Result<UidLease> Acquire(const std::string& dir, const UidRange& range,
                                  const std::string& job_id,
                                  std::vector<std::string>* reclaimed = nullptr);
  UidLease(UidLease&& o) noexcept : dir_(o.dir_), id_(o.id_), held_(o.held_) {
    o.held_ = false;
  }
  UidLease& operator=(UidLease&&) = delete;
  UidLease(const UidLease&) = delete;
  ~UidLease();

  uint32_t id() const { return id_; }
  // Removes the lease now; the destructor then does nothing.
  Status Release();

 private:
  UidLease(std::string dir, uint32_t id) : dir_(std::move(dir)), id_(id), held_(true) {}
  std::string dir_;
  uint32_t id_ = 0;
  bool held_ = false;
};

// The content of a lease file, "pid=N\nstart=N\njob=ID\n" (keys in any
// order, job optional). Lease files are read back as outside input:
// ParseLeaseText is false for anything FormatLeaseText did not produce a
// value for (bad numbers, pid 0 or above 4194303, unknown keys, a missing
// field or final newline). Exposed for the fuzz target.
struct LeaseText {
  pid_t pid = 0;
  uint64_t start_time = 0;
  std::string job_id;  // no '\n'
  bool operator==(const LeaseText&) const = default;
};
bool ParseLeaseText(const std::string& text, LeaseText* out);
std::string FormatLeaseText(const LeaseText& lease);

// Removes every lease whose owner is gone (for `warden gc`); appends a
// description of each to *removed. A missing state directory `dir` is no
// error.
Status Gc(const std::string& dir, std::vector<std::string>* removed);

}  // namespace warden::user

#endif  // WARDEN_USER_UID_LEASE_H_
