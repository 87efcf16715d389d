// The commands that talk to the warden agent (warden/agent_client.h):
// submit, status, list, wait, kill, logs; and `warden agent`, which
// executes the daemon's own binary.
//
// Every failure of warden's own (no agent, a refusal, a usage error) prints
// one line "warden: ..." and exits 125, as `warden run` does; `submit
// --wait` and `wait` exit by `warden run`'s contract for the job.
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/env_config.h"
#include "warden/agent_client.h"
#include "warden/run_args.h"
#include "warden/status.h"

namespace warden::cli {
namespace {

constexpr int kFailExit = 125;  // warden's own failure, usage errors included

using Json = nlohmann::ordered_json;

// --socket and --json, which every command here takes.
struct Common {
  std::string socket;  // empty: $WARDEN_AGENT_SOCKET or the default
  bool json = false;
};

const char kCommonHelp[] =
    "  --socket PATH   the agent's socket (default: $WARDEN_AGENT_SOCKET, else\n"
    "                  /run/warden/agent.sock)\n"
    "  --json          print JSON instead of text\n"
    "  --help, -h      this text\n";

int Fail(const std::string& message) {
  std::fprintf(stderr, "warden: %s\n", message.c_str());
  return kFailExit;
}

int Usage(const char* command, const std::string& message) {
  std::fprintf(stderr, "warden %s: %s\nsee 'warden %s --help'\n", command, message.c_str(), command);
  return kFailExit;
}

bool IsHelp(std::string_view a) { return a == "--help" || a == "-h"; }

// One option with a value at args[*i]: "--name VALUE" or "--name=VALUE".
// Returns false when args[*i] is not `name`; sets *missing when its value
// is.
bool TakeValue(const std::vector<std::string>& args, size_t* i, std::string_view name,
               std::string* value, bool* missing) {
  const std::string& a = args[*i];
  if (a == name) {
    if (*i + 1 >= args.size()) {
      *missing = true;
      return true;
    }
    *value = args[++*i];
    return true;
  }
  if (a.size() > name.size() && a.starts_with(name) && a[name.size()] == '=') {
    *value = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

Result<uint64_t> ParseNumber(const std::string& text, uint64_t max, const std::string& what) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end || v > max) {
    return Status::Error(Code::kInvalidArgument,
                         what + " \"" + text + "\" is not a number from 0 to " + std::to_string(max));
  }
  return v;
}

Status ParseLabel(const std::string& text, std::map<std::string, std::string>* labels) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::Error(Code::kInvalidArgument, "--label \"" + text + "\" is not KEY=VALUE");
  }
  (*labels)[text.substr(0, eq)] = text.substr(eq + 1);
  return Status::Ok();
}

Result<std::unique_ptr<AgentClient>> ConnectAgent(const Common& common) {
  AgentClientOptions options;
  if (common.socket.empty()) {
    WARDEN_ASSIGN_OR_RETURN(options.socket_path, AgentSocketFromEnvironment());
  } else {
    options.socket_path = common.socket;
  }
  return AgentClient::Connect(options);
}

// Ends of state names, times and JSON.

