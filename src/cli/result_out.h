// Where `warden run` sends its outcome as JSON: --result FILE (written
// through the directory opened before the run, by rename), --result-fd N
// (a stream of its own that the job never holds), or --result - (stdout,
// only when the job's own stdout goes to --output-dir).
#ifndef WARDEN_CLI_RESULT_OUT_H_
#define WARDEN_CLI_RESULT_OUT_H_

#include <optional>
#include <string>

#include "warden/job.h"
#include "warden/result_file.h"
#include "warden/status.h"

namespace warden::cli {

class ResultOut {
 public:
  // Checks every target before anything runs: FILE's directory is opened
  // (no symlink followed) and FILE must be absent or a regular file; fd N
  // (>= 3) must be open for writing, and is made close-on-exec so that no
  // process warden starts inherits it; "-" needs `stdout_captured`. Errors
  // name the option and say what to do. The targets that passed are kept
  // when another fails (the first error is returned), so that the refusal
  // itself can still be written to them.
  Status Open(const std::string& file, int fd, bool stdout_captured);

  // Writes `result` to every target; the first error.
  Status Write(const JobResult& result) const;

  bool empty() const { return !to_stdout_ && !file_ && fd_ < 0; }

 private:
  bool to_stdout_ = false;           // --result -
  std::optional<ResultFile> file_;   // --result FILE
  int fd_ = -1;                      // not owned: the caller's
};

// What argv says about the result's targets, found without parsing the
// options, for when parsing them failed: the values of --result and
// --result-fd (and whether --output-dir is there) before "--". -1 for no fd;
// an fd that is not a number is -1 too.
struct ResultArgs {
  std::string file;
  int fd = -1;
  bool output_dir = false;
};
ResultArgs ScanResultArgs(int argc, char** argv);

// The outcome of a run that warden refused before starting anything:
// status JobStatus::kSetupError, exit code 125, `error`.
JobResult SetupErrorResult(const std::string& error, const std::string& job_id,
                           const std::string& policy_name, const std::string& policy_hash);

}  // namespace warden::cli

#endif  // WARDEN_CLI_RESULT_OUT_H_
