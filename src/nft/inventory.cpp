#include "nft/inventory.hpp"

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "nft/dump.hpp"
#include "nft/nft_apply.hpp"
#include "nft/nftnl_ptr.hpp"

namespace nfdsr::nft::detail {
namespace {

bool ours(const char* table) { return table && std::strcmp(table, kTable) == 0; }

// The chains, sets and rules of table ip nfdsr as the kernel reports them.
struct Objects {
    bool exists = false;
    std::vector<ChainPtr> chains;
    std::vector<SetPtr> sets;
    std::vector<std::pair<std::string, std::uint64_t>> rules;  // chain, handle
};

// One dump of `msg_type` filtered to our table; an interrupted dump starts
// over (its partial result is dropped).
template <class Ptr, class Alloc, class SetTable, class Parse, class TableOf>
bool dump_ours(std::uint16_t msg_type, Alloc alloc, SetTable set_table, Parse parse, TableOf table_of,
               const std::function<void(Ptr)>& keep, const std::function<void()>& restart) {
    return dump(
        msg_type,
        [&](nlmsghdr* nlh) {
            Ptr o(alloc());
            set_table(o.get(), nlh);
        },
        [&](const nlmsghdr* nlh) {
            Ptr o(alloc());
            if (parse(nlh, o.get()) < 0 || !ours(table_of(o.get()))) return;
            keep(std::move(o));
        },
        restart);
}

Objects read_objects() {
    Objects o;
    o.exists = dump_ours<ChainPtr>(
        NFT_MSG_GETCHAIN, nftnl_chain_alloc,
        [](nftnl_chain* c, nlmsghdr* nlh) {
            nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, kTable);
            nftnl_chain_nlmsg_build_payload(nlh, c);
        },
        nftnl_chain_nlmsg_parse, [](const nftnl_chain* c) { return nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE); },
        [&](ChainPtr c) { o.chains.push_back(std::move(c)); }, [&] { o.chains.clear(); });
    if (!o.exists) return o;
    dump_ours<SetPtr>(
        NFT_MSG_GETSET, nftnl_set_alloc,
        [](nftnl_set* s, nlmsghdr* nlh) {
            nftnl_set_set_str(s, NFTNL_SET_TABLE, kTable);
            nftnl_set_nlmsg_build_payload(nlh, s);
        },
        nftnl_set_nlmsg_parse, [](const nftnl_set* s) { return nftnl_set_get_str(s, NFTNL_SET_TABLE); },
        [&](SetPtr s) { o.sets.push_back(std::move(s)); }, [&] { o.sets.clear(); });
    dump_ours<RulePtr>(
        NFT_MSG_GETRULE, nftnl_rule_alloc,
        [](nftnl_rule* r, nlmsghdr* nlh) {
            nftnl_rule_set_str(r, NFTNL_RULE_TABLE, kTable);
            nftnl_rule_nlmsg_build_payload(nlh, r);
        },
        nftnl_rule_nlmsg_parse, [](const nftnl_rule* r) { return nftnl_rule_get_str(r, NFTNL_RULE_TABLE); },
        [&](RulePtr r) {
            o.rules.emplace_back(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN),
                                 nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE));
        },
        [&] { o.rules.clear(); });
    return o;
}

std::string render(const Objects& o) {
    if (!o.exists) return "";
    std::vector<std::string> lines;
    for (const auto& c : o.chains)
        lines.push_back(std::string("chain ") + nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME) + " " +
                        std::to_string(nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE)));
    for (const auto& s : o.sets)
        lines.push_back(std::string("set ") + nftnl_set_get_str(s.get(), NFTNL_SET_NAME) + " " +
                        std::to_string(nftnl_set_get_u64(s.get(), NFTNL_SET_HANDLE)));
    for (const auto& [chain, handle] : o.rules) lines.push_back("rule " + chain + " " + std::to_string(handle));
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// A chain's fingerprint as our builder writes it (name, hook, priority, type,
// comment), or empty if it carries a policy other than accept or flags.
Bytes chain_fingerprint(const nftnl_chain* k) {
    if (nftnl_chain_is_set(k, NFTNL_CHAIN_POLICY) && nftnl_chain_get_u32(k, NFTNL_CHAIN_POLICY) != NF_ACCEPT)
        return {};
    if (nftnl_chain_is_set(k, NFTNL_CHAIN_FLAGS) && (nftnl_chain_get_u32(k, NFTNL_CHAIN_FLAGS) & ~NFT_CHAIN_BASE))
        return {};
    ChainPtr c(nftnl_chain_alloc());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTable);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, nftnl_chain_get_str(k, NFTNL_CHAIN_NAME));
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
    if (nftnl_chain_is_set(k, NFTNL_CHAIN_HOOKNUM)) {
        nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, nftnl_chain_get_str(k, NFTNL_CHAIN_TYPE));
        nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, nftnl_chain_get_u32(k, NFTNL_CHAIN_HOOKNUM));
        nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, nftnl_chain_get_s32(k, NFTNL_CHAIN_PRIO));
    }
    std::uint32_t len = 0;
    if (const void* ud = nftnl_chain_get_data(k, NFTNL_CHAIN_USERDATA, &len))
        nftnl_chain_set_data(c.get(), NFTNL_CHAIN_USERDATA, ud, len);
    return fingerprint(c.get());
}

