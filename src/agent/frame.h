// Framing of the agent's protocol (api.proto): a 4-byte little-endian
// length, then the message. File descriptors ride with SCM_RIGHTS on the
// first sendmsg of a frame, so they arrive with the frame's first bytes;
// the decoder hands each frame the fds that arrived with its bytes. One
// recvmsg may take the end of one frame and the start of the next, whose
// fds then come with it: the kernel ends a read after the message that
// carries fds, so fds belong to the frame of the read's last byte.
//
// The decoder is for the agent's non-blocking connections (and is fuzzed);
// SendFrame / RecvFrame are blocking helpers for clients and tests.
#ifndef WARDEN_AGENT_FRAME_H_
#define WARDEN_AGENT_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "warden/status.h"

namespace warden::agent {

inline constexpr size_t kFrameHeaderBytes = 4;
// Most fds one frame may carry; more are closed and the frame is refused.
inline constexpr size_t kMaxFdsPerFrame = 16;
// Default largest message (AgentConfig::max_message_bytes).
inline constexpr uint32_t kDefaultMaxMessageBytes = 1u << 20;

std::string EncodeFrame(const std::string& message);

class FrameDecoder {
 public:
  enum class Next {
    kFrame,     // *message (and *fds) hold one whole frame
    kNeedMore,  // no whole frame buffered yet
    kTooLarge,  // the next frame's length is over the limit (or zero):
                // the stream cannot be resynchronised; close it after
                // replying
    kTooManyFds,
  };
  explicit FrameDecoder(uint32_t max_message_bytes) : max_(max_message_bytes) {}

  // Bytes received, and the fds received with them (they belong to the
  // frame that holds the last of these bytes).
  void Feed(const char* data, size_t len, std::vector<base::UniqueFd> fds = {});
  Next Pop(std::string* message, std::vector<base::UniqueFd>* fds);
  // Bytes buffered and not yet popped.
  size_t buffered() const { return buf_.size() - pos_; }
  // The length announced by the frame being received (0 when none yet).
  uint32_t announced() const;

 private:
  uint32_t max_;
  std::string buf_;
  size_t pos_ = 0;      // start of the next frame in buf_
  uint64_t base_ = 0;   // stream offset of buf_[0]
  std::vector<std::pair<uint64_t, base::UniqueFd>> fds_;  // stream offset, fd
};

// Writes one frame (all of it; EINTR and short writes retried), with `fds`
// on its first bytes. MSG_NOSIGNAL: a closed peer is EPIPE, not SIGPIPE.
Status SendFrame(int sock, const std::string& message, const std::vector<int>& fds = {});

// Reads one frame (blocking). false: the peer closed cleanly before a
// frame began. Received fds are close-on-exec.
Result<bool> RecvFrame(int sock, uint32_t max_message_bytes, std::string* message,
                       std::vector<base::UniqueFd>* fds = nullptr);

// One non-blocking recvmsg into buf: bytes read (0: the peer closed), with
// any fds that came (close-on-exec). kUnavailable on EAGAIN.
Result<size_t> RecvSome(int sock, char* buf, size_t cap, std::vector<base::UniqueFd>* fds);

}  // namespace warden::agent

#endif  // WARDEN_AGENT_FRAME_H_
