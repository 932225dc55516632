// Logging through Boost.Log: one severity-filtered sink on stderr; under
// systemd the journal picks stderr up (with <N> priority prefixes).
#pragma once

#include <boost/log/trivial.hpp>
#include <string_view>

#define NFDSR_LOG(severity) BOOST_LOG_TRIVIAL(severity)

namespace nfdsr::log {

// level: trace|debug|info|warning|error|fatal. Returns false for an unknown
// level (and keeps "info"). journal: prefix lines with syslog priorities.
bool init(std::string_view level, bool journal = false);

}  // namespace nfdsr::log
