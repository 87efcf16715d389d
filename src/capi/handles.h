// What every function of the C interface (include/warden/warden.h) stands
// on: the thread's last error, the guard that keeps C++ exceptions from
// crossing into C, and the registry of live handles.
//
// Two rules hold at every entry point. No C++ exception leaves it: each
// body runs inside Guard, which turns std::bad_alloc into WARDEN_ENOMEM
// and anything else into WARDEN_EINTERNAL. And no handle is used without
// being looked up in the registry, which hands out a shared_ptr for the
// length of the call: a NULL, freed, foreign or wrong-kind handle is an
// error, and a handle freed by one thread while another uses it lives
// until that other call returns.
//
// The module includes nothing but the public headers: what C callers get
// is what C++ callers get, with handles, error codes and a thread-local
// message in place of Status, Result and unique_ptr.
#ifndef WARDEN_CAPI_HANDLES_H_
#define WARDEN_CAPI_HANDLES_H_

#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/status.h"
#include "warden/warden.h"

namespace warden::capi {

// ---------------------------------------------------------------------------
// Errors.

// Records `message` as this thread's last error and returns `code`.
int Fail(int code, std::string_view message) noexcept;
// The C code of a Status, and Fail with "function: status".
int CodeOf(const Status& status);
int FailStatus(const char* function, const Status& status);
// This thread's last error message (warden_last_error).
const char* LastError() noexcept;

// Runs `body` (returning an int) so that no exception escapes.
template <typename F>
int Guard(const char* function, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(WARDEN_ENOMEM, std::string_view(function));
  } catch (const std::exception& e) {
    try {
      return Fail(WARDEN_EINTERNAL, std::string(function) + ": unexpected error: " + e.what() +
                                        " (a bug in warden: please report it)");
    } catch (...) {
      return Fail(WARDEN_EINTERNAL, std::string_view(function));
    }
  } catch (...) {
    return Fail(WARDEN_EINTERNAL, std::string_view(function));
  }
}

// ---------------------------------------------------------------------------
// Handles.

enum class Kind { kOptions, kLauncher, kSpec, kJob };

struct Object {
  explicit Object(Kind k) : kind(k) {}
  virtual ~Object() = default;
  const Kind kind;
  // Options and specs: held by each call that reads or changes them, so
  // that setters from several threads cannot tear a value.
  std::mutex mu;
};

struct OptionsObject : Object {
  static constexpr Kind kKind = Kind::kOptions;
  OptionsObject() : Object(kKind) {}
  LauncherOptions options;
  warden_log_fn log_fn = nullptr;
  void* log_ctx = nullptr;
};

struct LauncherObject : Object {
  static constexpr Kind kKind = Kind::kLauncher;
  explicit LauncherObject(std::unique_ptr<Launcher> l) : Object(kKind), launcher(std::move(l)) {}
  std::unique_ptr<Launcher> launcher;
};

struct SpecObject : Object {
  static constexpr Kind kKind = Kind::kSpec;
  SpecObject() : Object(kKind) {}
  JobSpec spec;
  // The policy is either a name or file that the launcher resolves at
  // start (policy_name), or a value parsed from TOML (spec.policy).
  std::optional<std::string> policy_name = "default";
  // The launcher (its handle) whose resolution of policy_name spec.policy
  // holds; 0: none yet. Handles are never reused, so this cannot alias.
  uintptr_t resolved_by = 0;
};

struct JobObject : Object {
  static constexpr Kind kKind = Kind::kJob;
  explicit JobObject(std::unique_ptr<Job> j) : Object(kKind), job(std::move(j)), id(job->id()) {}
  std::unique_ptr<Job> job;
  const std::string id;

  // The result once the job has ended, else nullptr. It never changes
  // after that, so the pointer stays valid for the object's life.
  const JobResult* Ended();
  void Record(const JobResult& result);

 private:
  std::mutex result_mu_;
  std::optional<JobResult> result_;
};

