// The job core's requests (Service::Handle): Submit with its validation,
// authorization and admission; Status, List, Wait, Kill, Logs, Events and
// Stats. See core.cc for the table and the log.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "agent/core_impl.h"
#include "agent/job_dir.h"
#include "base/fault.h"
#include "base/log.h"
#include "base/safe_open.h"
#include "mnt/bind_source.h"

namespace warden::agent {

namespace {

void Fail(const std::shared_ptr<Stream>& stream, api::ErrorCode code, const std::string& msg) {
  stream->Fail(code, msg);
}

bool TooLong(const std::string& s) { return s.size() > kMaxStringBytes; }

Status Bad(const std::string& msg) { return Status::Error(Code::kInvalidArgument, msg); }

// An fd index from the request: -1 none; 0 with no fds is proto3's unset
// value, also none.
Result<int> FdIndex(int32_t index, size_t nfds, const std::string& what) {
  if (index < 0 || (index == 0 && nfds == 0)) return -1;
  if (static_cast<size_t>(index) >= nfds) {
    return Bad(what + ": fd index " + std::to_string(index) + " but the request carried " +
               std::to_string(nfds) + " fds");
  }
  return index;
}

// The client's fd and the path opened as root must be the same file: the
// client proved its access through its own fd, and the monitor binds the
// path after checking the identity recorded here.
Result<struct stat> SameFile(int client_fd, const std::string& path, const std::string& what) {
  struct stat client {};
  if (::fstat(client_fd, &client) != 0) return Status::FromErrno(errno, "fstat(" + what + " fd)");
  Result<base::UniqueFd> opened = mnt::OpenBindSource(path);
  if (!opened.ok()) return opened.take_status().Wrap(what);
  struct stat st {};
  if (::fstat(opened->get(), &st) != 0) return Status::FromErrno(errno, "fstat(\"" + path + "\")");
  if (st.st_dev != client.st_dev || st.st_ino != client.st_ino) {
    return Status::Error(Code::kPermissionDenied,
                         what + " \"" + path + "\" is not the file the client passed as its fd; "
                         "open the path itself and pass that fd");
  }
  return st;
}

}  // namespace

std::string CoreImpl::Unavailable() const {
  if (shutting_down_) return "the agent is shutting down";
  if (wal_ != nullptr && !wal_->health().ok() && !log_no_space()) {
    return "the agent's log failed and the agent must restart: " + wal_->health().ToString();
  }
  return "";
}

void CoreImpl::Handle(const api::Request& request, std::vector<base::UniqueFd> fds,
                      std::shared_ptr<Stream> stream) {
  counters_["requests"]++;
  switch (request.body_case()) {
    case api::Request::kSubmit:
      return HandleSubmit(request, std::move(fds), std::move(stream));
    case api::Request::kStatus:
      return HandleStatus(request, std::move(stream));
    case api::Request::kList:
      return HandleList(request, std::move(stream));
    case api::Request::kWait:
      return HandleWait(request, std::move(stream));
    case api::Request::kKill:
      return HandleKill(request, std::move(stream));
    case api::Request::kLogs:
      return HandleLogs(request, std::move(stream));
    case api::Request::kEvents:
      return HandleEvents(request, std::move(stream));
    case api::Request::kStats:
      return HandleStats(request, std::move(stream));
    default:
      return Fail(stream, api::BAD_REQUEST, "unknown request");
  }
}

Job* CoreImpl::JobFor(const std::string& id, const std::shared_ptr<Stream>& stream) {
  if (!ValidJobId(id)) {
    Fail(stream, api::BAD_REQUEST, "invalid job id \"" + id.substr(0, 64) +
                                       "\": expected j and 12 hex digits");
    return nullptr;
  }
  Job* job = Find(id);
  if (job == nullptr) {
    Fail(stream, api::NOT_FOUND, "no job " + id);
    return nullptr;
  }
  const Peer& peer = stream->peer();
  if (!peer.root() && peer.uid != job->e.owner_uid()) {
    Fail(stream, api::UNAUTHORIZED,
         "job " + id + " belongs to uid " + std::to_string(job->e.owner_uid()));
    return nullptr;
  }
  return job;
}

// ---- Submit ----

Status CoreImpl::CheckSpec(const api::JobSpec& spec, size_t nfds) const {
  if (spec.argv().empty()) return Bad("argv is empty: name the program to run");
  if (static_cast<size_t>(spec.argv_size()) > kMaxArgvItems) {
    return Bad("argv has " + std::to_string(spec.argv_size()) + " items; at most " +
               std::to_string(kMaxArgvItems));
  }
  for (const std::string& a : spec.argv()) {
    if (TooLong(a)) return Bad("an argv item is over 64 KiB");
  }
  if (spec.env_size() > static_cast<int>(kMaxEnvItems)) {
    return Bad("env has " + std::to_string(spec.env_size()) + " variables; at most " +
               std::to_string(kMaxEnvItems));
  }
  for (const auto& [k, v] : spec.env()) {
    if (TooLong(k) || TooLong(v)) return Bad("an env variable is over 64 KiB");
  }
  if (spec.labels_size() > static_cast<int>(kMaxLabels)) {
    return Bad("the job has " + std::to_string(spec.labels_size()) + " labels; at most " +
               std::to_string(kMaxLabels));
  }
  for (const auto& [k, v] : spec.labels()) {
    if (k.size() > kMaxLabelBytes || v.size() > kMaxLabelBytes) {
      return Bad("a label's key or value is over 256 bytes");
    }
  }
  if (spec.idempotency_key().size() > kMaxIdempotencyKeyBytes) {
    return Bad("the idempotency key is over 256 bytes");
  }
  if (TooLong(spec.policy()) || TooLong(spec.cwd().value()) || TooLong(spec.stdin_file()) ||
      TooLong(spec.hostname().value())) {
    return Bad("a string of the job spec is over 64 KiB");
  }
  if (spec.net() != "" && spec.net() != "none" && spec.net() != "loopback" &&
      spec.net() != "veth") {
    return Bad("net \"" + spec.net().substr(0, 64) + "\": expected none, loopback or veth");
  }
  if (static_cast<size_t>(spec.allow_size()) > kMaxAllow) return Bad("too many allow entries");
  for (const std::string& a : spec.allow()) {
    if (TooLong(a)) return Bad("an allow entry is over 64 KiB");
  }
  if (static_cast<size_t>(spec.binds_size()) > kMaxBinds) {
    return Bad("the job has " + std::to_string(spec.binds_size()) + " binds; at most " +
               std::to_string(kMaxBinds));
  }
  for (const api::Bind& b : spec.binds()) {
    if (TooLong(b.source()) || TooLong(b.destination())) return Bad("a bind path is over 64 KiB");
    if (b.source().empty() || b.source()[0] != '/') {
      return Bad("bind source \"" + b.source().substr(0, 256) + "\" is not an absolute path");
    }
    if (b.destination().empty() || b.destination()[0] != '/') {
      return Bad("bind destination \"" + b.destination().substr(0, 256) +
                 "\" is not an absolute path");
    }
    WARDEN_RETURN_IF_ERROR(FdIndex(b.fd_index(), nfds, "bind " + b.source()).status());
  }
  if (spec.has_cwd() && (spec.cwd().value().empty() || spec.cwd().value()[0] != '/')) {
    return Bad("cwd \"" + spec.cwd().value().substr(0, 256) + "\" is not an absolute path");
  }
  if (!spec.stdin_file().empty() && spec.stdin_file()[0] != '/') {
    return Bad("stdin file \"" + spec.stdin_file().substr(0, 256) + "\" is not an absolute path");
  }
  WARDEN_RETURN_IF_ERROR(FdIndex(spec.stdin_fd_index(), nfds, "stdin").status());
  return Status::Ok();
}

Status CoreImpl::Authorize(api::JobSpec* spec, const std::vector<base::UniqueFd>& fds,
                           const Peer& peer, api::ErrorCode* code) {
  *code = api::UNAUTHORIZED;
  const bool root = peer.root();
  const std::string& policy = spec->policy();
  if (!root && !policy.empty()) {
    if (policy.find('/') != std::string::npos || policy.size() > 64 ||
        policy.find(".toml") != std::string::npos) {
      return Status::Error(Code::kPermissionDenied,
                           "policy \"" + policy.substr(0, 64) +
                               "\": a client that is not root may name only a shipped policy "
                               "or one in the agent's policy directory, by its bare name");
    }
  }
  for (int i = 0; i < spec->binds_size(); i++) {
    api::Bind* b = spec->mutable_binds(i);
    Result<int> index = FdIndex(b->fd_index(), fds.size(), "bind");
    b->set_fd_index(-1);
    if (index.value() < 0) {
      if (!root) {
        return Status::Error(Code::kPermissionDenied,
                             "bind \"" + b->source() + "\": a client that is not root must pass "
                             "the bind source as an fd it opened itself");
      }
      continue;
    }
    const int fd = fds[static_cast<size_t>(index.value())].get();
    Result<struct stat> st = SameFile(fd, b->source(), "bind source");
    if (!st.ok()) return st.take_status();
    if (!root) {
      // The client's fd proves its access: it must be open for reading (an
      // O_PATH fd proves nothing). A writable file must be open for writing
      // or be the client's own; a writable directory must be the client's
      // own, since no fd of a directory proves write permission.
      const int flags = ::fcntl(fd, F_GETFL);
      if (flags < 0) return Status::FromErrno(errno, "fcntl(bind source fd, F_GETFL)");
      if ((flags & O_PATH) != 0) {
        return Status::Error(Code::kPermissionDenied,
                             "bind \"" + b->source() + "\": pass an fd opened for reading, "
                             "not an O_PATH fd");
      }
      // An owned bind shows SRC's owner's files (and its group's) as the
      // job's own, whatever their modes: only the client's own source, in
      // one of its groups, may be bound so, even read-only.
      if (b->owned()) {
        const bool in_group =
            st->st_gid == peer.gid ||
            std::find(peer.groups.begin(), peer.groups.end(), st->st_gid) != peer.groups.end();
        if (st->st_uid != peer.uid || !in_group) {
          return Status::Error(Code::kPermissionDenied,
                               "owned bind of \"" + b->source() + "\": it is owned by uid " +
                                   std::to_string(st->st_uid) + ", gid " +
                                   std::to_string(st->st_gid) +
                                   "; an owned bind would show the job that owner's files as "
                                   "its own, so only the client's own source, in one of its "
                                   "groups, may be bound owned");
        }
      }
      if (b->writable()) {
        if (S_ISDIR(st->st_mode)) {
          if (st->st_uid != peer.uid) {
            return Status::Error(Code::kPermissionDenied,
                                 "writable bind of directory \"" + b->source() +
                                     "\": it is owned by uid " + std::to_string(st->st_uid) +
                                     ", not by the client's uid " + std::to_string(peer.uid) +
                                     "; the agent cannot prove write access to a directory it "
                                     "does not own, so it refuses (bind it read-only)");
          }
        } else if ((flags & O_ACCMODE) == O_RDONLY && st->st_uid != peer.uid) {
          return Status::Error(Code::kPermissionDenied,
                               "writable bind of \"" + b->source() +
                                   "\": the file is not the client's; pass an fd opened for "
                                   "writing to prove write access");
        }
      }
    }
    b->set_dev(st->st_dev);
    b->set_ino(st->st_ino);
  }
  Result<int> stdin_index = FdIndex(spec->stdin_fd_index(), fds.size(), "stdin");
  spec->set_stdin_fd_index(-1);
  if (!spec->stdin_file().empty()) {
    if (stdin_index.value() < 0) {
      if (!root) {
        return Status::Error(Code::kPermissionDenied,
                             "stdin file \"" + spec->stdin_file() + "\": a client that is not "
                             "root must pass it as an fd it opened itself");
      }
    } else {
      const int fd = fds[static_cast<size_t>(stdin_index.value())].get();
      Result<struct stat> st = SameFile(fd, spec->stdin_file(), "stdin file");
      if (!st.ok()) return st.take_status();
      const int flags = ::fcntl(fd, F_GETFL);
      if (!root && (flags < 0 || (flags & O_PATH) != 0 || (flags & O_ACCMODE) == O_WRONLY)) {
        return Status::Error(Code::kPermissionDenied,
                             "stdin file \"" + spec->stdin_file() +
                                 "\": pass an fd opened for reading");
      }
      if (!S_ISREG(st->st_mode)) {
        *code = api::BAD_REQUEST;
        return Bad("stdin file \"" + spec->stdin_file() + "\" is not a regular file");
      }
      spec->set_stdin_dev(st->st_dev);
      spec->set_stdin_ino(st->st_ino);
    }
  }
  return Status::Ok();
}

namespace {

std::string FormatNumber(double v) {
  char buf[64];
  if (v == static_cast<double>(static_cast<uint64_t>(v))) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%g", v);
  }
  return buf;
}

}  // namespace

