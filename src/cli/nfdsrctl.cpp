// nfdsrctl: validate, plan, apply, show and flush the nfdsr configuration.
// Exit codes: 0 ok, 1 error, 2 usage.
#include "cli/check_report.hpp"
#include "cli/observe.hpp"
#include "common/log.hpp"
#include "config/parse.hpp"
#include "config/scalars.hpp"
#include "engine/engine.hpp"
#include "kmod_client/messages.hpp"
#include "nft/nft_apply.hpp"
#include "plan/describe.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace nfdsr;

constexpr int exit_ok = 0;
constexpr int exit_error = 1;
constexpr int exit_usage = 2;

const char* const usage_text = R"(usage: nfdsrctl COMMAND [ARGS]

Commands:
  validate FILE                      check a config file (errors on stderr)
  plan FILE [--node NAME]            print what this node would install
  apply FILE [--node NAME] [--no-module]
                                     install the config on this node: module
                                     bindings, then table ip nfdsr (atomic);
                                     clears a `dispatch set` override
  dispatch set opt|ipip [--config FILE] [--node NAME] [--no-module]
                                     switch this node's dispatch now (new
                                     connections; established ones keep
                                     working) and keep it across nfdsrd
                                     reloads until `dispatch clear`
  dispatch clear|show [--config FILE] [--node NAME] [--no-module]
  show [FILE] [--node NAME] [-v] [-o json]
                                     installed ruleset and module state; with
                                     FILE also the plan for this node
  flush [--no-module]                remove table ip nfdsr and module state
  reload [--timeout SECONDS]         make the running nfdsrd re-read its config
                                     (SIGHUP) and wait for the result: exit 0
                                     when applied, 1 with the error otherwise
  status [--config FILE] [--node NAME] [--no-module] [-o json]
                                     roles, dispatch, module state, per
                                     service/backend counters, flow table
  check [--config FILE] [--node NAME] [--no-module]
                                     host settings this node's roles need
                                     (module, ip_forward, redirects, tunl0,
                                     rp_filter, ARP for VIPs on lo, MTU);
                                     exit 1 listing each problem and its fix
  trace CLIENT_IP:PORT ADDRESS:PORT [tcp|udp] [--config FILE] [--node NAME]
        [--no-module] [-o json]      which backend that flow gets on this node
                                     and why (the Maglev bucket), and what
                                     nfdsr.ko itself picks for it

Options:
  --config FILE  status/trace/check/dispatch: cluster config (default: the one
                 the running nfdsrd applies, else /etc/nfdsr/nfdsr.yaml)
  --node NAME    this node's name in the config (default: the node whose
                 address is configured on a local interface)
  --no-module    do not talk to nfdsr.ko
  -v, --verbose  show: print the whole nftables table, not a summary
  -o json        show/status/trace: machine-readable output
  -h, --help     show this help

Exit status: 0 ok, 1 error, 2 usage error.
)";

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Args {
    std::string command;
    std::vector<std::string> positional;
    std::string node;
    std::string config = "/etc/nfdsr/nfdsr.yaml";
    bool config_given = false;
    unsigned timeout = 60;  // reload
    bool no_module = false;
    bool verbose = false;
    bool json = false;
};

Args parse_args(int argc, char** argv)
{
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--node") {
            if (++i >= argc)
                throw UsageError("--node needs a NAME");
            a.node = argv[i];
        } else if (arg.rfind("--node=", 0) == 0) {
            a.node = arg.substr(7);
        } else if (arg == "--config") {
            if (++i >= argc)
                throw UsageError("--config needs a FILE");
            a.config = argv[i];
            a.config_given = true;
        } else if (arg.rfind("--config=", 0) == 0) {
            a.config = arg.substr(9);
            a.config_given = true;
        } else if (arg == "--timeout") {
            if (++i >= argc)
                throw UsageError("--timeout needs SECONDS");
            try {
                a.timeout = static_cast<unsigned>(std::stoul(argv[i]));
            } catch (const std::exception&) {
                throw UsageError(std::string("--timeout: not a number of seconds: ") + argv[i]);
            }
        } else if (arg == "--no-module") {
            a.no_module = true;
        } else if (arg == "-v" || arg == "--verbose") {
            a.verbose = true;
        } else if (arg == "-o" || arg == "--output") {
            if (++i >= argc || std::string(argv[i]) != "json")
                throw UsageError(arg + " takes 'json'");
            a.json = true;
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else if (a.command.empty()) {
            a.command = arg;
        } else {
            a.positional.push_back(arg);
        }
    }
    return a;
}

