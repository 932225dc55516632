// nfdsrd: applies the config at start, re-applies on SIGHUP, and exits on
// SIGTERM/SIGINT leaving the data path installed (nftables table and module
// state live in the kernel; a restart or crash of the daemon does not
// interrupt traffic).
#include "common/log.hpp"
#include "config/diagnostics.hpp"
#include "engine/engine.hpp"
#include "health/endpoint.hpp"
#include "health/prober.hpp"
#include "metrics/server.hpp"
#include "nft/watch.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <span>
#include <string>
#include <vector>

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

Prometheus metrics: http://<metrics.listen>/metrics (config key; default
127.0.0.1:9798, "" disables).
Health checks (services[].health_check): probed from this node; a backend
that fails `fall` checks leaves its services' Maglev tables, and returns
after `rise` good ones (each change re-applies the running config).
health_check_node_port: HTTP 200/503 per service on this node's address.
Signals: SIGHUP re-reads and applies the config (a bad config is logged and
the running state kept); SIGTERM/SIGINT exit, leaving the data path installed.
A config that does not apply at start is treated the same way: nothing
changes, the error is logged, and the daemon waits for SIGHUP.
Under systemd (Type=notify) it reports READY=1 once started (STATUS= says
what is applied, or "not applied: <why>"), RELOADING=1 ... READY=1 around
each reload, and STOPPING=1 on exit.
Exit status: 0 ok, 1 error, 2 usage error.
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

// What /metrics reports: updated by the main loop after each apply, read by
// the metrics server thread.
struct Observed {
    std::mutex mu;
    metrics::ApplySample apply;
    std::shared_ptr<const plan::NodePlan> plan;  // last applied
    std::string metrics_listen;                  // from the last applied config
    bool module = true;

    void record(bool ok, double seconds, std::shared_ptr<const plan::NodePlan> p, std::string listen)
    {
        std::lock_guard lock(mu);
        ++apply.total;
        apply.last_duration_seconds = seconds;
        if (!ok) {
            ++apply.errors;
            return;
        }
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        apply.last_success_unixtime = static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
        plan = std::move(p);
        metrics_listen = std::move(listen);
    }

    void repaired()
    {
        std::lock_guard lock(mu);
        ++apply.table_repairs;
    }

    std::string render()
    {
        std::shared_ptr<const plan::NodePlan> p;
        metrics::ApplySample a;
        {
            std::lock_guard lock(mu);
            p = plan;
            a = apply;
        }
        auto snap = engine::collect(p.get(), module, true);
        snap.apply = a;
        return metrics::render_prometheus(snap);
    }
};

Observed observed;

// (Re)start the metrics endpoint when its address changed; a bind failure
// is logged and leaves the data path alone.
void update_metrics_server(std::unique_ptr<metrics::Server>& server)
{
    std::string listen;
    {
        std::lock_guard lock(observed.mu);
        listen = observed.metrics_listen;
    }
    if (server && server->address() == listen)
        return;
    server.reset();
    if (listen.empty()) {
        NFDSR_LOG(info) << "metrics: disabled (metrics.listen is empty)";
        return;
    }
    try {
        server = std::make_unique<metrics::Server>(listen, [] { return observed.render(); });
        NFDSR_LOG(info) << "metrics: serving http://" << listen << "/metrics";
    } catch (const std::exception& e) {
        NFDSR_LOG(error) << "metrics: " << e.what() << " (endpoint disabled)";
    }
}

// Health checks of the running config: the prober's results decide which
// backends get Maglev buckets; a flip re-derives the plan from the running
// config (no file read) and installs it like a reload.
struct Health {
    health::Prober prober;
    health::EndpointServer endpoints{[this](const std::string& s) { return local_endpoints(s); }};
    std::shared_ptr<const config::Config> config;  // last applied
    std::string node;
    plan::DownSet applied_down;  // the down set of the installed plan
    bool dirty = false;          // prober state differs from the installed plan
    health::Clock::time_point retry_at{};

    // Healthy backends of `service` on this node (health_check_node_port).
    unsigned local_endpoints(const std::string& service) const
    {
        unsigned n = 0;
        if (!config)
            return 0;
        for (const auto& s : config->services)
            if (s.name == service)
                for (const auto& b : s.backends)
                    n += b.node == node && b.weight > 0 && prober.is_up(s.name, b.name) ? 1 : 0;
        return n;
    }

