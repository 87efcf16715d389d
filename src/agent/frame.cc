// Framing of the agent's protocol (agent/frame.h).
#include "agent/frame.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

namespace warden::agent {

namespace {

uint32_t LoadLe32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

void StoreLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Takes every SCM_RIGHTS fd out of msg. The kernel has already made them
// close-on-exec (MSG_CMSG_CLOEXEC).
void TakeFds(struct msghdr* msg, std::vector<base::UniqueFd>* out) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      out->emplace_back(fd);
    }
  }
}

constexpr size_t kCmsgSpace = CMSG_SPACE(sizeof(int) * (kMaxFdsPerFrame + 1));

}  // namespace

std::string EncodeFrame(const std::string& message) {
  std::string out(kFrameHeaderBytes, '\0');
  StoreLe32(out.data(), static_cast<uint32_t>(message.size()));
  out += message;
  return out;
}

void FrameDecoder::Feed(const char* data, size_t len, std::vector<base::UniqueFd> fds) {
  // The kernel ends a read at the message that carries fds, so they came
  // with the read's last byte: with them the sender began a frame, which
  // may follow the end of an earlier one in the same read.
  const uint64_t at = base_ + buf_.size() + (len > 0 ? len - 1 : 0);
  for (base::UniqueFd& fd : fds) fds_.emplace_back(at, std::move(fd));
  // Drop consumed bytes before growing, so the buffer stays one frame big.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(0, pos_);
    base_ += pos_;
    pos_ = 0;
  }
  buf_.append(data, len);
}

uint32_t FrameDecoder::announced() const {
  if (buf_.size() - pos_ < kFrameHeaderBytes) return 0;
  return LoadLe32(buf_.data() + pos_);
}

FrameDecoder::Next FrameDecoder::Pop(std::string* message, std::vector<base::UniqueFd>* fds) {
  if (buf_.size() - pos_ < kFrameHeaderBytes) return Next::kNeedMore;
  const uint32_t len = LoadLe32(buf_.data() + pos_);
  if (len == 0 || len > max_) return Next::kTooLarge;
  if (buf_.size() - pos_ - kFrameHeaderBytes < len) return Next::kNeedMore;
  const uint64_t start = base_ + pos_;
  const uint64_t end = start + kFrameHeaderBytes + len;
  message->assign(buf_.data() + pos_ + kFrameHeaderBytes, len);
  pos_ += kFrameHeaderBytes + len;
  if (fds != nullptr) fds->clear();
  size_t taken = 0;
  size_t kept = 0;
  for (size_t i = 0; i < fds_.size(); i++) {
    if (fds_[i].first < end) {
      // fds that arrived before this frame began belong to no frame: the
      // sender broke the protocol; they are closed.
      if (fds_[i].first >= start && fds != nullptr) fds->push_back(std::move(fds_[i].second));
      taken++;
    } else {
      fds_[kept++] = std::move(fds_[i]);
    }
  }
  fds_.resize(kept);
  if (fds != nullptr && fds->size() > kMaxFdsPerFrame) {
    fds->clear();
    return Next::kTooManyFds;
  }
  (void)taken;
  return Next::kFrame;
}

Status SendFrame(int sock, const std::string& message, const std::vector<int>& fds) {
  if (fds.size() > kMaxFdsPerFrame) {
    return Status::Error(Code::kInvalidArgument,
                         "a message may carry at most " + std::to_string(kMaxFdsPerFrame) + " fds");
  }
  const std::string frame = EncodeFrame(message);
  size_t off = 0;
  bool fds_sent = fds.empty();
  alignas(struct cmsghdr) char control[kCmsgSpace];
  while (off < frame.size()) {
    struct iovec iov = {const_cast<char*>(frame.data() + off), frame.size() - off};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds_sent) {
      std::memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "sending to the agent's socket");
    }
    fds_sent = true;
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<size_t> RecvSome(int sock, char* buf, size_t cap, std::vector<base::UniqueFd>* fds) {
  alignas(struct cmsghdr) char control[kCmsgSpace];
  for (;;) {
    struct iovec iov = {buf, cap};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return Status::Error(Code::kUnavailable, "no data yet");
      }
      return Status::FromErrno(errno, "reading from a socket");
    }
    std::vector<base::UniqueFd> got;
    TakeFds(&msg, &got);
    if (fds != nullptr) {
      for (base::UniqueFd& fd : got) fds->push_back(std::move(fd));
    }
    // MSG_CTRUNC: more fds than the buffer holds were sent; the kernel
    // closed the rest. The frame is refused by its fd count or checks.
    return static_cast<size_t>(n);
  }
}

Result<bool> RecvFrame(int sock, uint32_t max_message_bytes, std::string* message,
                       std::vector<base::UniqueFd>* fds) {
  char header[kFrameHeaderBytes];
  size_t got = 0;
  std::vector<base::UniqueFd> received;
  alignas(struct cmsghdr) char control[kCmsgSpace];
  auto read_into = [&](char* dst, size_t want) -> Result<size_t> {
    for (;;) {
      struct iovec iov = {dst, want};
      struct msghdr msg = {};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      const ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "reading from the agent's socket");
      }
      TakeFds(&msg, &received);
      return static_cast<size_t>(n);
    }
  };
  while (got < kFrameHeaderBytes) {
    WARDEN_ASSIGN_OR_RETURN(size_t n, read_into(header + got, kFrameHeaderBytes - got));
    if (n == 0) {
      if (got == 0) return false;
      return Status::Error(Code::kIoError, "the agent closed the connection inside a message");
    }
    got += n;
  }
  const uint32_t len = LoadLe32(header);
  if (len == 0 || len > max_message_bytes) {
    return Status::Error(Code::kInvalidArgument,
                         "a message of " + std::to_string(len) + " bytes (the limit is " +
                             std::to_string(max_message_bytes) + ")");
  }
  message->assign(len, '\0');
  size_t off = 0;
  while (off < len) {
    WARDEN_ASSIGN_OR_RETURN(size_t n, read_into(message->data() + off, len - off));
    if (n == 0) return Status::Error(Code::kIoError, "the agent closed the connection inside a message");
    off += n;
  }
  if (fds != nullptr) *fds = std::move(received);
  return true;
}

}  // namespace warden::agent
