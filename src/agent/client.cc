// The agent's client (warden/agent_client.h): one blocking connection,
// requests and replies as frames (agent/frame.h) of api.proto's messages.
#include "warden/agent_client.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "agent/api.pb.h"
#include "agent/frame.h"
#include "base/errno_text.h"
#include "base/fd.h"
#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/policy.h"

namespace warden {
namespace {

namespace api = agent::api;

// The most pages List reads for one call: 1000 jobs a page, far beyond
// what an agent keeps; an agent that hands out tokens without end is
// stopped here instead of looping.
constexpr int kMaxListPages = 100'000;
constexpr uint64_t kMaxReconnectDelayMs = 2'000;

struct StateNameEntry {
  api::State state;
  const char* name;
};
constexpr StateNameEntry kStateNames[] = {
    {api::QUEUED, "queued"},
    {api::STARTING, "starting"},
    {api::RUNNING, "running"},
    {api::EXITED, "exited"},
    {api::SIGNALED, "signaled"},
    {api::TIMEOUT, "timeout"},
    {api::OOM, "oom"},
    {api::SECCOMP_VIOLATION, "seccomp-violation"},
    {api::SETUP_ERROR, "setup-error"},
    {api::CANCELLED, "cancelled"},
    {api::LOST, "lost"},
};

std::string StateName(int state) {
  for (const StateNameEntry& e : kStateNames) {
    if (e.state == state) return e.name;
  }
  return "unknown";
}

std::string StateList() {
  std::string out;
  for (const StateNameEntry& e : kStateNames) {
    if (!out.empty()) out += ", ";
    out += e.name;
  }
  return out;
}

Code CodeOf(api::ErrorCode code) {
  switch (code) {
    case api::BAD_REQUEST: return Code::kInvalidArgument;
    case api::UNAUTHORIZED: return Code::kPermissionDenied;
    case api::NOT_FOUND: return Code::kNotFound;
    case api::QUEUE_FULL: return Code::kResourceExhausted;
    case api::TOO_LARGE: return Code::kResourceExhausted;
    case api::TOO_MANY_CONNECTIONS: return Code::kResourceExhausted;
    case api::IDLE: return Code::kUnavailable;
    case api::UNAVAILABLE: return Code::kUnavailable;
    case api::NO_SPACE: return Code::kIoError;
    case api::NEVER_FITS: return Code::kFailedPrecondition;
    case api::VERSION_MISMATCH: return Code::kFailedPrecondition;
    default: return Code::kInternal;
  }
}

AgentJob JobFromInfo(const api::JobInfo& info) {
  AgentJob job;
  job.id = info.job_id();
  job.state = StateName(info.state());
  job.owner_uid = info.owner_uid();
  job.labels.insert(info.labels().begin(), info.labels().end());
  job.argv.assign(info.argv().begin(), info.argv().end());
  job.idempotency_key = info.idempotency_key();
  job.submit_wall_ns = info.submit_wall_ns();
  job.start_wall_ns = info.start_wall_ns();
  job.end_wall_ns = info.end_wall_ns();
  job.result_json = info.result_json();
  job.reason = info.reason();
  job.exit_code = info.exit_code();
  return job;
}

// Opens a file the job is to be given, as the calling user may: a
// directory O_RDONLY|O_DIRECTORY, anything else O_RDONLY, or O_RDWR when
// the job is to write it (O_NONBLOCK, so that a FIFO does not wait for a
// writer here; the flag is the fd's, not the agent's). The kernel checks
// the caller's permission here; the agent checks through the fd what the
// caller could reach, and refuses a writable bind of a file whose fd is
// not open for writing.
Result<base::UniqueFd> OpenForAgent(const std::string& path, const std::string& what,
                                    bool writable = false) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && errno == ENOTDIR) {
    fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  }
  if (fd < 0) return Status::FromErrno(errno, what + ": open(\"" + path + "\")");
  return base::UniqueFd(fd);
}

std::string NetName(NetworkSpec::Mode mode) {
  switch (mode) {
    case NetworkSpec::Mode::kNone: return "none";
    case NetworkSpec::Mode::kLoopback: return "loopback";
    case NetworkSpec::Mode::kVeth: return "veth";
  }
  return "";
}

