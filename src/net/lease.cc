#include "net/lease.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "net/netlink.h"
#include "net/nft.h"

namespace warden::net {
namespace {

constexpr size_t kMaxLeaseBytes = 1024;
constexpr size_t kMaxLeaseFiles = 1 << 20;

Result<uint64_t> ParseU64(const std::string& s) {
  if (s.empty() || s.size() > 20) return Status::Error(Code::kCorruption, "bad number");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Status::Error(Code::kCorruption, "bad number");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

std::string LeasesDir(const std::string& state_dir) { return state_dir + "/leases"; }
std::string LeasePath(const std::string& state_dir, uint32_t slot) {
  return LeasesDir(state_dir) + "/" + std::to_string(slot);
}

Status EnsureDirs(const std::string& state_dir) {
  WARDEN_RETURN_IF_ERROR(base::MakeDirs(state_dir, 0755));
  return base::MkdirIfMissing(LeasesDir(state_dir), 0700);
}

// flock() on <dir>/lock for the life of the object. flock locks belong to
// the open file description, so threads of one process exclude each other
// as well as other processes.
class StateLock {
 public:
  static Result<StateLock> Take(const std::string& state_dir) {
    WARDEN_RETURN_IF_ERROR(EnsureDirs(state_dir));
    std::string path = state_dir + "/lock";
    base::UniqueFd fd(base::RetryEintr(
        [&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600); }));
    if (!fd) return Status::FromErrno(errno, "open(\"" + path + "\")");
    if (base::RetryEintr([&] { return ::flock(fd.get(), LOCK_EX); }) != 0) {
      return Status::FromErrno(errno, "flock(\"" + path + "\", LOCK_EX)");
    }
    return StateLock(std::move(fd));
  }

 private:
  explicit StateLock(base::UniqueFd fd) : fd_(std::move(fd)) {}
  base::UniqueFd fd_;  // closing it drops the lock
};

Result<Lease> ParseLease(uint32_t slot, const std::string& text) {
  Lease lease;
  lease.slot = slot;
  bool have_pid = false, have_start = false, have_netns = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return Status::Error(Code::kCorruption, "truncated lease");
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return Status::Error(Code::kCorruption, "bad lease line");
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "job") {
      lease.job_id = value;
      continue;
    }
    WARDEN_ASSIGN_OR_RETURN(uint64_t v, ParseU64(value));
    if (key == "pid") {
      if (v == 0 || v > 0x3fffff) return Status::Error(Code::kCorruption, "bad pid");
      lease.owner.pid = static_cast<pid_t>(v);
      have_pid = true;
    } else if (key == "start") {
      lease.owner.start_time = v;
      have_start = true;
    } else if (key == "netns") {
      lease.netns_id = v;
      have_netns = true;
    } else if (key == "nat") {
      lease.nat = v != 0;
    } else if (key == "shared_nat") {
      lease.shared_nat = v != 0;
    }
  }
  if (!have_pid || !have_start || !have_netns) {
    return Status::Error(Code::kCorruption, "lease misses a field");
  }
  return lease;
}

std::string FormatLease(const Lease& l) {
  return "pid=" + std::to_string(l.owner.pid) + "\nstart=" + std::to_string(l.owner.start_time) +
         "\nnetns=" + std::to_string(l.netns_id) + "\nnat=" + (l.nat ? "1" : "0") +
         "\nshared_nat=" + (l.shared_nat ? "1" : "0") + "\njob=" + SanitizeLabel(l.job_id) +
         "\n";
}

Status WriteLease(const std::string& state_dir, const Lease& l) {
  std::string tmp = LeasesDir(state_dir) + "/.tmp." + std::to_string(l.slot);
  std::string path = LeasePath(state_dir, l.slot);
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + tmp + "\")");
  std::string text = FormatLease(l);
  if (Status st = base::WriteAll(fd.get(), text.data(), text.size(), tmp.c_str()); !st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Status::FromErrno(errno, "rename(\"" + tmp + "\" -> \"" + path + "\")");
    ::unlink(tmp.c_str());
    return st;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> ReadLeaseNames(DIR* d, const std::string& dir) {
  std::vector<std::string> names;
  for (;;) {
    // readdir says "end" and "error" alike; only errno tells them apart. A
    // scan cut short would miss leases, and with them slots in use.
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) return Status::FromErrno(errno, "readdir(\"" + dir + "\")");
      return names;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (names.size() >= kMaxLeaseFiles) {
      return Status::Error(Code::kResourceExhausted, dir + ": too many files");
    }
    names.push_back(std::move(name));
  }
}

