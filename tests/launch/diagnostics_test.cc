// ConfigureDiagnostics: each setting is checked, a bad one changes nothing,
// and a good one reaches the module that uses it.
#include <string>

#include "base/fault.h"
#include "base/trace.h"
#include "io/loop.h"
#include "mnt/mount_plan.h"
#include "test_util.h"
#include "warden/diagnostics.h"

namespace warden {
namespace {

TEST_CASE("diagnostics: bad settings are refused, naming the setting", "[launch]") {
  struct Bad {
    const char* what;
    DiagnosticOptions options;
    const char* named;
  };
  DiagnosticOptions io, crash_name, crash_count, child, parent;
  io.io_backend = "uring";
  crash_name.crash_point = "no.such.point";
  crash_count.crash_point = "wal.after_write:0";
  child.fault_child_step = "no such step";
  parent.fault_parent_call = "no such call";
  for (const Bad& b : {Bad{"io", io, "event loop backend"}, Bad{"crash", crash_name, "crash point"},
                       Bad{"count", crash_count, "crash point"},
                       Bad{"child", child, "WARDEN_FAULT_CHILD_STEP"},
                       Bad{"parent", parent, "WARDEN_FAULT_PARENT_CALL"}}) {
    INFO(b.what);
    DiagnosticOptions d = b.options;
    d.trace_startup = !base::TraceEnabled();  // would change if applied
    const bool trace_before = base::TraceEnabled();
    Status st = ConfigureDiagnostics(d);
    CHECK(st.code() == Code::kInvalidArgument);
    CHECK(st.ToString().find(b.named) != std::string::npos);
    CHECK(base::TraceEnabled() == trace_before);
  }
}

TEST_CASE("diagnostics: good settings reach the event loop, the mount API and the faults",
          "[launch]") {
  const bool plain_before =
      io::ChooseBackend().reason.find("WARDEN_IO=plain") != std::string::npos;
  DiagnosticOptions d;
  d.io_backend = "plain";
  d.legacy_mount_api = true;
  d.fault_child_step = "setgroups:1";
  d.fault_parent_call = "signalfd:7";
  REQUIRE(ConfigureDiagnostics(d).ok());
  CHECK(io::ChooseBackend().backend == io::Backend::kPlain);
  CHECK_FALSE(mnt::HaveMountSetattr());
  CHECK(base::ChildFaultSpec() == "setgroups:1");
  CHECK(base::ParentCallErrno("signalfd", 0) == 7);

  DiagnosticOptions back;
  back.io_backend = plain_before ? "plain" : "";
  REQUIRE(ConfigureDiagnostics(back).ok());
  CHECK(base::ChildFaultSpec().empty());
  CHECK(base::ParentCallErrno("signalfd", 0) == 0);
}

}  // namespace
}  // namespace warden