Status NotBySubmit(const std::string& option, const std::string& instead) {
  return Status::Error(Code::kInvalidArgument,
                       option + " is not supported by submit (the agent runs the job): " + instead);
}

}  // namespace

Status CheckSubmitArguments(const RunArguments& args) {
  const JobSpec& spec = args.spec;
  if (args.help) return Status::Error(Code::kInvalidArgument, "--help asks for no job");
  if (spec.argv.empty()) return Status::Error(Code::kInvalidArgument, "no command to run");
  if (!args.result_file.empty()) {
    return NotBySubmit("--result", "the result is in `warden status --json ID` once the job ended");
  }
  if (args.result_fd >= 0) {
    return NotBySubmit("--result-fd", "the result is in `warden status --json ID` once the job ended");
  }
  if (!spec.env_pass.empty()) {
    return NotBySubmit("--env-pass (or a bare name in --env-file)",
                       "give the value with --env " + spec.env_pass[0] + "=VALUE");
  }
  if (spec.pty) return NotBySubmit("--pty", "a queued job has no terminal; use `warden run --pty`");
  if (!spec.output_dir.empty()) {
    return NotBySubmit("--output-dir", "the agent keeps the output: `warden logs ID`");
  }
  if (!spec.job_id.empty()) return NotBySubmit("--job-id", "the agent names its jobs; use --label");
  if (!spec.cgroup_parent.empty()) {
    return NotBySubmit("--cgroup-parent", "the agent places its jobs (agent.toml's cgroup_parent)");
  }
  if (spec.seccomp) {
    return NotBySubmit("--seccomp-profile", "the agent does not take seccomp profiles yet; use a policy");
  }
  if (args.policy && (args.policy->find('/') != std::string::npos || args.policy->ends_with(".toml"))) {
    return NotBySubmit("--policy FILE", "name a shipped policy or one in the agent's policy_dir");
  }
  if (spec.wall_time_ms && *spec.wall_time_ms == 0) {
    return NotBySubmit("--timeout 0 (no limit)", "give a limit, or leave --timeout out for the policy's");
  }
  auto none_refused = [](const char* option) {
    return NotBySubmit(std::string(option) + " none", "leave it out for the policy's limit");
  };
  if (spec.memory && !spec.memory->value) return none_refused("--memory");
  if (spec.pids && !spec.pids->value) return none_refused("--pids");
  if (spec.cpus && !spec.cpus->value) return none_refused("--cpus");
  const size_t files = spec.extra_mounts.size() + (args.stdin_file.empty() ? 0 : 1);
  if (files > agent::kMaxFdsPerFrame) {
    return Status::Error(Code::kInvalidArgument,
                         "a submit passes at most " + std::to_string(agent::kMaxFdsPerFrame) +
                             " files (binds and --stdin), not " + std::to_string(files));
  }
  for (const MountSpec& m : spec.extra_mounts) {
    if (m.kind != MountSpec::Kind::kBind) {
      return NotBySubmit("a tmpfs mount (" + m.destination + ")", "the policy's mounts apply");
    }
  }
  return Status::Ok();
}