    // After a successful apply of `c`: check what it asks for.
    void adopt(const config::Config& c, const std::string& node_name, plan::DownSet down)
    {
        config = std::make_shared<const config::Config>(c);
        node = node_name;
        applied_down = std::move(down);
        prober.set_targets(health::targets_for(c, node), health::Clock::now());
        endpoints.set(health::listeners_for(c, node));
        // targets that are no longer checked count as up again
        dirty = prober.down() != applied_down;
    }
};

Health checks;

// What nfdsrd installed in nftables: reloads and health changes update only
// what differs from it (the first apply replaces the table: adoption).
nft::Table nft_table;
// nfdsr.ko's service table as our last apply left it (reloads send only what changed)
engine::ServiceRecord module_services;

// Changes to table ip nfdsr by anyone else, seen through the nftables event
// group: undone at once by installing the running config again (a rebuild
// of the table). Null when the subscription failed (then every apply reads
// the table back to find such changes, as nfdsrctl does).
std::unique_ptr<nft::TableWatch> table_watch;
struct Repair {
    bool pending = false;
    health::Clock::time_point at{};
} repair;

struct Applied {
    std::string summary;  // what is running, for STATUS=
    unsigned reloads = 0;  // SIGHUPs taken
    unsigned failed_reloads = 0;
    bool reloading = false;  // between taking a SIGHUP and publishing its result
};

// The state file nfdsrctl reads (status/trace health, reload): rewritten
// after every apply and health change. A write error is logged once.
void publish(const Options& o, const Applied& state, bool last_ok, const std::string& status)
{
    static std::string last_error;
    engine::DaemonState s;
    s.pid = getpid();
    s.config = o.config;
    s.node = checks.node;
    s.reloads_started = state.reloads;
    s.reloads = state.reloads - (state.reloading ? 1 : 0);
    s.failed_reloads = state.failed_reloads;
    s.last_ok = last_ok;
    s.status = status;
    s.down = checks.applied_down;
    try {
        engine::write_daemon_state(s);
        last_error.clear();
    } catch (const std::exception& e) {
        if (last_error != e.what())
            NFDSR_LOG(warning) << "state for nfdsrctl: " << e.what()
                               << " (nfdsrctl status/reload will not see this daemon)";
        last_error = e.what();
    }
}

// Loads, plans and installs; logs and returns false on any error. `status`
// receives a one-line summary (what was applied, or why it failed).
// What the last successful apply() was made from: a reload of the same
// bytes with the same dispatch override and health results changes nothing,
// so it is answered without parsing, planning or sending anything (the
// table watch repairs foreign nftables changes; a module reloaded behind
// our back shows in its service count).
struct AppliedInput {
    std::string text;                 // the config file's bytes
    std::optional<Dispatch> override;  // `nfdsrctl dispatch set`
    plan::DownSet down;
    std::shared_ptr<const plan::NodePlan> plan;
    std::string metrics_listen;
    std::string status;
};
std::optional<AppliedInput> applied_input;

std::optional<std::string> read_config_text(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return std::nullopt;
    std::ostringstream text;
    text << f.rdbuf();
    if (!f.good() && !f.eof())
        return std::nullopt;
    return text.str();
}

