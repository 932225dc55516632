// The ruleset of table ip nfdsr, built with libnftnl so that `nft list table
// ip nfdsr` prints it back exactly as nft would print the equivalent source
// (the expressions mirror what `nft --debug=netlink` generates for it).
#include "nft/ruleset.hpp"

#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>
#include <netinet/ip_icmp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "nft/model.hpp"
#include "nft/nft_apply.hpp"
#include "nfdsr/uapi/nfdsr.h"

namespace nfdsr::nft {

using plan::Protocol;

std::string to_string(plan::Ipv4 a) {
    char buf[INET_ADDRSTRLEN];
    in_addr in{};
    in.s_addr = a.be;
    inet_ntop(AF_INET, &in, buf, sizeof(buf));
    return buf;
}

const char* to_string(Protocol p) { return p == Protocol::udp ? "udp" : "tcp"; }

namespace {

std::string sanitize(const std::string& s) {
    std::string out = s;
    for (char& c : out)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            c = '_';
    return out;
}

}  // namespace

namespace detail {
namespace {

// ---- datatypes as nft numbers them (src/datatype.h); a set's key type is
// the concatenation of 6-bit datatype ids (TYPE_BITS), first field highest.
constexpr std::uint32_t kTypeInteger = 4;
constexpr std::uint32_t kTypeIpAddr = 7;
constexpr std::uint32_t kTypeInetProto = 12;
constexpr std::uint32_t kTypeInetService = 13;
constexpr std::uint32_t kTypeIcmpType = 14;
constexpr std::uint32_t kTypeBits = 6;
constexpr std::uint32_t kConcatKeyType =
    (kTypeIpAddr << (2 * kTypeBits)) | (kTypeInetProto << kTypeBits) | kTypeInetService;
constexpr std::uint32_t kConcatKeyLen = 12;  // 4 + 4 (proto, padded) + 4 (port, padded)
// nft's enum byteorder, stored in the set's userdata so nft prints keys right.
constexpr std::uint32_t kByteorderInvalid = 0;  // concatenations
constexpr std::uint32_t kByteorderHost = 1;
constexpr std::uint32_t kByteorderBig = 2;
// ICMP errors about replies (relayed to the backend that owns the flow):
// `ip daddr . @th,136,8 . @th,224,16` = the service address the error was sent
// to . the quoted protocol . the quoted source port (behind the 8-byte ICMP
// header, a quoted IPv4 header of 20 bytes), in the registers of the
// (vip . proto . port) concatenation: 4 + 4 (1 byte, padded) + 4 (2, padded).
// nft has no datatype for the quoted fields (integers), hence its own map.
constexpr std::uint32_t kIcmpQuoteKeyType = (kTypeIpAddr << (2 * kTypeBits)) | (kTypeInteger << kTypeBits) | kTypeInteger;
constexpr std::uint32_t kIcmpQuoteProto = 8 + 9;   // bytes from the ICMP header: quoted protocol
constexpr std::uint32_t kIcmpQuoteSport = 8 + 20;  // quoted source port (the service's)
constexpr const char* kTunnelDev = "tunl0";

constexpr std::size_t kCommentMax = NFTNL_UDATA_COMMENT_MAXLEN - 1;

std::string clip(std::string s) {
    if (s.size() > kCommentMax) s.resize(kCommentMax);
    return s;
}

// ---- expressions (register numbers as nft allocates them) ----
nftnl_expr* expr(const char* name) {
    nftnl_expr* e = nftnl_expr_alloc(name);
    if (!e) throw NftError(std::string("libnftnl: cannot allocate expression ") + name);
    return e;
}

nftnl_expr* payload_load(nft_payload_bases base, std::uint32_t off, std::uint32_t len, std::uint32_t dreg) {
    nftnl_expr* e = expr("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
    return e;
}

nftnl_expr* meta_load(nft_meta_keys key, std::uint32_t dreg) {
    nftnl_expr* e = expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
    return e;
}

nftnl_expr* meta_set(nft_meta_keys key, std::uint32_t sreg) {
    nftnl_expr* e = expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
    return e;
}

nftnl_expr* cmp_op(std::uint32_t sreg, nft_cmp_ops op, const void* data, std::uint32_t len) {
    nftnl_expr* e = expr("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
    nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
    return e;
}

nftnl_expr* cmp_eq(std::uint32_t sreg, const void* data, std::uint32_t len) {
    return cmp_op(sreg, NFT_CMP_EQ, data, len);
}

// tcp option maxseg size (2 bytes at offset 2 of option kind 2): load into
// `reg`, or (write) store `reg` with the TCP checksum fixed up.
nftnl_expr* tcpopt_maxseg(std::uint32_t reg, bool write) {
    nftnl_expr* e = expr("exthdr");
    nftnl_expr_set_u32(e, write ? NFTNL_EXPR_EXTHDR_SREG : NFTNL_EXPR_EXTHDR_DREG, reg);
    nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, 2);  // TCPOPT_MAXSEG
    nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 2);
    nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 2);
    nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT);
    return e;
}

// reg = (reg & mask) ^ xor   (nft's encoding of &, |, ^ on 32-bit values)
nftnl_expr* bitwise(std::uint32_t reg, std::uint32_t len, const void* mask, const void* xr) {
    nftnl_expr* e = expr("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xr, len);
    return e;
}

nftnl_expr* lookup(std::uint32_t sreg, const std::string& set, std::uint32_t set_id, bool vmap, bool invert = false) {
    nftnl_expr* e = expr("lookup");
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
    nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
    nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
    if (vmap) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
    if (invert) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
    return e;
}

// iifname/oifname "<dev>": meta load into reg 1, compare all IFNAMSIZ bytes.
void ifname_eq(nftnl_rule* r, nft_meta_keys key, const char* dev) {
    char name[16] = {};
    std::strncpy(name, dev, sizeof(name) - 1);
    nftnl_rule_add_expr(r, meta_load(key, NFT_REG_1));
    nftnl_rule_add_expr(r, cmp_eq(NFT_REG_1, name, sizeof(name)));
}

nftnl_expr* immediate_data(std::uint32_t dreg, const void* data, std::uint32_t len) {
    nftnl_expr* e = expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
    nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
    return e;
}

nftnl_expr* verdict(int code) {
    nftnl_expr* e = expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
    return e;
}

// jump/goto <chain>
nftnl_expr* verdict_chain(int code, const std::string& chain) {
    nftnl_expr* e = expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
    nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain.c_str());
    return e;
}

// ---- object helpers ----
struct Udata {
    UdataPtr buf{nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)};
    const void* data() const { return nftnl_udata_buf_data(buf.get()); }
    std::uint32_t len() const { return nftnl_udata_buf_len(buf.get()); }
};

