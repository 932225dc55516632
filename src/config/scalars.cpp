#include "config/scalars.hpp"

#include <arpa/inet.h>
#include <charconv>

namespace nfdsr::config {

std::optional<std::uint64_t> parse_unsigned(std::string_view text)
{
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty())
        return std::nullopt;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<Ipv4> parse_ipv4(std::string_view text)
{
    std::uint32_t host = 0;
    for (int part_index = 0; part_index < 4; ++part_index) {
        const auto dot = text.find('.');
        // Parts 0-2 end at a dot, the last one at the end of the text.
        if ((part_index < 3) == (dot == std::string_view::npos))
            return std::nullopt;
        std::string_view part = text.substr(0, dot);
        if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
            return std::nullopt;
        unsigned value = 0;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value, 10);
        if (ec != std::errc() || end != part.data() + part.size() || value > 255)
            return std::nullopt;
        host = (host << 8) | value;
        text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
    }
    return Ipv4{htonl(host)};
}

std::optional<Cidr> parse_cidr(std::string_view text)
{
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return std::nullopt;
    auto addr = parse_ipv4(text.substr(0, slash));
    std::string_view len = text.substr(slash + 1);
    if (!addr || len.empty() || len.size() > 2 || (len.size() > 1 && len[0] == '0'))
        return std::nullopt;
    auto prefix = parse_unsigned(len);
    if (!prefix || *prefix > 32)
        return std::nullopt;
    return Cidr{*addr, static_cast<std::uint8_t>(*prefix)};
}

static std::uint32_t prefix_mask(std::uint8_t prefix)
{
    return prefix == 0 ? 0u : ~0u << (32 - prefix);
}

bool cidr_has_host_bits(const Cidr& cidr)
{
    return (ntohl(cidr.network.be) & ~prefix_mask(cidr.prefix)) != 0;
}

bool cidr_contains(const Cidr& cidr, Ipv4 addr)
{
    std::uint32_t mask = prefix_mask(cidr.prefix);
    return (ntohl(addr.be) & mask) == (ntohl(cidr.network.be) & mask);
}

std::string format_ipv4(Ipv4 addr)
{
    char buf[INET_ADDRSTRLEN];
    in_addr a{addr.be};
    return inet_ntop(AF_INET, &a, buf, sizeof buf) ? buf : "?";
}

}  // namespace nfdsr::config
