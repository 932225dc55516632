#include "maglev/hash.hpp"
#include "maglev/maglev.hpp"
#include "maglev/memo.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

using namespace nfdsr;

namespace {

std::vector<maglev::Backend> backends(std::size_t n, std::uint32_t weight = 1)
{
    std::vector<maglev::Backend> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back({"10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1:80", weight});
    return out;
}

std::vector<std::size_t> bucket_counts(const std::vector<std::uint32_t>& table, std::size_t n)
{
    std::vector<std::size_t> counts(n, 0);
    for (auto idx : table) {
        REQUIRE(idx < n);
        ++counts[idx];
    }
    return counts;
}

// Table entries as backend ids, so tables built from differently ordered
// inputs can be compared.
std::vector<std::string> as_ids(const std::vector<std::uint32_t>& table, const std::vector<maglev::Backend>& b)
{
    std::vector<std::string> out;
    out.reserve(table.size());
    for (auto idx : table)
        out.push_back(b[idx].id);
    return out;
}

}  // namespace

TEST_CASE("primes")
{
    CHECK_FALSE(maglev::is_prime(0));
    CHECK_FALSE(maglev::is_prime(1));
    CHECK(maglev::is_prime(2));
    CHECK(maglev::is_prime(3));
    CHECK_FALSE(maglev::is_prime(25));
    CHECK(maglev::is_prime(101));
    CHECK(maglev::is_prime(65537));
    CHECK_FALSE(maglev::is_prime(65535));
    CHECK(maglev::next_prime(100) == 101);
    CHECK(maglev::next_prime(101) == 101);
    CHECK(maglev::next_prime(0) == 2);
    CHECK(maglev::next_prime(1048572) == 1048573);
    CHECK(maglev::default_table_size(0) == 101);
    CHECK(maglev::default_table_size(1) == 101);
    CHECK(maglev::default_table_size(3) == 307);
}

TEST_CASE("hashes are fixed across platforms and releases")
{
    // Changing these values moves every flow on a mixed-version cluster.
    CHECK(maglev::fnv1a64("", maglev::offset_basis) == 0xcbf29ce484222325ull);
    CHECK(maglev::fnv1a64("a", maglev::offset_basis) == 0xaf63dc4c8601ec8cull);  // published FNV-1a test vector
    CHECK(maglev::fmix64(0) == 0);
    CHECK(maglev::offset_hash("172.16.2.214:80") != maglev::skip_hash("172.16.2.214:80"));
    // Pinned outputs: any change here is a compatibility break.
    CHECK(maglev::offset_hash("172.16.2.214:80") == 0x917617e6f9d10663ull);
    CHECK(maglev::skip_hash("172.16.2.214:80") == 0x971f80f2410fce87ull);
}

TEST_CASE("golden table: the algorithm itself must not change")
{
    std::vector<maglev::Backend> b = {{"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}, {"10.0.0.3:80", 1}};
    CHECK(maglev::build(b, 13) == std::vector<std::uint32_t>{1, 2, 1, 1, 0, 2, 1, 0, 0, 0, 2, 2, 0});
}

TEST_CASE("deterministic, and independent of backend order")
{
    auto b = backends(17);
    auto t1 = maglev::build(b, 1009);
    auto t2 = maglev::build(b, 1009);
    CHECK(t1 == t2);

    auto shuffled = b;
    std::mt19937 rng(7);
    for (int round = 0; round < 5; ++round) {
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        CHECK(as_ids(maglev::build(shuffled, 1009), shuffled) == as_ids(t1, b));
    }
}

TEST_CASE("single backend fills the table")
{
    auto t = maglev::build(backends(1), 101);
    CHECK(t.size() == 101);
    CHECK(std::all_of(t.begin(), t.end(), [](auto i) { return i == 0; }));
}

TEST_CASE("balance: every backend within 1% of its ideal share for M >= 100 N")
{
    for (std::size_t n : {2u, 3u, 7u, 10u, 50u, 100u}) {
        const auto m = maglev::default_table_size(n);
        auto t = maglev::build(backends(n), m);
        const double ideal = 1.0 / double(n);
        for (auto c : bucket_counts(t, n)) {
            INFO("N=" << n << " M=" << m << " count=" << c);
            CHECK(std::abs(double(c) / double(m) - ideal) <= 0.01);
        }
    }
}

// Fraction of buckets whose backend changes when backend `removed` goes away.
static double moved_fraction(std::size_t n, std::uint32_t m, std::size_t removed)
{
    auto all = backends(n);
    auto before = as_ids(maglev::build(all, m), all);
    auto fewer = all;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(removed));
    auto after = as_ids(maglev::build(fewer, m), fewer);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < m; ++i)
        moved += before[i] != after[i];
    return double(moved) / double(m);
}