class Builder {
public:
    Builder(const plan::NodePlan& plan, Ruleset& out) : plan_(plan), out_(out) {}

    void table();
    void ruleset();

private:
    // notrack + "meta mark set meta mark | entry_mark" in `chain`: nfdsr.ko
    // (prio -290) does the rest for every marked packet
    void entry_rules(const std::string& chain, const std::string& why);

    std::uint32_t add_set(const std::string& name, std::uint32_t key_type, std::uint32_t key_len,
                          std::uint32_t key_byteorder, bool vmap, const std::string& comment,
                          std::uint32_t dynamic_size = 0, std::uint64_t timeout_ms = 0,
                          void (*put_typeof)(nftnl_udata_buf*) = nullptr);
    void add_elems(const std::string& set, const std::vector<std::pair<std::vector<std::uint8_t>, std::string>>& elems);
    void add_chain(const std::string& name, const std::string& comment, int hook = -1, int prio = 0);
    RulePtr rule(const std::string& chain);
    void commit_rule(RulePtr r, const std::string& chain, const std::string& comment);

    // "ip daddr . meta l4proto . th dport" (dst) or the saddr/sport variant into reg 1.
    void load_tuple(nftnl_rule* r, bool dst);

    // ---- local clients: this node's processes and pods, hairpin (see
    // "Local clients" below): a kube-proxy-like conntrack path, not DSR ----
    struct LocalSvc {
        const plan::LocalClientService* plan;
        std::string chain, map, label;
        std::uint32_t map_id = 0;
    };
    void add_local_client_sets();
    void add_local_client_chains();
    void add_local_client_elems();
    void local_client_skip_rule(const std::string& chain);
    void local_client_reply_rules(const std::string& chain, std::uint32_t local_backends_id);
    void local_client_rules();
    void add_nat_chain(const std::string& name, const std::string& comment, int hook, int prio);
    std::vector<LocalSvc> lsvcs_;
    std::uint32_t lc_services_id_ = 0, lc_chains_id_ = 0, lc_hairpin_id_ = 0;

    const plan::NodePlan& plan_;
    Ruleset& out_;
    std::map<std::string, std::size_t> set_index_, chain_index_;  // name -> position in out_
    std::set<std::uint32_t> set_ids_used_;
};

TablePtr make_table() {
    TablePtr t(nftnl_table_alloc());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTable);
    return t;
}

void Builder::table() {
    TablePtr n = make_table();
    Udata ud;
    nftnl_udata_put_strz(ud.buf.get(), NFTNL_UDATA_TABLE_COMMENT,
                         // the same on every node and for every plan: a table
                         // rebuilt in place (emit_rebuild) keeps its comment
                         "nfdsr: DSR load balancing, managed by nfdsrd (changes are applied as one transaction)");
    nftnl_table_set_data(n.get(), NFTNL_TABLE_USERDATA, ud.data(), ud.len());
    out_.table_fingerprint = fingerprint(n.get());
    out_.table = std::move(n);
}

// "typeof ip daddr . @th,136,8 . @th,224,16" (set icmp_services),
// laid out as nft 1.0.6 writes it: a concatenation (EXPR_CONCAT) of payload
// expressions, each with its protocol description and template (ip daddr) or
// raw base, offset and length in bits (@th,...).
void put_icmp_quote_typeof(nftnl_udata_buf* b) {
    constexpr std::uint32_t kExprPayload = 7, kExprConcat = 13;
    constexpr std::uint32_t kProtoDescIp = 12, kIpTmplDaddr = 12;  // nft's proto_ip, ip daddr
    constexpr std::uint32_t kBaseTransport = 3;                   // PROTO_BASE_TRANSPORT_HDR
    nftnl_udata* key = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_KEY_TYPEOF);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprConcat);
    nftnl_udata* concat = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    auto sub = [b](std::uint32_t i, const std::vector<std::uint32_t>& attrs) {
        nftnl_udata* e = nftnl_udata_nest_start(b, static_cast<std::uint8_t>(i));
        nftnl_udata_put_u32(b, 0, kExprPayload);
        nftnl_udata* d = nftnl_udata_nest_start(b, 1);
        for (std::size_t a = 0; a < attrs.size(); ++a) nftnl_udata_put_u32(b, static_cast<std::uint8_t>(a), attrs[a]);
        nftnl_udata_nest_end(b, d);
        nftnl_udata_nest_end(b, e);
    };
    sub(0, {kProtoDescIp, kIpTmplDaddr});
    sub(1, {0, 0, kBaseTransport, kIcmpQuoteProto * 8, 8});
    sub(2, {0, 0, kBaseTransport, kIcmpQuoteSport * 8, 16});
    nftnl_udata_nest_end(b, concat);
    nftnl_udata_nest_end(b, key);
}

