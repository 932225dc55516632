// nfdsrd: applies the config at start, re-applies on SIGHUP, and exits on
// SIGTERM/SIGINT leaving the data path installed (nftables table and module
// state live in the kernel; a restart or crash of the daemon does not
// interrupt traffic).
#include "cli/ops.hpp"
#include "common/log.hpp"
#include "config/diagnostics.hpp"
#include "plan/describe.hpp"

#include <pthread.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

using namespace nfdsr;

const char* const usage_text = R"(usage: nfdsrd [--config FILE] [--node NAME] [--log-level LEVEL] [--no-module] [--journal]

  --config FILE      cluster config (default /etc/nfdsr/nfdsr.yaml)
  --node NAME        this node's name (default: found by local addresses)
  --log-level LEVEL  trace|debug|info|warning|error|fatal (default info)
  --no-module        do not configure nfdsr.ko (nftables only)
  --journal          log lines with <N> syslog priority prefixes for the
                     systemd journal (default: when stderr is the journal,
                     i.e. it matches $JOURNAL_STREAM)
  -h, --help         show this help

Signals: SIGHUP re-reads and applies the config (a bad config is logged and
the running state kept); SIGTERM/SIGINT exit, leaving the data path installed.
Under systemd (Type=notify) it reports READY=1 after the first apply,
RELOADING=1 ... READY=1 around each reload, STOPPING=1 on exit, and STATUS=
with what is applied.
Exit status: 0 ok, 1 error (including a failed apply at start), 2 usage error.
)";

struct Options {
    std::string config = "/etc/nfdsr/nfdsr.yaml";
    std::string node;
    std::string log_level = "info";
    bool module = true;
    bool journal = false;
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
        else if (arg == "--journal")
            o.journal = true;
        else
            ok = false;
        if (!ok) {
            std::cerr << "nfdsrd: bad argument '" << arg << "'\n\n" << usage_text;
            return 2;
        }
    }
    return 0;
}

// True when stderr is the journal stream systemd set up for us (see
// systemd.exec(5), $JOURNAL_STREAM): "DEVICE:INODE" of that socket.
bool stderr_is_journal()
{
    const char* env = std::getenv("JOURNAL_STREAM");
    if (!env)
        return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2)
        return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0)
        return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

// sd_notify(3) to systemd when started as Type=notify ($NOTIFY_SOCKET); a
// no-op otherwise. STATUS= must be one line.
void notify(const std::string& state)
{
    sd_notify(0, state.c_str());
}

std::string one_line(std::string text)
{
    for (char& c : text)
        if (c == '\n')
            c = ' ';
    return text;
}

std::uint64_t monotonic_usec()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

struct Applied {
    std::string summary;  // what is running, for STATUS=
    unsigned reloads = 0;
    unsigned failed_reloads = 0;
};

// Loads, plans and installs; logs and returns false on any error. `status`
// receives a one-line summary (what was applied, or why it failed).
bool apply(const Options& o, const char* why, std::string& status)
{
    try {
        auto p = ops::load_plan(o.config, o.node);
        NFDSR_LOG(debug) << "plan:\n" << plan::describe(p);
        ops::install(p, o.module);
        status = "applied " + o.config + " as node " + p.node + ": " + std::to_string(p.entry.size()) +
                 " entry services, " + std::to_string(p.bindings.size()) + " bindings" +
                 (o.module ? "" : " (nftables only)");
        NFDSR_LOG(info) << why << ": " << status;
        return true;
    } catch (const config::ConfigError& e) {
        NFDSR_LOG(error) << why << ": invalid config:\n" << e.what();
        const auto& d = e.diagnostics();
        status = "invalid config: " + (d.empty() ? one_line(e.what()) : d.front().to_string()) +
                 (d.size() > 1 ? " (+" + std::to_string(d.size() - 1) + " more)" : "");
        return false;
    } catch (const std::exception& e) {
        NFDSR_LOG(error) << why << ": " << o.config << ": " << e.what();
        status = one_line(e.what());
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
    const bool journal = o.journal || stderr_is_journal();
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

    Applied state;
    std::string status;
    if (!apply(o, "start", status)) {
        NFDSR_LOG(fatal) << "initial apply failed; exiting (the previously installed state, if any, is unchanged)";
        notify("STATUS=start failed: " + status);
        return 1;
    }
    state.summary = status;
    notify("READY=1\nSTATUS=" + state.summary);
    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            // systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 to match
            // the reload to its request; older versions ignore it.
            notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=reloading " +
                   o.config);
            ++state.reloads;
            if (apply(o, "reload", status)) {
                state.summary = status;
            } else {
                ++state.failed_reloads;
                NFDSR_LOG(warning) << "reload failed; keeping the running configuration";
            }
            std::string line = state.summary + "; reloads: " + std::to_string(state.reloads);
            if (state.failed_reloads)
                line += " (" + std::to_string(state.failed_reloads) + " failed, last: " +
                        (status == state.summary ? std::string("ok") : status) + ")";
            notify("READY=1\nSTATUS=" + line);
            continue;
        }
        NFDSR_LOG(info) << "signal " << sig << ": exiting; data path stays installed";
        notify("STOPPING=1\nSTATUS=stopping; data path stays installed");
        return 0;
    }
}
