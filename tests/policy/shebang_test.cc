// Reading "#!" lines as the kernel does: one interpreter, one argument.
#include "policy/shebang.h"

#include <string>

#include "test_util.h"

namespace warden::policy {
namespace {

TEST_CASE("shebang: the interpreter and its one argument, as the kernel splits them", "[policy]") {
  CHECK_FALSE(ParseShebang("echo hi\n").has_value());
  CHECK_FALSE(ParseShebang("#").has_value());

  std::optional<Shebang> s = ParseShebang("#!/bin/bash\nset -o pipefail\n");
  REQUIRE(s.has_value());
  CHECK(s->interpreter == "/bin/bash");
  CHECK_FALSE(s->has_arg);

  s = ParseShebang("#! /bin/sh -e \nexit 0\n");
  REQUIRE(s.has_value());
  CHECK(s->interpreter == "/bin/sh");
  CHECK(s->arg == "-e");

  // Everything after the interpreter is one argument, spaces included.
  s = ParseShebang("#!/usr/bin/env -S python3 -u\n");
  REQUIRE(s.has_value());
  CHECK(s->interpreter == "/usr/bin/env");
  CHECK(s->arg == "-S python3 -u");
  CHECK(ShebangProgramName(*s) == "python3");

  s = ParseShebang("#!/usr/bin/env bash");  // no newline: a one-line file
  REQUIRE(s.has_value());
  CHECK(s->arg == "bash");
  CHECK(ShebangProgramName(*s) == "bash");

  // A DOS line ending stays in the last word, as for the kernel.
  s = ParseShebang("#!/bin/bash\r\n");
  REQUIRE(s.has_value());
  CHECK(s->interpreter == "/bin/bash\r");
  CHECK(ShebangProgramName(*s) == "bash");

  s = ParseShebang("#!\n");
  REQUIRE(s.has_value());
  CHECK(s->interpreter.empty());
}

TEST_CASE("shebang: an interpreter cut by the kernel's 256-byte limit is none", "[policy]") {
  std::string cut = "#!/" + std::string(300, 'a') + "\n";
  std::optional<Shebang> s = ParseShebang(cut);
  REQUIRE(s.has_value());
  CHECK(s->interpreter.empty());
  // Only the argument is cut: the kernel runs that, and so does warden.
  std::string long_arg = "#!/bin/sh " + std::string(300, 'x') + "\n";
  s = ParseShebang(long_arg);
  REQUIRE(s.has_value());
  CHECK(s->interpreter == "/bin/sh");
  CHECK(s->arg.size() == kShebangMaxBytes - 2 - 8);
}

}  // namespace
}  // namespace warden::policy
