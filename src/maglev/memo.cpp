#include "maglev/memo.hpp"

namespace nfdsr::maglev {

std::vector<std::uint32_t> Memo::build(std::span<const Backend> backends, std::uint32_t table_size)
{
    // backend indexes in the table refer to the caller's order: it is part of the key
    std::string key = std::to_string(table_size);
    for (const auto& b : backends)
        key.append("\n").append(b.id).append(" ").append(std::to_string(b.weight));
    {
        std::lock_guard lock(mu_);
        if (auto it = tables_.find(key); it != tables_.end()) {
            it->second.round = round_;
            ++reused_;
            return it->second.table;
        }
    }
    auto table = maglev::build(backends, table_size);  // throws: nothing kept
    std::lock_guard lock(mu_);
    ++built_;
    tables_.insert_or_assign(std::move(key), Entry{table, round_});
    return table;
}

void Memo::next_round()
{
    std::lock_guard lock(mu_);
    ++round_;
    std::erase_if(tables_, [this](const auto& kv) { return kv.second.round + 1 < round_; });
}

Memo::Stats Memo::stats() const
{
    std::lock_guard lock(mu_);
    return Stats{built_, reused_, tables_.size()};
}

Memo& memo()
{
    static Memo m;
    return m;
}

}  // namespace nfdsr::maglev
