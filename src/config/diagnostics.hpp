// Config errors: each names file:line:column, the field path, what was found
// and what was expected. Parsing collects all of them before failing.
#pragma once

#include "config/config.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace nfdsr::config {

struct Diagnostic {
    std::string file;
    Mark mark;
    std::string path;     // e.g. "services[0].backends[1].port"
    std::string message;  // e.g. "found 70000, expected a port 1..65535"

    // "file:line:column: path: message"
    std::string to_string() const;
};

class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<Diagnostic> diagnostics);
    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

private:
    std::vector<Diagnostic> diagnostics_;
};

}  // namespace nfdsr::config