bool apply(const Options& o, const char* why, std::string& status)
{
    const std::uint64_t start = monotonic_usec();
    auto seconds = [&] { return static_cast<double>(monotonic_usec() - start) / 1e6; };
    try {
        const plan::DownSet down = checks.prober.down();
        const auto text = read_config_text(o.config);
        const auto override = engine::read_dispatch_override();
        if (text && applied_input && *text == applied_input->text && override == applied_input->override &&
            down == applied_input->down && nft_table.trusted() &&
            (!o.module || engine::module_matches(module_services))) {
            status = applied_input->status;
            NFDSR_LOG(info) << why << ": applied (" << o.config
                            << " unchanged, same health results: nothing to send)";
            observed.record(true, seconds(), applied_input->plan, applied_input->metrics_listen);
            return true;
        }
        applied_input.reset();
        auto loaded = engine::apply(o.config, o.node, down, o.module, nft_table, module_services);
        if (!loaded.config.warnings.empty())
            NFDSR_LOG(warning) << why << ": config warnings:\n" << loaded.config.warnings.to_string();
        const auto& p = loaded.plan;
        checks.adopt(loaded.config, p.node, down);
        engine::apply_host_settings(loaded, o.module);
        status = "applied " + o.config + " as node " + p.node + ": " + std::to_string(p.entry.size()) +
                 " entry services, " + std::to_string(p.bindings.size()) + " bindings" +
                 (o.module ? "" : " (nftables only)");
        NFDSR_LOG(info) << why << ": " << status;
        auto applied = std::make_shared<const plan::NodePlan>(std::move(loaded.plan));
        if (text)
            applied_input = AppliedInput{*text, override, down, applied, loaded.config.metrics_listen, status};
        observed.record(true, seconds(), std::move(applied), loaded.config.metrics_listen);
        return true;
    } catch (const config::ConfigError& e) {
        observed.record(false, seconds(), nullptr, {});
        NFDSR_LOG(error) << why << ": invalid config:\n" << e.what();
        const auto& d = e.diagnostics();
        status = "invalid config: " + (d.empty() ? one_line(e.what()) : d.front().to_string()) +
                 (e.total() > 1 ? " (+" + std::to_string(e.total() - 1) + " more)" : "");
        return false;
    } catch (const std::exception& e) {
        observed.record(false, seconds(), nullptr, {});
        NFDSR_LOG(error) << why << ": " << o.config << ": " << e.what();
        status = one_line(e.what());
        return false;
    }
}

// Events from the table watch: a foreign change schedules a repair; lost
// events make the next apply compare the table with what we committed.
void read_table_events()
{
    const auto seen = table_watch->read();
    if (seen.lost) {
        NFDSR_LOG(debug) << "nft watch: events lost (a big commit); the next apply checks the table";
        nft_table.suspect();
    }
    if (!seen.foreign)
        return;
    std::string what;
    for (const auto& t : seen.touched)
        what += (what.empty() ? "" : "; ") + t;
    if (!checks.config) {
        NFDSR_LOG(warning) << "nft watch: table ip " << nft::kTable << " changed by another process (" << what
                           << "); nothing is applied yet, left alone";
        return;
    }
    NFDSR_LOG(warning) << "nft watch: table ip " << nft::kTable << " changed by another process (" << what
                       << "); putting the running config back (stop nfdsrd to change the table by hand)";
    nft_table.forget();
    repair.pending = true;
    repair.at = health::Clock::now();
}

