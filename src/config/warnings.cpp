#include "config/warnings.hpp"

#include "maglev/maglev.hpp"
#include "maglev/memo.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace nfdsr::config {
namespace {

constexpr std::uint64_t buckets_per_backend = 100;  // maglev::default_table_size's factor

// Largest |buckets - ideal| / ideal over the backends that get buckets
// (ideal: the table size times the backend's share of the weights), in
// percent; 0 if none does. A draining backend counts as weight 0, as in
// the table for new connections.
double worst_deviation(const Service& s)
{
    std::vector<maglev::Backend> ids;
    ids.reserve(s.backends.size());
    double weights = 0;
    for (const auto& b : s.backends) {
        const std::uint32_t w = b.drain ? 0 : b.weight;
        ids.push_back({maglev_identity(b.address, b.port), w});
        weights += w;
    }
    const auto table = maglev::memo().build(ids, s.maglev_table_size);
    std::vector<std::uint64_t> buckets(ids.size(), 0);
    for (auto i : table)
        ++buckets[i];
    double worst = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i].weight == 0)
            continue;
        const double ideal = double(s.maglev_table_size) * ids[i].weight / weights;
        worst = std::max(worst, std::fabs(double(buckets[i]) - ideal) / ideal);
    }
    return 100 * worst;
}

}  // namespace

void warn(Config& config)
{
    for (std::size_t i = 0; i < config.services.size(); ++i) {
        const Service& s = config.services[i];
        const std::size_t n = s.backends.size();
        if (n < 2 || s.maglev_table_size >= buckets_per_backend * n)
            continue;  // (one backend gets every bucket; the default size is never below)
        char percent[32];
        std::snprintf(percent, sizeof percent, "%.1f%%", worst_deviation(s));
        config.warnings.add({config.source, s.marks.of("maglev_table_size"),
                             "services[" + std::to_string(i) + "].maglev_table_size",
                             std::to_string(s.maglev_table_size) + " buckets for " + std::to_string(n) +
                                 " backends: shares can differ by up to " + percent +
                                 " (use >= 100 x backends, e.g. the default " +
                                 std::to_string(maglev::default_table_size(n)) + ")"});
    }
}

}  // namespace nfdsr::config
