#include "net/nft.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "base/c_ptr.h"

namespace warden::net {
namespace {

// Room kept free in the batch buffer for the next message. Our largest
// message, a rule with eight expressions, takes well under 1 KiB.
constexpr size_t kMessageRoom = 16 << 10;
// Upper bound on a batch: 4 MiB holds thousands of rules, far beyond
// kMaxAllowRules.
constexpr size_t kMaxBatchBytes = 4 << 20;

using TablePtr = base::CPtr<nftnl_table, nftnl_table_free>;
using ChainPtr = base::CPtr<nftnl_chain, nftnl_chain_free>;
using RulePtr = base::CPtr<nftnl_rule, nftnl_rule_free>;
using SetPtr = base::CPtr<nftnl_set, nftnl_set_free>;
using SocketPtr = base::CPtr<mnl_socket, mnl_socket_close>;

uint16_t FamilyValue(NftFamily f) { return f == NftFamily::kIp ? NFPROTO_IPV4 : NFPROTO_INET; }

Status NoMemory(const std::string& what) {
  return Status::Error(Code::kResourceExhausted, what + ": out of memory building nftables messages");
}

// errno from the kernel, with what to do about the common ones.
Status KernelError(int err, const std::string& what) {
  std::string hint;
  if (err == EPERM) {
    hint = " (changing nftables needs CAP_NET_ADMIN: run warden as root)";
  } else if (err == EOPNOTSUPP || err == ENOENT || err == EAFNOSUPPORT) {
    hint = " (the kernel may lack an nftables feature warden uses: check that the modules "
           "nf_tables, nft_chain_nat, nft_masq, nft_reject_inet and nft_ct load, and run "
           "`warden doctor`)";
  }
  return Status::FromErrno(err, what + ": nf_tables" + hint);
}

Result<SocketPtr> OpenSocket(const std::string& what) {
  SocketPtr s(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!s) return Status::FromErrno(errno, what + ": netlink socket (NETLINK_NETFILTER)");
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return Status::FromErrno(errno, what + ": bind netlink socket");
  }
  return s;
}

// One nf_tables transaction: BATCH_BEGIN, messages that each ask for an
// acknowledgement, BATCH_END. The kernel applies all of it or none.
class Batch {
 public:
  explicit Batch(std::string what) : what_(std::move(what)) {
    Reserve();
    Commit(nftnl_batch_begin(Tail(), seq_++));
    first_seq_ = seq_;
  }

  // Space for the next message, at the end of the buffer.
  char* Tail() { return buf_.data() + len_; }
  bool Full() const { return len_ + kMessageRoom > kMaxBatchBytes; }

  // Header of the next acknowledged message, described in errors as `desc`.
  nlmsghdr* Header(uint16_t type, uint16_t family, uint16_t flags, std::string desc) {
    Reserve();
    descs_.push_back(std::move(desc));
    return nftnl_nlmsg_build_hdr(Tail(), type, family, flags | NLM_F_ACK, seq_++);
  }
  // Takes the message just built into the batch.
  void Commit(nlmsghdr* nlh) { len_ += NLMSG_ALIGN(nlh->nlmsg_len); }

  Status Send() {
    Reserve();
    Commit(nftnl_batch_end(Tail(), seq_++));
    WARDEN_ASSIGN_OR_RETURN(SocketPtr s, OpenSocket(what_));
    int fd = mnl_socket_get_fd(s.get());
    // A large batch needs a larger send buffer than the default ~200 KiB.
    int want = static_cast<int>(len_ * 2);
    if (len_ > (128u << 10)) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want);
    if (mnl_socket_sendto(s.get(), buf_.data(), len_) < 0) {
      return Status::FromErrno(errno, what_ + ": send nf_tables batch");
    }
    size_t pending = descs_.size();
    std::vector<char> rbuf(MNL_SOCKET_BUFFER_SIZE);
    while (pending > 0) {
      ssize_t n = mnl_socket_recvfrom(s.get(), rbuf.data(), rbuf.size());
      if (n < 0) return Status::FromErrno(errno, what_ + ": read nf_tables replies");
      int left = static_cast<int>(n);
      for (auto* nlh = reinterpret_cast<nlmsghdr*>(rbuf.data()); mnl_nlmsg_ok(nlh, left);
           nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_type != NLMSG_ERROR) continue;
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (e->error != 0) {
          uint32_t i = nlh->nlmsg_seq - first_seq_;
          std::string desc = i < descs_.size() ? descs_[i] : "message " + std::to_string(i);
          return KernelError(-e->error, what_ + ": " + desc);
        }
        --pending;
      }
    }
    return Status::Ok();
  }

 private:
  void Reserve() {
    if (buf_.size() < len_ + kMessageRoom) buf_.resize(len_ + 4 * kMessageRoom);
  }

  std::string what_;
  std::vector<char> buf_;
  size_t len_ = 0;
  uint32_t seq_ = 1;
  uint32_t first_seq_ = 0;          // of the first acknowledged message
  std::vector<std::string> descs_;  // one per acknowledged message, in order
};

