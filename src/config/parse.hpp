// Load and validate the cluster config. All problems are collected and
// reported together as one ConfigError (see diagnostics.hpp).
#pragma once

#include "config/config.hpp"
#include "config/diagnostics.hpp"

#include <string>
#include <string_view>

namespace nfdsr::config {

// Throws ConfigError (also when the file cannot be read).
Config parse_file(const std::string& path);

// `source` is the name used in messages (normally the file name).
Config parse_text(std::string_view text, const std::string& source);

}  // namespace nfdsr::config
