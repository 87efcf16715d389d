// The one way warden includes toml++. Its internal checks (TOML_ASSERT, and
// TOML_ASSERT_ASSUME, which release builds turn into a compiler assumption)
// can fail on hostile input: toml++ 3.3 does on a table header that starts
// with '#'. Here a failed check throws TomlInternalError, which ParseToml
// reports as a parse error of the file, instead of aborting warden or,
// compiled with NDEBUG, running on with undefined behaviour. Every file that
// uses toml++ must include this header, never <toml++/toml.h> directly, so
// that the macro is the same everywhere.
#ifndef WARDEN_POLICY_TOML_H_
#define WARDEN_POLICY_TOML_H_

#include <stdexcept>

#ifdef NDEBUG
#error "toml++ must be built without NDEBUG: its checks are warden's guard against bad input"
#endif

namespace warden::policy {

struct TomlInternalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace warden::policy

// Checks inside noexcept functions still terminate (as an assert would);
// the parser's own checks, where hostile input reaches, are not noexcept.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wterminate"
#define TOML_ASSERT(expr)                                                              \
  ((expr) ? static_cast<void>(0)                                                       \
          : throw ::warden::policy::TomlInternalError("the TOML parser refused the input " \
                                                      "(internal check failed: " #expr ")"))

// TOML_UNREACHABLE is __builtin_unreachable() in toml++, and 3.3 reaches
// it: is_non_ascii_horizontal_whitespace() on U+00A1..U+0499 (found by the
// fuzzer). Here reaching it throws (terminates in noexcept code) instead of
// being undefined; ParseToml also refuses non-ASCII bytes outside strings and
// comments before toml++ sees them, which keeps the parser off that path.
namespace warden::policy {
[[noreturn]] void TomlUnreachable();
}  // namespace warden::policy
// warden parses TOML and never writes it: without the formatters (their
// number widths use log10) no libm is linked into warden's start.
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/impl/preprocessor.h>
#undef TOML_UNREACHABLE
#define TOML_UNREACHABLE ::warden::policy::TomlUnreachable()

#include <toml++/toml.h>
#pragma GCC diagnostic pop

#endif  // WARDEN_POLICY_TOML_H_
