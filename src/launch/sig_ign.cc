#include "launch/sig_ign.h"

#include <string>

#include "base/file.h"

namespace warden::launch {

namespace {

constexpr std::string_view kKey = "SigIgn:";

// Where the "SigIgn:" line's value starts, or npos when there is not
// exactly one such line.
size_t FindValue(std::string_view status) {
  size_t found = std::string_view::npos;
  for (size_t pos = 0; pos < status.size();) {
    const size_t nl = status.find('\n', pos);
    const std::string_view line =
        status.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (line.substr(0, kKey.size()) == kKey) {
      if (found != std::string_view::npos) return std::string_view::npos;  // two: ambiguous
      found = pos + kKey.size();
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return found;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

uint64_t ParseSigIgn(std::string_view status) {
  size_t p = FindValue(status);
  if (p == std::string_view::npos) return kAllSignals;
  while (p < status.size() && (status[p] == ' ' || status[p] == '\t')) ++p;
  uint64_t mask = 0;
  int digits = 0;
  for (; p < status.size() && status[p] != '\n'; ++p) {
    const int d = HexDigit(status[p]);
    if (d < 0 || ++digits > 16) return kAllSignals;
    mask = mask << 4 | static_cast<uint64_t>(d);
  }
  return digits == 0 ? kAllSignals : mask;
}

uint64_t IgnoredSignals() {
  Result<std::string> status = base::ReadFile("/proc/self/status", 1 << 16);
  if (!status.ok()) return kAllSignals;
  return ParseSigIgn(*status);
}

}  // namespace warden::launch
