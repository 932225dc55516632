#include "kmod_client/messages.hpp"

#include <nfdsr/uapi/nfdsr.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace nfdsr::kmod {
namespace {

constexpr std::size_t binding_nest_size = 4 /* nest */ + 5 * 8 /* five attrs, each padded to 8 */;
constexpr std::size_t bindings_nest_limit = 0xffff;

const std::array<const char*, NFDSR_CTR_MAX> counter_names = NFDSR_COUNTER_NAMES;

// nla_policy arrays need designated array indices, which C++ lacks.
template <std::size_t N>
struct Policy {
    std::array<nla_policy, N> p{};
    constexpr Policy& set(int attr, std::uint16_t type, std::uint16_t minlen = 0)
    {
        p[static_cast<std::size_t>(attr)].type = type;
        p[static_cast<std::size_t>(attr)].minlen = minlen;
        return *this;
    }
};

Policy<NFDSR_A_MAX + 1> make_attr_policy()
{
    Policy<NFDSR_A_MAX + 1> p;
    p.set(NFDSR_A_VERSION, NLA_STRING)
        .set(NFDSR_A_ENTRY_MARK, NLA_U32)
        .set(NFDSR_A_FLOW_MAX, NLA_U32)
        .set(NFDSR_A_TCP_TIMEOUT, NLA_U32)
        .set(NFDSR_A_TCP_CLOSE_TIMEOUT, NLA_U32)
        .set(NFDSR_A_UDP_TIMEOUT, NLA_U32)
        .set(NFDSR_A_BINDINGS, NLA_NESTED)
        .set(NFDSR_A_BINDING, NLA_NESTED)
        .set(NFDSR_A_COUNTERS, NLA_NESTED)
        .set(NFDSR_A_BINDING_COUNT, NLA_U32)
        .set(NFDSR_A_FLOW_COUNT, NLA_U32)
        .set(NFDSR_A_FLOW, NLA_NESTED)
        .set(NFDSR_A_HOOKS, NLA_U8)
        .set(NFDSR_A_ROUTE_MARK_MASK, NLA_U32)
        .set(NFDSR_A_SVC_COUNT, NLA_U32)
        .set(NFDSR_A_SVC_PROTO, NLA_U8)
        .set(NFDSR_A_SVC_VIP, NLA_U32)
        .set(NFDSR_A_SVC_PORT, NLA_U16)
        .set(NFDSR_A_SVC_KIND, NLA_U8)
        .set(NFDSR_A_SVC_FLAGS, NLA_U32)
        .set(NFDSR_A_SVC_HASH_SEED, NLA_U32)
        .set(NFDSR_A_SVC_BACKEND, NLA_NESTED)
        .set(NFDSR_A_SVC_TABLE_SIZE, NLA_U32)
        .set(NFDSR_A_SVC_EST_TABLE_SIZE, NLA_U32)
        .set(NFDSR_A_SVC_NO_BACKEND, NLA_U64)
        .set(NFDSR_A_LOOKUP_CLIENT_IP, NLA_U32)
        .set(NFDSR_A_LOOKUP_CLIENT_PORT, NLA_U16)
        .set(NFDSR_A_LOOKUP_TCP_FLAGS, NLA_U8)
        .set(NFDSR_A_SVC_DUMP_FLAGS, NLA_U32)
        .set(NFDSR_A_LOOKUP_BUCKET, NLA_U32)
        .set(NFDSR_A_LOOKUP_TABLE, NLA_U8)
        .set(NFDSR_A_LOOKUP_BACKEND, NLA_U32);
    return p;
}

Policy<NFDSR_SBA_MAX + 1> make_svc_backend_policy()
{
    Policy<NFDSR_SBA_MAX + 1> p;
    p.set(NFDSR_SBA_IP, NLA_U32)
        .set(NFDSR_SBA_PORT, NLA_U16)
        .set(NFDSR_SBA_ROUTE_MARK, NLA_U32)
        .set(NFDSR_SBA_PACKETS, NLA_U64)
        .set(NFDSR_SBA_BYTES, NLA_U64);
    return p;
}

Policy<NFDSR_BA_MAX + 1> make_binding_policy()
{
    Policy<NFDSR_BA_MAX + 1> p;
    p.set(NFDSR_BA_PROTO, NLA_U8)
        .set(NFDSR_BA_VIP, NLA_U32)
        .set(NFDSR_BA_VPORT, NLA_U16)
        .set(NFDSR_BA_BACKEND_IP, NLA_U32)
        .set(NFDSR_BA_BACKEND_PORT, NLA_U16);
    return p;
}

Policy<NFDSR_FA_MAX + 1> make_flow_policy()
{
    Policy<NFDSR_FA_MAX + 1> p;
    p.set(NFDSR_FA_PROTO, NLA_U8)
        .set(NFDSR_FA_CLIENT_IP, NLA_U32)
        .set(NFDSR_FA_CLIENT_PORT, NLA_U16)
        .set(NFDSR_FA_BACKEND_IP, NLA_U32)
        .set(NFDSR_FA_BACKEND_PORT, NLA_U16)
        .set(NFDSR_FA_VIP, NLA_U32)
        .set(NFDSR_FA_VPORT, NLA_U16)
        .set(NFDSR_FA_IDLE_MS, NLA_U32)
        .set(NFDSR_FA_CLOSING, NLA_U8);
    return p;
}

auto attr_policy_storage = make_attr_policy();
auto binding_policy_storage = make_binding_policy();
auto flow_policy_storage = make_flow_policy();
auto svc_backend_policy_storage = make_svc_backend_policy();

void check(int err, const char* what)
{
    if (err < 0)
        throw KmodError(std::string("building netlink message: ") + what + ": " + nl_geterror(err));
}

Msg new_message(int family, std::uint8_t cmd, int flags, std::size_t payload)
{
    Msg msg(nlmsg_alloc_size(payload + NLMSG_HDRLEN + GENL_HDRLEN + 256));
    if (!msg)
        throw KmodError("out of memory allocating a netlink message");
    if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, NFDSR_GENL_VERSION))
        throw KmodError("netlink message too small for the generic netlink header");
    return msg;
}

