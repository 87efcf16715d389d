#include "policy_data/parse_util.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cctype>
#include <cstdio>
#include <limits>
#include <utility>

#include "warden/policy.h"

namespace warden::policy {
namespace {

// Parses leading decimal digits; returns how many were consumed (0 on none
// or overflow).
size_t ParseDigits(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    unsigned d = static_cast<unsigned>(s[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return i;
}

bool MulChecked(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// The one table of seccomp action names, for parsing and for PolicyToToml.
constexpr std::pair<const char*, SeccompAction> kSeccompActions[] = {
    {"allow", SeccompAction::kAllow},
    {"errno", SeccompAction::kErrno},
    {"kill", SeccompAction::kKill},
    {"log", SeccompAction::kLog},
};

}  // namespace

namespace {

// The digits of `s` and what follows them; an error when there are none or
// they overflow.
Result<std::pair<uint64_t, std::string_view>> SplitNumber(std::string_view s, const char* what,
                                                          const char* examples) {
  const std::string shown = "\"" + std::string(s.substr(0, 32)) + (s.size() > 32 ? "...\"" : "\"");
  if (s.empty()) return Status::Error(Code::kInvalidArgument, std::string("empty ") + what + "; use " + examples);
  if (s[0] == '-') {
    return Status::Error(Code::kInvalidArgument, shown + " is negative; a " + what + " is 0 or more (" + examples + ")");
  }
  uint64_t v = 0;
  size_t n = ParseDigits(s, &v);
  if (n == 0) {
    if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      return Status::Error(Code::kInvalidArgument, shown + " is too large");
    }
    return Status::Error(Code::kInvalidArgument,
                         shown + " is not a " + what + ": use a whole number with a unit (" + examples + ")");
  }
  return std::make_pair(v, s.substr(n));
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view s) {
  constexpr const char* kExamples = "4096, 64K, 512M, 1G";
  WARDEN_ASSIGN_OR_RETURN(auto parts, SplitNumber(s, "size", kExamples));
  auto [v, unit] = parts;
  uint64_t mult = 1;
  bool ok = true;
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'B': mult = 1; break;
      case 'K': mult = 1ull << 10; break;
      case 'M': mult = 1ull << 20; break;
      case 'G': mult = 1ull << 30; break;
      case 'T': mult = 1ull << 40; break;
      default: ok = false;
    }
    std::string_view rest = unit.substr(1);
    if (mult != 1 && !(rest.empty() || rest == "B" || rest == "iB")) ok = false;
    if (mult == 1 && !rest.empty()) ok = false;
  }
  if (!ok) {
    return Status::Error(Code::kInvalidArgument, "\"" + std::string(s.substr(0, 32)) +
                                                     "\": unknown size unit; use " + kExamples);
  }
  uint64_t out = 0;
  if (!MulChecked(v, mult, &out) || out > kMaxSizeBytes) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + std::string(s.substr(0, 32)) + "\" is larger than 1P");
  }
  return out;
}

Result<uint64_t> ParseDurationMs(std::string_view s) {
  constexpr const char* kExamples = "500ms, 30s, 5m, 2h; 0 for no limit";
  WARDEN_ASSIGN_OR_RETURN(auto parts, SplitNumber(s, "duration", kExamples));
  auto [v, unit] = parts;
  uint64_t mult = 0;
  if (unit == "ms") mult = 1;
  else if (unit == "s" || unit.empty()) mult = 1000;
  else if (unit == "m" || unit == "min") mult = 60 * 1000;
  else if (unit == "h") mult = 3600 * 1000;
  else {
    return Status::Error(Code::kInvalidArgument, "\"" + std::string(s.substr(0, 32)) +
                                                     "\": unknown duration unit; use " + kExamples);
  }
  uint64_t out = 0;
  if (!MulChecked(v, mult, &out) || out > kMaxDurationMs) {
    return Status::Error(Code::kInvalidArgument,
                         "\"" + std::string(s.substr(0, 32)) + "\" is longer than 366 days");
  }
  return out;
}

std::string PathProblem(std::string_view path) {
  if (path.empty()) return "path is empty";
  if (path.size() > kMaxPathBytes) {
    return "path is longer than " + std::to_string(kMaxPathBytes) + " bytes";
  }
  if (path.find('\0') != std::string_view::npos) return "path contains a NUL byte";
  if (path[0] != '/') return "path must be absolute (start with '/')";
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return "path must not contain '..'";
    start = end + 1;
  }
  return "";
}

