// nfdsrctl: validate, plan, apply, show and flush the nfdsr configuration.
// Exit codes: 0 ok, 1 error, 2 usage.
#include "cli/ops.hpp"
#include "common/log.hpp"
#include "config/parse.hpp"
#include "nft/nft_apply.hpp"
#include "plan/describe.hpp"

#include <algorithm>
#include <iostream>
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
                                     bindings, then table ip nfdsr (atomic)
  show [FILE] [--node NAME] [-v] [-o json]
                                     installed ruleset and module state; with
                                     FILE also the plan for this node
  flush [--no-module]                remove table ip nfdsr and module state

Options:
  --node NAME    this node's name in the config (default: the node whose
                 address is configured on a local interface)
  --no-module    do not talk to nfdsr.ko
  -v, --verbose  show: print the whole nftables table, not a summary
  -o json        show: machine-readable (module counters, flow count, table)
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

int cmd_validate(const Args& a)
{
    expect_positional(a, 1, 1);
    auto cfg = config::parse_file(a.positional[0]);
    std::cout << a.positional[0] << ": ok (" << cfg.nodes.size() << " nodes, " << cfg.services.size()
              << " services)\n";
    return exit_ok;
}

int cmd_plan(const Args& a)
{
    expect_positional(a, 1, 1);
    std::cout << plan::describe(ops::load_plan(a.positional[0], a.node));
    return exit_ok;
}

int cmd_apply(const Args& a)
{
    expect_positional(a, 1, 1);
    auto p = ops::load_plan(a.positional[0], a.node);
    ops::install(p, !a.no_module);
    std::cout << "applied " << a.positional[0] << " on node " << p.node << ": " << p.entry.size()
              << " entry services, " << p.bindings.size() << " bindings\n";
    return exit_ok;
}

void print_module_status()
{
    std::string why;
    auto status = ops::module_status(why);
    if (!status) {
        std::cout << "module: unavailable: " << why << "\n";
        return;
    }
    const auto& s = *status;
    std::cout << "module: nfdsr.ko " << s.version << ", " << s.binding_count << " bindings, " << s.flow_count
              << " flows (max " << s.params.flow_max << "), entry_mark 0x" << std::hex << s.params.entry_mark
              << std::dec << "\n";
    for (const auto& c : s.counters)
        std::cout << "  " << c.name << " " << c.value << "\n";
}

// One line per object kind, from `nft list table` text: enough to see at a
// glance that the table is there and how big it is (-v prints all of it).
void print_table_summary(const std::string& table)
{
    std::size_t sets = 0, maps = 0, chains = 0, service_chains = 0;
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
        else if (line.rfind("chain ", 0) == 0) {
            ++chains;
            if (line.rfind("chain svc_", 0) == 0 && line.find("_be_") == std::string_view::npos)
                ++service_chains;
        }
        start = end + 1;
    }
    std::cout << "nftables: table ip " << nft::kTable << " installed: " << service_chains << " entry services, "
              << chains << " chains, " << sets << " sets, " << maps << " maps\n";
}

std::string json_escape(std::string_view in)
{
    std::string out;
    for (char c : in) {
        if (c == '"' || c == '\\')
            out += '\\';
        if (static_cast<unsigned char>(c) < 0x20)
            continue;
        out += c;
    }
    return out;
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
    auto status = a.no_module ? std::nullopt : ops::module_status(why);
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
          << ",\n    \"counters\": {";
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
        print_module_status();
    if (!a.positional.empty())
        std::cout << "\nplan from " << a.positional[0] << ":\n" << plan::describe(ops::load_plan(a.positional[0], a.node));
    return rc;
}

int cmd_flush(const Args& a)
{
    expect_positional(a, 0, 0);
    ops::remove(!a.no_module);
    std::cout << "flushed table ip " << nft::kTable << (a.no_module ? "" : " and nfdsr.ko state") << "\n";
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
