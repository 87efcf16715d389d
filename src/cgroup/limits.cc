#include "cgroup/limits.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "base/file.h"

namespace warden::cgroup {
namespace {

Status Invalid(const std::string& what) {
  return Status::Error(Code::kInvalidArgument, "cgroup limit " + what);
}

Status CheckCpuset(const std::string& name, const std::string& v) {
  if (v.empty() || v.size() > kMaxCpusetBytes) {
    return Invalid(name + ": must be 1.." + std::to_string(kMaxCpusetBytes) + " characters");
  }
  for (char ch : v) {
    if (!((ch >= '0' && ch <= '9') || ch == ',' || ch == '-')) {
      return Invalid(name + " \"" + v + "\": only digits, ',' and '-' are allowed");
    }
  }
  return Status::Ok();
}

struct IoRule {
  std::string device;  // "MAJ:MIN"
  std::vector<std::pair<std::string, std::string>> settings;  // key, value ("max" or digits)
};

Result<std::vector<IoRule>> ParseIoMax(const std::string& text) {
  if (text.size() > kMaxIoBytes) return Invalid("io_max: longer than 4096 bytes");
  std::vector<IoRule> rules;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? end : end - start);
    start = end == std::string::npos ? text.size() + 1 : end + 1;
    std::vector<std::string> w = SplitWords(line);
    if (w.empty()) continue;
    if (rules.size() >= kMaxIoLines) return Invalid("io_max: more than 64 lines");
    IoRule r;
    size_t colon = w[0].find(':');
    if (colon == std::string::npos || !ParseU64(w[0].substr(0, colon)) ||
        !ParseU64(w[0].substr(colon + 1))) {
      return Invalid("io_max \"" + line + "\": expected MAJ:MIN key=value...");
    }
    r.device = w[0];
    if (w.size() < 2) return Invalid("io_max \"" + line + "\": no setting");
    for (size_t i = 1; i < w.size(); ++i) {
      size_t eq = w[i].find('=');
      std::string key = eq == std::string::npos ? w[i] : w[i].substr(0, eq);
      std::string val = eq == std::string::npos ? "" : w[i].substr(eq + 1);
      if (key != "rbps" && key != "wbps" && key != "riops" && key != "wiops") {
        return Invalid("io_max \"" + line + "\": unknown key \"" + key +
                       "\" (rbps, wbps, riops, wiops)");
      }
      if (val != "max" && !ParseU64(val)) {
        return Invalid("io_max \"" + line + "\": " + key + " must be a number or max");
      }
      r.settings.emplace_back(key, val);
    }
    rules.push_back(std::move(r));
  }
  return rules;
}

Status WriteIn(const std::string& dir, const char* file, const std::string& value) {
  return WriteCgroupFile(dir + "/" + file, value);
}

// Swap that cannot be limited is harmless only when there is no swap.
Status SwapFileMissing(const LimitRequest& l, const std::string& file) {
  if (l.implicit && l.value == 0 && !SwapActive()) return Status::Ok();
  return Status::Error(Code::kUnavailable,
                       file + " is missing (swap accounting is off: boot with swapaccount=1)");
}

Status ApplyV2(const LimitRequest& l, const std::string& dir) {
  using K = LimitRequest::Kind;
  switch (l.kind) {
    case K::kMemory: return WriteIn(dir, "memory.max", std::to_string(l.value));
    case K::kSwap:
      if (!PathExists(dir + "/memory.swap.max")) return SwapFileMissing(l, "memory.swap.max");
      return WriteIn(dir, "memory.swap.max", std::to_string(l.value));
    case K::kPids: return WriteIn(dir, "pids.max", std::to_string(l.value));
    case K::kCpu:
      return WriteIn(dir, "cpu.max",
                     std::to_string(l.value) + " " + std::to_string(kCpuPeriodUsec));
    case K::kCpusetCpus: return WriteIn(dir, "cpuset.cpus", l.text);
    case K::kCpusetMems: return WriteIn(dir, "cpuset.mems", l.text);
    case K::kIo: {
      WARDEN_ASSIGN_OR_RETURN(std::vector<IoRule> rules, ParseIoMax(l.text));
      for (const IoRule& r : rules) {
        std::string line = r.device;
        for (const auto& [k, v] : r.settings) line += " " + k + "=" + v;
        WARDEN_RETURN_IF_ERROR(WriteIn(dir, "io.max", line));
      }
      return Status::Ok();
    }
  }
  return Status::Error(Code::kInternal, "unknown limit kind");
}

