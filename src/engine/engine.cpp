#include "engine/engine.hpp"

#include "engine/dispatch_override.hpp"
#include "common/log.hpp"
#include "config/parse.hpp"
#include "config/scalars.hpp"
#include "kmod_client/client.hpp"
#include "kmod_client/services.hpp"
#include "maglev/memo.hpp"
#include "nft/nft_apply.hpp"
#include "plan/derive.hpp"
#include "plan/describe.hpp"
#include "plan/discover.hpp"
#include "route/route_apply.hpp"

#include <algorithm>
#include <tuple>
#include <optional>

namespace nfdsr::engine {

plan::NodePlan load_plan(const std::string& config_path, const std::string& node)
{
    return load(config_path, node).plan;
}

Loaded load(const std::string& config_path, const std::string& node, const plan::DownSet& down,
            bool live_override)
{
    Loaded l{config::parse_file(config_path), {}};
    if (live_override)
        apply_dispatch_override(l.config);  // a live `nfdsrctl dispatch set` survives reloads
    const std::string name = plan::resolve_node(l.config, node);
    l.plan = plan::derive(l.config, name, down);
    return l;
}

namespace {

// What nfdsr.ko holds before an apply changes it.
struct ModuleState {
    bool known = false;       // read completely: can be put back
    bool configured = false;  // hooks registered: parameters and bindings set
    plan::ModuleParams params;
    std::vector<plan::Binding> bindings;
    std::uint32_t svc_count = 0;
};

ModuleState read_module(kmod::Client& client)
{
    ModuleState s;
    const kmod::Status st = client.get();
    s.configured = st.hooks;
    s.svc_count = st.svc_count;
    s.params = st.params;
    if (s.configured) {
        try {
            s.bindings = client.dump_bindings();
        } catch (const kmod::KmodError& e) {
            // a module built before NFDSR_CMD_BINDING_DUMP (an upgrade not
            // reloaded yet): apply anyway, without the safety net
            NFDSR_LOG(warning) << "nfdsr.ko " << st.version << " cannot list its bindings (" << e.what()
                               << "): if this apply fails, they cannot be put back; reload the module "
                                  "(modprobe -r nfdsr && modprobe nfdsr) to get this";
            return s;
        }
    }
    s.known = true;
    return s;
}

// The module already holds `params` and `bindings` (bindings compared by
// addresses, ports and protocol: the module knows no names).
bool module_has(const ModuleState& s, const plan::ModuleParams& params, const std::vector<plan::Binding>& bindings)
{
    if (!s.known || !s.configured || !(s.params == params) || s.bindings.size() != bindings.size())
        return false;
    using Key = std::tuple<plan::Protocol, std::uint32_t, std::uint16_t, std::uint32_t, std::uint16_t>;
    auto keys = [](const std::vector<plan::Binding>& v) {
        std::vector<Key> k;
        k.reserve(v.size());
        for (const auto& b : v)
            k.emplace_back(b.proto, b.vip.be, b.vport, b.backend_addr.be, b.backend_port);
        std::sort(k.begin(), k.end());
        return k;
    };
    return keys(s.bindings) == keys(bindings);
}

void restore_module(kmod::Client& client, const ModuleState& s)
{
    try {
        if (s.configured)
            client.set(s.params, s.bindings);
        else
            client.flush();
        NFDSR_LOG(warning) << "nfdsr.ko: put back what it had before the failed apply ("
                           << (s.configured ? std::to_string(s.bindings.size()) + " bindings" : "not configured")
                           << ")";
    } catch (const std::exception& e) {
        NFDSR_LOG(error) << "nfdsr.ko: could not put back its previous state after the failed apply: " << e.what()
                         << "; apply a working config again";
    }
}

// Puts the service table back as it was before a failed apply.
void restore_services(kmod::Client& client, const kmod::ServiceChanges& c)
{
    try {
        client.del_services(c.restore_del);
        client.set_services(c.restore_set);
        NFDSR_LOG(warning) << "nfdsr.ko: service table put back (" << c.restore_set.size() << " set, "
                           << c.restore_del.size() << " removed)";
    } catch (const std::exception& e) {
        NFDSR_LOG(error) << "nfdsr.ko: could not put its service table back after the failed apply: " << e.what()
                         << "; apply a working config again";
    }
}

}  // namespace

nft::ChangeStats install(const plan::NodePlan& plan, bool module, nft::Table* table, ServiceRecord* services)
{
    nft::Table one_shot;
    nft::Table& nft_table = table ? *table : one_shot;
    nft_table.prepare(plan);  // throws here if nftables would reject it: nothing changed yet
    std::vector<kmod::Service> wanted = module ? kmod::services_of(plan) : std::vector<kmod::Service>{};

    std::optional<kmod::Client> client;
    ModuleState before;
    kmod::ServiceChanges changes;
    if (module) {
        client.emplace(kmod::Client::open());
        before = read_module(*client);
        if (services && services->installed &&
            (!before.configured || services->installed->size() != before.svc_count))
            services->installed.reset();  // the module was reloaded or flushed behind our back
        if (services && services->installed) {
            changes = kmod::diff(*services->installed, wanted);  // (no copy of the record's tables)
        } else {
            std::vector<kmod::Service> installed = client->dump_services();  // (in the module's hash order)
            std::sort(installed.begin(), installed.end(),
                      [](const kmod::Service& a, const kmod::Service& b) { return kmod::key_less(a.key, b.key); });
            changes = kmod::diff(installed, wanted);
        }
        if (services)
            services->installed.reset();  // unknown until this apply is through
        if (!module_has(before, plan.params, plan.bindings)) {  // (a no-op apply writes nothing)
            client->set(plan.params, plan.bindings);
            NFDSR_LOG(info) << "nfdsr.ko: " << plan.bindings.size() << " bindings set";
        }
        try {
            client->set_services(changes.set);
        } catch (...) {
            restore_services(*client, changes);
            if (before.known)
                restore_module(*client, before);
            throw;
        }
        NFDSR_LOG(info) << "nfdsr.ko: " << changes.set.size() << " of " << wanted.size()
                        << " services set (new or changed)";
    }
    try {
        // tunl0 and the fwmark routes before nftables starts setting route marks
        route::apply(plan);
        const nft::ChangeStats next = nft_table.pending();
        NFDSR_LOG(info) << "nftables: committing the " << (next.incremental ? "update" : "replacement")
                        << " of table ip " << nft::kTable << " for " << plan.entry.size() << " entry services ("
                        << next.messages << " messages, " << next.bytes << " bytes)";
        const nft::ChangeStats st = nft_table.commit();
        NFDSR_LOG(info) << "nftables: table ip " << nft::kTable << " " << (st.incremental ? "updated" : "replaced")
                        << " (" << plan.entry.size() << " entry services; " << st.messages << " messages"
                        << (st.kept_hooks ? "; same table and base chains" : "") << ")";
        if (client) {
            // nftables no longer marks them: now they can go (a failure here
            // leaves unused services behind, not a broken data path)
            try {
                client->del_services(changes.del);
                if (!changes.del.empty())
                    NFDSR_LOG(info) << "nfdsr.ko: " << changes.del.size() << " services removed";
                if (services)
                    services->installed = std::move(wanted);
            } catch (const std::exception& e) {
                NFDSR_LOG(warning) << "nfdsr.ko: removing " << changes.del.size()
                                   << " services no longer configured failed (" << e.what()
                                   << "); nothing sends them traffic, the next apply retries";
            }
        }
        return st;
    } catch (...) {
        // nftables did not change: the module goes back to what goes with
        // the ruleset that is still running
        if (client)
            restore_services(*client, changes);
        if (client && before.known)
            restore_module(*client, before);
        else if (client)
            NFDSR_LOG(warning) << "nfdsr.ko keeps the new bindings although nftables was not updated; "
                                  "apply a working config again";
        throw;
    }
}

void apply_file(const Loaded& loaded, bool module)
{
    install(loaded.plan, module);
    clear_dispatch_override();
}

namespace {

// How much Maglev work a plan derivation did (reused: unchanged services).
void log_maglev_work(const maglev::Memo::Stats& before)
{
    const auto now = maglev::memo().stats();
    NFDSR_LOG(info) << "plan: " << now.built - before.built << " Maglev tables computed, "
                    << now.reused - before.reused << " reused";
}

}  // namespace

Loaded apply(const std::string& config_path, const std::string& node, const plan::DownSet& down, bool module,
             nft::Table& table, ServiceRecord& services)
{
    const auto memo_before = maglev::memo().stats();
    auto loaded = load(config_path, node, down);
    log_maglev_work(memo_before);
    NFDSR_LOG(debug) << "plan:\n" << plan::describe(loaded.plan);
    install(loaded.plan, module, &table, &services);
    return loaded;
}

plan::NodePlan reapply(const config::Config& config, const std::string& node, const plan::DownSet& down,
                       bool module, nft::Table& table, ServiceRecord& services)
{
    const auto memo_before = maglev::memo().stats();
    auto p = plan::derive(config, node, down);
    log_maglev_work(memo_before);
    install(p, module, &table, &services);
    return p;
}

void remove(bool module)
{
    nft::flush();
    route::flush();
    if (module)
        kmod::Client::open().flush();
}

std::vector<std::string> module_bindings()
{
    std::vector<std::string> out;
    for (const auto& b : kmod::Client::open().dump_bindings())
        out.push_back(std::string(b.proto == plan::Protocol::udp ? "udp" : "tcp") + " " +
                      config::format_ipv4(b.vip) + ":" + std::to_string(b.vport) + " -> " +
                      config::format_ipv4(b.backend_addr) + ":" + std::to_string(b.backend_port));
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<kmod::Status> module_status(std::string& why)
{
    try {
        return kmod::Client::open().get();
    } catch (const std::exception& e) {
        why = e.what();
        return std::nullopt;
    }
}

bool module_matches(const ServiceRecord& record)
{
    if (!record.installed)
        return false;
    try {
        const kmod::Status st = kmod::Client::open().get();
        return st.hooks && st.svc_count == record.installed->size();
    } catch (const std::exception&) {
        return false;
    }
}

std::vector<kmod::Service> module_services() { return kmod::Client::open().dump_services(); }

const char* module_dispatch(const kmod::Service& s)
{
    if (s.flags & kmod::kSvcClassic)
        return "ipip-classic";
    for (const auto& b : s.backends)
        if (b.route_mark)
            return "ipip";
    return "opt";
}

kmod::SvcLookup module_lookup(const kmod::SvcKey& key, plan::Ipv4 client, std::uint16_t client_port,
                              std::uint8_t tcp_flags)
{
    return kmod::Client::open().lookup(key, client, client_port, tcp_flags);
}

}  // namespace nfdsr::engine
