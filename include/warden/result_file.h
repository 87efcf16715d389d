// Writing a job's result (JobResultToJson) where the caller asked for it,
// safely for a caller that runs as root while the job may write to the
// target's directory: `warden run --result FILE` and `--result-fd N`.
#ifndef WARDEN_RESULT_FILE_H_
#define WARDEN_RESULT_FILE_H_

#include <string>

#include "warden/export.h"
#include "warden/job.h"
#include "warden/status.h"

namespace warden {

// A result file, checked before the job runs and written after it.
// Movable, not copyable; owns one directory fd (close-on-exec), closed by
// the destructor. Not thread-safe: one thread at a time per object.
class WARDEN_EXPORT ResultFile {
 public:
  // Opens the directory of `path` (a symlink on the way is refused, never
  // followed) and checks that `path` is absent or a regular file, so that a
  // target that cannot be written stops the run before it starts. Errors
  // name the path and say what is wrong (a symlink, a FIFO or device at
  // the name, a missing directory).
  static Result<ResultFile> Open(const std::string& path);

  ResultFile(ResultFile&& other) noexcept;
  ResultFile& operator=(ResultFile&& other) noexcept;
  ResultFile(const ResultFile&) = delete;
  ResultFile& operator=(const ResultFile&) = delete;
  ~ResultFile();

  // Writes `result` as JSON, mode 0644: a new file (O_EXCL, O_NOFOLLOW) in
  // the directory opened by Open, renamed over the target, so that whatever
  // a job planted at the name since Open is replaced, never followed or
  // written through. May be called again: the last write wins.
  Status Write(const JobResult& result) const;

 private:
  ResultFile(int dir_fd, std::string name, std::string path);
  int dir_fd_ = -1;
  std::string name_;  // the file's name in that directory
  std::string path_;  // as the caller gave it, for messages
};

// Writes `result` as JSON to `fd`, all of it (short writes and EINTR
// retried); `what` names the target in errors ("--result-fd 3"). The fd
// stays open and the caller's.
WARDEN_EXPORT Status WriteResultToFd(int fd, const JobResult& result, const std::string& what);

}  // namespace warden

#endif  // WARDEN_RESULT_FILE_H_
