// Fuzz target for what `warden run`'s per-job flags read from outside: the
// --env-file format (policy::ParseEnvFile) and the small grammars of --uid,
// identity.allow_uids, --cpus, --pids and --hostname (src/policy_data/parse_util).
// Every input goes through each of them.
//
// Checks, beyond "no crash, no sanitizer report":
// - an env file that parses sets only valid names, with values within
//   kMaxEnvValueBytes and without NUL, a PATH that is absolute, at most
//   kMaxEnv variables, and never sets and passes one name; parsing it twice
//   into the same result changes nothing (later lines win, idempotently);
// - an id range that parses is ordered, within kMaxId, and its spelling
//   (IdRangeString) parses back to it;
// - a number of CPUs that parses is within kMinCpus..kMaxCpus;
// - a count that parses is within its bounds, and its decimal spelling
//   parses back to it;
// - a host name that HostnameProblem accepts is at most 64 bytes of
//   letters, digits, '-' and '.';
// - every error is kInvalidArgument with a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/layer.h"  // kMaxEnvValueBytes
#include "policy/run_options.h"
#include "policy_data/parse_util.h"

namespace {

using namespace warden;
using namespace warden::policy;

[[noreturn]] void Fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "run_flags_fuzz: %s for input \"%.*s\"\n", what,
               static_cast<int>(input.size() > 200 ? 200 : input.size()), input.data());
  std::abort();
}

void CheckError(const Status& st, std::string_view input) {
  if (st.code() != Code::kInvalidArgument || st.message().empty()) Fail("bad error", input);
}

void EnvFileText(std::string_view s) {
  EnvFile out;
  Status st = ParseEnvFile("f.env", s, &out);
  if (!st.ok()) return CheckError(st, s);
  if (out.set.size() + out.pass.size() > kMaxEnv) Fail("more than kMaxEnv variables", s);
  for (const auto& [k, v] : out.set) {
    if (!IsValidEnvName(k)) Fail("invalid name set", s);
    if (v.size() > kMaxEnvValueBytes) Fail("value beyond kMaxEnvValueBytes", s);
    if (v.find('\0') != std::string::npos) Fail("NUL in a value", s);
    if (k == "PATH" && (v.empty() || v[0] != '/')) Fail("relative PATH accepted", s);
  }
  for (const std::string& k : out.pass) {
    if (!IsValidEnvName(k) || k == "PATH") Fail("bad name passed", s);
    if (out.set.count(k)) Fail("a name both set and passed", s);
  }
  EnvFile again = out;
  if (!ParseEnvFile("f.env", s, &again).ok()) Fail("second parse refused", s);
  if (again.set != out.set || again.pass.size() != out.pass.size()) Fail("second parse changed it", s);
}

void Ids(std::string_view s) {
  Result<IdRange> r = ParseIdRange(s);
  if (!r.ok()) return CheckError(r.status(), s);
  if (r->first > r->last || r->last > kMaxId) Fail("bad range accepted", s);
  Result<IdRange> again = ParseIdRange(IdRangeString(r.value()));
  if (!again.ok() || !(again.value() == r.value())) Fail("id range round trip", s);
}

void Cpus(std::string_view s) {
  Result<double> r = ParseCpus(s);
  if (!r.ok()) return CheckError(r.status(), s);
  if (!(r.value() >= kMinCpus && r.value() <= kMaxCpus)) Fail("cpus out of range", s);
}

void Count(std::string_view s) {
  Result<uint64_t> r = ParseCount(s, 1, kMaxPids);
  if (!r.ok()) return CheckError(r.status(), s);
  if (r.value() < 1 || r.value() > kMaxPids) Fail("count out of range", s);
  Result<uint64_t> again = ParseCount(std::to_string(r.value()), 1, kMaxPids);
  if (!again.ok() || again.value() != r.value()) Fail("count round trip", s);
}

void Hostname(std::string_view s) {
  if (!HostnameProblem(s).empty()) return;
  if (s.empty() || s.size() > 64) Fail("host name length accepted", s);
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) Fail("host name character accepted", s);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  EnvFileText(s);
  Ids(s);
  Cpus(s);
  Count(s);
  Hostname(s);
  return 0;
}
