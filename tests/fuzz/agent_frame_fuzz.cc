// Fuzz target for the agent's outside input: arbitrary bytes as a stream of
// frames (agent/frame.h), each frame parsed as an api::Request; the same
// bytes as the agent's configuration file (agent/config.h) and as a
// /proc/PID/status text (agent/peer.h).
//
// Input: byte 0 seeds the chunk sizes the stream is fed in, byte 1 picks the
// message limit (16 B .. 1 MiB), the rest is the stream. The config parser
// gets the whole input as text.
//
// Checks, beyond "no crash, no sanitizer report":
//   - feeding the stream in chunks pops the same frames, in the same order,
//     with the same end (need more / too large), as feeding it at once;
//   - no popped frame is empty or over the limit, and after the frames are
//     popped the decoder holds less than one frame and one chunk;
//   - a config error is kInvalidArgument and names the file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "agent/api.pb.h"
#include "agent/config.h"
#include "agent/frame.h"
#include "agent/peer.h"

namespace {

namespace agent = warden::agent;
using Next = agent::FrameDecoder::Next;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "agent_frame_fuzz: %s\n", what);
  std::abort();
}

struct Outcome {
  std::vector<std::string> frames;
  Next end = Next::kNeedMore;
};

// Feeds `stream` in chunks (1..64 bytes from `seed`; 0: all at once) and pops
// every frame after each chunk, until the stream cannot go on.
Outcome Decode(const std::string& stream, uint32_t max, uint8_t seed) {
  agent::FrameDecoder d(max);
  Outcome out;
  uint32_t x = seed | 1u;
  size_t at = 0;
  while (at < stream.size()) {
    size_t n = stream.size() - at;
    if (seed != 0) {
      x = x * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (x >> 16) % 64);
    }
    d.Feed(stream.data() + at, n);
    at += n;
    for (;;) {
      std::string m;
      std::vector<warden::base::UniqueFd> fds;
      const Next next = d.Pop(&m, &fds);
      if (next == Next::kFrame) {
        if (m.empty() || m.size() > max) Fail("a frame that is empty or over the limit");
        out.frames.push_back(std::move(m));
        continue;
      }
      out.end = next;
      break;
    }
    if (out.end == Next::kTooLarge || out.end == Next::kTooManyFds) return out;
    if (d.buffered() > agent::kFrameHeaderBytes + max + n) Fail("the decoder holds more than a frame");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (size >= 2) {
    const uint32_t max = 16u << (data[1] % 17);
    const std::string stream = input.substr(2);
    const Outcome whole = Decode(stream, max, 0);
    const Outcome chunked = Decode(stream, max, data[0]);
    if (whole.frames != chunked.frames) Fail("chunked feeding popped other frames");
    if (whole.end != chunked.end) Fail("chunked feeding ended differently");
    for (const std::string& m : whole.frames) {
      agent::api::Request req;
      google::protobuf::LogSilencer quiet;  // as the server parses
      if (!req.ParseFromString(m)) continue;
      // What the server reads of a parsed request.
      (void)req.id();
      (void)req.body_case();
      agent::api::Request again;
      if (!again.ParseFromString(req.SerializeAsString())) Fail("a parsed request does not parse again");
      if (again.id() != req.id() || again.body_case() != req.body_case()) Fail("request round trip");
    }
  }
  // The /proc/PID/status fallback for a peer's groups.
  if (agent::ParseStatusGroups(input).size() > agent::kMaxPeerGroups) Fail("too many groups");
  auto config = agent::ParseAgentConfig(input, "fuzz.toml");
  if (!config.ok()) {
    if (config.status().code() != warden::Code::kInvalidArgument) Fail("config error is not kInvalidArgument");
    if (config.status().message().rfind("fuzz.toml:", 0) != 0) Fail("config error without location");
  }
  return 0;
}
