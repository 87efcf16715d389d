// AgentClient: submitting jobs to the warden agent and following them, for
// the `warden` command (submit, status, list, wait, kill, logs) and for
// programs that hand their jobs to a host's agent instead of running them
// themselves (CI runners).
//
// The agent (`warden agent`, docs/agent.md) is a root-run daemon with a
// durable job queue, listening on a Unix socket. A client connects, submits
// a job described by `warden run`'s options, and gets its id back once the
// job is durably queued; the job then runs whether or not the client stays:
//
//   auto client = warden::AgentClient::Connect(warden::kDefaultAgentSocket);
//   if (!client.ok()) { ... client.status().message() ... }  // how to start one
//   auto args = warden::ParseRunArguments({"--memory", "512M", "--", "make"});
//   warden::SubmitOptions submit;
//   submit.idempotency_key = "build-1234";    // a retry names the same job
//   submit.labels["pipeline"] = "main";
//   auto job = (*client)->Submit(*args, submit);  // Result<AgentSubmission>
//   auto done = (*client)->Wait(job->job_id);     // Result<AgentJob>
//   // done->state ("exited", "timeout", ..., "lost"), done->result_json,
//   // warden::AgentExitCode(*done): `warden run`'s exit contract
//
// Who may do what is the agent's: root and the members of its configured
// group may connect; a client that is not root sees and acts on its own
// jobs only. The files a job is given (bind sources, --stdin) are opened
// by the client itself, with its own permissions, and passed to the agent
// as file descriptors: the agent runs as root, and so checks through them
// that the submitter could read what it names.
//
// Errors. Every call returns a Status (or a Result) whose message is one
// line that says what to do. The agent's own refusals keep its message and
// map to these codes: a malformed or invalid request kInvalidArgument, not
// allowed kPermissionDenied, no such job kNotFound, a full queue, too many
// connections or a request over the size limit kResourceExhausted, limits
// that admission can never satisfy kFailedPrecondition, the agent shutting
// down or its log failing kUnavailable, no space for the log kIoError,
// anything else kInternal. A connection that breaks (the agent restarted)
// is kUnavailable; the next call connects again (Logs and Wait reconnect
// by themselves, see there).
//
// Threads. An AgentClient is one connection and one request at a time: use
// one per thread (they are independent; the agent serves many). Calls
// block; the library creates no thread and installs no signal handler.
// Every fd it opens is close-on-exec.
#ifndef WARDEN_AGENT_CLIENT_H_
#define WARDEN_AGENT_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "warden/export.h"
#include "warden/run_args.h"
#include "warden/status.h"

namespace warden {

// Where the agent listens unless it is told otherwise (`warden agent
// --socket`, agent.toml's socket; the warden command also reads
// $WARDEN_AGENT_SOCKET).
inline constexpr char kDefaultAgentSocket[] = "/run/warden/agent.sock";

struct AgentClientOptions {
  std::string socket_path = kDefaultAgentSocket;
  // Free text for the agent's log; empty: "warden VERSION".
  std::string client_name;
  // The largest reply accepted (a bigger one breaks the connection); the
  // agent's own limit is 1 MiB by default.
  uint32_t max_message_bytes = 1u << 20;
  // How long a request that is answered once (Submit, Status, List pages,
  // Kill, Stats, the handshake) may wait for its reply; 0: forever. Wait,
  // Logs and Events wait as long as their job or stream lasts.
  uint64_t request_timeout_ms = 60'000;
  // When the connection breaks during Wait or a following Logs (the agent
  // restarted: its jobs keep running), how many times to connect again
  // before giving up, and the pause before the first try (doubled after
  // each failed one, up to 2 s). 0 attempts: give up at once.
  uint32_t reconnect_attempts = 30;
  uint64_t reconnect_delay_ms = 100;
};

// What Submit sends besides the job itself.
struct SubmitOptions {
  // A key of the client's: a second submit with the same key (and owner)
  // returns the first job (AgentSubmission::existing) instead of queuing
  // another, so a client that lost the reply may simply submit again.
  std::string idempotency_key;
  // Free labels, for List's filter and for the client's own bookkeeping.
  std::map<std::string, std::string> labels;
  // Higher runs first; first come, first served within a priority.
  int32_t priority = 0;
  // The most bytes kept of each of stdout and stderr (Logs); 0: the
  // policy's output limit.
  uint64_t output_max_bytes = 0;
};

struct AgentSubmission {
  std::string job_id;
  bool existing = false;  // the idempotency key named an earlier job
};

// A job as the agent reports it.
struct AgentJob {
  std::string id;
  // "queued", "starting", "running", then one of the ends: "exited",
  // "signaled", "timeout", "oom", "seccomp-violation", "setup-error"
  // (the JobStatus names of warden/job.h), "cancelled" (killed before or
  // while it ran) or "lost" (the agent cannot tell how it ended: reason
  // says why). "unknown" for a state this client does not know.
  std::string state;
  uint32_t owner_uid = 0;
  std::map<std::string, std::string> labels;
  std::vector<std::string> argv;
  std::string idempotency_key;
  // Wall-clock times (ns since the epoch); 0: not yet.
  uint64_t submit_wall_ns = 0;
  uint64_t start_wall_ns = 0;
  uint64_t end_wall_ns = 0;
  // Once ended: the job's --result JSON document (empty when it never
  // produced one: cancelled before it started, lost).
  std::string result_json;
  // Why it was lost, cancelled or not set up.
  std::string reason;
  // Once ended: `warden run`'s exit code for it, as the agent computed it
  // (AgentExitCode adds the agent's own ends).
  int exit_code = 0;

