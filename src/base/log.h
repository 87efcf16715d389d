// Logging: one line per event, with a level and an optional job id.
// The library writes only through the sink; callers may replace it
// (include/warden/log.h is the public face).
#ifndef WARDEN_BASE_LOG_H_
#define WARDEN_BASE_LOG_H_

#include <string>

#include "warden/log.h"

namespace warden::base {

void Log(LogLevel level, const std::string& job_id, const std::string& message);

// Sends the calling thread's events to `sink` (at or above `min_level`)
// instead of the process-wide sink, for the object's life; a Launcher's
// job supervisor sets its launcher's for the thread's whole life, as the
// launch's phases run on it. An empty sink keeps the process-wide one.
// Scopes nest; the innermost wins.
class ScopedThreadLogSink {
 public:
  ScopedThreadLogSink(const LogSink* sink, LogLevel min_level);
  ~ScopedThreadLogSink();
  ScopedThreadLogSink(const ScopedThreadLogSink&) = delete;
  ScopedThreadLogSink& operator=(const ScopedThreadLogSink&) = delete;

 private:
  const LogSink* saved_sink_;
  LogLevel saved_level_;
};

}  // namespace warden::base

#define WLOG_DEBUG(job, msg) ::warden::base::Log(::warden::LogLevel::kDebug, job, msg)
#define WLOG_INFO(job, msg) ::warden::base::Log(::warden::LogLevel::kInfo, job, msg)
#define WLOG_WARN(job, msg) ::warden::base::Log(::warden::LogLevel::kWarn, job, msg)
#define WLOG_ERROR(job, msg) ::warden::base::Log(::warden::LogLevel::kError, job, msg)

#endif  // WARDEN_BASE_LOG_H_
