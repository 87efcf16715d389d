#include "capi/handles.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace warden::capi {
namespace {

thread_local std::string t_error;
// Set when even the message could not be stored (no memory for it).
thread_local const char* t_error_static = nullptr;

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kOptions: return "launcher options";
    case Kind::kLauncher: return "launcher";
    case Kind::kSpec: return "job spec";
    case Kind::kJob: return "job";
  }
  return "handle";
}

// Handles are numbers in the kernel's half of the address space, where no
// allocation of a user program can lie, so a foreign pointer is never taken
// for a handle; and a number is never handed out twice, so a freed handle
// stays refused even after its memory has been reused.
constexpr uintptr_t kHandleBase = 0xffffa00000000000u;
constexpr uintptr_t kHandleStep = 16;

class Registry {
 public:
  uintptr_t Add(std::shared_ptr<Object> object) {
    std::lock_guard<std::mutex> lock(mu_);
    uintptr_t handle = kHandleBase + next_++ * kHandleStep;
    handles_.emplace(handle, std::move(object));
    return handle;
  }
  std::shared_ptr<Object> Find(uintptr_t handle) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handles_.find(handle);
    return it == handles_.end() ? nullptr : it->second;
  }
  std::shared_ptr<Object> Remove(uintptr_t handle, std::optional<Kind> kind) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handles_.find(handle);
    if (it == handles_.end() || (kind && it->second->kind != *kind)) return nullptr;
    std::shared_ptr<Object> object = std::move(it->second);
    handles_.erase(it);
    return object;
  }

  void AddString(const void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    strings_.insert(p);
  }
  bool RemoveString(const void* p) {
    std::lock_guard<std::mutex> lock(mu_);
    return strings_.erase(p) == 1;
  }

 private:
  std::mutex mu_;
  std::unordered_map<uintptr_t, std::shared_ptr<Object>> handles_;
  std::unordered_set<const void*> strings_;
  uint64_t next_ = 1;
};

// Never destroyed: a call from another thread during exit still finds it.
Registry& Handles() {
  static Registry* registry = new Registry;
  return *registry;
}

}  // namespace

int Fail(int code, std::string_view message) noexcept {
  try {
    t_error.assign(message);
    t_error_static = nullptr;
  } catch (...) {
    t_error_static = "warden: out of memory while recording an error";
  }
  return code;
}

const char* LastError() noexcept {
  return t_error_static != nullptr ? t_error_static : t_error.c_str();
}

int CodeOf(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return WARDEN_OK;
    case Code::kInvalidArgument: return WARDEN_EINVAL;
    case Code::kNotFound: return WARDEN_ENOTFOUND;
    case Code::kPermissionDenied: return WARDEN_EPERM;
    case Code::kFailedPrecondition: return WARDEN_ESTATE;
    case Code::kResourceExhausted:
      return status.err() == ENOMEM ? WARDEN_ENOMEM : WARDEN_ESYSTEM;
    case Code::kUnavailable:
    case Code::kCorruption:
    case Code::kIoError: return WARDEN_ESYSTEM;
    case Code::kInternal: return WARDEN_EINTERNAL;
  }
  return WARDEN_EINTERNAL;
}

int FailStatus(const char* function, const Status& status) {
  return Fail(CodeOf(status), std::string(function) + ": " + status.ToString());
}

const JobResult* JobObject::Ended() {
  std::lock_guard<std::mutex> lock(result_mu_);
  if (!result_) result_ = job->Result();
  return result_ ? &*result_ : nullptr;
}

void JobObject::Record(const JobResult& result) {
  std::lock_guard<std::mutex> lock(result_mu_);
  if (!result_) result_ = result;
}

uintptr_t AddHandle(std::shared_ptr<Object> object) { return Handles().Add(std::move(object)); }

std::shared_ptr<Object> FindHandle(uintptr_t handle) { return Handles().Find(handle); }

std::shared_ptr<Object> RemoveHandle(uintptr_t handle, std::optional<Kind> kind) {
  return Handles().Remove(handle, kind);
}

bool RemoveString(const void* p) { return Handles().RemoveString(p); }

int BadHandle(const char* function, Kind kind, const void* handle) {
  if (handle == nullptr) {
    return Fail(WARDEN_EBADHANDLE, std::string(function) + ": the " + KindName(kind) +
                                       " handle is NULL: pass the handle its _new or start "
                                       "function gave");
  }
  return Fail(WARDEN_EBADHANDLE,
              std::string(function) + ": not a live " + KindName(kind) +
                  " handle (freed already, never handed out by warden, or a handle of another "
                  "kind): use a handle only until it is freed");
}

char* NewString(std::string_view data) {
  char* p = static_cast<char*>(std::malloc(data.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, data.data(), data.size());
  p[data.size()] = '\0';
  try {
    Handles().AddString(p);
  } catch (...) {
    std::free(p);
    throw;
  }
  return p;
}

void Release(std::shared_ptr<Object> object) {
  if (object->kind == Kind::kJob) {
    auto* job = static_cast<JobObject*>(object.get());
    if (job->Ended() == nullptr) (void)job->job->Kill(SIGKILL);
  }
}

int NullArgument(const char* function, const char* what) {
  return Fail(WARDEN_EINVAL,
              std::string(function) + ": " + what + " is NULL: pass a valid pointer");
}

int BadStream(const char* function, int stream, bool output_only) {
  return Fail(WARDEN_EINVAL,
              std::string(function) + ": stream " + std::to_string(stream) + " is not " +
                  (output_only ? "WARDEN_STDOUT (1) or WARDEN_STDERR (2)"
                               : "WARDEN_STDIN (0), WARDEN_STDOUT (1) or WARDEN_STDERR (2)"));
}

StdioSpec* StreamOf(JobSpec& spec, int stream) {
  switch (stream) {
    case WARDEN_STDIN: return &spec.in;
    case WARDEN_STDOUT: return &spec.out;
    case WARDEN_STDERR: return &spec.err;
  }
  return nullptr;
}

const JobResult* EndedOrFail(const char* function, JobObject& job, int* rc) {
  const JobResult* result = job.Ended();
  if (result == nullptr) {
    *rc = Fail(WARDEN_ESTATE, std::string(function) + ": job " + job.id +
                                  " has not ended: call warden_job_wait (or wait for "
                                  "WARDEN_FD_END to be readable) before reading its result");
  }
  return result;
}

}  // namespace warden::capi
