#include "nft/counters.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "nft/nft_apply.hpp"

namespace nfdsr::nft {

namespace {

struct Ctx {
    std::map<std::string, Counter>* out;
};

int expr_cb(nftnl_expr* e, void* data)
{
    auto* c = static_cast<Counter*>(data);
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    if (name && std::strcmp(name, "counter") == 0) {
        c->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
        c->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
    }
    return MNL_CB_OK;
}

int rule_cb(const nlmsghdr* nlh, void* data)
{
    auto* ctx = static_cast<Ctx*>(data);
    std::unique_ptr<nftnl_rule, void (*)(const nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
    if (!r || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0)
        return MNL_CB_OK;
    const char* table = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
    const char* chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
    if (!table || !chain || std::strcmp(table, kTable) != 0)
        return MNL_CB_OK;
    Counter& c = (*ctx->out)[chain];
    nftnl_expr_foreach(r.get(), expr_cb, &c);
    return MNL_CB_OK;
}

}  // namespace

std::map<std::string, Counter> chain_counters()
{
    std::map<std::string, Counter> out;
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_NETFILTER), mnl_socket_close);
    if (!nl)
        throw NftError(std::string("netlink socket: ") + std::strerror(errno));
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw NftError(std::string("netlink bind: ") + std::strerror(errno));
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
    const std::uint32_t seq = static_cast<std::uint32_t>(time(nullptr));
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, NFPROTO_IPV4, NLM_F_DUMP, seq);
    {
        std::unique_ptr<nftnl_rule, void (*)(const nftnl_rule*)> r(nftnl_rule_alloc(), nftnl_rule_free);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
        nftnl_rule_nlmsg_build_payload(nlh, r.get());
    }
    if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
        throw NftError(std::string("netlink send: ") + std::strerror(errno));
    const unsigned portid = mnl_socket_get_portid(nl.get());
    Ctx ctx{&out};
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw NftError(std::string("netlink receive: ") + std::strerror(errno));
        }
        int rc = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid, rule_cb, &ctx);
        if (rc == MNL_CB_STOP)
            break;
        if (rc < 0) {
            if (errno == ENOENT)  // no such table
                return {};
            throw NftError(std::string("nftables rule dump: ") + std::strerror(errno));
        }
    }
    return out;
}

}  // namespace nfdsr::nft
