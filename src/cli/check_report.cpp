#include "cli/check_report.hpp"

#include <sstream>

namespace nfdsr::cli {

std::string render_check(const std::string& node, const std::vector<engine::CheckItem>& items)
{
    std::ostringstream o;
    std::size_t problems = 0;
    o << "host check for node " << node << ":\n";
    for (const auto& i : items) {
        o << (i.info ? "info " : i.ok ? "ok   " : "FAIL ") << i.what << "\n";
        o << "     why: " << i.why << "\n";
        for (const auto& f : i.fix)
            o << "     fix: " << f << "\n";
        if (!i.ok)
            ++problems;
    }
    o << (problems ? std::to_string(problems) + " problem(s)" : std::string("all checks passed")) << "\n";
    return o.str();
}

}  // namespace nfdsr::cli