namespace {

// `warden run`'s options as the agent's JobSpec, and the fds that go with
// it (bind sources, then the --stdin file).
Status SpecFromArguments(const RunArguments& args, const SubmitOptions& opts, api::JobSpec* out,
                         std::vector<base::UniqueFd>* fds) {
  WARDEN_RETURN_IF_ERROR(CheckSubmitArguments(args));
  const JobSpec& spec = args.spec;
  for (const std::string& a : spec.argv) out->add_argv(a);
  out->mutable_env()->insert(spec.env.begin(), spec.env.end());
  if (args.policy) out->set_policy(*args.policy);
  for (const MountSpec& m : spec.extra_mounts) {
    WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenForAgent(m.source, "bind source", m.writable));
    api::Bind* b = out->add_binds();
    b->set_source(m.source);
    b->set_destination(m.destination);
    b->set_writable(m.writable);
    b->set_owned(m.owned);
    b->set_fd_index(static_cast<int32_t>(fds->size()));
    fds->push_back(std::move(fd));
  }
  out->set_stdin_fd_index(-1);
  if (!args.stdin_file.empty()) {
    // The agent has no working directory of the client's: a relative path
    // is made absolute here, as the parser does for bind sources.
    std::string path = args.stdin_file;
    if (path[0] != '/') {
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof cwd) == nullptr) return Status::FromErrno(errno, "--stdin: getcwd");
      path = std::string(cwd) + "/" + path;
    }
    WARDEN_ASSIGN_OR_RETURN(base::UniqueFd fd, OpenForAgent(path, "--stdin"));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "--stdin: fstat(\"" + path + "\")");
    if (S_ISDIR(st.st_mode)) {
      return Status::Error(Code::kInvalidArgument, "--stdin " + path + " is a directory");
    }
    out->set_stdin_file(path);
    out->set_stdin_fd_index(static_cast<int32_t>(fds->size()));
    fds->push_back(std::move(fd));
  }
  if (spec.net) out->set_net(NetName(*spec.net));
  for (const std::string& a : spec.allow) out->add_allow(a);
  if (spec.wall_time_ms) out->set_timeout_ms(*spec.wall_time_ms);
  out->set_output_max_bytes(opts.output_max_bytes);
  if (spec.cwd) out->mutable_cwd()->set_value(*spec.cwd);
  if (spec.uid) out->mutable_uid()->set_value(*spec.uid);
  if (spec.gid) out->mutable_gid()->set_value(*spec.gid);
  if (spec.hostname) out->mutable_hostname()->set_value(*spec.hostname);
  if (spec.memory) out->mutable_memory_bytes()->set_value(*spec.memory->value);
  if (spec.pids) out->mutable_pids()->set_value(*spec.pids->value);
  if (spec.cpus) out->mutable_cpus()->set_value(*spec.cpus->value);
  if (spec.tmp_size_bytes) out->mutable_tmp_size_bytes()->set_value(*spec.tmp_size_bytes);
  out->mutable_labels()->insert(opts.labels.begin(), opts.labels.end());
  out->set_idempotency_key(opts.idempotency_key);
  out->set_priority(opts.priority);
  return Status::Ok();
}

// Blocks for `ms` milliseconds on a timerfd (a client's pause between
// reconnection tries).
Status Pause(uint64_t ms) {
  if (ms == 0) return Status::Ok();
  base::UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  if (!timer) return Status::FromErrno(errno, "timerfd_create");
  struct itimerspec spec = {};
  spec.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  spec.it_value.tv_nsec = static_cast<long>((ms % 1000) * 1'000'000);
  if (::timerfd_settime(timer.get(), 0, &spec, nullptr) != 0) {
    return Status::FromErrno(errno, "timerfd_settime");
  }
  struct pollfd p = {timer.get(), POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return Status::FromErrno(errno, "poll(timerfd)");
  }
  return Status::Ok();
}

}  // namespace

bool AgentJob::ended() const {
  return state != "queued" && state != "starting" && state != "running" && state != "unknown";
}

int AgentExitCode(const AgentJob& job) {
  if (!job.ended()) return 125;
  if (job.state == "cancelled") return 143;
  if (job.state == "lost") return 125;
  if (job.state == "timeout") return 124;
  if (job.state == "setup-error") return job.exit_code != 0 ? job.exit_code : 125;
  if (job.state == "exited") return job.exit_code;
  // signaled, oom, seccomp-violation: a signal ended it; the agent's code
  // is 128+N. Never report success for them.
  return job.exit_code != 0 ? job.exit_code : 125;
}

struct [[gnu::visibility("hidden")]] AgentClient::Impl {
  AgentClientOptions options;
  base::UniqueFd sock;
  uint64_t next_id = 1;
  uint32_t agent_pid = 0;
  std::string agent_version;
  // The connection broke (closed, reset, cut inside a frame): the request
  // may be retried on a new one. Cleared by Dial.
  bool broken = false;

  const std::string& path() const { return options.socket_path; }

  // Marks the connection gone; what failed says why.
  ::warden::Status Break(::warden::Status st) {
    sock.reset();
    broken = true;
    return st;
  }

  ::warden::Status Dial();
  ::warden::Status Send(api::Request* request, const std::vector<int>& fds);
  // One reply to `id` (timed: at most request_timeout_ms). An error reply
  // becomes its Status (broken stays false: the agent answered).
  Result<api::Reply> Receive(uint64_t id, bool timed);
  Result<api::Reply> Call(api::Request request, const std::vector<int>& fds = {});
  // A connection, made again if the last one broke or the agent closed it
  // since (idle): before a request is sent.
  ::warden::Status Ready();
  // Connects again after a break, up to *budget tries with growing pauses.
  ::warden::Status Reconnect(uint32_t* budget, const ::warden::Status& why);
};