std::uint32_t Builder::add_set(const std::string& name, std::uint32_t key_type, std::uint32_t key_len,
                               std::uint32_t key_byteorder, bool vmap, const std::string& comment,
                               std::uint32_t dynamic_size, std::uint64_t timeout_ms,
                               void (*put_typeof)(nftnl_udata_buf*)) {
    SetPtr s(nftnl_set_alloc());
    // The id names the set inside one transaction (rules created in the same
    // batch refer to it by name and id). Derived from the name, not from the
    // position, so that an unchanged set has an unchanged fingerprint.
    std::uint32_t id = 2166136261u;  // FNV-1a
    for (unsigned char c : name) id = (id ^ c) * 16777619u;
    while (id == 0 || !set_ids_used_.insert(id).second) ++id;
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_IPV4);
    nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, key_type);
    nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, key_len);
    // dynamic: filled by the data path (dynset; needs an updatable set type,
    // which NFT_SET_EVAL selects), with a size limit and a default timeout
    nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS,
                      (vmap ? NFT_SET_MAP : 0) | (dynamic_size ? NFT_SET_EVAL | NFT_SET_TIMEOUT : 0));
    if (dynamic_size) {
        nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, dynamic_size);
        nftnl_set_set_u64(s.get(), NFTNL_SET_TIMEOUT, timeout_ms);
    }
    if (vmap) {
        nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
        nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, 0);
    }
    Udata ud;
    nftnl_udata_put_u32(ud.buf.get(), NFTNL_UDATA_SET_KEYBYTEORDER, key_byteorder);
    if (vmap) nftnl_udata_put_u32(ud.buf.get(), NFTNL_UDATA_SET_DATABYTEORDER, kByteorderInvalid);
    if (put_typeof) put_typeof(ud.buf.get());
    // (libnftnl does not stop a string at the end of the buffer: check here)
    if (ud.len() + 2 + clip(comment).size() + 1 > NFT_USERDATA_MAXLEN)
        throw NftError("set " + name + ": comment too long for the userdata");
    nftnl_udata_put_strz(ud.buf.get(), NFTNL_UDATA_SET_COMMENT, clip(comment).c_str());
    nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, ud.data(), ud.len());
    Set set;
    set.name = name;
    set.what = std::string(vmap ? "map " : "set ") + name + " (" + comment + ")";
    set.map = vmap;
    // (the id only names the set within one batch: not part of what it is,
    // and what a set read back from the kernel is compared with)
    set.fingerprint = fingerprint(s.get());
    nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
    set.def = std::move(s);
    set_index_[name] = out_.sets.size();
    out_.sets.push_back(std::move(set));
    return id;
}

void Builder::add_elems(const std::string& set,
                        const std::vector<std::pair<std::vector<std::uint8_t>, std::string>>& elems) {
    auto& target = out_.sets.at(set_index_.at(set)).elems;
    for (const auto& [key, chain] : elems) target.push_back(Element{key, chain});
}

void Builder::add_chain(const std::string& name, const std::string& comment, int hook, int prio) {
    ChainPtr c(nftnl_chain_alloc());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTable);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
    if (hook >= 0) {
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, static_cast<std::uint32_t>(hook));
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, prio);
    }
    Udata ud;
    nftnl_udata_put_strz(ud.buf.get(), NFTNL_UDATA_CHAIN_COMMENT, clip(comment).c_str());
    nftnl_chain_set_data(c.get(), NFTNL_CHAIN_USERDATA, ud.data(), ud.len());
    Chain chain;
    chain.name = name;
    chain.what = "chain " + name + " (" + comment + ")";
    chain.base = hook >= 0;
    chain.fingerprint = fingerprint(c.get());
    chain.def = std::move(c);
    chain_index_[name] = out_.chains.size();
    out_.chains.push_back(std::move(chain));
}

RulePtr Builder::rule(const std::string& chain) {
    RulePtr r(nftnl_rule_alloc());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    return r;
}

void Builder::commit_rule(RulePtr r, const std::string& chain, const std::string& comment) {
    Udata ud;
    nftnl_udata_put_strz(ud.buf.get(), NFTNL_UDATA_RULE_COMMENT, clip(comment).c_str());
    nftnl_rule_set_data(r.get(), NFTNL_RULE_USERDATA, ud.data(), ud.len());
    Rule rule;
    rule.what = "rule in chain " + chain + " (\"" + comment + "\")";
    rule.fingerprint = fingerprint(r.get());
    rule.sets = looked_up_sets(r.get());
    rule.rule = std::move(r);
    out_.chains.at(chain_index_.at(chain)).rules.push_back(std::move(rule));
}

void Builder::load_tuple(nftnl_rule* r, bool dst) {
    // ip daddr . meta l4proto . th dport: a concatenation occupies
    // consecutive 32-bit registers starting at reg 1 (NFT_REG_1 = reg32 0).
    nftnl_rule_add_expr(r, payload_load(NFT_PAYLOAD_NETWORK_HEADER, dst ? 16 : 12, 4, NFT_REG_1));
    nftnl_rule_add_expr(r, meta_load(NFT_META_L4PROTO, NFT_REG32_01));
    nftnl_rule_add_expr(r, payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, dst ? 2 : 0, 2, NFT_REG32_02));
}

std::vector<std::uint8_t> tuple_key(plan::Ipv4 addr, Protocol proto, std::uint16_t port) {
    std::vector<std::uint8_t> k(kConcatKeyLen, 0);
    std::memcpy(k.data(), &addr.be, 4);
    k[4] = static_cast<std::uint8_t>(proto);
    const std::uint16_t nport = htons(port);
    std::memcpy(k.data() + 8, &nport, 2);
    return k;
}

std::string endpoint(plan::Ipv4 a, std::uint16_t port) { return to_string(a) + ":" + std::to_string(port); }