std::string MountProblem(const MountSpec& m) {
  std::string problem = PathProblem(m.destination);
  if (!problem.empty()) return "destination \"" + m.destination.substr(0, 128) + "\": " + problem;
  // "/", and any spelling of it ("//", "/./"): the root is filesystem.rootfs.
  bool root = true;
  size_t start = 1;
  while (root && start <= m.destination.size()) {
    size_t end = std::min(m.destination.find('/', start), m.destination.size());
    std::string_view part = std::string_view(m.destination).substr(start, end - start);
    root = part.empty() || part == ".";
    start = end + 1;
  }
  if (root) return "destination must not be \"/\" (the root is filesystem.rootfs)";
  if (m.kind == MountSpec::Kind::kBind) {
    problem = PathProblem(m.source);
    if (!problem.empty()) return "source \"" + m.source.substr(0, 128) + "\": " + problem;
  } else if (!m.source.empty()) {
    return "a tmpfs mount takes no source";
  }
  return "";
}

namespace {

std::string Shown(std::string_view s) {
  return "\"" + std::string(s.substr(0, 32)) + (s.size() > 32 ? "...\"" : "\"");
}

}  // namespace

Result<uint64_t> ParseCount(std::string_view s, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  if (s.empty()) return Status::Error(Code::kInvalidArgument, "empty number; use a whole number in " + range);
  const size_t n = ParseDigits(s, &v);
  if (n != s.size()) {
    const bool overflow = n == 0 && std::isdigit(static_cast<unsigned char>(s[0]));
    return Status::Error(Code::kInvalidArgument,
                         Shown(s) + (overflow ? " is too large" : " is not a whole number") +
                             "; use one in " + range);
  }
  if (v < min || v > max) {
    return Status::Error(Code::kInvalidArgument, Shown(s) + " is not in " + range);
  }
  return v;
}

Result<uint32_t> ParseId(std::string_view s) {
  WARDEN_ASSIGN_OR_RETURN(uint64_t v, ParseCount(s, 0, kMaxId));
  return static_cast<uint32_t>(v);
}

Result<IdRange> ParseIdRange(std::string_view s) {
  const size_t dash = s.find('-');
  IdRange r;
  WARDEN_ASSIGN_OR_RETURN(r.first, ParseId(s.substr(0, dash)));
  r.last = r.first;
  if (dash != std::string_view::npos) {
    WARDEN_ASSIGN_OR_RETURN(r.last, ParseId(s.substr(dash + 1)));
    if (r.last < r.first) {
      return Status::Error(Code::kInvalidArgument,
                           Shown(s) + " ends before it starts; write \"LOW-HIGH\"");
    }
  }
  return r;
}

std::string IdRangeString(const IdRange& range) {
  std::string out = std::to_string(range.first);
  if (range.last != range.first) out += "-" + std::to_string(range.last);
  return out;
}

bool IdInRanges(const std::vector<IdRange>& ranges, uint32_t id) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [id](const IdRange& r) { return r.first <= id && id <= r.last; });
}

std::string CpusProblem(double cpus) {
  if (!std::isfinite(cpus) || cpus < kMinCpus || cpus > kMaxCpus) {
    return "must be between 0.01 and 4096 CPUs";
  }
  return "";
}

Result<double> ParseCpus(std::string_view s) {
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  };
  if (s.empty() || s.size() > 16 || whole.empty() || !digits(whole) || !digits(frac) ||
      (dot != std::string_view::npos && frac.empty())) {
    return Status::Error(Code::kInvalidArgument,
                         Shown(s) + " is not a number of CPUs; use one like 2 or 0.5");
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Status::Error(Code::kInvalidArgument, Shown(s) + " is not a number of CPUs; use one like 2 or 0.5");
  }
  if (std::string problem = CpusProblem(v); !problem.empty()) {
    return Status::Error(Code::kInvalidArgument, Shown(s) + ": " + problem);
  }
  return v;
}

std::string HostnameProblem(std::string_view name) {
  if (name.size() > 64 || !IsValidHostname(name)) {
    return "must be letters, digits, '-' and '.' (at most 64)";
  }
  return "";
}

std::string TmpfsSizeProblem(uint64_t bytes) {
  if (bytes == 0) return "must not be 0 (a tmpfs of size 0 has no limit); use a size like 64M";
  return "";
}

std::optional<NetworkSpec::Mode> ParseNetworkMode(std::string_view s) {
  if (s == "none") return NetworkSpec::Mode::kNone;
  if (s == "loopback") return NetworkSpec::Mode::kLoopback;
  if (s == "veth") return NetworkSpec::Mode::kVeth;
  return std::nullopt;
}

