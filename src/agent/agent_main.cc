// build/warden-agent: the host agent's daemon (`warden agent` executes it).
//
//   warden agent [--state-dir DIR] [--socket PATH] [--config FILE]
//                [--recover-only [--json]] [--repair] [--hold]
//
// Start-up, in order: configuration, the state directory's lock (a second
// agent on the same state exits 125 naming the holder's pid), recovery
// (Core::Recover's phases), the socket, then READY=1 to systemd. SIGTERM:
// stop accepting, answer the submits already accepted, leave running jobs
// running, exit 0. A failed WAL (an fsync or write error) exits 1 with the
// reason; the next start recovers from the WAL.
//
// This file is a program's main, like src/cli/: it alone in src/agent/
// reads the environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, and
// the WARDEN_* diagnostics).
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/config.h"
#include "agent/core.h"
#include "agent/job_dir.h"
#include "agent/server.h"
#include "agent/state_dir.h"
#include "base/errno_text.h"
#include "base/fd.h"
#include "base/log.h"
#include "io/env.h"
#include "io/loop.h"
#include "warden/diagnostics.h"
#include "warden/log.h"

namespace warden::agent {
namespace {

constexpr int kExitFailure = 125;
constexpr char kDefaultConfig[] = "/etc/warden/agent.toml";

struct Args {
  std::string state_dir, socket, config;
  bool config_given = false;
  bool recover_only = false;
  bool json = false;
  bool repair = false;
  bool hold = false;
};

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: warden agent [--state-dir DIR] [--socket PATH] [--config FILE]\n"
               "                    [--recover-only [--json]] [--repair] [--hold]\n"
               "\n"
               "Runs the host agent in the foreground: a durable job queue served on a\n"
               "Unix socket; `warden submit`, `status`, `list`, `wait`, `kill` and `logs`\n"
               "are its clients. Jobs outlive the agent and are re-adopted when it starts.\n"
               "\n"
               "  --state-dir DIR   state (WAL, job directories); default /var/lib/warden\n"
               "  --socket PATH     the API socket; default /run/warden/agent.sock\n"
               "  --config FILE     TOML configuration; default /etc/warden/agent.toml\n"
               "                    (docs/agent-config.md lists every key)\n"
               "  --recover-only    recover the state, print the report, exit\n"
               "  --json            with --recover-only: the report as JSON\n"
               "  --repair          repair a WAL that recovery refuses (copies of what is\n"
               "                    removed are kept in DIR/wal/quarantine/), then exit\n"
               "  --hold            start no job (the queue fills; for maintenance)\n"
               "\n"
               "Exit: 0 after SIGTERM or a finished --recover-only/--repair; 1 when its log\n"
               "failed (restart it: it recovers); 125 when it cannot start (the message\n"
               "says why).\n");
}

Result<Args> ParseArgs(int argc, char** argv) {
  static const struct option kOptions[] = {
      {"state-dir", required_argument, nullptr, 's'},
      {"socket", required_argument, nullptr, 'S'},
      {"config", required_argument, nullptr, 'c'},
      {"recover-only", no_argument, nullptr, 'r'},
      {"json", no_argument, nullptr, 'j'},
      {"repair", no_argument, nullptr, 'R'},
      {"hold", no_argument, nullptr, 'H'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  Args args;
  args.config = kDefaultConfig;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "+h", kOptions, nullptr)) != -1) {
    switch (c) {
      case 's': args.state_dir = optarg; break;
      case 'S': args.socket = optarg; break;
      case 'c': args.config = optarg; args.config_given = true; break;
      case 'r': args.recover_only = true; break;
      case 'j': args.json = true; break;
      case 'R': args.repair = true; break;
      case 'H': args.hold = true; break;
      case 'h': Usage(stdout); std::exit(0);
      default: {
        const std::string bad = optopt != 0 ? std::string("-") + static_cast<char>(optopt)
                                            : std::string(argv[optind - 1]);
        return Status::Error(Code::kInvalidArgument,
                             "unknown or incomplete option \"" + bad + "\"; see 'warden agent --help'");
      }
    }
  }
  if (optind < argc) {
    return Status::Error(Code::kInvalidArgument, std::string("unexpected argument \"") +
                                                     argv[optind] + "\"; see 'warden agent --help'");
  }
  if (args.json && !args.recover_only) {
    return Status::Error(Code::kInvalidArgument, "--json goes with --recover-only");
  }
  for (const std::string* p : {&args.state_dir, &args.socket}) {
    if (!p->empty() && (*p)[0] != '/') {
      return Status::Error(Code::kInvalidArgument,
                           "\"" + *p + "\": --state-dir and --socket take absolute paths");
    }
  }
  return args;
}