::warden::Status AgentClient::Impl::Dial() {
  sock.reset();
  broken = false;
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path().empty() || path().size() >= sizeof addr.sun_path) {
    return ::warden::Status::Error(Code::kInvalidArgument, "the agent's socket path \"" + path() +
                                                     "\" is empty or longer than " +
                                                     std::to_string(sizeof addr.sun_path - 1) +
                                                     " bytes");
  }
  std::copy(path().begin(), path().end(), addr.sun_path);
  base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ::warden::Status::FromErrno(errno, "socket(AF_UNIX)");
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<const struct sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK) {
      ::warden::Status st = ::warden::Status::Error(Code::kUnavailable,
                                "no warden agent at " + path() + " (connect: " + base::ErrnoText(err) +
                                    "); start it with `systemctl start warden-agent` or `warden agent`");
      broken = true;
      return st;
    }
    if (err == EACCES || err == EPERM) {
      return ::warden::Status::Error(Code::kPermissionDenied,
                           "connect(\"" + path() + "\"): " + base::ErrnoText(err) +
                               ": the agent admits root and the members of its group (agent.toml's group)");
    }
    broken = true;
    return ::warden::Status::FromErrno(err, "connect(\"" + path() + "\")");
  }
  // The agent runs as root. A socket served by another user's process is
  // not the agent (a path in a directory others may write in): nothing,
  // not even the hello, goes to it, least of all a submit's environment
  // and the fds of its binds and stdin. The listener's credentials are
  // the kernel's, taken when it called listen().
  struct ucred cred = {};
  socklen_t cred_len = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) {
    return ::warden::Status::FromErrno(errno, "getsockopt(\"" + path() + "\", SO_PEERCRED)");
  }
  if (cred.uid != 0 && cred.uid != ::geteuid()) {
    return ::warden::Status::Error(Code::kPermissionDenied,
                                   "the socket " + path() + " is served by uid " +
                                       std::to_string(cred.uid) +
                                       ", neither root nor you: it is not the warden agent; "
                                       "nothing was sent to it");
  }
  sock = std::move(fd);
  api::Request req;
  api::Hello* hello = req.mutable_hello();
  hello->set_version(api::VERSION_1);
  hello->set_client(options.client_name.empty() ? std::string("warden ") + Version()
                                                : options.client_name);
  Result<api::Reply> reply = Call(std::move(req));
  if (!reply.ok()) {
    sock.reset();
    return reply.take_status().Wrap("the agent at " + path());
  }
  if (!reply->has_hello() || reply->hello().version() != api::VERSION_1) {
    sock.reset();
    return ::warden::Status::Error(Code::kFailedPrecondition,
                         "the agent at " + path() + " speaks protocol version " +
                             std::to_string(reply->has_hello() ? reply->hello().version() : 0) +
                             ", this warden " + std::to_string(api::VERSION_1) +
                             ": use the warden command of the agent's version");
  }
  agent_pid = reply->hello().agent_pid();
  agent_version = reply->hello().agent_version();
  return ::warden::Status::Ok();
}

