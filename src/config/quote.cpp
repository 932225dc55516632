#include "config/quote.hpp"

namespace nfdsr::config {
namespace {

// The first echo_bytes of `value`, escaped.
std::string escaped_head(std::string_view value)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : value.substr(0, echo_bytes)) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string clipped_size(std::string_view value)
{
    return value.size() > echo_bytes ? "... (" + std::to_string(value.size()) + " bytes)" : "";
}

}  // namespace

std::string clip(std::string_view value)
{
    return escaped_head(value) + clipped_size(value);
}

std::string quote(std::string_view value)
{
    return "'" + escaped_head(value) + "'" + clipped_size(value);
}

}  // namespace nfdsr::config
