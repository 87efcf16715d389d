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

// The calling thread's sink (ScopedThreadLogSink); null: the process's.
thread_local const LogSink* t_sink = nullptr;
thread_local LogLevel t_min_level = LogLevel::kWarn;

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
  if (t_sink != nullptr) {
    if (level >= t_min_level) (*t_sink)(level, job_id, message);
    return;
  }
  if (level < g_min_level) return;
  Sink()(level, job_id, message);
}

ScopedThreadLogSink::ScopedThreadLogSink(const LogSink* sink, LogLevel min_level)
    : saved_sink_(t_sink), saved_level_(t_min_level) {
  if (sink != nullptr && *sink) {
    t_sink = sink;
    t_min_level = min_level;
  }
}

ScopedThreadLogSink::~ScopedThreadLogSink() {
  t_sink = saved_sink_;
  t_min_level = saved_level_;
}

void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "warden: check failed at %s:%d: %s\n", file, line, expr);
  std::abort();
}

}  // namespace base
}  // namespace warden