namespace {

// One pass over leases/ under the lock: cleans up dead owners' leases, and
// reports the slots still in use and the live leases.
Status Scan(const std::string& state_dir, uint64_t netns_id, const CleanupFn& cleanup,
            std::vector<std::string>* reclaimed, std::set<uint32_t>* used,
            std::vector<Lease>* live) {
  std::string dir = LeasesDir(state_dir);
  base::UniqueDir d(::opendir(dir.c_str()));
  if (!d) return Status::FromErrno(errno, "opendir(\"" + dir + "\")");
  WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadLeaseNames(d.get(), dir));
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    if (name.rfind(".tmp.", 0) == 0) {
      // Every write happens under the lock we hold: this one was cut short.
      ::unlink(path.c_str());
      continue;
    }
    Result<uint64_t> slot = ParseU64(name);
    if (!slot.ok() || *slot > 0xfffff) continue;  // not a lease file: leave it
    uint32_t s = static_cast<uint32_t>(*slot);
    Result<std::string> text = base::ReadFile(path, kMaxLeaseBytes);
    if (!text.ok()) {
      if (text.status().code() == Code::kNotFound) continue;
      return text.take_status();
    }
    Result<Lease> lease = ParseLease(s, *text);
    if (lease.ok() && OwnerAlive(lease->owner)) {
      if (used) used->insert(s);
      if (live) live->push_back(std::move(lease.value()));
      continue;
    }
    // A dead owner (or a lease cut short by a crash, which cannot name
    // anything created yet): remove what it names in this netns, then it.
    if (lease.ok() && lease->netns_id == netns_id && cleanup) {
      Status st = cleanup(*lease);
      if (!st.ok()) {
        WLOG_WARN(lease->job_id, "cannot reclaim network lease " + name + ": " + st.ToString());
        if (used) used->insert(s);
        continue;
      }
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "unlink(\"" + path + "\")");
    }
    if (reclaimed) {
      std::string what = "lease " + name;
      if (lease.ok()) {
        what += " (pid " + std::to_string(lease->owner.pid) + ", job " + lease->job_id + ")";
      }
      reclaimed->push_back(what);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Pool> ParsePool(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Status::Error(Code::kInvalidArgument,
                         "address pool \"" + text + "\" (WARDEN_NET_POOL): " + why);
  };
  size_t slash = text.find('/');
  if (slash == std::string::npos) return bad("expected A.B.C.D/N");
  Result<uint32_t> addr = nl::ParseIpv4(text.substr(0, slash));
  if (!addr.ok()) return bad("not an IPv4 address");
  Result<uint64_t> prefix = ParseU64(text.substr(slash + 1));
  if (!prefix.ok() || *prefix < 12 || *prefix > 28) return bad("prefix must be in 12..28");
  Pool pool;
  pool.cidr.prefix_len = static_cast<int>(*prefix);
  uint32_t mask = ~uint32_t{0} << (32 - pool.cidr.prefix_len);
  if ((*addr & ~mask) != 0) return bad("address has bits set beyond the prefix");
  pool.cidr.address = *addr;
  return pool;
}

Result<Pool> PoolFromConfig(const base::HostConfig& config) {
  return ParsePool(config.net_pool.empty() ? kDefaultPool : config.net_pool);
}

std::string PoolOverlap(const Pool& pool, const std::vector<nl::Ipv4Address>& addrs) {
  for (const nl::Ipv4Address& a : addrs) {
    pid_t pid = 0;
    uint32_t slot = 0;
    // No name: the link was deleted between the address dump and the link
    // dump (a finished job's veth going with its namespace), and its
    // address with it. Such an address is no overlap; taking it for one
    // failed the next job for a pair that was already gone.
    if (a.ifname.empty()) continue;
    if (pool.cidr.Contains(a.address) && !ParseIfname(a.ifname, &pid, &slot)) {
      return pool.cidr.ToString() + " overlaps " + nl::FormatIpv4(a.address) + " on " + a.ifname;
    }
  }
  return "";
}

std::string Lease::HostIfname() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "wd%06x%05x0", static_cast<unsigned>(owner.pid), slot);
  return buf;
}