::warden::Status AgentClient::Impl::Ready() {
  if (sock) {
    // The agent closes idle connections (after an IDLE error): a byte or
    // a hang-up waiting before a request is sent means this one is done.
    struct pollfd p = {sock.get(), POLLIN | POLLRDHUP, 0};
    int n;
    do {
      n = ::poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return ::warden::Status::Ok();
    sock.reset();
  }
  return Dial();
}

::warden::Status AgentClient::Impl::Reconnect(uint32_t* budget, const ::warden::Status& why) {
  uint64_t delay = options.reconnect_delay_ms;
  ::warden::Status last = why;
  while (*budget > 0) {
    --*budget;
    WARDEN_RETURN_IF_ERROR(Pause(delay));
    delay = std::min(delay * 2, kMaxReconnectDelayMs);
    last = Dial();
    if (last.ok()) return last;
    // Only a connection that could not be made is worth another try; an
    // agent that answered and refused has said its word.
    if (!broken) return last;
  }
  return last.Wrap("the connection to the agent broke and could not be made again");
}

::warden::Status AgentClient::Impl::Send(api::Request* request, const std::vector<int>& fds) {
  if (!sock) return ::warden::Status::Error(Code::kUnavailable, "not connected to the agent at " + path());
  request->set_id(next_id++);
  std::string bytes;
  if (!request->SerializeToString(&bytes)) {
    return ::warden::Status::Error(Code::kInternal, "cannot serialize a request");
  }
  if (bytes.size() > options.max_message_bytes) {
    return ::warden::Status::Error(Code::kInvalidArgument,
                         "the request is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                             std::to_string(options.max_message_bytes));
  }
  ::warden::Status st = agent::SendFrame(sock.get(), bytes, fds);
  if (!st.ok()) return Break(std::move(st));
  return ::warden::Status::Ok();
}

Result<api::Reply> AgentClient::Impl::Receive(uint64_t id, bool timed) {
  if (!sock) return ::warden::Status::Error(Code::kUnavailable, "not connected to the agent at " + path());
  if (timed && options.request_timeout_ms > 0) {
    struct pollfd p = {sock.get(), POLLIN, 0};
    const int ms = static_cast<int>(std::min<uint64_t>(options.request_timeout_ms, 1u << 30));
    int n;
    do {
      n = ::poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Break(::warden::Status::FromErrno(errno, "poll(the agent's socket)"));
    if (n == 0) {
      return Break(::warden::Status::Error(Code::kUnavailable,
                                 "the agent at " + path() + " did not answer within " +
                                     std::to_string(options.request_timeout_ms) + " ms"));
    }
  }
  std::string bytes;
  std::vector<base::UniqueFd> fds;  // the agent sends none; dropped (closed)
  Result<bool> got = agent::RecvFrame(sock.get(), options.max_message_bytes, &bytes, &fds);
  if (!got.ok()) return Break(got.take_status().Wrap("the agent at " + path()));
  if (!got.value()) {
    return Break(::warden::Status::Error(Code::kUnavailable, "the agent at " + path() + " closed the connection"));
  }
  api::Reply reply;
  if (!reply.ParseFromString(bytes)) {
    return Break(::warden::Status::Error(Code::kInternal, "the agent at " + path() + " sent a malformed reply"));
  }
  const bool has_error = reply.has_error() && reply.error().code() != api::OK;
  // An error with id 0 is about the connection (a limit, idleness): the
  // agent closes it after.
  if (has_error && reply.id() == 0) {
    sock.reset();
    return ::warden::Status::Error(CodeOf(reply.error().code()), reply.error().message());
  }
  if (reply.id() != id) {
    return Break(::warden::Status::Error(Code::kInternal, "the agent at " + path() + " answered request " +
                                                     std::to_string(reply.id()) + " instead of " +
                                                     std::to_string(id)));
  }
  if (has_error) return ::warden::Status::Error(CodeOf(reply.error().code()), reply.error().message());
  return reply;
}

Result<api::Reply> AgentClient::Impl::Call(api::Request request, const std::vector<int>& fds) {
  WARDEN_RETURN_IF_ERROR(Send(&request, fds));
  WARDEN_ASSIGN_OR_RETURN(api::Reply reply, Receive(request.id(), /*timed=*/true));
  if (!reply.end()) {
    // A request answered once must end with its reply; anything else means
    // the two sides disagree on the protocol.
    return Break(::warden::Status::Error(Code::kInternal, "the agent at " + path() +
                                                     " sent more than one reply to a single request"));
  }
  return reply;
}

AgentClient::AgentClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentClient::~AgentClient() = default;

Result<std::unique_ptr<AgentClient>> AgentClient::Connect(const std::string& socket_path) {
  AgentClientOptions options;
  options.socket_path = socket_path;
  return Connect(options);
}

Result<std::unique_ptr<AgentClient>> AgentClient::Connect(const AgentClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  WARDEN_RETURN_IF_ERROR(impl->Dial());
  return std::unique_ptr<AgentClient>(new AgentClient(std::move(impl)));
}

uint32_t AgentClient::agent_pid() const { return impl_->agent_pid; }
const std::string& AgentClient::agent_version() const { return impl_->agent_version; }

Result<AgentSubmission> AgentClient::Submit(const RunArguments& args, const SubmitOptions& options) {
  api::Request req;
  std::vector<base::UniqueFd> fds;
  WARDEN_RETURN_IF_ERROR(SpecFromArguments(args, options, req.mutable_submit()->mutable_spec(), &fds));
  std::vector<int> raw;
  for (const base::UniqueFd& fd : fds) raw.push_back(fd.get());
  WARDEN_RETURN_IF_ERROR(impl_->Ready());
  WARDEN_ASSIGN_OR_RETURN(api::Reply reply, impl_->Call(std::move(req), raw));
  if (!reply.has_submit() || reply.submit().job_id().empty()) {
    return ::warden::Status::Error(Code::kInternal, "the agent's reply to a submit holds no job id");
  }
  return AgentSubmission{reply.submit().job_id(), reply.submit().existing()};
}

Result<AgentJob> AgentClient::Status(const std::string& job_id) {
  api::Request req;
  req.mutable_status()->set_job_id(job_id);
  WARDEN_RETURN_IF_ERROR(impl_->Ready());
  WARDEN_ASSIGN_OR_RETURN(api::Reply reply, impl_->Call(std::move(req)));
  if (!reply.has_status()) return ::warden::Status::Error(Code::kInternal, "the agent's status reply holds no job");
  return JobFromInfo(reply.status().job());
}

Result<std::vector<AgentJob>> AgentClient::List(const AgentListFilter& filter) {
  api::ListRequest base;
  for (const std::string& s : filter.states) {
    auto it = std::find_if(std::begin(kStateNames), std::end(kStateNames),
                           [&](const StateNameEntry& e) { return s == e.name; });
    if (it == std::end(kStateNames)) {
      return ::warden::Status::Error(Code::kInvalidArgument,
                           "no job state \"" + s + "\" (the states: " + StateList() + ")");
    }
    base.add_states(it->state);
  }
  if (filter.owner_uid) base.mutable_owner_uid()->set_value(*filter.owner_uid);
  base.mutable_labels()->insert(filter.labels.begin(), filter.labels.end());
  std::vector<AgentJob> jobs;
  std::string token;
  for (int page = 0;; ++page) {
    if (page == kMaxListPages) {
      return ::warden::Status::Error(Code::kInternal, "the agent's job list did not end after " +
                                                std::to_string(kMaxListPages) + " pages");
    }
    api::Request req;
    *req.mutable_list() = base;
    req.mutable_list()->set_page_token(token);
    if (filter.max_jobs > 0) {
      req.mutable_list()->set_page_size(
          static_cast<uint32_t>(std::min<size_t>(filter.max_jobs - jobs.size(), 1000)));
    }
    WARDEN_RETURN_IF_ERROR(impl_->Ready());
    WARDEN_ASSIGN_OR_RETURN(api::Reply reply, impl_->Call(std::move(req)));
    if (!reply.has_list()) return ::warden::Status::Error(Code::kInternal, "the agent's list reply holds no list");
    for (const api::JobInfo& info : reply.list().jobs()) {
      jobs.push_back(JobFromInfo(info));
      if (filter.max_jobs > 0 && jobs.size() == filter.max_jobs) return jobs;
    }
    const std::string& next = reply.list().next_page_token();
    if (next.empty()) return jobs;
    if (next == token) {
      return ::warden::Status::Error(Code::kInternal, "the agent gave the same page token twice");
    }
    token = next;
  }
}

Result<AgentJob> AgentClient::Wait(const std::string& job_id) {
  uint32_t budget = impl_->options.reconnect_attempts;
  WARDEN_RETURN_IF_ERROR(impl_->Ready());
  for (;;) {
    api::Request req;
    req.mutable_wait()->set_job_id(job_id);
    ::warden::Status st = impl_->Send(&req, {});
    std::optional<api::JobInfo> last;
    while (st.ok()) {
      Result<api::Reply> reply = impl_->Receive(req.id(), /*timed=*/false);
      if (!reply.ok()) {
        st = reply.take_status();
        break;
      }
      if (reply->has_wait()) last = reply->wait().job();
      if (reply->end()) {
        if (!last) return ::warden::Status::Error(Code::kInternal, "the agent ended a wait without the job");
        AgentJob job = JobFromInfo(*last);
        if (!job.ended()) {
          return ::warden::Status::Error(Code::kInternal, "the agent ended a wait on job " + job_id +
                                                    " while it is " + job.state);
        }
        return job;
      }
    }
    if (!impl_->broken) return st;
    WARDEN_RETURN_IF_ERROR(impl_->Reconnect(&budget, st));
  }
}

::warden::Status AgentClient::Kill(const std::string& job_id, int sig) {
  api::Request req;
  req.mutable_kill()->set_job_id(job_id);
  req.mutable_kill()->set_signal(sig);
  WARDEN_RETURN_IF_ERROR(impl_->Ready());
  return impl_->Call(std::move(req)).take_status();
}

::warden::Status AgentClient::Logs(const std::string& job_id, bool stderr_stream, uint64_t offset,
                                   bool follow, const AgentDataSink& sink) {
  const uint32_t full_budget = impl_->options.reconnect_attempts;
  uint32_t budget = full_budget;
  uint64_t next = offset;  // the first byte not yet given to the sink
  WARDEN_RETURN_IF_ERROR(impl_->Ready());
  for (;;) {
    api::Request req;
    api::LogsRequest* logs = req.mutable_logs();
    logs->set_job_id(job_id);
    logs->set_stderr(stderr_stream);
    logs->set_offset(next);
    logs->set_follow(follow);
    ::warden::Status st = impl_->Send(&req, {});
    while (st.ok()) {
      Result<api::Reply> reply = impl_->Receive(req.id(), /*timed=*/!follow);
      if (!reply.ok()) {
        st = reply.take_status();
        break;
      }
      if (reply->has_logs()) {
        const std::string& data = reply->logs().data();
        const uint64_t at = reply->logs().offset();
        // Bytes before `next` were given already (a resumed stream that
        // starts earlier than asked); only the rest goes on.
        if (!data.empty() && at + data.size() > next) {
          const size_t skip = at < next ? static_cast<size_t>(next - at) : 0;
          const std::string_view chunk = std::string_view(data).substr(skip);
          next = at + skip + chunk.size();
          budget = full_budget;  // progress: a later break gets every try again
          if (!sink(chunk, at + skip)) {
            impl_->sock.reset();  // the rest of the stream is not wanted
            return ::warden::Status::Ok();
          }
        }
      }
      if (reply->end()) return ::warden::Status::Ok();
    }
    if (!follow || !impl_->broken) return st;
    WARDEN_RETURN_IF_ERROR(impl_->Reconnect(&budget, st));
  }
}

::warden::Status AgentClient::Events(const AgentEventSink& sink) {
  api::Request req;
  req.mutable_events();
  WARDEN_RETURN_IF_ERROR(impl_->Ready());
  WARDEN_RETURN_IF_ERROR(impl_->Send(&req, {}));
  for (;;) {
    WARDEN_ASSIGN_OR_RETURN(api::Reply reply, impl_->Receive(req.id(), /*timed=*/false));
    if (reply.has_event()) {
      const api::Event& e = reply.event();
      AgentEvent event{e.job_id(), StateName(e.state()), e.wall_ns(), e.owner_uid()};
      if (!sink(event)) {
        impl_->sock.reset();
        return ::warden::Status::Ok();
      }
    }
    if (reply.end()) return ::warden::Status::Ok();
  }
}

Result<AgentStats> AgentClient::Stats() {
  api::Request req;
  req.mutable_stats();
  WARDEN_RETURN_IF_ERROR(impl_->Ready());
  WARDEN_ASSIGN_OR_RETURN(api::Reply reply, impl_->Call(std::move(req)));
  if (!reply.has_stats()) return ::warden::Status::Error(Code::kInternal, "the agent's stats reply holds no stats");
  const api::StatsReply& s = reply.stats();
  AgentStats out;
  out.queued = s.queued();
  out.running = s.running();
  out.jobs = s.jobs();
  out.connections = s.connections();
  out.counters.insert(s.counters().begin(), s.counters().end());
  for (const api::RecoveryPhase& p : s.recovery().phases()) {
    AgentRecoveryPhase phase;
    phase.name = p.name();
    phase.micros = p.micros();
    phase.counts.insert(p.counts().begin(), p.counts().end());
    out.recovery.push_back(std::move(phase));
  }
  out.recovery_total_micros = s.recovery().total_micros();
  return out;
}

}  // namespace warden
