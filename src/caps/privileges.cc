#include "caps/privileges.h"

#include <sys/capability.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "base/c_ptr.h"
#include "base/file.h"

namespace warden::caps {
namespace {

constexpr cap_value_t kRequired[] = {CAP_SYS_ADMIN,  CAP_SETUID,     CAP_SETGID, CAP_SETPCAP,
                                     CAP_SYS_CHROOT, CAP_KILL,       CAP_NET_ADMIN,
                                     CAP_SYS_PTRACE};

}  // namespace

Status CheckLaunchPrivileges() {
  base::CPtr<struct _cap_struct, cap_free> caps(cap_get_proc());
  if (!caps) return Status::FromErrno(errno, "cap_get_proc()");
  std::string missing;
  for (cap_value_t c : kRequired) {
    cap_flag_value_t v = CAP_CLEAR;
    if (cap_get_flag(caps.get(), c, CAP_EFFECTIVE, &v) != 0 || v != CAP_SET) {
      base::CPtr<char, cap_free> n(cap_to_name(c));
      if (!missing.empty()) missing += ", ";
      missing += n ? n.get() : std::to_string(c);
    }
  }
  if (missing.empty()) return Status::Ok();
  return Status::Error(Code::kPermissionDenied,
                       "warden run needs root: it creates namespaces, mounts and cgroups. "
                       "Missing capabilities: " + missing +
                           ". Run it as root (for example with sudo), or grant these "
                           "capabilities to the process");
}

bool HaveCapability(int cap) {
  base::CPtr<struct _cap_struct, cap_free> caps(cap_get_proc());
  cap_flag_value_t v = CAP_CLEAR;
  return caps && cap_get_flag(caps.get(), static_cast<cap_value_t>(cap), CAP_EFFECTIVE, &v) == 0 &&
         v == CAP_SET;
}

int CapLastCapFrom(const char* path) {
  // The kernel's own figure. When it cannot be read, the highest number a
  // capability can have (the sets are 64 bits), not the header's
  // CAP_LAST_CAP: a kernel newer than the headers has capabilities they do
  // not name, and the drop loop ends at the first EINVAL anyway.
  Result<std::string> s = base::ReadFile(path, 64);
  if (!s.ok()) return kMaxCapability;
  const char* p = s->c_str();
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(p, &end, 10);
  if (end == p || errno != 0 || (*end != '\0' && *end != '\n') || v < 0 || v > kMaxCapability) {
    return kMaxCapability;
  }
  return static_cast<int>(v);
}

int CapLastCap() { return CapLastCapFrom("/proc/sys/kernel/cap_last_cap"); }

}  // namespace warden::caps
