// Status and Result<T>: how every fallible warden call reports failure.
//
// A Status carries a code, the errno that caused it (0 when none) and a
// context chain. Errors are created where the syscall is made, naming the call
// and its argument, and wrapped with more context as they travel up:
//   "start job: build root: mount("/proc" -> "/newroot/proc"): EPERM"
// Status values are cheap to move and safe to copy; they are not thread-bound.
#ifndef WARDEN_STATUS_H_
#define WARDEN_STATUS_H_

#include <string>
#include <utility>
#include <variant>

#include "warden/export.h"

namespace warden {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // bad input: policy, flags, API message
  kNotFound,           // a named thing does not exist
  kPermissionDenied,   // missing privilege
  kUnavailable,        // a kernel feature or limit cannot be applied here
  kFailedPrecondition, // the system is not in the state the call needs
  kCorruption,         // durable state failed a check
  kIoError,            // I/O failed (EIO, ENOSPC, fsync errors)
  kResourceExhausted,  // a warden limit was hit
  kInternal,           // a bug: an invariant did not hold
};

WARDEN_EXPORT const char* CodeName(Code code);

class [[nodiscard]] WARDEN_EXPORT Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(Code code, std::string message) {
    return Status(code, 0, std::move(message));
  }
  // Builds an error from an errno value; the code is derived from it.
  // `what` names the call and its argument: "mount(\"/proc\")".
  static Status FromErrno(int err, std::string what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int err() const { return errno_; }
  const std::string& message() const { return message_; }

  // Prefixes context: "context: message". Returns *this for chaining.
  Status& Wrap(const std::string& context) &;
  Status&& Wrap(const std::string& context) &&;

  std::string ToString() const;

 private:
  Status(Code code, int err, std::string message)
      : code_(code), errno_(err), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

// Result<T> holds either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  Status take_status() { return ok() ? Status::Ok() : std::move(std::get<Status>(v_)); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace warden

// Returns early with the status when it is not ok.
#define WARDEN_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::warden::Status _st = (expr);            \
    if (!_st.ok()) return _st;                \
  } while (0)

#define WARDEN_CONCAT_INNER_(a, b) a##b
#define WARDEN_CONCAT_(a, b) WARDEN_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result, returning its status when it is an error.
#define WARDEN_ASSIGN_OR_RETURN(lhs, expr) \
  WARDEN_ASSIGN_OR_RETURN_IMPL_(WARDEN_CONCAT_(_res_, __LINE__), lhs, expr)
#define WARDEN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.take_status();            \
  lhs = std::move(tmp).value()

#endif  // WARDEN_STATUS_H_
