// Parent side: does this process hold what launching a sandbox needs?
#ifndef WARDEN_CAPS_PRIVILEGES_H_
#define WARDEN_CAPS_PRIVILEGES_H_

#include <string>

#include "warden/status.h"

namespace warden::caps {

// kPermissionDenied naming each missing capability and what to do.
Status CheckLaunchPrivileges();

// Whether `cap` (a CAP_* number) is in this process's effective set.
bool HaveCapability(int cap);

// The highest number a capability can have: capability sets are 64 bits.
inline constexpr int kMaxCapability = 63;

// The highest capability this kernel knows, from /proc/sys/kernel/cap_last_cap;
// kMaxCapability when that cannot be read or makes no sense (never the
// headers' CAP_LAST_CAP, which an older build would stop short at).
int CapLastCap();
// The same, from another file (tests).
int CapLastCapFrom(const char* path);

}  // namespace warden::caps

#endif  // WARDEN_CAPS_PRIVILEGES_H_
