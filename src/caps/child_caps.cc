#include "caps/child_caps.h"

#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace warden::caps {

using launch::Fail;
using launch::Step;

launch::ChildError ChildLockCapabilities(int cap_last_cap) {
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    return Fail(Step::kCapabilities, errno, "PR_CAP_AMBIENT_CLEAR_ALL");
  }
  for (int cap = 0; cap <= cap_last_cap; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
      return Fail(Step::kCapabilities, errno, "PR_CAPBSET_DROP");
    }
  }
  // Locked securebits: root gets no capabilities from exec, setuid does not
  // touch the capability sets (we clear them ourselves right after), and
  // nothing can raise ambient capabilities again.
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                             SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0) {
    return Fail(Step::kSecurebits, errno, "PR_SET_SECUREBITS");
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
  if (::syscall(SYS_capset, &header, data) < 0) return Fail(Step::kCapabilities, errno, "capset");
  return {};
}

}  // namespace warden::caps