// The entry path's share of nftables (see README "Architecture"): classify
// (prerouting, raw -300) finds the packets of entry services in one
// concatenated-key lookup, takes them out of conntrack and marks them;
// nfdsr.ko (prerouting -290) looks the marked packet's service up in its
// service table, attaches the DSR option, picks the backend from the
// service's Maglev table and rewrites the destination. So nftables holds a
// few elements per service and nothing per backend or Maglev bucket.
void Builder::ruleset() {
    using Elems = std::vector<std::pair<std::vector<std::uint8_t>, std::string>>;

    // ---- sets: O(1) classification on (address . protocol . port) ----
    const std::uint32_t local_id = add_set("local_backends", kConcatKeyType, kConcatKeyLen, kByteorderInvalid, false,
                                           "backends on this node (addr . proto . port)");
    // One lookup per packet classifies it by destination (instead of one set
    // lookup per rule): entry service -> chain entry, local backend ->
    // notrack.
    const std::uint32_t classify_id =
        add_set("classify_dst", kConcatKeyType, kConcatKeyLen, kByteorderInvalid, true,
                "classification by destination: entry service or local backend -> what classify does with it");
    const std::uint32_t icmp_services_id =
        add_set("icmp_services", kIcmpQuoteKeyType, kConcatKeyLen, kByteorderInvalid, false,
                "ICMP error about a reply: service address . quoted protocol . quoted sport", 0, 0,
                put_icmp_quote_typeof);
    const std::uint32_t icmp_errors_id = add_set("icmp_errors", kTypeIcmpType, 1, kByteorderBig, false,
                                                 "ICMP errors relayed to the backend that owns the quoted flow");
    // ---- dispatch ipip (only when the plan prepares tunl0) ----
    const bool tun = plan_.tunnel.enabled;
    std::uint32_t sources_id = 0, tun_svc_id = 0;
    if (tun) {
        sources_id = add_set("tunnel_sources", kTypeIpAddr, 4, kByteorderBig, false,
                             "entry nodes: the only outer sources accepted for IPIP (tunl0)");
        tun_svc_id = add_set("tunnel_services", kConcatKeyType, kConcatKeyLen, kByteorderInvalid, false,
                             "service addresses bound here, as classic IPIP on tunl0 (IPVS-TUN directors)");
    }
    // ---- backend node: TCP service addresses bound here (SYN-ACK MSS cap) ----
    Elems bound_tcp;
    if (tun) {
        std::set<std::vector<std::uint8_t>> seen;
        for (const auto& b : plan_.bindings)
            if (b.proto == Protocol::tcp) {
                auto k = tuple_key(b.vip, b.proto, b.vport);
                if (seen.insert(k).second) bound_tcp.emplace_back(std::move(k), "");
            }
    }
    const std::uint32_t bound_tcp_id =
        bound_tcp.empty() ? 0
                          : add_set("bound_tcp_services", kConcatKeyType, kConcatKeyLen, kByteorderInvalid, false,
                                    "TCP service addresses bound here (vip . proto . port): SYN-ACK MSS cap");

    add_local_client_sets();

    // ---- chains (listing order = creation order: base chains first) ----
    add_chain("classify", "classify service traffic: notrack, mark for nfdsr.ko's entry path", NF_INET_PRE_ROUTING,
              NFDSR_PRIO_NFT_CLASSIFY);
    add_chain("output_notrack", "replies of local-process backends: no conntrack", NF_INET_LOCAL_OUT,
              NF_IP_PRI_RAW);
    if (tun)
        add_chain("tunnel_mss", "TCP MSS of SYNs into tunl0 fits the tunnel", NF_INET_FORWARD, NF_IP_PRI_MANGLE);
    if (bound_tcp_id)
        add_chain("backend_mss", "TCP MSS of SYN-ACKs sent as a service address fits IPIP (after nfdsr.ko's rewrite)",
                  NF_INET_POST_ROUTING, NFDSR_PRIO_KMOD_EGRESS + 50);
    add_chain("entry", "to an entry service: notrack, mark for nfdsr.ko's entry path");
    add_chain("to_local_backend", "to a local backend: notrack");
    if (tun) {
        add_chain("from_tunl0", "classic IPIP on tunl0 to a service bound here");
        add_chain("tunnel_service", "classic IPIP on tunl0 to a service bound here: notrack, mark for nfdsr.ko");
    }
    add_local_client_chains();

    // ---- elements ----
    Elems local, icmp;
    std::set<std::vector<std::uint8_t>> seen_entry, seen_local;
    for (const auto& b : plan_.bindings) {
        auto k = tuple_key(b.backend_addr, b.proto, b.backend_port);
        if (seen_local.insert(k).second) local.emplace_back(k, "");
    }
    add_elems("local_backends", local);
    {
        Elems cls;
        for (const auto& e : plan_.entry) {
            auto k = tuple_key(e.vip, e.proto, e.vport);
            if (!seen_entry.insert(k).second)
                throw NftError("plan lists entry service " + endpoint(e.vip, e.vport) + "/" + to_string(e.proto) +
                               " twice");
            icmp.emplace_back(k, "");
            cls.emplace_back(std::move(k), "entry");
        }
        // an address that is both (a local process behind its own node's
        // NodePort) gets the entry's chain, which does notrack too
        for (const auto& [k, unused] : local)
            if (seen_entry.insert(k).second) cls.emplace_back(k, "to_local_backend");
        add_elems("classify_dst", cls);
    }
    add_elems("icmp_services", icmp);
    {
        Elems types;
        for (std::uint8_t t : {ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB})
            types.emplace_back(std::vector<std::uint8_t>{t}, "");
        add_elems("icmp_errors", types);
    }
    if (bound_tcp_id) add_elems("bound_tcp_services", bound_tcp);
    if (tun) {
        Elems sources, tsvc;
        std::set<std::uint32_t> seen_src;
        for (const auto& a : plan_.tunnel.entry_sources)
            if (seen_src.insert(a.be).second)
                sources.emplace_back(std::vector<std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&a.be),
                                                               reinterpret_cast<const std::uint8_t*>(&a.be) + 4),
                                     "");
        std::set<std::vector<std::uint8_t>> seen_tun;
        for (const auto& e : plan_.tunnel.services) {
            auto k = tuple_key(e.vip, e.proto, e.vport);
            if (!seen_tun.insert(k).second)
                throw NftError("plan lists tunnel service " + endpoint(e.vip, e.vport) + " twice");
            tsvc.emplace_back(k, "");
        }
        add_elems("tunnel_sources", sources);
        add_elems("tunnel_services", tsvc);
    }

    add_local_client_elems();

    // ---- chain classify (prerouting, raw -300) ----
    if (tun) {
        // ip protocol ipencap ip saddr != @tunnel_sources counter drop
        auto r = rule("classify");
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 9, 1, NFT_REG_1));
        const std::uint8_t ipip = IPPROTO_IPIP;
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &ipip, 1));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "tunnel_sources", sources_id, false, true));
        nftnl_rule_add_expr(r.get(), expr("counter"));
        nftnl_rule_add_expr(r.get(), verdict(NF_DROP));
        commit_rule(std::move(r), "classify",
                    "IPIP from a non-entry node: dropped (tunl0 would accept any inner source)");
    }
    local_client_skip_rule("classify");
    local_client_reply_rules("classify", local_id);
    {
        auto r = rule("classify");
        load_tuple(r.get(), false);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_backends", local_id, false));
        nftnl_rule_add_expr(r.get(), expr("notrack"));
        commit_rule(std::move(r), "classify", "replies forwarded from local backends (pods): no conntrack state");
    }
    if (tun) {
        auto r = rule("classify");
        ifname_eq(r.get(), NFT_META_IIFNAME, kTunnelDev);
        nftnl_rule_add_expr(r.get(), verdict_chain(NFT_JUMP, "from_tunl0"));
        commit_rule(std::move(r), "classify", "classic IPIP: services bound here");
    }
    {
        auto r = rule("classify");
        load_tuple(r.get(), true);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "classify_dst", classify_id, true));
        commit_rule(std::move(r), "classify", "entry service or local backend: one lookup");
    }
    {
        // icmp type @icmp_errors @th,64,8 0x45 @th,112,16 & 0x1fff == 0x0
        // ip daddr . @th,136,8 . @th,224,16 @icmp_services goto entry
        // (a quoted IPv4 header of 20 bytes, first fragment: the quoted ports are there)
        auto r = rule("classify");
        const std::uint8_t icmp_proto = IPPROTO_ICMP, v4ihl5 = 0x45;
        nftnl_rule_add_expr(r.get(), meta_load(NFT_META_L4PROTO, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &icmp_proto, 1));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "icmp_errors", icmp_errors_id, false));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 8, 1, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &v4ihl5, 1));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 8 + 6, 2, NFT_REG_1));
        const std::uint16_t off_mask = htons(0x1fff), zero16 = 0;
        nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 2, &off_mask, &zero16));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &zero16, 2));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, kIcmpQuoteProto, 1, NFT_REG32_01));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, kIcmpQuoteSport, 2, NFT_REG32_02));
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "icmp_services", icmp_services_id, false));
        nftnl_rule_add_expr(r.get(), verdict_chain(NFT_GOTO, "entry"));
        commit_rule(std::move(r), "classify",
                    "ICMP error about a reply (frag-needed from a router on the return path): nfdsr.ko relays it "
                    "to the flow's backend");
    }
    entry_rules("entry", "to an entry service");
    {
        auto r = rule("to_local_backend");
        nftnl_rule_add_expr(r.get(), expr("notrack"));
        commit_rule(std::move(r), "to_local_backend", "no conntrack state");
    }
    if (tun) {
        auto r = rule("from_tunl0");
        load_tuple(r.get(), true);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "tunnel_services", tun_svc_id, false));
        nftnl_rule_add_expr(r.get(), verdict_chain(NFT_GOTO, "tunnel_service"));
        commit_rule(std::move(r), "from_tunl0", "to a service address bound here");
        entry_rules("tunnel_service", "classic IPIP on tunl0");
    }
    // ---- chain output_notrack (output, raw) ----
    local_client_reply_rules("output_notrack", local_id);
    {
        auto r = rule("output_notrack");
        load_tuple(r.get(), false);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_backends", local_id, false));
        nftnl_rule_add_expr(r.get(), expr("notrack"));
        commit_rule(std::move(r), "output_notrack", "replies of local-process backends: no conntrack state");
    }
    // ---- chain tunnel_mss (forward, mangle) ----
    if (tun) {
        // oifname "tunl0" tcp flags syn / syn,rst tcp option maxseg size set rt mtu
        auto r = rule("tunnel_mss");
        ifname_eq(r.get(), NFT_META_OIFNAME, kTunnelDev);
        const std::uint8_t tcp = IPPROTO_TCP;
        nftnl_rule_add_expr(r.get(), meta_load(NFT_META_L4PROTO, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &tcp, 1));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1));
        const std::uint8_t sr = 0x06, none = 0, syn = 0x02;
        nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 1, &sr, &none));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &syn, 1));
        nftnl_expr* rt = expr("rt");
        nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_KEY, NFT_RT_TCPMSS);
        nftnl_expr_set_u32(rt, NFTNL_EXPR_RT_DREG, NFT_REG_1);
        nftnl_rule_add_expr(r.get(), rt);
        nftnl_expr* bo = expr("byteorder");
        nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
        nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
        nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
        nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_LEN, 2);
        nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_SIZE, 2);
        nftnl_rule_add_expr(r.get(), bo);
        nftnl_rule_add_expr(r.get(), tcpopt_maxseg(NFT_REG_1, true));
        commit_rule(std::move(r), "tunnel_mss", "SYN into tunl0: MSS := route MTU - 40 (1440 on tunl0 over 1500)");
    }
    // ---- chain backend_mss (postrouting, after nfdsr.ko's reply rewrite) ----
    if (bound_tcp_id) {
        // ip saddr . meta l4proto . th sport @bound_tcp_services meta l4proto tcp
        // tcp flags & (syn | ack) == syn | ack tcp option maxseg size > MSS
        // counter tcp option maxseg size set MSS
        // (the cheap SYN-ACK test first: the set lookup only for SYN-ACKs)
        auto r = rule("backend_mss");
        const std::uint8_t tcp = IPPROTO_TCP;
        nftnl_rule_add_expr(r.get(), meta_load(NFT_META_L4PROTO, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &tcp, 1));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1));
        const std::uint8_t sa = 0x12, none = 0;
        nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 1, &sa, &none));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &sa, 1));
        load_tuple(r.get(), false);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "bound_tcp_services", bound_tcp_id, false));
        const std::uint16_t mss = htons(plan_.tunnel.mss);
        nftnl_rule_add_expr(r.get(), tcpopt_maxseg(NFT_REG_1, false));
        nftnl_rule_add_expr(r.get(), cmp_op(NFT_REG_1, NFT_CMP_GT, &mss, 2));
        nftnl_rule_add_expr(r.get(), expr("counter"));
        nftnl_rule_add_expr(r.get(), immediate_data(NFT_REG_1, &mss, 2));
        nftnl_rule_add_expr(r.get(), tcpopt_maxseg(NFT_REG_1, true));
        commit_rule(std::move(r), "backend_mss",
                    "SYN-ACK as a service address: MSS <= " + std::to_string(plan_.tunnel.mss) +
                        " so client segments fit IPIP, whatever the dispatch now or after a switch");
    }
    local_client_rules();
}

