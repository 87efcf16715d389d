// errno as people read it: "ENOENT (No such file or directory)". The text
// every Status::FromErrno message ends with; for messages built elsewhere.
#ifndef WARDEN_BASE_ERRNO_TEXT_H_
#define WARDEN_BASE_ERRNO_TEXT_H_

#include <string>

namespace warden::base {

std::string ErrnoText(int err);

}  // namespace warden::base

#endif  // WARDEN_BASE_ERRNO_TEXT_H_
