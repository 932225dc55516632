// NFDSR_CMD_SET / GET / FLOW_DUMP encoding, checked by parsing with libnl.
#include "config/scalars.hpp"
#include "kmod_client/messages.hpp"

#include <nfdsr/uapi/nfdsr.h>

#include <arpa/inet.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <linux/netlink.h>

using namespace nfdsr;

namespace {

constexpr int family = 0x42;

plan::Ipv4 ip(const char* text)
{
    return *config::parse_ipv4(text);
}

plan::Binding binding(const char* vip, std::uint16_t vport, const char* backend, std::uint16_t port,
                      plan::Protocol proto = plan::Protocol::tcp)
{
    return {"svc", "be", proto, ip(vip), vport, ip(backend), port};
}

}  // namespace

TEST_CASE("NFDSR_CMD_SET: header, parameters, nested bindings in network byte order")
{
    plan::ModuleParams params;
    params.entry_mark = 0x00400000;
    params.flow_max = 1000;
    params.tcp_timeout = 300;
    params.tcp_close_timeout = 5;
    params.udp_timeout = 30;
    std::vector<plan::Binding> bindings = {
        binding("192.168.10.10", 31615, "172.16.2.214", 80),
        binding("192.168.10.101", 31616, "172.16.2.214", 5353, plan::Protocol::udp),
    };
    auto msg = kmod::build_set(family, params, bindings);
    nlmsghdr* h = nlmsg_hdr(msg.get());
    CHECK(h->nlmsg_type == family);
    auto* g = static_cast<genlmsghdr*>(nlmsg_data(h));
    CHECK(g->cmd == NFDSR_CMD_SET);
    CHECK(g->version == NFDSR_GENL_VERSION);

    nlattr* tb[NFDSR_A_MAX + 1];
    REQUIRE(genlmsg_parse(h, 0, tb, NFDSR_A_MAX, kmod::attr_policy()) == 0);
    REQUIRE(tb[NFDSR_A_ENTRY_MARK]);
    CHECK(nla_get_u32(tb[NFDSR_A_ENTRY_MARK]) == 0x00400000u);
    CHECK(nla_get_u32(tb[NFDSR_A_FLOW_MAX]) == 1000u);
    CHECK(nla_get_u32(tb[NFDSR_A_TCP_TIMEOUT]) == 300u);
    CHECK(nla_get_u32(tb[NFDSR_A_TCP_CLOSE_TIMEOUT]) == 5u);
    CHECK(nla_get_u32(tb[NFDSR_A_UDP_TIMEOUT]) == 30u);
    CHECK_FALSE(tb[NFDSR_A_BINDING]);  // bindings only inside the nest
    REQUIRE(tb[NFDSR_A_BINDINGS]);

    std::vector<nlattr*> nested;
    nlattr* pos;
    int rem;
    nla_for_each_nested(pos, tb[NFDSR_A_BINDINGS], rem)
    {
        CHECK(nla_type(pos) == NFDSR_A_BINDING);
        nested.push_back(pos);
    }
    CHECK(rem == 0);
    REQUIRE(nested.size() == 2);

    nlattr* ba[NFDSR_BA_MAX + 1];
    REQUIRE(nla_parse_nested(ba, NFDSR_BA_MAX, nested[0], kmod::binding_policy()) == 0);
    CHECK(nla_get_u8(ba[NFDSR_BA_PROTO]) == 6);
    CHECK(nla_get_u32(ba[NFDSR_BA_VIP]) == ip("192.168.10.10").be);
    CHECK(nla_get_u16(ba[NFDSR_BA_VPORT]) == htons(31615));
    CHECK(nla_get_u32(ba[NFDSR_BA_BACKEND_IP]) == ip("172.16.2.214").be);
    CHECK(nla_get_u16(ba[NFDSR_BA_BACKEND_PORT]) == htons(80));
    // Raw bytes: the VIP attribute payload is the address as on the wire.
    const auto* vip_bytes = static_cast<const unsigned char*>(nla_data(ba[NFDSR_BA_VIP]));
    CHECK(vip_bytes[0] == 192);
    CHECK(vip_bytes[3] == 10);
    const auto* port_bytes = static_cast<const unsigned char*>(nla_data(ba[NFDSR_BA_VPORT]));
    CHECK(port_bytes[0] == 0x7b);  // 31615 = 0x7b7f, big endian
    CHECK(port_bytes[1] == 0x7f);

    REQUIRE(nla_parse_nested(ba, NFDSR_BA_MAX, nested[1], kmod::binding_policy()) == 0);
    CHECK(nla_get_u8(ba[NFDSR_BA_PROTO]) == 17);
    CHECK(nla_get_u16(ba[NFDSR_BA_BACKEND_PORT]) == htons(5353));
}

