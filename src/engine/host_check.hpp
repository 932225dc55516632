// The host settings this node's roles need (BRIEF §5), each with an
// explanation and, when wrong, the exact command that fixes it (`nfdsrctl
// check`; nfdsrd applies the settings DSR owns). Reads the current network
// namespace (sysctls, links, addresses, routes).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace nfdsr::engine {

struct Loaded;  // engine/engine.hpp

struct CheckItem {
    bool ok = true;
    bool info = false;  // informational (MTU budget): never a problem
    std::string what;   // "net.ipv4.ip_forward = 0"
    std::string why;    // what needs it
    std::vector<std::string> fix;  // commands
    // The part of the fix nfdsrd applies itself (settings DSR owns, e.g.
    // send_redirects on entry nodes): /proc/sys path -> value.
    std::vector<std::pair<std::string, long>> owned;
};

// module: false skips the nfdsr.ko check (--no-module).
std::vector<CheckItem> check_host(const Loaded& loaded, bool module);

// nfdsrd at start and reload: writes the settings DSR owns (the `owned`
// part of failed items, e.g. send_redirects off on entry nodes) and logs
// each change, then logs every check still failing with its fix, as
// `nfdsrctl check` would print it. Errors are logged, not thrown.
void apply_host_settings(const Loaded& loaded, bool module);

}  // namespace nfdsr::engine