// Registers `object`; returns its handle.
uintptr_t AddHandle(std::shared_ptr<Object> object);
// The object of a live handle, or nullptr.
std::shared_ptr<Object> FindHandle(uintptr_t handle);
// Removes the handle when it is live and of `kind` (any kind when
// nullopt); returns its object, or nullptr.
std::shared_ptr<Object> RemoveHandle(uintptr_t handle, std::optional<Kind> kind);
// Strings handed out for warden_free: false when `p` is not one (or no
// more).
bool RemoveString(const void* p);

inline uintptr_t Token(const void* handle) { return reinterpret_cast<uintptr_t>(handle); }

// Fails with WARDEN_EBADHANDLE, saying whether the handle was NULL or not
// a live one of `kind`.
int BadHandle(const char* function, Kind kind, const void* handle);

// The object behind `handle` when it is a live handle of T's kind; else
// nullptr, with the error recorded in *rc.
template <typename T>
std::shared_ptr<T> Lookup(const char* function, const void* handle, int* rc) {
  std::shared_ptr<Object> object = handle ? FindHandle(Token(handle)) : nullptr;
  if (!object || object->kind != T::kKind) {
    *rc = BadHandle(function, T::kKind, handle);
    return nullptr;
  }
  return std::static_pointer_cast<T>(std::move(object));
}

// Registers `object` and returns its handle as the C type H.
template <typename H>
H* NewHandle(std::shared_ptr<Object> object) {
  return reinterpret_cast<H*>(AddHandle(std::move(object)));
}

// A copy of `data` in memory the caller frees with warden_free.
char* NewString(std::string_view data);

// Releases an object taken out of the registry. A job that still runs is
// killed first, so that a wait in another thread returns and the last
// reference, wherever it is dropped, does not block for long.
void Release(std::shared_ptr<Object> object);

// Frees a handle of T's kind (the typed *_free functions).
template <typename T>
int FreeTyped(const char* kFn, void* handle) {
  return Guard(kFn, [&]() -> int {
    std::shared_ptr<Object> object = handle ? RemoveHandle(Token(handle), T::kKind) : nullptr;
    if (!object) return BadHandle(kFn, T::kKind, handle);
    Release(std::move(object));
    return WARDEN_OK;
  });
}

// ---------------------------------------------------------------------------
// Argument checks.

int NullArgument(const char* function, const char* what);
// Fails with WARDEN_EINVAL for a stream number that is not 0..2 (1..2 when
// `output_only`).
int BadStream(const char* function, int stream, bool output_only);
// The JobSpec's StdioSpec for a stream number, or nullptr.
StdioSpec* StreamOf(JobSpec& spec, int stream);
// The job's result, or nullptr with WARDEN_ESTATE in *rc before its end.
const JobResult* EndedOrFail(const char* function, JobObject& job, int* rc);

// In a function whose name is in kFn: returns WARDEN_EINVAL when `arg` is
// NULL.
#define WARDEN_C_REQUIRE(arg)                                                \
  do {                                                                       \
    if ((arg) == nullptr) return ::warden::capi::NullArgument(kFn, #arg);    \
  } while (0)

// Declares `var`, the object of `handle` as a Type, or returns the error.
#define WARDEN_C_LOOKUP(var, Type, handle)                                         \
  int var##_rc = WARDEN_OK;                                                        \
  std::shared_ptr<Type> var = ::warden::capi::Lookup<Type>(kFn, handle, &var##_rc); \
  if (!var) return var##_rc

// As WARDEN_C_LOOKUP, holding the object's mutex until the scope ends (for
// options and specs, never for jobs, whose calls may block).
#define WARDEN_C_LOOKUP_LOCKED(var, Type, handle) \
  WARDEN_C_LOOKUP(var, Type, handle);             \
  std::lock_guard<std::mutex> var##_lock(var->mu)

// Options and spec setters share one shape: look the handle up, check the
// string, store it.
template <typename T, typename F>
int SetString(const char* kFn, void* handle, const char* value, F&& store) {
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, T, handle);
    WARDEN_C_REQUIRE(value);
    store(*object, std::string(value));
    return WARDEN_OK;
  });
}

template <typename T, typename F>
int SetValue(const char* kFn, void* handle, F&& store) {
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, T, handle);
    store(*object);
    return WARDEN_OK;
  });
}

}  // namespace warden::capi

#endif  // WARDEN_CAPI_HANDLES_H_
