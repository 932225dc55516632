// What a running nfdsrd tells nfdsrctl: a small state file in the runtime
// directory, rewritten (atomically: temp file + rename) after every apply
// and every health change. `nfdsrctl status` and `trace` take the health
// results from it (so they see the plan nfdsrd installed), `nfdsrctl
// reload` signals the daemon and waits for its reload counter to move.
#pragma once

#include "plan/derive.hpp"

#include <optional>
#include <string>
#include <sys/types.h>

namespace nfdsr::engine {

// /run/nfdsr, or $NFDSR_RUN_DIR.
std::string runtime_dir();
// <runtime_dir>/nfdsrd.state
std::string daemon_state_path();

struct DaemonState {
    pid_t pid = 0;
    std::string config;           // the config file it applies
    std::string node;             // as which node (empty until an apply worked)
    unsigned reloads_started = 0; // SIGHUPs taken (published before the reload reads anything)
    unsigned reloads = 0;         // reloads finished (last_ok/status are the latest one's)
    unsigned failed_reloads = 0;
    bool last_ok = true;          // the last apply (start, reload) worked
    std::string status;           // one line: what is applied, or why the last apply failed
    plan::DownSet down;           // backends its health checks found down
};

// Throws std::runtime_error naming the file when it cannot be written.
void write_daemon_state(const DaemonState& s);

// The state of a RUNNING nfdsrd (its pid is alive and is nfdsrd), or nullopt
// with `why` saying what is missing. A malformed file counts as missing.
std::optional<DaemonState> read_daemon_state(std::string& why);

}  // namespace nfdsr::engine