  // Whether the state is an end (no further change).
  WARDEN_EXPORT bool ended() const;
};

// `warden run`'s exit contract for an ended job: its exit code, 128+N for
// signal N, 124 timeout, 125 setup error or lost, 143 cancelled. A job not
// ended yet: 125.
WARDEN_EXPORT int AgentExitCode(const AgentJob& job);

// List's filter; every condition must hold.
struct AgentListFilter {
  std::vector<std::string> states;  // AgentJob::state names; empty: all
  std::optional<uint32_t> owner_uid;  // root only; others see their own
  std::map<std::string, std::string> labels;
  // The most jobs returned; 0: all of them (List pages through the agent's
  // replies until the end).
  size_t max_jobs = 0;
};

// One job's state change, as Events streams them.
struct AgentEvent {
  std::string job_id;
  std::string state;  // AgentJob::state names
  uint64_t wall_ns = 0;
  uint32_t owner_uid = 0;
};

// One phase of the agent's last start (lock, checkpoint, WAL replay,
// re-adopt, collect results, orphan scan, requeue, ...), with what it found.
struct AgentRecoveryPhase {
  std::string name;
  uint64_t micros = 0;
  std::map<std::string, uint64_t> counts;
};

struct AgentStats {
  uint64_t queued = 0;
  uint64_t running = 0;
  uint64_t jobs = 0;         // every job the agent still keeps
  uint32_t connections = 0;  // clients connected now
  std::map<std::string, uint64_t> counters;
  std::vector<AgentRecoveryPhase> recovery;  // in order
  uint64_t recovery_total_micros = 0;
};

// Receives Logs' bytes: a chunk and the offset of its first byte in the
// stream. Returning false stops the call (Ok), and closes the connection.
using AgentDataSink = std::function<bool(std::string_view data, uint64_t offset)>;
// Receives Events' events; false stops the call as above.
using AgentEventSink = std::function<bool(const AgentEvent& event)>;

// Whether Submit can send what `args` describes: the refusals that
// Submit's comment lists, checked without opening anything or connecting
// (kInvalidArgument naming the option), so that a command can refuse its
// arguments before it looks for an agent.
WARDEN_EXPORT Status CheckSubmitArguments(const RunArguments& args);

class WARDEN_EXPORT AgentClient {
 public:
  // Connects and does the handshake. Nothing listening (no socket, or a
  // socket no agent holds) is kUnavailable with the one line "no warden
  // agent at PATH (connect: REASON); start it with `systemctl start
  // warden-agent` or `warden agent`"; an agent that speaks another
  // protocol version is kFailedPrecondition.
  static Result<std::unique_ptr<AgentClient>> Connect(const std::string& socket_path);
  static Result<std::unique_ptr<AgentClient>> Connect(const AgentClientOptions& options);
  ~AgentClient();
  AgentClient(const AgentClient&) = delete;
  AgentClient& operator=(const AgentClient&) = delete;

  // The agent met at the last handshake.
  uint32_t agent_pid() const;
  const std::string& agent_version() const;

  // Queues the job that `args` (ParseRunArguments) describes and returns
  // once the agent has made it durable. The options map to the agent's job
  // spec one for one (--policy NAME among the agent's policies; --stdin
  // FILE is read when the job starts). What cannot travel, or concerns the
  // caller's own process or terminal, is refused with kInvalidArgument
  // naming the option: --policy FILE, --env-pass and --env-file's bare
  // names, --pty, --output-dir (use Logs), --result and --result-fd (the
  // result is AgentJob::result_json), --job-id and --cgroup-parent (the
  // agent names and places its jobs), --seccomp-profile (not supported by
  // the agent yet), "none" for --timeout, --memory, --pids or --cpus (leave
  // the option out for the policy's limit), and tmpfs mounts.
  // Each bind source and the --stdin file is opened here (directories
  // O_RDONLY|O_DIRECTORY, files O_RDONLY, the path resolved as the calling
  // user reaches it) and passed with the request; one the caller cannot
  // open fails here with the open's error. At most 16 such files.
  Result<AgentSubmission> Submit(const RunArguments& args, const SubmitOptions& options);

  // The job now (kNotFound: no such job, or not the caller's).
  Result<AgentJob> Status(const std::string& job_id);
  // The jobs that match, in the agent's order (oldest first).
  Result<std::vector<AgentJob>> List(const AgentListFilter& filter);
  // Blocks until the job has ended; returns it ended. When the connection
  // breaks meanwhile (the agent restarted), connects again and waits on
  // (AgentClientOptions' reconnect_*).
  Result<AgentJob> Wait(const std::string& job_id);
  // Sends `sig` to the job (0: SIGKILL). A queued job is cancelled.
  ::warden::Status Kill(const std::string& job_id, int sig);
  // The job's stdout (or stderr) from byte `offset` on, in chunks to
  // `sink`, until what is there has been sent or, with `follow`, until
  // the job has ended and all of it was sent. When the connection breaks
  // during a follow, connects again (AgentClientOptions' reconnect_*) and
  // goes on after the last byte received, so no byte is given twice.
  ::warden::Status Logs(const std::string& job_id, bool stderr_stream, uint64_t offset,
                        bool follow, const AgentDataSink& sink);
  // Every job state change visible to the caller from now on, until the
  // sink says stop or the connection ends (then kUnavailable).
  ::warden::Status Events(const AgentEventSink& sink);
  // The agent's counters and the report of its last start.
  Result<AgentStats> Stats();

  struct Impl;

 private:
  explicit AgentClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace warden

#endif  // WARDEN_AGENT_CLIENT_H_
