#include "io/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "base/fault.h"
#include "base/file.h"

namespace warden::io {

std::string TempNameFor(const std::string& final_name) {
  static std::atomic<uint64_t> counter{0};
  return final_name + "." + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1)) + kTempSuffix;
}

bool IsTempName(const std::string& name) {
  const size_t n = sizeof kTempSuffix - 1;
  return name.size() > n && name.compare(name.size() - n, n, kTempSuffix) == 0;
}

void Env::WriteAndSync(Loop& loop, File& file, const void* buf, size_t len, uint64_t offset,
                       StatusCallback cb) {
  Status st = Write(file, buf, len, offset);
  if (st.ok()) st = Sync(file, /*data_only=*/true);
  loop.Post([cb = std::move(cb), st = std::move(st)]() mutable { cb(std::move(st)); });
}

void Env::CommitFile(Loop& loop, const std::string& dir, const std::string& name,
                     std::string data, StatusCallback cb) {
  Status st = CommitFileSync(dir, name, data);
  loop.Post([cb = std::move(cb), st = std::move(st)]() mutable { cb(std::move(st)); });
}

Status Env::CommitFileSync(const std::string& dir, const std::string& name,
                           const std::string& data) {
  const std::string tmp = dir + "/" + TempNameFor(name);
  const std::string final_path = dir + "/" + name;
  Status st = [&]() -> Status {
    WARDEN_ASSIGN_OR_RETURN(auto file, Open(tmp, kOpenWrite | kOpenCreate | kOpenExclusive));
    WARDEN_RETURN_IF_ERROR(Write(*file, data.data(), data.size(), 0));
    WARDEN_CRASH_POINT("commit.after_write");
    WARDEN_RETURN_IF_ERROR(Sync(*file, /*data_only=*/true));
    WARDEN_CRASH_POINT("commit.after_sync");
    return Status::Ok();
  }();
  if (st.ok()) st = Rename(tmp, final_path);
  if (!st.ok()) {
    (void)Remove(tmp);  // best effort: a leftover temp is removed at the next open
    return st.Wrap("commit \"" + final_path + "\"");
  }
  WARDEN_CRASH_POINT("commit.after_rename");
  WARDEN_RETURN_IF_ERROR(SyncDir(dir).Wrap("commit \"" + final_path + "\""));
  WARDEN_CRASH_POINT("commit.after_dirsync");
  return Status::Ok();
}

Status Env::CreateDirDurable(const std::string& dir) {
  WARDEN_RETURN_IF_ERROR(CreateDir(dir));
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  return SyncDir(parent).Wrap("make the new directory \"" + dir + "\" durable");
}

Result<std::string> Env::ReadFileToString(const std::string& path, size_t max_bytes) {
  WARDEN_ASSIGN_OR_RETURN(auto file, Open(path, kOpenRead));
  WARDEN_ASSIGN_OR_RETURN(uint64_t size, Size(*file));
  if (size > max_bytes) {
    return Status::Error(Code::kResourceExhausted, "read \"" + path + "\": " +
                                                       std::to_string(size) + " bytes, limit " +
                                                       std::to_string(max_bytes));
  }
  std::string out(size, '\0');
  size_t done = 0;
  while (done < size) {
    WARDEN_ASSIGN_OR_RETURN(size_t n, Read(*file, out.data() + done, size - done, done));
    if (n == 0) break;
    done += n;
  }
  out.resize(done);
  return out;
}

Status Env::WriteZeros(File& file, uint64_t from, uint64_t to) {
  static const char kZeros[1 << 20] = {};
  for (uint64_t off = from; off < to;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof kZeros, to - off));
    WARDEN_RETURN_IF_ERROR(Write(file, kZeros, n, off));
    off += n;
  }
  return Status::Ok();
}