std::string EnvOr(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// The WARDEN_* diagnostics `warden` itself honours (README "Environment").
Status ApplyDiagnostics() {
  DiagnosticOptions d;
  if (EnvOr("WARDEN_IO") == "plain") d.io_backend = "plain";
  d.crash_point = EnvOr("WARDEN_FAULT");
  return ConfigureDiagnostics(d).Wrap("the WARDEN_* environment");
}

// build/warden, next to this binary: the monitors' program.
Result<base::UniqueFd> OpenWardenBinary() {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return Status::FromErrno(errno, "readlink /proc/self/exe");
  std::string dir(self, static_cast<size_t>(n));
  dir.erase(dir.rfind('/'));
  const std::string path = dir + "/warden";
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return Status::FromErrno(errno, "opening " + path +
                                        " (the agent runs its jobs' monitors with the warden "
                                        "binary installed next to warden-agent)");
  }
  return fd;
}

uint64_t NowMicros() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void AddPhase(api::RecoveryReport* report, const char* name, uint64_t start_us,
              std::initializer_list<std::pair<const char*, uint64_t>> counts = {}) {
  api::RecoveryPhase* p = report->add_phases();
  p->set_name(name);
  p->set_micros(NowMicros() - start_us);
  for (const auto& [k, v] : counts) (*p->mutable_counts())[k] = v;
}

std::string ReportText(const api::RecoveryReport& report) {
  std::string out = "recovery: " + std::to_string(report.total_micros()) + " us";
  for (const api::RecoveryPhase& p : report.phases()) {
    out += "; " + p.name() + " " + std::to_string(p.micros()) + " us";
    std::map<std::string, uint64_t> sorted(p.counts().begin(), p.counts().end());
    for (const auto& [k, v] : sorted) out += " " + k + "=" + std::to_string(v);
  }
  return out;
}

std::string ReportJson(const api::RecoveryReport& report) {
  nlohmann::ordered_json j;
  j["total_us"] = report.total_micros();
  nlohmann::ordered_json phases = nlohmann::ordered_json::array();
  for (const api::RecoveryPhase& p : report.phases()) {
    nlohmann::ordered_json ph;
    ph["name"] = p.name();
    ph["us"] = p.micros();
    std::map<std::string, uint64_t> sorted(p.counts().begin(), p.counts().end());
    nlohmann::ordered_json counts = nlohmann::ordered_json::object();
    for (const auto& [k, v] : sorted) counts[k] = v;
    ph["counts"] = counts;
    phases.push_back(ph);
  }
  j["phases"] = phases;
  return j.dump(2);
}

// sd_notify(3)'s protocol: one datagram to $NOTIFY_SOCKET (a path, or an
// abstract name written with a leading '@'). No socket: not under systemd.
class Notifier {
 public:
  Notifier() {
    const std::string path = EnvOr("NOTIFY_SOCKET");
    if (path.empty() || path.size() >= sizeof addr_.sun_path) return;
    if (path[0] != '/' && path[0] != '@') return;
    addr_.sun_family = AF_UNIX;
    std::memcpy(addr_.sun_path, path.data(), path.size());
    if (path[0] == '@') addr_.sun_path[0] = '\0';
    len_ = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());
    fd_ = base::UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  }
  bool active() const { return fd_.valid(); }
  void Send(const std::string& text) {
    if (!fd_.valid()) return;
    // MSG_DONTWAIT: a full notify socket loses a message; it never stops
    // the loop (the watchdog's own beats included).
    if (::sendto(fd_.get(), text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                 reinterpret_cast<const struct sockaddr*>(&addr_), len_) < 0) {
      WLOG_WARN("", "sd_notify: " + base::ErrnoText(errno));
    }
  }

 private:
  base::UniqueFd fd_;
  struct sockaddr_un addr_ = {};
  socklen_t len_ = 0;
};

// WATCHDOG_USEC (for us when WATCHDOG_PID is unset or ours): half of it, in ms.
uint64_t WatchdogIntervalMs() {
  const std::string usec = EnvOr("WATCHDOG_USEC");
  if (usec.empty()) return 0;
  const std::string pid = EnvOr("WATCHDOG_PID");
  if (!pid.empty() && pid != std::to_string(::getpid())) return 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(usec.c_str(), &end, 10);
  if (end == usec.c_str() || *end != '\0' || v == 0) return 0;
  return std::max<uint64_t>(1, v / 2000);
}

int Fail(const Status& st) {
  std::fprintf(stderr, "warden agent: %s\n", st.ToString().c_str());
  return kExitFailure;
}

