#include "cli/result_out.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>


namespace warden::cli {
namespace {

// fd N for --result-fd: 3 or above, open for writing; made close-on-exec.
Status CheckResultFd(int fd) {
  const std::string what = "--result-fd " + std::to_string(fd);
  if (fd <= STDERR_FILENO) {
    return Status::Error(Code::kInvalidArgument,
                         what + ": 0, 1 and 2 are the job's; use 3 or above (3>result.json)");
  }
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) {
    return Status::Error(Code::kInvalidArgument,
                         what + ": fd " + std::to_string(fd) + " is not open (" +
                             std::strerror(errno) + "); open it for warden, e.g. " +
                             std::to_string(fd) + ">result.json");
  }
  if ((fl & O_ACCMODE) == O_RDONLY) {
    return Status::Error(Code::kInvalidArgument,
                         what + ": fd " + std::to_string(fd) + " is open for reading only");
  }
  // The job must never hold the result's stream: it could write a result
  // of its own there.
  int fdf = ::fcntl(fd, F_GETFD);
  if (fdf < 0 || ::fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) != 0) {
    return Status::FromErrno(errno, "fcntl(" + std::to_string(fd) + ", F_SETFD, FD_CLOEXEC)");
  }
  return Status::Ok();
}

}  // namespace

Status ResultOut::Open(const std::string& file, int fd, bool stdout_captured) {
  // Each target is checked on its own, so that one that is wrong does not
  // keep a setup error from the others.
  Status first = Status::Ok();
  if (file == "-" && !stdout_captured) {
    first = Status::Error(Code::kInvalidArgument,
                          "--result - would put the result on the job's own stdout, where "
                          "nothing can tell them apart; use --result-fd 3 (with 3>result.json "
                          "or a pipe), --result FILE, or --output-dir DIR for the job's output");
  } else if (file == "-") {
    to_stdout_ = true;
  } else if (!file.empty()) {
    // Checked now, before the job runs, and written through the directory
    // opened now (warden/result_file.h).
    Result<ResultFile> opened = ResultFile::Open(file);
    if (opened.ok()) {
      file_.emplace(std::move(opened).value());
    } else {
      first = Status::Error(opened.status().code(), "--result " + file + ": " + opened.status().ToString());
    }
  }
  if (fd >= 0) {
    Status st = CheckResultFd(fd);
    if (st.ok()) {
      fd_ = fd;
    } else if (first.ok()) {
      first = st;
    }
  }
  return first;
}

Status ResultOut::Write(const JobResult& result) const {
  Status first = Status::Ok();
  if (to_stdout_) {
    std::fflush(stdout);
    first = WriteResultToFd(STDOUT_FILENO, result, "result to stdout");
  } else if (file_) {
    first = file_->Write(result);
  }
  if (fd_ >= 0) {
    Status st = WriteResultToFd(fd_, result, "--result-fd " + std::to_string(fd_));
    if (first.ok()) first = st;
  }
  return first;
}

ResultArgs ScanResultArgs(int argc, char** argv) {
  ResultArgs out;
  auto number = [](const char* s) {
    int v = -1;
    const char* end = s + std::strlen(s);
    auto [p, ec] = std::from_chars(s, end, v);
    return ec == std::errc() && p == end && v >= 0 ? v : -1;
  };
  // The options end at "--". Scanning past the program for a script's own
  // arguments is possible only when the options could not be parsed, and
  // then what is named is still what the caller asked for the result.
  for (int i = 1; i < argc && argv[i] != nullptr; ++i) {
    const char* a = argv[i];
    if (std::strcmp(a, "--") == 0) break;
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (std::strcmp(a, "--result") == 0 && next) {
      out.file = next;
      ++i;
    } else if (std::strncmp(a, "--result=", 9) == 0) {
      out.file = a + 9;
    } else if (std::strcmp(a, "--result-fd") == 0 && next) {
      out.fd = number(next);
      ++i;
    } else if (std::strncmp(a, "--result-fd=", 12) == 0) {
      out.fd = number(a + 12);
    } else if (std::strcmp(a, "--output-dir") == 0 || std::strncmp(a, "--output-dir=", 13) == 0) {
      out.output_dir = true;
    }
  }
  return out;
}

JobResult SetupErrorResult(const std::string& error, const std::string& job_id,
                           const std::string& policy_name, const std::string& policy_hash) {
  JobResult r;
  r.status = JobStatus::kSetupError;
  r.exit_code = 125;
  r.error = error;
  r.job_id = job_id;
  r.policy_name = policy_name;
  r.policy_hash = policy_hash;
  return r;
}

}  // namespace warden::cli
