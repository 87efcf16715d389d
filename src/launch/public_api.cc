// The public Doctor, Gc, policy loading and resolution, ValidatePolicy and
// PolicyHash (include/warden/): each gathers what the subsystems below
// launch provide, with the process's default HostConfig, so the CLI and
// library callers see one answer.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/doctor.h"
#include "base/hash.h"
#include "cgroup/cgroup.h"
#include "io/doctor.h"
#include "launch/doctor.h"
#include "launch/host_ops.h"
#include "launch/job_run.h"
#include "net/net.h"
#include "policy/policy_dir.h"
#include "seccomp/seccomp.h"
#include "user/uid_lease.h"
#include "warden/doctor.h"
#include "warden/gc.h"
#include "warden/policy.h"

namespace warden {

namespace launch {

DoctorReport DoctorWith(const base::HostConfig& config) {
  const struct {
    const char* section;
    base::DoctorChecks (*fn)(const base::HostConfig&);
  } kSections[] = {
      {"sandbox", &launch::DoctorChecks}, {"seccomp", &seccomp::DoctorChecks},
      {"cgroups", &cgroup::DoctorChecks}, {"network", &net::DoctorChecks},
      {"event loop", &io::DoctorChecks},
  };
  DoctorReport report;
  report.usable = true;
  for (const auto& s : kSections) {
    for (base::DoctorCheck& c : s.fn(config)) {
      if (!c.ok && c.required_for_run) report.usable = false;
      report.checks.push_back(DoctorCheck{.section = s.section,
                                          .name = std::move(c.feature),
                                          .ok = c.ok,
                                          .required = c.required_for_run,
                                          .detail = std::move(c.detail),
                                          .remedy = std::move(c.fix)});
    }
  }
  return report;
}

GcReport GcWith(const base::HostConfig& config) {
  GcReport report;
  if (Status st = cgroup::Gc(config, &report.removed); !st.ok()) {
    report.errors.push_back("cgroups: " + st.ToString());
  }
  if (Status st = net::Gc(config, &report.removed); !st.ok()) {
    report.errors.push_back("network: " + st.ToString());
  }
  if (Status st = user::Gc(config.uid_state_dir, &report.removed); !st.ok()) {
    report.errors.push_back("uid leases: " + st.ToString());
  }
  return report;
}

}  // namespace launch

DoctorReport Doctor() { return launch::DoctorWith(launch::DefaultHostConfig()); }

GcReport Gc() { return launch::GcWith(launch::DefaultHostConfig()); }

std::string DoctorReportToJson(const DoctorReport& report) {
  nlohmann::ordered_json j;
  j["usable"] = report.usable;
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const DoctorCheck& c : report.checks) {
    nlohmann::ordered_json o;
    o["section"] = c.section;
    o["name"] = c.name;
    o["ok"] = c.ok;
    o["required"] = c.required;
    o["detail"] = c.detail;
    o["remedy"] = c.remedy;
    checks.push_back(std::move(o));
  }
  j["checks"] = std::move(checks);
  // Details carry host paths and kernel messages: replace invalid UTF-8
  // rather than fail to write the document.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  return policy::LoadPolicyFileIn(path, launch::DefaultHostConfig());
}

Result<Policy> LoadPolicyString(const std::string& toml, const std::string& name) {
  return policy::LoadPolicyStringIn(toml, name, launch::DefaultHostConfig());
}

Result<Policy> ResolvePolicy(const std::string& name_or_file) {
  return policy::ResolvePolicyIn(name_or_file, launch::DefaultHostConfig());
}

Result<Policy> PolicyForProgram(const std::string& program_path) {
  return policy::PolicyForProgramIn(program_path, launch::DefaultHostConfig());
}

std::string PolicyDirectory() {
  return policy::PolicyDirectoryFor(launch::DefaultHostConfig().policy_dir);
}

Status ValidatePolicy(const std::string& name_or_file) {
  Result<Policy> policy = ResolvePolicy(name_or_file);
  if (!policy.ok()) return policy.status();
  seccomp::CompileOptions opts;
  opts.use_cache = false;  // validating a policy writes nothing
  Result<seccomp::BpfProgram> bpf = seccomp::Compile(policy->seccomp, opts);
  if (!bpf.ok()) {
    const std::string where = policy->source_path.empty() ? policy->name : policy->source_path;
    return Status::Error(Code::kInvalidArgument,
                         where + ":1:1: [seccomp] cannot be compiled: " + bpf.status().ToString());
  }
  return Status::Ok();
}

std::string PolicyHash(const Policy& policy) { return base::Sha256Hex(PolicyToToml(policy)); }

}  // namespace warden