// A set that the data path fills (dynamic: the drain's remembered
// connections) gets the fingerprint our builder gives it, so that a rebuild
// keeps it with its elements when it is defined as we want it; other sets
// get none (recreated with their elements).
Bytes dynamic_set_fingerprint(const nftnl_set* k) {
    const std::uint32_t flags = nftnl_set_is_set(k, NFTNL_SET_FLAGS) ? nftnl_set_get_u32(k, NFTNL_SET_FLAGS) : 0;
    if (!(flags & NFT_SET_EVAL) || (flags & NFT_SET_MAP)) return {};
    SetPtr s(nftnl_set_alloc());
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, nftnl_set_get_str(k, NFTNL_SET_NAME));
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_IPV4);
    for (auto attr : {NFTNL_SET_KEY_TYPE, NFTNL_SET_KEY_LEN, NFTNL_SET_FLAGS, NFTNL_SET_DESC_SIZE})
        if (nftnl_set_is_set(k, attr)) nftnl_set_set_u32(s.get(), attr, nftnl_set_get_u32(k, attr));
    if (nftnl_set_is_set(k, NFTNL_SET_TIMEOUT))
        nftnl_set_set_u64(s.get(), NFTNL_SET_TIMEOUT, nftnl_set_get_u64(k, NFTNL_SET_TIMEOUT));
    std::uint32_t len = 0;
    if (const void* ud = nftnl_set_get_data(k, NFTNL_SET_USERDATA, &len))
        nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, ud, len);
    return fingerprint(s.get());
}

}  // namespace

std::string inventory() { return render(read_objects()); }

KernelTable read_table() {
    Objects o = read_objects();
    KernelTable k;
    // an empty table has no hooks to keep: as good as absent
    k.exists = o.exists && !(o.chains.empty() && o.sets.empty());
    k.inventory = render(o);
    if (!k.exists) return k;
    std::map<std::string, std::size_t> rules_in;
    for (const auto& r : o.rules) ++rules_in[r.first];
    for (auto& kc : o.chains) {
        Chain c;
        c.name = nftnl_chain_get_str(kc.get(), NFTNL_CHAIN_NAME);
        c.what = "chain " + c.name + " (installed)";
        c.base = nftnl_chain_is_set(kc.get(), NFTNL_CHAIN_HOOKNUM);
        c.fingerprint = chain_fingerprint(kc.get());
        if (rules_in[c.name]) c.rules.emplace_back();  // content unknown: refilled
        c.def = std::move(kc);
        k.skeleton.chains.push_back(std::move(c));
    }
    for (auto& ks : o.sets) {
        const std::uint32_t flags = nftnl_set_is_set(ks.get(), NFTNL_SET_FLAGS) ? nftnl_set_get_u32(ks.get(), NFTNL_SET_FLAGS) : 0;
        if (flags & NFT_SET_ANONYMOUS) continue;  // bound to a rule: goes with it
        Set s;
        s.name = nftnl_set_get_str(ks.get(), NFTNL_SET_NAME);
        s.what = "set " + s.name + " (installed)";
        s.map = flags & NFT_SET_MAP;
        s.fingerprint = dynamic_set_fingerprint(ks.get());
        s.def = std::move(ks);
        k.skeleton.sets.push_back(std::move(s));
    }
    return k;
}

}  // namespace nfdsr::nft::detail
