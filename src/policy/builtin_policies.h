// The shipped policies (policies/*.toml), built into the binary so that a
// copied `warden` runs without an installed policy directory. A file of the
// same name in the policy directory overrides the built-in one.
#ifndef WARDEN_POLICY_BUILTIN_POLICIES_H_
#define WARDEN_POLICY_BUILTIN_POLICIES_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "warden/status.h"

namespace warden::policy {

struct BuiltinPolicy {
  const char* name;  // the file's stem: "default"
  const char* text;  // its TOML, as shipped
  size_t size;
};

// Every built-in policy, sorted by name. Defined in a source file that the
// Makefile generates from policies/*.toml ($(BUILD)/gen/policy/).
std::span<const BuiltinPolicy> BuiltinPolicies();

// The built-in policy NAME, or null when there is none.
const BuiltinPolicy* FindBuiltinPolicy(std::string_view name);

// What the location of a built-in policy reads in errors and cache keys:
// "builtin:NAME.toml" (never a path on disk).
std::string BuiltinPolicyPath(std::string_view name);
inline constexpr std::string_view kBuiltinPathPrefix = "builtin:";

// A shipped policy's text and where it came from.
struct ShippedPolicyText {
  std::string path;  // the file read, or BuiltinPolicyPath(name)
  std::string text;
  bool builtin = false;
};

// The text of shipped policy NAME (a valid policy name): `dir`/NAME.toml
// when that file exists, else the built-in policy NAME. kNotFound when
// neither exists; a file that exists but cannot be read is that error (it
// does not fall back to the built-in one: a policy on disk that warden
// cannot read must not be silently replaced).
Result<ShippedPolicyText> ReadShippedPolicy(const std::string& dir, const std::string& name);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_BUILTIN_POLICIES_H_
