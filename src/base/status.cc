#include "warden/status.h"

#include "base/errno_text.h"

#include <cerrno>
#include <cstring>

namespace warden {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kUnavailable: return "unavailable";
    case Code::kFailedPrecondition: return "failed precondition";
    case Code::kCorruption: return "corruption";
    case Code::kIoError: return "I/O error";
    case Code::kResourceExhausted: return "resource exhausted";
    case Code::kInternal: return "internal error";
  }
  return "unknown";
}

namespace base {

std::string ErrnoText(int err) {
  const char* name = strerrorname_np(err);
  return std::string(name ? name : std::to_string(err)) + " (" + std::strerror(err) + ")";
}

}  // namespace base

Status Status::FromErrno(int err, std::string what) {
  Code code = Code::kInternal;
  switch (err) {
    case ENOENT: code = Code::kNotFound; break;
    case EPERM: case EACCES: code = Code::kPermissionDenied; break;
    case EINVAL: case E2BIG: case ENAMETOOLONG: code = Code::kInvalidArgument; break;
    case ENOSYS: case EOPNOTSUPP: case ENODEV: code = Code::kUnavailable; break;
    case EIO: case ENOSPC: case EDQUOT: case EROFS: code = Code::kIoError; break;
    case ENOMEM: case EMFILE: case ENFILE: case EAGAIN: code = Code::kResourceExhausted; break;
    case EEXIST: case EBUSY: case ENOTEMPTY: code = Code::kFailedPrecondition; break;
    default: code = Code::kIoError; break;
  }
  return Status(code, err, what + ": " + base::ErrnoText(err));
}

Status& Status::Wrap(const std::string& context) & {
  if (!ok()) message_ = context + ": " + message_;
  return *this;
}

Status&& Status::Wrap(const std::string& context) && {
  if (!ok()) message_ = context + ": " + message_;
  return std::move(*this);
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

}  // namespace warden
