// The "#!" line of a script, read as the kernel reads it (fs/binfmt_script.c):
// the interpreter is the first word after "#!", and everything after it on
// the line, trimmed, is ONE optional argument, spaces included.
#ifndef WARDEN_POLICY_SHEBANG_H_
#define WARDEN_POLICY_SHEBANG_H_

#include <optional>
#include <string>
#include <string_view>

namespace warden::policy {

// How many bytes of a file the kernel looks at for "#!" (BINPRM_BUF_SIZE).
inline constexpr size_t kShebangMaxBytes = 256;

struct Shebang {
  std::string interpreter;  // as written: absolute in practice, may be relative
  std::string arg;          // the one argument; empty when there is none
  bool has_arg = false;
};

// Parses the first bytes of a file (at most kShebangMaxBytes are looked at).
// nullopt when they do not start with "#!". Words are separated by spaces
// and tabs only, as in the kernel: a '\r' of a DOS line ending stays part of
// the last word. `interpreter` is empty when the line names none, or when
// the line is longer than the kernel reads and the interpreter's name is
// cut by that limit (the kernel refuses such a script with ENOEXEC).
std::optional<Shebang> ParseShebang(std::string_view head);

// The program a shebang line runs, by name: "/usr/bin/python3" gives
// "python3"; "/usr/bin/env -S python3 -u" gives "python3" (env's options
// and NAME=VALUE assignments are skipped); "" when there is none.
std::string ShebangProgramName(const Shebang& shebang);

}  // namespace warden::policy

#endif  // WARDEN_POLICY_SHEBANG_H_