Status ApplyV1(const LimitRequest& l, const std::string& dir) {
  using K = LimitRequest::Kind;
  switch (l.kind) {
    case K::kMemory: return WriteIn(dir, "memory.limit_in_bytes", std::to_string(l.value));
    case K::kSwap: {
      if (l.memory == 0) {
        return Status::Error(Code::kUnavailable,
                             "v1 limits swap only together with a memory limit");
      }
      if (!PathExists(dir + "/memory.memsw.limit_in_bytes")) {
        return SwapFileMissing(l, "memory.memsw.limit_in_bytes");
      }
      uint64_t total = l.memory + std::min<uint64_t>(l.value, UINT64_MAX / 2 - l.memory);
      return WriteIn(dir, "memory.memsw.limit_in_bytes", std::to_string(total));
    }
    case K::kPids: return WriteIn(dir, "pids.max", std::to_string(l.value));
    case K::kCpu:
      WARDEN_RETURN_IF_ERROR(WriteIn(dir, "cpu.cfs_period_us", std::to_string(kCpuPeriodUsec)));
      return WriteIn(dir, "cpu.cfs_quota_us", std::to_string(l.value));
    case K::kCpusetCpus: return WriteIn(dir, "cpuset.cpus", l.text);
    case K::kCpusetMems: return WriteIn(dir, "cpuset.mems", l.text);
    case K::kIo: {
      WARDEN_ASSIGN_OR_RETURN(std::vector<IoRule> rules, ParseIoMax(l.text));
      for (const IoRule& r : rules) {
        for (const auto& [k, v] : r.settings) {
          if (v == "max") continue;  // a fresh v1 group has no throttle
          const char* file = k == "rbps"    ? "blkio.throttle.read_bps_device"
                             : k == "wbps"  ? "blkio.throttle.write_bps_device"
                             : k == "riops" ? "blkio.throttle.read_iops_device"
                                            : "blkio.throttle.write_iops_device";
          WARDEN_RETURN_IF_ERROR(WriteIn(dir, file, r.device + " " + v));
        }
      }
      return Status::Ok();
    }
  }
  return Status::Error(Code::kInternal, "unknown limit kind");
}

std::optional<uint64_t> ReadU64(const std::string& path) {
  Result<std::string> text = ReadCgroupFile(path);
  if (!text.ok()) return std::nullopt;
  std::vector<std::string> w = SplitWords(*text);
  if (w.size() != 1) return std::nullopt;
  if (w[0] == "max") return std::nullopt;
  return ParseU64(w[0]);
}

std::optional<uint64_t> ReadKey(const std::string& path, const std::string& key) {
  Result<std::string> text = ReadCgroupFile(path);
  if (!text.ok()) return std::nullopt;
  return KeyedValue(*text, key);
}

bool Has(const std::vector<Controller>& v, Controller c) {
  return std::find(v.begin(), v.end(), c) != v.end();
}

void ReadV2(const std::string& dir, const std::vector<Controller>& ctrls, Accounting* a) {
  if (Has(ctrls, kMemory)) {
    a->memory_peak_bytes = ReadU64(dir + "/memory.peak");
    a->oom_kill_count = ReadKey(dir + "/memory.events", "oom_kill");
  }
  if (Has(ctrls, kPids)) {
    a->pids_peak = ReadU64(dir + "/pids.peak");
    a->pids_current = ReadU64(dir + "/pids.current");
  }
  // cpu.stat's usage lines exist in every v2 cgroup; the throttling lines
  // only with the cpu controller.
  Result<std::string> cpu = ReadCgroupFile(dir + "/cpu.stat");
  if (cpu.ok()) {
    a->cpu_user_usec = KeyedValue(*cpu, "user_usec");
    a->cpu_system_usec = KeyedValue(*cpu, "system_usec");
    if (Has(ctrls, kCpu)) a->cpu_throttled_usec = KeyedValue(*cpu, "throttled_usec");
  }
  if (Has(ctrls, kIo)) {
    Result<std::string> io = ReadCgroupFile(dir + "/io.stat");
    if (io.ok()) {
      uint64_t rd = 0, wr = 0;
      for (const std::string& w : SplitWords(*io)) {
        if (w.rfind("rbytes=", 0) == 0) rd += ParseU64(w.substr(7)).value_or(0);
        if (w.rfind("wbytes=", 0) == 0) wr += ParseU64(w.substr(7)).value_or(0);
      }
      a->io_read_bytes = rd;
      a->io_write_bytes = wr;
    }
  }
}