void Builder::entry_rules(const std::string& chain, const std::string& why) {
    {
        auto r = rule(chain);
        nftnl_rule_add_expr(r.get(), expr("notrack"));
        commit_rule(std::move(r), chain, "stateless DSR, no conntrack state");
    }
    // meta mark set meta mark | entry_mark counter
    const std::uint32_t mark = plan_.params.entry_mark;
    const std::uint32_t mark_mask = ~mark;
    auto r = rule(chain);
    nftnl_rule_add_expr(r.get(), meta_load(NFT_META_MARK, NFT_REG_1));
    nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 4, &mark_mask, &mark));
    nftnl_rule_add_expr(r.get(), meta_set(NFT_META_MARK, NFT_REG_1));
    nftnl_rule_add_expr(r.get(), expr("counter"));
    commit_rule(std::move(r), chain,
                why + ": nfdsr.ko (prio " + std::to_string(NFDSR_PRIO_KMOD_ATTACH) +
                    ") looks up the service, attaches the DSR option, picks the Maglev backend, rewrites");
}


// ---- Local clients ----------------------------------------------------------
// Clients on this node (its own processes) and in its pods, and hairpin (a
// backend calling its own service), do not take the DSR path: a packet from
// this node to its own address would be routed to itself (local delivery of
// a rewritten packet, martian sources), and a backend answering a client on
// its own node or itself cannot return through DSR. Like kube-proxy, their
// connections are tracked by conntrack and DNATed to a backend (random pick
// by weight, one chain and one map per service); the reply is un-NATed by
// conntrack. A pod DNATed to itself is SNATed to the node (hairpin).
//  - nat output (-100):      this node's processes to any service address;
//  - nat prerouting (-100):  this node's pod CIDR to any service address; the
//                            DSR chains (classify, dispatch) let these pass;
//  - nat postrouting (100):  hairpin SNAT;
//  - classify/output_notrack: replies of local backends to this node or its
//                            pods stay tracked (else no reverse NAT).