void put_binding(nl_msg* msg, const plan::Binding& b)
{
    nlattr* nest = nla_nest_start(msg, NFDSR_A_BINDING);
    if (!nest)
        throw KmodError("building netlink message: binding nest does not fit");
    check(nla_put_u8(msg, NFDSR_BA_PROTO, static_cast<std::uint8_t>(b.proto)), "proto");
    check(nla_put_u32(msg, NFDSR_BA_VIP, b.vip.be), "vip");
    check(nla_put_u16(msg, NFDSR_BA_VPORT, htons(b.vport)), "vport");
    check(nla_put_u32(msg, NFDSR_BA_BACKEND_IP, b.backend_addr.be), "backend ip");
    check(nla_put_u16(msg, NFDSR_BA_BACKEND_PORT, htons(b.backend_port)), "backend port");
    check(nla_nest_end(msg, nest), "binding nest");
}

std::uint32_t get_u32(nlattr* const* tb, int attr, std::uint32_t fallback)
{
    return tb[attr] ? nla_get_u32(tb[attr]) : fallback;
}

}  // namespace

nla_policy* attr_policy() { return attr_policy_storage.p.data(); }
nla_policy* binding_policy() { return binding_policy_storage.p.data(); }
nla_policy* flow_policy() { return flow_policy_storage.p.data(); }
nla_policy* svc_backend_policy() { return svc_backend_policy_storage.p.data(); }

std::size_t max_bindings_per_message()
{
    return (bindings_nest_limit - 4) / binding_nest_size;
}

