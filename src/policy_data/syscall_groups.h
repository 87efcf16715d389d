// Named syscall groups in the style of systemd's SystemCallFilter= ("@mount",
// "@keyring", ...). Policies deny groups and single syscalls; the loader
// expands groups into x86_64 syscall names before anything is compiled.
//
// The tables hold only names that exist on x86_64 (a unit test resolves every
// one with libseccomp), so an expanded list never names a foreign syscall.
#ifndef WARDEN_POLICY_DATA_SYSCALL_GROUPS_H_
#define WARDEN_POLICY_DATA_SYSCALL_GROUPS_H_

#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "warden/status.h"

namespace warden::policy {

struct SyscallGroup {
  std::string_view name;         // "@mount"
  std::string_view description;  // one line for docs and error messages
  std::span<const std::string_view> syscalls;
};

// Every group, in a stable order.
std::span<const SyscallGroup> AllSyscallGroups();

// The group called `name` ("@mount"), or nullptr.
const SyscallGroup* FindSyscallGroup(std::string_view name);

// "@clock, @cpu-emulation, ..." for error messages.
std::string SyscallGroupNames();

// The x86_64 number of a syscall name, or -1 when libseccomp does not know it
// for x86_64.
int SyscallNumber(std::string_view name);

// Seccomp deny and allow lists with their groups expanded, sorted.
struct ExpandedSyscalls {
  std::set<std::string> deny;   // expanded deny, less every expanded allow name
  std::set<std::string> allow;  // expanded allow
};

// Expands groups ("@mount") in `deny` and `allow` and removes the allowed
// names from the denied ones. Errors: kInvalidArgument for an entry that is
// neither a group nor an x86_64 syscall name.
Result<ExpandedSyscalls> ExpandDenyAllow(const std::vector<std::string>& deny,
                                         const std::vector<std::string>& allow);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_DATA_SYSCALL_GROUPS_H_
