#include "config/config.hpp"

#include "config/scalars.hpp"

namespace nfdsr::config {

const Node* Config::find_node(std::string_view name) const
{
    for (const auto& n : nodes)
        if (n.name == name)
            return &n;
    return nullptr;
}

std::string maglev_identity(Ipv4 address, std::uint16_t port)
{
    return format_ipv4(address) + ":" + std::to_string(port);
}

}  // namespace nfdsr::config