Msg build_set(int family, const plan::ModuleParams& params, const std::vector<plan::Binding>& bindings)
{
    if (bindings.size() > NFDSR_BINDINGS_LIMIT)
        throw KmodError("too many bindings for nfdsr.ko: " + std::to_string(bindings.size()) + " (limit " +
                        std::to_string(NFDSR_BINDINGS_LIMIT) + " per node)");
    const std::size_t per_nest = max_bindings_per_message();
    const std::size_t nests = std::max<std::size_t>(1, (bindings.size() + per_nest - 1) / per_nest);
    Msg msg = new_message(family, NFDSR_CMD_SET, 0, 6 * 8 + nests * 4 + bindings.size() * binding_nest_size);
    nl_msg* m = msg.get();
    check(nla_put_u32(m, NFDSR_A_ENTRY_MARK, params.entry_mark), "entry mark");
    check(nla_put_u32(m, NFDSR_A_FLOW_MAX, params.flow_max), "flow max");
    check(nla_put_u32(m, NFDSR_A_TCP_TIMEOUT, params.tcp_timeout), "tcp timeout");
    check(nla_put_u32(m, NFDSR_A_TCP_CLOSE_TIMEOUT, params.tcp_close_timeout), "tcp close timeout");
    check(nla_put_u32(m, NFDSR_A_UDP_TIMEOUT, params.udp_timeout), "udp timeout");
    check(nla_put_u32(m, NFDSR_A_ROUTE_MARK_MASK, params.route_mark_mask), "route mark mask");
    // Always at least one nest, even when empty: "no bindings" must replace
    // old ones. A nest's length is 16 bits, so large sets span several
    // nests; the module takes their union (uapi/nfdsr.h).
    for (std::size_t first = 0, n = 0; n < nests; ++n, first += per_nest) {
        nlattr* nest = nla_nest_start(m, NFDSR_A_BINDINGS);
        if (!nest)
            throw KmodError("building netlink message: bindings nest does not fit");
        const std::size_t last = std::min(bindings.size(), first + per_nest);
        for (std::size_t i = first; i < last; ++i)
            put_binding(m, bindings[i]);
        check(nla_nest_end_keep_empty(m, nest), "bindings nest");
    }
    return msg;
}

Msg build_command(int family, std::uint8_t cmd)
{
    const bool dump = cmd == NFDSR_CMD_FLOW_DUMP || cmd == NFDSR_CMD_BINDING_DUMP;
    return new_message(family, cmd, dump ? NLM_F_DUMP : 0, 0);
}

std::string extack_message(const nlmsghdr* hdr)
{
    if (hdr->nlmsg_type != NLMSG_ERROR || !(hdr->nlmsg_flags & NLM_F_ACK_TLVS) ||
        hdr->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr))
        return {};
    const auto* err = static_cast<const nlmsgerr*>(nlmsg_data(hdr));
    // TLVs follow the echoed request: its header only if capped, else all of it.
    std::size_t offset = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
        offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
    offset = NLMSG_ALIGN(offset);
    if (offset >= hdr->nlmsg_len)
        return {};
    int remaining = static_cast<int>(hdr->nlmsg_len - offset);
    const auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(hdr) + offset);
    for (; nla_ok(a, remaining); a = nla_next(a, &remaining)) {
        if (nla_type(a) == NLMSGERR_ATTR_MSG && nla_len(a) > 0) {
            const char* text = static_cast<const char*>(nla_data(a));
            return std::string(text, strnlen(text, static_cast<std::size_t>(nla_len(a))));
        }
    }
    return {};
}

Status parse_status(nlmsghdr* reply)
{
    nlattr* tb[NFDSR_A_MAX + 1];
    int err = genlmsg_parse(reply, 0, tb, NFDSR_A_MAX, attr_policy());
    if (err < 0)
        throw KmodError(std::string("malformed NFDSR_CMD_GET reply: ") + nl_geterror(err));
    Status s;
    if (tb[NFDSR_A_VERSION])
        s.version = nla_get_string(tb[NFDSR_A_VERSION]);
    s.params.entry_mark = get_u32(tb, NFDSR_A_ENTRY_MARK, s.params.entry_mark);
    s.params.flow_max = get_u32(tb, NFDSR_A_FLOW_MAX, s.params.flow_max);
    s.params.tcp_timeout = get_u32(tb, NFDSR_A_TCP_TIMEOUT, s.params.tcp_timeout);
    s.params.tcp_close_timeout = get_u32(tb, NFDSR_A_TCP_CLOSE_TIMEOUT, s.params.tcp_close_timeout);
    s.params.udp_timeout = get_u32(tb, NFDSR_A_UDP_TIMEOUT, s.params.udp_timeout);
    s.params.route_mark_mask = get_u32(tb, NFDSR_A_ROUTE_MARK_MASK, s.params.route_mark_mask);
    s.binding_count = get_u32(tb, NFDSR_A_BINDING_COUNT, 0);
    s.svc_count = get_u32(tb, NFDSR_A_SVC_COUNT, 0);
    s.flow_count = get_u32(tb, NFDSR_A_FLOW_COUNT, 0);
    s.hooks = tb[NFDSR_A_HOOKS] && nla_get_u8(tb[NFDSR_A_HOOKS]) != 0;
    if (tb[NFDSR_A_COUNTERS]) {
        nlattr* c;
        int rem;
        nla_for_each_nested(c, tb[NFDSR_A_COUNTERS], rem)
        {
            const int type = nla_type(c);  // enum nfdsr_counter + 1
            if (type < 1 || nla_len(c) < 8)
                throw KmodError("malformed NFDSR_A_COUNTERS entry");
            const auto index = static_cast<std::size_t>(type - 1);
            std::string name = index < counter_names.size() ? counter_names[index] : "counter_" + std::to_string(index);
            s.counters.push_back({std::move(name), nla_get_u64(c)});
        }
    }
    return s;
}

