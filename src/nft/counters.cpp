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

#include "nft/dump.hpp"
#include "nft/nft_apply.hpp"
#include "nft/nftnl_ptr.hpp"

namespace nfdsr::nft {

namespace {

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

}  // namespace

std::map<std::string, Counter> chain_counters()
{
    std::map<std::string, Counter> out;
    const bool found = detail::dump(
        NFT_MSG_GETRULE,
        [](nlmsghdr* nlh) {
            detail::RulePtr r(nftnl_rule_alloc());
            nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
            nftnl_rule_nlmsg_build_payload(nlh, r.get());
        },
        [&out](const nlmsghdr* nlh) {
            detail::RulePtr r(nftnl_rule_alloc());
            if (!r || nftnl_rule_nlmsg_parse(nlh, r.get()) < 0)
                return;
            const char* table = nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE);
            const char* chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
            if (!table || !chain || std::strcmp(table, kTable) != 0)
                return;
            nftnl_expr_foreach(r.get(), expr_cb, &out[chain]);
        },
        [&out] { out.clear(); });
    if (!found)
        return {};
    return out;
}

}  // namespace nfdsr::nft
