// Live dispatch switch (`nfdsrctl dispatch set opt|ipip`): a node-local
// override of the config's global `dispatch`, kept in the runtime directory
// so that nfdsrd's reloads keep an operator's switch until it is cleared
// (`nfdsrctl dispatch clear`), a config is applied explicitly with
// `nfdsrctl apply`, or the machine reboots. Per-service `dispatch:` settings
// in the config still win for their services.
#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>

namespace nfdsr::engine {

// /run/nfdsr/dispatch, or $NFDSR_RUN_DIR/dispatch.
std::string dispatch_override_path();

// The override, if one is set. Throws std::runtime_error on an unreadable or
// invalid file (it names the file and what it contains).
std::optional<Dispatch> read_dispatch_override();

void write_dispatch_override(Dispatch d);
void clear_dispatch_override();

// config.dispatch := the override, if any. Returns whether one applied.
bool apply_dispatch_override(config::Config& config);

}  // namespace nfdsr::engine