Flow parse_flow(nlmsghdr* reply)
{
    nlattr* tb[NFDSR_A_MAX + 1];
    int err = genlmsg_parse(reply, 0, tb, NFDSR_A_MAX, attr_policy());
    if (err < 0 || !tb[NFDSR_A_FLOW])
        throw KmodError("malformed NFDSR_CMD_FLOW_DUMP message");
    nlattr* fa[NFDSR_FA_MAX + 1];
    err = nla_parse_nested(fa, NFDSR_FA_MAX, tb[NFDSR_A_FLOW], flow_policy());
    if (err < 0)
        throw KmodError(std::string("malformed NFDSR_A_FLOW: ") + nl_geterror(err));
    Flow f;
    auto u16 = [&](int a) -> std::uint16_t { return fa[a] ? ntohs(nla_get_u16(fa[a])) : 0; };
    auto be32 = [&](int a) -> plan::Ipv4 { return {fa[a] ? nla_get_u32(fa[a]) : 0u}; };
    if (fa[NFDSR_FA_PROTO])
        f.proto = static_cast<plan::Protocol>(nla_get_u8(fa[NFDSR_FA_PROTO]));
    f.client = be32(NFDSR_FA_CLIENT_IP);
    f.client_port = u16(NFDSR_FA_CLIENT_PORT);
    f.backend = be32(NFDSR_FA_BACKEND_IP);
    f.backend_port = u16(NFDSR_FA_BACKEND_PORT);
    f.vip = be32(NFDSR_FA_VIP);
    f.vport = u16(NFDSR_FA_VPORT);
    f.idle_ms = fa[NFDSR_FA_IDLE_MS] ? nla_get_u32(fa[NFDSR_FA_IDLE_MS]) : 0;
    f.closing = fa[NFDSR_FA_CLOSING] && nla_get_u8(fa[NFDSR_FA_CLOSING]) != 0;
    return f;
}

plan::Binding parse_binding(nlmsghdr* reply)
{
    nlattr* tb[NFDSR_A_MAX + 1];
    int err = genlmsg_parse(reply, 0, tb, NFDSR_A_MAX, attr_policy());
    if (err < 0 || !tb[NFDSR_A_BINDING])
        throw KmodError("malformed NFDSR_CMD_BINDING_DUMP message");
    nlattr* ba[NFDSR_BA_MAX + 1];
    err = nla_parse_nested(ba, NFDSR_BA_MAX, tb[NFDSR_A_BINDING], binding_policy());
    if (err < 0)
        throw KmodError(std::string("malformed NFDSR_A_BINDING: ") + nl_geterror(err));
    for (int a : {NFDSR_BA_PROTO, NFDSR_BA_VIP, NFDSR_BA_VPORT, NFDSR_BA_BACKEND_IP, NFDSR_BA_BACKEND_PORT})
        if (!ba[a])
            throw KmodError("NFDSR_A_BINDING without attribute " + std::to_string(a));
    plan::Binding b;
    b.proto = static_cast<plan::Protocol>(nla_get_u8(ba[NFDSR_BA_PROTO]));
    b.vip = {nla_get_u32(ba[NFDSR_BA_VIP])};
    b.vport = ntohs(nla_get_u16(ba[NFDSR_BA_VPORT]));
    b.backend_addr = {nla_get_u32(ba[NFDSR_BA_BACKEND_IP])};
    b.backend_port = ntohs(nla_get_u16(ba[NFDSR_BA_BACKEND_PORT]));
    return b;
}

