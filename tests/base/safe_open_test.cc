// Root-safe opens: each case is a file a job could have planted.
#include "base/safe_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/file.h"
#include "test_util.h"

namespace warden::base {
namespace {

using testing::TempDir;
using testing::WriteText;

TEST_CASE("safe_open: OpenDirNoFollow refuses a symlink anywhere in the path", "[base]") {
  TempDir dir;
  REQUIRE(::mkdir(dir.Join("real").c_str(), 0755) == 0);
  REQUIRE(::mkdir(dir.Join("victim").c_str(), 0755) == 0);
  REQUIRE(::symlink(dir.Join("victim").c_str(), dir.Join("out").c_str()) == 0);

  CHECK(OpenDirNoFollow(dir.Join("real")).ok());
  Result<UniqueFd> last = OpenDirNoFollow(dir.Join("out"));
  REQUIRE_FALSE(last.ok());
  CHECK(last.status().message().find("is a symlink") != std::string::npos);
  // In the middle of the path, and with create: nothing is made in victim/.
  Result<UniqueFd> mid = OpenDirNoFollow(dir.Join("out/sub/deeper"), true);
  REQUIRE_FALSE(mid.ok());
  CHECK(::access(dir.Join("victim/sub").c_str(), F_OK) != 0);
  // A file where a directory is meant.
  WriteText(dir.Join("file"), "x");
  Result<UniqueFd> file = OpenDirNoFollow(dir.Join("file/sub"), true);
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().message().find("not a directory") != std::string::npos);
}

TEST_CASE("safe_open: OpenDirNoFollow creates missing components and refuses /proc",
          "[base]") {
  TempDir dir;
  Result<UniqueFd> made = OpenDirNoFollow(dir.Join("a/b/c"), true, 0700);
  REQUIRE(made.ok());
  struct stat st;
  REQUIRE(::stat(dir.Join("a/b/c").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_FALSE(OpenDirNoFollow(dir.Join("missing")).ok());

  Result<UniqueFd> proc = OpenDirNoFollow("/proc/sys/kernel");
  REQUIRE_FALSE(proc.ok());
  CHECK(proc.status().message().find("pseudo file system") != std::string::npos);
}

TEST_CASE("safe_open: OpenDirNoFollowAt walks below an open directory, never through a symlink",
          "[base]") {
  TempDir dir;
  REQUIRE(::mkdir(dir.Join("victim").c_str(), 0755) == 0);
  REQUIRE(::symlink(dir.Join("victim").c_str(), dir.Join("out").c_str()) == 0);
  Result<UniqueFd> top = OpenDirNoFollow(dir.path());
  REQUIRE(top.ok());
  Result<UniqueFd> made = OpenDirNoFollowAt(top->get(), dir.path(), "a/b", true, 0700);
  REQUIRE(made.ok());
  struct stat st;
  REQUIRE(::stat(dir.Join("a/b").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  Result<UniqueFd> link = OpenDirNoFollowAt(top->get(), dir.path(), "out/sub", true);
  REQUIRE_FALSE(link.ok());
  CHECK(link.status().message().find("is a symlink") != std::string::npos);
  CHECK(::access(dir.Join("victim/sub").c_str(), F_OK) != 0);
  CHECK_FALSE(OpenDirNoFollowAt(top->get(), dir.path(), "/etc").ok());
  // The directory it started from stays open.
  CHECK(::fcntl(top->get(), F_GETFD) >= 0);
  // Where it ends matters, not where it starts: /proc is refused.
  Result<UniqueFd> root = OpenDirNoFollow("/");
  REQUIRE(root.ok());
  Result<UniqueFd> proc = OpenDirNoFollowAt(root->get(), "", "proc/sys");
  REQUIRE_FALSE(proc.ok());
  CHECK(proc.status().message().find("pseudo file system") != std::string::npos);
}

TEST_CASE("safe_open: CheckReplaceableFile accepts only absent or regular targets",
          "[base]") {
  TempDir dir;
  Result<UniqueFd> d = OpenDirNoFollow(dir.path());
  REQUIRE(d.ok());
  CHECK(CheckReplaceableFile(d->get(), "absent", "absent").ok());
  WriteText(dir.Join("regular"), "x");
  CHECK(CheckReplaceableFile(d->get(), "regular", "regular").ok());
  REQUIRE(::symlink("/etc/passwd", dir.Join("link").c_str()) == 0);
  CHECK_FALSE(CheckReplaceableFile(d->get(), "link", "link").ok());
  REQUIRE(::mkfifo(dir.Join("fifo").c_str(), 0600) == 0);
  CHECK_FALSE(CheckReplaceableFile(d->get(), "fifo", "fifo").ok());
  REQUIRE(::mkdir(dir.Join("sub").c_str(), 0755) == 0);
  CHECK_FALSE(CheckReplaceableFile(d->get(), "sub", "sub").ok());
  CHECK_FALSE(CheckReplaceableFile(d->get(), "", "dir/").ok());

  Result<UniqueFd> dev = OpenDirNoFollow("/dev");
  REQUIRE(dev.ok());
  Status null = CheckReplaceableFile(dev->get(), "null", "/dev/null");
  REQUIRE_FALSE(null.ok());
  CHECK(null.message().find("character device") != std::string::npos);
}

TEST_CASE("safe_open: ReplaceFileAt replaces a symlink planted after the check, not its target",
          "[base]") {
  TempDir dir;
  WriteText(dir.Join("victim"), "precious");
  Result<UniqueFd> d = OpenDirNoFollow(dir.path());
  REQUIRE(d.ok());
  // The attack on the old writer: the temp name and the target as symlinks.
  REQUIRE(::symlink(dir.Join("victim").c_str(), dir.Join("result.json").c_str()) == 0);
  REQUIRE(::symlink(dir.Join("victim").c_str(), dir.Join("result.json.tmp").c_str()) == 0);
  REQUIRE(ReplaceFileAt(d->get(), "result.json", "{}", 0644, "result.json").ok());

  CHECK(ReadFile(dir.Join("victim")).value() == "precious");
  struct stat st;
  REQUIRE(::lstat(dir.Join("result.json").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(ReadFile(dir.Join("result.json")).value() == "{}");

  // No temp file is left behind; a directory in the way is an error.
  REQUIRE(::mkdir(dir.Join("adir").c_str(), 0755) == 0);
  CHECK_FALSE(ReplaceFileAt(d->get(), "adir", "{}", 0644, "adir").ok());
  int temps = 0;
  UniqueDir listing(::opendir(dir.path().c_str()));
  while (dirent* e = ::readdir(listing.get())) {
    if (std::string(e->d_name).ends_with(".tmp") && std::string(e->d_name)[0] == '.') ++temps;
  }
  CHECK(temps == 0);
}

TEST_CASE("safe_open: OpenOutputFileAt refuses planted FIFOs, symlinks, devices and links",
          "[base]") {
  TempDir dir;
  Result<UniqueFd> d = OpenDirNoFollow(dir.path());
  REQUIRE(d.ok());

  // A FIFO used to block the run in open() forever.
  REQUIRE(::mkfifo(dir.Join("stdout").c_str(), 0600) == 0);
  Result<UniqueFd> fifo = OpenOutputFileAt(d->get(), "stdout", 0600, "out/stdout");
  REQUIRE_FALSE(fifo.ok());
  CHECK(fifo.status().message().find("FIFO") != std::string::npos);

  WriteText(dir.Join("victim"), "precious");
  REQUIRE(::symlink(dir.Join("victim").c_str(), dir.Join("stderr").c_str()) == 0);
  CHECK_FALSE(OpenOutputFileAt(d->get(), "stderr", 0600, "out/stderr").ok());
  REQUIRE(::link(dir.Join("victim").c_str(), dir.Join("hard").c_str()) == 0);
  CHECK_FALSE(OpenOutputFileAt(d->get(), "hard", 0600, "out/hard").ok());
  CHECK(ReadFile(dir.Join("victim")).value() == "precious");

  Result<UniqueFd> dev = OpenDirNoFollow("/dev");
  REQUIRE(dev.ok());
  CHECK_FALSE(OpenOutputFileAt(dev->get(), "null", 0600, "/dev/null").ok());

  // A directory in place of the name stays refused.
  REQUIRE(::mkdir(dir.Join("sub").c_str(), 0755) == 0);
  Result<UniqueFd> sub = OpenOutputFileAt(d->get(), "sub", 0600, "out/sub");
  REQUIRE_FALSE(sub.ok());
  CHECK(sub.status().message().find("directory") != std::string::npos);

  // A fresh file is 0600 and blocking, and no temp file is left behind.
  Result<UniqueFd> fresh = OpenOutputFileAt(d->get(), "new", 0600, "out/new");
  REQUIRE(fresh.ok());
  struct stat st;
  REQUIRE(::fstat(fresh->get(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK((::fcntl(fresh->get(), F_GETFL) & O_NONBLOCK) == 0);
  struct stat named;
  REQUIRE(::stat(dir.Join("new").c_str(), &named) == 0);
  CHECK(named.st_ino == st.st_ino);
}

TEST_CASE("safe_open: OpenOutputFileAt replaces a planted file with a new one of its own",
          "[base]") {
  TempDir dir;
  Result<UniqueFd> d = OpenDirNoFollow(dir.path());
  REQUIRE(d.ok());
  // A job that can write the directory plants a world-readable stdout of
  // its own and keeps it open, to read the next run's output.
  WriteText(dir.Join("stdout"), "planted");
  REQUIRE(::chmod(dir.Join("stdout").c_str(), 0666) == 0);
  const bool root = ::geteuid() == 0;
  if (root) REQUIRE(::chown(dir.Join("stdout").c_str(), 4242, 4242) == 0);
  UniqueFd planted(::open(dir.Join("stdout").c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(planted);
  struct stat before;
  REQUIRE(::fstat(planted.get(), &before) == 0);

  Result<UniqueFd> out = OpenOutputFileAt(d->get(), "stdout", 0600, "out/stdout");
  REQUIRE(out.ok());
  REQUIRE(WriteAll(out->get(), "secret", 6, "stdout").ok());
  struct stat now;
  REQUIRE(::stat(dir.Join("stdout").c_str(), &now) == 0);
  CHECK(now.st_ino != before.st_ino);
  CHECK((now.st_mode & 0777) == 0600);
  CHECK(now.st_uid == ::geteuid());
  CHECK(now.st_nlink == 1);
  CHECK(ReadFile(dir.Join("stdout")).value() == "secret");
  // The planted inode keeps what it held: the output never went there.
  char buf[32] = {};
  CHECK(::pread(planted.get(), buf, sizeof buf, 0) == 7);
  CHECK(std::string(buf) == "planted");
  if (root) CHECK(before.st_uid == 4242u);
  // Only the name is left in the directory: no temp file.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("safe_open: SplitPath", "[base]") {
  CHECK(SplitPath("a/b/c").dir == "a/b");
  CHECK(SplitPath("a/b/c").name == "c");
  CHECK(SplitPath("c").dir == ".");
  CHECK(SplitPath("/c").dir == "/");
  CHECK(SplitPath("a/").name.empty());
  CHECK(SplitPath("a/..").name.empty());
}

}  // namespace
}  // namespace warden::base
