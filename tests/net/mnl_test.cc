// src/net/mnl.cc against Debian's shared libmnl.so.0: the same inputs give
// the same bytes, return values, errno and callback calls. libmnl is loaded
// with dlopen (RTLD_LOCAL), so its functions are its own and ours are the
// ones this binary links.
#include <dlfcn.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.h"

namespace warden::net {
namespace {

// The functions under test, from one implementation.
struct Mnl {
  decltype(&mnl_nlmsg_put_header) put_header;
  decltype(&mnl_nlmsg_put_extra_header) put_extra_header;
  decltype(&mnl_nlmsg_ok) nlmsg_ok;
  decltype(&mnl_nlmsg_next) nlmsg_next;
  decltype(&mnl_nlmsg_get_payload) nlmsg_payload;
  decltype(&mnl_attr_put) put;
  decltype(&mnl_attr_put_u8) put_u8;
  decltype(&mnl_attr_put_u16) put_u16;
  decltype(&mnl_attr_put_u32) put_u32;
  decltype(&mnl_attr_put_u64) put_u64;
  decltype(&mnl_attr_put_str) put_str;
  decltype(&mnl_attr_put_strz) put_strz;
  decltype(&mnl_attr_nest_start) nest_start;
  decltype(&mnl_attr_nest_end) nest_end;
  decltype(&mnl_attr_parse) parse;
  decltype(&mnl_attr_parse_nested) parse_nested;
  decltype(&mnl_attr_validate) validate;
  decltype(&mnl_attr_type_valid) type_valid;
  decltype(&mnl_attr_get_type) get_type;
  decltype(&mnl_attr_get_payload_len) get_payload_len;
  decltype(&mnl_attr_get_str) get_str;
  decltype(&mnl_attr_get_u8) get_u8;
  decltype(&mnl_attr_get_u16) get_u16;
  decltype(&mnl_attr_get_u32) get_u32;
  decltype(&mnl_attr_get_u64) get_u64;
  decltype(&mnl_nlmsg_batch_start) batch_start;
  decltype(&mnl_nlmsg_batch_next) batch_next;
  decltype(&mnl_nlmsg_batch_stop) batch_stop;
  decltype(&mnl_nlmsg_batch_size) batch_size;
  decltype(&mnl_nlmsg_batch_head) batch_head;
  decltype(&mnl_nlmsg_batch_current) batch_current;
  decltype(&mnl_nlmsg_batch_is_empty) batch_is_empty;
  decltype(&mnl_cb_run) cb_run;
  decltype(&mnl_socket_open2) socket_open2;
  decltype(&mnl_socket_bind) socket_bind;
  decltype(&mnl_socket_close) socket_close;
  decltype(&mnl_socket_get_portid) socket_portid;
  decltype(&mnl_socket_sendto) socket_sendto;
  decltype(&mnl_socket_recvfrom) socket_recvfrom;
};

#define WARDEN_MNL_FIELDS(X)                                                                  \
  X(put_header, mnl_nlmsg_put_header) X(put_extra_header, mnl_nlmsg_put_extra_header)         \
  X(nlmsg_ok, mnl_nlmsg_ok) X(nlmsg_next, mnl_nlmsg_next)                                     \
  X(nlmsg_payload, mnl_nlmsg_get_payload) X(put, mnl_attr_put) X(put_u8, mnl_attr_put_u8)     \
  X(put_u16, mnl_attr_put_u16) X(put_u32, mnl_attr_put_u32) X(put_u64, mnl_attr_put_u64)      \
  X(put_str, mnl_attr_put_str) X(put_strz, mnl_attr_put_strz)                                 \
  X(nest_start, mnl_attr_nest_start) X(nest_end, mnl_attr_nest_end) X(parse, mnl_attr_parse)  \
  X(parse_nested, mnl_attr_parse_nested) X(validate, mnl_attr_validate)                       \
  X(type_valid, mnl_attr_type_valid) X(get_type, mnl_attr_get_type)                           \
  X(get_payload_len, mnl_attr_get_payload_len) X(get_str, mnl_attr_get_str)                   \
  X(get_u8, mnl_attr_get_u8) X(get_u16, mnl_attr_get_u16) X(get_u32, mnl_attr_get_u32)        \
  X(get_u64, mnl_attr_get_u64) X(batch_start, mnl_nlmsg_batch_start)                          \
  X(batch_next, mnl_nlmsg_batch_next) X(batch_stop, mnl_nlmsg_batch_stop)                     \
  X(batch_size, mnl_nlmsg_batch_size) X(batch_head, mnl_nlmsg_batch_head)                     \
  X(batch_current, mnl_nlmsg_batch_current) X(batch_is_empty, mnl_nlmsg_batch_is_empty)       \
  X(cb_run, mnl_cb_run) X(socket_open2, mnl_socket_open2) X(socket_bind, mnl_socket_bind)     \
  X(socket_close, mnl_socket_close) X(socket_portid, mnl_socket_get_portid)                   \
  X(socket_sendto, mnl_socket_sendto) X(socket_recvfrom, mnl_socket_recvfrom)

Mnl Ours() {
  Mnl m{};
#define WARDEN_MNL_OURS(field, fn) m.field = &fn;
  WARDEN_MNL_FIELDS(WARDEN_MNL_OURS)
#undef WARDEN_MNL_OURS
  return m;
}

// Debian's libmnl, or false when it cannot be loaded.
bool Theirs(Mnl* m, std::string* why) {
  static void* lib = dlopen("libmnl.so.0", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    *why = std::string("libmnl.so.0 (Debian libmnl0) cannot be loaded: ") + dlerror();
    return false;
  }
#define WARDEN_MNL_THEIRS(field, fn)                                  \
  m->field = reinterpret_cast<decltype(m->field)>(dlsym(lib, #fn));  \
  if (m->field == nullptr) {                                          \
    *why = "libmnl.so.0 has no " #fn;                                 \
    return false;                                                     \
  }
  WARDEN_MNL_FIELDS(WARDEN_MNL_THEIRS)
#undef WARDEN_MNL_THEIRS
  return true;
}

#define WARDEN_MNL_PAIR(ours, theirs)                              \
  Mnl ours = Ours();                                               \
  Mnl theirs{};                                                    \
  do {                                                             \
    std::string why;                                               \
    if (!Theirs(&theirs, &why)) WARDEN_SKIP(why);                  \
    REQUIRE(reinterpret_cast<void*>(ours.put) !=                   \
            reinterpret_cast<void*>(theirs.put));                  \
  } while (0)

// Builds one message of every kind of attribute, nested ones included.
std::vector<char> Build(const Mnl& m, char fill) {
  std::vector<char> buf(1024, fill);
  nlmsghdr* nlh = m.put_header(buf.data());
  nlh->nlmsg_type = 42;
  m.put_extra_header(nlh, 5);
  m.put_u8(nlh, 1, 0x7f);
  m.put_u16(nlh, 2, 0xbeef);
  m.put_u32(nlh, 3, 0xdeadbeef);
  m.put_u64(nlh, 4, 0x0123456789abcdefull);
  m.put_str(nlh, 5, "abc");
  m.put_strz(nlh, 6, "abcd");
  m.put(nlh, 7, 0, nullptr);
  m.put(nlh, 8, 3, "xyz");
  nlattr* outer = m.nest_start(nlh, 9);
  m.put_u32(nlh, 1, 7);
  nlattr* inner = m.nest_start(nlh, 2);
  m.put_str(nlh, 1, "inner");
  m.nest_end(nlh, inner);
  m.nest_end(nlh, outer);
  buf.resize(nlh->nlmsg_len + 16);  // the bytes past the end must be untouched too
  return buf;
}

TEST_CASE("mnl: messages built by warden and by libmnl are byte for byte the same", "[net]") {
  WARDEN_MNL_PAIR(ours, theirs);
  std::vector<char> a = Build(ours, 0);
  std::vector<char> b = Build(theirs, 0);
  REQUIRE(a.size() == b.size());
  CHECK(a == b);
  // In a dirty buffer, warden also zeroes the padding after each payload
  // (libmnl 1.0.4 leaves it as it was, and sends those bytes to the
  // kernel), and writes nothing past the message.
  std::vector<char> dirty = Build(ours, '\xaa');
  REQUIRE(dirty.size() == a.size());
  CHECK(std::equal(a.begin(), a.end() - 16, dirty.begin()));
  CHECK(std::all_of(dirty.end() - 16, dirty.end(), [](char c) { return c == '\xaa'; }));
}

// One callback call, as offsets into the buffer and what each check said.
struct Seen {
  long offset;
  uint16_t type;
  uint16_t payload_len;
  std::vector<int> validate;  // result and errno for each data type
  int type_valid;
  bool operator==(const Seen&) const = default;
};

struct ParseState {
  const Mnl* m;
  const char* base;
  std::vector<Seen>* seen;
  int stop_at;  // callback index that returns MNL_CB_STOP (-1: none)
};

int Record(const nlattr* attr, void* data) {
  auto* st = static_cast<ParseState*>(data);
  Seen s{reinterpret_cast<const char*>(attr) - st->base, st->m->get_type(attr),
         st->m->get_payload_len(attr), {}, 0};
  for (int t = MNL_TYPE_UNSPEC; t <= MNL_TYPE_MAX; ++t) {
    errno = 0;
    int r = st->m->validate(attr, static_cast<mnl_attr_data_type>(t));
    s.validate.push_back(r);
    s.validate.push_back(r < 0 ? errno : 0);
  }
  errno = 0;
  s.type_valid = st->m->type_valid(attr, 5) * 1000 + errno;
  st->seen->push_back(s);
  if (static_cast<int>(st->seen->size()) - 1 == st->stop_at) return MNL_CB_STOP;
  return MNL_CB_OK;
}

std::vector<Seen> Parse(const Mnl& m, const std::vector<char>& buf, unsigned offset, int stop_at,
                        int* ret) {
  std::vector<Seen> seen;
  ParseState st{&m, buf.data(), &seen, stop_at};
  *ret = m.parse(reinterpret_cast<const nlmsghdr*>(buf.data()), offset, Record, &st);
  return seen;
}

TEST_CASE("mnl: parsing and validating attributes agree with libmnl", "[net]") {
  WARDEN_MNL_PAIR(ours, theirs);
  std::vector<char> msg = Build(ours, 0);
  for (unsigned offset : {0u, 5u, 8u}) {
    for (int stop_at : {-1, 0, 3}) {
      int r1 = 0, r2 = 0;
      std::vector<Seen> s1 = Parse(ours, msg, offset, stop_at, &r1);
      std::vector<Seen> s2 = Parse(theirs, msg, offset, stop_at, &r2);
      CHECK(r1 == r2);
      CHECK(s1 == s2);
      if (offset == 8 && stop_at == -1) CHECK(s1.size() == 9);
    }
  }
  // A message length that is not a multiple of 4: the last attribute ends
  // in the padding, which libmnl still walks.
  {
    std::vector<char> odd(64, 0);
    nlmsghdr* nlh = ours.put_header(odd.data());
    ours.put_u32(nlh, 1, 5);
    ours.put(nlh, 2, 3, "abc");  // payload ends 1 byte before the aligned end
    nlh->nlmsg_len -= 2;
    int r1 = 0, r2 = 0;
    std::vector<Seen> s1 = Parse(ours, odd, 0, -1, &r1);
    std::vector<Seen> s2 = Parse(theirs, odd, 0, -1, &r2);
    CHECK(r1 == r2);
    CHECK(s1 == s2);
  }
  // The nest, and the getters on each attribute.
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(msg.data());
  const auto* attr = static_cast<const nlattr*>(ours.nlmsg_payload(nlh));
  attr = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(attr) + 8);
  int left = static_cast<int>(nlh->nlmsg_len) - MNL_NLMSG_HDRLEN - 8;
  int count = 0;
  for (; mnl_attr_ok(attr, left); ++count) {
    CHECK(ours.get_type(attr) == theirs.get_type(attr));
    CHECK(ours.get_u8(attr) == theirs.get_u8(attr));
    if (ours.get_payload_len(attr) >= 2) CHECK(ours.get_u16(attr) == theirs.get_u16(attr));
    if (ours.get_payload_len(attr) >= 4) CHECK(ours.get_u32(attr) == theirs.get_u32(attr));
    if (ours.get_payload_len(attr) >= 8) CHECK(ours.get_u64(attr) == theirs.get_u64(attr));
    CHECK(ours.get_str(attr) == theirs.get_str(attr));
    if (ours.get_type(attr) == 9) {
      std::vector<Seen> n1, n2;
      ParseState st1{&ours, msg.data(), &n1, -1};
      ParseState st2{&theirs, msg.data(), &n2, -1};
      CHECK(ours.parse_nested(attr, Record, &st1) == theirs.parse_nested(attr, Record, &st2));
      CHECK(n1 == n2);
      CHECK(n1.size() == 2);
    }
    left -= MNL_ALIGN(attr->nla_len);
    attr = mnl_attr_next(attr);
  }
  CHECK(count == 9);
}

TEST_CASE("mnl: random and broken attribute streams are walked the same as libmnl", "[net]") {
  WARDEN_MNL_PAIR(ours, theirs);
  std::mt19937 rng(20261123);
  for (int i = 0; i < 3000; ++i) {
    // A header, then attributes with random types and lengths (some
    // impossible: shorter than a header, or past the end of the message).
    std::vector<char> buf(512);
    for (char& c : buf) c = static_cast<char>(rng());
    nlmsghdr* nlh = ours.put_header(buf.data());
    size_t pos = MNL_NLMSG_HDRLEN;
    while (pos + 4 <= 400 && rng() % 8 != 0) {
      auto* a = reinterpret_cast<nlattr*>(buf.data() + pos);
      uint16_t plen = static_cast<uint16_t>(rng() % 6 == 0 ? rng() % 600 : rng() % 12);
      a->nla_len = static_cast<uint16_t>(rng() % 10 == 0 ? rng() % 4 : 4 + plen);
      a->nla_type = static_cast<uint16_t>(rng() % 12 | (rng() % 4 == 0 ? NLA_F_NESTED : 0));
      if (rng() % 3 == 0 && plen > 0 && pos + 4 + plen <= buf.size()) buf[pos + 4 + plen - 1] = 0;
      pos += MNL_ALIGN(4u + plen);
    }
    nlh->nlmsg_len = static_cast<uint32_t>(std::min<size_t>(pos + rng() % 8, buf.size()));
    int r1 = 0, r2 = 0;
    std::vector<Seen> s1 = Parse(ours, buf, 0, -1, &r1);
    std::vector<Seen> s2 = Parse(theirs, buf, 0, -1, &r2);
    REQUIRE(r1 == r2);
    REQUIRE(s1 == s2);
  }
}

TEST_CASE("mnl: message walks and batches agree with libmnl", "[net]") {
  WARDEN_MNL_PAIR(ours, theirs);
  // Three messages of 20, 36 and 24 bytes, then a header claiming 100.
  std::vector<char> buf(256, 0);
  size_t pos = 0;
  for (uint32_t len : {20u, 36u, 24u, 100u}) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data() + pos);
    nlh->nlmsg_len = len;
    pos += len;
  }
  for (int total : {0, 15, 20, 56, 80, 96, 180}) {
    std::vector<long> w1, w2;
    for (const Mnl* m : {&ours, &theirs}) {
      std::vector<long>& w = m == &ours ? w1 : w2;
      int left = total;
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); m->nlmsg_ok(nlh, left);
           nlh = m->nlmsg_next(nlh, &left)) {
        w.push_back(reinterpret_cast<const char*>(nlh) - buf.data());
      }
      w.push_back(left);
    }
    CHECK(w1 == w2);
  }
  // A batch with room for two 44-byte messages.
  for (const Mnl* m : {&ours, &theirs}) {
    std::vector<char> space(256, 0);
    mnl_nlmsg_batch* b = m->batch_start(space.data(), 100);
    REQUIRE(b != nullptr);
    CHECK(m->batch_is_empty(b));
    CHECK(m->batch_head(b) == space.data());
    std::vector<bool> taken;
    for (int i = 0; i < 3; ++i) {
      nlmsghdr* nlh = m->put_header(m->batch_current(b));
      m->put_u32(nlh, 1, static_cast<uint32_t>(i));
      m->put(nlh, 2, 16, "0123456789abcdef");
      taken.push_back(m->batch_next(b));
    }
    CHECK(taken == std::vector<bool>{true, true, false});
    CHECK(m->batch_size(b) == 88);
    CHECK(!m->batch_is_empty(b));
    CHECK(m->batch_current(b) == space.data() + 88);
    m->batch_stop(b);
  }
}

