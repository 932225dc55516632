// Cross-entity checks on a parsed config: uniqueness, references between
// services/backends/nodes, address conflicts, Maglev table sizes. Field-level
// checks (types, ranges, formats) happen while parsing.
#pragma once

#include "config/config.hpp"
#include "config/diagnostics.hpp"

namespace nfdsr::config {

// Adds problems to `errors`; also fills defaults that depend on other
// entities (entry_nodes = all nodes, default maglev_table_size).
void validate(Config& config, Diagnostics& errors);

}  // namespace nfdsr::config
