// Child side of privilege dropping (between clone and exec; no allocation).
#ifndef WARDEN_CAPS_CHILD_CAPS_H_
#define WARDEN_CAPS_CHILD_CAPS_H_

#include "proto/child_util.h"

namespace warden::caps {

// Clears the ambient set, drops every capability from the bounding set (up
// to cap_last_cap at least, and on until the kernel answers EINVAL, so that a
// figure from older headers leaves none behind) and locks securebits (noroot, no setuid fixup, no ambient
// raise). Needs CAP_SETPCAP, so it runs before the uid change.
launch::ChildError ChildLockCapabilities(int cap_last_cap);

// Empties the effective, permitted and inheritable sets, except `keep` (a
// CAP_* number, or -1 for none) in effective and permitted. Runs after the
// uid change (securebits keep the kernel from doing it at setuid).
launch::ChildError ChildClearCapabilitySets(int keep = -1);

}  // namespace warden::caps

#endif  // WARDEN_CAPS_CHILD_CAPS_H_
