#include "mnt/mountinfo.h"

#include <charconv>
#include <tuple>
#include <unordered_map>

namespace warden::mnt {
namespace {

Status LineError(size_t line_no, const std::string& what) {
  return Status::Error(Code::kCorruption,
                       "mountinfo line " + std::to_string(line_no) + ": " + what);
}

// Next space-separated field of `rest`; empty when none is left.
std::string_view NextField(std::string_view* rest) {
  size_t start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  size_t end = rest->find(' ', start);
  std::string_view f = rest->substr(start, end == std::string_view::npos ? end : end - start);
  *rest = end == std::string_view::npos ? std::string_view{} : rest->substr(end);
  return f;
}

bool ParseId(std::string_view f, uint64_t* out) {
  if (f.empty() || f.size() > 20) return false;
  auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), *out);
  return ec == std::errc() && p == f.data() + f.size();
}

// "MAJ:MIN", both decimal.
bool ValidDevice(std::string_view f) {
  size_t colon = f.find(':');
  uint64_t n;
  return colon != std::string_view::npos && ParseId(f.substr(0, colon), &n) &&
         ParseId(f.substr(colon + 1), &n);
}

// True when `path` is `dir` or below it (both absolute, normalised).
bool AtOrBelow(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         (path.size() == dir.size() || path[dir.size()] == '/');
}

}  // namespace

bool MountInfoEntry::HasOption(std::string_view name) const {
  std::string_view rest = options;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (rest.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

Result<std::string> DecodeMountInfoField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\0') return Status::Error(Code::kCorruption, "NUL byte in a field");
    if (field[i] != '\\') {
      out.push_back(field[i]);
      continue;
    }
    if (field.size() - i < 4) {
      return Status::Error(Code::kCorruption,
                           "truncated escape in \"" + std::string(field.substr(0, 128)) + "\"");
    }
    unsigned v = 0;
    for (size_t k = 1; k <= 3; ++k) {
      char c = field[i + k];
      if (c < '0' || c > '7') {
        return Status::Error(Code::kCorruption, "bad escape in \"" +
                                                    std::string(field.substr(0, 128)) + "\"");
      }
      v = v * 8 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 0377) {
      return Status::Error(Code::kCorruption,
                           "escape out of range in \"" + std::string(field.substr(0, 128)) + "\"");
    }
    out.push_back(static_cast<char>(v));
    i += 3;
  }
  return out;
}

Result<std::vector<MountInfoEntry>> ParseMountInfo(std::string_view text) {
  if (text.size() > kMaxMountInfoBytes) {
    return Status::Error(Code::kResourceExhausted,
                         "mountinfo: more than " + std::to_string(kMaxMountInfoBytes) + " bytes");
  }
  std::vector<MountInfoEntry> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) {
      // Only the text's own end may be empty: an empty line inside is damage.
      if (text.empty()) break;
      return LineError(line_no, "empty line");
    }
    if (out.size() == kMaxMountInfoLines) {
      return Status::Error(Code::kResourceExhausted,
                           "mountinfo: more than " + std::to_string(kMaxMountInfoLines) + " mounts");
    }
    MountInfoEntry e;
    std::string_view rest = line;
    if (!ParseId(NextField(&rest), &e.id)) return LineError(line_no, "bad mount id");
    if (!ParseId(NextField(&rest), &e.parent_id)) return LineError(line_no, "bad parent id");
    if (!ValidDevice(NextField(&rest))) return LineError(line_no, "bad device");
    std::string_view root = NextField(&rest);
    std::string_view point = NextField(&rest);
    std::string_view options = NextField(&rest);
    if (options.empty()) return LineError(line_no, "fewer than 6 fields");
    Result<std::string> r = DecodeMountInfoField(root);
    if (!r.ok()) return LineError(line_no, r.status().message());
    e.root = std::move(r.value());
    Result<std::string> p = DecodeMountInfoField(point);
    if (!p.ok()) return LineError(line_no, p.status().message());
    e.mount_point = std::move(p.value());
    if (e.mount_point.empty() || e.mount_point[0] != '/') {
      return LineError(line_no, "mount point is not absolute");
    }
    e.options = std::string(options);
    // Optional fields ("shared:N", "master:N", ...) end at the "-" separator.
    bool separator = false;
    for (std::string_view f = NextField(&rest); !f.empty(); f = NextField(&rest)) {
      if (f == "-") {
        separator = true;
        break;
      }
    }
    if (!separator) return LineError(line_no, "no \" - \" separator");
    std::string_view fs_type = NextField(&rest);
    if (fs_type.empty()) return LineError(line_no, "no filesystem type");
    e.fs_type = std::string(fs_type);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<const MountInfoEntry*> ReachableSubmounts(const std::vector<MountInfoEntry>& mounts,
                                                      const std::string& root) {
  std::unordered_multimap<uint64_t, const MountInfoEntry*> children;
  std::unordered_map<uint64_t, const MountInfoEntry*> by_id;
  for (const MountInfoEntry& m : mounts) {
    children.emplace(m.parent_id, &m);
    by_id.emplace(m.id, &m);
  }
  // Is `m` hidden where it sits: another mount on its own root (stacked on
  // it), or a sibling on a directory above its mount point?
  // `from` is the mount the walk came up from, which is on top of m by
  // being reachable, not a cover.
  auto covered = [&](const MountInfoEntry& m, const MountInfoEntry* from) {
    auto [b, e] = children.equal_range(m.id);
    for (auto it = b; it != e; ++it) {
      if (it->second != &m && it->second != from && it->second->mount_point == m.mount_point) {
        return true;
      }
    }
    std::tie(b, e) = children.equal_range(m.parent_id);
    for (auto it = b; it != e; ++it) {
      const MountInfoEntry& s = *it->second;
      if (&s != &m && s.mount_point != m.mount_point && AtOrBelow(m.mount_point, s.mount_point)) {
        return true;
      }
    }
    return false;
  };
  std::vector<const MountInfoEntry*> out;
  for (const MountInfoEntry& m : mounts) {
    if (m.mount_point == root || !AtOrBelow(m.mount_point, root)) continue;
    // Walk up to the mount at `root`; any covered mount on the way hides m.
    // When in doubt (a parent missing, a loop in damaged input) m counts as
    // reachable: a remount too many fails closed, one too few fails open.
    bool reachable = true;
    const MountInfoEntry* cur = &m;
    const MountInfoEntry* from = nullptr;
    for (size_t steps = 0; steps <= mounts.size(); ++steps) {
      if (covered(*cur, from)) {
        reachable = false;
        break;
      }
      if (cur->mount_point == root || !AtOrBelow(cur->mount_point, root)) break;
      auto p = by_id.find(cur->parent_id);
      if (p == by_id.end() || p->second == cur) break;
      from = cur;
      cur = p->second;
    }
    if (reachable) out.push_back(&m);
  }
  return out;
}

}  // namespace warden::mnt
