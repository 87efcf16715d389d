// Writing a job's result where the caller asked for it (warden/result_file.h).
#include "warden/result_file.h"

#include <unistd.h>

#include <utility>

#include "base/fd.h"
#include "base/file.h"
#include "base/safe_open.h"

namespace warden {

ResultFile::ResultFile(int dir_fd, std::string name, std::string path)
    : dir_fd_(dir_fd), name_(std::move(name)), path_(std::move(path)) {}

ResultFile::ResultFile(ResultFile&& other) noexcept
    : dir_fd_(std::exchange(other.dir_fd_, -1)),
      name_(std::move(other.name_)),
      path_(std::move(other.path_)) {}

ResultFile& ResultFile::operator=(ResultFile&& other) noexcept {
  if (this != &other) {
    if (dir_fd_ >= 0) ::close(dir_fd_);
    dir_fd_ = std::exchange(other.dir_fd_, -1);
    name_ = std::move(other.name_);
    path_ = std::move(other.path_);
  }
  return *this;
}

ResultFile::~ResultFile() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

Result<ResultFile> ResultFile::Open(const std::string& path) {
  // The directory is opened and the target checked before the job runs:
  // the job may share that directory and plant a symlink, FIFO or device
  // there, and a target that cannot be written must stop the run before
  // it starts, not after.
  const base::PathParts parts = base::SplitPath(path);
  WARDEN_ASSIGN_OR_RETURN(base::UniqueFd dir, base::OpenDirNoFollow(parts.dir));
  WARDEN_RETURN_IF_ERROR(base::CheckReplaceableFile(dir.get(), parts.name, path));
  return ResultFile(dir.release(), parts.name, path);
}

Status ResultFile::Write(const JobResult& result) const {
  if (dir_fd_ < 0) {
    return Status::Error(Code::kFailedPrecondition,
                         "result file " + path_ + ": not open (moved from); open it again");
  }
  // A fresh temp file in the directory opened before the run (O_EXCL,
  // O_NOFOLLOW), renamed over the target: renameat replaces whatever the
  // job planted at the name since, and never follows it.
  return base::ReplaceFileAt(dir_fd_, name_, JobResultToJson(result), 0644, path_);
}

Status WriteResultToFd(int fd, const JobResult& result, const std::string& what) {
  const std::string json = JobResultToJson(result);
  return base::WriteAll(fd, json.data(), json.size(), what.c_str());
}

}  // namespace warden