namespace {

class PosixEnvImpl final : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, int flags) override {
    int oflags = O_CLOEXEC | ((flags & kOpenWrite) ? O_RDWR : O_RDONLY);
    if (flags & kOpenCreate) oflags |= O_CREAT;
    if (flags & kOpenExclusive) oflags |= O_EXCL;
    if (flags & kOpenTruncate) oflags |= O_TRUNC;
    int fd = base::RetryEintr([&] { return ::open(path.c_str(), oflags, 0644); });
    if (fd < 0) return Status::FromErrno(errno, "open(\"" + path + "\")");
    return std::make_unique<File>(base::UniqueFd(fd), path);
  }

  Result<size_t> Read(File& file, void* buf, size_t len, uint64_t offset) override {
    size_t done = 0;
    while (done < len) {
      ssize_t n = base::RetryEintr([&] {
        return ::pread(file.fd(), static_cast<char*>(buf) + done, len - done,
                       static_cast<off_t>(offset + done));
      });
      if (n < 0) return Status::FromErrno(errno, "pread(\"" + file.path() + "\")");
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Status Write(File& file, const void* buf, size_t len, uint64_t offset) override {
    size_t done = 0;
    while (done < len) {
      ssize_t n = base::RetryEintr([&] {
        return ::pwrite(file.fd(), static_cast<const char*>(buf) + done, len - done,
                        static_cast<off_t>(offset + done));
      });
      if (n < 0) return Status::FromErrno(errno, "pwrite(\"" + file.path() + "\")");
      if (n == 0) return Status::Error(Code::kIoError, "pwrite(\"" + file.path() + "\"): 0 bytes");
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Sync(File& file, bool data_only) override {
    int rc = data_only ? ::fdatasync(file.fd()) : ::fsync(file.fd());
    if (rc != 0) {
      return Status::FromErrno(errno, std::string(data_only ? "fdatasync" : "fsync") + "(\"" +
                                          file.path() + "\")");
    }
    return Status::Ok();
  }

  Status Allocate(File& file, uint64_t len) override {
    int rc = ::fallocate(file.fd(), 0, 0, static_cast<off_t>(len));
    if (rc == 0) return Status::Ok();
    if (errno != EOPNOTSUPP) return Status::FromErrno(errno, "fallocate(\"" + file.path() + "\")");
    // File systems without fallocate (some overlay and network ones) get
    // real zeros, which is what fallocate promises to read back anyway.
    WARDEN_ASSIGN_OR_RETURN(uint64_t size, Size(file));
    return WriteZeros(file, size, len);
  }

  Status Truncate(File& file, uint64_t len) override {
    if (::ftruncate(file.fd(), static_cast<off_t>(len)) != 0) {
      return Status::FromErrno(errno, "ftruncate(\"" + file.path() + "\")");
    }
    return Status::Ok();
  }

  Result<uint64_t> Size(File& file) override {
    struct stat st {};
    if (::fstat(file.fd(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + file.path() + "\")");
    return static_cast<uint64_t>(st.st_size);
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::FromErrno(errno, "rename(\"" + from + "\" -> \"" + to + "\")");
    }
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "unlink(\"" + path + "\")");
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    base::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return Status::FromErrno(errno, "open(\"" + dir + "\")");
    if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "fsync(\"" + dir + "\")");
    return Status::Ok();
  }

  Status CreateDir(const std::string& dir) override { return base::MkdirIfMissing(dir, 0755); }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    base::UniqueDir d(::opendir(dir.c_str()));
    if (d == nullptr) return Status::FromErrno(errno, "opendir(\"" + dir + "\")");
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d.get())) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      if (names.size() >= 1000000) {
        return Status::Error(Code::kResourceExhausted, "opendir(\"" + dir + "\"): too many entries");
      }
      names.emplace_back(e->d_name);
    }
    return names;
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  void WriteAndSync(Loop& loop, File& file, const void* buf, size_t len, uint64_t offset,
                    StatusCallback cb) override {
    std::string path = file.path();
    loop.WriteAndSync(file.fd(), buf, len, offset,
                      [cb = std::move(cb), path](Status st) {
                        cb(std::move(st).Wrap("\"" + path + "\""));
                      });
  }

  void CommitFile(Loop& loop, const std::string& dir, const std::string& name, std::string data,
                  StatusCallback cb) override {
    struct State {
      base::UniqueFd dir_fd;
      base::UniqueFd tmp_fd;
      std::string data;
      std::string tmp_name;
    };
    auto state = std::make_shared<State>();
    state->data = std::move(data);
    state->tmp_name = TempNameFor(name);
    const std::string final_path = dir + "/" + name;
    state->dir_fd.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    Status st;
    if (!state->dir_fd) {
      st = Status::FromErrno(errno, "open(\"" + dir + "\")");
    } else {
      state->tmp_fd.reset(::openat(state->dir_fd.get(), state->tmp_name.c_str(),
                                   O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!state->tmp_fd) st = Status::FromErrno(errno, "open(\"" + dir + "/" + state->tmp_name + "\")");
    }
    if (!st.ok()) {
      loop.Post([cb = std::move(cb), st = std::move(st), final_path]() mutable {
        cb(std::move(st).Wrap("commit \"" + final_path + "\""));
      });
      return;
    }
    CommitOp op;
    op.tmp_fd = state->tmp_fd.get();
    op.dir_fd = state->dir_fd.get();
    op.tmp_name = state->tmp_name;
    op.final_name = name;
    op.data = state->data.data();
    op.len = state->data.size();
    loop.CommitChain(op, [state, cb = std::move(cb), final_path](Status result) {
      if (!result.ok()) {
        ::unlinkat(state->dir_fd.get(), state->tmp_name.c_str(), 0);  // best effort
        result.Wrap("commit \"" + final_path + "\"");
      }
      cb(std::move(result));
    });
  }
};

}  // namespace

Env* PosixEnv() {
  static Env* env = new PosixEnvImpl();
  return env;
}

}  // namespace warden::io