void expect_positional(const Args& a, std::size_t min, std::size_t max)
{
    if (a.positional.size() < min)
        throw UsageError(a.command + ": missing FILE");
    if (a.positional.size() > max)
        throw UsageError(a.command + ": unexpected argument " + a.positional[max]);
}

// A loaded config's warnings on stderr, as errors are printed (they do not
// change the exit code).
void print_warnings(const config::Config& cfg)
{
    if (!cfg.warnings.empty())
        std::cerr << cfg.warnings.to_string() << "\n";
}

int cmd_validate(const Args& a)
{
    expect_positional(a, 1, 1);
    auto cfg = config::parse_file(a.positional[0]);
    print_warnings(cfg);
    std::cout << a.positional[0] << ": ok (" << cfg.nodes.size() << " nodes, " << cfg.services.size()
              << " services)\n";
    return exit_ok;
}

int cmd_plan(const Args& a)
{
    expect_positional(a, 1, 1);
    const auto loaded = engine::load(a.positional[0], a.node);
    print_warnings(loaded.config);
    std::cout << plan::describe(loaded.plan);
    return exit_ok;
}

// After nfdsrctl changed the table beside a running nfdsrd: the daemon sees
// it (nftables events) and puts its own config back within a second.
void warn_if_daemon()
{
    std::string why;
    if (const auto d = engine::read_daemon_state(why))
        std::cerr << "nfdsrctl: warning: nfdsrd (pid " << d->pid << ") manages this node with " << d->config
                  << ": it puts that config back within a second; to change what it runs, edit the file and "
                     "`nfdsrctl reload`, or stop it first\n";
}

int cmd_apply(const Args& a)
{
    expect_positional(a, 1, 1);
    // An explicit apply installs the file as it is, without a live
    // `dispatch set` override, and ends that override once it is in place.
    const auto loaded = engine::load(a.positional[0], a.node, {}, false);
    print_warnings(loaded.config);
    const auto& p = loaded.plan;
    engine::apply_file(loaded, !a.no_module);
    std::cout << "applied " << a.positional[0] << " on node " << p.node << ": " << p.entry.size()
              << " entry services, " << p.bindings.size() << " bindings\n";
    warn_if_daemon();
    return exit_ok;
}

void print_module_status(bool verbose)
{
    std::string why;
    auto status = engine::module_status(why);
    if (!status) {
        std::cout << "module: unavailable: " << why << "\n";
        return;
    }
    const auto& s = *status;
    std::cout << "module: nfdsr.ko " << s.version << ", " << s.binding_count << " bindings, " << s.flow_count
              << " flows (max " << s.params.flow_max << "), entry_mark 0x" << std::hex << s.params.entry_mark
              << std::dec << ", hooks " << (s.hooks ? "registered" : "not registered (not configured)") << "\n";
    for (const auto& c : s.counters)
        std::cout << "  " << c.name << " " << c.value << "\n";
    std::cout << "module service table: " << s.svc_count << " services\n";
    if (verbose) {
        try {
            for (const auto& svc : engine::module_services()) {
                std::cout << "  " << kmod::describe(svc.key) << " dispatch " << engine::module_dispatch(svc)
                          << ", maglev " << svc.table.size() << (svc.est_table.empty() ? "" : " (draining)")
                          << ", no-backend drops " << svc.no_backend << "\n";
                for (const auto& b : svc.backends)
                    std::cout << "    " << config::format_ipv4(b.addr) << ":" << b.port << " route mark 0x" << std::hex
                              << b.route_mark << std::dec << ", " << b.packets << " packets, " << b.bytes
                              << " bytes\n";
            }
        } catch (const std::exception& e) {
            std::cout << "  unavailable: " << e.what() << "\n";
        }
        std::cout << "module bindings (service -> local backend):\n";
        try {
            for (const auto& b : engine::module_bindings())
                std::cout << "  " << b << "\n";
        } catch (const std::exception& e) {
            std::cout << "  unavailable: " << e.what() << "\n";
        }
    }
}

