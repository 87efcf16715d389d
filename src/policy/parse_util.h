// Small parsers and validators behind the policy loader: sizes ("64M"),
// durations ("30s"), paths, environment names, hostnames. Each returns an
// empty string or nullopt on bad input so the caller can attach the TOML
// location to the error.
#ifndef WARDEN_POLICY_PARSE_UTIL_H_
#define WARDEN_POLICY_PARSE_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "warden/policy.h"

namespace warden::policy {

// "4096", "64K", "64M", "1G", "2T" (binary multiples; an optional "B" or
// "iB" after the letter is accepted). nullopt on bad syntax or overflow.
std::optional<uint64_t> ParseSize(std::string_view s);

// "250ms", "30s", "5m", "2h". nullopt on bad syntax or overflow.
std::optional<uint64_t> ParseDurationMs(std::string_view s);

// Why `path` is not an acceptable absolute path, or "" when it is: it must
// start with '/', hold no NUL, no ".." component and fit kMaxPathBytes.
std::string PathProblem(std::string_view path);

// [A-Za-z_][A-Za-z0-9_]*, at most 255 bytes.
bool IsValidEnvName(std::string_view name);

// RFC 1123 host name: labels of [A-Za-z0-9-], dots between, at most 253 bytes.
bool IsValidHostname(std::string_view name);

// A numeric IPv4 or IPv6 address.
bool IsIpAddress(std::string_view s);

// The policy spelling of a seccomp action: "allow", "errno", "kill", "log".
const char* SeccompActionName(SeccompAction action);

// The action spelled `name` (as SeccompActionName writes it), or nullopt.
std::optional<SeccompAction> ParseSeccompAction(std::string_view name);

// `s` as a TOML basic string, quotes included.
std::string TomlQuote(std::string_view s);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_PARSE_UTIL_H_
