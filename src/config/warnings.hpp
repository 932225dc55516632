// Checks that do not reject a config: what works, but likely not as meant.
// They print as warnings (nfdsrctl validate/apply/plan on stderr, nfdsrd's
// log) and change no exit code.
#pragma once

#include "config/config.hpp"

namespace nfdsr::config {

// Adds to config.warnings. Only for a config without errors (unique
// backends, table sizes valid and within Limits): a service whose
// maglev_table_size is below 100 x its backends gets a warning with the
// worst deviation of a backend's bucket count from its weight's share, from
// the real table (built through maglev::memo(), so deriving the plan reuses
// it; the tables so built total at most 100 x all backends).
void warn(Config& config);

}  // namespace nfdsr::config
