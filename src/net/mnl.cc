// libmnl's interface, implemented here so that warden links statically.
//
// libnftnl (static, from Debian) builds nf_tables messages through libmnl,
// and Debian ships libmnl as a shared library only. A binary that loads even
// one shared library pays for ld.so and libc.so at every start: the mapping,
// the relocations and their page faults took about 1 ms of each `warden run`
// (of 12). This file gives the 44 functions that libnftnl and src/net/nft.cc
// call, with the behaviour libmnl documents; the declarations still come from
// Debian's <libmnl/libmnl.h>, so a signature that drifts fails the build, and
// tests/net/mnl_test.cc compares them with the shared libmnl.so.0 on the
// same inputs.
//
// Netlink framing only: 4-byte aligned headers, type-length-value
// attributes, acknowledgements. Lengths come from the kernel or from our own
// buffers; every walk is bounded by the length it is given.
#include <libmnl/libmnl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

struct mnl_socket {
  int fd;
  sockaddr_nl addr;
};

struct mnl_nlmsg_batch {
  char* buf;
  size_t limit;   // bytes the batch may hold
  size_t buflen;  // bytes of whole messages in it
  char* cur;      // where the next message is built
  bool overflow;
};

namespace {

char* Bytes(const void* p) { return static_cast<char*>(const_cast<void*>(p)); }

// The first byte past the message: where the next attribute goes.
nlattr* Tail(const nlmsghdr* nlh) {
  return reinterpret_cast<nlattr*>(Bytes(nlh) + MNL_ALIGN(nlh->nlmsg_len));
}

// Calls cb on each attribute in [payload, payload + len) until one returns
// MNL_CB_STOP or MNL_CB_ERROR.
int ParseAttrs(const void* payload, size_t len, mnl_attr_cb_t cb, void* data) {
  const char* end = Bytes(payload) + len;
  for (auto* a = static_cast<const nlattr*>(payload); mnl_attr_ok(a, static_cast<int>(end - Bytes(a)));
       a = mnl_attr_next(a)) {
    int r = cb(a, data);
    if (r <= MNL_CB_STOP) return r;
  }
  return MNL_CB_OK;
}

// Payload bytes each fixed-size type must have; 0 means any length.
size_t FixedLen(mnl_attr_data_type type) {
  switch (type) {
    case MNL_TYPE_U8: return sizeof(uint8_t);
    case MNL_TYPE_U16: return sizeof(uint16_t);
    case MNL_TYPE_U32: return sizeof(uint32_t);
    case MNL_TYPE_U64:
    case MNL_TYPE_MSECS: return sizeof(uint64_t);
    default: return 0;
  }
}

int Fail(int err) {
  errno = err;
  return -1;
}

// Checks an attribute's payload against its type: fixed-size types need
// exactly their size, strings and nests a well-formed payload.
int Validate(const nlattr* attr, mnl_attr_data_type type) {
  const size_t want = FixedLen(type);
  const uint16_t len = mnl_attr_get_payload_len(attr);
  const char* p = static_cast<const char*>(mnl_attr_get_payload(attr));
  if (len < want) return Fail(ERANGE);
  switch (type) {
    case MNL_TYPE_FLAG:
      if (len > 0) return Fail(ERANGE);
      break;
    case MNL_TYPE_NUL_STRING:
      if (len == 0) return Fail(ERANGE);
      if (p[len - 1] != '\0') return Fail(EINVAL);
      break;
    case MNL_TYPE_STRING:
      if (len == 0) return Fail(ERANGE);
      break;
    case MNL_TYPE_NESTED:
      if (len > 0 && len < MNL_ATTR_HDRLEN) return Fail(ERANGE);
      break;
    default:
      break;
  }
  if (want > 0 && len > want) return Fail(ERANGE);
  return 0;
}

// What a control message (type below NLMSG_MIN_TYPE) means to a reader.
int Control(const nlmsghdr* nlh) {
  switch (nlh->nlmsg_type) {
    case NLMSG_ERROR: {
      if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) return Fail(EBADMSG);
      const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      // An acknowledgement (error 0) ends the exchange; anything else is
      // the kernel's errno, negated.
      if (e->error == 0) return MNL_CB_STOP;
      errno = e->error < 0 ? -e->error : e->error;
      return MNL_CB_ERROR;
    }
    case NLMSG_DONE:
      return MNL_CB_STOP;
    default:  // NLMSG_NOOP, NLMSG_OVERRUN and unassigned types
      return MNL_CB_OK;
  }
}

}  // namespace

