// The SigIgn line of /proc/self/status: which signals warden ignores, so
// that the job (which inherits the dispositions until its exec) gets every
// one of them back at its default.
#ifndef WARDEN_LAUNCH_SIG_IGN_H_
#define WARDEN_LAUNCH_SIG_IGN_H_

#include <cstdint>
#include <string_view>

namespace warden::launch {

// Every signal: what the parser answers when it cannot tell, so that the
// job resets all of them (resetting a signal that was not ignored is
// harmless; leaving one ignored is not).
inline constexpr uint64_t kAllSignals = ~uint64_t{0};

// The mask of the "SigIgn:" line of a /proc/<pid>/status text: bit N-1 set
// when signal N is ignored. The line must start the text or follow a
// newline, hold blanks (spaces or tabs), then 1 to 16 hex digits and
// nothing else up to the end of the line or the text. Anything else (no
// such line, a second one, a sign, "0x", more than 16 digits, trailing
// characters) gives kAllSignals.
uint64_t ParseSigIgn(std::string_view status);

// ParseSigIgn of this process's /proc/self/status; kAllSignals when that
// cannot be read.
uint64_t IgnoredSignals();

}  // namespace warden::launch

#endif  // WARDEN_LAUNCH_SIG_IGN_H_