// One line per object kind, from `nft list table` text: enough to see at a
// glance that the table is there and how big it is (-v prints all of it).
void print_table_summary(const std::string& table)
{
    std::size_t sets = 0, maps = 0, chains = 0, entry_services = 0;
    // entry services: the classify_dst elements that go to chain entry
    const std::string_view to_entry = ": goto entry";
    for (std::size_t at = table.find(to_entry); at != std::string::npos; at = table.find(to_entry, at + 1)) {
        const std::size_t next = at + to_entry.size();
        if (next == table.size() || table[next] == ',' || table[next] == ' ' || table[next] == '\n')
            ++entry_services;
    }
    std::size_t start = 0;
    while (start < table.size()) {
        std::size_t end = table.find('\n', start);
        if (end == std::string::npos)
            end = table.size();
        std::string_view line(table.data() + start, end - start);
        line.remove_prefix(std::min(line.find_first_not_of('\t'), line.size()));
        if (line.rfind("set ", 0) == 0)
            ++sets;
        else if (line.rfind("map ", 0) == 0)
            ++maps;
        else if (line.rfind("chain ", 0) == 0)
            ++chains;
        start = end + 1;
    }
    std::cout << "nftables: table ip " << nft::kTable << " installed: " << entry_services << " entry services, "
              << chains << " chains, " << sets << " sets, " << maps << " maps\n";
}

using cli::json_escape;

std::string one_line(std::string text)
{
    for (char& c : text)
        if (c == '\n')
            c = ' ';
    return text;
}

// The same facts as the text output, for scripts and tests.
int cmd_show_json(const Args& a)
{
    expect_positional(a, 0, 0);
    std::ostringstream o;
    const std::string table = nft::list_table();
    o << "{\n  \"nftables\": {\"table\": \"ip " << nft::kTable << "\", \"installed\": "
      << (table.empty() ? "false" : "true") << "},\n";
    std::string why;
    auto status = a.no_module ? std::nullopt : engine::module_status(why);
    if (!status) {
        o << "  \"module\": {\"loaded\": false, \"error\": \"" << json_escape(why) << "\"}\n}\n";
    } else {
        const auto& st = *status;
        o << "  \"module\": {\"loaded\": true, \"version\": \"" << json_escape(st.version) << "\",\n"
          << "    \"entry_mark\": " << st.params.entry_mark << ", \"flow_max\": " << st.params.flow_max
          << ", \"tcp_timeout\": " << st.params.tcp_timeout
          << ", \"tcp_close_timeout\": " << st.params.tcp_close_timeout
          << ", \"udp_timeout\": " << st.params.udp_timeout << ",\n"
          << "    \"binding_count\": " << st.binding_count << ", \"flow_count\": " << st.flow_count
          << ", \"hooks\": " << (st.hooks ? "true" : "false") << ",\n    \"bindings\": [";
        try {
            const auto bindings = engine::module_bindings();
            for (std::size_t i = 0; i < bindings.size(); ++i)
                o << (i ? ", " : "") << "\"" << json_escape(bindings[i]) << "\"";
        } catch (const std::exception& e) {  // a module without NFDSR_CMD_BINDING_DUMP
            o << "\"unavailable: " << json_escape(e.what()) << "\"";
        }
        o << "],\n    \"svc_count\": " << st.svc_count << ",\n    \"services\": [";
        try {
            const auto services = engine::module_services();
            for (std::size_t i = 0; i < services.size(); ++i) {
                const auto& svc = services[i];
                std::vector<std::uint32_t> buckets(svc.backends.size(), 0);
                for (auto idx : svc.table)
                    if (idx < buckets.size())
                        ++buckets[idx];
                o << (i ? "," : "") << "\n      {\"address\": \"" << config::format_ipv4(svc.key.vip)
                  << "\", \"port\": " << svc.key.port << ", \"protocol\": \""
                  << plan::to_string(svc.key.proto) << "\", \"kind\": \""
                  << (svc.key.kind == kmod::SvcKind::tunnel ? "tunnel" : "entry") << "\", \"dispatch\": \""
                  << engine::module_dispatch(svc) << "\", \"maglev_size\": " << svc.table.size()
                  << ", \"draining\": " << (svc.est_table.empty() ? "false" : "true")
                  << ", \"no_backend_drops\": " << svc.no_backend << ", \"backends\": [";
                for (std::size_t b = 0; b < svc.backends.size(); ++b)
                    o << (b ? ", " : "") << "{\"address\": \"" << config::format_ipv4(svc.backends[b].addr)
                      << "\", \"port\": " << svc.backends[b].port << ", \"route_mark\": "
                      << svc.backends[b].route_mark << ", \"buckets\": " << buckets[b]
                      << ", \"packets\": " << svc.backends[b].packets << ", \"bytes\": " << svc.backends[b].bytes
                      << "}";
                o << "]}";
            }
        } catch (const std::exception& e) {
            o << "\"unavailable: " << json_escape(e.what()) << "\"";
        }
        o << "],\n    \"counters\": {";
        for (std::size_t i = 0; i < st.counters.size(); ++i)
            o << (i ? ", " : "") << "\"" << json_escape(st.counters[i].name) << "\": " << st.counters[i].value;
        o << "}}\n}\n";
    }
    std::cout << o.str();
    return exit_ok;
}

