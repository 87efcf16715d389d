// Fuzz target for the /proc/PID/mountinfo parser (read as root before the
// legacy remount walk).
//
// Checks, beyond "no crash, no sanitizer report": every parsed mount point
// is absolute and holds no NUL, every error names its line, and the
// reachable-submount walk ends on any parsed input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mnt/mountinfo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  warden::Result<std::vector<warden::mnt::MountInfoEntry>> r = warden::mnt::ParseMountInfo(text);
  if (!r.ok()) {
    const std::string& msg = r.status().message();
    if (msg.rfind("mountinfo", 0) != 0) {
      std::fprintf(stderr, "error without location: %s\n", msg.c_str());
      std::abort();
    }
    return 0;
  }
  for (const warden::mnt::MountInfoEntry& e : r.value()) {
    if (e.mount_point.empty() || e.mount_point[0] != '/' ||
        e.mount_point.find('\0') != std::string::npos) {
      std::fprintf(stderr, "bad mount point accepted\n");
      std::abort();
    }
  }
  for (const char* root : {"/", "/a", "/srv"}) {
    for (const warden::mnt::MountInfoEntry* e : warden::mnt::ReachableSubmounts(r.value(), root)) {
      if (e->mount_point == root) std::abort();
    }
  }
  return 0;
}
