// Rulesets (model.hpp) -> nftables batch messages.
//
// emit_replace: the whole table, deleted and created in one transaction (a
// node without the table, or a table or base chain defined differently).
//
// emit_update: from the installed ruleset to the wanted one, touching only
// what differs, in one transaction: set and map elements are added and
// deleted one by one (a health flip moves only the flipped backend's Maglev
// buckets), chains whose rules changed are flushed and refilled, new objects
// are created and vanished ones deleted. Unchanged chains keep their rules
// and counters. Returns false when the difference cannot be expressed as an
// update (the table or a base chain changed its definition): replace instead.
//
// emit_rebuild: from what the kernel holds (the skeleton of inventory.hpp,
// read_table) to the wanted ruleset: the table and its base chains stay (and
// with them their netfilter hooks), every rule and set is written again.
// Returns false if a base chain is defined differently: replace instead.
#pragma once

#include "nft/batch.hpp"
#include "nft/model.hpp"

namespace nfdsr::nft::detail {

void emit_replace(const Ruleset& want, Batch& batch);
bool emit_update(const Ruleset& installed, const Ruleset& want, Batch& batch);
bool emit_rebuild(const Ruleset& installed, const Ruleset& want, Batch& batch);
void emit_delete(Batch& batch);

}  // namespace nfdsr::nft::detail
