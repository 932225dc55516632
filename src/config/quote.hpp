// Config values echoed in messages ("found 'xyz', expected ..."): clipped
// and escaped, so a 10 MB scalar or binary garbage prints as one short line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace nfdsr::config {

// Bytes of a value echoed before it is clipped.
inline constexpr std::size_t echo_bytes = 64;

// `value` for a message: bytes below 0x20, 0x7f and above, and '\' are
// written as \xNN (or \\); past echo_bytes it is cut and followed by
// "... (N bytes)" (N: the whole value's size). E.g. "a\x01b", or
// "aaaa...a... (1048576 bytes)".
std::string clip(std::string_view value);

// clip(value) in single quotes: "'a\x01b'", "'aaaa...a'... (1048576 bytes)".
std::string quote(std::string_view value);

}  // namespace nfdsr::config
