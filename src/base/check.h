// WARDEN_CHECK: always-on assertions for invariants and programmer errors.
// A failed check aborts: a crash is better than corrupt state.
#ifndef WARDEN_BASE_CHECK_H_
#define WARDEN_BASE_CHECK_H_

namespace warden::base {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr);
}  // namespace warden::base

#define WARDEN_CHECK(cond)                                           \
  do {                                                               \
    if (!(cond)) ::warden::base::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (0)

#endif  // WARDEN_BASE_CHECK_H_