std::string Time(uint64_t wall_ns) {
  if (wall_ns == 0) return "-";
  const time_t secs = static_cast<time_t>(wall_ns / 1'000'000'000);
  struct tm tm;
  char buf[32];
  if (::gmtime_r(&secs, &tm) == nullptr || std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return "-";
  }
  return buf;
}

// What a job's submitter chose (its argv, labels, the reason an agent
// quotes from it) as text for a terminal: root's `warden list` shows every
// user's jobs, and a control byte there could move its cursor, rewrite
// other rows or send the terminal escape sequences. Each one is shown as
// '?' (--json keeps the exact text, escaped).
std::string Printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

std::string Command(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return Printable(std::move(out));
}

// A job as `status --json` prints it; "result" (the --result document) and
// "exit_code" once it ended.
Json JobJson(const AgentJob& job) {
  Json j;
  j["job_id"] = job.id;
  j["state"] = job.state;
  j["owner_uid"] = job.owner_uid;
  j["labels"] = job.labels;
  j["argv"] = job.argv;
  if (!job.idempotency_key.empty()) j["idempotency_key"] = job.idempotency_key;
  j["submit_wall_ns"] = job.submit_wall_ns;
  j["start_wall_ns"] = job.start_wall_ns;
  j["end_wall_ns"] = job.end_wall_ns;
  if (!job.reason.empty()) j["reason"] = job.reason;
  if (job.ended()) {
    j["exit_code"] = AgentExitCode(job);
    if (!job.result_json.empty()) {
      Json result = Json::parse(job.result_json, nullptr, /*allow_exceptions=*/false);
      // A document that does not parse is shown as the text it is.
      j["result"] = result.is_discarded() ? Json(job.result_json) : result;
    } else {
      j["result"] = nullptr;
    }
  }
  return j;
}

void PrintJson(const Json& j) {
  const std::string text = j.dump(2, ' ', false, Json::error_handler_t::replace);
  std::printf("%s\n", text.c_str());
}

void PrintJobText(const AgentJob& job) {
  std::string head = job.id + ": " + job.state;
  if (job.ended()) head += " (exit " + std::to_string(AgentExitCode(job)) + ")";
  std::printf("%s\n", head.c_str());
  std::printf("  command:   %s\n", Command(job.argv).c_str());
  std::printf("  owner:     uid %u\n", job.owner_uid);
  if (!job.labels.empty()) {
    std::string labels;
    for (const auto& [k, v] : job.labels) labels += (labels.empty() ? "" : ", ") + k + "=" + v;
    std::printf("  labels:    %s\n", Printable(labels).c_str());
  }
  std::printf("  submitted: %s\n", Time(job.submit_wall_ns).c_str());
  if (job.start_wall_ns != 0) std::printf("  started:   %s\n", Time(job.start_wall_ns).c_str());
  if (job.end_wall_ns != 0) std::printf("  ended:     %s\n", Time(job.end_wall_ns).c_str());
  if (!job.reason.empty()) std::printf("  reason:    %s\n", Printable(job.reason).c_str());
}

// What a job's end says on stderr, as `warden run` says it.
void SayEnd(const AgentJob& job) {
  std::string what;
  if (job.state == "lost") what = "was lost";
  if (job.state == "cancelled") what = "was cancelled";
  if (job.state == "setup-error") what = "could not be set up";
  if (job.state == "timeout") what = "timed out";
  if (what.empty()) return;
  if (!job.reason.empty()) what += ": " + Printable(job.reason);
  std::fprintf(stderr, "warden: job %s %s\n", job.id.c_str(), what.c_str());
}

// Waits for the job and exits by the contract.
int WaitAndExit(AgentClient* client, const std::string& id, bool json) {
  Result<AgentJob> job = client->Wait(id);
  if (!job.ok()) return Fail(job.status().message());
  if (json) PrintJson(JobJson(*job));
  SayEnd(*job);
  return AgentExitCode(*job);
}

// Parses the options shared by status, wait, logs and kill: --socket,
// --json, the flags in `flags` (no value) and in `valued`, and one job id.
struct Parsed {
  Common common;
  std::string id;
  std::map<std::string, bool> flags;
  std::map<std::string, std::string> values;
  bool help = false;
};

Result<Parsed> ParseSimple(const std::vector<std::string>& args, const std::vector<std::string>& flags,
                           const std::vector<std::string>& valued, bool wants_id) {
  Parsed p;
  bool options_done = false;
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.empty() || a[0] != '-' || a == "-") {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (IsHelp(a)) {
      p.help = true;
      return p;
    }
    if (a == "--json") {
      p.common.json = true;
      continue;
    }
    bool missing = false;
    std::string value;
    if (TakeValue(args, &i, "--socket", &value, &missing)) {
      if (missing) return Status::Error(Code::kInvalidArgument, "--socket needs a PATH");
      p.common.socket = value;
      continue;
    }
    bool known = false;
    for (const std::string& f : flags) {
      if (a == f) p.flags[f] = known = true;
    }
    for (const std::string& v : valued) {
      if (!known && TakeValue(args, &i, v, &value, &missing)) {
        if (missing) return Status::Error(Code::kInvalidArgument, v + " needs a value");
        p.values[v] = value;
        known = true;
      }
    }
    if (!known) return Status::Error(Code::kInvalidArgument, "unknown option \"" + a + "\"");
  }
  if (wants_id) {
    if (positional.empty()) return Status::Error(Code::kInvalidArgument, "no job id");
    if (positional.size() > 1) {
      return Status::Error(Code::kInvalidArgument, "unexpected argument \"" + positional[1] + "\"");
    }
    p.id = positional[0];
  } else if (!positional.empty()) {
    return Status::Error(Code::kInvalidArgument, "unexpected argument \"" + positional[0] + "\"");
  }
  return p;
}

