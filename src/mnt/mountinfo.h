// Parser of /proc/PID/mountinfo (proc(5)), outside input read as root: each
// line is checked field by field and a line that does not parse is an error,
// never skipped, since the legacy remount walk relies on seeing every mount.
#ifndef WARDEN_MNT_MOUNTINFO_H_
#define WARDEN_MNT_MOUNTINFO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "warden/status.h"

namespace warden::mnt {

// Bounds on what the parser accepts: a host with more mounts than this is
// refused rather than half-read.
inline constexpr size_t kMaxMountInfoBytes = 16 << 20;
inline constexpr size_t kMaxMountInfoLines = 65536;

struct MountInfoEntry {
  uint64_t id = 0;
  uint64_t parent_id = 0;
  std::string root;         // path of the mount's root within its filesystem, decoded
  std::string mount_point;  // absolute, decoded (the kernel's \NNN escapes undone)
  std::string options;      // per-mount options: "rw,nosuid,relatime"
  std::string fs_type;

  bool HasOption(std::string_view name) const;
};

// Undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline,
// \134 backslash, and any other \NNN). A backslash not followed by three
// octal digits, or an escape of NUL, is an error.
Result<std::string> DecodeMountInfoField(std::string_view field);

// Parses the whole text. Errors name the line: "mountinfo line 7: ...".
Result<std::vector<MountInfoEntry>> ParseMountInfo(std::string_view text);

// The mounts strictly below `root` (an absolute, normalised path) that a
// process whose root is `root` can reach: a mount covered by a later mount
// on the same place, or on a directory above it, is left out (it cannot be
// reached, so it needs no remount; remounting its path would reach the cover
// instead). In parse order.
std::vector<const MountInfoEntry*> ReachableSubmounts(const std::vector<MountInfoEntry>& mounts,
                                                      const std::string& root);

}  // namespace warden::mnt

#endif  // WARDEN_MNT_MOUNTINFO_H_
