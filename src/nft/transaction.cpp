#include "nft/transaction.hpp"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include <map>
#include <set>
#include <string>

#include "nft/nft_apply.hpp"

namespace nfdsr::nft::detail {
namespace {

TablePtr bare_table() {
    TablePtr t(nftnl_table_alloc());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTable);
    return t;
}

SetPtr bare_set(const Set& s) {
    SetPtr n(nftnl_set_alloc());
    nftnl_set_set_str(n.get(), NFTNL_SET_TABLE, kTable);
    nftnl_set_set_str(n.get(), NFTNL_SET_NAME, s.name.c_str());
    nftnl_set_set_u32(n.get(), NFTNL_SET_FAMILY, NFPROTO_IPV4);
    if (nftnl_set_is_set(s.def.get(), NFTNL_SET_ID))
        nftnl_set_set_u32(n.get(), NFTNL_SET_ID, nftnl_set_get_u32(s.def.get(), NFTNL_SET_ID));
    return n;
}

ChainPtr bare_chain(const std::string& name) {
    ChainPtr c(nftnl_chain_alloc());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTable);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
    return c;
}

// Elements of `s`, NEWSETELEM (with data) or DELSETELEM (keys only), chunked
// so that one message's element list (a nested attribute with a 16-bit
// length) stays well below 64 KiB even with 255-byte chain names.
void emit_elems(Batch& batch, std::uint16_t type, const Set& s, const std::vector<const Element*>& elems) {
    const bool add = type == NFT_MSG_NEWSETELEM;
    std::size_t i = 0;
    while (i < elems.size()) {
        SetPtr msg = bare_set(s);
        std::size_t bytes = 0;
        const std::size_t first = i;
        for (; i < elems.size() && bytes < 48 * 1024; ++i) {
            const Element& el = *elems[i];
            nftnl_set_elem* e = nftnl_set_elem_alloc();
            nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, el.key.data(), static_cast<std::uint32_t>(el.key.size()));
            if (add && s.map && !el.data.empty()) {
                nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, el.data.data(), static_cast<std::uint32_t>(el.data.size()));
            } else if (add && s.map) {
                nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<std::uint32_t>(NFT_GOTO));
                nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, el.chain.c_str());
            }
            nftnl_set_elem_add(msg.get(), e);
            bytes += 64 + el.key.size() + el.chain.size() + el.data.size();
        }
        batch.add_set_elems(type, add ? NLM_F_CREATE | NLM_F_EXCL : 0, msg.get(),
                            std::string(add ? "adding" : "deleting") + " elements " + std::to_string(first) +
                                ".." + std::to_string(i - 1) + " of " + s.what);
    }
}

void emit_all_elems(Batch& batch, const Set& s) {
    std::vector<const Element*> all;
    all.reserve(s.elems.size());
    for (const auto& e : s.elems) all.push_back(&e);
    emit_elems(batch, NFT_MSG_NEWSETELEM, s, all);
}

void emit_rules(Batch& batch, const Chain& c) {
    for (const auto& r : c.rules) batch.add_rule(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, r.rule.get(), r.what);
}

template <class T>
std::map<std::string, const T*> by_name(const std::vector<T>& v) {
    std::map<std::string, const T*> m;
    for (const auto& x : v) m[x.name] = &x;
    return m;
}

bool same_rules(const Chain& a, const Chain& b) {
    if (a.rules.size() != b.rules.size()) return false;
    for (std::size_t i = 0; i < a.rules.size(); ++i)
        if (a.rules[i].fingerprint != b.rules[i].fingerprint) return false;
    return true;
}

}  // namespace

// The batch is: NEWTABLE nfdsr (no NLM_F_EXCL: creates it if absent, no-op
// otherwise), DELTABLE nfdsr (now always succeeds, removing the old chains,
// sets, rules and counters), NEWTABLE nfdsr and everything in it. nf_tables
// applies a batch as one generation change: rules see either the complete
// old table or the complete new one, never a half-built state. But the base
// chains are new hook registrations, and a packet inside the hooks at the
// moment of the switch can miss both the old and the new chain (see
// Table::prepare_rebuild): used only when the table is absent or defined
// differently. If any message fails the kernel aborts the whole batch, so the old
// table stays exactly as it was. (The first NEWTABLE is what makes DELTABLE
// safe on a node that has no table yet, like `nft -f` files that begin with
// "table ip nfdsr; delete table ip nfdsr".)
void emit_replace(const Ruleset& want, Batch& batch) {
    TablePtr t = bare_table();
    batch.add_table(NFT_MSG_NEWTABLE, NLM_F_CREATE, t.get(), "table ip nfdsr (create if absent)");
    batch.add_table(NFT_MSG_DELTABLE, 0, t.get(), "table ip nfdsr (delete old ruleset)");
    batch.add_table(NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, want.table.get(), "table ip nfdsr");
    for (const auto& s : want.sets) batch.add_set(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, s.def.get(), s.what);
    for (const auto& c : want.chains)
        batch.add_chain(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, c.def.get(), c.what);
    for (const auto& s : want.sets) emit_all_elems(batch, s);
    for (const auto& c : want.chains) emit_rules(batch, c);
}

