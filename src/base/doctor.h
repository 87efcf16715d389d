// One line of `warden doctor`: a host feature, whether it works, and what to
// do when it does not. Each subsystem contributes its own checks.
#ifndef WARDEN_BASE_DOCTOR_H_
#define WARDEN_BASE_DOCTOR_H_

#include <string>
#include <vector>

namespace warden::base {

struct DoctorCheck {
  std::string feature;  // "user namespaces", "cgroup memory", "io_uring"
  bool ok = false;
  // When true and !ok, `warden run` cannot work on this host at all.
  bool required_for_run = false;
  std::string detail;  // what was found: backend, path, reason for a choice
  std::string fix;     // what to do when !ok
};

using DoctorChecks = std::vector<DoctorCheck>;

}  // namespace warden::base

#endif  // WARDEN_BASE_DOCTOR_H_
