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

// Writes the `owned` settings of failed items (nfdsrd at start and reload);
// returns a description per setting changed. Throws std::runtime_error
// naming the sysctl that could not be written.
std::vector<std::string> apply_owned_settings(const std::vector<CheckItem>& items);

}  // namespace nfdsr::engine
