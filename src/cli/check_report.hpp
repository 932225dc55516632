// nfdsrctl check: the host check's items (engine/host_check.hpp) as text,
// each with why it matters and the commands that fix it.
#pragma once

#include "engine/engine.hpp"

#include <string>
#include <vector>

namespace nfdsr::cli {

// One block per item, then the number of problems (or "all checks passed").
std::string render_check(const std::string& node, const std::vector<engine::CheckItem>& items);

}  // namespace nfdsr::cli
