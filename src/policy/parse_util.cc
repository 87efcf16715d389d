#include "policy/parse_util.h"

#include <arpa/inet.h>

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

std::optional<uint64_t> ParseSize(std::string_view s) {
  uint64_t v = 0;
  size_t n = ParseDigits(s, &v);
  if (n == 0) return std::nullopt;
  std::string_view unit = s.substr(n);
  uint64_t mult = 1;
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'B': mult = 1; break;
      case 'K': mult = 1ull << 10; break;
      case 'M': mult = 1ull << 20; break;
      case 'G': mult = 1ull << 30; break;
      case 'T': mult = 1ull << 40; break;
      default: return std::nullopt;
    }
    std::string_view rest = unit.substr(1);
    if (mult != 1 && !(rest.empty() || rest == "B" || rest == "iB")) return std::nullopt;
    if (mult == 1 && !rest.empty()) return std::nullopt;
  }
  uint64_t out = 0;
  if (!MulChecked(v, mult, &out)) return std::nullopt;
  return out;
}

std::optional<uint64_t> ParseDurationMs(std::string_view s) {
  uint64_t v = 0;
  size_t n = ParseDigits(s, &v);
  if (n == 0) return std::nullopt;
  std::string_view unit = s.substr(n);
  uint64_t mult = 0;
  if (unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m" || unit == "min") mult = 60 * 1000;
  else if (unit == "h") mult = 3600 * 1000;
  else return std::nullopt;
  uint64_t out = 0;
  if (!MulChecked(v, mult, &out)) return std::nullopt;
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