// Appends expressions to one rule; a failed allocation is remembered and
// reported once by ok().
class Exprs {
 public:
  explicit Exprs(nftnl_rule* r) : rule_(r) {}
  bool ok() const { return ok_; }

  void Meta(uint32_t key) {
    if (nftnl_expr* e = New("meta")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
      nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    }
  }
  void Payload(uint32_t base, uint32_t offset, uint32_t len) {
    if (nftnl_expr* e = New("payload")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
      nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    }
  }
  void Ct(uint32_t key) {
    if (nftnl_expr* e = New("ct")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
      nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
    }
  }
  // reg1 = reg1 & mask.
  void And(const void* mask, uint32_t len) {
    static const char kZero[16] = {};
    if (nftnl_expr* e = New("bitwise")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
      nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
      nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, kZero, len);
    }
  }
  void Cmp(uint32_t op, const void* data, uint32_t len) {
    if (nftnl_expr* e = New("cmp")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
      nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
      nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    }
  }
  void Verdict(int verdict, const std::string& chain = "") {
    if (nftnl_expr* e = New("immediate")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
      nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
      if (!chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain.c_str());
    }
  }
  void Reject(uint32_t type, int code) {
    if (nftnl_expr* e = New("reject")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
      if (code >= 0) nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, static_cast<uint8_t>(code));
    }
  }
  void Masquerade() { New("masq"); }
  // reg1 in the named set of the rule's table.
  void Lookup(const std::string& set) {
    if (nftnl_expr* e = New("lookup")) {
      nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
      nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
    }
  }

 private:
  nftnl_expr* New(const char* name) {
    nftnl_expr* e = nftnl_expr_alloc(name);
    if (e == nullptr) {
      ok_ = false;
      return nullptr;
    }
    nftnl_rule_add_expr(rule_, e);  // the rule owns it from here
    return e;
  }

  nftnl_rule* rule_;
  bool ok_ = true;
};

// An interface name as the kernel holds it in a register: IFNAMSIZ bytes,
// zero-padded. "PREFIX*" compares the prefix's bytes only (as nft does).
void IfnameMatch(Exprs* x, uint32_t key, const std::string& name, bool negate) {
  char buf[IFNAMSIZ] = {};
  const bool prefix = !name.empty() && name.back() == '*';
  const size_t n = std::min(name.size() - (prefix ? 1 : 0), sizeof buf - 1);
  std::memcpy(buf, name.data(), n);
  x->Meta(key);
  x->Cmp(negate ? NFT_CMP_NEQ : NFT_CMP_EQ, buf, prefix ? static_cast<uint32_t>(n) : sizeof buf);
}

// ip saddr/daddr within `c`; /0 matches every IPv4 packet and needs no load.
void AddressMatch(Exprs* x, uint32_t offset, const Cidr& c) {
  if (c.prefix_len == 0) return;
  x->Payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
  if (c.prefix_len < 32) {
    uint32_t mask = htonl(~uint32_t{0} << (32 - c.prefix_len));
    x->And(&mask, 4);
  }
  uint32_t net = htonl(c.address);
  x->Cmp(NFT_CMP_EQ, &net, 4);
}

