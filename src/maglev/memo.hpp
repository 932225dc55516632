// Maglev tables already built, reused while a service's backends do not
// change: a reload or health change recomputes only the services whose
// backends (identity, weight, order) or table size changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "maglev/maglev.hpp"

namespace nfdsr::maglev {

class Memo {
public:
    // Exactly maglev::build(backends, table_size) (same result, same
    // exceptions), from memory when the same input was built before.
    std::vector<std::uint32_t> build(std::span<const Backend> backends, std::uint32_t table_size);
    // Starts a round (one plan derivation): tables not used in this round or
    // the previous one are dropped, so memory stays about two plans' tables.
    void next_round();

    struct Stats {
        std::uint64_t built = 0;   // tables computed
        std::uint64_t reused = 0;  // tables taken from memory
        std::size_t held = 0;      // tables in memory now
    };
    Stats stats() const;

private:
    struct Entry {
        std::vector<std::uint32_t> table;
        std::uint64_t round = 0;  // last round it was used in
    };
    mutable std::mutex mu_;
    std::unordered_map<std::string, Entry> tables_;  // key: size, then "id weight" per backend in order
    std::uint64_t round_ = 0;
    std::uint64_t built_ = 0, reused_ = 0;
};

// The process-wide memo that plan::derive() uses.
Memo& memo();

}  // namespace nfdsr::maglev