namespace {

Status BadAllow(std::string_view entry, const std::string& why) {
  return Status::Error(Code::kInvalidArgument, "allow entry \"" + std::string(entry) + "\": " + why);
}

// Strict decimal: digits only (no sign, no spaces), within [lo, hi].
bool ParseSmallNumber(std::string_view s, uint64_t lo, uint64_t hi, uint64_t* out) {
  if (s.empty() || s.size() > 5) return false;
  uint64_t v = 0;
  if (ParseDigits(s, &v) != s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

std::string FormatIpv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

}  // namespace

Result<AllowEntry> ParseAllowEntry(std::string_view entry) {
  if (entry.empty()) return BadAllow(entry, "empty entry");
  if (entry.size() > kMaxAllowEntryBytes) {
    return BadAllow(std::string(entry.substr(0, kMaxAllowEntryBytes)) + "...",
                    "longer than " + std::to_string(kMaxAllowEntryBytes) + " bytes");
  }
  AllowEntry rule;
  std::string_view rest = entry;
  if (rest.size() > 4 && rest.ends_with("/tcp")) {
    rule.proto = AllowEntry::Proto::kTcp;
    rest.remove_suffix(4);
  } else if (rest.size() > 4 && rest.ends_with("/udp")) {
    rule.proto = AllowEntry::Proto::kUdp;
    rest.remove_suffix(4);
  }
  size_t colon = rest.find(':');
  if (colon != std::string_view::npos) {
    if (rest.find(':', colon + 1) != std::string_view::npos) {
      return BadAllow(entry, "more than one ':' (IPv6 destinations are not supported)");
    }
    uint64_t port = 0;
    if (!ParseSmallNumber(rest.substr(colon + 1), 1, 65535, &port)) {
      return BadAllow(entry, "port \"" + std::string(rest.substr(colon + 1)) +
                                 "\" is not a number in 1..65535");
    }
    rule.port = static_cast<uint16_t>(port);
    rest = rest.substr(0, colon);
  }
  if (rest == "host") {
    if (rule.port == 0) return BadAllow(entry, "\"host\" needs a port: host:PORT");
    rule.host = true;
    return rule;
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    uint64_t prefix = 0;
    if (!ParseSmallNumber(rest.substr(slash + 1), 0, 32, &prefix)) {
      return BadAllow(entry, "prefix \"/" + std::string(rest.substr(slash + 1)) +
                                 "\" is not a number in 0..32 (or a protocol other than tcp/udp)");
    }
    rule.prefix_len = static_cast<int>(prefix);
    rest = rest.substr(0, slash);
  }
  in_addr a{};
  const std::string addr(rest);
  if (addr.size() > 15 || inet_pton(AF_INET, addr.c_str(), &a) != 1) {
    const bool name = IsValidHostname(rest) &&
                      std::any_of(rest.begin(), rest.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
    if (name) {
      return BadAllow(entry, "\"" + addr + "\" is not an IPv4 address: warden resolves no host "
                             "names (the whitelist is fixed before the job starts); write the "
                             "address, e.g. from `getent ahostsv4 " + addr + "`");
    }
    return BadAllow(entry, "\"" + addr + "\" is not an IPv4 address (expected ADDR[/PREFIX][:PORT]"
                           "[/tcp|/udp] or host:PORT)");
  }
  const uint32_t host_order = ntohl(a.s_addr);
  const uint32_t mask = rule.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - rule.prefix_len);
  if ((host_order & ~mask) != 0) {
    return BadAllow(entry, "address has bits set beyond the prefix (did you mean " +
                               FormatIpv4(host_order & mask) + "/" + std::to_string(rule.prefix_len) +
                               "?)");
  }
  rule.address = host_order;
  return rule;
}

bool IsValidEnvName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  if (std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

bool IsValidHostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '.') {
      if (label == 0 || name[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return label > 0 && name.back() != '-';
}

bool IsIpAddress(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  std::string z(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, z.c_str(), buf) == 1 || inet_pton(AF_INET6, z.c_str(), buf) == 1;
}

const char* SeccompActionName(SeccompAction action) {
  for (const auto& [name, a] : kSeccompActions) {
    if (a == action) return name;
  }
  return "errno";
}

std::optional<SeccompAction> ParseSeccompAction(std::string_view name) {
  for (const auto& [n, a] : kSeccompActions) {
    if (n == name) return a;
  }
  return std::nullopt;
}

std::string TomlQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace warden::policy
