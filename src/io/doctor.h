// `warden doctor` lines for the io subsystem: which loop backend a new loop
// uses on this host, and why.
#ifndef WARDEN_IO_DOCTOR_H_
#define WARDEN_IO_DOCTOR_H_

#include "base/doctor.h"

namespace warden::io {

base::DoctorChecks DoctorChecks();

}  // namespace warden::io

#endif  // WARDEN_IO_DOCTOR_H_
