// ParseRunOptions over a test's argument list, for the run-options tests.
#ifndef WARDEN_TESTS_POLICY_RUN_ARGS_H_
#define WARDEN_TESTS_POLICY_RUN_ARGS_H_

#include <string>
#include <vector>

#include "policy/run_options.h"

namespace warden::testing {

// ParseRunOptions over {"run", args...}.
inline Result<policy::RunOptions> ParseRunArgs(std::vector<std::string> args) {
  args.insert(args.begin(), "run");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return policy::ParseRunOptions(static_cast<int>(args.size()), argv.data());
}

}  // namespace warden::testing

#endif  // WARDEN_TESTS_POLICY_RUN_ARGS_H_