// typeof numgen random mod M : ip daddr . tcp|udp dport (the layout nft
// 1.0.6 writes for it, so `nft list` prints it back as typeof).
void put_numgen_typeof(nftnl_udata_buf* b, std::uint32_t modulus, Protocol proto) {
    constexpr std::uint32_t kExprNumgen = 0x17;   // nft enum expr_types: EXPR_NUMGEN
    constexpr std::uint32_t kExprPayload = 7;     // EXPR_PAYLOAD
    constexpr std::uint32_t kExprConcat = 13;     // EXPR_CONCAT
    constexpr std::uint32_t kDescIp = 12, kDescTcp = 8, kDescUdp = 6;  // nft enum proto_desc_id
    constexpr std::uint32_t kIpDaddr = 12, kThDport = 2;                // template indexes
    nftnl_udata* key = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_KEY_TYPEOF);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprNumgen);
    nftnl_udata* kd = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    nftnl_udata_put_u32(b, 0, NFT_NG_RANDOM);
    nftnl_udata_put_u32(b, 1, modulus);
    nftnl_udata_put_u32(b, 2, 0);  // offset
    nftnl_udata_nest_end(b, kd);
    nftnl_udata_nest_end(b, key);
    nftnl_udata* val = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_DATA_TYPEOF);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprConcat);
    nftnl_udata* cd = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
    auto member = [b](std::uint8_t idx, std::uint32_t desc, std::uint32_t field) {
        nftnl_udata* m = nftnl_udata_nest_start(b, idx);
        nftnl_udata_put_u32(b, NFTNL_UDATA_SET_TYPEOF_EXPR, kExprPayload);
        nftnl_udata* d = nftnl_udata_nest_start(b, NFTNL_UDATA_SET_TYPEOF_DATA);
        nftnl_udata_put_u32(b, 0, desc);
        nftnl_udata_put_u32(b, 1, field);
        nftnl_udata_nest_end(b, d);
        nftnl_udata_nest_end(b, m);
    };
    member(0, kDescIp, kIpDaddr);
    member(1, proto == Protocol::udp ? kDescUdp : kDescTcp, kThDport);
    nftnl_udata_nest_end(b, cd);
    nftnl_udata_nest_end(b, val);
    nftnl_udata_put_u32(b, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
}

void Builder::add_nat_chain(const std::string& name, const std::string& comment, int hook, int prio) {
    add_chain(name, comment, hook, prio);
    Chain& c = out_.chains.at(chain_index_.at(name));
    nftnl_chain_set_str(c.def.get(), NFTNL_CHAIN_TYPE, "nat");
    c.fingerprint = fingerprint(c.def.get());
}

