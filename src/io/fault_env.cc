#include "io/fault_env.h"

#include <algorithm>
#include <filesystem>

namespace warden::io {
namespace {

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

const char* OpName(FaultOp op) {
  switch (op) {
    case FaultOp::kOpen: return "open";
    case FaultOp::kWrite: return "pwrite";
    case FaultOp::kSync: return "fdatasync";
    case FaultOp::kAllocate: return "fallocate";
    case FaultOp::kRename: return "rename";
    case FaultOp::kRemove: return "unlink";
    case FaultOp::kSyncDir: return "fsync(dir)";
  }
  return "?";
}

constexpr size_t kMaxSnapshotBytes = 256u << 20;

uint64_t Mix(uint64_t x) {
  // splitmix64's finalizer.
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The page's bytes of s, or fewer at its end.
std::string_view PageOf(const std::string& s, uint64_t page) {
  uint64_t from = page * kFaultPageBytes;
  if (from >= s.size()) return {};
  return std::string_view(s).substr(from, kFaultPageBytes);
}

// Pages where a and b differ, including pages only one of them has.
std::vector<uint64_t> DifferingPages(const std::string& a, const std::string& b) {
  std::vector<uint64_t> pages;
  uint64_t n = (std::max(a.size(), b.size()) + kFaultPageBytes - 1) / kFaultPageBytes;
  for (uint64_t p = 0; p < n; ++p) {
    if (PageOf(a, p) != PageOf(b, p)) pages.push_back(p);
  }
  return pages;
}

}  // namespace

Status FaultEnv::CrashedError(const std::string& what) const {
  return Status::FromErrno(EIO, what + " after simulated crash");
}

Status FaultEnv::Gate(FaultOp op, bool mutating, const std::string& what, size_t* partial) {
  if (crashed_) return CrashedError(what);
  if (mutating) {
    if (crash_after_.has_value()) {
      if (*crash_after_ == 0) {
        Crash();
        return CrashedError(what);
      }
      --*crash_after_;
    }
    ++mutating_ops_;
  }
  uint64_t n = calls_[op]++;
  for (const ActiveRule& active : rules_) {
    const FaultRule& rule = active.rule;
    if (rule.op != op || n < active.base + rule.skip) continue;
    if (rule.times != 0 && n >= active.base + rule.skip + rule.times) continue;
    if (partial != nullptr) *partial = rule.partial_bytes;
    return Status::FromErrno(rule.err, std::string(OpName(op)) + "(" + what + ") [injected]");
  }
  return Status::Ok();
}

std::optional<std::string> FaultEnv::DurableContent(const std::string& path) {
  auto it = snapshots_.find(path);
  if (it != snapshots_.end()) return it->second;
  auto content = base_->ReadFileToString(path, kMaxSnapshotBytes);
  if (!content.ok()) return std::nullopt;
  return std::move(content).value();
}

void FaultEnv::Snapshot(const std::string& path) {
  if (snapshots_.count(path) != 0 || unsynced_creates_.count(path) != 0) return;
  auto content = base_->ReadFileToString(path, kMaxSnapshotBytes);
  snapshots_[path] = content.ok() ? std::move(content).value() : std::string();
}

void FaultEnv::SetCrashPageSeed(uint64_t seed) {
  page_filter_ = [seed](const std::string& path, uint64_t page) {
    uint64_t h = Mix(seed);
    for (char c : path.substr(path.rfind('/') + 1)) h = Mix(h ^ static_cast<unsigned char>(c));
    return (Mix(h ^ page) & 1) != 0;
  };
}

std::vector<uint64_t> FaultEnv::UnsyncedPages(const std::string& path) {
  auto it = snapshots_.find(path);
  if (it == snapshots_.end()) return {};
  auto current = base_->ReadFileToString(path, kMaxSnapshotBytes);
  return DifferingPages(it->second, current.ok() ? current.value() : std::string());
}

std::string FaultEnv::Survivor(const std::string& path, const std::string& durable,
                               const std::string& current) const {
  std::string out = durable;
  if (!page_filter_) return out;
  // The size follows the new content when a kept page lies beyond the
  // durable end; bytes of dropped pages there read as zeros.
  for (uint64_t page : DifferingPages(durable, current)) {
    if (!page_filter_(path, page)) continue;
    std::string_view bytes = PageOf(current, page);
    uint64_t from = page * kFaultPageBytes;
    if (out.size() < from + bytes.size()) out.resize(from + bytes.size(), '\0');
    out.replace(from, bytes.size(), bytes);
  }
  return out;
}

void FaultEnv::Crash() {
  if (crashed_) return;
  crashed_ = true;
  // Undo in reverse order of what happened: renames, then creates, then
  // removes (a replaced file comes back), then contents.
  for (auto it = unsynced_renames_.rbegin(); it != unsynced_renames_.rend(); ++it) {
    (void)base_->Rename(it->to, it->from);
    auto snap = snapshots_.extract(it->to);
    if (!snap.empty()) {
      snap.key() = it->from;
      snapshots_.insert(std::move(snap));
    }
    if (it->old_to.has_value()) {
      auto f = base_->Open(it->to, kOpenWrite | kOpenCreate | kOpenTruncate);
      if (f.ok()) (void)base_->Write(**f, it->old_to->data(), it->old_to->size(), 0);
    }
  }
  for (const std::string& path : unsynced_creates_) {
    (void)base_->Remove(path);
    snapshots_.erase(path);
  }
  for (const auto& [path, content] : unsynced_removes_) {
    auto f = base_->Open(path, kOpenWrite | kOpenCreate | kOpenTruncate);
    if (f.ok()) (void)base_->Write(**f, content.data(), content.size(), 0);
  }
  for (const auto& [path, content] : snapshots_) {
    auto current = base_->ReadFileToString(path, kMaxSnapshotBytes);
    std::string survivor = Survivor(path, content, current.ok() ? current.value() : std::string());
    auto f = base_->Open(path, kOpenWrite);
    if (!f.ok()) continue;
    (void)base_->Truncate(**f, survivor.size());
    (void)base_->Write(**f, survivor.data(), survivor.size(), 0);
  }
  // Last: a vanished directory takes whatever was put in it.
  for (const std::string& dir : unsynced_dirs_) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  snapshots_.clear();
  unsynced_dirs_.clear();
  unsynced_creates_.clear();
  unsynced_renames_.clear();
  unsynced_removes_.clear();
}

void FaultEnv::Restart() {
  crashed_ = false;
  crash_after_.reset();
  tear_keep_.reset();
  page_filter_ = nullptr;
  unsynced_dirs_.clear();
  rules_.clear();
  calls_.clear();
  snapshots_.clear();
  unsynced_creates_.clear();
  unsynced_renames_.clear();
  unsynced_removes_.clear();
}

Result<std::unique_ptr<File>> FaultEnv::Open(const std::string& path, int flags) {
  bool mutating = (flags & (kOpenCreate | kOpenTruncate)) != 0;
  WARDEN_RETURN_IF_ERROR(Gate(FaultOp::kOpen, mutating, "\"" + path + "\""));
  bool existed = base_->Exists(path);
  if (existed && (flags & kOpenTruncate)) Snapshot(path);
  WARDEN_ASSIGN_OR_RETURN(auto file, base_->Open(path, flags));
  if (!existed && (flags & kOpenCreate)) {
    unsynced_creates_.insert(path);
    unsynced_removes_.erase(path);
  }
  return file;
}

Result<size_t> FaultEnv::Read(File& file, void* buf, size_t len, uint64_t offset) {
  if (crashed_) return CrashedError("pread(\"" + file.path() + "\")");
  return base_->Read(file, buf, len, offset);
}

Status FaultEnv::Write(File& file, const void* buf, size_t len, uint64_t offset) {
  const std::string what = "\"" + file.path() + "\"";
  if (tear_keep_.has_value() && !crashed_) {
    size_t keep = std::min(*tear_keep_, len);
    tear_keep_.reset();
    Crash();
    // The torn prefix reached the platter before the power went.
    (void)base_->Write(file, buf, keep, offset);
    return CrashedError("pwrite(" + what + ") [torn]");
  }
  size_t partial = 0;
  Status gate = Gate(FaultOp::kWrite, true, what, &partial);
  if (crashed_) return gate;
  Snapshot(file.path());
  if (!gate.ok()) {
    if (partial > 0) (void)base_->Write(file, buf, std::min(partial, len), offset);
    return gate;
  }
  size_t chunk = max_chunk_ == 0 ? len : max_chunk_;
  for (size_t done = 0; done < len;) {
    size_t n = std::min(chunk, len - done);
    WARDEN_RETURN_IF_ERROR(base_->Write(file, static_cast<const char*>(buf) + done, n, offset + done));
    done += n;
  }
  return Status::Ok();
}

Status FaultEnv::Sync(File& file, bool data_only) {
  WARDEN_RETURN_IF_ERROR(Gate(FaultOp::kSync, true, "\"" + file.path() + "\""));
  WARDEN_RETURN_IF_ERROR(base_->Sync(file, data_only));
  snapshots_.erase(file.path());
  return Status::Ok();
}

Status FaultEnv::Allocate(File& file, uint64_t len) {
  WARDEN_RETURN_IF_ERROR(Gate(FaultOp::kAllocate, true, "\"" + file.path() + "\""));
  Snapshot(file.path());
  return base_->Allocate(file, len);
}

Status FaultEnv::Truncate(File& file, uint64_t len) {
  WARDEN_RETURN_IF_ERROR(Gate(FaultOp::kWrite, true, "\"" + file.path() + "\""));
  Snapshot(file.path());
  return base_->Truncate(file, len);
}

Result<uint64_t> FaultEnv::Size(File& file) {
  if (crashed_) return CrashedError("fstat(\"" + file.path() + "\")");
  return base_->Size(file);
}

Status FaultEnv::Rename(const std::string& from, const std::string& to) {
  WARDEN_RETURN_IF_ERROR(Gate(FaultOp::kRename, true, "\"" + from + "\" -> \"" + to + "\""));
  RenameRecord rec{from, to, std::nullopt};
  bool to_created = unsynced_creates_.count(to) != 0;
  if (base_->Exists(to) && !to_created) rec.old_to = DurableContent(to);
  WARDEN_RETURN_IF_ERROR(base_->Rename(from, to));
  snapshots_.erase(to);
  auto snap = snapshots_.extract(from);
  if (!snap.empty()) {
    snap.key() = to;
    snapshots_.insert(std::move(snap));
  }
  if (unsynced_creates_.erase(from) != 0) {
    // The source was never durable: after a crash neither name holds it.
    unsynced_creates_.insert(to);
    if (rec.old_to.has_value()) unsynced_removes_[to] = *rec.old_to;
    return Status::Ok();
  }
  unsynced_renames_.push_back(std::move(rec));
  return Status::Ok();
}

Status FaultEnv::Remove(const std::string& path) {
  WARDEN_RETURN_IF_ERROR(Gate(FaultOp::kRemove, true, "\"" + path + "\""));
  std::optional<std::string> durable;
  bool created = unsynced_creates_.count(path) != 0;
  if (!created) durable = DurableContent(path);
  WARDEN_RETURN_IF_ERROR(base_->Remove(path));
  snapshots_.erase(path);
  if (created) {
    unsynced_creates_.erase(path);
  } else if (durable.has_value()) {
    unsynced_removes_[path] = *durable;
  }
  return Status::Ok();
}

Status FaultEnv::SyncDir(const std::string& dir) {
  WARDEN_RETURN_IF_ERROR(Gate(FaultOp::kSyncDir, true, "\"" + dir + "\""));
  WARDEN_RETURN_IF_ERROR(base_->SyncDir(dir));
  for (auto it = unsynced_creates_.begin(); it != unsynced_creates_.end();) {
    it = Parent(*it) == dir ? unsynced_creates_.erase(it) : std::next(it);
  }
  for (auto it = unsynced_removes_.begin(); it != unsynced_removes_.end();) {
    it = Parent(it->first) == dir ? unsynced_removes_.erase(it) : std::next(it);
  }
  for (auto it = unsynced_dirs_.begin(); it != unsynced_dirs_.end();) {
    it = Parent(*it) == dir ? unsynced_dirs_.erase(it) : std::next(it);
  }
  unsynced_renames_.erase(
      std::remove_if(unsynced_renames_.begin(), unsynced_renames_.end(),
                     [&](const RenameRecord& r) { return Parent(r.to) == dir && Parent(r.from) == dir; }),
      unsynced_renames_.end());
  return Status::Ok();
}

Status FaultEnv::CreateDir(const std::string& dir) {
  if (crashed_) return CrashedError("mkdir(\"" + dir + "\")");
  bool existed = base_->Exists(dir);
  WARDEN_RETURN_IF_ERROR(base_->CreateDir(dir));
  if (!existed) unsynced_dirs_.insert(dir);
  return Status::Ok();
}

Result<std::vector<std::string>> FaultEnv::ListDir(const std::string& dir) {
  if (crashed_) return CrashedError("opendir(\"" + dir + "\")");
  return base_->ListDir(dir);
}

bool FaultEnv::Exists(const std::string& path) { return !crashed_ && base_->Exists(path); }

}  // namespace warden::io