struct Calls {
  std::vector<uint16_t> types;
  int answer = MNL_CB_OK;
};

int Count(const nlmsghdr* nlh, void* data) {
  auto* c = static_cast<Calls*>(data);
  c->types.push_back(nlh->nlmsg_type);
  return c->answer;
}

// Appends a message of the given type, sequence, port id and flags; for
// NLMSG_ERROR, `error` is the errno (negative) or 0 for an acknowledgement,
// and `short_error` leaves out the nlmsgerr.
void Append(std::vector<char>* buf, uint16_t type, uint32_t seq, uint32_t pid, uint16_t flags = 0,
            int error = 0, bool short_error = false) {
  size_t len = NLMSG_HDRLEN + (type == NLMSG_ERROR && !short_error ? sizeof(nlmsgerr) : 8);
  size_t at = buf->size();
  buf->resize(at + NLMSG_ALIGN(len), 0);
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf->data() + at);
  nlh->nlmsg_len = static_cast<uint32_t>(len);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = pid;
  if (type == NLMSG_ERROR && !short_error) {
    reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nlh))->error = error;
  }
}

TEST_CASE("mnl: replies are read the same as libmnl reads them", "[net]") {
  WARDEN_MNL_PAIR(ours, theirs);
  struct Case {
    const char* what;
    std::vector<char> buf;
    int answer;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, auto&& fill, int answer = MNL_CB_OK) {
    Case c{what, {}, answer};
    fill(&c.buf);
    cases.push_back(std::move(c));
  };
  add("dump then done", [](auto* b) {
    Append(b, 100, 7, 55);
    Append(b, 101, 7, 55);
    Append(b, NLMSG_DONE, 7, 55);
    Append(b, 102, 7, 55);
  });
  add("acknowledged", [](auto* b) { Append(b, NLMSG_ERROR, 7, 55, 0, 0); });
  add("refused", [](auto* b) {
    Append(b, NLMSG_NOOP, 7, 55);
    Append(b, NLMSG_ERROR, 7, 55, 0, -EPERM);
  });
  add("short error", [](auto* b) { Append(b, NLMSG_ERROR, 7, 55, 0, 0, true); });
  add("other sequence", [](auto* b) { Append(b, 100, 8, 55); });
  add("other port", [](auto* b) { Append(b, 100, 7, 56); });
  add("zero seq and port match", [](auto* b) {
    Append(b, 100, 0, 0);
    Append(b, NLMSG_OVERRUN, 0, 0);
    Append(b, 9, 0, 0);
  });
  add("interrupted dump", [](auto* b) { Append(b, 100, 7, 55, NLM_F_DUMP_INTR); });
  add("callback stops", [](auto* b) { Append(b, 100, 7, 55); Append(b, 101, 7, 55); }, MNL_CB_STOP);
  add("callback fails", [](auto* b) { Append(b, 100, 7, 55); Append(b, 101, 7, 55); }, MNL_CB_ERROR);
  add("empty", [](auto*) {});
  for (const Case& c : cases) {
    INFO(c.what);
    for (unsigned seq : {0u, 7u}) {
      for (bool with_cb : {true, false}) {
        Calls a, b;
        a.answer = b.answer = c.answer;
        errno = 0;
        int r1 = ours.cb_run(c.buf.data(), c.buf.size(), seq, 55, with_cb ? Count : nullptr, &a);
        int e1 = errno;
        errno = 0;
        int r2 = theirs.cb_run(c.buf.data(), c.buf.size(), seq, 55, with_cb ? Count : nullptr, &b);
        int e2 = errno;
        CHECK(r1 == r2);
        if (r1 < 0) CHECK(e1 == e2);
        CHECK(a.types == b.types);
      }
    }
  }
}