// Order matters: the kernel checks references message by message.
//  1. flush the rules of chains that change, are recreated or go away
//     (releases their references to sets);
//  2. delete elements that go away or change (releases their goto chains);
//  3. delete sets that go away or are redefined;
//  4. delete chains that go away or are redefined;
//  5. create chains, 6. create sets, 7. add elements, 8. add rules.
// Returns false if a base chain would have to change.
static bool emit_changes(const Ruleset& installed, const Ruleset& want, Batch& batch) {
    const auto old_sets = by_name(installed.sets);
    const auto old_chains = by_name(installed.chains);
    const auto new_sets = by_name(want.sets);
    const auto new_chains = by_name(want.chains);

    std::set<std::string> recreate_chains, gone_chains, fresh_chains, refill_chains;
    for (const auto& c : want.chains) {
        auto it = old_chains.find(c.name);
        if (it == old_chains.end()) {
            fresh_chains.insert(c.name);
        } else if (it->second->fingerprint != c.fingerprint) {
            if (c.base || it->second->base) return false;  // hooks and priorities are fixed
            recreate_chains.insert(c.name);
        }
    }
    for (const auto& c : installed.chains)
        if (!new_chains.count(c.name)) gone_chains.insert(c.name);

    std::set<std::string> redefined_sets, gone_sets, fresh_sets;
    for (const auto& s : want.sets) {
        auto it = old_sets.find(s.name);
        if (it == old_sets.end())
            fresh_sets.insert(s.name);
        else if (it->second->fingerprint != s.fingerprint)
            redefined_sets.insert(s.name);
    }
    for (const auto& s : installed.sets)
        if (!new_sets.count(s.name)) gone_sets.insert(s.name);

    // Chains kept as objects whose rules must be rewritten: different rules,
    // or a rule bound to a set that is recreated (it would keep the old one).
    for (const auto& c : want.chains) {
        if (fresh_chains.count(c.name) || recreate_chains.count(c.name)) continue;
        const Chain& old = *old_chains.at(c.name);
        bool refill = !same_rules(old, c);
        for (const auto& r : old.rules)
            for (const auto& s : r.sets) refill = refill || redefined_sets.count(s) || gone_sets.count(s);
        if (refill) refill_chains.insert(c.name);
    }

    // 1. flush rules
    for (const auto& c : installed.chains) {
        if (c.rules.empty()) continue;
        if (!(refill_chains.count(c.name) || recreate_chains.count(c.name) || gone_chains.count(c.name))) continue;
        RulePtr r(nftnl_rule_alloc());
        nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
        nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, c.name.c_str());
        nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
        batch.add_rule(NFT_MSG_DELRULE, 0, r.get(), "flushing the rules of chain " + c.name);
    }
    // 2. element differences of the sets that stay
    std::map<std::string, std::vector<const Element*>> additions;
    for (const auto& s : want.sets) {
        if (fresh_sets.count(s.name) || redefined_sets.count(s.name)) continue;
        const Set& old = *old_sets.at(s.name);
        auto moved = [&](const Element* e) { return s.map && recreate_chains.count(e->chain); };
        std::map<Bytes, const Element*> now;
        for (const auto& e : s.elems) now[e.key] = &e;
        std::vector<const Element*> dels;
        std::set<Bytes> kept;
        for (const auto& e : old.elems) {
            auto it = now.find(e.key);
            if (it == now.end() || it->second->chain != e.chain || it->second->data != e.data || moved(&e))
                dels.push_back(&e);
            else
                kept.insert(e.key);
        }
        for (const auto& e : s.elems)
            if (!kept.count(e.key)) additions[s.name].push_back(&e);
        if (!dels.empty()) emit_elems(batch, NFT_MSG_DELSETELEM, old, dels);
    }
    // 3. sets
    for (const auto& s : installed.sets)
        if (gone_sets.count(s.name) || redefined_sets.count(s.name))
            batch.add_set(NFT_MSG_DELSET, 0, bare_set(s).get(), "deleting " + s.what);
    // 4. chains
    for (const auto& c : installed.chains)
        if (gone_chains.count(c.name) || recreate_chains.count(c.name))
            batch.add_chain(NFT_MSG_DELCHAIN, 0, bare_chain(c.name).get(), "deleting " + c.what);
    // 5. chains
    for (const auto& c : want.chains)
        if (fresh_chains.count(c.name) || recreate_chains.count(c.name))
            batch.add_chain(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, c.def.get(), c.what);
    // 6. sets, 7. elements
    for (const auto& s : want.sets)
        if (fresh_sets.count(s.name) || redefined_sets.count(s.name))
            batch.add_set(NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, s.def.get(), s.what);
    for (const auto& s : want.sets) {
        if (fresh_sets.count(s.name) || redefined_sets.count(s.name))
            emit_all_elems(batch, s);
        else if (auto it = additions.find(s.name); it != additions.end())
            emit_elems(batch, NFT_MSG_NEWSETELEM, s, it->second);
    }
    // 8. rules
    for (const auto& c : want.chains)
        if (fresh_chains.count(c.name) || recreate_chains.count(c.name) || refill_chains.count(c.name))
            emit_rules(batch, c);
    return true;
}

// NEWTABLE without NLM_F_EXCL on the existing table changes nothing but its
// flags: flags 0 wakes a table someone made dormant. (Its comment stays as
// it is; the builder only ever writes one.)
bool emit_rebuild(const Ruleset& installed, const Ruleset& want, Batch& batch) {
    TablePtr t = bare_table();
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FLAGS, 0);
    batch.add_table(NFT_MSG_NEWTABLE, NLM_F_CREATE, t.get(), "table ip nfdsr (active, not dormant)");
    return emit_changes(installed, want, batch);
}

bool emit_update(const Ruleset& installed, const Ruleset& want, Batch& batch) {
    return installed.table_fingerprint == want.table_fingerprint && emit_changes(installed, want, batch);
}

void emit_delete(Batch& batch) {
    TablePtr t = bare_table();
    batch.add_table(NFT_MSG_NEWTABLE, NLM_F_CREATE, t.get(), "table ip nfdsr (create if absent)");
    batch.add_table(NFT_MSG_DELTABLE, 0, t.get(), "table ip nfdsr (delete)");
}

}  // namespace nfdsr::nft::detail
