#include "user/uid_lease.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <utility>

#include "base/fd.h"
#include "base/file.h"
#include "base/log.h"
#include "base/safe_open.h"
#include "base/owner.h"

namespace warden::user {
namespace {

constexpr size_t kMaxLeaseBytes = 1024;
constexpr size_t kMaxLeaseFiles = 1 << 20;
// The user-namespace mapping (launch::kUsernsHostBase, kUsernsRange): ids
// there belong to jobs with a user namespace.
constexpr uint32_t kUsernsLo = 1u << 20;
constexpr uint32_t kUsernsHi = kUsernsLo + 65536 - 1;

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// The state directory and its leases/ below, both private to root and
// reached without following symlinks, and the lock held for the object's
// life. flock locks belong to the open file description, so threads of one
// process exclude each other as well as other processes.
struct State {
  base::UniqueFd leases;
  base::UniqueFd lock;
};

// Checks that the directory `fd` (at `path`) is private to us.
Result<base::UniqueFd> CheckPrivateDir(base::UniqueFd fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + path + "\")");
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status::Error(Code::kPermissionDenied,
                         path + " is owned by another user or writable by others: uid leases "
                                "there cannot be trusted (remove it, or set WARDEN_UID_DIR)");
  }
  return fd;
}

Result<base::UniqueFd> OpenPrivateDir(const std::string& path, bool create) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, base::OpenDirNoFollow(path, create, 0700));
  return CheckPrivateDir(std::move(fd), path);
}

Result<State> TakeState(const std::string& dir, bool create) {
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd top, OpenPrivateDir(dir, create));
  State s;
  s.lock.reset(base::RetryEintr([&] {
    return ::openat(top.get(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  }));
  if (!s.lock) return Status::FromErrno(errno, "open(\"" + dir + "/lock\")");
  if (base::RetryEintr([&] { return ::flock(s.lock.get(), LOCK_EX); }) != 0) {
    return Status::FromErrno(errno, "flock(\"" + dir + "/lock\", LOCK_EX)");
  }
  // leases/ below the directory already open: the path is walked once.
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd leases,
                          base::OpenDirNoFollowAt(top.get(), dir, "leases", true, 0700));
  WARDEN_ASSIGN_OR_RETURN(s.leases, CheckPrivateDir(std::move(leases), dir + "/leases"));
  return s;
}

// Reads one lease file; false when it is unreadable or malformed (a lease
// cut short by a crash, or not ours).
bool ReadLease(int dir_fd, const std::string& name, LeaseText* out) {
  base::UniqueFd fd(base::RetryEintr([&] {
    return ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  }));
  if (!fd) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > static_cast<off_t>(kMaxLeaseBytes)) {
    return false;
  }
  char buf[kMaxLeaseBytes];
  ssize_t n = base::RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
  if (n <= 0) return false;
  return ParseLeaseText(std::string(buf, static_cast<size_t>(n)), out);
}

// One pass over leases/ under the lock: removes dead owners' leases (and
// temp files cut short, since every write happens under the lock) and
// returns the ids held by live owners.
Result<std::set<uint32_t>> Scan(const std::string& dir, int leases_fd,
                                std::vector<std::string>* reclaimed) {
  int dup = ::openat(leases_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return Status::FromErrno(errno, "open(\"" + dir + "/leases\")");
  base::UniqueDir d(::fdopendir(dup));
  if (!d) {
    ::close(dup);
    return Status::FromErrno(errno, "fdopendir(\"" + dir + "/leases\")");
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (names.size() >= kMaxLeaseFiles) {
      return Status::Error(Code::kResourceExhausted, dir + "/leases: too many files");
    }
    names.push_back(std::move(name));
    errno = 0;
  }
  if (errno != 0) return Status::FromErrno(errno, "readdir(\"" + dir + "/leases\")");
  std::set<uint32_t> used;
  for (const std::string& name : names) {
    if (name[0] == '.') {
      ::unlinkat(leases_fd, name.c_str(), 0);
      continue;
    }
    uint64_t id = 0;
    if (!ParseU64(name, &id) || id > UINT32_MAX) continue;  // not a lease: leave it
    LeaseText lease;
    const bool ok = ReadLease(leases_fd, name, &lease);
    if (ok && base::OwnerAlive(base::Owner{lease.pid, lease.start_time})) {
      used.insert(static_cast<uint32_t>(id));
      continue;
    }
    if (::unlinkat(leases_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "unlink(\"" + dir + "/leases/" + name + "\")");
    }
    if (reclaimed) {
      std::string what = "uid lease " + name;
      if (ok) {
        what += " (pid " + std::to_string(lease.pid) + ", job " + lease.job_id + ")";
      }
      reclaimed->push_back(what);
    }
  }
  return used;
}

// Job ids are shown in the lease file on one line: keep it printable.
std::string Label(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    out += (c >= 0x21 && c <= 0x7e && c != '=') ? c : '_';
  }
  return out;
}

}  // namespace