// Signal names as kill(1) takes them: TERM, SIGTERM, 15.
Result<int> ParseSignal(const std::string& text) {
  if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
    Result<uint64_t> n = ParseNumber(text, NSIG - 1, "signal");
    if (!n.ok() || n.value() == 0) {
      return Status::Error(Code::kInvalidArgument, "-s " + text + ": not a signal number (1 to " +
                                                       std::to_string(NSIG - 1) + ")");
    }
    return static_cast<int>(n.value());
  }
  std::string name = text;
  for (char& c : name) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  if (name.starts_with("SIG")) name = name.substr(3);
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  return Status::Error(Code::kInvalidArgument,
                       "-s " + text + ": no such signal (TERM, SIGTERM or 15; `kill -l` lists them)");
}

void SubmitUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden submit [run options] [submit options] -- CMD [ARGS...]\n"
      "\n"
      "Queues CMD with the warden agent, which runs it in a sandbox as `warden run`\n"
      "would, and prints the job's id once the job is durably queued. The job runs\n"
      "whether or not warden stays: follow it with `warden status`, `warden logs`,\n"
      "`warden wait`.\n"
      "\n"
      "run options: those of `warden run --help`, except what only a command in the\n"
      "foreground can do: --pty, --output-dir (use `warden logs`), --result and\n"
      "--result-fd (use `warden status --json`), --env-pass, --job-id, --cgroup-parent,\n"
      "--seccomp-profile, --policy FILE (name a policy instead) and \"none\" for a limit.\n"
      "Bind sources and --stdin are opened by warden as you, and handed to the agent.\n"
      "\n"
      "submit options:\n"
      "  --idempotency-key KEY  a submit with a KEY used before returns that job\n"
      "                         instead of queuing another (safe to retry)\n"
      "  --label K=V            a label, for `warden list --label` (repeatable)\n"
      "  --priority N           higher runs first (default 0)\n"
      "  --wait                 wait for the job's end and exit as `warden run` would\n"
      "%s"
      "\n"
      "prints: the job id ({\"job_id\": ..., \"existing\": ...} with --json); with --wait\n"
      "and --json, the job as `warden status --json` prints it once it ended.\n"
      "exit: 0 queued; with --wait the job's code, 128+N signal N, 124 timeout, 143\n"
      "      cancelled, 125 lost or warden failed (no agent, a refused option)\n",
      kCommonHelp);
}

void StatusUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden status [--json] [--socket PATH] ID\n"
      "\n"
      "Shows the agent's job ID: its state (queued, starting, running, exited,\n"
      "signaled, timeout, oom, seccomp-violation, setup-error, cancelled, lost), its\n"
      "command, owner, labels and times; once it ended its exit code and, with --json,\n"
      "its result (the `warden run --result` document) as \"result\".\n"
      "%s"
      "exit: 0 shown; 125 no such job or warden failed\n",
      kCommonHelp);
}

void ListUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden list [--state S]... [--label K=V]... [--owner UID] [--json]\n"
      "\n"
      "Lists the agent's jobs (yours; root sees everyone's), oldest first, as a table\n"
      "or a JSON array of what `warden status --json` prints.\n"
      "  --state S       only jobs in state S (repeatable, or S1,S2)\n"
      "  --label K=V     only jobs with this label (repeatable: all must match)\n"
      "  --owner UID     only jobs of UID (root only)\n"
      "%s"
      "exit: 0 listed; 125 warden failed\n",
      kCommonHelp);
}

void WaitUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden wait [--json] [--socket PATH] ID\n"
      "\n"
      "Waits for the agent's job ID to end (across restarts of the agent) and exits\n"
      "as `warden run` would have. --json prints the job as `warden status --json`.\n"
      "%s"
      "exit: the job's code; 128+N signal N; 124 timeout; 143 cancelled; 125 lost,\n"
      "      no such job or warden failed\n",
      kCommonHelp);
}

void KillUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden kill [-s SIG] [--socket PATH] ID\n"
      "\n"
      "Sends SIG to the agent's job ID (a queued job is cancelled).\n"
      "  -s, --signal SIG  TERM (default), KILL, INT, HUP, ...: a name, SIGNAME or number\n"
      "%s"
      "exit: 0 sent; 125 no such job, not yours, or warden failed\n",
      kCommonHelp);
}

void LogsUsage(FILE* out) {
  std::fprintf(out,
      "usage: warden logs [-f] [--stderr] [--socket PATH] ID\n"
      "\n"
      "Writes the agent's job ID's stdout (or stderr) to stdout, as it is kept.\n"
      "  -f, --follow    go on until the job has ended (across restarts of the agent)\n"
      "  --stderr        the job's stderr instead of its stdout\n"
      "  --socket PATH   the agent's socket (default: $WARDEN_AGENT_SOCKET, else\n"
      "                  /run/warden/agent.sock)\n"
      "  --help, -h      this text\n"
      "exit: 0 written; 125 no such job or warden failed\n");
}

// The part of submit's arguments that is its own; the rest (run's options
// and the command) go to ParseRunArguments in their order. Run's options
// are skipped with their values so that a value is never taken for an
// option of submit: each takes one, the binds two, --pty and --help none.
struct SubmitArgs {
  Common common;
  SubmitOptions submit;
  bool wait = false;
  bool help = false;
  std::vector<std::string> run_args;
};

Result<SubmitArgs> SplitSubmitArgs(const std::vector<std::string>& args) {
  SubmitArgs out;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--" || a.empty() || a[0] != '-' || a == "-") break;
    if (IsHelp(a)) {
      out.help = true;
      return out;
    }
    bool missing = false;
    std::string value;
    if (a == "--json") {
      out.common.json = true;
    } else if (a == "--wait") {
      out.wait = true;
    } else if (TakeValue(args, &i, "--socket", &value, &missing)) {
      out.common.socket = value;
    } else if (TakeValue(args, &i, "--idempotency-key", &value, &missing)) {
      out.submit.idempotency_key = value;
    } else if (TakeValue(args, &i, "--label", &value, &missing)) {
      if (!missing) WARDEN_RETURN_IF_ERROR(ParseLabel(value, &out.submit.labels));
    } else if (TakeValue(args, &i, "--priority", &value, &missing)) {
      if (!missing) {
        int32_t n = 0;
        const char* end = value.data() + value.size();
        auto [ptr, ec] = std::from_chars(value.data(), end, n);
        if (value.empty() || ec != std::errc() || ptr != end) {
          return Status::Error(Code::kInvalidArgument, "--priority \"" + value + "\" is not a whole number");
        }
        out.submit.priority = n;
      }
    } else {
      // One of run's options (or one it will refuse): handed on as it is.
      const bool has_eq = a.starts_with("--") && a.find('=') != std::string::npos;
      size_t values = has_eq || a == "--pty" ? 0 : 1;
      if (!has_eq && (a == "--bind" || a == "--ro-bind" || a == "--bind-owned")) values = 2;
      for (size_t k = 0; k <= values && i < args.size(); ++k) out.run_args.push_back(args[i++]);
      --i;
      continue;
    }
    if (missing) return Status::Error(Code::kInvalidArgument, a + " needs a value");
  }
  out.run_args.insert(out.run_args.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return out;
}

}  // namespace

