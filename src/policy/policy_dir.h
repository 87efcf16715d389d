// Finding and loading policies with an explicit HostConfig: the shipped
// directory is config.policy_dir (when set) and the policy cache lives below
// config.cache_dir. The public functions of warden/policy.h call these with
// launch::DefaultHostConfig().
#ifndef WARDEN_POLICY_POLICY_DIR_H_
#define WARDEN_POLICY_POLICY_DIR_H_

#include <string>

#include "base/host_config.h"
#include "warden/policy.h"
#include "warden/status.h"

namespace warden::policy {

// The directory of shipped policies: `configured` when it is not empty,
// else the install location, else policies/ next to the binary's source
// tree.
std::string PolicyDirectoryFor(const std::string& configured);

// LoadPolicyFile, LoadPolicyString, ResolvePolicy and PolicyForProgram
// (warden/policy.h), with `extends` and NAME resolved in config's policy
// directory and the policy cache below config.cache_dir.
Result<Policy> LoadPolicyFileIn(const std::string& path, const base::HostConfig& config);
Result<Policy> LoadPolicyStringIn(const std::string& toml, const std::string& name,
                                  const base::HostConfig& config);
Result<Policy> ResolvePolicyIn(const std::string& name_or_file, const base::HostConfig& config);
Result<Policy> PolicyForProgramIn(const std::string& program_path,
                                  const base::HostConfig& config);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_POLICY_DIR_H_