int cmd_show(const Args& a)
{
    if (a.json)
        return cmd_show_json(a);
    expect_positional(a, 0, 1);
    int rc = exit_ok;
    try {
        const std::string table = nft::list_table();
        if (table.empty())
            std::cout << "nftables: table ip " << nft::kTable << " is not installed\n";
        else if (a.verbose)
            std::cout << table << (table.back() == '\n' ? "" : "\n");
        else
            print_table_summary(table);
    } catch (const std::exception& e) {
        std::cerr << "nfdsrctl: nftables: " << e.what() << "\n";
        rc = exit_error;
    }
    if (!a.no_module)
        print_module_status(a.verbose);
    if (!a.positional.empty())
        std::cout << "\nplan from " << a.positional[0] << ":\n" << plan::describe(engine::load_plan(a.positional[0], a.node));
    return rc;
}

int cmd_flush(const Args& a)
{
    expect_positional(a, 0, 0);
    engine::remove(!a.no_module);
    std::cout << "flushed table ip " << nft::kTable << (a.no_module ? "" : " and nfdsr.ko state") << "\n";
    warn_if_daemon();
    return exit_ok;
}

// What the running nfdsrd installed: its config (unless --config names
// another) and its health results, so status and trace show the plan that is
// live. Without a daemon: the config as is, every backend counted healthy.
struct DaemonView {
    std::optional<engine::DaemonState> state;
    std::string why;  // no daemon: why
    std::string config;
    std::string node;
    // The daemon runs `config`: its node and health results apply.
    bool runs_config() const { return state && state->config == config; }
    const plan::DownSet* down() const
    {
        static const plan::DownSet none;
        return runs_config() ? &state->down : &none;
    }
};

DaemonView daemon_view(const Args& a)
{
    DaemonView v;
    v.state = engine::read_daemon_state(v.why);
    v.config = a.config;
    if (v.state && !a.config_given && !v.state->config.empty())
        v.config = v.state->config;
    v.node = a.node.empty() && v.runs_config() ? v.state->node : a.node;
    return v;
}

std::string describe_daemon(const DaemonView& v)
{
    if (!v.state)
        return "not running: " + v.why + "; health results unknown";
    const auto& s = *v.state;
    std::string out = "running (pid " + std::to_string(s.pid) + "), " + s.config + ", reloads " +
                      std::to_string(s.reloads);
    if (s.failed_reloads)
        out += " (" + std::to_string(s.failed_reloads) + " failed)";
    out += s.last_ok ? "; " + s.status : "; last apply FAILED: " + s.status;
    return out;
}

// Status: the plan from the config (if it loads), nftables counters, module.
int cmd_status(const Args& a)
{
    expect_positional(a, 0, 0);
    const DaemonView view = daemon_view(a);
    std::optional<plan::NodePlan> p;
    std::string plan_error;
    try {
        p = engine::load(view.config, view.node, *view.down()).plan;
    } catch (const std::exception& e) {
        plan_error = one_line(e.what());
    }
    auto snap = engine::collect(p ? &*p : nullptr, !a.no_module, view.runs_config(), true);
    snap.daemon = describe_daemon(view);
    if (!plan_error.empty())
        snap.config_error = plan_error + (snap.config_error.empty() ? "" : "; " + snap.config_error);
    std::cout << (a.json ? cli::render_status_json(snap) : cli::render_status_text(snap));
    return plan_error.empty() ? exit_ok : exit_error;
}

