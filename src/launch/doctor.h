// Host checks of the launcher's own kernel features for `warden doctor`.
#ifndef WARDEN_LAUNCH_DOCTOR_H_
#define WARDEN_LAUNCH_DOCTOR_H_

#include "base/doctor.h"
#include "base/host_config.h"

namespace warden::launch {

// Namespaces (each tried in a throwaway child), user namespaces, clone3,
// mount_setattr, openat2, privileges.
base::DoctorChecks DoctorChecks(const base::HostConfig& config);

}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_DOCTOR_H_
