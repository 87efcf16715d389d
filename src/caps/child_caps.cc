#include "caps/child_caps.h"

#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>

#include "base/raw_syscall.h"

namespace warden::caps {

using launch::Fail;
using launch::Step;

// Runs in the sandbox's first process: raw system calls only (see
// base/raw_syscall.h).
using base::sys::Prctl;

launch::ChildError ChildLockCapabilities(int cap_last_cap) {
  if (long r = Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL); r < 0 && r != -EINVAL) {
    return Fail(Step::kCapabilities, static_cast<int>(-r), "prctl", "PR_CAP_AMBIENT_CLEAR_ALL");
  }
  // Up to the kernel's last capability, whatever cap_last_cap says: EINVAL
  // means the kernel knows no capability of that number, nor of any higher
  // one (capabilities are numbered without gaps). cap_last_cap only makes
  // sure that the loop got that far.
  int cap = 0;
  for (; cap <= 63; ++cap) {
    long r = Prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap));
    if (r == -EINVAL) break;
    if (r < 0) return Fail(Step::kCapabilities, static_cast<int>(-r), "prctl", "PR_CAPBSET_DROP");
  }
  if (cap <= cap_last_cap && cap <= CAP_LAST_CAP) {
    // The kernel refused a capability that it and we both know: not the end.
    return Fail(Step::kCapabilities, EINVAL, "prctl", "PR_CAPBSET_DROP");
  }
  // Locked securebits: root gets no capabilities from exec, setuid does not
  // touch the capability sets (we clear them ourselves right after), and
  // nothing can raise ambient capabilities again.
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                             SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (long r = Prctl(PR_SET_SECUREBITS, bits); r < 0) {
    return Fail(Step::kSecurebits, static_cast<int>(-r), "prctl", "PR_SET_SECUREBITS");
  }
  return {};
}

launch::ChildError ChildClearCapabilitySets(int keep) {
  struct __user_cap_header_struct header;
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  std::memset(&header, 0, sizeof header);
  std::memset(data, 0, sizeof data);
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  if (keep >= 0 && keep < 64) {
    data[keep / 32].effective = data[keep / 32].permitted = 1u << (keep % 32);
  }
  if (long r = base::sys::Raw(SYS_capset, base::sys::L(&header), base::sys::L(&data[0])); r < 0) {
    return Fail(Step::kCapabilities, static_cast<int>(-r), "capset");
  }
  return {};
}

}  // namespace warden::caps