int cmd_trace(const Args& a)
{
    if (a.positional.size() < 2 || a.positional.size() > 3)
        throw UsageError("trace: expected CLIENT_IP:PORT ADDRESS:PORT [tcp|udp]");
    cli::TraceQuery q;
    try {
        cli::parse_endpoint(a.positional[0], q.client, q.client_port);
        cli::parse_endpoint(a.positional[1], q.vip, q.vport);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("trace: ") + e.what());
    }
    if (a.positional.size() == 3) {
        if (a.positional[2] == "udp")
            q.proto = plan::Protocol::udp;
        else if (a.positional[2] != "tcp")
            throw UsageError("trace: protocol must be tcp or udp, not '" + a.positional[2] + "'");
    }
    const DaemonView view = daemon_view(a);
    const auto p = engine::load(view.config, view.node, *view.down()).plan;
    std::cout << cli::render_trace(p, q, cli::trace(p, q, !a.no_module), a.json);
    return exit_ok;
}

// SIGHUP to nfdsrd, then wait for the result of a reload that started after
// `before` was read (so it saw every change made before that).
enum class Reload {
    applied,      // the reload (or a restarted daemon) applied the config
    not_applied,  // rejected, or the daemon could not be signalled / is gone: running state unchanged
    pending,      // no result within the timeout: it may still apply
};
struct ReloadResult {
    Reload outcome;
    std::string text;  // the daemon's status line, or what went wrong
};

ReloadResult reload_daemon(const engine::DaemonState& before, unsigned timeout)
{
    if (kill(before.pid, SIGHUP) != 0)
        return {Reload::not_applied,
                "cannot signal nfdsrd (pid " + std::to_string(before.pid) + "): " + std::strerror(errno)};
    const unsigned wanted = before.reloads_started + 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    auto result = [](const engine::DaemonState& s, std::string text) {
        return ReloadResult{s.last_ok ? Reload::applied : Reload::not_applied, std::move(text)};
    };
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::string why;
        const auto now = engine::read_daemon_state(why);
        if (!now)
            return {Reload::not_applied, why};
        if (now->pid != before.pid)
            return result(*now, "nfdsrd restarted (pid " + std::to_string(before.pid) + " -> " +
                                    std::to_string(now->pid) + "): " + (now->last_ok ? "" : "last apply failed: ") +
                                    now->status);
        if (now->reloads >= wanted)
            return result(*now, now->status);
        if (std::chrono::steady_clock::now() >= deadline)
            return {Reload::pending, "nfdsrd (pid " + std::to_string(before.pid) + ") did not finish within " +
                                         std::to_string(timeout) + " s; see its log (journalctl -u nfdsr)"};
    }
}

int cmd_reload(const Args& a)
{
    expect_positional(a, 0, 0);
    std::string why;
    const auto before = engine::read_daemon_state(why);
    if (!before) {
        std::cerr << "nfdsrctl: reload: " << why << "; start it (systemctl start nfdsr)\n";
        return exit_error;
    }
    const ReloadResult r = reload_daemon(*before, a.timeout);
    if (r.outcome == Reload::applied) {
        std::cout << "reloaded: " << r.text << "\n";
        return exit_ok;
    }
    std::cerr << "nfdsrctl: reload failed, nfdsrd keeps the running configuration: " << r.text << "\n";
    return exit_error;
}