// One kernel rule: at most one saddr, one daddr and one protocol (the
// model's alternatives are expanded by the caller).
void Encode(Exprs* x, NftFamily family, const NftRule& r, const Cidr* saddr, const Cidr* daddr,
            uint8_t l4proto) {
  if (family == NftFamily::kInet &&
      (saddr != nullptr || daddr != nullptr || !r.saddr_set.empty())) {
    uint8_t ipv4 = NFPROTO_IPV4;
    x->Meta(NFT_META_NFPROTO);
    x->Cmp(NFT_CMP_EQ, &ipv4, 1);
  }
  if (!r.iifname.empty()) IfnameMatch(x, NFT_META_IIFNAME, r.iifname, false);
  if (r.ct_established) {
    uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
    uint32_t zero = 0;
    x->Ct(NFT_CT_STATE);
    x->And(&mask, 4);
    x->Cmp(NFT_CMP_NEQ, &zero, 4);
  }
  if (saddr != nullptr) AddressMatch(x, 12, *saddr);
  if (!r.saddr_set.empty()) {
    x->Payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
    x->Lookup(r.saddr_set);
  }
  if (daddr != nullptr) AddressMatch(x, 16, *daddr);
  if (!r.oifname.empty()) IfnameMatch(x, NFT_META_OIFNAME, r.oifname, r.oifname_negate);
  if (l4proto != 0) {
    x->Meta(NFT_META_L4PROTO);
    x->Cmp(NFT_CMP_EQ, &l4proto, 1);
  }
  if (r.dport != 0) {
    uint16_t port = htons(r.dport);
    x->Payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
    x->Cmp(NFT_CMP_EQ, &port, 2);
  }
  switch (r.verdict) {
    case NftRule::Verdict::kAccept: x->Verdict(NF_ACCEPT); break;
    case NftRule::Verdict::kJump: x->Verdict(NFT_JUMP, r.jump); break;
    case NftRule::Verdict::kRejectTcpReset: x->Reject(NFT_REJECT_TCP_RST, -1); break;
    case NftRule::Verdict::kRejectAdminProhibited:
      x->Reject(NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
      break;
    case NftRule::Verdict::kMasquerade: x->Masquerade(); break;
  }
}

Status AddTable(Batch* b, NftFamily family, const std::string& name, const std::string& comment) {
  TablePtr t(nftnl_table_alloc());
  if (!t) return NoMemory("table " + name);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, FamilyValue(family));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  if (!comment.empty()) {
    std::unique_ptr<nftnl_udata_buf, void (*)(const nftnl_udata_buf*)> ud(
        nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN), nftnl_udata_buf_free);
    if (!ud || !nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_TABLE_COMMENT, comment.c_str())) {
      return NoMemory("table " + name);
    }
    nftnl_table_set_data(t.get(), NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud.get()),
                         nftnl_udata_buf_len(ud.get()));
  }
  nlmsghdr* nlh = b->Header(NFT_MSG_NEWTABLE, FamilyValue(family), NLM_F_CREATE,
                            std::string("table ") + NftFamilyName(family) + " " + name);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  b->Commit(nlh);
  return Status::Ok();
}

Status AddChain(Batch* b, const NftTable& table, const NftChain& chain) {
  ChainPtr c(nftnl_chain_alloc());
  if (!c) return NoMemory("chain " + chain.name);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.name.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, chain.name.c_str());
  if (chain.hook != NftChain::Hook::kNone) {
    const NftHookSpec& h = NftHookOf(chain.hook);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, h.type);
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, h.hooknum);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, h.priority_value);
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, chain.policy_drop ? NF_DROP : NF_ACCEPT);
  }
  nlmsghdr* nlh = b->Header(NFT_MSG_NEWCHAIN, FamilyValue(table.family), NLM_F_CREATE,
                            "chain " + chain.name);
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  b->Commit(nlh);
  return Status::Ok();
}

