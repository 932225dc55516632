// bench/maglev_build: time to build one Maglev table (src/maglev) for the
// sizes issue 9 names (1,000 backends at M = 65537) and the default sizes,
// beside the textbook population of the paper (Eisenbud et al., NSDI'16,
// pseudo-code 1: `(offset + next * skip) % M` per probe, the table itself as
// the occupancy test) in the same invocation. Prints a table: median and
// min-max of --runs builds (wall time, steady_clock), and the ratio of the
// medians. Equal weights (the textbook version has none).
//
//   bench/maglev_build [--runs N]   (built as build/bench/maglev_build)
#include "maglev/hash.hpp"
#include "maglev/maglev.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace nfdsr;

namespace {

std::vector<maglev::Backend> backends(std::size_t n)
{
    std::vector<maglev::Backend> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back({"10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1:80", 1});
    return out;
}

// The paper's population loop, with the same permutation hashes as
// src/maglev (so both tables are permutation-equivalent).
std::vector<std::uint32_t> textbook(const std::vector<maglev::Backend>& b, std::uint32_t m)
{
    const std::size_t n = b.size();
    std::vector<std::uint64_t> offset(n), skip(n), next(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        offset[i] = maglev::offset_hash(b[i].id) % m;
        skip[i] = maglev::skip_hash(b[i].id) % (m - 1) + 1;
    }
    std::vector<std::int64_t> entry(m, -1);
    std::uint32_t filled = 0;
    while (true) {
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t c = (offset[i] + next[i] * skip[i]) % m;
            while (entry[c] >= 0) {
                ++next[i];
                c = (offset[i] + next[i] * skip[i]) % m;
            }
            entry[c] = static_cast<std::int64_t>(i);
            ++next[i];
            if (++filled == m)
                return {entry.begin(), entry.end()} ;
        }
    }
}

struct Stats {
    double median, min, max;
};

template <class F>
Stats time_it(int runs, F&& f)
{
    f();  // warm up caches and the allocator
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto start = std::chrono::steady_clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms.front(), ms.back()};
}

}  // namespace

int main(int argc, char** argv)
{
    int runs = 21;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else {
            std::fprintf(stderr, "usage: %s [--runs N]\n", argv[0]);
            return 2;
        }
    }
    struct Case {
        std::size_t backends;
        std::uint32_t m;
    };
    const Case cases[] = {{10, 1009}, {100, 10007}, {1000, 65537}, {1000, 100003}};
    std::printf("Maglev table build, %d runs each: median (min-max) ms\n", runs);
    std::printf("%9s %8s  %-24s %-24s %s\n", "backends", "M", "src/maglev", "textbook (NSDI'16)", "ratio");
    for (const auto& c : cases) {
        const auto b = backends(c.backends);
        volatile std::size_t sink = 0;
        const Stats ours = time_it(runs, [&] { sink = sink + maglev::build(b, c.m).size(); });
        const Stats base = time_it(runs, [&] { sink = sink + textbook(b, c.m).size(); });
        char a[64], t[64];
        std::snprintf(a, sizeof a, "%.3f (%.3f-%.3f)", ours.median, ours.min, ours.max);
        std::snprintf(t, sizeof t, "%.3f (%.3f-%.3f)", base.median, base.min, base.max);
        std::printf("%9zu %8u  %-24s %-24s %.2fx\n", c.backends, c.m, a, t, ours.median / base.median);
    }
    return 0;
}
