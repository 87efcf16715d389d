#include "proto/child_util.h"

#include <cerrno>

#include "base/raw_syscall.h"

namespace warden::launch {

size_t CopyStr(char* dst, size_t cap, const char* src) { return AppendStr(dst, cap, 0, src); }

size_t AppendStr(char* dst, size_t cap, size_t len, const char* src) {
  if (cap == 0) return 0;
  while (src && *src && len + 1 < cap) dst[len++] = *src++;
  dst[len] = '\0';
  return len;
}

const char* FdPath(char* buf, size_t cap, int fd) {
  char digits[16];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v && n < 15);
  size_t len = CopyStr(buf, cap, "/proc/self/fd/");
  while (n > 0 && len + 1 < cap) buf[len++] = digits[--n];
  buf[len] = '\0';
  return buf;
}

void SendReport(int fd, const Report& report) {
  if (fd < 0) return;
  long r;
  do {
    r = base::sys::Write(fd, &report, sizeof report);
  } while (r == -EINTR);
}

void SendError(int fd, Report::Kind kind, const ChildError& e) {
  Report r;
  r.kind = kind;
  r.step = e.step;
  r.err = e.err;
  CopyStr(r.call, sizeof r.call, e.call);
  CopyStr(r.detail, sizeof r.detail, e.detail);
  SendReport(fd, r);
}

}  // namespace warden::launch
