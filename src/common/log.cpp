#include "common/log.hpp"

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/utility/setup/console.hpp>
#include <boost/log/utility/setup/common_attributes.hpp>
#include <boost/log/support/date_time.hpp>
#include <iostream>
#include <string>

namespace nfdsr::log {
namespace bl = boost::log;

static int syslog_priority(bl::trivial::severity_level s)
{
    switch (s) {
    case bl::trivial::trace:
    case bl::trivial::debug: return 7;
    case bl::trivial::info: return 6;
    case bl::trivial::warning: return 4;
    case bl::trivial::error: return 3;
    case bl::trivial::fatal: return 2;
    }
    return 6;
}

bool init(std::string_view level, bool journal)
{
    bl::trivial::severity_level min = bl::trivial::info;
    bool known = bl::trivial::from_string(level.data(), level.size(), min);
    if (!known)
        min = bl::trivial::info;

    bl::core::get()->remove_all_sinks();
    auto sink = bl::add_console_log(std::clog);
    if (journal) {
        sink->set_formatter([](const bl::record_view& rec, bl::formatting_ostream& out) {
            // The journal reads stderr line by line: every line of a
            // multi-line message (e.g. all config errors) gets the prefix.
            auto sev = rec[bl::trivial::severity];
            const std::string prefix = '<' + std::to_string(syslog_priority(sev ? *sev : bl::trivial::info)) + '>';
            auto msg = rec[bl::expressions::smessage];
            const std::string text = msg ? std::string(*msg) : std::string();
            out << prefix;
            for (char c : text) {
                out << c;
                if (c == '\n')
                    out << prefix;
            }
        });
    } else {
        sink->set_formatter([](const bl::record_view& rec, bl::formatting_ostream& out) {
            auto sev = rec[bl::trivial::severity];
            out << "nfdsr " << (sev ? bl::trivial::to_string(*sev) : "info") << ": "
                << rec[bl::expressions::smessage];
        });
    }
    sink->locked_backend()->auto_flush(true);
    bl::core::get()->set_filter(bl::trivial::severity >= min);
    return known;
}

}  // namespace nfdsr::log
