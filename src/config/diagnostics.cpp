#include "config/diagnostics.hpp"

namespace nfdsr::config {

std::string Diagnostic::to_string() const
{
    std::string out = file.empty() ? std::string("<config>") : file;
    if (mark.line > 0)
        out += ':' + std::to_string(mark.line) + ':' + std::to_string(mark.column);
    out += ": ";
    if (!path.empty())
        out += path + ": ";
    out += message;
    return out;
}

static std::string join(const std::vector<Diagnostic>& diagnostics)
{
    std::string out;
    for (const auto& d : diagnostics) {
        if (!out.empty())
            out += '\n';
        out += d.to_string();
    }
    return out;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics))
{
}

const Node* Config::find_node(std::string_view name) const
{
    for (const auto& n : nodes)
        if (n.name == name)
            return &n;
    return nullptr;
}

}  // namespace nfdsr::config