// A backend went down or came back, or the table needs repair: install the
// running config's plan with the prober's down set (one nftables
// transaction, as a reload). `why` starts the log lines.
bool apply_running(const Options& o, const char* why)
{
    if (!checks.config)
        return true;
    const std::uint64_t start = monotonic_usec();
    const plan::DownSet down = checks.prober.down();
    try {
        auto p = engine::reapply(*checks.config, checks.node, down, o.module, nft_table, module_services);
        std::string names;
        for (const auto& [svc, be] : down)
            names += (names.empty() ? "" : ", ") + svc + "/" + be;
        NFDSR_LOG(info) << why << ": applied; backends down: " << (names.empty() ? "none" : names);
        observed.record(true, static_cast<double>(monotonic_usec() - start) / 1e6,
                        std::make_shared<const plan::NodePlan>(std::move(p)), checks.config->metrics_listen);
        checks.applied_down = down;
        return true;
    } catch (const std::exception& e) {
        observed.record(false, static_cast<double>(monotonic_usec() - start) / 1e6, nullptr, {});
        NFDSR_LOG(error) << why << ": apply failed (retrying): " << e.what();
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

    // Signals are taken synchronously through a signalfd in the poll loop
    // (with the health probes and endpoints): no async-signal-safety
    // concerns, and a SIGHUP during an apply is handled after it.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const int sigfd = signalfd(-1, &signals, SFD_CLOEXEC);
    if (sigfd < 0) {
        NFDSR_LOG(fatal) << "signalfd: " << std::strerror(errno);
        return 1;
    }

    Applied state;
    std::string status;
    bool last_ok = false;
    observed.module = o.module;
    try {
        table_watch = std::make_unique<nft::TableWatch>();
        nft_table.set_watched(true);
    } catch (const std::exception& e) {
        NFDSR_LOG(warning) << e.what() << "; changes by other processes are found at the next apply only";
    }
    std::unique_ptr<metrics::Server> metrics_server;
    if ((last_ok = apply(o, "start", status))) {
        state.summary = status;
        update_metrics_server(metrics_server);
    } else {
        // Like a rejected reload: whatever is installed stays as it was, and
        // the daemon waits for SIGHUP with a config that applies (a restart
        // loop would only repeat the error).
        NFDSR_LOG(error) << "start: nothing applied; the installed state (if any) is unchanged; fix "
                         << o.config << " and reload (SIGHUP / systemctl reload nfdsr)";
        state.summary = "not applied: " + status;
    }
    notify("READY=1\nSTATUS=" + state.summary);
    publish(o, state, last_ok, state.summary);
    std::vector<pollfd> fds;
    for (;;) {
        fds.assign(1, pollfd{sigfd, POLLIN, 0});
        if (table_watch)
            fds.push_back(pollfd{table_watch->fd(), POLLIN, 0});
        const std::size_t probes_at = fds.size();
        checks.prober.pollfds(fds);
        const std::size_t endpoints_at = fds.size();
        checks.endpoints.pollfds(fds);
        auto now = health::Clock::now();
        int timeout = checks.prober.timeout_ms(now);
        const int et = checks.endpoints.timeout_ms(now);
        if (et >= 0 && (timeout < 0 || et < timeout))
            timeout = et;
        for (auto [waiting, at] : {std::pair{checks.dirty, checks.retry_at}, std::pair{repair.pending, repair.at}}) {
            if (!waiting)
                continue;
            const auto ms = std::chrono::ceil<std::chrono::milliseconds>(at - now).count();
            const int rt = ms > 0 ? static_cast<int>(ms) : 0;
            if (timeout < 0 || rt < timeout)
                timeout = rt;
        }
        if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
            NFDSR_LOG(fatal) << "poll: " << std::strerror(errno);
            return 1;
        }
        now = health::Clock::now();
        const std::span<const pollfd> all(fds);
        // POLLERR: the socket's buffer overflowed (its pending ENOBUFS is
        // read, and cleared, by read(); left unread, poll() would return at once forever)
        if (table_watch && (fds[1].revents & (POLLIN | POLLERR)))
            read_table_events();
        if (!checks.prober.run(all.subspan(probes_at, endpoints_at - probes_at), now).empty())
            checks.dirty = true;
        checks.endpoints.run(all.subspan(endpoints_at), now);
        if (repair.pending && now >= repair.at) {
            // the running config, with the prober's down set, as a health change does
            if (apply_running(o, "nft watch: repair")) {
                repair.pending = false;
                checks.dirty = false;
                observed.repaired();
                NFDSR_LOG(info) << "nft watch: table ip " << nft::kTable << " repaired";
            } else
                repair.at = now + std::chrono::seconds(1);
        }
        if (checks.dirty && now >= checks.retry_at) {
            if (checks.prober.down() == checks.applied_down) {
                checks.dirty = false;
            } else if (apply_running(o, "health")) {
                checks.dirty = false;
                publish(o, state, last_ok, state.summary);
            } else
                checks.retry_at = now + std::chrono::seconds(1);
        }
        if (!(fds[0].revents & POLLIN))
            continue;
        signalfd_siginfo si{};
        if (read(sigfd, &si, sizeof si) != static_cast<ssize_t>(sizeof si))
            continue;
        const int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGHUP) {
            // systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 to match
            // the reload to its request; older versions ignore it.
            notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=reloading " +
                   o.config);
            ++state.reloads;
            // Tell nfdsrctl this reload started before it reads the config
            // and the dispatch override: a change made before this point is
            // in it (nfdsrctl reload / dispatch set wait on that).
            state.reloading = true;
            publish(o, state, last_ok, state.summary);
            state.reloading = false;
            if ((last_ok = apply(o, "reload", status))) {
                state.summary = status;
                update_metrics_server(metrics_server);
            } else {
                ++state.failed_reloads;
                NFDSR_LOG(warning) << "reload failed; keeping the running configuration";
            }
            publish(o, state, last_ok, last_ok ? state.summary : status);
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
