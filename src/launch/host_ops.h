// Doctor and Gc with an explicit HostConfig: the public Doctor() and Gc()
// (warden/doctor.h, warden/gc.h) call these with DefaultHostConfig(); a
// Launcher calls them with its own.
#ifndef WARDEN_LAUNCH_HOST_OPS_H_
#define WARDEN_LAUNCH_HOST_OPS_H_

#include "base/host_config.h"
#include "warden/doctor.h"
#include "warden/gc.h"

namespace warden::launch {

// Every section's checks, with the pool, the state and cache directories
// and the cgroup choices of `config`.
DoctorReport DoctorWith(const base::HostConfig& config);

// Removes what dead wardens left behind: cgroups (skipping the controllers
// in config.cgroup_disable), leases and links in config.net_state_dir,
// uid leases in config.uid_state_dir.
GcReport GcWith(const base::HostConfig& config);

}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_HOST_OPS_H_
