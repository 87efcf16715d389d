// The log sink. warden's library never writes to stderr by itself: every
// event goes to the current sink, which the embedding program may replace.
// The default sink writes "warden: LEVEL [job] message" lines to stderr for
// events at or above the minimum level (warn unless changed).
// SetLogSink and SetMinLogLevel are not thread-safe: call them at start-up.
#ifndef WARDEN_LOG_H_
#define WARDEN_LOG_H_

#include <functional>
#include <string>

#include "warden/export.h"

namespace warden {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

using LogSink = std::function<void(LogLevel, const std::string& job_id,
                                   const std::string& message)>;

WARDEN_EXPORT void SetLogSink(LogSink sink);
WARDEN_EXPORT void SetMinLogLevel(LogLevel level);
WARDEN_EXPORT const char* LogLevelName(LogLevel level);

}  // namespace warden

#endif  // WARDEN_LOG_H_