// A policy's limits, loaded once per version of its file: loading
// validates the whole policy and hashes it, which costs more than the rest
// of a submit. The entry is used while the policy directory and the
// policy's file (none for a shipped policy) keep their identity and
// modification time; an edit, a rename over it or a new file in the
// directory loads it again. (A policy that another extends is checked
// through the directory's time only: rename a new version into place.)
Result<AdmitLimits> CoreImpl::PolicyLimits(const std::string& name) {
  const std::string& dir =
      launcher_->options().policy_dir.empty() ? PolicyDirectory() : launcher_->options().policy_dir;
  auto stamp = [](const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::string("-");
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
           std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec);
  };
  std::string key = stamp(dir);
  if (name.find('/') == std::string::npos) key += "|" + stamp(dir + "/" + name + ".toml");
  auto it = policy_limits_.find(name);
  if (it != policy_limits_.end() && it->second.stamp == key) return it->second;
  Result<Policy> policy = launcher_->LoadPolicy(name);
  if (!policy.ok()) return policy.take_status();
  AdmitLimits limits;
  limits.stamp = key;
  limits.memory_bytes = policy->cgroup.memory_max_bytes.value.value_or(0);
  limits.pids = policy->cgroup.pids_max.value.value_or(0);
  limits.cpus = policy->cgroup.cpu.value.value_or(0);
  limits.wall_time_ms = policy->wall_time_ms;
  limits.tmp_size_bytes = policy->tmp_size_bytes;
  if (policy_limits_.size() >= 256) policy_limits_.clear();
  policy_limits_[name] = limits;
  return limits;
}

