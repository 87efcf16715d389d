// `warden doctor` lines for the io subsystem: which loop backend a new loop
// uses on this host, and why.
#ifndef WARDEN_IO_DOCTOR_H_
#define WARDEN_IO_DOCTOR_H_

#include "base/doctor.h"
#include "base/host_config.h"

namespace warden::io {

base::DoctorChecks DoctorChecks(const base::HostConfig& config);

}  // namespace warden::io

#endif  // WARDEN_IO_DOCTOR_H_
