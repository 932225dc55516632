#include "maglev/maglev.hpp"

#include <algorithm>

namespace nfdsr::maglev {

// Trial division: table sizes are at most a few million, so sqrt(n) is tiny.
bool is_prime(std::uint64_t n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    if (n % 3 == 0)
        return n == 3;
    for (std::uint64_t d = 5; d * d <= n; d += 6)
        if (n % d == 0 || n % (d + 2) == 0)
            return false;
    return true;
}

std::uint64_t next_prime(std::uint64_t n)
{
    if (n <= 2)
        return 2;
    if (n % 2 == 0)
        ++n;
    while (!is_prime(n))
        n += 2;
    return n;
}

std::uint32_t default_table_size(std::size_t backends)
{
    const std::uint64_t n = std::max<std::size_t>(backends, 1);
    return static_cast<std::uint32_t>(next_prime(100 * n));
}

}  // namespace nfdsr::maglev
