// The public Doctor, Gc, ValidatePolicy and PolicyHash of include/warden/:
// what library callers get is what the CLI prints.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.h"
#include "warden/doctor.h"
#include "warden/gc.h"
#include "warden/policy.h"

namespace warden {
namespace {

using testing::RepoPolicies;
using testing::TempDir;
using testing::WriteText;

// The warden binary built beside this test binary; empty when there is none.
std::string WardenBinary() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const std::filesystem::path bin = self.parent_path() / "warden";
  return ::access(bin.c_str(), X_OK) == 0 ? bin.string() : "";
}

// Runs `cmd` with /bin/sh and returns its stdout.
std::string Capture(const std::string& cmd, int* status) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  REQUIRE(f != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  *status = ::pclose(f);
  return out;
}

TEST_CASE("api: Doctor returns named checks in sections, usable as no required check failed", "[api]") {
  const DoctorReport report = Doctor();
  REQUIRE_FALSE(report.checks.empty());
  bool any_required_failed = false;
  std::set<std::string> sections;
  for (const DoctorCheck& c : report.checks) {
    INFO(c.section << " / " << c.name);
    CHECK_FALSE(c.name.empty());
    CHECK_FALSE(c.section.empty());
    sections.insert(c.section);
    if (!c.ok && c.required) any_required_failed = true;
  }
  CHECK(sections == std::set<std::string>{"sandbox", "seccomp", "cgroups", "network", "event loop"});
  CHECK(report.usable == !any_required_failed);
}

TEST_CASE("api: DoctorReportToJson parses and has every field of every check", "[api]") {
  DoctorReport report = Doctor();
  // A detail with bytes that are not UTF-8 still makes a document.
  report.checks.push_back(DoctorCheck{.section = "test",
                                      .name = "bad \xff bytes",
                                      .ok = false,
                                      .required = false,
                                      .detail = "\xc3",
                                      .remedy = "do \"this\"\n"});
  const nlohmann::json j = nlohmann::json::parse(DoctorReportToJson(report));
  REQUIRE(j.at("usable").is_boolean());
  CHECK(j.at("usable").get<bool>() == report.usable);
  const nlohmann::json& checks = j.at("checks");
  REQUIRE(checks.is_array());
  REQUIRE(checks.size() == report.checks.size());
  for (size_t i = 0; i < checks.size(); ++i) {
    const nlohmann::json& o = checks[i];
    const DoctorCheck& c = report.checks[i];
    CHECK(o.size() == 6);
    CHECK(o.at("section").get<std::string>() == c.section);
    CHECK(o.at("ok").get<bool>() == c.ok);
    CHECK(o.at("required").get<bool>() == c.required);
    if (i + 1 < checks.size()) {
      CHECK(o.at("name").get<std::string>() == c.name);
      CHECK(o.at("detail").get<std::string>() == c.detail);
      CHECK(o.at("remedy").get<std::string>() == c.remedy);
    }
  }
  CHECK(checks.back().at("remedy").get<std::string>() == "do \"this\"\n");
}

TEST_CASE("api: Gc reports no errors and, once the host is clean, removes nothing", "[api]") {
  if (!testing::IsRoot()) WARDEN_SKIP("needs root (run as root)");
  const GcReport first = Gc();
  CHECK(first.errors.empty());
  const GcReport second = Gc();
  CHECK(second.errors.empty());
  CHECK(second.removed.empty());
}

TEST_CASE("api: ValidatePolicy accepts shipped policies and refuses a bad file with FILE:LINE:COL", "[api]") {
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, RepoPolicies());
  CHECK(ValidatePolicy("default").ok());

  TempDir dir;
  const std::string bad = dir.Join("bad.toml");
  WriteText(bad, "[limits]\nwall_time = \"5s\"\n[filesystem]\nview = 3\n");
  const Status st = ValidatePolicy(bad);
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == Code::kInvalidArgument);
  INFO(st.message());
  CHECK(st.message().rfind(bad + ":4:", 0) == 0);

  CHECK_FALSE(ValidatePolicy(dir.Join("missing.toml")).ok());
  CHECK_FALSE(ValidatePolicy("no-such-policy").ok());
}

TEST_CASE("api: ValidatePolicy refuses a policy whose seccomp filter cannot be compiled", "[api]") {
  TempDir dir;
  const std::string bad = dir.Join("sc.toml");
  WriteText(bad, "[seccomp]\ndeny = [\"no_such_syscall_anywhere\"]\n");
  const Status st = ValidatePolicy(bad);
  REQUIRE_FALSE(st.ok());
  INFO(st.message());
  CHECK(st.message().rfind(bad + ":", 0) == 0);
}

TEST_CASE("api: PolicyHash is the hash a loaded policy carries and warden policy check prints", "[api]") {
  ::warden::testing::ScopedHostConfig dir_env(&base::HostConfig::policy_dir, RepoPolicies());
  Result<Policy> p = ResolvePolicy("default");
  REQUIRE(p.ok());
  const std::string hash = PolicyHash(p.value());
  CHECK(hash.size() == 64);
  CHECK(hash == p->hash);
  // Name, source and the stored hash do not enter it.
  Policy renamed = p.value();
  renamed.name = "other";
  renamed.source_path = "/elsewhere.toml";
  renamed.hash = "x";
  CHECK(PolicyHash(renamed) == hash);
  renamed.hostname = "changed";
  CHECK(PolicyHash(renamed) != hash);

  const std::string bin = WardenBinary();
  if (bin.empty()) WARDEN_SKIP("no warden binary beside the test binary");
  int status = 0;
  const std::string out =
      Capture("WARDEN_POLICY_DIR='" + RepoPolicies() + "' '" + bin + "' policy check default", &status);
  REQUIRE(status == 0);
  CHECK(out.find("# hash: sha256:" + hash + "\n") != std::string::npos);
}

}  // namespace
}  // namespace warden
