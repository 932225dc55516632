#include "config/diagnostics.hpp"

namespace nfdsr::config {

std::string Diagnostic::to_string(std::string_view severity) const
{
    std::string out = file.empty() ? std::string("<config>") : file;
    if (mark.line > 0)
        out += ':' + std::to_string(mark.line) + ':' + std::to_string(mark.column);
    out += ": ";
    if (!severity.empty())
        out += std::string(severity) + ": ";
    if (!path.empty())
        out += path + ": ";
    out += message;
    return out;
}

void Diagnostics::add(Diagnostic d)
{
    if (kept_.size() < keep_)
        kept_.push_back(std::move(d));
    ++total_;
}

std::string Diagnostics::to_string() const
{
    std::string out;
    for (const auto& d : kept_) {
        if (!out.empty())
            out += '\n';
        out += d.to_string(severity_);
    }
    const std::size_t more = total_ - kept_.size();
    if (more > 0) {
        const std::string noun = severity_.empty() ? "error" : std::string(severity_);
        out += (out.empty() ? "" : "\n") + ("... and " + std::to_string(more) + " more " + noun) +
               (more == 1 ? "" : "s");
    }
    return out;
}

ConfigError::ConfigError(Diagnostics errors) : std::runtime_error(errors.to_string()), errors_(std::move(errors)) {}

}  // namespace nfdsr::config