void ReadV1(const std::string& dir, const std::vector<Controller>& ctrls, Accounting* a) {
  if (Has(ctrls, kMemory)) {
    a->memory_peak_bytes = ReadU64(dir + "/memory.max_usage_in_bytes");
    a->oom_kill_count = ReadKey(dir + "/memory.oom_control", "oom_kill");
  }
  if (Has(ctrls, kPids)) {
    a->pids_peak = ReadU64(dir + "/pids.peak");
    a->pids_current = ReadU64(dir + "/pids.current");
  }
  if (Has(ctrls, kCpuacct)) {
    std::optional<uint64_t> user_ns = ReadU64(dir + "/cpuacct.usage_user");
    std::optional<uint64_t> sys_ns = ReadU64(dir + "/cpuacct.usage_sys");
    if (user_ns && sys_ns) {
      a->cpu_user_usec = *user_ns / 1000;
      a->cpu_system_usec = *sys_ns / 1000;
    } else {
      // Older kernels: USER_HZ ticks only.
      long hz = ::sysconf(_SC_CLK_TCK);
      uint64_t usec_per_tick = hz > 0 ? 1000000 / static_cast<uint64_t>(hz) : 10000;
      std::optional<uint64_t> u = ReadKey(dir + "/cpuacct.stat", "user");
      std::optional<uint64_t> s = ReadKey(dir + "/cpuacct.stat", "system");
      if (u) a->cpu_user_usec = *u * usec_per_tick;
      if (s) a->cpu_system_usec = *s * usec_per_tick;
    }
  }
  if (Has(ctrls, kCpu)) {
    std::optional<uint64_t> ns = ReadKey(dir + "/cpu.stat", "throttled_time");
    if (ns) a->cpu_throttled_usec = *ns / 1000;
  }
  if (Has(ctrls, kIo)) {
    Result<std::string> io = ReadCgroupFile(dir + "/blkio.throttle.io_service_bytes");
    if (io.ok()) {
      // "MAJ:MIN Read N" lines per device, then "Total N".
      uint64_t rd = 0, wr = 0;
      std::vector<std::string> w = SplitWords(*io);
      for (size_t i = 0; i + 2 < w.size(); ++i) {
        if (w[i].find(':') == std::string::npos) continue;
        if (w[i + 1] == "Read") rd += ParseU64(w[i + 2]).value_or(0);
        if (w[i + 1] == "Write") wr += ParseU64(w[i + 2]).value_or(0);
      }
      a->io_read_bytes = rd;
      a->io_write_bytes = wr;
    }
  }
}

}  // namespace

bool SwapActive() {
  Result<std::string> text = base::ReadFile("/proc/swaps", 1 << 20);
  if (!text.ok()) return true;  // cannot tell: assume the worse
  size_t lines = std::count(text->begin(), text->end(), '\n');
  return lines > 1;  // the first line is the header
}