Status CoreImpl::Admit(api::JobSpec* spec, bool root, api::ErrorCode* code) {
  // Without a policy the monitor picks one by program; admission counts
  // the default policy's limits (the agent does not read the program).
  const std::string name = spec->policy().empty() ? "default" : spec->policy();
  Result<AdmitLimits> policy = PolicyLimits(name);
  if (!policy.ok()) {
    *code = spec->policy().empty() || spec->policy().find('/') != std::string::npos
                ? api::BAD_REQUEST
                : api::UNAUTHORIZED;
    return policy.take_status().Wrap("policy \"" + name.substr(0, 256) +
                                      "\" is neither shipped nor in the agent's policy directory");
  }
  // A client that is not root may tighten the policy's limits, never
  // loosen them: through the agent it gains nothing it lacks on the host.
  if (!root) {
    auto above = [&](const char* option, double asked, double bound) -> Status {
      *code = api::UNAUTHORIZED;
      return Status::Error(Code::kPermissionDenied,
                           std::string(option) + " " + FormatNumber(asked) +
                               " is above policy \"" + name + "\"'s " + FormatNumber(bound) +
                               ": a client that is not root may only tighten a policy's limits");
    };
    if (spec->has_memory_bytes() &&
        (spec->memory_bytes().value() == 0 ||
         (policy->memory_bytes > 0 && spec->memory_bytes().value() > policy->memory_bytes))) {
      return above("--memory", static_cast<double>(spec->memory_bytes().value()),
                   static_cast<double>(policy->memory_bytes));
    }
    if (spec->has_pids() &&
        (spec->pids().value() == 0 || (policy->pids > 0 && spec->pids().value() > policy->pids))) {
      return above("--pids", static_cast<double>(spec->pids().value()),
                   static_cast<double>(policy->pids));
    }
    if (spec->has_cpus() && policy->cpus > 0 &&
        (spec->cpus().value() <= 0 || spec->cpus().value() > policy->cpus)) {
      return above("--cpus", spec->cpus().value(), policy->cpus);
    }
    if (policy->wall_time_ms > 0 && spec->timeout_ms() > policy->wall_time_ms) {
      return above("--timeout (ms)", static_cast<double>(spec->timeout_ms()),
                   static_cast<double>(policy->wall_time_ms));
    }
    if (spec->has_tmp_size_bytes() && spec->tmp_size_bytes().value() > policy->tmp_size_bytes) {
      return above("--tmp-size", static_cast<double>(spec->tmp_size_bytes().value()),
                   static_cast<double>(policy->tmp_size_bytes));
    }
  }
  const uint64_t memory =
      spec->has_memory_bytes() ? spec->memory_bytes().value() : policy->memory_bytes;
  const uint64_t pids = spec->has_pids() ? spec->pids().value() : policy->pids;
  spec->set_admit_memory_bytes(memory);
  spec->set_admit_pids(pids);
  *code = api::NEVER_FITS;
  if (config_.memory_budget_bytes > 0 && memory > config_.memory_budget_bytes) {
    return Status::Error(Code::kResourceExhausted,
                         "the job needs " + std::to_string(memory) +
                             " bytes of memory and the agent's memory budget is " +
                             std::to_string(config_.memory_budget_bytes) +
                             ": it could never start; ask for less");
  }
  if (config_.pids_budget > 0 && pids > config_.pids_budget) {
    return Status::Error(Code::kResourceExhausted,
                         "the job needs " + std::to_string(pids) +
                             " pids and the agent's pids budget is " +
                             std::to_string(config_.pids_budget) +
                             ": it could never start; ask for less");
  }
  return Status::Ok();
}

