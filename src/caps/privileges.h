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

// /proc/sys/kernel/cap_last_cap, or CAP_LAST_CAP of the headers.
int CapLastCap();

}  // namespace warden::caps

#endif  // WARDEN_CAPS_PRIVILEGES_H_
