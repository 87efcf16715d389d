// System calls that return -errno and never touch errno.
//
// The sandbox's first process (init) shares warden's memory (CLONE_VM, see
// launch/launcher.cc), and so does the job until its exec. glibc keeps errno
// in thread-local storage, which those processes share with warden: a
// wrapper failing in one of them would change errno under warden's feet, and
// the other way round. Code that runs there makes its system calls through
// these functions only, and reads a failure's reason from the return value.
#ifndef WARDEN_BASE_RAW_SYSCALL_H_
#define WARDEN_BASE_RAW_SYSCALL_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <cstdint>
#include <type_traits>

namespace warden::base::sys {

#if defined(__x86_64__)
inline long Raw(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
inline long Raw(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}
#else
#error "base/raw_syscall.h: add this architecture's system call convention"
#endif

// An argument as the long the kernel takes.
template <typename T>
inline long L(T v) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<long>(v);
  } else {
    return static_cast<long>(v);
  }
}

// The kernel's signal set is 64 bits; glibc's sigset_t starts with it.
inline constexpr long kSigsetBytes = 8;

inline long Read(int fd, void* buf, size_t n) { return Raw(SYS_read, fd, L(buf), L(n)); }
inline long Write(int fd, const void* buf, size_t n) { return Raw(SYS_write, fd, L(buf), L(n)); }
inline long Close(int fd) { return Raw(SYS_close, fd); }
inline long Openat(int dirfd, const char* path, int flags, unsigned mode = 0) {
  return Raw(SYS_openat, dirfd, L(path), flags, mode);
}
inline long Open(const char* path, int flags, unsigned mode = 0) {
  return Openat(AT_FDCWD, path, flags, mode);
}
inline long Mkdirat(int dirfd, const char* path, unsigned mode) {
  return Raw(SYS_mkdirat, dirfd, L(path), mode);
}
inline long Symlinkat(const char* target, int dirfd, const char* path) {
  return Raw(SYS_symlinkat, L(target), dirfd, L(path));
}
inline long Fstat(int fd, struct stat* st) { return Raw(SYS_fstat, fd, L(st)); }
inline long FcntlInt(int fd, int cmd, long arg) { return Raw(SYS_fcntl, fd, cmd, arg); }
// dup2(2) on top of dup3, which every architecture has (dup3 refuses
// from == to, which dup2 accepts as a check that the fd is open).
inline long Dup2(int from, int to) {
  if (from == to) {
    long r = FcntlInt(from, 1 /* F_GETFD */, 0);
    return r < 0 ? r : to;
  }
  return Raw(SYS_dup3, from, to, 0);
}
inline long Pipe2(int fds[2], int flags) { return Raw(SYS_pipe2, L(fds), flags); }
inline long Chdir(const char* path) { return Raw(SYS_chdir, L(path)); }
inline long Fchdir(int fd) { return Raw(SYS_fchdir, fd); }
inline long Mount(const char* src, const char* dst, const char* type, unsigned long flags,
                  const void* data) {
  return Raw(SYS_mount, L(src), L(dst), L(type), L(flags), L(data));
}
inline long Umount2(const char* path, int flags) { return Raw(SYS_umount2, L(path), flags); }
inline long Prctl(int op, unsigned long a = 0, unsigned long b = 0, unsigned long c = 0,
                  unsigned long d = 0) {
  return Raw(SYS_prctl, op, L(a), L(b), L(c), L(d));
}
inline long Setresuid(uid_t r, uid_t e, uid_t s) { return Raw(SYS_setresuid, r, e, s); }
inline long Setresgid(gid_t r, gid_t e, gid_t s) { return Raw(SYS_setresgid, r, e, s); }
inline long Setgroups(size_t n, const gid_t* groups) { return Raw(SYS_setgroups, L(n), L(groups)); }
inline long Setsid() { return Raw(SYS_setsid); }
inline long Kill(pid_t pid, int sig) { return Raw(SYS_kill, pid, sig); }
inline long Sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  return Raw(SYS_rt_sigprocmask, how, L(set), L(old), kSigsetBytes);
}
inline long Sigwaitinfo(const sigset_t* set, siginfo_t* info) {
  return Raw(SYS_rt_sigtimedwait, L(set), L(info), 0, kSigsetBytes);
}
// Sets `sig` back to its default action.
inline long SignalDefault(int sig) {
  struct {
    unsigned long handler, flags, restorer, mask;
  } act = {0 /* SIG_DFL */, 0, 0, 0};
  return Raw(SYS_rt_sigaction, sig, L(&act), 0, kSigsetBytes);
}
inline long Wait4(pid_t pid, int* status, int options) {
  return Raw(SYS_wait4, pid, L(status), options, 0);
}
inline long Ptrace(long request, pid_t pid, void* addr, void* data) {
  return Raw(SYS_ptrace, request, pid, L(addr), L(data));
}
inline long Getrusage(int who, struct rusage* ru) { return Raw(SYS_getrusage, who, L(ru)); }
inline long Socket(int domain, int type, int protocol) {
  return Raw(SYS_socket, domain, type, protocol);
}
inline long Ioctl(int fd, unsigned long req, void* arg) { return Raw(SYS_ioctl, fd, L(req), L(arg)); }
inline long Sethostname(const char* name, size_t len) { return Raw(SYS_sethostname, L(name), L(len)); }
inline long Unshare(int flags) { return Raw(SYS_unshare, flags); }
inline long Setrlimit(int resource, const struct rlimit* lim) {
  return Raw(SYS_prlimit64, 0, resource, L(lim), 0);
}
inline long Execve(const char* path, char* const* argv, char* const* envp) {
  return Raw(SYS_execve, L(path), L(argv), L(envp));
}
inline long Mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return Raw(SYS_mmap, L(addr), L(len), prot, flags, fd, L(off));
}
inline long Munmap(void* addr, size_t len) { return Raw(SYS_munmap, L(addr), L(len)); }
// fork(2) without glibc's atfork handlers: the child gets a copy of the
// memory and continues here with 0.
inline long Fork() { return Raw(SYS_clone, SIGCHLD, 0, 0, 0, 0); }
[[noreturn]] inline void ExitGroup(int code) {
  for (;;) Raw(SYS_exit_group, code);
}

}  // namespace warden::base::sys

#endif  // WARDEN_BASE_RAW_SYSCALL_H_
