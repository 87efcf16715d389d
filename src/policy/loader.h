// Internals of the policy loader shared by its .cc files.
#ifndef WARDEN_POLICY_LOADER_H_
#define WARDEN_POLICY_LOADER_H_

#include "policy/toml.h"

#include <string>
#include <string_view>
#include <vector>

#include "policy/cache.h"
#include "warden/policy.h"

namespace warden::policy {

// Shipped policy names: [a-z0-9_-]{1,64}.
bool IsValidPolicyName(std::string_view name);

// "FILE:1:1: policy is larger than kMaxPolicyBytes bytes", the error for a
// policy file or text over the limit.
Status PolicyTooLarge(const std::string& file);

// Parses TOML text (at most kMaxPolicyBytes); toml++'s exceptions become a
// "FILE:LINE:COL: TOML syntax: ..." status.
Result<toml::table> ParseToml(const std::string& text, const std::string& file);

// Parses, applies `extends` layers (shipped policies of `policy_dir`, else
// built in), validates and hashes. `file` is used in error locations,
// `name` becomes Policy::name. `deps`, when given, receives the extended
// files that were read.
Result<Policy> LoadFromText(const std::string& text, const std::string& file,
                            const std::string& name, const std::string& policy_dir,
                            std::vector<Dependency>* deps = nullptr);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_LOADER_H_