int SubmitCommand(int argc, char** argv) {
  Result<SubmitArgs> split = SplitSubmitArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!split.ok()) return Usage("submit", split.status().message());
  if (split->help) {
    SubmitUsage(stdout);
    return 0;
  }
  Result<RunArguments> run = ParseRunArguments(split->run_args);
  if (!run.ok()) return Usage("submit", run.status().message());
  if (run->help) {
    SubmitUsage(stdout);
    return 0;
  }
  if (Status st = CheckSubmitArguments(*run); !st.ok()) return Usage("submit", st.message());
  Result<std::unique_ptr<AgentClient>> client = ConnectAgent(split->common);
  if (!client.ok()) return Fail(client.status().message());
  Result<AgentSubmission> sub = (*client)->Submit(*run, split->submit);
  if (!sub.ok()) return Fail(sub.status().message());
  if (split->wait) {
    if (!split->common.json) std::printf("%s\n", sub->job_id.c_str());
    std::fflush(stdout);
    return WaitAndExit(client->get(), sub->job_id, split->common.json);
  }
  if (split->common.json) {
    PrintJson(Json{{"job_id", sub->job_id}, {"existing", sub->existing}});
  } else {
    std::printf("%s\n", sub->job_id.c_str());
  }
  return 0;
}

int StatusCommand(int argc, char** argv) {
  Result<Parsed> p = ParseSimple(std::vector<std::string>(argv + 1, argv + argc), {}, {}, true);
  if (!p.ok()) return Usage("status", p.status().message());
  if (p->help) {
    StatusUsage(stdout);
    return 0;
  }
  Result<std::unique_ptr<AgentClient>> client = ConnectAgent(p->common);
  if (!client.ok()) return Fail(client.status().message());
  Result<AgentJob> job = (*client)->Status(p->id);
  if (!job.ok()) return Fail(job.status().message());
  if (p->common.json) {
    PrintJson(JobJson(*job));
  } else {
    PrintJobText(*job);
  }
  return 0;
}

int ListCommand(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  AgentListFilter filter;
  Common common;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (IsHelp(a)) {
      ListUsage(stdout);
      return 0;
    }
    bool missing = false;
    std::string value;
    if (a == "--json") {
      common.json = true;
    } else if (TakeValue(args, &i, "--socket", &value, &missing)) {
      common.socket = value;
    } else if (TakeValue(args, &i, "--state", &value, &missing)) {
      for (size_t start = 0; !missing && start <= value.size();) {
        const size_t comma = value.find(',', start);
        const std::string s = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!s.empty()) filter.states.push_back(s);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (TakeValue(args, &i, "--label", &value, &missing)) {
      if (!missing) {
        if (Status st = ParseLabel(value, &filter.labels); !st.ok()) return Usage("list", st.message());
      }
    } else if (TakeValue(args, &i, "--owner", &value, &missing)) {
      if (!missing) {
        Result<uint64_t> uid = ParseNumber(value, UINT32_MAX - 1, "--owner");
        if (!uid.ok()) return Usage("list", uid.status().message());
        filter.owner_uid = static_cast<uint32_t>(uid.value());
      }
    } else {
      return Usage("list", (a.starts_with("-") ? "unknown option \"" : "unexpected argument \"") + a + "\"");
    }
    if (missing) return Usage("list", a + " needs a value");
  }
  Result<std::unique_ptr<AgentClient>> client = ConnectAgent(common);
  if (!client.ok()) return Fail(client.status().message());
  Result<std::vector<AgentJob>> jobs = (*client)->List(filter);
  if (!jobs.ok()) return Fail(jobs.status().message());
  if (common.json) {
    Json array = Json::array();
    for (const AgentJob& job : *jobs) array.push_back(JobJson(job));
    PrintJson(array);
    return 0;
  }
  std::printf("%-24s %-18s %-6s %-20s %s\n", "JOB", "STATE", "OWNER", "SUBMITTED", "COMMAND");
  for (const AgentJob& job : *jobs) {
    std::string state = job.state;
    if (job.ended()) state += " (" + std::to_string(AgentExitCode(job)) + ")";
    std::printf("%-24s %-18s %-6u %-20s %s\n", job.id.c_str(), state.c_str(), job.owner_uid,
                Time(job.submit_wall_ns).c_str(), Command(job.argv).c_str());
  }
  return 0;
}

