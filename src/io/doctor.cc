#include "io/doctor.h"

#include "io/loop.h"

namespace warden::io {

base::DoctorChecks DoctorChecks(const base::HostConfig&) {
  base::DoctorChecks checks;
  BackendChoice choice = ChooseBackend();
  base::DoctorCheck c;
  c.feature = "io_uring";
  // The plain backend is a complete fallback, so io_uring is never required;
  // it is reported as not ok only so that a slower host is visible.
  c.ok = choice.backend == Backend::kUring;
  c.required_for_run = false;
  c.detail = std::string("event loop uses ") + BackendName(choice.backend) + ": " + choice.reason;
  if (!c.ok) {
    c.fix = "optional: allow io_uring (sysctl kernel.io_uring_disabled=0, or a seccomp "
            "profile that permits io_uring_setup/io_uring_enter) for faster durable I/O";
  }
  checks.push_back(std::move(c));
  return checks;
}

}  // namespace warden::io
