// The C interface of include/warden/warden.h: job specs, as JobSpec of
// include/warden/launcher.h.
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capi/handles.h"
#include "warden/launcher.h"
#include "warden/policy.h"
#include "warden/warden.h"

using warden::capi::FreeTyped;
using warden::capi::Guard;
using warden::capi::SpecObject;
namespace capi = warden::capi;

// ---------------------------------------------------------------------------
// Job specs.

int warden_job_spec_new(warden_job_spec** out) {
  static constexpr const char* kFn = "warden_job_spec_new";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_REQUIRE(out);
    *out = capi::NewHandle<warden_job_spec>(std::make_shared<SpecObject>());
    return WARDEN_OK;
  });
}

int warden_job_spec_free(warden_job_spec* spec) {
  return FreeTyped<SpecObject>("warden_job_spec_free", spec);
}

int warden_job_spec_set_policy(warden_job_spec* spec, const char* name_or_file) {
  return capi::SetString<SpecObject>("warden_job_spec_set_policy", spec, name_or_file,
                                     [](SpecObject& s, std::string v) {
                                       s.policy_name = std::move(v);
                                       s.spec.policy = warden::Policy();
                                       s.resolved_by = 0;
                                     });
}

int warden_job_spec_set_policy_toml(warden_job_spec* spec, const char* toml, const char* name) {
  static constexpr const char* kFn = "warden_job_spec_set_policy_toml";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, SpecObject, spec);
    WARDEN_C_REQUIRE(toml);
    WARDEN_C_REQUIRE(name);
    auto policy = warden::LoadPolicyString(toml, name);
    if (!policy.ok()) return capi::FailStatus(kFn, policy.status());
    object->spec.policy = std::move(policy).value();
    object->policy_name.reset();
    return WARDEN_OK;
  });
}

int warden_job_spec_set_argv(warden_job_spec* spec, size_t argc, const char* const* argv) {
  static constexpr const char* kFn = "warden_job_spec_set_argv";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, SpecObject, spec);
    if (argc == 0) {
      return capi::Fail(WARDEN_EINVAL, std::string(kFn) +
                                           ": argc is 0: a job needs at least the program's path");
    }
    WARDEN_C_REQUIRE(argv);
    std::vector<std::string> args;
    args.reserve(argc);
    for (size_t i = 0; i < argc; ++i) {
      if (argv[i] == nullptr) {
        return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": argv[" + std::to_string(i) +
                                             "] is NULL: pass argc non-NULL strings");
      }
      args.emplace_back(argv[i]);
    }
    object->spec.argv = std::move(args);
    return WARDEN_OK;
  });
}

int warden_job_spec_setenv(warden_job_spec* spec, const char* name, const char* value) {
  static constexpr const char* kFn = "warden_job_spec_setenv";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, SpecObject, spec);
    WARDEN_C_REQUIRE(name);
    WARDEN_C_REQUIRE(value);
    object->spec.env[name] = value;
    return WARDEN_OK;
  });
}

int warden_job_spec_add_env_pass(warden_job_spec* spec, const char* name) {
  return capi::SetString<SpecObject>(
      "warden_job_spec_add_env_pass", spec, name,
      [](SpecObject& s, std::string v) { s.spec.env_pass.push_back(std::move(v)); });
}

int warden_job_spec_add_bind(warden_job_spec* spec, const char* source, const char* destination,
                             int mode) {
  static constexpr const char* kFn = "warden_job_spec_add_bind";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, SpecObject, spec);
    WARDEN_C_REQUIRE(source);
    WARDEN_C_REQUIRE(destination);
    if (mode != WARDEN_BIND_RO && mode != WARDEN_BIND_RW && mode != WARDEN_BIND_OWNED) {
      return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": mode " + std::to_string(mode) +
                                           " is not WARDEN_BIND_RO, WARDEN_BIND_RW or "
                                           "WARDEN_BIND_OWNED");
    }
    warden::MountSpec mount;
    mount.kind = warden::MountSpec::Kind::kBind;
    mount.source = source;
    mount.destination = destination;
    // An owned bind is there to be written, as `warden run --bind-owned`.
    mount.writable = mode != WARDEN_BIND_RO;
    mount.owned = mode == WARDEN_BIND_OWNED;
    object->spec.extra_mounts.push_back(std::move(mount));
    return WARDEN_OK;
  });
}

int warden_job_spec_set_timeout_ms(warden_job_spec* spec, uint64_t timeout_ms) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_timeout_ms", spec,
                                    [timeout_ms](SpecObject& s) { s.spec.wall_time_ms = timeout_ms; });
}

// Sets one stream, after checking its number.
static int SetStream(const char* kFn, warden_job_spec* spec, int stream,
                     const warden::StdioSpec& value, bool output_only) {
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, SpecObject, spec);
    warden::StdioSpec* target = capi::StreamOf(object->spec, stream);
    if (target == nullptr || (output_only && stream == WARDEN_STDIN)) {
      return capi::BadStream(kFn, stream, output_only);
    }
    *target = value;
    return WARDEN_OK;
  });
}

int warden_job_spec_set_stdio_null(warden_job_spec* spec, int stream) {
  return SetStream("warden_job_spec_set_stdio_null", spec, stream, warden::StdioSpec::Null(),
                   false);
}

int warden_job_spec_set_stdio_fd(warden_job_spec* spec, int stream, int fd) {
  static constexpr const char* kFn = "warden_job_spec_set_stdio_fd";
  if (fd < 0) {
    return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": fd " + std::to_string(fd) +
                                         " is negative: pass an open file descriptor");
  }
  return SetStream(kFn, spec, stream, warden::StdioSpec::Fd(fd), false);
}