int WaitCommand(int argc, char** argv) {
  Result<Parsed> p = ParseSimple(std::vector<std::string>(argv + 1, argv + argc), {}, {}, true);
  if (!p.ok()) return Usage("wait", p.status().message());
  if (p->help) {
    WaitUsage(stdout);
    return 0;
  }
  Result<std::unique_ptr<AgentClient>> client = ConnectAgent(p->common);
  if (!client.ok()) return Fail(client.status().message());
  return WaitAndExit(client->get(), p->id, p->common.json);
}

int KillCommand(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // -s SIG and --signal SIG are one option.
  for (std::string& a : args) {
    if (a == "-s") a = "--signal";
  }
  Result<Parsed> p = ParseSimple(args, {}, {"--signal"}, true);
  if (!p.ok()) return Usage("kill", p.status().message());
  if (p->help) {
    KillUsage(stdout);
    return 0;
  }
  int sig = SIGTERM;
  if (auto it = p->values.find("--signal"); it != p->values.end()) {
    Result<int> parsed = ParseSignal(it->second);
    if (!parsed.ok()) return Usage("kill", parsed.status().message());
    sig = parsed.value();
  }
  Result<std::unique_ptr<AgentClient>> client = ConnectAgent(p->common);
  if (!client.ok()) return Fail(client.status().message());
  if (Status st = (*client)->Kill(p->id, sig); !st.ok()) return Fail(st.message());
  if (p->common.json) PrintJson(Json{{"job_id", p->id}, {"signal", sig}});
  return 0;
}

int LogsCommand(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::string& a : args) {
    if (a == "-f") a = "--follow";
  }
  Result<Parsed> p = ParseSimple(args, {"--follow", "--stderr"}, {}, true);
  if (!p.ok()) return Usage("logs", p.status().message());
  if (p->help) {
    LogsUsage(stdout);
    return 0;
  }
  Result<std::unique_ptr<AgentClient>> client = ConnectAgent(p->common);
  if (!client.ok()) return Fail(client.status().message());
  Status write_error;
  Status st = (*client)->Logs(p->id, p->flags.count("--stderr") > 0, 0, p->flags.count("--follow") > 0,
                              [&](std::string_view data, uint64_t) {
                                while (!data.empty()) {
                                  const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
                                  if (n < 0 && errno == EINTR) continue;
                                  if (n <= 0) {
                                    write_error = Status::FromErrno(errno, "writing to stdout");
                                    return false;
                                  }
                                  data.remove_prefix(static_cast<size_t>(n));
                                }
                                return true;
                              });
  if (!st.ok()) return Fail(st.message());
  if (!write_error.ok()) return Fail(write_error.message());
  return 0;
}

int AgentCommand(int argc, char** argv) {
  // The daemon is build/warden-agent, next to this binary (it links the
  // WAL's shared library, which warden itself does not).
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return Fail(Status::FromErrno(errno, "readlink(\"/proc/self/exe\")").message());
  std::string path(self, static_cast<size_t>(n));
  path = path.substr(0, path.rfind('/') + 1) + "warden-agent";
  std::vector<char*> args;
  args.push_back(path.data());
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execv(path.c_str(), args.data());
  const int err = errno;
  if (err == ENOENT) {
    return Fail("the agent's program " + path +
                " is missing: it is built and installed with warden (`make`, `make install`)");
  }
  return Fail(Status::FromErrno(err, "execv(\"" + path + "\")").message());
}

}  // namespace warden::cli