extern "C" {

// --- sockets ---

mnl_socket* mnl_socket_open2(int bus, int flags) {
  auto* nl = static_cast<mnl_socket*>(calloc(1, sizeof(mnl_socket)));
  if (nl == nullptr) return nullptr;
  nl->fd = socket(AF_NETLINK, SOCK_RAW | flags, bus);
  if (nl->fd < 0) {
    free(nl);
    return nullptr;
  }
  return nl;
}

mnl_socket* mnl_socket_open(int bus) { return mnl_socket_open2(bus, 0); }

int mnl_socket_bind(mnl_socket* nl, unsigned int groups, pid_t pid) {
  nl->addr = {};
  nl->addr.nl_family = AF_NETLINK;
  nl->addr.nl_groups = groups;
  nl->addr.nl_pid = static_cast<uint32_t>(pid);
  if (bind(nl->fd, reinterpret_cast<sockaddr*>(&nl->addr), sizeof nl->addr) < 0) return -1;
  // With pid 0 the kernel picks the port id; read back what it chose.
  socklen_t len = sizeof nl->addr;
  if (getsockname(nl->fd, reinterpret_cast<sockaddr*>(&nl->addr), &len) < 0) return -1;
  if (len != sizeof nl->addr || nl->addr.nl_family != AF_NETLINK) return Fail(EINVAL);
  return 0;
}

int mnl_socket_close(mnl_socket* nl) {
  int r = close(nl->fd);
  free(nl);
  return r;
}

int mnl_socket_get_fd(const mnl_socket* nl) { return nl->fd; }

unsigned int mnl_socket_get_portid(const mnl_socket* nl) { return nl->addr.nl_pid; }

ssize_t mnl_socket_sendto(const mnl_socket* nl, const void* buf, size_t len) {
  sockaddr_nl kernel = {};
  kernel.nl_family = AF_NETLINK;
  return sendto(nl->fd, buf, len, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
}

ssize_t mnl_socket_recvfrom(const mnl_socket* nl, void* buf, size_t bufsiz) {
  sockaddr_nl from = {};
  iovec iov = {buf, bufsiz};
  msghdr msg = {};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n = recvmsg(nl->fd, &msg, 0);
  if (n < 0) return n;
  // A message cut short would be parsed as garbage: report it instead.
  if (msg.msg_flags & MSG_TRUNC) return Fail(ENOSPC);
  if (msg.msg_namelen != sizeof from) return Fail(EINVAL);
  return n;
}

// --- messages ---

size_t mnl_nlmsg_size(size_t len) { return len + MNL_NLMSG_HDRLEN; }

nlmsghdr* mnl_nlmsg_put_header(void* buf) {
  memset(buf, 0, MNL_NLMSG_HDRLEN);
  auto* nlh = static_cast<nlmsghdr*>(buf);
  nlh->nlmsg_len = MNL_NLMSG_HDRLEN;
  return nlh;
}

void* mnl_nlmsg_put_extra_header(nlmsghdr* nlh, size_t size) {
  char* p = Bytes(nlh) + nlh->nlmsg_len;
  const size_t len = MNL_ALIGN(size);
  nlh->nlmsg_len += static_cast<uint32_t>(len);
  memset(p, 0, len);
  return p;
}

void* mnl_nlmsg_get_payload(const nlmsghdr* nlh) { return Bytes(nlh) + MNL_NLMSG_HDRLEN; }

bool mnl_nlmsg_ok(const nlmsghdr* nlh, int len) {
  return len >= static_cast<int>(sizeof(nlmsghdr)) && nlh->nlmsg_len >= sizeof(nlmsghdr) &&
         static_cast<int>(nlh->nlmsg_len) <= len;
}

nlmsghdr* mnl_nlmsg_next(const nlmsghdr* nlh, int* len) {
  *len -= static_cast<int>(MNL_ALIGN(nlh->nlmsg_len));
  return reinterpret_cast<nlmsghdr*>(Bytes(nlh) + MNL_ALIGN(nlh->nlmsg_len));
}

// --- batches: messages built back to back in one caller-owned buffer ---

mnl_nlmsg_batch* mnl_nlmsg_batch_start(void* buf, size_t limit) {
  auto* b = static_cast<mnl_nlmsg_batch*>(malloc(sizeof(mnl_nlmsg_batch)));
  if (b == nullptr) return nullptr;
  b->buf = static_cast<char*>(buf);
  b->limit = limit;
  b->buflen = 0;
  b->cur = b->buf;
  b->overflow = false;
  return b;
}

void mnl_nlmsg_batch_stop(mnl_nlmsg_batch* b) { free(b); }

// Takes the message at the cursor into the batch. False when it would pass
// the limit: the message stays at the cursor, outside the batch, and the
// caller sends what the batch holds first.
bool mnl_nlmsg_batch_next(mnl_nlmsg_batch* b) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(b->cur);
  if (b->buflen + nlh->nlmsg_len > b->limit) {
    b->overflow = true;
    return false;
  }
  b->buflen += nlh->nlmsg_len;
  b->cur = b->buf + b->buflen;
  return true;
}

size_t mnl_nlmsg_batch_size(mnl_nlmsg_batch* b) { return b->buflen; }
void* mnl_nlmsg_batch_head(mnl_nlmsg_batch* b) { return b->buf; }
void* mnl_nlmsg_batch_current(mnl_nlmsg_batch* b) { return b->cur; }
bool mnl_nlmsg_batch_is_empty(mnl_nlmsg_batch* b) { return b->buflen == 0; }

// --- attributes ---

uint16_t mnl_attr_get_type(const nlattr* attr) { return attr->nla_type & NLA_TYPE_MASK; }
uint16_t mnl_attr_get_payload_len(const nlattr* attr) {
  return static_cast<uint16_t>(attr->nla_len - MNL_ATTR_HDRLEN);
}
void* mnl_attr_get_payload(const nlattr* attr) { return Bytes(attr) + MNL_ATTR_HDRLEN; }

bool mnl_attr_ok(const nlattr* attr, int len) {
  return len >= static_cast<int>(sizeof(nlattr)) && attr->nla_len >= sizeof(nlattr) &&
         static_cast<int>(attr->nla_len) <= len;
}

nlattr* mnl_attr_next(const nlattr* attr) {
  return reinterpret_cast<nlattr*>(Bytes(attr) + MNL_ALIGN(attr->nla_len));
}

int mnl_attr_type_valid(const nlattr* attr, uint16_t max) {
  if (mnl_attr_get_type(attr) > max) return Fail(EOPNOTSUPP);
  return 1;
}

int mnl_attr_validate(const nlattr* attr, mnl_attr_data_type type) {
  if (type >= MNL_TYPE_MAX) return Fail(EINVAL);
  return Validate(attr, type);
}

int mnl_attr_parse(const nlmsghdr* nlh, unsigned int offset, mnl_attr_cb_t cb, void* data) {
  // Attributes run to the message's aligned end, as libmnl walks them.
  const size_t start = MNL_NLMSG_HDRLEN + MNL_ALIGN(offset);
  const size_t end = MNL_ALIGN(nlh->nlmsg_len);
  if (end < start) return MNL_CB_OK;
  return ParseAttrs(Bytes(nlh) + start, end - start, cb, data);
}

int mnl_attr_parse_nested(const nlattr* nested, mnl_attr_cb_t cb, void* data) {
  return ParseAttrs(mnl_attr_get_payload(nested), mnl_attr_get_payload_len(nested), cb, data);
}

const char* mnl_attr_get_str(const nlattr* attr) {
  return static_cast<const char*>(mnl_attr_get_payload(attr));
}

// Attribute payloads are only 4-byte aligned: read through memcpy.
uint8_t mnl_attr_get_u8(const nlattr* attr) {
  return *static_cast<const uint8_t*>(mnl_attr_get_payload(attr));
}
uint16_t mnl_attr_get_u16(const nlattr* attr) {
  uint16_t v;
  memcpy(&v, mnl_attr_get_payload(attr), sizeof v);
  return v;
}
uint32_t mnl_attr_get_u32(const nlattr* attr) {
  uint32_t v;
  memcpy(&v, mnl_attr_get_payload(attr), sizeof v);
  return v;
}
uint64_t mnl_attr_get_u64(const nlattr* attr) {
  uint64_t v;
  memcpy(&v, mnl_attr_get_payload(attr), sizeof v);
  return v;
}

// Appends an attribute to the message, padding its payload with zeros to
// the 4-byte boundary. The caller's buffer must have room (as with libmnl).
void mnl_attr_put(nlmsghdr* nlh, uint16_t type, size_t len, const void* data) {
  nlattr* attr = Tail(nlh);
  const size_t total = MNL_ATTR_HDRLEN + len;
  attr->nla_type = type;
  attr->nla_len = static_cast<uint16_t>(total);
  char* payload = static_cast<char*>(mnl_attr_get_payload(attr));
  if (len > 0) memcpy(payload, data, len);
  memset(payload + len, 0, MNL_ALIGN(len) - len);
  nlh->nlmsg_len += static_cast<uint32_t>(MNL_ALIGN(total));
}

void mnl_attr_put_u8(nlmsghdr* nlh, uint16_t type, uint8_t v) { mnl_attr_put(nlh, type, sizeof v, &v); }
void mnl_attr_put_u16(nlmsghdr* nlh, uint16_t type, uint16_t v) { mnl_attr_put(nlh, type, sizeof v, &v); }
void mnl_attr_put_u32(nlmsghdr* nlh, uint16_t type, uint32_t v) { mnl_attr_put(nlh, type, sizeof v, &v); }
void mnl_attr_put_u64(nlmsghdr* nlh, uint16_t type, uint64_t v) { mnl_attr_put(nlh, type, sizeof v, &v); }
void mnl_attr_put_str(nlmsghdr* nlh, uint16_t type, const char* s) { mnl_attr_put(nlh, type, strlen(s), s); }
void mnl_attr_put_strz(nlmsghdr* nlh, uint16_t type, const char* s) {
  mnl_attr_put(nlh, type, strlen(s) + 1, s);
}

// A nest is an attribute whose payload is the attributes put until
// mnl_attr_nest_end; its length is filled in then.
nlattr* mnl_attr_nest_start(nlmsghdr* nlh, uint16_t type) {
  nlattr* start = Tail(nlh);
  start->nla_type = NLA_F_NESTED | type;
  nlh->nlmsg_len += MNL_ATTR_HDRLEN;
  return start;
}

void mnl_attr_nest_end(nlmsghdr* nlh, nlattr* start) {
  start->nla_len = static_cast<uint16_t>(Bytes(Tail(nlh)) - Bytes(start));
}

// --- reading replies ---

// Walks the messages in buf: each must carry our port id and sequence number
// (0 on either side matches anything). Data messages go to cb; errors,
// acknowledgements and NLMSG_DONE end the walk as libmnl documents.
int mnl_cb_run(const void* buf, size_t numbytes, unsigned int seq, unsigned int portid, mnl_cb_t cb,
               void* data) {
  int ret = MNL_CB_OK;
  int len = static_cast<int>(numbytes);
  for (auto* nlh = static_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, len);
       nlh = mnl_nlmsg_next(nlh, &len)) {
    if (nlh->nlmsg_pid != 0 && portid != 0 && nlh->nlmsg_pid != portid) return Fail(ESRCH);
    if (nlh->nlmsg_seq != 0 && seq != 0 && nlh->nlmsg_seq != seq) return Fail(EPROTO);
    // The dump changed while the kernel sent it: the caller must ask again.
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) return Fail(EINTR);
    if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
      if (cb != nullptr) ret = cb(nlh, data);
    } else {
      ret = Control(nlh);
    }
    if (ret <= MNL_CB_STOP) return ret;
  }
  return ret;
}

}  // extern "C"