void CoreImpl::HandleSubmit(const api::Request& req, std::vector<base::UniqueFd> fds,
                            std::shared_ptr<Stream> stream) {
  if (shutting_down_) return Fail(stream, api::UNAVAILABLE, "the agent is shutting down");
  if (!wal_->health().ok()) {
    if (log_no_space()) {
      return Fail(stream, api::NO_SPACE,
                  "no space left for the agent's log in " + wal_->dir() +
                      "; the job was not accepted");
    }
    return Fail(stream, api::UNAVAILABLE, Unavailable());
  }
  const Peer& peer = stream->peer();
  api::JobSpec spec = req.submit().spec();
  Status st = CheckSpec(spec, fds.size());
  if (!st.ok()) return Fail(stream, api::BAD_REQUEST, st.message());
  // Filled by the agent only.
  spec.set_owner_uid(peer.uid);
  spec.set_owner_gid(peer.gid);
  spec.set_submit_wall_ns(WallNs());
  spec.clear_admit_memory_bytes();
  spec.clear_admit_pids();
  spec.clear_stdin_dev();
  spec.clear_stdin_ino();
  for (api::Bind& b : *spec.mutable_binds()) {
    b.clear_dev();
    b.clear_ino();
  }

  const auto key = std::make_pair(static_cast<uint32_t>(peer.uid), spec.idempotency_key());
  if (!key.second.empty()) {
    if (auto it = idempotency_.find(key); it != idempotency_.end()) {
      api::Reply reply;
      reply.mutable_submit()->set_job_id(it->second);
      reply.mutable_submit()->set_existing(true);
      return stream->Finish(std::move(reply));
    }
    if (auto it = attached_.find(key); it != attached_.end()) {
      it->second.push_back(std::move(stream));
      return;
    }
  }

  const size_t queued = queue_.size() + submits_in_flight_;
  if (queued >= config_.max_queued) {
    counters_["refused_queue_full"]++;
    return Fail(stream, api::QUEUE_FULL,
                "queue full: " + std::to_string(queued) + " jobs queued; retry later");
  }
  auto q = queued_per_uid_.find(peer.uid);
  auto f = submits_in_flight_per_uid_.find(peer.uid);
  const size_t mine = (q == queued_per_uid_.end() ? 0 : q->second) +
                      (f == submits_in_flight_per_uid_.end() ? 0 : f->second);
  if (mine >= config_.max_queued_per_uid) {
    counters_["refused_queue_full"]++;
    return Fail(stream, api::QUEUE_FULL,
                "queue full: " + std::to_string(mine) + " jobs of uid " +
                    std::to_string(peer.uid) + " queued; retry later");
  }

  api::ErrorCode code = api::UNAUTHORIZED;
  st = Authorize(&spec, fds, peer, &code);
  if (!st.ok()) return Fail(stream, code, st.message());
  st = Admit(&spec, peer.root(), &code);
  if (!st.ok()) return Fail(stream, code, st.message());
  // The client's fds served their purpose: the monitor checks the
  // identities recorded above when it opens the paths.
  fds.clear();

  const std::string id = MakeJobId(next_number_++);
  api::JobEvent ev;
  ev.set_job_id(id);
  ev.set_state(api::QUEUED);
  ev.set_wall_ns(spec.submit_wall_ns());
  *ev.mutable_spec() = std::move(spec);
  // One WAL record holds the spec: a spec too big for one is refused here.
  const size_t record_bytes = ev.ByteSizeLong() + 16;
  if (record_bytes > WalMaxRecordBytes(config_)) {
    next_number_--;
    return Fail(stream, api::TOO_LARGE,
                "the job spec is " + std::to_string(record_bytes) + " bytes; at most " +
                    std::to_string(WalMaxRecordBytes(config_)) + " fit one log record");
  }
  WARDEN_CRASH_POINT("agent.submit.before_append");
  submits_in_flight_++;
  submits_in_flight_per_uid_[peer.uid]++;
  if (!key.second.empty()) attached_[key];
  const uid_t uid = peer.uid;
  AppendEvent(ev, [this, id, key, uid, stream](Result<uint64_t> seq) {
    submits_in_flight_--;
    if (--submits_in_flight_per_uid_[uid] == 0) submits_in_flight_per_uid_.erase(uid);
    std::vector<std::shared_ptr<Stream>> attached;
    if (!key.second.empty()) {
      auto it = attached_.find(key);
      if (it != attached_.end()) {
        attached = std::move(it->second);
        attached_.erase(it);
      }
    }
    if (!seq.ok()) {
      // Never acknowledged.
      counters_["submits_failed"]++;
      api::ErrorCode fail_code = api::UNAVAILABLE;
      std::string msg = "the job was not accepted: " + seq.status().ToString();
      if (wal_->health().ok() && seq.status().code() == Code::kResourceExhausted) {
        // The log's append queue is full: a refusal, not a failure.
        fail_code = api::QUEUE_FULL;
        msg = "the agent's log is busy; the job was not accepted; retry later";
      } else if (log_no_space() || seq.status().err() == ENOSPC) {
        fail_code = api::NO_SPACE;
        msg = "no space left for the agent's log in " + wal_->dir() + "; the job was not accepted";
      }
      stream->Fail(fail_code, msg);
      for (auto& s : attached) s->Fail(fail_code, msg);
      MaybeFinishShutdown();
      return;
    }
    WARDEN_CRASH_POINT("agent.submit.after_durable");
    counters_["submitted"]++;
    api::Reply reply;
    reply.mutable_submit()->set_job_id(id);
    stream->Finish(reply);
    reply.mutable_submit()->set_existing(true);
    for (auto& s : attached) s->Finish(reply);
    Schedule();
  });
}