// ---- the module's service table ----

namespace {

constexpr std::size_t svc_backend_nest_size = 4 + 3 * 8;  // ip, port, route mark

void put_svc_key(nl_msg* m, const SvcKey& key)
{
    check(nla_put_u8(m, NFDSR_A_SVC_PROTO, static_cast<std::uint8_t>(key.proto)), "service protocol");
    check(nla_put_u32(m, NFDSR_A_SVC_VIP, key.vip.be), "service address");
    check(nla_put_u16(m, NFDSR_A_SVC_PORT, htons(key.port)), "service port");
    check(nla_put_u8(m, NFDSR_A_SVC_KIND, static_cast<std::uint8_t>(key.kind)), "service kind");
}

void put_table(nl_msg* m, int type, const std::vector<std::uint16_t>& table)
{
    for (std::size_t first = 0; first < table.size(); first += NFDSR_TABLE_CHUNK) {
        const std::size_t n = std::min<std::size_t>(NFDSR_TABLE_CHUNK, table.size() - first);
        check(nla_put(m, type, static_cast<int>(n * sizeof(std::uint16_t)), table.data() + first), "Maglev table");
    }
}

void append_table(std::vector<std::uint16_t>& out, const nlattr* a)
{
    const auto len = static_cast<std::size_t>(nla_len(a));
    if (len % sizeof(std::uint16_t))
        throw KmodError("malformed Maglev table chunk (odd length)");
    const std::size_t old = out.size();
    out.resize(old + len / sizeof(std::uint16_t));
    std::memcpy(out.data() + old, nla_data(a), len);
}

SvcKey parse_svc_key(nlattr* const* tb, const char* what)
{
    for (int a : {NFDSR_A_SVC_PROTO, NFDSR_A_SVC_VIP, NFDSR_A_SVC_PORT, NFDSR_A_SVC_KIND})
        if (!tb[a])
            throw KmodError(std::string(what) + " without attribute " + std::to_string(a));
    SvcKey k;
    k.proto = static_cast<plan::Protocol>(nla_get_u8(tb[NFDSR_A_SVC_PROTO]));
    k.vip = {nla_get_u32(tb[NFDSR_A_SVC_VIP])};
    k.port = ntohs(nla_get_u16(tb[NFDSR_A_SVC_PORT]));
    k.kind = static_cast<SvcKind>(nla_get_u8(tb[NFDSR_A_SVC_KIND]));
    return k;
}

}  // namespace

std::string describe(const SvcKey& key)
{
    char addr[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &key.vip.be, addr, sizeof addr);
    return std::string(addr) + ":" + std::to_string(key.port) + "/" +
           (key.proto == plan::Protocol::udp ? "udp" : "tcp") + " (" +
           (key.kind == SvcKind::tunnel ? "tunnel" : "entry") + ")";
}

Msg build_svc_set(int family, const Service& svc)
{
    if (svc.backends.size() > NFDSR_SVC_BACKENDS_LIMIT)
        throw KmodError("service " + describe(svc.key) + ": too many backends for nfdsr.ko (" +
                        std::to_string(svc.backends.size()) + ", limit " + std::to_string(NFDSR_SVC_BACKENDS_LIMIT) +
                        ")");
    for (const auto* t : {&svc.table, &svc.est_table})
        if (t->size() > NFDSR_MAGLEV_SIZE_LIMIT)
            throw KmodError("service " + describe(svc.key) + ": Maglev table of " + std::to_string(t->size()) +
                            " entries (limit " + std::to_string(NFDSR_MAGLEV_SIZE_LIMIT) + ")");
    const std::size_t entries = svc.table.size() + svc.est_table.size();
    const std::size_t chunks = (svc.table.size() + NFDSR_TABLE_CHUNK - 1) / NFDSR_TABLE_CHUNK +
                               (svc.est_table.size() + NFDSR_TABLE_CHUNK - 1) / NFDSR_TABLE_CHUNK;
    Msg msg = new_message(family, NFDSR_CMD_SVC_SET, 0,
                          8 * 8 + svc.backends.size() * svc_backend_nest_size + chunks * 8 + entries * 2);
    nl_msg* m = msg.get();
    put_svc_key(m, svc.key);
    check(nla_put_u32(m, NFDSR_A_SVC_FLAGS, svc.flags), "service flags");
    check(nla_put_u32(m, NFDSR_A_SVC_HASH_SEED, svc.hash_seed), "hash seed");
    // Backends in order: the tables' indices refer to it.
    for (const auto& b : svc.backends) {
        nlattr* nest = nla_nest_start(m, NFDSR_A_SVC_BACKEND);
        if (!nest)
            throw KmodError("building netlink message: backend nest does not fit");
        check(nla_put_u32(m, NFDSR_SBA_IP, b.addr.be), "backend address");
        check(nla_put_u16(m, NFDSR_SBA_PORT, htons(b.port)), "backend port");
        check(nla_put_u32(m, NFDSR_SBA_ROUTE_MARK, b.route_mark), "route mark");
        check(nla_nest_end(m, nest), "backend nest");
    }
    check(nla_put_u32(m, NFDSR_A_SVC_TABLE_SIZE, static_cast<std::uint32_t>(svc.table.size())), "table size");
    put_table(m, NFDSR_A_SVC_TABLE, svc.table);
    if (!svc.est_table.empty()) {
        check(nla_put_u32(m, NFDSR_A_SVC_EST_TABLE_SIZE, static_cast<std::uint32_t>(svc.est_table.size())),
              "established table size");
        put_table(m, NFDSR_A_SVC_EST_TABLE, svc.est_table);
    }
    return msg;
}