// Maglev is not perfectly minimal: besides the removed backend's 1/N, a few
// buckets reshuffle among the survivors, fewer the larger M/N (measured
// excess: ~1-2.6% at M = 100 N, ~0.4-0.7% at M = 1000 N). The 1/N + 1% bound
// therefore holds from M ~ 1000 N; at the default size (100 N) we bound it
// by 1/N + 4% (worst measured: N=10, 3.1%).
TEST_CASE("removing one of N backends moves at most 1/N + 1% of the buckets (M ~ 1000 N)")
{
    for (std::size_t n : {3u, 5u, 10u, 40u, 100u}) {
        const auto m = static_cast<std::uint32_t>(maglev::next_prime(1000 * n));
        for (std::size_t removed : {std::size_t{0}, n / 2, n - 1}) {
            const double moved = moved_fraction(n, m, removed);
            INFO("N=" << n << " M=" << m << " removed=" << removed << " moved=" << moved);
            CHECK(moved <= 1.0 / double(n) + 0.01);
            CHECK(moved >= 1.0 / double(n) - 0.01);  // the removed backend's share does move
        }
    }
}

TEST_CASE("removing one of N backends at the default table size moves at most 1/N + 4%")
{
    for (std::size_t n : {3u, 5u, 10u, 40u, 100u}) {
        const auto m = maglev::default_table_size(n);
        for (std::size_t removed : {std::size_t{0}, n / 2, n - 1}) {
            const double moved = moved_fraction(n, m, removed);
            INFO("N=" << n << " M=" << m << " removed=" << removed << " moved=" << moved);
            CHECK(moved <= 1.0 / double(n) + 0.04);
        }
    }
}

TEST_CASE("draining (weight 0) behaves like removal and gets no buckets")
{
    auto b = backends(4);
    b[2].weight = 0;
    auto counts = bucket_counts(maglev::build(b, 401), b.size());
    CHECK(counts[2] == 0);
    CHECK(counts[0] + counts[1] + counts[3] == 401);

    for (auto& x : b)
        x.weight = 0;
    CHECK(maglev::build(b, 401).empty());
}

TEST_CASE("weights are proportional")
{
    std::vector<maglev::Backend> b = {{"a:1", 1}, {"b:1", 2}, {"c:1", 3}, {"d:1", 4}};
    const std::uint32_t m = 10007;
    auto counts = bucket_counts(maglev::build(b, m), b.size());
    for (std::size_t i = 0; i < b.size(); ++i) {
        const double ideal = double(b[i].weight) / 10.0;
        INFO("backend " << i << " share " << double(counts[i]) / m);
        CHECK(std::abs(double(counts[i]) / m - ideal) <= 0.01);
    }
}

TEST_CASE("invalid input is rejected")
{
    auto b = backends(3);
    CHECK_THROWS_AS(maglev::build(b, 100), std::invalid_argument);
    CHECK_THROWS_AS(maglev::build(b, 2), std::invalid_argument);
    b[1].id = b[0].id;
    CHECK_THROWS_AS(maglev::build(b, 101), std::invalid_argument);
}

TEST_CASE("1000 backends at M = 65537: every bucket filled, shares within 1 bucket of each other's ideal")
{
    // (its build time is measured by bench/maglev_build, not asserted here)
    auto b = backends(1000);
    auto t = maglev::build(b, 65537);
    REQUIRE(t.size() == 65537);
    const auto counts = bucket_counts(t, b.size());
    const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    // 65537 / 1000 = 65.5: Maglev's round robin gives every backend 65 or 66 (+ a few)
    CHECK(*lo >= 60);
    CHECK(*hi <= 70);
}

TEST_CASE("memo: the same tables as build, computed once per distinct input")
{
    maglev::Memo memo;
    auto a = backends(10), b = backends(7);
    const std::uint32_t ma = 1009, mb = 701;
    memo.next_round();
    CHECK(memo.build(a, ma) == maglev::build(a, ma));
    CHECK(memo.build(b, mb) == maglev::build(b, mb));
    CHECK(memo.build(a, ma) == maglev::build(a, ma));
    CHECK(memo.stats().built == 2);
    CHECK(memo.stats().reused == 1);

    // a changed weight, another size, another order: each is a new table
    // (indexes refer to the caller's order)
    auto a2 = a;
    a2[3].weight = 0;
    CHECK(memo.build(a2, ma) == maglev::build(a2, ma));
    CHECK(memo.build(a, 1013) == maglev::build(a, 1013));
    auto rev = a;
    std::reverse(rev.begin(), rev.end());
    CHECK(memo.build(rev, ma) == maglev::build(rev, ma));
    CHECK(memo.stats().built == 5);

    // bad input throws as build does, and leaves nothing behind
    auto dup = a;
    dup[1].id = dup[0].id;
    CHECK_THROWS_AS(memo.build(dup, ma), std::invalid_argument);
    CHECK_THROWS_AS(memo.build(a, 1000), std::invalid_argument);
    CHECK(memo.stats().held == 5);
}

TEST_CASE("memo: tables unused for two rounds are dropped")
{
    maglev::Memo memo;
    auto a = backends(5), b = backends(6);
    memo.next_round();
    memo.build(a, 503);
    memo.build(b, 601);
    memo.next_round();  // round 2: only a used
    memo.build(a, 503);
    CHECK(memo.stats().held == 2);
    memo.next_round();  // round 3: b last used in round 1: dropped
    CHECK(memo.stats().held == 1);
    memo.build(b, 601);
    CHECK(memo.stats().built == 3);
    CHECK(memo.stats().reused == 1);
}
