#include "warden/status.h"

#include <cerrno>

#include "base/file.h"
#include "test_util.h"

namespace warden {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::Error(Code::kInvalidArgument, "odd: " + std::to_string(x));
  return x / 2;
}

Status Chain(int x) {
  WARDEN_ASSIGN_OR_RETURN(int h, Half(x));
  if (h > 10) return Status::Error(Code::kResourceExhausted, "too big");
  return Status::Ok();
}

TEST_CASE("status from errno names the call and the errno") {
  Status s = Status::FromErrno(EPERM, "mount(\"/proc\")");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Code::kPermissionDenied);
  CHECK(s.err() == EPERM);
  CHECK(s.ToString().find("mount(\"/proc\"): EPERM") == 0);
  s.Wrap("build root");
  CHECK(s.ToString().rfind("build root: mount", 0) == 0);
}

TEST_CASE("result carries a value or a status") {
  CHECK(Half(4).value() == 2);
  CHECK_FALSE(Half(3).ok());
  CHECK(Chain(3).ToString() == "odd: 3");
  CHECK(Chain(40).code() == Code::kResourceExhausted);
  CHECK(Chain(4).ok());
}

TEST_CASE("ReadFile bounds its size and reports missing files") {
  testing::TempDir dir;
  auto missing = base::ReadFile(dir.Join("nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  FILE* f = std::fopen(dir.Join("big").c_str(), "w");
  REQUIRE(f);
  for (int i = 0; i < 100; ++i) std::fputs("0123456789", f);
  std::fclose(f);
  CHECK(base::ReadFile(dir.Join("big")).value().size() == 1000);
  CHECK(base::ReadFile(dir.Join("big"), 999).status().code() == Code::kResourceExhausted);
}

}  // namespace
}  // namespace warden
