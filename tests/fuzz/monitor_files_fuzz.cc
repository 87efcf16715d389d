// Fuzz target for what the agent reads back from a job directory and /proc
// (agent/monitor_files.h): jobs/ID/monitor, jobs/ID/heartbeat,
// jobs/ID/result and /proc/PID/stat. A job directory is written by a
// monitor only, but read as root after any crash: bounded and strict.
//
// The first byte picks the parser, the rest is its input. Checks, beyond
// "no crash, no sanitizer report": an identity or heartbeat that parses is
// exactly what the monitor would write for it (one spelling only), a result
// that parses names a terminal state and an exit code 0-255, and every
// error is kCorruption naming its file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/monitor_files.h"

namespace {

void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "monitor_files_fuzz: %s\n", what);
    std::abort();
  }
}

void CheckError(const warden::Status& st) {
  Require(st.code() == warden::Code::kCorruption, "an error that is not kCorruption");
  Require(st.message().find("FILE") != std::string::npos, "an error that names no file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      warden::Result<warden::agent::MonitorIdentity> id = warden::agent::ParseIdentity(text, "FILE");
      if (!id.ok()) return CheckError(id.status()), 0;
      Require(id->pid > 0, "pid 0 accepted");
      Require(warden::agent::FormatIdentity(*id) == text, "identity does not round-trip");
      break;
    }
    case 1: {
      std::optional<uint64_t> beat = warden::agent::ParseHeartbeat(text);
      if (beat) Require(warden::agent::FormatHeartbeat(*beat) == text, "heartbeat does not round-trip");
      break;
    }
    case 2: {
      warden::Result<warden::agent::Probe> r = warden::agent::ParseResult(text, "FILE");
      if (!r.ok()) return CheckError(r.status()), 0;
      Require(r->fate == warden::agent::MonitorFate::kEnded, "result not kEnded");
      Require(r->state >= warden::agent::api::EXITED && r->state <= warden::agent::api::CANCELLED,
              "result names no terminal state");
      Require(r->exit_code >= 0 && r->exit_code <= 255, "exit code out of range");
      Require(r->result_json == text, "result text changed");
      break;
    }
    case 3: {
      warden::Result<uint64_t> ticks = warden::agent::ParseStartTicks(text, "FILE");
      if (!ticks.ok()) return CheckError(ticks.status()), 0;
      break;
    }
  }
  return 0;
}
