// Repair: the operator's way past a WAL that refuses to open. Nothing is
// deleted: the damaged segment is copied and later segments are moved to
// dir/quarantine/ before the log is cut back to its last good record.
#include <ctime>
#include <map>

#include "wal/format.h"
#include "wal/scan.h"
#include "wal/wal.h"

namespace warden::wal {
namespace {

Status CopyFile(io::Env* env, const std::string& from, const std::string& to) {
  WARDEN_ASSIGN_OR_RETURN(std::string data, env->ReadFileToString(from, kMaxSegmentFileBytes));
  WARDEN_ASSIGN_OR_RETURN(auto file, env->Open(to, io::kOpenWrite | io::kOpenCreate | io::kOpenExclusive));
  WARDEN_RETURN_IF_ERROR(env->Write(*file, data.data(), data.size(), 0));
  return env->Sync(*file, false);
}

}  // namespace

Status Repair(io::Env* env, const std::string& dir, const WalOptions& options,
              std::string* report) {
  report->clear();
  WARDEN_ASSIGN_OR_RETURN(auto names, env->ListDir(dir));
  std::map<uint64_t, std::string> segments;
  std::map<uint64_t, std::string> checkpoints;
  for (const std::string& name : names) {
    uint64_t n = 0;
    if (ParseSegmentFileName(name, &n)) segments.emplace(n, name);
    if (ParseCheckpointFileName(name, &n)) checkpoints.emplace(n, name);
  }
  const std::string quarantine = dir + "/quarantine";
  const std::string stamp = std::to_string(::time(nullptr));
  bool made_quarantine = false;
  auto ensure_quarantine = [&]() -> Status {
    if (made_quarantine) return Status::Ok();
    made_quarantine = true;
    return env->CreateDir(quarantine);
  };
  auto move_away = [&](const std::string& name) -> Status {
    WARDEN_RETURN_IF_ERROR(ensure_quarantine());
    WARDEN_RETURN_IF_ERROR(env->Rename(dir + "/" + name, quarantine + "/" + name + "." + stamp));
    *report += "moved " + name + " to quarantine/" + name + "." + stamp + "\n";
    return Status::Ok();
  };

  // An unreadable newest checkpoint goes; the one before it (if any) and the
  // segments then have to carry the state.
  while (!checkpoints.empty()) {
    const std::string name = checkpoints.rbegin()->second;
    auto file = env->ReadFileToString(dir + "/" + name, kMaxCheckpointBytes);
    uint64_t seq = 0;
    std::string snapshot;
    if (file.ok() && DecodeCheckpoint(file.value(), name, &seq, &snapshot).ok()) break;
    WARDEN_RETURN_IF_ERROR(move_away(name));
    checkpoints.erase(std::prev(checkpoints.end()));
  }

  uint64_t expected = 0;
  std::string scan_buffer;
  for (auto it = segments.begin(); it != segments.end(); ++it) {
    const std::string path = dir + "/" + it->second;
    SegmentScan scan;
    const uint64_t zero_run = TailWindow(options.max_batch_bytes, options.max_record_bytes);
    WARDEN_RETURN_IF_ERROR(ScanSegmentFile(env, path, it->first, options.max_record_bytes, zero_run,
                                           nullptr, &scan, &scan_buffer));
    bool damaged = !scan.header_ok || scan.bad || scan.valid_after ||
                   (expected != 0 && scan.header.first_seq != expected);
    if (!damaged) {
      expected = scan.last_seq + 1;
      continue;
    }
    bool header_damage = !scan.header_ok || (expected != 0 && scan.header.first_seq != expected);
    if (header_damage) {
      // Nothing in this segment can be trusted to continue the log.
      WARDEN_RETURN_IF_ERROR(move_away(it->second));
    } else {
      WARDEN_RETURN_IF_ERROR(ensure_quarantine());
      const std::string copy = it->second + "." + stamp;
      WARDEN_RETURN_IF_ERROR(CopyFile(env, path, quarantine + "/" + copy));
      WARDEN_ASSIGN_OR_RETURN(auto file, env->Open(path, io::kOpenWrite));
      WARDEN_ASSIGN_OR_RETURN(uint64_t size, env->Size(*file));
      // Everything after the last good record.
      WARDEN_RETURN_IF_ERROR(env->WriteZeros(*file, scan.end_offset, size));
      WARDEN_RETURN_IF_ERROR(env->Sync(*file, true));
      *report += "copied " + it->second + " to quarantine/" + copy + " and cut it at offset " +
                 std::to_string(scan.end_offset) + " (" + scan.what + ")\n";
    }
    for (auto later = std::next(it); later != segments.end(); ++later) {
      WARDEN_RETURN_IF_ERROR(move_away(later->second));
    }
    WARDEN_RETURN_IF_ERROR(env->SyncDir(quarantine));
    WARDEN_RETURN_IF_ERROR(env->SyncDir(dir));
    return Status::Ok();
  }
  if (made_quarantine) {
    WARDEN_RETURN_IF_ERROR(env->SyncDir(quarantine));
    WARDEN_RETURN_IF_ERROR(env->SyncDir(dir));
  } else {
    *report = "nothing to repair\n";
  }
  return Status::Ok();
}

}  // namespace warden::wal