void Builder::add_local_client_sets() {
    const auto& lc = plan_.local_clients;
    if (!lc.enabled) return;
    lc_services_id_ = add_set("local_client_services", kConcatKeyType, kConcatKeyLen, kByteorderInvalid, false,
                              "every service address of the cluster (addr . proto . port): local clients' path");
    lc_chains_id_ = add_set("local_client_chains", kConcatKeyType, kConcatKeyLen, kByteorderInvalid, true,
                            "service address -> its local-client chain (conntrack, DNAT to a backend)");
    lc_hairpin_id_ = add_set("local_hairpin", (kTypeIpAddr << kTypeBits) | kTypeIpAddr, 8, kByteorderInvalid, false,
                             "pod backends of this node (saddr . daddr): DNATed to itself = hairpin");
    for (const auto& l : lc.services) {
        LocalSvc s;
        s.plan = &l;
        s.chain = "local_svc_" + sanitize(l.name) + "_" + to_string(l.proto) + "_" + std::to_string(l.port);
        s.map = s.chain + "_backends";
        s.label = l.name + " :" + std::to_string(l.port) + "/" + to_string(l.proto);
        // the map: slot (numgen random mod N) -> backend address . port
        SetPtr m(nftnl_set_alloc());
        const std::string comment = s.label + ": random slot -> backend address . port (slots by weight)";
        std::uint32_t id = 2166136261u;  // FNV-1a of the name, as add_set
        for (unsigned char c : s.map) id = (id ^ c) * 16777619u;
        while (id == 0 || !set_ids_used_.insert(id).second) ++id;
        nftnl_set_set_str(m.get(), NFTNL_SET_TABLE, kTable);
        nftnl_set_set_str(m.get(), NFTNL_SET_NAME, s.map.c_str());
        nftnl_set_set_u32(m.get(), NFTNL_SET_FAMILY, NFPROTO_IPV4);
        nftnl_set_set_u32(m.get(), NFTNL_SET_KEY_TYPE, kTypeInteger);
        nftnl_set_set_u32(m.get(), NFTNL_SET_KEY_LEN, 4);
        nftnl_set_set_u32(m.get(), NFTNL_SET_FLAGS, NFT_SET_MAP);
        nftnl_set_set_u32(m.get(), NFTNL_SET_DATA_TYPE, (kTypeIpAddr << kTypeBits) | kTypeInetService);
        nftnl_set_set_u32(m.get(), NFTNL_SET_DATA_LEN, 8);
        Udata ud;
        nftnl_udata_put_u32(ud.buf.get(), NFTNL_UDATA_SET_KEYBYTEORDER, kByteorderHost);
        nftnl_udata_put_u32(ud.buf.get(), NFTNL_UDATA_SET_DATABYTEORDER, kByteorderInvalid);
        put_numgen_typeof(ud.buf.get(), static_cast<std::uint32_t>(std::max<std::size_t>(l.slots.size(), 1)), l.proto);
        nftnl_udata_put_strz(ud.buf.get(), NFTNL_UDATA_SET_COMMENT, clip(comment).c_str());
        nftnl_set_set_data(m.get(), NFTNL_SET_USERDATA, ud.data(), ud.len());
        Set set;
        set.name = s.map;
        set.what = "map " + s.map + " (" + comment + ")";
        set.map = true;
        set.fingerprint = fingerprint(m.get());
        nftnl_set_set_u32(m.get(), NFTNL_SET_ID, id);
        set.def = std::move(m);
        set_index_[s.map] = out_.sets.size();
        out_.sets.push_back(std::move(set));
        s.map_id = id;
        lsvcs_.push_back(std::move(s));
    }
}

void Builder::add_local_client_chains() {
    const auto& lc = plan_.local_clients;
    if (!lc.enabled) return;
    add_nat_chain("local_clients_output", "this node's processes to a service: conntrack path, DNAT (not DSR)",
                  NF_INET_LOCAL_OUT, NF_IP_PRI_NAT_DST);
    if (lc.pod_prefix)
        add_nat_chain("local_clients", "this node's pods to a service: conntrack path, DNAT (not DSR)",
                      NF_INET_PRE_ROUTING, NF_IP_PRI_NAT_DST);
    add_nat_chain("local_hairpin", "hairpin: a pod DNATed to itself is SNATed to this node", NF_INET_POST_ROUTING,
                  NF_IP_PRI_NAT_SRC);
    for (const auto& s : lsvcs_)
        add_chain(s.chain, s.label + " for local clients: DNAT to a backend at random by weight");
}

void Builder::add_local_client_elems() {
    using Elems = std::vector<std::pair<std::vector<std::uint8_t>, std::string>>;
    const auto& lc = plan_.local_clients;
    if (!lc.enabled) return;
    Elems svcs, chains, hairpin;
    std::set<std::vector<std::uint8_t>> seen;
    for (const auto& s : lsvcs_)
        for (const auto& a : s.plan->addrs) {
            auto k = tuple_key(a, s.plan->proto, s.plan->port);
            if (!seen.insert(k).second) continue;  // (config validation rules this out)
            svcs.emplace_back(k, "");
            chains.emplace_back(k, s.chain);
        }
    for (const auto& a : lc.hairpin) {
        std::vector<std::uint8_t> k(8);
        std::memcpy(k.data(), &a.be, 4);
        std::memcpy(k.data() + 4, &a.be, 4);
        hairpin.emplace_back(std::move(k), "");
    }
    add_elems("local_client_services", svcs);
    add_elems("local_client_chains", chains);
    add_elems("local_hairpin", hairpin);
    for (const auto& s : lsvcs_) {
        auto& target = out_.sets.at(set_index_.at(s.map)).elems;
        for (std::uint32_t slot = 0; slot < s.plan->slots.size(); ++slot) {
            if (s.plan->slots[slot] == plan::kNoLocalBackend) continue;  // all down: no match, dropped
            const auto& b = s.plan->backends.at(s.plan->slots[slot]);
            Element el;
            el.key.resize(4);
            std::memcpy(el.key.data(), &slot, 4);  // host byte order, like the numgen result
            el.data.resize(8, 0);
            std::memcpy(el.data.data(), &b.addr.be, 4);
            const std::uint16_t nport = htons(b.port);
            std::memcpy(el.data.data() + 4, &nport, 2);
            target.push_back(std::move(el));
        }
    }
}