Result<std::vector<LimitRequest>> PlanLimits(const CgroupSpec& spec) {
  using K = LimitRequest::Kind;
  std::vector<LimitRequest> out;
  auto add = [&](K kind, Controller c, std::string label, bool optional) -> LimitRequest& {
    LimitRequest l;
    l.kind = kind;
    l.controller = c;
    l.label = std::move(label);
    l.optional = optional;
    out.push_back(std::move(l));
    return out.back();
  };
  uint64_t memory = 0;
  if (spec.memory_max_bytes.value) {
    memory = *spec.memory_max_bytes.value;
    if (memory == 0) return Invalid("memory: must be more than 0 bytes");
    add(K::kMemory, kMemory, "memory=" + std::to_string(memory), spec.memory_max_bytes.optional)
        .value = memory;
  }
  if (spec.memory_swap_max_bytes.value || memory > 0) {
    bool implicit = !spec.memory_swap_max_bytes.value;
    uint64_t swap = spec.memory_swap_max_bytes.value.value_or(0);
    LimitRequest& l =
        add(K::kSwap, kMemory, "memory_swap=" + std::to_string(swap),
            implicit ? spec.memory_max_bytes.optional : spec.memory_swap_max_bytes.optional);
    l.value = swap;
    l.memory = memory;
    l.implicit = implicit;
  }
  if (spec.pids_max.value) {
    if (*spec.pids_max.value == 0) return Invalid("pids: must be at least 1");
    add(K::kPids, kPids, "pids=" + std::to_string(*spec.pids_max.value), spec.pids_max.optional)
        .value = *spec.pids_max.value;
  }
  if (spec.cpu.value) {
    double cpus = *spec.cpu.value;
    if (!std::isfinite(cpus) || cpus <= 0 || cpus > kMaxCpus) {
      return Invalid("cpu: must be more than 0 and at most 4096 CPUs");
    }
    // Rounded to the nearest microsecond (positive, so + 0.5 and truncate;
    // std::llround would pull libm into every start of warden).
    uint64_t quota = static_cast<uint64_t>(cpus * kCpuPeriodUsec + 0.5);
    add(K::kCpu, kCpu, "cpu=" + std::to_string(cpus), spec.cpu.optional).value =
        std::max(quota, kMinCpuQuotaUsec);
  }
  if (spec.cpuset_cpus.value) {
    WARDEN_RETURN_IF_ERROR(CheckCpuset("cpuset_cpus", *spec.cpuset_cpus.value));
    add(K::kCpusetCpus, kCpuset, "cpuset_cpus=" + *spec.cpuset_cpus.value,
        spec.cpuset_cpus.optional)
        .text = *spec.cpuset_cpus.value;
  }
  if (spec.cpuset_mems.value) {
    WARDEN_RETURN_IF_ERROR(CheckCpuset("cpuset_mems", *spec.cpuset_mems.value));
    add(K::kCpusetMems, kCpuset, "cpuset_mems=" + *spec.cpuset_mems.value,
        spec.cpuset_mems.optional)
        .text = *spec.cpuset_mems.value;
  }
  if (spec.io_max.value) {
    WARDEN_RETURN_IF_ERROR(ParseIoMax(*spec.io_max.value).take_status());
    add(K::kIo, kIo, "io_max", spec.io_max.optional).text = *spec.io_max.value;
  }
  return out;
}

Status ApplyLimit(const LimitRequest& l, Backend backend, const std::string& dir) {
  Status st = backend == Backend::kV2 ? ApplyV2(l, dir) : ApplyV1(l, dir);
  if (!st.ok() && st.code() != Code::kUnavailable) {
    // A refused write means the limit is not in force; say so in one code.
    return Status::Error(Code::kUnavailable, st.ToString());
  }
  return st;
}

void ReadDirAccounting(Backend backend, const std::string& dir,
                       const std::vector<Controller>& controllers, Accounting* a) {
  if (backend == Backend::kV2) {
    ReadV2(dir, controllers, a);
  } else if (backend == Backend::kV1) {
    ReadV1(dir, controllers, a);
  }
}

Status ApplyOomGroup(const std::string& dir, const LimitRequest* memory,
                     std::vector<std::string>* warnings) {
  Status st = WriteCgroupFile(dir + "/memory.oom.group", "1");
  if (st.ok()) return st;
  const std::string what = "whole-job OOM kill (memory.oom.group) cannot be enabled: " +
                           st.ToString() + "; an OOM kill may end one process of the job "
                           "and leave the others running";
  if (memory != nullptr && !memory->optional) {
    return Status::Error(Code::kUnavailable,
                         "cgroup limit " + memory->label + ": " + what +
                             " (needs Linux 4.19 or later; mark the memory limit optional = "
                             "true to run without it)");
  }
  if (warnings != nullptr) warnings->push_back(what);
  return Status::Ok();
}

}  // namespace warden::cgroup
