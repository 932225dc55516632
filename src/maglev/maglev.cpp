#include "maglev/maglev.hpp"

#include "maglev/hash.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace nfdsr::maglev {
namespace {

// Per-backend population state; all allocated once up front.
struct Cursor {
    std::uint32_t backend;  // index into the caller's vector
    std::uint32_t weight;
    std::uint32_t position;  // next candidate slot of this backend's permutation
    std::uint32_t skip;
    std::uint64_t credit;  // weighted round-robin: takes a turn per max_weight credit
};

std::vector<Cursor> cursors_in_id_order(std::span<const Backend> backends, std::uint32_t m)
{
    std::vector<std::uint32_t> order(backends.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return backends[a].id < backends[b].id; });
    for (std::size_t i = 1; i < order.size(); ++i)
        if (backends[order[i]].id == backends[order[i - 1]].id)
            throw std::invalid_argument("maglev: duplicate backend id '" + backends[order[i]].id + "'");

    std::vector<Cursor> cursors;
    cursors.reserve(order.size());
    for (std::uint32_t index : order) {
        const Backend& b = backends[index];
        if (b.weight == 0)
            continue;
        Cursor c{};
        c.backend = index;
        c.weight = b.weight;
        c.position = static_cast<std::uint32_t>(offset_hash(b.id) % m);
        c.skip = static_cast<std::uint32_t>(skip_hash(b.id) % (m - 1) + 1);
        cursors.push_back(c);
    }
    return cursors;
}

}  // namespace

std::vector<std::uint32_t> build(std::span<const Backend> backends, std::uint32_t table_size)
{
    const std::uint32_t m = table_size;
    if (!is_prime(m))
        throw std::invalid_argument("maglev: table size " + std::to_string(m) + " is not prime");
    // Positions advance as pos + skip < 2m, which must not wrap a uint32.
    if (m > (1u << 31))
        throw std::invalid_argument("maglev: table size " + std::to_string(m) + " is too large");
    if (m < backends.size())
        throw std::invalid_argument("maglev: table size " + std::to_string(m) + " is smaller than the number of backends");

    std::vector<Cursor> cursors = cursors_in_id_order(backends, m);
    if (cursors.empty())
        return {};

    std::uint32_t max_weight = 0;
    for (const auto& c : cursors)
        max_weight = std::max(max_weight, c.weight);

    std::vector<std::uint32_t> table(m);
    // Occupancy lives in a bitmap (8 KiB at M = 65537, stays in L1) rather
    // than in the table itself: most probes of a nearly full table hit taken
    // slots, and this keeps them cheap.
    std::vector<std::uint64_t> taken((m + 63) / 64, 0);
    auto is_taken = [&](std::uint32_t slot) { return (taken[slot >> 6] >> (slot & 63)) & 1u; };
    std::uint32_t filled = 0;
    // Each round every backend earns `weight` credit and takes one turn per
    // `max_weight` credit, so turns (and thus buckets) are proportional to
    // weight; with equal weights this is the paper's plain round robin.
    // Walking a permutation is `position += skip (mod m)`, which equals the
    // paper's (offset + j * skip) mod m without a multiplication per step.
    while (true) {
        for (auto& c : cursors) {
            c.credit += c.weight;
            if (c.credit < max_weight)
                continue;
            c.credit -= max_weight;
            // Locals keep the probe loop in registers (no aliasing with the table).
            std::uint32_t pos = c.position;
            const std::uint32_t skip = c.skip;
            while (is_taken(pos)) {
                pos += skip;
                pos = pos >= m ? pos - m : pos;
            }
            taken[pos >> 6] |= std::uint64_t{1} << (pos & 63);
            table[pos] = c.backend;
            c.position = pos;
            if (++filled == m)
                return table;
        }
    }
}

}  // namespace nfdsr::maglev
