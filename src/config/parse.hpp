// Load and validate the cluster config. All problems are collected and
// reported together as one ConfigError (see diagnostics.hpp).
#pragma once

#include "config/config.hpp"
#include "config/diagnostics.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace nfdsr::config {

// What a config may hold (docs/config.md, "Limits"), so that checking any
// file takes bounded memory and time. Each limit is checked before the work
// it bounds: the file size while reading (never more than file_bytes + 1
// bytes are read), the YAML value count and the counts of nodes, services
// and backends in one streaming pass over the YAML events before any node
// tree is built (again on the tree, where aliases can repeat a list), the
// sum of Maglev table sizes before anything is derived. Past a limit the
// config is rejected with the field, its line and the limit.
struct Limits {
    std::uint64_t file_bytes = 64ull << 20;  // bytes of YAML text (64 MiB)
    // YAML values: scalars, nulls, lists and mappings, keys included, each
    // alias counted as the size of what it repeats (so a small file whose
    // aliases expand to millions of values is caught before they are).
    std::uint64_t yaml_values = 4ull << 20;
    std::uint64_t nodes = 5000;                    // nodes[] (Kubernetes' largest supported cluster)
    std::uint64_t services = 50000;                // services[]
    std::uint64_t backends_per_service = 10000;    // services[].backends[] (10 EndpointSlices of 1000)
    std::uint64_t backends_total = 250000;         // over all services
    std::uint64_t maglev_buckets_total = 64ull << 20;  // sum of maglev_table_size over all services
    // Errors (and warnings) kept in full and printed; past it they are only
    // counted ("... and N more errors"), so any file yields a screenful.
    std::uint64_t diagnostics = Diagnostics::default_keep;
};

// Throws ConfigError (also when the file cannot be read or is too large).
// A valid config carries its warnings (warnings.hpp) in Config::warnings.
Config parse_file(const std::string& path, const Limits& limits = {});

// `source` is the name used in messages (normally the file name).
Config parse_text(std::string_view text, const std::string& source, const Limits& limits = {});

}  // namespace nfdsr::config