Status AddRules(Batch* b, const NftTable& table, const NftChain& chain) {
  for (size_t i = 0; i < chain.rules.size(); ++i) {
    const NftRule& r = chain.rules[i];
    // Alternatives become one kernel rule each: same verdict, same order.
    std::vector<uint8_t> protos;
    switch (r.l4) {
      case NftRule::L4::kAny: protos = {0}; break;
      case NftRule::L4::kTcp: protos = {IPPROTO_TCP}; break;
      case NftRule::L4::kUdp: protos = {IPPROTO_UDP}; break;
      case NftRule::L4::kTcpUdp: protos = {IPPROTO_TCP, IPPROTO_UDP}; break;
    }
    const size_t nd = std::max<size_t>(r.daddr.size(), 1);
    const size_t ns = std::max<size_t>(r.saddr.size(), 1);
    for (size_t d = 0; d < nd; ++d) {
      for (size_t s = 0; s < ns; ++s) {
        for (uint8_t proto : protos) {
          if (b->Full()) {
            return Status::Error(Code::kResourceExhausted,
                                 "chain " + chain.name + " has too many rules for one batch");
          }
          RulePtr rule(nftnl_rule_alloc());
          if (!rule) return NoMemory("rule");
          nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, FamilyValue(table.family));
          nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, table.name.c_str());
          nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, chain.name.c_str());
          Exprs x(rule.get());
          Encode(&x, table.family, r, r.saddr.empty() ? nullptr : &r.saddr[s],
                 r.daddr.empty() ? nullptr : &r.daddr[d], proto);
          if (!x.ok()) return NoMemory("rule");
          nlmsghdr* nlh =
              b->Header(NFT_MSG_NEWRULE, FamilyValue(table.family), NLM_F_CREATE | NLM_F_APPEND,
                        "chain " + chain.name + " rule " + std::to_string(i + 1) + " (" +
                            NftRuleText(r) + ")");
          nftnl_rule_nlmsg_build_payload(nlh, rule.get());
          b->Commit(nlh);
        }
      }
    }
  }
  return Status::Ok();
}

// nft's ipv4_addr data type (TYPE_IPADDR), which `nft list` shows by name.
constexpr uint32_t kIpv4AddrType = 7;

Status AddSet(Batch* b, const NftTable& table, const NftSet& set, uint32_t id) {
  SetPtr s(nftnl_set_alloc());
  if (!s) return NoMemory("set " + set.name);
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.name.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, FamilyValue(table.family));
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, kIpv4AddrType);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, 4);
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
  // The kernel wants an id for every new set, unique in the transaction.
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  nlmsghdr* nlh =
      b->Header(NFT_MSG_NEWSET, FamilyValue(table.family), NLM_F_CREATE, "set " + set.name);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  b->Commit(nlh);
  return Status::Ok();
}

// Deletes every rule of a chain (nft's `flush chain`).
Status FlushChain(Batch* b, const NftTable& table, const NftChain& chain) {
  RulePtr rule(nftnl_rule_alloc());
  if (!rule) return NoMemory("flush chain " + chain.name);
  nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, FamilyValue(table.family));
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, table.name.c_str());
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, chain.name.c_str());
  nlmsghdr* nlh =
      b->Header(NFT_MSG_DELRULE, FamilyValue(table.family), 0, "flush chain " + chain.name);
  nftnl_rule_nlmsg_build_payload(nlh, rule.get());
  b->Commit(nlh);
  return Status::Ok();
}

// Adds CIDRs to an interval set, one message for all. An interval is two
// elements, as nft sends it: its first address, and the address after its
// last one flagged as the end (none when the range reaches 255.255.255.255).
// Without NLM_F_EXCL, an interval already there is no error and changes
// nothing: the message only adds, and nf_tables deletes nothing, so the
// transaction waits for no RCU grace period.
Status AddIntervals(Batch* b, NftFamily family, const std::string& table, const std::string& set,
                    const std::vector<Cidr>& cidrs) {
  const std::string desc = "add to set " + table + " " + set;
  if (cidrs.size() > 64) {
    return Status::Error(Code::kResourceExhausted, desc + ": more than 64 intervals at once");
  }
  SetPtr s(nftnl_set_alloc());
  if (!s) return NoMemory(desc);
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, FamilyValue(family));
  auto add = [&](uint32_t address, bool end) -> bool {
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    if (e == nullptr) return false;
    nftnl_set_elem_add(s.get(), e);  // the set owns it from here
    uint32_t key = htonl(address);
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof key);
    if (end) nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
    return true;
  };
  for (const Cidr& c : cidrs) {
    const uint64_t after = uint64_t{c.address} + (uint64_t{1} << (32 - c.prefix_len));
    if (!add(c.address, false)) return NoMemory(desc);
    if (after <= 0xffffffffu && !add(static_cast<uint32_t>(after), true)) return NoMemory(desc);
  }
  nlmsghdr* nlh = b->Header(NFT_MSG_NEWSETELEM, FamilyValue(family), NLM_F_CREATE, desc);
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  b->Commit(nlh);
  return Status::Ok();
}