TEST_CASE("NFDSR_CMD_SET with no bindings still carries an empty nest (clears them)")
{
    auto msg = kmod::build_set(family, plan::ModuleParams{}, {});
    nlattr* tb[NFDSR_A_MAX + 1];
    REQUIRE(genlmsg_parse(nlmsg_hdr(msg.get()), 0, tb, NFDSR_A_MAX, kmod::attr_policy()) == 0);
    REQUIRE(tb[NFDSR_A_BINDINGS]);
    CHECK(nla_len(tb[NFDSR_A_BINDINGS]) == 0);
    CHECK(nla_get_u32(tb[NFDSR_A_ENTRY_MARK]) == NFDSR_DEFAULT_ENTRY_MARK);
}

TEST_CASE("large binding sets span several nests of at most 1489 bindings")
{
    const std::size_t max = kmod::max_bindings_per_message();
    CHECK(max == 1489);
    std::vector<plan::Binding> many(2 * max + 10, binding("10.0.0.1", 80, "10.1.0.1", 80));
    auto msg = kmod::build_set(family, plan::ModuleParams{}, many);
    nlmsghdr* nlh = nlmsg_hdr(msg.get());
    std::vector<int> per_nest;
    nlattr* top;
    int rem;
    nla_for_each_attr(top, genlmsg_attrdata(static_cast<genlmsghdr*>(nlmsg_data(nlh)), 0),
                      genlmsg_attrlen(static_cast<genlmsghdr*>(nlmsg_data(nlh)), 0), rem)
    {
        if (nla_type(top) != NFDSR_A_BINDINGS)
            continue;
        int count = 0, rem2;
        nlattr* pos;
        nla_for_each_nested(pos, top, rem2)++ count;
        per_nest.push_back(count);
    }
    CHECK(per_nest == std::vector<int>{static_cast<int>(max), static_cast<int>(max), 10});

    std::vector<plan::Binding> too_many(NFDSR_BINDINGS_LIMIT + 1, many.front());
    CHECK_THROWS_AS(kmod::build_set(family, plan::ModuleParams{}, too_many), kmod::KmodError);
}