int Main(int argc, char** argv) {
  const uint64_t t0 = NowMicros();
  Result<Args> parsed = ParseArgs(argc, argv);
  if (!parsed.ok()) return Fail(parsed.status());
  Args args = std::move(parsed.value());
  if (Status st = ApplyDiagnostics(); !st.ok()) return Fail(st);
  SetMinLogLevel(LogLevel::kInfo);
  ::signal(SIGPIPE, SIG_IGN);
  ::umask(022);

  Result<AgentConfig> config = LoadAgentConfig(args.config, !args.config_given);
  if (!config.ok()) return Fail(config.status());
  if (!args.state_dir.empty()) config->state_dir = args.state_dir;
  if (!args.socket.empty()) config->socket = args.socket;
  if (args.hold) config->hold = true;
  Notifier notifier;
  notifier.Send("STATUS=recovering\n");

  api::RecoveryReport report;
  uint64_t t = NowMicros();
  if (Status st = MakeStateDir(config->state_dir); !st.ok()) return Fail(st);
  Result<base::UniqueFd> lock = LockState(config->state_dir);
  if (!lock.ok()) return Fail(lock.status());
  AddPhase(&report, "lock", t);

  if (args.repair) {
    std::string text;
    Status st = RepairState(config->state_dir, &text);
    if (!text.empty()) std::printf("%s\n", text.c_str());
    if (!st.ok()) return Fail(st);
    return 0;
  }

  Result<base::UniqueFd> warden_binary = OpenWardenBinary();
  if (!warden_binary.ok()) return Fail(warden_binary.status());
  Result<std::unique_ptr<io::Loop>> loop = io::Loop::Create();
  if (!loop.ok()) return Fail(loop.status());

  CoreOptions core_options;
  core_options.config = *config;
  core_options.warden_binary_fd = warden_binary->get();
  Result<std::unique_ptr<Core>> core =
      Core::Recover(loop->get(), io::PosixEnv(), core_options, &report);
  if (!core.ok()) return Fail(core.status());

  if (args.recover_only) {
    (*core)->FinishOrphanSweep();
    report.set_total_micros(NowMicros() - t0);
    if (args.json) {
      std::printf("%s\n", ReportJson(report).c_str());
    } else {
      std::printf("%s\n", ReportText(report).c_str());
    }
    return 0;
  }

  t = NowMicros();
  ServerOptions server_options;
  server_options.socket_path = config->socket;
  server_options.socket_mode = config->socket_mode;
  if (!config->group.empty()) {
    struct group* g = ::getgrnam(config->group.c_str());
    if (g != nullptr) {
      server_options.has_group = true;
      server_options.group = g->gr_gid;
    } else {
      WLOG_WARN("", "group \"" + config->group +
                        "\" does not exist: only root may use the agent (create the group, or "
                        "set [agent] group in the configuration)");
    }
  }
  server_options.max_message_bytes = config->max_message_bytes;
  server_options.max_connections = config->max_connections;
  server_options.max_connections_per_uid = config->max_connections_per_uid;
  server_options.idle_timeout_ms = config->idle_timeout_ms;
  Result<std::unique_ptr<Server>> server =
      Server::Listen(loop->get(), server_options, core->get());
  if (!server.ok()) return Fail(server.status());
  AddPhase(&report, "listen", t);
  report.set_total_micros(NowMicros() - t0);
  (*core)->SetRecoveryReport(report);
  WLOG_INFO("", ReportText(report));

  int exit_code = 0;
  bool stopping = false;
  io::Loop* lp = loop->get();
  (*core)->SetOnFatal([&](const Status& st) {
    WLOG_ERROR("", "the agent's log failed, exiting (the next start recovers from it): " +
                       st.ToString());
    notifier.Send("STATUS=log failed: " + st.message() + "\n");
    exit_code = 1;
    lp->Stop();
  });
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  Result<std::unique_ptr<io::SignalWatcher>> watcher =
      io::SignalWatcher::Create(lp, signals, [&](int signo) {
        if (signo == SIGHUP) {
          WLOG_INFO("", "SIGHUP ignored: restart the agent to reload its configuration");
          return;
        }
        if (stopping) return;
        stopping = true;
        WLOG_INFO("", std::string("stopping on ") + ::strsignal(signo) +
                          "; running jobs keep running");
        notifier.Send("STOPPING=1\nSTATUS=stopping\n");
        (*server)->StopAccepting();
        (*core)->Shutdown([lp] { lp->Stop(); });
      });
  if (!watcher.ok()) return Fail(watcher.status());

  const uint64_t watchdog_ms = notifier.active() ? WatchdogIntervalMs() : 0;
  std::function<void()> beat;
  beat = [&] {
    notifier.Send("WATCHDOG=1\n");
    lp->AddTimer(watchdog_ms, beat);
  };
  if (watchdog_ms > 0) beat();

  (*core)->Start();
  notifier.Send("READY=1\nSTATUS=serving on " + config->socket + " (recovered in " +
                std::to_string(report.total_micros() / 1000) + " ms)\nMAINPID=" +
                std::to_string(::getpid()) + "\n");
  WLOG_INFO("", "ready: serving on " + config->socket);

  Status st = lp->Run();
  if (!st.ok() && exit_code == 0) {
    WLOG_ERROR("", "event loop: " + st.ToString());
    exit_code = 1;
  }
  server->reset();
  core->reset();
  return exit_code;
}

}  // namespace
}  // namespace warden::agent

int main(int argc, char** argv) { return warden::agent::Main(argc, argv); }
