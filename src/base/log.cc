#include "base/log.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "base/check.h"

namespace warden {
namespace {

LogLevel g_min_level = LogLevel::kWarn;

void DefaultSink(LogLevel level, const std::string& job_id, const std::string& message) {
  if (job_id.empty()) {
    std::fprintf(stderr, "warden: %s: %s\n", LogLevelName(level), message.c_str());
  } else {
    std::fprintf(stderr, "warden: %s [%s] %s\n", LogLevelName(level), job_id.c_str(),
                 message.c_str());
  }
}

LogSink& Sink() {
  static LogSink sink = DefaultSink;
  return sink;
}

}  // namespace

void SetLogSink(LogSink sink) { Sink() = sink ? std::move(sink) : LogSink(DefaultSink); }
void SetMinLogLevel(LogLevel level) { g_min_level = level; }

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}

namespace base {

void Log(LogLevel level, const std::string& job_id, const std::string& message) {
  if (level < g_min_level) return;
  Sink()(level, job_id, message);
}

void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "warden: check failed at %s:%d: %s\n", file, line, expr);
  std::abort();
}

}  // namespace base
}  // namespace warden