int warden_job_spec_set_stdio_relay(warden_job_spec* spec, int stream, int fd) {
  static constexpr const char* kFn = "warden_job_spec_set_stdio_relay";
  if (fd < 0) {
    return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": fd " + std::to_string(fd) +
                                         " is negative: pass an open file descriptor");
  }
  return SetStream(kFn, spec, stream, warden::StdioSpec::Relay(fd), true);
}

int warden_job_spec_set_stdio_file(warden_job_spec* spec, int stream, const char* path,
                                   uint64_t max_bytes) {
  static constexpr const char* kFn = "warden_job_spec_set_stdio_file";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_REQUIRE(path);
    return SetStream(kFn, spec, stream, warden::StdioSpec::File(path, max_bytes), false);
  });
}

int warden_job_spec_set_stdio_capture(warden_job_spec* spec, int stream, uint64_t max_bytes) {
  return SetStream("warden_job_spec_set_stdio_capture", spec, stream,
                   warden::StdioSpec::Capture(max_bytes), true);
}

// One setter per string field of JobSpec.
#define WARDEN_C_SPEC_STRING(function, field)                                              \
  int function(warden_job_spec* spec, const char* value) {                                 \
    return capi::SetString<SpecObject>(                                                    \
        #function, spec, value, [](SpecObject& s, std::string v) { s.spec.field = std::move(v); }); \
  }
WARDEN_C_SPEC_STRING(warden_job_spec_set_output_dir, output_dir)
WARDEN_C_SPEC_STRING(warden_job_spec_set_job_id, job_id)
WARDEN_C_SPEC_STRING(warden_job_spec_set_cgroup_parent, cgroup_parent)
WARDEN_C_SPEC_STRING(warden_job_spec_set_cwd, cwd)
WARDEN_C_SPEC_STRING(warden_job_spec_set_hostname, hostname)
#undef WARDEN_C_SPEC_STRING

int warden_job_spec_add_allow(warden_job_spec* spec, const char* entry) {
  return capi::SetString<SpecObject>(
      "warden_job_spec_add_allow", spec, entry,
      [](SpecObject& s, std::string v) { s.spec.allow.push_back(std::move(v)); });
}

int warden_job_spec_set_pty(warden_job_spec* spec, int pty) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_pty", spec,
                                    [pty](SpecObject& s) { s.spec.pty = pty != 0; });
}

int warden_job_spec_set_die_with_parent(warden_job_spec* spec, int on) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_die_with_parent", spec,
                                    [on](SpecObject& s) { s.spec.die_with_parent = on != 0; });
}

int warden_job_spec_set_uid(warden_job_spec* spec, uint32_t uid) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_uid", spec,
                                    [uid](SpecObject& s) { s.spec.uid = uid; });
}

int warden_job_spec_set_gid(warden_job_spec* spec, uint32_t gid) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_gid", spec,
                                    [gid](SpecObject& s) { s.spec.gid = gid; });
}

// A count limit, or none for WARDEN_NO_LIMIT. Never optional, as the flags.
static warden::CgroupLimit<uint64_t> CountLimit(uint64_t value) {
  warden::CgroupLimit<uint64_t> limit;
  if (value != WARDEN_NO_LIMIT) limit.value = value;
  return limit;
}

int warden_job_spec_set_memory_bytes(warden_job_spec* spec, uint64_t bytes) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_memory_bytes", spec,
                                    [bytes](SpecObject& s) { s.spec.memory = CountLimit(bytes); });
}

int warden_job_spec_set_pids(warden_job_spec* spec, uint64_t pids) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_pids", spec,
                                    [pids](SpecObject& s) { s.spec.pids = CountLimit(pids); });
}

int warden_job_spec_set_cpus(warden_job_spec* spec, double cpus) {
  static constexpr const char* kFn = "warden_job_spec_set_cpus";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, SpecObject, spec);
    if (!std::isfinite(cpus)) {
      return capi::Fail(WARDEN_EINVAL, std::string(kFn) +
                                           ": cpus is not a finite number: pass a number of "
                                           "CPUs, or WARDEN_NO_CPU_LIMIT");
    }
    warden::CgroupLimit<double> limit;
    if (cpus >= 0) limit.value = cpus;
    object->spec.cpus = limit;
    return WARDEN_OK;
  });
}

int warden_job_spec_set_tmp_size_bytes(warden_job_spec* spec, uint64_t bytes) {
  return capi::SetValue<SpecObject>("warden_job_spec_set_tmp_size_bytes", spec,
                                    [bytes](SpecObject& s) { s.spec.tmp_size_bytes = bytes; });
}

int warden_job_spec_set_net(warden_job_spec* spec, int mode) {
  static constexpr const char* kFn = "warden_job_spec_set_net";
  return Guard(kFn, [&]() -> int {
    WARDEN_C_LOOKUP_LOCKED(object, SpecObject, spec);
    using Mode = warden::NetworkSpec::Mode;
    switch (mode) {
      case WARDEN_NET_NONE: object->spec.net = Mode::kNone; return WARDEN_OK;
      case WARDEN_NET_LOOPBACK: object->spec.net = Mode::kLoopback; return WARDEN_OK;
      case WARDEN_NET_VETH: object->spec.net = Mode::kVeth; return WARDEN_OK;
    }
    return capi::Fail(WARDEN_EINVAL, std::string(kFn) + ": mode " + std::to_string(mode) +
                                         " is not WARDEN_NET_NONE, WARDEN_NET_LOOPBACK or "
                                         "WARDEN_NET_VETH");
  });
}
