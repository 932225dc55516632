// Maglev consistent hashing (Eisenbud et al., NSDI'16, section 3.4), with
// weights. The table maps a flow hash bucket to a backend; all entry nodes
// build the identical table from the identical config, and removing one of
// N backends changes only about 1/N of the buckets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nfdsr::maglev {

struct Backend {
    // Stable identity that drives the permutation. nfdsr uses "address:port"
    // so renaming a backend in the config does not move its flows.
    std::string id;
    // Relative share of the table; 0 = no buckets (drained).
    std::uint32_t weight = 1;
};

bool is_prime(std::uint64_t n);
// Smallest prime >= n.
std::uint64_t next_prime(std::uint64_t n);
// Smallest prime >= 100 * max(backends, 1): ~1% balance error per backend.
std::uint32_t default_table_size(std::size_t backends);

// Builds a table of `table_size` entries, each an index into `backends`.
// The result depends only on the set of (id, weight) pairs, not on their
// order: backends are populated in id order internally. Returns an empty
// table when no backend has weight > 0.
// Throws std::invalid_argument if table_size is not prime, is smaller than
// the number of backends, or ids are not unique.
std::vector<std::uint32_t> build(std::span<const Backend> backends, std::uint32_t table_size);

}  // namespace nfdsr::maglev
