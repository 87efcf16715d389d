// The C interface of include/warden/warden.h: jobs and their results, over
// Launcher::Start and Job of include/warden/launcher.h.
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "capi/handles.h"
#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/warden.h"

using warden::capi::FreeTyped;
using warden::capi::Guard;
using warden::capi::JobObject;
using warden::capi::LauncherObject;
using warden::capi::SpecObject;
namespace capi = warden::capi;

// ---------------------------------------------------------------------------
// Jobs.

int warden_job_start(warden_launcher* launcher, const warden_job_spec* spec, warden_job** out) {
  static constexpr const char* kFn = "warden_job_start";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(l, LauncherObject, launcher);
    WARDEN_C_LOOKUP(s, SpecObject, spec);
    WARDEN_C_REQUIRE(out);
    const uintptr_t launcher_token = capi::Token(launcher);
    warden::JobSpec job_spec;
    std::optional<std::string> policy_name;
    bool resolved = false;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      job_spec = s->spec;
      policy_name = s->policy_name;
      resolved = s->resolved_by == launcher_token;
    }
    // A policy name is resolved once per launcher and spec (a parse and a
    // check of the policy file each time would cost every start).
    if (policy_name && !resolved) {
      auto policy = l->launcher->LoadPolicy(*policy_name);
      if (!policy.ok()) return capi::FailStatus(kFn, policy.status());
      job_spec.policy = std::move(policy).value();
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->policy_name == policy_name) {
        s->spec.policy = job_spec.policy;
        s->resolved_by = launcher_token;
      }
    }
    auto job = l->launcher->Start(std::move(job_spec));
    if (!job.ok()) return capi::FailStatus(kFn, job.status());
    *out = capi::NewHandle<warden_job>(std::make_shared<JobObject>(std::move(job).value()));
    return WARDEN_OK;
  });
}

int warden_job_free(warden_job* job) { return FreeTyped<JobObject>("warden_job_free", job); }

const char* warden_job_id(warden_job* job) {
  static constexpr const char* kFn = "warden_job_id";
  const char* id = nullptr;
  (void)Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    // The string lives in the object, which the registry holds until the
    // handle is freed.
    id = object->id.c_str();
    return WARDEN_OK;
  });
  return id;
}

int warden_job_fd(warden_job* job, int which) {
  static constexpr const char* kFn = "warden_job_fd";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    if (which == WARDEN_FD_END) return object->job->end_fd();
    if (which != WARDEN_FD_PID) {
      return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": " + std::to_string(which) +
                                           " is not WARDEN_FD_PID (1) or WARDEN_FD_END (2)");
    }
    int fd = object->job->pidfd();
    if (fd < 0) {
      return capi::Fail(WARDEN_ESTATE, std::string(kFn) + ": job " + object->id +
                                           " never started (its setup failed), so it has no "
                                           "pidfd: read its result");
    }
    return fd;
  });
}

int warden_job_wait(warden_job* job, int timeout_ms) {
  static constexpr const char* kFn = "warden_job_wait";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    if (timeout_ms < -1) {
      return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": timeout " +
                                           std::to_string(timeout_ms) +
                                           " ms is negative: pass -1 (no limit) or a number of "
                                           "milliseconds");
    }
    if (timeout_ms == -1) {
      object->Record(object->job->Wait());
      return WARDEN_OK;
    }
    auto result = object->job->WaitFor(std::chrono::milliseconds(timeout_ms));
    if (result.ok()) {
      object->Record(result.value());
      return WARDEN_OK;
    }
    if (result.status().code() == warden::Code::kUnavailable) {
      return capi::Fail(WARDEN_ETIMEDOUT, std::string(kFn) + ": job " + object->id +
                                              " still runs after " + std::to_string(timeout_ms) +
                                              " ms: wait again, or stop it with "
                                              "warden_job_kill or warden_job_cancel");
    }
    return capi::FailStatus(kFn, result.status());
  });
}

int warden_job_kill(warden_job* job, int sig) {
  static constexpr const char* kFn = "warden_job_kill";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    warden::Status status = object->job->Kill(sig);
    return status.ok() ? WARDEN_OK : capi::FailStatus(kFn, status);
  });
}

int warden_job_cancel(warden_job* job) {
  static constexpr const char* kFn = "warden_job_cancel";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    warden::Status status = object->job->Cancel();
    return status.ok() ? WARDEN_OK : capi::FailStatus(kFn, status);
  });
}

// ---------------------------------------------------------------------------
// Results.

int warden_job_status(warden_job* job, int* status) {
  static constexpr const char* kFn = "warden_job_status";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    WARDEN_C_REQUIRE(status);
    int rc = WARDEN_OK;
    const warden::JobResult* result = capi::EndedOrFail(kFn, *object, &rc);
    if (result == nullptr) return rc;
    *status = static_cast<int>(result->status);
    return WARDEN_OK;
  });
}

const char* warden_job_status_name(int status) {
  if (status < WARDEN_JOB_OK || status > WARDEN_JOB_CANCELLED) return "unknown";
  return warden::JobStatusName(static_cast<warden::JobStatus>(status));
}

int warden_job_exit_code(warden_job* job, int* exit_code) {
  static constexpr const char* kFn = "warden_job_exit_code";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    WARDEN_C_REQUIRE(exit_code);
    int rc = WARDEN_OK;
    const warden::JobResult* result = capi::EndedOrFail(kFn, *object, &rc);
    if (result == nullptr) return rc;
    *exit_code = result->exit_code;
    return WARDEN_OK;
  });
}

int warden_result_json(warden_job* job, char** json) {
  static constexpr const char* kFn = "warden_result_json";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    WARDEN_C_REQUIRE(json);
    int rc = WARDEN_OK;
    const warden::JobResult* result = capi::EndedOrFail(kFn, *object, &rc);
    if (result == nullptr) return rc;
    *json = capi::NewString(warden::JobResultToJson(*result));
    return WARDEN_OK;
  });
}

int warden_job_output(warden_job* job, int stream, char** data, size_t* len) {
  static constexpr const char* kFn = "warden_job_output";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP(object, JobObject, job);
    WARDEN_C_REQUIRE(data);
    WARDEN_C_REQUIRE(len);
    if (stream != WARDEN_STDOUT && stream != WARDEN_STDERR) {
      return capi::BadStream(kFn, stream, true);
    }
    int rc = WARDEN_OK;
    const warden::JobResult* result = capi::EndedOrFail(kFn, *object, &rc);
    if (result == nullptr) return rc;
    const std::string& out = stream == WARDEN_STDOUT ? result->stdout_data : result->stderr_data;
    *data = capi::NewString(out);
    *len = out.size();
    return WARDEN_OK;
  });
}
