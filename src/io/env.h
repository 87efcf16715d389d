// Env: the seam through which all WAL and commit I/O goes (as in LevelDB).
//
// PosixEnv() is the real file system; FaultEnv (io/fault_env.h) wraps it to
// inject errors and simulated crashes in tests. The synchronous calls are
// plain blocking syscalls. The two asynchronous calls complete on a Loop:
// PosixEnv runs them as io_uring chains (or plain syscalls on the plain
// backend); other Envs run the synchronous calls and post the callback, so
// their faults apply on both loop backends.
//
// Thread safety: PosixEnv is thread-safe; FaultEnv is not. Files are used by
// one thread at a time.
#ifndef WARDEN_IO_ENV_H_
#define WARDEN_IO_ENV_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/fd.h"
#include "io/loop.h"
#include "warden/status.h"

namespace warden::io {

// An open file. Owns its descriptor.
class File {
 public:
  File(base::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  base::UniqueFd fd_;
  std::string path_;
};

enum OpenFlags : int {
  kOpenRead = 0,          // read-only
  kOpenWrite = 1 << 0,    // read-write
  kOpenCreate = 1 << 1,   // create when missing (mode 0644)
  kOpenExclusive = 1 << 2,  // with kOpenCreate: fail with EEXIST when present
  kOpenTruncate = 1 << 3,
};

class Env {
 public:
  virtual ~Env() = default;

  virtual Result<std::unique_ptr<File>> Open(const std::string& path, int flags) = 0;
  // One pread; returns fewer bytes than asked only at end of file.
  virtual Result<size_t> Read(File& file, void* buf, size_t len, uint64_t offset) = 0;
  // Writes all of buf at offset, continuing short writes.
  virtual Status Write(File& file, const void* buf, size_t len, uint64_t offset) = 0;
  // fdatasync (data_only) or fsync. An error is final: the caller must not
  // retry, since the kernel may have dropped the dirty pages already.
  virtual Status Sync(File& file, bool data_only) = 0;
  // Extends the file to len bytes that read as zeros (fallocate, or written
  // zeros where fallocate is unsupported).
  virtual Status Allocate(File& file, uint64_t len) = 0;
  virtual Status Truncate(File& file, uint64_t len) = 0;
  virtual Result<uint64_t> Size(File& file) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;
  // fsync of a directory: makes creates, renames and removes in it durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Creates dir (mode 0755); ok when it exists.
  virtual Status CreateDir(const std::string& dir) = 0;
  // Names in dir, without "." and "..", unsorted. At most 1,000,000 entries.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;

  // Writes buf at offset and makes it durable with fdatasync; cb runs on the
  // loop. On io_uring (PosixEnv) the write and fdatasync are linked SQEs.
  virtual void WriteAndSync(Loop& loop, File& file, const void* buf, size_t len,
                            uint64_t offset, StatusCallback cb);
  // Atomically replaces dir/name with data: temp file, fdatasync, rename,
  // fsync(dir). Prefer store::CommitFile, which calls this.
  virtual void CommitFile(Loop& loop, const std::string& dir, const std::string& name,
                          std::string data, StatusCallback cb);
  // The same, blocking, through the synchronous calls of this Env.
  Status CommitFileSync(const std::string& dir, const std::string& name, const std::string& data);

  // CreateDir, then fsync of its parent, so that the new directory's entry
  // is durable before anything in it is. The parent is synced every time:
  // a crash between an earlier mkdir and its fsync leaves a directory that
  // exists now and may vanish at the next power loss.
  Status CreateDirDurable(const std::string& dir);
  // Reads a whole file of at most max_bytes.
  Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes);
  // Writes zeros over [from, to), one Write per MiB.
  Status WriteZeros(File& file, uint64_t from, uint64_t to);
};

// The process-wide real file system Env. Never destroyed.
Env* PosixEnv();

// Temp files of interrupted commits end in this suffix; store::Open removes
// them. Name: "<final>.<pid>-<n>.wtmp".
inline constexpr const char kTempSuffix[] = ".wtmp";
std::string TempNameFor(const std::string& final_name);
// True when name ends in kTempSuffix (and is more than the suffix).
bool IsTempName(const std::string& name);

}  // namespace warden::io

#endif  // WARDEN_IO_ENV_H_
