#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.h"

namespace warden::base {

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd(RetryEintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + path + "\")");
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = RetryEintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return Status::FromErrno(errno, "read(\"" + path + "\")");
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return Status::Error(Code::kResourceExhausted,
                           "read(\"" + path + "\"): file is larger than " +
                               std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteAll(int fd, const void* data, size_t len, const char* what) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = RetryEintr([&] { return ::write(fd, p, len); });
    if (n < 0) return Status::FromErrno(errno, std::string("write(") + what + ")");
    p += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteFileString(const std::string& path, const std::string& data) {
  UniqueFd fd(RetryEintr([&] { return ::open(path.c_str(), O_WRONLY | O_CLOEXEC); }));
  if (!fd) return Status::FromErrno(errno, "open(\"" + path + "\")");
  ssize_t n = RetryEintr([&] { return ::write(fd.get(), data.data(), data.size()); });
  if (n < 0) return Status::FromErrno(errno, "write(\"" + path + "\", \"" + data + "\")");
  return Status::Ok();
}

Status MkdirIfMissing(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Status::Ok();
  return Status::FromErrno(errno, "mkdir(\"" + path + "\")");
}

Status MakeDirs(const std::string& path, mode_t mode) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    WARDEN_RETURN_IF_ERROR(MkdirIfMissing(path.substr(0, pos), mode));
  }
  return MkdirIfMissing(path, mode);
}

}  // namespace warden::base
