// How `warden run SCRIPT` runs a script (warden/script.h).
#include "warden/script.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <optional>

#include "base/fd.h"
#include "base/file.h"
#include "mnt/bind_source.h"
#include "policy/shebang.h"
#include "warden/policy.h"

namespace warden {
namespace {

bool UnderPath(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::optional<std::string> RealPath(const std::string& path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return std::nullopt;
  return std::string(real);
}

bool MatchesSuffix(const Policy& p, const std::string& script) {
  for (const std::string& s : p.match_suffixes) {
    if (script.size() > s.size() && script.ends_with(s)) return true;
  }
  return false;
}

bool Masked(const Policy& p, const std::string& path) {
  for (const std::string& m : p.mask) {
    if (UnderPath(path, m)) return true;
  }
  return false;
}

// Directories the sandbox makes itself: the host's are never seen there.
constexpr const char* kSandboxOwn[] = {"/tmp", "/proc", "/dev", "/sys"};

// Whether the sandbox shows host path `path` at the same path: under a
// bind whose source is its destination, or else (when not under what the
// sandbox makes itself, nor masked) in the host view or the rootfs "/".
bool Shown(const Policy& p, const std::vector<MountSpec>& extra, const std::string& path) {
  for (const std::vector<MountSpec>* list : {&extra, &p.mounts}) {
    for (const MountSpec& m : *list) {
      if (m.kind == MountSpec::Kind::kBind && m.source == m.destination &&
          UnderPath(path, m.destination)) {
        return true;
      }
    }
  }
  for (const char* own : kSandboxOwn) {
    if (UnderPath(path, own)) return false;
  }
  if (Masked(p, path)) return false;
  if (!p.rootfs.empty()) return p.rootfs == "/";
  for (const std::string& v : p.view) {
    if (UnderPath(path, v)) return true;
  }
  return false;
}

// Whether `path` (absolute) names an executable file inside the sandbox.
// A path under a bind is looked up in the bind's source; under a rootfs,
// inside it (openat2 RESOLVE_IN_ROOT, so its symlinks resolve as they will
// in the sandbox); in the host view, on the host, where both the path and
// what its symlinks lead to must be shown (/bin -> usr/bin is).
bool InSandbox(const Policy& p, const std::vector<MountSpec>& extra, const std::string& path) {
  if (path.empty() || path[0] != '/' || Masked(p, path)) return false;
  for (const std::vector<MountSpec>* list : {&extra, &p.mounts}) {
    for (auto it = list->rbegin(); it != list->rend(); ++it) {
      if (it->kind != MountSpec::Kind::kBind || !UnderPath(path, it->destination)) continue;
      std::string host = it->source + path.substr(it->destination == "/" ? 0 : it->destination.size());
      struct stat st;
      return ::stat(host.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
    }
  }
  if (!p.rootfs.empty()) {
    base::UniqueFd root(::open(p.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return false;
    struct open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    base::UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), path.c_str(), &how, sizeof how)));
    struct stat st;
    return fd && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
  }
  std::optional<std::string> real = RealPath(path);
  if (!real || !Shown(p, extra, path) || !Shown(p, extra, *real)) return false;
  struct stat st;
  return ::stat(real->c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

// The job's PATH: --env PATH=... or the policy's.
std::string JobPath(const JobSpec& req) {
  auto it = req.env.find("PATH");
  return it != req.env.end() ? it->second : req.policy.path;
}

// Where env(1) would find `name` on the job's PATH; "" when nowhere.
std::string FindOnPath(const JobSpec& req, const std::string& name) {
  const std::string path = JobPath(req);
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    if (!dir.empty() && dir[0] == '/' && InSandbox(req.policy, req.extra_mounts, dir + "/" + name)) {
      return dir + "/" + name;
    }
    i = j + 1;
  }
  return "";
}

// A directory whose bind would hide what the sandbox makes itself (the
// host's root, /tmp, /proc, /dev, /sys or one above them), or that lies in
// one of those but /tmp.
bool SystemDirectory(const std::string& dir) {
  for (const char* own : kSandboxOwn) {
    if (UnderPath(own, dir)) return true;
    if (std::strcmp(own, "/tmp") != 0 && UnderPath(dir, own)) return true;
  }
  return false;
}

// Checks `dir` as the launch will check a bind source (a trusted path, not
// the host's root, no unix socket, not too big); "" when it can be bound,
// else why not.
std::string CannotBind(const Policy& p, const std::string& dir) {
  if (SystemDirectory(dir)) return "it is a directory the sandbox makes itself or the host's root";
  Result<base::UniqueFd> fd = mnt::OpenBindSource(dir);
  if (!fd.ok()) return fd.status().ToString();
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return std::string("fstat: ") + std::strerror(errno);
  if (Status s = mnt::CheckBindSource(fd->get(), st, dir); !s.ok()) return s.ToString();
  // The job runs as another user (a leased uid, or the policy's): a
  // directory it cannot list and enter would show it nothing.
  const mode_t rx = p.uid == st.st_uid   ? (S_IRUSR | S_IXUSR)
                    : p.gid == st.st_gid ? (S_IRGRP | S_IXGRP)
                                         : (S_IROTH | S_IXOTH);
  if ((st.st_mode & rx) != rx) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string("the job's user cannot read it (mode ") + mode + ")";
  }
  base::UniqueFd rd(::openat(fd->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rd) return std::string("open: ") + std::strerror(errno);
  if (Status s = mnt::RefuseSockets(rd.get(), dir); !s.ok()) return s.ToString();
  return "";
}

// The first bytes of the regular file behind `fd` (an O_PATH fd will do),
// enough for the ELF magic and a "#!" line, which the kernel also cuts at
// 256 bytes; "" when it is not a regular file or cannot be read. What is
// opened for reading is what was checked: it is reopened through the fd,
// so a device or FIFO swapped in is never opened.
std::string FileHeadOfFd(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return "";
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  base::UniqueFd rd(base::RetryEintr(
      [&] { return ::open(self.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); }));
  if (!rd) return "";
  char buf[policy::kShebangMaxBytes];
  ssize_t n = base::RetryEintr([&] { return ::read(rd.get(), buf, sizeof buf); });
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// FileHeadOfFd of the file at `path` (symlinks followed, as exec would).
std::string FileHead(const std::string& path) {
  base::UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  return fd ? FileHeadOfFd(fd.get()) : "";
}

bool IsElf(const std::string& head) { return head.rfind("\x7f" "ELF", 0) == 0; }

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status ScriptError(int code, std::string message, int* exit_code) {
  *exit_code = code;
  return Status::Error(code == 125 ? Code::kFailedPrecondition : Code::kInvalidArgument,
                       std::move(message));
}

}  // namespace

bool IsScript(const std::string& program) {
  if (program.empty() || !IsRegularFile(program) || IsElf(FileHead(program))) return false;
  return program.find('/') != std::string::npos || ::access(program.c_str(), X_OK) != 0;
}

Status PrepareScript(JobSpec* req, std::vector<std::string>* warnings, int* exit_code) {
  *exit_code = 0;
  if (req->argv.empty() || req->argv[0].empty()) {
    return ScriptError(125, "no script given: argv[0] must name the script", exit_code);
  }
  const std::string program = req->argv[0];
  const std::string head = FileHead(program);
  Policy& pol = req->policy;
  std::vector<std::string> prefix;
  std::optional<policy::Shebang> shebang = policy::ParseShebang(head);
  if (shebang) {
    if (shebang->interpreter.empty()) {
      return ScriptError(126, "cannot run \"" + program +
                                  "\": its #! line names no interpreter, or is longer than the "
                                  "kernel reads (256 bytes); write a short \"#!/path/to/interpreter\" line",
                         exit_code);
    }
    prefix.push_back(shebang->interpreter);
    if (shebang->has_arg) prefix.push_back(shebang->arg);
  } else if (!pol.interpreter.empty() && MatchesSuffix(pol, program)) {
    prefix = pol.interpreter;
  } else {
    return Status::Ok();  // nothing to run it with; the kernel says so (126)
  }

  // The script is opened as a bind source is: a symlink on its path is
  // followed only where only root could have made it, so that a job that
  // shares the script's directory cannot point the next run's bind at a
  // file of its choosing.
  std::string absolute = program;
  if (absolute[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) {
      return ScriptError(125, std::string("getcwd: ") + std::strerror(errno), exit_code);
    }
    absolute = std::string(cwd) + "/" + program;
  }
  Result<base::UniqueFd> script_fd = mnt::OpenBindSource(absolute);
  Result<std::string> real =
      script_fd.ok() ? mnt::FdPathName(script_fd->get()) : Result<std::string>(script_fd.status());
  if (!real.ok()) {
    return ScriptError(125, "cannot run the script " + program + ": " + real.status().ToString(),
                       exit_code);
  }
  // The interpreter was chosen from what `program` held a moment ago; the
  // file bound is the one just opened. They must be the same bytes, or a job
  // that shares the directory could have swapped the file in between.
  if (FileHeadOfFd(script_fd->get()) != head) {
    return ScriptError(125, "the script " + program +
                                " changed while warden read it (its first line differs); "
                                "run it again once nothing else writes it",
                       exit_code);
  }
  // The script's directory, so that what lies next to it (a lib.sh it
  // sources, its data) is there too; read-only, at its own path.
  const std::string dir = DirName(*real);
  std::string inside = *real;
  if (Shown(pol, req->extra_mounts, dir)) {
    pol.cwd = dir;
  } else if (std::string why = CannotBind(pol, dir); why.empty()) {
    MountSpec m;
    m.source = dir;
    m.destination = dir;
    req->extra_mounts.push_back(m);
    pol.cwd = dir;
  } else {
    inside = "/tmp/" + BaseName(*real);
    MountSpec m;
    m.source = *real;
    m.destination = inside;
    req->extra_mounts.push_back(m);
    warnings->push_back("the directory of " + program + " (" + dir +
                        ") cannot be shown in the sandbox: " + why +
                        ". Only the script is, at " + inside +
                        ": files next to it are not visible; bind what it needs with --ro-bind");
  }

  // The interpreter must be in the sandbox's view: the kernel would say
  // only ENOENT, without naming which file.
  const std::string& interp = prefix[0];
  if (interp[0] == '/' && !InSandbox(pol, req->extra_mounts, interp)) {
    std::string msg = "the interpreter " + interp + " of " + program + " is not";
    if (interp.back() == '\r') {
      msg = "the #! line of " + program + " ends in a carriage return (DOS line endings); "
            "convert the script with dos2unix";
    } else {
      msg += " an executable file in the sandbox: install it, bind it with --ro-bind, or "
             "run the script with an interpreter the sandbox has (warden run -- INTERPRETER " +
             program + ")";
    }
    return ScriptError(127, msg, exit_code);
  }
  // "#!/usr/bin/env bash": env looks bash up on the job's PATH.
  if (shebang && BaseName(interp) == "env" && shebang->has_arg && shebang->arg[0] != '-' &&
      shebang->arg.find_first_of(" \t=") == std::string::npos &&
      shebang->arg.find('/') == std::string::npos && FindOnPath(*req, shebang->arg).empty()) {
    return ScriptError(127, "the interpreter " + shebang->arg + " of " + program + " (#!" + interp +
                                " " + shebang->arg + ") is not on the job's PATH (" + JobPath(*req) +
                                ") in the sandbox: install it, bind it with --ro-bind, or set PATH "
                                "with --env",
                       exit_code);
  }

  std::vector<std::string> argv = std::move(prefix);
  argv.push_back(inside);
  argv.insert(argv.end(), req->argv.begin() + 1, req->argv.end());
  req->argv = std::move(argv);
  return Status::Ok();
}

}  // namespace warden
