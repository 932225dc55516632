#include "nft/inventory.hpp"

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <vector>

#include "nft/dump.hpp"
#include "nft/nft_apply.hpp"
#include "nft/nftnl_ptr.hpp"

namespace nfdsr::nft::detail {

std::string inventory() {
    std::vector<std::string> lines;
    // an interrupted dump starts over: drop what it gave so far
    std::size_t mark = 0;
    auto restart = [&] { lines.resize(mark); };
    auto ours = [](const char* table) { return table && std::strcmp(table, kTable) == 0; };
    const bool chains = dump(
        NFT_MSG_GETCHAIN,
        [](nlmsghdr* nlh) {
            ChainPtr c(nftnl_chain_alloc());
            nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTable);
            nftnl_chain_nlmsg_build_payload(nlh, c.get());
        },
        [&](const nlmsghdr* nlh) {
            ChainPtr c(nftnl_chain_alloc());
            if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0 || !ours(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)))
                return;
            lines.push_back(std::string("chain ") + nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME) + " " +
                            std::to_string(nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE)));
        },
        restart);
    if (!chains) return "";
    mark = lines.size();
    dump(
        NFT_MSG_GETSET,
        [](nlmsghdr* nlh) {
            SetPtr s(nftnl_set_alloc());
            nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
            nftnl_set_nlmsg_build_payload(nlh, s.get());
        },
        [&](const nlmsghdr* nlh) {
            SetPtr s(nftnl_set_alloc());
            if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0 || !ours(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE)))
                return;
            lines.push_back(std::string("set ") + nftnl_set_get_str(s.get(), NFTNL_SET_NAME) + " " +
                            std::to_string(nftnl_set_get_u64(s.get(), NFTNL_SET_HANDLE)));
        },
        restart);
    mark = lines.size();
    dump(
        NFT_MSG_GETRULE,
        [](nlmsghdr* nlh) {
            RulePtr r(nftnl_rule_alloc());
            nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
            nftnl_rule_nlmsg_build_payload(nlh, r.get());
        },
        [&](const nlmsghdr* nlh) {
            RulePtr r(nftnl_rule_alloc());
            if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0 || !ours(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)))
                return;
            lines.push_back(std::string("rule ") + nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN) + " " +
                            std::to_string(nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE)));
        },
        restart);
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace nfdsr::nft::detail