TEST_CASE("GET, FLUSH, FLOW_DUMP requests")
{
    auto get = kmod::build_command(family, NFDSR_CMD_GET);
    CHECK(static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(get.get())))->cmd == NFDSR_CMD_GET);
    CHECK((nlmsg_hdr(get.get())->nlmsg_flags & NLM_F_DUMP) == 0);
    auto dump = kmod::build_command(family, NFDSR_CMD_FLOW_DUMP);
    CHECK((nlmsg_hdr(dump.get())->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
}

TEST_CASE("GET reply decoding: version, parameters, named counters, counts")
{
    // a reply as big as the module's (a request message has no room for all counters)
    kmod::Msg reply(nlmsg_alloc_size(4096));
    REQUIRE(genlmsg_put(reply.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, NFDSR_CMD_GET, NFDSR_GENL_VERSION));
    nl_msg* m = reply.get();
    nla_put_string(m, NFDSR_A_VERSION, "0.1.0");
    nla_put_u32(m, NFDSR_A_ENTRY_MARK, 0x10);
    nla_put_u32(m, NFDSR_A_FLOW_MAX, 77);
    nla_put_u32(m, NFDSR_A_BINDING_COUNT, 3);
    nla_put_u32(m, NFDSR_A_FLOW_COUNT, 12);
    nlattr* nest = nla_nest_start(m, NFDSR_A_COUNTERS);
    for (int c = 0; c < NFDSR_CTR_MAX; ++c)
        nla_put_u64(m, c + 1, 1000u + static_cast<unsigned>(c));
    nla_nest_end(m, nest);

    auto s = kmod::parse_status(nlmsg_hdr(m));
    CHECK(s.version == "0.1.0");
    CHECK(s.params.entry_mark == 0x10u);
    CHECK(s.params.flow_max == 77u);
    CHECK(s.params.udp_timeout == 60u);  // absent: default
    CHECK(s.binding_count == 3u);
    CHECK(s.flow_count == 12u);
    REQUIRE(s.counters.size() == NFDSR_CTR_MAX);
    CHECK(s.counters[0].name == "opt_added");
    CHECK(s.counters[0].value == 1000u);
    CHECK(s.counters[NFDSR_CTR_BAD_HEADER].name == "bad_header");
    CHECK(s.counters[NFDSR_CTR_BAD_HEADER].value == 1000u + NFDSR_CTR_BAD_HEADER);
    CHECK(s.counters[NFDSR_CTR_ICMP_ERROR_TRANSLATED].name == "icmp_error_translated");
    CHECK(s.counters[NFDSR_CTR_ICMP_QUOTE_TRANSLATED].name == "icmp_quote_translated");
    CHECK(s.counters[NFDSR_CTR_ICMP_QUOTE_TRANSLATED].value == 1000u + NFDSR_CTR_ICMP_QUOTE_TRANSLATED);
    CHECK(s.counters[NFDSR_CTR_FLOW_EVICTED_ESTABLISHED].name == "flow_evicted_established");
    CHECK(s.counters[NFDSR_CTR_RST_UNRECORDED].name == "rst_unrecorded");
    CHECK(s.counters[NFDSR_CTR_MAX - 1].value == 1000u + NFDSR_CTR_MAX - 1);
}

TEST_CASE("FLOW_DUMP message decoding")
{
    auto reply = kmod::build_command(family, NFDSR_CMD_FLOW_DUMP);
    nl_msg* m = reply.get();
    nlattr* nest = nla_nest_start(m, NFDSR_A_FLOW);
    nla_put_u8(m, NFDSR_FA_PROTO, 6);
    nla_put_u32(m, NFDSR_FA_CLIENT_IP, ip("192.168.10.200").be);
    nla_put_u16(m, NFDSR_FA_CLIENT_PORT, htons(50458));
    nla_put_u32(m, NFDSR_FA_BACKEND_IP, ip("172.16.2.214").be);
    nla_put_u16(m, NFDSR_FA_BACKEND_PORT, htons(80));
    nla_put_u32(m, NFDSR_FA_VIP, ip("192.168.10.10").be);
    nla_put_u16(m, NFDSR_FA_VPORT, htons(31615));
    nla_put_u32(m, NFDSR_FA_IDLE_MS, 1500);
    nla_put_u8(m, NFDSR_FA_CLOSING, 1);
    nla_nest_end(m, nest);

    auto f = kmod::parse_flow(nlmsg_hdr(m));
    CHECK(f.proto == plan::Protocol::tcp);
    CHECK(f.client == ip("192.168.10.200"));
    CHECK(f.client_port == 50458);
    CHECK(f.backend_port == 80);
    CHECK(f.vip == ip("192.168.10.10"));
    CHECK(f.vport == 31615);
    CHECK(f.idle_ms == 1500u);
    CHECK(f.closing);

    auto empty = kmod::build_command(family, NFDSR_CMD_FLOW_DUMP);
    CHECK_THROWS_AS(kmod::parse_flow(nlmsg_hdr(empty.get())), kmod::KmodError);
}

TEST_CASE("BINDING_DUMP request and message decoding")
{
    auto req = kmod::build_command(family, NFDSR_CMD_BINDING_DUMP);
    CHECK((nlmsg_hdr(req.get())->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);
    auto reply = kmod::build_command(family, NFDSR_CMD_BINDING_DUMP);
    nl_msg* m = reply.get();
    nlattr* nest = nla_nest_start(m, NFDSR_A_BINDING);
    nla_put_u8(m, NFDSR_BA_PROTO, 17);
    nla_put_u32(m, NFDSR_BA_VIP, ip("192.168.10.10").be);
    nla_put_u16(m, NFDSR_BA_VPORT, htons(31616));
    nla_put_u32(m, NFDSR_BA_BACKEND_IP, ip("172.16.2.214").be);
    nla_put_u16(m, NFDSR_BA_BACKEND_PORT, htons(53));
    nla_nest_end(m, nest);
    auto b = kmod::parse_binding(nlmsg_hdr(m));
    CHECK(b.proto == plan::Protocol::udp);
    CHECK(b.vip == ip("192.168.10.10"));
    CHECK(b.vport == 31616);
    CHECK(b.backend_addr == ip("172.16.2.214"));
    CHECK(b.backend_port == 53);

    // a binding missing an attribute is not trusted
    auto partial = kmod::build_command(family, NFDSR_CMD_BINDING_DUMP);
    nest = nla_nest_start(partial.get(), NFDSR_A_BINDING);
    nla_put_u8(partial.get(), NFDSR_BA_PROTO, 6);
    nla_nest_end(partial.get(), nest);
    CHECK_THROWS_AS(kmod::parse_binding(nlmsg_hdr(partial.get())), kmod::KmodError);
}

TEST_CASE("extack message from an NLMSG_ERROR (capped and uncapped)")
{
    for (bool capped : {true, false}) {
        auto request = kmod::build_set(family, plan::ModuleParams{}, {binding("10.0.0.1", 80, "10.1.0.1", 80)});
        const nlmsghdr* req = nlmsg_hdr(request.get());
        const char text[] = "NFDSR_BA_VPORT: must be non-zero";

        std::vector<char> buf(8192, 0);
        auto* hdr = reinterpret_cast<nlmsghdr*>(buf.data());
        hdr->nlmsg_type = NLMSG_ERROR;
        hdr->nlmsg_flags = NLM_F_ACK_TLVS | (capped ? NLM_F_CAPPED : 0);
        auto* err = static_cast<nlmsgerr*>(nlmsg_data(hdr));
        err->error = -EINVAL;
        err->msg = *req;
        std::size_t len = NLMSG_HDRLEN + sizeof(nlmsgerr);
        if (!capped) {
            std::memcpy(buf.data() + len, nlmsg_data(req), req->nlmsg_len - NLMSG_HDRLEN);
            len += req->nlmsg_len - NLMSG_HDRLEN;
        }
        len = NLMSG_ALIGN(len);
        // An unrelated TLV first (offset), then the message.
        auto* off = reinterpret_cast<nlattr*>(buf.data() + len);
        off->nla_type = NLMSGERR_ATTR_OFFS;
        off->nla_len = NLA_HDRLEN + 4;
        len += NLA_ALIGN(off->nla_len);
        auto* msg = reinterpret_cast<nlattr*>(buf.data() + len);
        msg->nla_type = NLMSGERR_ATTR_MSG;
        msg->nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + sizeof text);
        std::memcpy(buf.data() + len + NLA_HDRLEN, text, sizeof text);
        len += NLA_ALIGN(msg->nla_len);
        hdr->nlmsg_len = static_cast<std::uint32_t>(len);

        CHECK(kmod::extack_message(hdr) == text);
        hdr->nlmsg_flags &= static_cast<std::uint16_t>(~NLM_F_ACK_TLVS);
        CHECK(kmod::extack_message(hdr).empty());
    }
}

// ---- the module's service table ----

namespace {

kmod::Service big_service()
{
    kmod::Service s;
    s.key = {plan::Protocol::tcp, ip("192.168.10.10"), 443, kmod::SvcKind::entry};
    s.flags = kmod::kSvcOption;
    s.hash_seed = 0xdeadbeef;
    for (int i = 0; i < 3; ++i)
        s.backends.push_back({ip("172.16.2.1"), static_cast<std::uint16_t>(8080 + i), 0x100u * (i + 1)});
    s.table.resize(NFDSR_TABLE_CHUNK * 2 + 5);  // three chunks
    for (std::size_t i = 0; i < s.table.size(); ++i)
        s.table[i] = static_cast<std::uint16_t>(i % 3);
    s.est_table.resize(1009);
    for (std::size_t i = 0; i < s.est_table.size(); ++i)
        s.est_table[i] = static_cast<std::uint16_t>((i * 7) % 3);
    return s;
}

std::vector<nlattr*> attrs_of(nlmsghdr* h, int type)
{
    std::vector<nlattr*> out;
    auto* g = static_cast<genlmsghdr*>(nlmsg_data(h));
    nlattr* a;
    int rem;
    nla_for_each_attr(a, genlmsg_attrdata(g, 0), genlmsg_attrlen(g, 0), rem)
    {
        if (nla_type(a) == type)
            out.push_back(a);
    }
    return out;
}

}  // namespace

TEST_CASE("NFDSR_CMD_SVC_SET: key in network order, backends in order, tables chunked")
{
    const kmod::Service s = big_service();
    auto msg = kmod::build_svc_set(family, s);
    nlmsghdr* h = nlmsg_hdr(msg.get());
    CHECK(static_cast<genlmsghdr*>(nlmsg_data(h))->cmd == NFDSR_CMD_SVC_SET);
    nlattr* tb[NFDSR_A_MAX + 1];
    REQUIRE(genlmsg_parse(h, 0, tb, NFDSR_A_MAX, kmod::attr_policy()) == 0);
    CHECK(nla_get_u8(tb[NFDSR_A_SVC_PROTO]) == 6);
    CHECK(nla_get_u32(tb[NFDSR_A_SVC_VIP]) == ip("192.168.10.10").be);
    CHECK(nla_get_u16(tb[NFDSR_A_SVC_PORT]) == htons(443));
    CHECK(nla_get_u8(tb[NFDSR_A_SVC_KIND]) == NFDSR_SVC_ENTRY);
    CHECK(nla_get_u32(tb[NFDSR_A_SVC_FLAGS]) == NFDSR_SVC_F_OPTION);
    CHECK(nla_get_u32(tb[NFDSR_A_SVC_HASH_SEED]) == 0xdeadbeefu);
    CHECK(nla_get_u32(tb[NFDSR_A_SVC_TABLE_SIZE]) == s.table.size());
    CHECK(nla_get_u32(tb[NFDSR_A_SVC_EST_TABLE_SIZE]) == 1009u);
    CHECK_FALSE(tb[NFDSR_A_SVC_NO_BACKEND]);  // dump only: the module rejects it

    auto chunks = attrs_of(h, NFDSR_A_SVC_TABLE);
    REQUIRE(chunks.size() == 3);
    CHECK(nla_len(chunks[0]) == static_cast<int>(NFDSR_TABLE_CHUNK * 2));
    CHECK(nla_len(chunks[2]) == 10);
    CHECK(attrs_of(h, NFDSR_A_SVC_EST_TABLE).size() == 1);

    auto backends = attrs_of(h, NFDSR_A_SVC_BACKEND);
    REQUIRE(backends.size() == 3);
    nlattr* ba[NFDSR_SBA_MAX + 1];
    REQUIRE(nla_parse_nested(ba, NFDSR_SBA_MAX, backends[2], kmod::svc_backend_policy()) == 0);
    CHECK(nla_get_u32(ba[NFDSR_SBA_IP]) == ip("172.16.2.1").be);
    CHECK(nla_get_u16(ba[NFDSR_SBA_PORT]) == htons(8082));
    CHECK(nla_get_u32(ba[NFDSR_SBA_ROUTE_MARK]) == 0x300u);
    CHECK_FALSE(ba[NFDSR_SBA_PACKETS]);

    // The dump parser reads the same layout back (one part holding everything).
    kmod::ServicePart p = kmod::parse_service(h);
    CHECK(p.first);
    CHECK(p.table_size == s.table.size());
    CHECK(p.est_table_size == s.est_table.size());
    CHECK(p.svc.same_config(s));
}

TEST_CASE("NFDSR_CMD_SVC_SET: a service without backends sends an empty table")
{
    kmod::Service s;
    s.key = {plan::Protocol::udp, ip("10.0.0.1"), 53, kmod::SvcKind::tunnel};
    auto msg = kmod::build_svc_set(family, s);
    nlmsghdr* h = nlmsg_hdr(msg.get());
    nlattr* tb[NFDSR_A_MAX + 1];
    REQUIRE(genlmsg_parse(h, 0, tb, NFDSR_A_MAX, kmod::attr_policy()) == 0);
    CHECK(nla_get_u32(tb[NFDSR_A_SVC_TABLE_SIZE]) == 0u);
    CHECK_FALSE(tb[NFDSR_A_SVC_TABLE]);
    CHECK_FALSE(tb[NFDSR_A_SVC_EST_TABLE_SIZE]);
    CHECK(nla_get_u8(tb[NFDSR_A_SVC_KIND]) == NFDSR_SVC_TUNNEL);
}

TEST_CASE("NFDSR_CMD_SVC_SET: limits are checked before sending")
{
    kmod::Service s;
    s.key = {plan::Protocol::tcp, ip("10.0.0.1"), 80, kmod::SvcKind::entry};
    s.table.resize(NFDSR_MAGLEV_SIZE_LIMIT + 1);
    CHECK_THROWS_AS(kmod::build_svc_set(family, s), kmod::KmodError);
}

TEST_CASE("SVC_DUMP parts are joined by the assembler; a new first part replaces")
{
    const kmod::Service s = big_service();
    // Part 1: everything but the est table; part 2: the est table, with counters on nothing.
    kmod::Service a = s;
    a.est_table.clear();
    auto m1 = kmod::build_svc_set(family, a);
    nla_put_u32(m1.get(), NFDSR_A_SVC_EST_TABLE_SIZE, static_cast<std::uint32_t>(s.est_table.size()));
    kmod::Msg m2(nlmsg_alloc_size(8192));
    REQUIRE(genlmsg_put(m2.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, NFDSR_CMD_SVC_DUMP, 1));
    nla_put_u8(m2.get(), NFDSR_A_SVC_PROTO, 6);
    nla_put_u32(m2.get(), NFDSR_A_SVC_VIP, s.key.vip.be);
    nla_put_u16(m2.get(), NFDSR_A_SVC_PORT, htons(443));
    nla_put_u8(m2.get(), NFDSR_A_SVC_KIND, 0);
    nla_put(m2.get(), NFDSR_A_SVC_EST_TABLE, static_cast<int>(s.est_table.size() * 2), s.est_table.data());

    kmod::ServiceAssembler asm1;
    asm1.add(nlmsg_hdr(m1.get()));
    asm1.add(nlmsg_hdr(m2.get()));
    auto out = asm1.finish();
    REQUIRE(out.size() == 1);
    CHECK(out[0].same_config(s));

    kmod::ServiceAssembler asm2;
    asm2.add(nlmsg_hdr(m1.get()));
    CHECK_THROWS_AS(asm2.finish(), kmod::KmodError);  // est table missing

    kmod::ServiceAssembler asm3;
    CHECK_THROWS_AS(asm3.add(nlmsg_hdr(m2.get())), kmod::KmodError);  // continues nothing
}

TEST_CASE("SVC_DUMP counters only: the request asks for it, the assembler expects no tables")
{
    auto req = kmod::build_svc_dump(family, true);
    auto flags = attrs_of(nlmsg_hdr(req.get()), NFDSR_A_SVC_DUMP_FLAGS);
    REQUIRE(flags.size() == 1);
    CHECK(nla_get_u32(flags[0]) == NFDSR_SVC_DUMP_COUNTERS);
    CHECK(attrs_of(nlmsg_hdr(kmod::build_svc_dump(family).get()), NFDSR_A_SVC_DUMP_FLAGS).empty());

    // a part with the sizes and backends but no table entries
    const kmod::Service s = big_service();
    kmod::Service bare = s;
    bare.table.clear();
    bare.est_table.clear();
    auto m = kmod::build_svc_set(family, bare);
    nla_put_u32(m.get(), NFDSR_A_SVC_TABLE_SIZE, static_cast<std::uint32_t>(s.table.size()));
    nla_put_u32(m.get(), NFDSR_A_SVC_EST_TABLE_SIZE, static_cast<std::uint32_t>(s.est_table.size()));
    kmod::ServiceAssembler counters(true);
    counters.add(nlmsg_hdr(m.get()));
    auto out = counters.finish();
    REQUIRE(out.size() == 1);
    CHECK(out[0].table.empty());
    CHECK(out[0].table_size == s.table.size());
    CHECK(out[0].est_table_size == s.est_table.size());
    CHECK(out[0].backends.size() == 3);
    kmod::ServiceAssembler full;
    full.add(nlmsg_hdr(m.get()));
    CHECK_THROWS_AS(full.finish(), kmod::KmodError);  // a full dump must have the tables
}

TEST_CASE("NFDSR_CMD_SVC_DEL and _LOOKUP")
{
    const kmod::SvcKey key{plan::Protocol::udp, ip("192.168.10.101"), 5353, kmod::SvcKind::entry};
    auto del = kmod::build_svc_del(family, key);
    nlattr* tb[NFDSR_A_MAX + 1];
    REQUIRE(genlmsg_parse(nlmsg_hdr(del.get()), 0, tb, NFDSR_A_MAX, kmod::attr_policy()) == 0);
    CHECK(static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(del.get())))->cmd == NFDSR_CMD_SVC_DEL);
    CHECK(nla_get_u8(tb[NFDSR_A_SVC_PROTO]) == 17);
    CHECK(nla_get_u16(tb[NFDSR_A_SVC_PORT]) == htons(5353));
    CHECK_FALSE(tb[NFDSR_A_SVC_FLAGS]);

    auto lk = kmod::build_svc_lookup(family, key, ip("10.1.2.3"), 40000, 0x02);
    REQUIRE(genlmsg_parse(nlmsg_hdr(lk.get()), 0, tb, NFDSR_A_MAX, kmod::attr_policy()) == 0);
    CHECK(static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(lk.get())))->cmd == NFDSR_CMD_SVC_LOOKUP);
    CHECK(nla_get_u32(tb[NFDSR_A_LOOKUP_CLIENT_IP]) == ip("10.1.2.3").be);
    CHECK(nla_get_u16(tb[NFDSR_A_LOOKUP_CLIENT_PORT]) == htons(40000));
    CHECK(nla_get_u8(tb[NFDSR_A_LOOKUP_TCP_FLAGS]) == 0x02);

    // A reply as the module builds it.
    nla_put_u32(lk.get(), NFDSR_A_LOOKUP_BUCKET, 977);
    nla_put_u8(lk.get(), NFDSR_A_LOOKUP_TABLE, NFDSR_LOOKUP_TABLE_ESTABLISHED);
    nla_put_u32(lk.get(), NFDSR_A_LOOKUP_BACKEND, 2);
    kmod::SvcLookup l = kmod::parse_svc_lookup(nlmsg_hdr(lk.get()));
    CHECK(l.bucket == 977u);
    CHECK(l.established_table);
    CHECK(l.has_backend);
    CHECK(l.backend == 2u);
    CHECK(kmod::describe(key) == "192.168.10.101:5353/udp (entry)");
}

TEST_CASE("NFDSR_CMD_SET carries the route mark mask; GET's service count is read")
{
    plan::ModuleParams params;
    params.route_mark_mask = 0x000f0000;
    auto msg = kmod::build_set(family, params, {});
    nlattr* tb[NFDSR_A_MAX + 1];
    REQUIRE(genlmsg_parse(nlmsg_hdr(msg.get()), 0, tb, NFDSR_A_MAX, kmod::attr_policy()) == 0);
    REQUIRE(tb[NFDSR_A_ROUTE_MARK_MASK]);
    CHECK(nla_get_u32(tb[NFDSR_A_ROUTE_MARK_MASK]) == 0x000f0000u);
    nla_put_u32(msg.get(), NFDSR_A_SVC_COUNT, 12);
    kmod::Status st = kmod::parse_status(nlmsg_hdr(msg.get()));
    CHECK(st.svc_count == 12u);
    CHECK(st.params.route_mark_mask == 0x000f0000u);
}