// "ip saddr <pod cidr> ip daddr . meta l4proto . th dport @local_client_services accept":
// the DSR chains let this node's pods' connections to services pass untouched.
void Builder::local_client_skip_rule(const std::string& chain) {
    const auto& lc = plan_.local_clients;
    if (!lc.enabled || !lc.pod_prefix) return;
    auto r = rule(chain);
    const std::uint32_t mask = lc.pod_prefix >= 32 ? 0xffffffffu : htonl(~(0xffffffffu >> lc.pod_prefix));
    const std::uint32_t none = 0;
    nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1));
    nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 4, &mask, &none));
    nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &lc.pod_net.be, 4));
    load_tuple(r.get(), true);
    nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_client_services", lc_services_id_, false));
    nftnl_rule_add_expr(r.get(), verdict(NF_ACCEPT));
    commit_rule(std::move(r), chain, "a pod of this node to a service: not DSR, conntrack path (chain local_clients)");
}

// Replies of local backends to this node or its pods: accepted before the
// notrack of local backends' replies, so conntrack un-NATs them.
void Builder::local_client_reply_rules(const std::string& chain, std::uint32_t local_backends_id) {
    const auto& lc = plan_.local_clients;
    if (!lc.enabled) return;
    if (lc.pod_prefix) {
        auto r = rule(chain);
        const std::uint32_t mask = lc.pod_prefix >= 32 ? 0xffffffffu : htonl(~(0xffffffffu >> lc.pod_prefix));
        const std::uint32_t none = 0;
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 4, &mask, &none));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &lc.pod_net.be, 4));
        load_tuple(r.get(), false);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_backends", local_backends_id, false));
        nftnl_rule_add_expr(r.get(), verdict(NF_ACCEPT));
        commit_rule(std::move(r), chain, "reply of a local backend to a pod of this node: tracked (local clients)");
    }
    auto r = rule(chain);
    nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1));
    nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &plan_.node_addr.be, 4));
    load_tuple(r.get(), false);
    nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_backends", local_backends_id, false));
    nftnl_rule_add_expr(r.get(), verdict(NF_ACCEPT));
    commit_rule(std::move(r), chain, "reply of a local backend to this node: tracked (local clients, hairpin SNAT)");
}

void Builder::local_client_rules() {
    const auto& lc = plan_.local_clients;
    if (!lc.enabled) return;
    auto to_service = [this](const std::string& chain, const std::string& why) {
        auto r = rule(chain);
        load_tuple(r.get(), true);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_client_chains", lc_chains_id_, true));
        commit_rule(std::move(r), chain, why);
    };
    {
        to_service("local_clients_output", "this node to a service address: its local-client chain");
    }
    if (lc.pod_prefix) {
        auto r = rule("local_clients");
        const std::uint32_t mask = lc.pod_prefix >= 32 ? 0xffffffffu : htonl(~(0xffffffffu >> lc.pod_prefix));
        const std::uint32_t none = 0;
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 4, &mask, &none));
        nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &lc.pod_net.be, 4));
        load_tuple(r.get(), true);
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_client_chains", lc_chains_id_, true));
        commit_rule(std::move(r), "local_clients", "a pod of this node to a service address: its local-client chain");
    }
    {
        // ct status dnat ip saddr . ip daddr @local_hairpin snat to <node address>
        auto r = rule("local_hairpin");
        nftnl_expr* ct = expr("ct");
        nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATUS);
        nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
        nftnl_rule_add_expr(r.get(), ct);
        const std::uint32_t dnat = IPS_DST_NAT, none = 0;
        nftnl_rule_add_expr(r.get(), bitwise(NFT_REG_1, 4, &dnat, &none));
        nftnl_rule_add_expr(r.get(), cmp_op(NFT_REG_1, NFT_CMP_NEQ, &none, 4));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1));
        nftnl_rule_add_expr(r.get(), payload_load(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG32_01));
        nftnl_rule_add_expr(r.get(), lookup(NFT_REG_1, "local_hairpin", lc_hairpin_id_, false));
        nftnl_rule_add_expr(r.get(), expr("counter"));
        nftnl_rule_add_expr(r.get(), immediate_data(NFT_REG_1, &plan_.node_addr.be, 4));
        nftnl_expr* nat = expr("nat");
        nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_TYPE, NFT_NAT_SNAT);
        nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
        nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
        nftnl_rule_add_expr(r.get(), nat);
        commit_rule(std::move(r), "local_hairpin",
                    "hairpin: the reply must come back through this node to be un-NATed");
    }
    for (const auto& s : lsvcs_) {
        const auto& l = *s.plan;
        if (!l.slots.empty()) {
            // meta l4proto tcp counter dnat ip to numgen random mod N map @<map>
            auto r = rule(s.chain);
            const std::uint8_t proto = static_cast<std::uint8_t>(l.proto);
            nftnl_rule_add_expr(r.get(), meta_load(NFT_META_L4PROTO, NFT_REG_1));
            nftnl_rule_add_expr(r.get(), cmp_eq(NFT_REG_1, &proto, 1));
            nftnl_rule_add_expr(r.get(), expr("counter"));
            nftnl_expr* ng = expr("numgen");
            nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_DREG, NFT_REG_1);
            nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_MODULUS, static_cast<std::uint32_t>(l.slots.size()));
            nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
            nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_OFFSET, 0);
            nftnl_rule_add_expr(r.get(), ng);
            nftnl_expr* lk = lookup(NFT_REG_1, s.map, s.map_id, false);
            nftnl_expr_set_u32(lk, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
            nftnl_rule_add_expr(r.get(), lk);
            nftnl_expr* nat = expr("nat");
            nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
            nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
            nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
            nftnl_expr_set_u32(nat, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_01);
            nftnl_rule_add_expr(r.get(), nat);
            commit_rule(std::move(r), s.chain,
                        "backend := slot (numgen) of " + std::to_string(l.slots.size()) +
                            "; conntrack keeps it for the connection and un-NATs the replies");
        }
        auto r = rule(s.chain);
        nftnl_rule_add_expr(r.get(), expr("counter"));
        nftnl_rule_add_expr(r.get(), verdict(NF_DROP));
        commit_rule(std::move(r), s.chain, "no backend");
    }
}

}  // namespace

Ruleset build(const plan::NodePlan& plan) {
    Ruleset rs;
    Builder b(plan, rs);
    b.table();
    b.ruleset();
    return rs;
}

}  // namespace detail
}  // namespace nfdsr::nft