// ---- reads ----

void CoreImpl::HandleStatus(const api::Request& req, std::shared_ptr<Stream> stream) {
  Job* job = JobFor(req.status().job_id(), stream);
  if (job == nullptr) return;
  api::Reply reply;
  *reply.mutable_status()->mutable_job() = Info(*job);
  stream->Finish(std::move(reply));
}

void CoreImpl::HandleList(const api::Request& req, std::shared_ptr<Stream> stream) {
  const api::ListRequest& list = req.list();
  const Peer& peer = stream->peer();
  if (!list.page_token().empty() && !ValidJobId(list.page_token())) {
    return Fail(stream, api::BAD_REQUEST, "invalid page token");
  }
  if (!peer.root() && list.has_owner_uid() && list.owner_uid().value() != peer.uid) {
    return Fail(stream, api::UNAUTHORIZED,
                "only root may list the jobs of uid " + std::to_string(list.owner_uid().value()));
  }
  const bool by_owner = !peer.root() || list.has_owner_uid();
  const uint32_t owner = peer.root() ? list.owner_uid().value() : peer.uid;
  uint32_t page = list.page_size() == 0 ? 100 : std::min<uint32_t>(list.page_size(), 1000);
  std::set<int> states(list.states().begin(), list.states().end());
  api::Reply reply;
  api::ListReply* out = reply.mutable_list();
  size_t bytes = 0;
  auto it = list.page_token().empty() ? jobs_.begin() : jobs_.upper_bound(list.page_token());
  for (; it != jobs_.end(); ++it) {
    const Job& job = *it->second;
    if (by_owner && job.e.owner_uid() != owner) continue;
    if (!states.empty() && states.count(job.e.state()) == 0) continue;
    bool match = true;
    for (const auto& [k, v] : list.labels()) {
      auto l = job.e.labels().find(k);
      if (l == job.e.labels().end() || l->second != v) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (static_cast<uint32_t>(out->jobs_size()) == page || bytes >= kMaxListReplyBytes) {
      out->set_next_page_token(out->jobs(out->jobs_size() - 1).job_id());
      break;
    }
    api::JobInfo* info = out->add_jobs();
    // Results are for Status and Wait: a page of them could be megabytes.
    *info = Info(job, /*with_result=*/false);
    bytes += info->ByteSizeLong();
  }
  stream->Finish(std::move(reply));
}

void CoreImpl::HandleWait(const api::Request& req, std::shared_ptr<Stream> stream) {
  Job* job = JobFor(req.wait().job_id(), stream);
  if (job == nullptr) return;
  if (IsTerminal(job->e.state())) {
    api::Reply reply;
    *reply.mutable_wait()->mutable_job() = Info(*job);
    return stream->Finish(std::move(reply));
  }
  std::weak_ptr<bool> alive = alive_;
  std::weak_ptr<Stream> weak = stream;
  const std::string id = job->e.job_id();
  stream->set_on_close([this, alive, weak, id] {
    if (alive.expired()) return;
    Job* j = Find(id);
    if (j == nullptr) return;
    auto s = weak.lock();
    auto& w = j->waiters;
    w.erase(std::remove_if(w.begin(), w.end(),
                           [&](const std::shared_ptr<Stream>& x) { return !s || x == s; }),
            w.end());
  });
  job->waiters.push_back(std::move(stream));
}

void CoreImpl::HandleKill(const api::Request& req, std::shared_ptr<Stream> stream) {
  Job* job = JobFor(req.kill().job_id(), stream);
  if (job == nullptr) return;
  const int sig = req.kill().signal() == 0 ? SIGKILL : req.kill().signal();
  if (sig < 1 || sig >= SIGRTMIN) {
    return Fail(stream, api::BAD_REQUEST, "signal " + std::to_string(sig) + " is not a signal");
  }
  const std::string id = job->e.job_id();
  if (IsTerminal(job->e.state())) {
    return Fail(stream, api::BAD_REQUEST,
                "job " + id + " already ended (" + api::State_Name(job->e.state()) + ")");
  }
  if (job->e.state() == api::QUEUED && !job->record_in_flight) {
    if (!wal_->health().ok()) return Fail(stream, api::UNAVAILABLE, "the agent's log failed");
    job->record_in_flight = true;
    QueueErase(job);
    api::JobEvent ev;
    ev.set_job_id(id);
    ev.set_state(api::CANCELLED);
    ev.set_wall_ns(WallNs());
    ev.set_exit_code(-1);
    ev.set_reason("cancelled by uid " + std::to_string(stream->peer().uid) + " before it started");
    AppendEvent(ev, [this, id, stream](Result<uint64_t> r) {
      Job* j = Find(id);
      if (j != nullptr) j->record_in_flight = false;
      if (!r.ok()) {
        if (j != nullptr && j->e.state() == api::QUEUED) QueueInsert(j);
        return stream->Fail(log_no_space() ? api::NO_SPACE : api::UNAVAILABLE,
                            "the cancellation could not be recorded: " + r.status().ToString());
      }
      counters_["cancelled"]++;
      api::Reply reply;
      reply.mutable_kill();
      stream->Finish(std::move(reply));
    });
    return;
  }
  if (job->e.state() == api::RUNNING && job->pidfd && !job->record_in_flight) {
    Status st = ops_.signal(job->pidfd.get(), sig);
    if (!st.ok()) return Fail(stream, api::INTERNAL, st.ToString());
  } else {
    // Starting: delivered once its monitor runs.
    job->pending_signal = sig;
  }
  api::Reply reply;
  reply.mutable_kill();
  stream->Finish(std::move(reply));
}

void CoreImpl::HandleEvents(const api::Request&, std::shared_ptr<Stream> stream) {
  std::weak_ptr<bool> alive = alive_;
  std::weak_ptr<Stream> weak = stream;
  stream->set_on_close([this, alive, weak] {
    if (alive.expired()) return;
    auto s = weak.lock();
    subscribers_.erase(std::remove_if(subscribers_.begin(), subscribers_.end(),
                                      [&](const EventSubscriber& x) {
                                        return !s || x.stream == s;
                                      }),
                       subscribers_.end());
  });
  EventSubscriber sub;
  sub.root = stream->peer().root();
  sub.uid = stream->peer().uid;
  sub.stream = std::move(stream);
  subscribers_.push_back(std::move(sub));
}

void CoreImpl::HandleStats(const api::Request&, std::shared_ptr<Stream> stream) {
  api::Reply reply;
  api::StatsReply* s = reply.mutable_stats();
  s->set_queued(queue_.size());
  s->set_running(active_.size());
  s->set_jobs(jobs_.size());
  *s->mutable_recovery() = report_;
  for (const auto& [k, v] : counters_) (*s->mutable_counters())[k] = v;
  (*s->mutable_counters())["records_since_checkpoint"] = records_since_checkpoint_;
  (*s->mutable_counters())["wal_last_seq"] = wal_->last_acked_seq();
  (*s->mutable_counters())["log_failed"] = wal_->health().ok() ? 0 : 1;
  // The end hooks that log followers of unfinished jobs hold.
  uint64_t hooks = 0;
  for (const auto& [priority, number] : queue_) {
    if (const Job* job = Find(MakeJobId(number))) hooks += job->end_hooks.size();
  }
  for (const std::string& id : active_) {
    if (const Job* job = Find(id)) hooks += job->end_hooks.size();
  }
  (*s->mutable_counters())["log_follow_hooks"] = hooks;
  stream->Finish(std::move(reply));
}

// ---- Logs ----

struct CoreImpl::LogFollow {
  std::shared_ptr<Stream> stream;
  std::string id;
  bool use_stderr = false;
  bool follow = false;
  uint64_t offset = 0;
  base::UniqueFd fd;
  io::TimerId timer = 0;
  bool done = false;
  bool hooked = false;  // an end hook of the job wakes it
};

void CoreImpl::HandleLogs(const api::Request& req, std::shared_ptr<Stream> stream) {
  Job* job = JobFor(req.logs().job_id(), stream);
  if (job == nullptr) return;
  auto f = std::make_shared<LogFollow>();
  f->id = job->e.job_id();
  f->use_stderr = req.logs().stderr();
  f->follow = req.logs().follow();
  f->offset = req.logs().offset();
  f->stream = stream;
  std::weak_ptr<bool> alive = alive_;
  std::weak_ptr<LogFollow> weak = f;
  stream->set_on_close([this, alive, weak] {
    if (alive.expired()) return;
    auto follower = weak.lock();
    if (!follower) return;
    follower->done = true;
    if (follower->timer != 0) loop_->CancelTimer(follower->timer);
    follower->timer = 0;
  });
  PumpLogs(std::move(f));
}

void CoreImpl::PumpLogs(std::shared_ptr<LogFollow> f) {
  if (f->done) return;
  if (f->stream->closed()) {
    f->done = true;
    return;
  }
  Job* job = Find(f->id);
  const bool ended = job == nullptr || IsTerminal(job->e.state());
  if (!f->fd) {
    // Opened without following a link a job could have planted; only a
    // regular file is read.
    Result<base::UniqueFd> dir = OpenJobDir(f->id);
    if (dir.ok()) {
      base::UniqueFd fd(::openat(dir->get(), f->use_stderr ? kStderrFile : kStdoutFile,
                                 O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
      struct stat st {};
      if (fd && ::fstat(fd.get(), &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
          f->done = true;
          return f->stream->Fail(api::INTERNAL, "the job's output is not a regular file");
        }
        f->fd = std::move(fd);
      }
    }
  }
  // A bounded amount per turn, so that one reader cannot hold the loop.
  for (int i = 0; f->fd && i < 16; i++) {
    std::string buf(kLogChunkBytes, '\0');
    ssize_t n = ::pread(f->fd.get(), buf.data(), buf.size(), static_cast<off_t>(f->offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      f->done = true;
      return f->stream->Fail(api::INTERNAL, Status::FromErrno(errno, "read(job output)").ToString());
    }
    if (n == 0) break;
    buf.resize(static_cast<size_t>(n));
    api::Reply reply;
    reply.mutable_logs()->set_offset(f->offset);
    reply.mutable_logs()->set_data(std::move(buf));
    f->offset += static_cast<uint64_t>(n);
    if (!f->stream->Send(std::move(reply))) {
      f->done = true;
      return;
    }
    if (i == 15) {
      std::weak_ptr<bool> alive = alive_;
      loop_->Post([this, alive, f] {
        if (!alive.expired()) PumpLogs(f);
      });
      return;
    }
  }
  // At EOF.
  if (!f->follow || ended) {
    // An ended job's output is complete: one more look was made above after
    // the end, so nothing is missed.
    f->done = true;
    api::Reply reply;
    reply.mutable_logs()->set_offset(f->offset);
    return f->stream->Finish(std::move(reply));
  }
  std::weak_ptr<bool> alive = alive_;
  // The timer holds the follower; closing the stream cancels the timer.
  f->timer = loop_->AddTimer(kLogPollMs, [this, alive, f] {
    if (alive.expired()) return;
    f->timer = 0;
    PumpLogs(f);
  });
  if (!f->hooked) {
    f->hooked = true;
    std::weak_ptr<LogFollow> weak = f;
    // Followers that went away are dropped here, so that following and
    // closing again and again cannot grow a long job's hooks without end.
    std::erase_if(job->end_hooks, [](const EndHook& h) { return h.owner.expired(); });
    job->end_hooks.push_back({weak, [this, alive, weak] {
      auto follower = weak.lock();
      if (alive.expired() || !follower || follower->done) return;
      if (follower->timer != 0) loop_->CancelTimer(follower->timer);
      follower->timer = 0;
      loop_->Post([this, alive, follower] {
        if (!alive.expired()) PumpLogs(follower);
      });
    }});
  }
}

}  // namespace warden::agent
