// Strict scalar parsers for config text. We do not use yaml-cpp's as<int>():
// it accepts octal for a leading 0 ("010" == 8) and silently wraps, which is
// wrong for ports and marks. Each returns nullopt on anything malformed.
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nfdsr::config {

// Decimal, or hexadecimal with a 0x prefix; no sign, no spaces.
std::optional<std::uint64_t> parse_unsigned(std::string_view text);

// Dotted quad, exactly four decimal parts 0..255, no leading zeros.
std::optional<Ipv4> parse_ipv4(std::string_view text);

// "a.b.c.d/n", n 0..32. Host bits are not checked here (see cidr_has_host_bits).
std::optional<Cidr> parse_cidr(std::string_view text);
bool cidr_has_host_bits(const Cidr& cidr);
bool cidr_contains(const Cidr& cidr, Ipv4 addr);

std::string format_ipv4(Ipv4 addr);

}  // namespace nfdsr::config
