// Rulesets (model.hpp) -> nftables batch messages.
//
// emit_replace: the whole table, replaced in one transaction (first install,
// adoption after a restart, resync after an error).
//
// emit_update: from the installed ruleset to the wanted one, touching only
// what differs, in one transaction: set and map elements are added and
// deleted one by one (a health flip moves only the flipped backend's Maglev
// buckets), chains whose rules changed are flushed and refilled, new objects
// are created and vanished ones deleted. Unchanged chains keep their rules
// and counters. Returns false when the difference cannot be expressed as an
// update (the table or a base chain changed its definition): replace instead.
#pragma once

#include "nft/batch.hpp"
#include "nft/model.hpp"

namespace nfdsr::nft::detail {

void emit_replace(const Ruleset& want, Batch& batch);
bool emit_update(const Ruleset& installed, const Ruleset& want, Batch& batch);
void emit_delete(Batch& batch);

}  // namespace nfdsr::nft::detail