TEST_CASE("mnl: a socket asks the kernel and reads its answer like libmnl's", "[net]") {
  WARDEN_MNL_PAIR(ours, theirs);
  for (const Mnl* m : {&ours, &theirs}) {
    INFO((m == &ours ? "warden" : "libmnl"));
    mnl_socket* s = m->socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    REQUIRE(s != nullptr);
    REQUIRE(m->socket_bind(s, 0, MNL_SOCKET_AUTOPID) == 0);
    CHECK(m->socket_portid(s) != 0);
    // Dump the links: at least lo comes back, then NLMSG_DONE.
    std::vector<char> req(64, 0);
    nlmsghdr* nlh = m->put_header(req.data());
    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = 3;
    auto* ifm = static_cast<rtgenmsg*>(m->put_extra_header(nlh, sizeof(rtgenmsg)));
    ifm->rtgen_family = AF_UNSPEC;
    REQUIRE(m->socket_sendto(s, nlh, nlh->nlmsg_len) == static_cast<ssize_t>(nlh->nlmsg_len));
    std::vector<char> buf(32768);
    Calls calls;
    int r = MNL_CB_OK;
    for (int i = 0; i < 100 && r == MNL_CB_OK; ++i) {
      ssize_t n = m->socket_recvfrom(s, buf.data(), buf.size());
      REQUIRE(n > 0);
      r = m->cb_run(buf.data(), static_cast<size_t>(n), 3, m->socket_portid(s), Count, &calls);
    }
    CHECK(r == MNL_CB_STOP);
    CHECK(!calls.types.empty());
    // A reply larger than the buffer is an error, not a cut message.
    REQUIRE(m->socket_sendto(s, nlh, nlh->nlmsg_len) > 0);
    errno = 0;
    CHECK(m->socket_recvfrom(s, buf.data(), 16) == -1);
    CHECK(errno == ENOSPC);
    CHECK(m->socket_close(s) == 0);
  }
}

}  // namespace
}  // namespace warden::net
