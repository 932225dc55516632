// The desired content of table ip nfdsr as objects (table, sets with their
// elements, chains with their rules), built from a NodePlan by ruleset.cpp.
// transaction.cpp turns one model into a batch that replaces the table, or
// two models (installed, wanted) into a batch that changes only what differs.
//
// Each object carries a fingerprint: the netlink payload that creates it
// (for a set: without its elements). Equal fingerprints mean the kernel
// object would be identical, so it is left alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nft/nftnl_ptr.hpp"

namespace nfdsr::nft::detail {

using Bytes = std::vector<std::uint8_t>;

struct Element {
    Bytes key;
    std::string chain;  // verdict maps: "goto <chain>"; plain sets: empty
    Bytes data;         // data maps (not verdict maps): the element's value; else empty
};

struct Set {
    std::string name;
    std::string what;  // "map x (comment)", for error messages
    bool map = false;
    SetPtr def;        // the set without elements (name, types, flags, id, userdata)
    Bytes fingerprint;
    std::vector<Element> elems;
};

struct Rule {
    RulePtr rule;
    std::string what;               // "rule in chain x ("comment")"
    Bytes fingerprint;
    std::vector<std::string> sets;  // sets/maps the rule looks up (by name)
};

struct Chain {
    std::string name;
    std::string what;
    bool base = false;  // attached to a hook
    ChainPtr def;
    Bytes fingerprint;
    std::vector<Rule> rules;
};

struct Ruleset {
    TablePtr table;  // with its comment
    Bytes table_fingerprint;
    std::vector<Set> sets;      // creation order = listing order
    std::vector<Chain> chains;  // creation order = listing order
};

// The netlink payload that would create `t`/`s`/`c`/`r` (see above).
Bytes fingerprint(const nftnl_table* t);
Bytes fingerprint(const nftnl_set* s);
Bytes fingerprint(const nftnl_chain* c);
Bytes fingerprint(const nftnl_rule* r);
// Names of the sets `r` looks up.
std::vector<std::string> looked_up_sets(const nftnl_rule* r);

}  // namespace nfdsr::nft::detail
