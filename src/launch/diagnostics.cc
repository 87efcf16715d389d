// ConfigureDiagnostics (warden/diagnostics.h): checks every setting first,
// then hands each to the module that owns it, so that a bad one changes
// nothing.
#include "warden/diagnostics.h"

#include "base/fault.h"
#include "base/trace.h"
#include "io/loop.h"
#include "launch/job_run.h"
#include "mnt/mount_plan.h"

namespace warden {

Status ConfigureDiagnostics(const DiagnosticOptions& options) {
  if (!options.io_backend.empty() && options.io_backend != "plain") {
    return Status::Error(Code::kInvalidArgument,
                         "event loop backend \"" + options.io_backend.substr(0, 32) +
                             "\": expected \"plain\" or empty (io_uring where the kernel "
                             "allows it)");
  }
  if (!options.fault_child_step.empty()) {
    WARDEN_RETURN_IF_ERROR(launch::ParseChildFaultSpec(options.fault_child_step).status());
  }
  WARDEN_RETURN_IF_ERROR(base::CheckCrashPoint(options.crash_point));
  WARDEN_RETURN_IF_ERROR(base::CheckParentFaultSpec(options.fault_parent_call));
  // Everything is valid: from here on nothing fails.
  WARDEN_RETURN_IF_ERROR(base::SetCrashPoint(options.crash_point));
  WARDEN_RETURN_IF_ERROR(base::SetParentFaultSpec(options.fault_parent_call));
  base::SetChildFaultSpec(options.fault_child_step);
  base::SetTraceEnabled(options.trace_startup);
  io::ForcePlainBackend(options.io_backend == "plain");
  mnt::ForceLegacyMountApi(options.legacy_mount_api);
  return Status::Ok();
}

}  // namespace warden