int CollectTableName(const nlmsghdr* nlh, void* data) {
  auto* names = static_cast<std::vector<std::string>*>(data);
  TablePtr t(nftnl_table_alloc());
  if (!t) return MNL_CB_ERROR;
  if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return MNL_CB_ERROR;
  const char* name = nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME);
  if (name != nullptr) names->push_back(name);
  return MNL_CB_OK;
}

}  // namespace

namespace {

Status BuildInstall(Batch* b, const NftTable& table) {
  WARDEN_RETURN_IF_ERROR(AddTable(b, table.family, table.name, table.comment));
  // Every set and chain exists before any rule looks one up or jumps to one.
  for (size_t i = 0; i < table.sets.size(); ++i) {
    WARDEN_RETURN_IF_ERROR(AddSet(b, table, table.sets[i], static_cast<uint32_t>(i + 1)));
  }
  for (const NftChain& c : table.chains) WARDEN_RETURN_IF_ERROR(AddChain(b, table, c));
  if (table.flush_chains) {
    for (const NftChain& c : table.chains) WARDEN_RETURN_IF_ERROR(FlushChain(b, table, c));
  }
  for (const NftChain& c : table.chains) WARDEN_RETURN_IF_ERROR(AddRules(b, table, c));
  return Status::Ok();
}

}  // namespace

Status NftInstall(const NftTable& table, const std::string& what) {
  Batch b(what);
  WARDEN_RETURN_IF_ERROR(BuildInstall(&b, table));
  return b.Send();
}

Status NftInstallWithIntervals(const NftTable& table, const std::string& set,
                               const std::vector<Cidr>& cidrs, const std::string& what) {
  Batch b(what);
  WARDEN_RETURN_IF_ERROR(BuildInstall(&b, table));
  WARDEN_RETURN_IF_ERROR(AddIntervals(&b, table.family, table.name, set, cidrs));
  return b.Send();
}

Status NftAddIntervals(NftFamily family, const std::string& table, const std::string& set,
                       const std::vector<Cidr>& cidrs, const std::string& what) {
  Batch b(what);
  WARDEN_RETURN_IF_ERROR(AddIntervals(&b, family, table, set, cidrs));
  return b.Send();
}

Status NftDeleteTable(NftFamily family, const std::string& name, const std::string& what) {
  // Creating it first makes the delete succeed when it is already gone,
  // all in one transaction.
  Batch b(what);
  WARDEN_RETURN_IF_ERROR(AddTable(&b, family, name, ""));
  TablePtr t(nftnl_table_alloc());
  if (!t) return NoMemory(what);
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, FamilyValue(family));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  nlmsghdr* nlh = b.Header(NFT_MSG_DELTABLE, FamilyValue(family), 0, "delete table " + name);
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  b.Commit(nlh);
  return b.Send();
}

Result<std::vector<std::string>> NftListTables(NftFamily family) {
  const std::string what = std::string("list nft tables ") + NftFamilyName(family);
  WARDEN_ASSIGN_OR_RETURN(SocketPtr s, OpenSocket(what));
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  const uint32_t seq = 1;
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, FamilyValue(family),
                                        NLM_F_DUMP, seq);
  if (mnl_socket_sendto(s.get(), nlh, nlh->nlmsg_len) < 0) {
    return Status::FromErrno(errno, what + ": send");
  }
  const unsigned portid = mnl_socket_get_portid(s.get());
  std::vector<std::string> names;
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(s.get(), buf.data(), buf.size());
    if (n < 0) return Status::FromErrno(errno, what + ": read");
    int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, CollectTableName, &names);
    if (r < 0) return KernelError(errno, what);
    if (r == MNL_CB_STOP) break;
  }
  return names;
}

}  // namespace warden::net
