// A process joins its v1 cgroups itself through the `tasks` fds that
// JobCgroup::OpenSelfJoin opened (the launcher's fast path), and Attach
// then leaves those hierarchies alone.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cgroup/cgroup.h"
#include "cgroup/host.h"
#include "helpers.h"

namespace warden::cgroup {
namespace {

std::string CgroupFileOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST_CASE("cgroup: a process joins its v1 cgroups by writing 0 to the tasks fds",
          "[cgroup][root]") {
  WARDEN_REQUIRE_ROOT();
  Result<HostLayout> host = DiscoverHost("");
  REQUIRE(host.ok());
  if (host->v1.empty()) WARDEN_SKIP("no cgroup v1 hierarchy on this host (pure v2)");
  CgroupSpec spec;
  spec.pids_max.value = 64;
  std::unique_ptr<JobCgroup> cg = MustCreate(spec, "selfjoin");
  Result<std::vector<JobCgroup::SelfJoin>> joins = cg->OpenSelfJoin();
  REQUIRE(joins.ok());
  REQUIRE(!joins->empty());
  int v1_dirs = 0;
  for (const std::string& p : cg->Paths()) {
    for (const V1Hierarchy& v : host->v1) {
      if (p.compare(0, v.mount.size() + 1, v.mount + "/") == 0) ++v1_dirs;
    }
  }
  CHECK(static_cast<int>(joins->size()) == v1_dirs);
  for (const JobCgroup::SelfJoin& j : *joins) {
    CHECK(j.path.size() > 6);
    CHECK(j.path.substr(j.path.size() - 6) == "/tasks");
  }
  int go[2];
  REQUIRE(::pipe(go) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (const JobCgroup::SelfJoin& j : *joins) {
      if (::write(j.fd.get(), "0", 1) != 1) ::_exit(3);
    }
    ::close(go[0]);
    ::close(go[1]);  // joined
    ::pause();
    ::_exit(0);
  }
  ::close(go[1]);
  char b;
  REQUIRE(::read(go[0], &b, 1) == 0);  // the child closed its end: it has joined
  ::close(go[0]);
  // Attach skips what the child joined itself (and there is nothing else on
  // a v1-only host), so it cannot undo or repeat the move.
  REQUIRE(cg->Attach(pid).ok());
  const std::string text = CgroupFileOf(pid);
  INFO(text);
  int joined = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("/" + cg->name()) != std::string::npos) ++joined;
  }
  CHECK(joined == v1_dirs);
  REQUIRE(cg->Remove().ok());  // kills the child
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(CgroupsOf(::getpid()).empty());
}

}  // namespace
}  // namespace warden::cgroup