std::string Lease::PeerIfname() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "wd%06x%05x1", static_cast<unsigned>(owner.pid), slot);
  return buf;
}

std::string Lease::NatTable() const {
  return "warden_" + std::to_string(owner.pid) + "_" + std::to_string(slot);
}

bool ParseIfname(const std::string& name, pid_t* pid, uint32_t* slot) {
  if (name.size() != 14 || name.compare(0, 2, "wd") != 0) return false;
  for (size_t i = 2; i < name.size(); ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  if (name[13] != '0' && name[13] != '1') return false;
  *pid = static_cast<pid_t>(std::strtoul(name.substr(2, 6).c_str(), nullptr, 16));
  *slot = static_cast<uint32_t>(std::strtoul(name.substr(8, 5).c_str(), nullptr, 16));
  return *pid > 0;
}

bool ParseNatTable(const std::string& name, pid_t* pid, uint32_t* slot) {
  if (name.rfind("warden_", 0) != 0) return false;
  std::string rest = name.substr(7);
  size_t us = rest.find('_');
  if (us == std::string::npos) return false;
  Result<uint64_t> p = ParseU64(rest.substr(0, us));
  Result<uint64_t> s = ParseU64(rest.substr(us + 1));
  if (!p.ok() || !s.ok() || *p == 0 || *p > 0x3fffff || *s > 0xfffff) return false;
  *pid = static_cast<pid_t>(*p);
  *slot = static_cast<uint32_t>(*s);
  return true;
}

Status CleanupLease(const nl::Socket& sock, const Lease& lease) {
  WARDEN_RETURN_IF_ERROR(nl::DeleteLink(sock, lease.HostIfname()));
  if (lease.nat) {
    WARDEN_RETURN_IF_ERROR(NftDeleteTable(NftFamily::kIp, lease.NatTable(),
                                          "delete nft table ip " + lease.NatTable()));
  }
  return Status::Ok();
}

Result<Lease> AcquireLease(const std::string& state_dir, const Pool& pool, uint64_t netns_id,
                           const std::string& job_id, const CleanupFn& cleanup,
                           const HostScanFn& scan_host, std::vector<std::string>* reclaimed) {
  WARDEN_ASSIGN_OR_RETURN(StateLock lock, StateLock::Take(state_dir));
  std::set<uint32_t> used;
  WARDEN_RETURN_IF_ERROR(
      Scan(state_dir, netns_id, cleanup, reclaimed, &used, nullptr).Wrap("scan leases"));
  WARDEN_ASSIGN_OR_RETURN(HostSlots host, scan_host());
  used.insert(host.busy.begin(), host.busy.end());
  uint32_t slot = 0;
  while (slot < pool.slots() && used.count(slot) != 0) ++slot;
  if (slot >= pool.slots()) {
    return Status::Error(Code::kResourceExhausted,
                         "address pool " + pool.cidr.ToString() + " is full (" +
                             std::to_string(pool.slots()) +
                             " jobs); configure a larger pool (WARDEN_NET_POOL for warden run)");
  }
  Lease lease;
  lease.slot = slot;
  lease.owner = SelfOwner();
  lease.netns_id = netns_id;
  lease.shared_nat = host.nat;
  lease.job_id = SanitizeLabel(job_id);
  WARDEN_RETURN_IF_ERROR(WriteLease(state_dir, lease));
  return lease;
}

Status RemoveLease(const std::string& state_dir, uint32_t slot) {
  WARDEN_ASSIGN_OR_RETURN(StateLock lock, StateLock::Take(state_dir));
  std::string path = LeasePath(state_dir, slot);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "unlink(\"" + path + "\")");
  }
  return Status::Ok();
}

Result<std::vector<Lease>> ReclaimDeadLeases(const std::string& state_dir, uint64_t netns_id,
                                             const CleanupFn& cleanup,
                                             std::vector<std::string>* reclaimed,
                                             const UnderLockFn& under_lock) {
  WARDEN_ASSIGN_OR_RETURN(StateLock lock, StateLock::Take(state_dir));
  std::vector<Lease> live;
  WARDEN_RETURN_IF_ERROR(Scan(state_dir, netns_id, cleanup, reclaimed, nullptr, &live));
  if (under_lock) WARDEN_RETURN_IF_ERROR(under_lock(live));
  return live;
}

}  // namespace warden::net
