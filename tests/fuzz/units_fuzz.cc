// Fuzz target for the small grammars that the policy loader and `warden run`
// share (src/policy_data/parse_util): durations, sizes, allow entries, mount
// paths. Every input goes through each of them.
//
// Checks, beyond "no crash, no sanitizer report":
// - a duration or size that parses is within its bound, and its canonical
//   spelling ("<N>ms", "<N>") parses back to the same value;
// - an allow entry that parses has a prefix in 0..32, no host bits beyond
//   it, a port on host:PORT, and its canonical spelling parses back to the
//   same fields;
// - a destination that MountProblem accepts is absolute, names something
//   other than "/" (not "//", "/./"), and has no ".." component;
// - every error is kInvalidArgument with a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy_data/parse_util.h"

namespace {

using namespace warden;
using namespace warden::policy;

[[noreturn]] void Fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "units_fuzz: %s for input \"%.*s\"\n", what, static_cast<int>(input.size()),
               input.data());
  std::abort();
}

void CheckError(const Status& st, std::string_view input) {
  if (st.code() != Code::kInvalidArgument || st.message().empty()) Fail("bad error", input);
}

void Duration(std::string_view s) {
  Result<uint64_t> r = ParseDurationMs(s);
  if (!r.ok()) return CheckError(r.status(), s);
  if (r.value() > kMaxDurationMs) Fail("duration beyond kMaxDurationMs", s);
  Result<uint64_t> again = ParseDurationMs(std::to_string(r.value()) + "ms");
  if (!again.ok() || again.value() != r.value()) Fail("duration round trip", s);
}

void Size(std::string_view s) {
  Result<uint64_t> r = ParseSize(s);
  if (!r.ok()) return CheckError(r.status(), s);
  if (r.value() > kMaxSizeBytes) Fail("size beyond kMaxSizeBytes", s);
  Result<uint64_t> again = ParseSize(std::to_string(r.value()));
  if (!again.ok() || again.value() != r.value()) Fail("size round trip", s);
}

std::string Canonical(const AllowEntry& e) {
  std::string out;
  if (e.host) {
    out = "host";
  } else {
    out = std::to_string(e.address >> 24) + "." + std::to_string((e.address >> 16) & 0xff) + "." +
          std::to_string((e.address >> 8) & 0xff) + "." + std::to_string(e.address & 0xff) + "/" +
          std::to_string(e.prefix_len);
  }
  if (e.port) out += ":" + std::to_string(e.port);
  if (e.proto == AllowEntry::Proto::kTcp) out += "/tcp";
  if (e.proto == AllowEntry::Proto::kUdp) out += "/udp";
  return out;
}

void Allow(std::string_view s) {
  Result<AllowEntry> r = ParseAllowEntry(s);
  if (!r.ok()) {
    CheckError(r.status(), s);
    if (r.status().message().rfind("allow entry \"", 0) != 0) Fail("allow error without entry", s);
    return;
  }
  const AllowEntry& e = r.value();
  if (e.prefix_len < 0 || e.prefix_len > 32) Fail("prefix out of range", s);
  const uint32_t mask = e.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - e.prefix_len);
  if ((e.address & ~mask) != 0) Fail("host bits beyond the prefix", s);
  if (e.host && (e.port == 0 || e.address != 0)) Fail("host entry without port", s);
  Result<AllowEntry> again = ParseAllowEntry(Canonical(e));
  if (!again.ok() || again->host != e.host || again->address != e.address ||
      again->prefix_len != e.prefix_len || again->port != e.port || again->proto != e.proto) {
    Fail("allow round trip", s);
  }
}

void Mount(std::string_view s) {
  MountSpec m;
  m.kind = MountSpec::Kind::kBind;
  m.source = "/srv";
  m.destination = std::string(s);
  if (!MountProblem(m).empty()) return;
  if (s.empty() || s[0] != '/' || s == "/") Fail("bad destination accepted", s);
  if (s.find('\0') != std::string_view::npos) Fail("NUL accepted", s);
  bool names_something = false;
  size_t start = 1;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view part = s.substr(start, end - start);
    if (part == "..") Fail("'..' accepted", s);
    if (!part.empty() && part != ".") names_something = true;
    start = end + 1;
  }
  // "//" or "/./" is the root under another spelling.
  if (!names_something) Fail("a spelling of \"/\" accepted", s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);
  Duration(s);
  Size(s);
  Allow(s);
  Mount(s);
  return 0;
}
