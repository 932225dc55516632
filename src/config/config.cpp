#include "config/config.hpp"

namespace nfdsr::config {

const Node* Config::find_node(std::string_view name) const
{
    for (const auto& n : nodes)
        if (n.name == name)
            return &n;
    return nullptr;
}

}  // namespace nfdsr::config
