#include <nlohmann/json.hpp>

#include "warden/job.h"

namespace warden {

std::string JobResultToJson(const JobResult& r) {
  nlohmann::ordered_json j;
  j["status"] = JobStatusName(r.status);
  j["exit_code"] = r.exit_code;
  j["job_exit_code"] = r.job_exit ? nlohmann::ordered_json(*r.job_exit) : nullptr;
  j["signal"] = r.signal ? nlohmann::ordered_json(*r.signal) : nullptr;
  j["wall_ms"] = r.wall_ms;
  j["cpu_user_ms"] = r.cpu_user_ms;
  j["cpu_sys_ms"] = r.cpu_sys_ms;
  j["max_rss_kib"] = r.max_rss_kib;
  j["seccomp_syscall"] = r.seccomp_syscall.empty() ? nlohmann::ordered_json(nullptr)
                                                   : nlohmann::ordered_json(r.seccomp_syscall);
  if (!r.error.empty()) j["error"] = r.error;
  j["stdout_truncated"] = r.stdout_truncated;
  j["stderr_truncated"] = r.stderr_truncated;
  nlohmann::ordered_json cg = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.cgroup) cg[k] = v;
  j["cgroup"] = cg;
  j["warnings"] = r.warnings;
  j["job_id"] = r.job_id;
  j["policy"] = {{"name", r.policy_name}, {"hash", r.policy_hash}};
  j["version"] = Version();
  // Replacement of invalid UTF-8 keeps hostile bytes (paths, errors) from
  // making the document unwritable.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace warden