// dispatch set MODE | clear | show: the live switch (cli/dispatch_override.hpp).
int cmd_dispatch(const Args& a)
{
    if (a.positional.empty())
        throw UsageError("dispatch: expected set opt|ipip, clear or show");
    const std::string& verb = a.positional[0];
    const auto previous = engine::read_dispatch_override();
    const DaemonView view = daemon_view(a);
    if (verb == "show") {
        expect_positional(a, 1, 1);
        auto loaded = engine::load(view.config, view.node);
        std::cout << "dispatch " << plan::to_string(loaded.config.dispatch)
                  << (previous ? " (live override " + engine::dispatch_override_path() + ")"
                               : " (from " + view.config + ")")
                  << "\n";
        return exit_ok;
    }
    if (verb == "set") {
        expect_positional(a, 2, 2);
        const std::string& mode = a.positional[1];
        if (mode != "opt" && mode != "ipip")
            throw UsageError("dispatch set: expected opt or ipip, got '" + mode + "'");
        engine::write_dispatch_override(mode == "ipip" ? plan::Dispatch::ipip : plan::Dispatch::opt);
    } else if (verb == "clear") {
        expect_positional(a, 1, 1);
        engine::clear_dispatch_override();
    } else {
        throw UsageError("dispatch: unknown action '" + verb + "' (set, clear, show)");
    }
    auto restore = [&] {  // leave the override as it was: nothing changed in the data path
        if (previous)
            engine::write_dispatch_override(*previous);
        else
            engine::clear_dispatch_override();
    };
    if (view.runs_config()) {
        // nfdsrd runs this config: it alone writes the table (it updates what
        // it installed), so it applies the switch, as a reload. Its state is
        // read again now that the override is written (reload_daemon waits
        // for a reload that started after this read).
        std::string why;
        const auto now = engine::read_daemon_state(why);
        const ReloadResult r = now ? reload_daemon(*now, a.timeout) : ReloadResult{Reload::not_applied, why};
        if (r.outcome != Reload::applied) {
            const bool pending = r.outcome == Reload::pending;
            if (!pending)
                restore();  // running state unchanged: so is the override
            std::cerr << "nfdsrctl: dispatch " << verb << ": nfdsrd did not apply it"
                      << (pending ? " yet (the override stays): " : " (override left as it was): ") << r.text
                      << "\n";
            return exit_error;
        }
        std::cout << "node " << view.state->node << ": dispatch "
                  << (verb == "set" ? a.positional[1] : "from " + view.config) << " applied by nfdsrd (pid "
                  << view.state->pid << ")\n";
        return exit_ok;
    }
    try {
        auto p = engine::load_plan(a.config, a.node);
        engine::install(p, !a.no_module);
        std::cout << "node " << p.node << ": dispatch " << (verb == "set" ? a.positional[1] : "from " + a.config)
                  << " applied\n";
    } catch (...) {
        restore();
        throw;
    }
    return exit_ok;
}

int cmd_check(const Args& a)
{
    expect_positional(a, 0, 0);
    const auto loaded = engine::load(a.config, a.node);
    const auto items = engine::check_host(loaded, !a.no_module);
    std::cout << cli::render_check(loaded.plan.node, items);
    for (const auto& i : items)
        if (!i.ok)
            return exit_error;
    return exit_ok;
}

int run(const Args& a)
{
    if (a.command == "validate")
        return cmd_validate(a);
    if (a.command == "plan")
        return cmd_plan(a);
    if (a.command == "apply")
        return cmd_apply(a);
    if (a.command == "show")
        return cmd_show(a);
    if (a.command == "flush")
        return cmd_flush(a);
    if (a.command == "dispatch")
        return cmd_dispatch(a);
    if (a.command == "status")
        return cmd_status(a);
    if (a.command == "trace")
        return cmd_trace(a);
    if (a.command == "check")
        return cmd_check(a);
    if (a.command == "reload")
        return cmd_reload(a);
    throw UsageError(a.command.empty() ? "missing COMMAND" : "unknown command '" + a.command + "'");
}

}  // namespace

int main(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help" || arg == "help") {
            std::cout << usage_text;
            return exit_ok;
        }
    }
    nfdsr::log::init("warning");
    try {
        return run(parse_args(argc, argv));
    } catch (const UsageError& e) {
        std::cerr << "nfdsrctl: " << e.what() << "\nrun 'nfdsrctl --help' for usage\n";
        return exit_usage;
    } catch (const nfdsr::config::ConfigError& e) {
        // One "file:line:col: path: message" per line, as compilers do.
        std::cerr << e.what() << "\n";
        return exit_error;
    } catch (const std::exception& e) {
        std::cerr << "nfdsrctl: " << e.what() << "\n";
        return exit_error;
    }
}
