// nfdsrd: applies the config at start, re-applies on SIGHUP, and exits on
// SIGTERM/SIGINT leaving the data path installed (nftables table and module
// state live in the kernel; a restart or crash of the daemon does not
// interrupt traffic).
#include "cli/ops.hpp"
#include "common/log.hpp"
#include "config/diagnostics.hpp"
#include "plan/describe.hpp"

#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

using namespace nfdsr;

const char* const usage_text = R"(usage: nfdsrd [--config FILE] [--node NAME] [--log-level LEVEL] [--no-module]

  --config FILE      cluster config (default /etc/nfdsr/nfdsr.yaml)
  --node NAME        this node's name (default: found by local addresses)
  --log-level LEVEL  trace|debug|info|warning|error|fatal (default info)
  --no-module        do not configure nfdsr.ko (nftables only)
  -h, --help         show this help

Signals: SIGHUP re-reads and applies the config (a bad config is logged and
the running state kept); SIGTERM/SIGINT exit, leaving the data path installed.
Exit status: 0 ok, 1 error (including a failed apply at start), 2 usage error.
)";

struct Options {
    std::string config = "/etc/nfdsr/nfdsr.yaml";
    std::string node;
    std::string log_level = "info";
    bool module = true;
};

// Returns 0 to continue, else the exit code to end with.
int parse_args(int argc, char** argv, Options& o)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](std::string& out) {
            if (++i >= argc)
                return false;
            out = argv[i];
            return true;
        };
        if (arg == "-h" || arg == "--help") {
            std::cout << usage_text;
            return -1;
        }
        bool ok = true;
        if (arg == "--config")
            ok = value(o.config);
        else if (arg == "--node")
            ok = value(o.node);
        else if (arg == "--log-level")
            ok = value(o.log_level);
        else if (arg == "--no-module")
            o.module = false;
        else
            ok = false;
        if (!ok) {
            std::cerr << "nfdsrd: bad argument '" << arg << "'\n\n" << usage_text;
            return 2;
        }
    }
    return 0;
}

// Loads, plans and installs; logs and returns false on any error.
bool apply(const Options& o, const char* why)
{
    try {
        auto p = ops::load_plan(o.config, o.node);
        NFDSR_LOG(debug) << "plan:\n" << plan::describe(p);
        ops::install(p, o.module);
        NFDSR_LOG(info) << why << ": applied " << o.config << " as node " << p.node << " (" << p.entry.size()
                        << " entry services, " << p.bindings.size() << " bindings)";
        return true;
    } catch (const config::ConfigError& e) {
        NFDSR_LOG(error) << why << ": invalid config:\n" << e.what();
        return false;
    } catch (const std::exception& e) {
        NFDSR_LOG(error) << why << ": " << o.config << ": " << e.what();
        return false;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    Options o;
    if (int rc = parse_args(argc, argv, o); rc != 0)
        return rc < 0 ? 0 : rc;
    // Under systemd stderr goes to the journal: use <N> priority prefixes.
    const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    if (!log::init(o.log_level, journal)) {
        std::cerr << "nfdsrd: unknown log level '" << o.log_level << "'\n\n" << usage_text;
        return 2;
    }

    // Signals are taken synchronously with sigwait: no async-signal-safety
    // concerns, and a SIGHUP during an apply is handled after it.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    if (!apply(o, "start")) {
        NFDSR_LOG(fatal) << "initial apply failed; exiting (the previously installed state, if any, is unchanged)";
        return 1;
    }
    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (!apply(o, "reload"))
                NFDSR_LOG(warning) << "reload failed; keeping the running configuration";
            continue;
        }
        NFDSR_LOG(info) << "signal " << sig << ": exiting; data path stays installed";
        return 0;
    }
}