bool ParseLeaseText(const std::string& text, LeaseText* out) {
  LeaseText l;
  bool have_pid = false, have_start = false, have_job = false;
  size_t pos = 0;
  if (text.size() > kMaxLeaseBytes) return false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return false;
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return false;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    uint64_t v = 0;
    if (key == "job" && !have_job) {
      l.job_id = value;
      have_job = true;
    } else if (key == "pid" && !have_pid && ParseU64(value, &v) && v > 0 && v <= 0x3fffff) {
      l.pid = static_cast<pid_t>(v);
      have_pid = true;
    } else if (key == "start" && !have_start && ParseU64(value, &v)) {
      l.start_time = v;
      have_start = true;
    } else {
      return false;
    }
  }
  if (!have_pid || !have_start) return false;
  *out = std::move(l);
  return true;
}

std::string FormatLeaseText(const LeaseText& lease) {
  return "pid=" + std::to_string(lease.pid) + "\nstart=" + std::to_string(lease.start_time) +
         "\njob=" + lease.job_id + "\n";
}

Result<UidRange> ParseUidRange(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return Status::Error(Code::kInvalidArgument,
                         "uid range \"" + text.substr(0, 64) + "\" (WARDEN_UID_RANGE): " + why);
  };
  size_t dash = text.find('-');
  uint64_t lo = 0, hi = 0;
  if (dash == std::string::npos || !ParseU64(text.substr(0, dash), &lo) ||
      !ParseU64(text.substr(dash + 1), &hi)) {
    return bad("expected LO-HI, two decimal ids");
  }
  if (hi < lo) return bad("HI is below LO");
  if (lo < 1000) return bad("LO must be 1000 or more (no system accounts)");
  if (hi >= UINT32_MAX) return bad("HI must be below 4294967295");
  if (hi - lo + 1 > (1u << 20)) return bad("at most 1048576 ids");
  if (lo <= 65534 && 65534 <= hi) return bad("must not hold 65534 (nobody)");
  if (lo <= kUsernsHi && kUsernsLo <= hi) {
    return bad("overlaps 1048576-1114111, where user namespaces map job ids");
  }
  return UidRange{static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)};
}

Result<std::optional<UidRange>> UidRangeFromConfig(const base::HostConfig& config) {
  if (config.uid_range.empty()) return std::optional<UidRange>(kDefaultUidRange);
  if (config.uid_range == "none") return std::optional<UidRange>();
  WARDEN_ASSIGN_OR_RETURN(UidRange r, ParseUidRange(config.uid_range));
  return std::optional<UidRange>(r);
}

Result<UidLease> UidLease::Acquire(const std::string& dir, const UidRange& range,
                                   const std::string& job_id,
                                   std::vector<std::string>* reclaimed) {
  WARDEN_ASSIGN_OR_RETURN(State s, TakeState(dir, true));
  WARDEN_ASSIGN_OR_RETURN(std::set<uint32_t> used, Scan(dir, s.leases.get(), reclaimed));
  // A random start spreads jobs over the range, so an id is seldom reused
  // right after a job that may have left files on a shared bind.
  uint32_t start = 0;
  if (::getrandom(&start, sizeof start, 0) != static_cast<ssize_t>(sizeof start)) start = 0;
  start %= range.size();
  for (uint32_t i = 0; i < range.size(); ++i) {
    const uint32_t id = range.lo + (start + i) % range.size();
    if (used.count(id) != 0) continue;
    const base::Owner self = base::SelfOwner();
    const std::string text = FormatLeaseText({self.pid, self.start_time, Label(job_id)});
    const std::string name = std::to_string(id);
    // No fsync: a lease means something only while its owner lives, and a
    // crash of the host ends every owner.
    WARDEN_RETURN_IF_ERROR(base::ReplaceFileAt(s.leases.get(), name, text, 0600,
                                               dir + "/leases/" + name,
                                               /*durable=*/false));
    return UidLease(dir, id);
  }
  return Status::Error(Code::kResourceExhausted,
                       "every uid of " + std::to_string(range.lo) + "-" +
                           std::to_string(range.hi) +
                           " is leased to a running job; configure a larger uid range (WARDEN_UID_RANGE for "
                           "warden run)");
}

Status UidLease::Release() {
  if (!held_) return Status::Ok();
  held_ = false;
  WARDEN_ASSIGN_OR_RETURN(State s, TakeState(dir_, false));
  const std::string name = std::to_string(id_);
  if (::unlinkat(s.leases.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "unlink(\"" + dir_ + "/leases/" + name + "\")");
  }
  return Status::Ok();
}

UidLease::~UidLease() {
  if (Status st = Release(); !st.ok()) {
    // Left for the next Acquire or `warden gc`, which see its owner gone.
    WLOG_WARN("", "uid lease " + std::to_string(id_) + ": " + st.ToString());
  }
}

Status Gc(const std::string& dir, std::vector<std::string>* removed) {
  Result<State> s = TakeState(dir, false);
  if (!s.ok()) {
    if (s.status().err() == ENOENT) return Status::Ok();
    return s.take_status();
  }
  return Scan(dir, s->leases.get(), removed).status();
}

}  // namespace warden::user
