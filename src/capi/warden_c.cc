// The C interface of include/warden/warden.h: errors, versions, warden_free,
// launcher options and launchers. Job specs are in spec_c.cc, jobs and
// their results in job_c.cc; capi/handles.h says what every entry point
// stands on.
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "capi/handles.h"
#include "warden/job.h"
#include "warden/launcher.h"
#include "warden/log.h"
#include "warden/warden.h"

using warden::capi::Guard;
using warden::capi::FreeTyped;
using warden::capi::JobObject;
using warden::capi::LauncherObject;
using warden::capi::OptionsObject;
using warden::capi::SpecObject;
namespace capi = warden::capi;

// ---------------------------------------------------------------------------
// Errors and versions.

const char* warden_last_error(void) { return capi::LastError(); }

const char* warden_error_name(int code) {
  switch (code) {
    case WARDEN_OK: return "WARDEN_OK";
    case WARDEN_EINVAL: return "WARDEN_EINVAL";
    case WARDEN_EBADHANDLE: return "WARDEN_EBADHANDLE";
    case WARDEN_ESTATE: return "WARDEN_ESTATE";
    case WARDEN_ETIMEDOUT: return "WARDEN_ETIMEDOUT";
    case WARDEN_ENOMEM: return "WARDEN_ENOMEM";
    case WARDEN_ESYSTEM: return "WARDEN_ESYSTEM";
    case WARDEN_ENOTFOUND: return "WARDEN_ENOTFOUND";
    case WARDEN_EPERM: return "WARDEN_EPERM";
    case WARDEN_EINTERNAL: return "WARDEN_EINTERNAL";
  }
  return "unknown";
}

const char* warden_version(void) { return warden::Version(); }

int warden_abi_version(void) { return WARDEN_ABI_VERSION; }

int warden_free(void* object) {
  static constexpr const char* kFn = "warden_free";
  return Guard(kFn, [&]() -> int {
    if (object == nullptr) {
      return capi::Fail(WARDEN_EBADHANDLE, "warden_free: the pointer is NULL: nothing to free");
    }
    if (auto handle = capi::RemoveHandle(capi::Token(object), std::nullopt)) {
      capi::Release(std::move(handle));
      return WARDEN_OK;
    }
    if (capi::RemoveString(object)) {
      std::free(object);
      return WARDEN_OK;
    }
    return capi::Fail(WARDEN_EBADHANDLE,
                      "warden_free: the pointer is not one warden handed out, or was freed "
                      "already: free each string and handle once");
  });
}

// ---------------------------------------------------------------------------
// Launcher options.

int warden_launcher_options_new(warden_launcher_options** out) {
  static constexpr const char* kFn = "warden_launcher_options_new";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_REQUIRE(out);
    *out = capi::NewHandle<warden_launcher_options>(std::make_shared<OptionsObject>());
    return WARDEN_OK;
  });
}

int warden_launcher_options_free(warden_launcher_options* options) {
  return FreeTyped<OptionsObject>("warden_launcher_options_free", options);
}

// One setter per string field of LauncherOptions.
#define WARDEN_C_OPTION_STRING(function, field)                                      \
  int function(warden_launcher_options* options, const char* value) {                \
    return capi::SetString<OptionsObject>(#function, options, value,                 \
                                          [](OptionsObject& o, std::string v) {      \
                                            o.options.field = std::move(v);          \
                                          });                                        \
  }
WARDEN_C_OPTION_STRING(warden_launcher_options_set_state_dir, state_dir)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_net_state_dir, net_state_dir)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_uid_state_dir, uid_state_dir)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_cache_dir, cache_dir)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_policy_dir, policy_dir)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_cgroup_parent, cgroup_parent)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_net_pool, net_pool)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_uid_range, uid_range)
WARDEN_C_OPTION_STRING(warden_launcher_options_set_cgroup_disable, cgroup_disable)
#undef WARDEN_C_OPTION_STRING