Msg build_svc_del(int family, const SvcKey& key)
{
    Msg msg = new_message(family, NFDSR_CMD_SVC_DEL, 0, 4 * 8);
    put_svc_key(msg.get(), key);
    return msg;
}

Msg build_svc_lookup(int family, const SvcKey& key, plan::Ipv4 client, std::uint16_t client_port,
                     std::uint8_t tcp_flags)
{
    Msg msg = new_message(family, NFDSR_CMD_SVC_LOOKUP, 0, 7 * 8);
    nl_msg* m = msg.get();
    put_svc_key(m, key);
    check(nla_put_u32(m, NFDSR_A_LOOKUP_CLIENT_IP, client.be), "client address");
    check(nla_put_u16(m, NFDSR_A_LOOKUP_CLIENT_PORT, htons(client_port)), "client port");
    check(nla_put_u8(m, NFDSR_A_LOOKUP_TCP_FLAGS, tcp_flags), "tcp flags");
    return msg;
}

Msg build_svc_dump(int family, bool counters_only)
{
    Msg m = new_message(family, NFDSR_CMD_SVC_DUMP, NLM_F_DUMP, 0);
    if (counters_only && nla_put_u32(m.get(), NFDSR_A_SVC_DUMP_FLAGS, NFDSR_SVC_DUMP_COUNTERS) < 0)
        throw KmodError("NFDSR_CMD_SVC_DUMP: message too small");
    return m;
}

