// The public Doctor, Gc, ValidatePolicy and PolicyHash (include/warden/):
// each gathers what the subsystems below launch provide, so the CLI and
// library callers see one answer.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/doctor.h"
#include "base/hash.h"
#include "cgroup/cgroup.h"
#include "io/doctor.h"
#include "launch/doctor.h"
#include "net/net.h"
#include "seccomp/seccomp.h"
#include "user/uid_lease.h"
#include "warden/doctor.h"
#include "warden/gc.h"
#include "warden/policy.h"

namespace warden {

DoctorReport Doctor() {
  const struct {
    const char* section;
    base::DoctorChecks (*fn)();
  } kSections[] = {
      {"sandbox", &launch::DoctorChecks}, {"seccomp", &seccomp::DoctorChecks},
      {"cgroups", &cgroup::DoctorChecks}, {"network", &net::DoctorChecks},
      {"event loop", &io::DoctorChecks},
  };
  DoctorReport report;
  report.usable = true;
  for (const auto& s : kSections) {
    for (base::DoctorCheck& c : s.fn()) {
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

GcReport Gc() {
  GcReport report;
  if (Status st = cgroup::Gc(&report.removed); !st.ok()) {
    report.errors.push_back("cgroups: " + st.ToString());
  }
  if (Status st = net::Gc(&report.removed); !st.ok()) {
    report.errors.push_back("network: " + st.ToString());
  }
  if (Status st = user::Gc(&report.removed); !st.ok()) {
    report.errors.push_back("uid leases: " + st.ToString());
  }
  return report;
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
