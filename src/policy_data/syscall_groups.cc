#include "policy_data/syscall_groups.h"

#include <seccomp.h>

#include <array>

namespace warden::policy {
namespace {

using std::string_view_literals::operator""sv;

// systemd's groups of the same name, cut down to what exists on x86_64.
constexpr std::array kMount = {
    "chroot"sv,  "fsconfig"sv,   "fsmount"sv,       "fsopen"sv,  "fspick"sv, "mount"sv,
    "mount_setattr"sv, "move_mount"sv, "open_tree"sv, "pivot_root"sv, "umount2"sv,
};
constexpr std::array kModule = {
    "create_module"sv, "delete_module"sv, "finit_module"sv,
    "get_kernel_syms"sv, "init_module"sv, "query_module"sv,
};
constexpr std::array kReboot = {"kexec_file_load"sv, "kexec_load"sv, "reboot"sv};
constexpr std::array kSwap = {"swapoff"sv, "swapon"sv};
constexpr std::array kRawIo = {"ioperm"sv, "iopl"sv};
constexpr std::array kClock = {"adjtimex"sv, "clock_adjtime"sv, "clock_settime"sv,
                               "settimeofday"sv};
constexpr std::array kCpuEmulation = {"modify_ldt"sv};
constexpr std::array kDebug = {
    "kcmp"sv, "lookup_dcookie"sv, "perf_event_open"sv, "pidfd_getfd"sv,
    "process_vm_readv"sv, "process_vm_writev"sv, "ptrace"sv,
};
constexpr std::array kKeyring = {"add_key"sv, "keyctl"sv, "request_key"sv};
constexpr std::array kObsolete = {
    "_sysctl"sv, "afs_syscall"sv, "create_module"sv, "get_kernel_syms"sv, "getpmsg"sv,
    "putpmsg"sv, "query_module"sv, "security"sv,     "sysfs"sv,           "tuxcall"sv,
    "uselib"sv,  "ustat"sv,       "vserver"sv,
};
// Not in systemd: io_uring bypasses per-syscall filtering (its operations
// never pass through seccomp), so sandboxes deny it as a whole.
constexpr std::array kIoUring = {"io_uring_enter"sv, "io_uring_register"sv,
                                 "io_uring_setup"sv};
// Not in systemd: entering or creating namespaces. clone/clone3 are handled
// by argument rules, since plain fork() and threads need them.
constexpr std::array kNamespaces = {"setns"sv, "unshare"sv};
// Not in systemd: NUMA memory policy, which Docker gates behind CAP_SYS_NICE.
constexpr std::array kNuma = {"get_mempolicy"sv, "mbind"sv, "migrate_pages"sv,
                              "move_pages"sv, "set_mempolicy"sv,
                              "set_mempolicy_home_node"sv};
// warden's @privileged is narrower than systemd's: calls that need a
// capability a job never holds, or that reach host-wide state. It leaves the
// setuid family alone, since programs call setuid(getuid()) harmlessly.
constexpr std::array kPrivileged = {
    "acct"sv,          "bpf"sv,           "fanotify_init"sv, "name_to_handle_at"sv,
    "nfsservctl"sv,    "open_by_handle_at"sv, "quotactl"sv,  "quotactl_fd"sv,
    "setdomainname"sv, "sethostname"sv,   "syslog"sv,        "userfaultfd"sv,
    "vhangup"sv,
};

constexpr std::array kGroups = {
    SyscallGroup{"@clock", "change the system clock", kClock},
    SyscallGroup{"@cpu-emulation", "x86 LDT and vm86 emulation", kCpuEmulation},
    SyscallGroup{"@debug", "ptrace, perf and reading other processes' memory", kDebug},
    SyscallGroup{"@io-uring", "io_uring rings, which seccomp cannot filter", kIoUring},
    SyscallGroup{"@keyring", "kernel keyrings", kKeyring},
    SyscallGroup{"@module", "load and unload kernel modules", kModule},
    SyscallGroup{"@mount", "mount, unmount, pivot_root, chroot, new mount API", kMount},
    SyscallGroup{"@namespaces", "unshare and setns", kNamespaces},
    SyscallGroup{"@numa", "NUMA memory policy", kNuma},
    SyscallGroup{"@obsolete", "unused or unimplemented legacy calls", kObsolete},
    SyscallGroup{"@privileged", "calls that need capabilities a job never holds",
                 kPrivileged},
    SyscallGroup{"@raw-io", "raw I/O port access", kRawIo},
    SyscallGroup{"@reboot", "reboot and kexec", kReboot},
    SyscallGroup{"@swap", "enable and disable swap", kSwap},
};

}  // namespace

std::span<const SyscallGroup> AllSyscallGroups() { return kGroups; }

const SyscallGroup* FindSyscallGroup(std::string_view name) {
  for (const SyscallGroup& g : kGroups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::string SyscallGroupNames() {
  std::string out;
  for (const SyscallGroup& g : kGroups) {
    if (!out.empty()) out += ", ";
    out += g.name;
  }
  return out;
}

int SyscallNumber(std::string_view name) {
  if (name.empty() || name.size() > 64) return -1;
  std::string n(name);
  int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, n.c_str());
  return nr >= 0 ? nr : -1;
}

Result<ExpandedSyscalls> ExpandDenyAllow(const std::vector<std::string>& deny,
                                         const std::vector<std::string>& allow) {
  auto expand = [](const std::vector<std::string>& in, std::set<std::string>* out) -> Status {
    for (const std::string& name : in) {
      if (const SyscallGroup* g = FindSyscallGroup(name)) {
        for (std::string_view s : g->syscalls) out->insert(std::string(s));
      } else if (SyscallNumber(name) >= 0) {
        out->insert(name);
      } else {
        return Status::Error(Code::kInvalidArgument,
                             "unknown syscall or group \"" + name.substr(0, 64) + "\"");
      }
    }
    return Status::Ok();
  };
  ExpandedSyscalls out;
  WARDEN_RETURN_IF_ERROR(expand(deny, &out.deny));
  WARDEN_RETURN_IF_ERROR(expand(allow, &out.allow));
  for (const std::string& a : out.allow) out.deny.erase(a);
  return out;
}

}  // namespace warden::policy
