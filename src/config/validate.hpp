// Cross-entity checks on a parsed config: uniqueness, references between
// services/backends/nodes, address conflicts, Maglev table sizes. Field-level
// checks (types, ranges, formats) happen while parsing.
#pragma once

#include "config/config.hpp"
#include "config/diagnostics.hpp"

#include <vector>

namespace nfdsr::config {

// Appends problems to `out`; also fills defaults that depend on other
// entities (entry_nodes = all nodes, default maglev_table_size).
void validate(Config& config, std::vector<Diagnostic>& out);

}  // namespace nfdsr::config