// One setter per permission of LauncherOptions.
#define WARDEN_C_OPTION_BOOL(function, field)                                           \
  int function(warden_launcher_options* options, int allow) {                           \
    return capi::SetValue<OptionsObject>(                                               \
        #function, options, [allow](OptionsObject& o) { o.options.field = allow != 0; }); \
  }
WARDEN_C_OPTION_BOOL(warden_launcher_options_set_may_move_self, may_move_self)
WARDEN_C_OPTION_BOOL(warden_launcher_options_set_forward_signals, forward_signals)
WARDEN_C_OPTION_BOOL(warden_launcher_options_set_may_change_sysctls, may_change_sysctls)
#undef WARDEN_C_OPTION_BOOL

int warden_launcher_options_set_log(warden_launcher_options* options, warden_log_fn fn,
                                    void* ctx, int min_level) {
  static constexpr const char* kFn = "warden_launcher_options_set_log";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, OptionsObject, options);
    if (min_level < WARDEN_LOG_DEBUG || min_level > WARDEN_LOG_ERROR) {
      return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": level " + std::to_string(min_level) +
                                           " is not one of WARDEN_LOG_DEBUG (0) to "
                                           "WARDEN_LOG_ERROR (3)");
    }
    object->log_fn = fn;
    object->log_ctx = ctx;
    object->options.min_log_level = static_cast<warden::LogLevel>(min_level);
    return WARDEN_OK;
  });
}

int warden_launcher_options_setenv(warden_launcher_options* options, const char* name,
                                   const char* value) {
  static constexpr const char* kFn = "warden_launcher_options_setenv";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, OptionsObject, options);
    WARDEN_C_REQUIRE(name);
    WARDEN_C_REQUIRE(value);
    if (*name == '\0' || std::strchr(name, '=') != nullptr) {
      return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": variable name \"" + name +
                                           "\" is empty or holds '=': pass the name alone");
    }
    object->options.environment[name] = value;
    return WARDEN_OK;
  });
}

int warden_launcher_options_import_environ(warden_launcher_options* options,
                                           const char* const* envp) {
  static constexpr const char* kFn = "warden_launcher_options_import_environ";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, OptionsObject, options);
    WARDEN_C_REQUIRE(envp);
    // Built aside and swapped in, so that a failure changes nothing.
    std::map<std::string, std::string> environment = object->options.environment;
    for (const char* const* e = envp; *e != nullptr; ++e) {
      const char* eq = std::strchr(*e, '=');
      if (eq == nullptr || eq == *e) continue;
      environment[std::string(*e, eq)] = eq + 1;
    }
    object->options.environment.swap(environment);
    return WARDEN_OK;
  });
}

int warden_launcher_options_clear_environment(warden_launcher_options* options) {
  return capi::SetValue<OptionsObject>("warden_launcher_options_clear_environment", options,
                                       [](OptionsObject& o) { o.options.environment.clear(); });
}

// ---------------------------------------------------------------------------
// Launcher.

int warden_launcher_new(const warden_launcher_options* options, warden_launcher** out) {
  static constexpr const char* kFn = "warden_launcher_new";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_REQUIRE(out);
    warden::LauncherOptions launcher_options;
    if (options != nullptr) {
      WARDEN_C_LOOKUP_LOCKED(object, OptionsObject, options);
      launcher_options = object->options;
      if (warden_log_fn fn = object->log_fn) {
        void* ctx = object->log_ctx;
        launcher_options.log_sink = [fn, ctx](warden::LogLevel level, const std::string& job_id,
                                              const std::string& message) {
          fn(ctx, static_cast<int>(level), job_id.c_str(), message.c_str());
        };
      }
    }
    auto launcher = warden::Launcher::Create(std::move(launcher_options));
    if (!launcher.ok()) return capi::FailStatus(kFn, launcher.status());
    *out = capi::NewHandle<warden_launcher>(
        std::make_shared<LauncherObject>(std::move(launcher).value()));
    return WARDEN_OK;
  });
}

int warden_launcher_free(warden_launcher* launcher) {
  return FreeTyped<LauncherObject>("warden_launcher_free", launcher);
}
