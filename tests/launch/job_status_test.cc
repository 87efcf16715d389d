// JobStatus: each enumerator has its own name, the names are the ones the
// --result JSON has always written, and the JSON writer uses them.
#include <cstring>
#include <set>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "warden/job.h"

namespace warden {
namespace {

// The --result format: these strings are what CI scripts match on.
const std::pair<JobStatus, const char*> kExpected[] = {
    {JobStatus::kOk, "ok"},
    {JobStatus::kNonzero, "nonzero"},
    {JobStatus::kSignaled, "signaled"},
    {JobStatus::kTimeout, "timeout"},
    {JobStatus::kOom, "oom"},
    {JobStatus::kSeccompViolation, "seccomp-violation"},
    {JobStatus::kSetupError, "setup-error"},
    {JobStatus::kCancelled, "cancelled"},
};

TEST_CASE("job status: every enumerator has a distinct name, the one the JSON used", "[launch]") {
  std::set<std::string> names;
  for (const auto& [status, name] : kExpected) {
    INFO(name);
    CHECK(std::string(JobStatusName(status)) == name);
    names.insert(JobStatusName(status));
    Result<JobStatus> back = ParseJobStatus(name);
    REQUIRE(back.ok());
    CHECK(back.value() == status);
  }
  CHECK(names.size() == std::size(kExpected));
  // Past the last enumerator there is no name: a new status must be added
  // to this test (and so to the documented JSON format) on purpose.
  const auto past = static_cast<JobStatus>(std::size(kExpected));
  CHECK(std::string(JobStatusName(past)) == "unknown");
  CHECK(std::string(JobStatusName(static_cast<JobStatus>(-1))) == "unknown");
}

TEST_CASE("job status: the parser takes only the exact names", "[launch]") {
  const std::string hostile = std::string("ok\0\n\x1b[2J", 8) + std::string(300, 'x');
  for (const std::string& bad : {std::string(""), std::string("OK"), std::string(" ok"),
                                 std::string("ok "), std::string("unknown"),
                                 std::string("setup_error"), hostile}) {
    Result<JobStatus> r = ParseJobStatus(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    const std::string& msg = r.status().message();
    CHECK_THAT(msg, Catch::Contains("ok, nonzero, signaled, timeout, oom, seccomp-violation, setup-error"));
    // Hostile bytes are neither echoed raw nor without bound.
    for (char c : msg) CHECK((c >= 0x20 && c < 0x7f));
    CHECK(msg.size() < 250);
  }
}

TEST_CASE("job status: the --result JSON writes the status's name, first", "[launch]") {
  for (const auto& [status, name] : kExpected) {
    JobResult r;
    r.status = status;
    const auto j = nlohmann::ordered_json::parse(JobResultToJson(r));
    INFO(name);
    REQUIRE(j.begin().key() == "status");
    CHECK(j["status"] == name);
  }
}

TEST_CASE("job status: a result nobody filled in does not claim success", "[launch]") {
  const JobResult r;
  CHECK(r.status == JobStatus::kSetupError);
  CHECK(r.exit_code == 125);
}

}  // namespace
}  // namespace warden