ServicePart parse_service(nlmsghdr* msg)
{
    nlattr* tb[NFDSR_A_MAX + 1];
    int err = genlmsg_parse(msg, 0, tb, NFDSR_A_MAX, attr_policy());
    if (err < 0)
        throw KmodError(std::string("malformed NFDSR_CMD_SVC_DUMP message: ") + nl_geterror(err));
    ServicePart p;
    p.svc.key = parse_svc_key(tb, "NFDSR_CMD_SVC_DUMP message");
    p.first = tb[NFDSR_A_SVC_FLAGS] != nullptr;
    if (p.first) {
        p.svc.flags = nla_get_u32(tb[NFDSR_A_SVC_FLAGS]);
        p.svc.hash_seed = get_u32(tb, NFDSR_A_SVC_HASH_SEED, 0);
        p.table_size = get_u32(tb, NFDSR_A_SVC_TABLE_SIZE, 0);
        p.est_table_size = get_u32(tb, NFDSR_A_SVC_EST_TABLE_SIZE, 0);
        p.svc.no_backend = tb[NFDSR_A_SVC_NO_BACKEND] ? nla_get_u64(tb[NFDSR_A_SVC_NO_BACKEND]) : 0;
    }
    // Repeated attributes: genlmsg_parse keeps only the last of each.
    nlattr* a;
    int rem;
    nla_for_each_attr(a, genlmsg_attrdata(static_cast<genlmsghdr*>(nlmsg_data(msg)), 0),
                      genlmsg_attrlen(static_cast<genlmsghdr*>(nlmsg_data(msg)), 0), rem)
    {
        switch (nla_type(a)) {
        case NFDSR_A_SVC_BACKEND: {
            nlattr* ba[NFDSR_SBA_MAX + 1];
            err = nla_parse_nested(ba, NFDSR_SBA_MAX, a, svc_backend_policy());
            if (err < 0 || !ba[NFDSR_SBA_IP] || !ba[NFDSR_SBA_PORT])
                throw KmodError("malformed NFDSR_A_SVC_BACKEND of " + describe(p.svc.key));
            SvcBackend b;
            b.addr = {nla_get_u32(ba[NFDSR_SBA_IP])};
            b.port = ntohs(nla_get_u16(ba[NFDSR_SBA_PORT]));
            b.route_mark = ba[NFDSR_SBA_ROUTE_MARK] ? nla_get_u32(ba[NFDSR_SBA_ROUTE_MARK]) : 0;
            b.packets = ba[NFDSR_SBA_PACKETS] ? nla_get_u64(ba[NFDSR_SBA_PACKETS]) : 0;
            b.bytes = ba[NFDSR_SBA_BYTES] ? nla_get_u64(ba[NFDSR_SBA_BYTES]) : 0;
            p.svc.backends.push_back(b);
            break;
        }
        case NFDSR_A_SVC_TABLE: append_table(p.svc.table, a); break;
        case NFDSR_A_SVC_EST_TABLE: append_table(p.svc.est_table, a); break;
        default: break;
        }
    }
    return p;
}

void ServiceAssembler::add(nlmsghdr* msg)
{
    ServicePart p = parse_service(msg);
    if (p.first) {
        Entry e{std::move(p.svc), p.table_size, p.est_table_size};
        for (last_ = 0; last_ < entries_.size(); ++last_)
            if (entries_[last_].svc.key == e.svc.key)
                break;
        if (last_ < entries_.size())
            entries_[last_] = std::move(e);
        else
            entries_.push_back(std::move(e));
        return;
    }
    if (entries_.empty() || !(entries_[last_].svc.key == p.svc.key))
        throw KmodError("NFDSR_CMD_SVC_DUMP: a part of " + describe(p.svc.key) + " continues no service");
    Service& s = entries_[last_].svc;
    s.backends.insert(s.backends.end(), p.svc.backends.begin(), p.svc.backends.end());
    s.table.insert(s.table.end(), p.svc.table.begin(), p.svc.table.end());
    s.est_table.insert(s.est_table.end(), p.svc.est_table.begin(), p.svc.est_table.end());
}

std::vector<Service> ServiceAssembler::finish()
{
    std::vector<Service> out;
    out.reserve(entries_.size());
    for (auto& e : entries_) {
        if (!counters_only_ &&
            (e.svc.table.size() != e.table_size || e.svc.est_table.size() != e.est_table_size))
            throw KmodError("NFDSR_CMD_SVC_DUMP: incomplete Maglev tables of " + describe(e.svc.key));
        e.svc.table_size = e.table_size;
        e.svc.est_table_size = e.est_table_size;
        out.push_back(std::move(e.svc));
    }
    entries_.clear();
    return out;
}

SvcLookup parse_svc_lookup(nlmsghdr* reply)
{
    nlattr* tb[NFDSR_A_MAX + 1];
    int err = genlmsg_parse(reply, 0, tb, NFDSR_A_MAX, attr_policy());
    if (err < 0 || !tb[NFDSR_A_LOOKUP_BUCKET] || !tb[NFDSR_A_LOOKUP_TABLE])
        throw KmodError("malformed NFDSR_CMD_SVC_LOOKUP reply");
    SvcLookup l;
    l.bucket = nla_get_u32(tb[NFDSR_A_LOOKUP_BUCKET]);
    l.established_table = nla_get_u8(tb[NFDSR_A_LOOKUP_TABLE]) == NFDSR_LOOKUP_TABLE_ESTABLISHED;
    l.has_backend = tb[NFDSR_A_LOOKUP_BACKEND] != nullptr;
    l.backend = l.has_backend ? nla_get_u32(tb[NFDSR_A_LOOKUP_BACKEND]) : 0;
    return l;
}

}  // namespace nfdsr::kmod
