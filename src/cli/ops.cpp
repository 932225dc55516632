#include "cli/ops.hpp"

#include "cli/dispatch_override.hpp"
#include "common/log.hpp"
#include "config/parse.hpp"
#include "kmod_client/client.hpp"
#include "nft/nft_apply.hpp"
#include "plan/derive.hpp"
#include "plan/discover.hpp"
#include "route/route_apply.hpp"

#include <optional>

namespace nfdsr::ops {

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

nft::ChangeStats install(const plan::NodePlan& plan, bool module, nft::Table* table,
                         const plan::NodePlan* previous)
{
    nft::Table one_shot;
    nft::Table& nft_table = table ? *table : one_shot;
    nft_table.prepare(plan);  // throws here if nftables would reject it: nothing changed yet

    std::optional<kmod::Client> client;
    if (module) {
        client.emplace(kmod::Client::open());
        client->set(plan.params, plan.bindings);
        NFDSR_LOG(info) << "nfdsr.ko: " << plan.bindings.size() << " bindings set";
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
        return st;
    } catch (...) {
        // nftables did not change: put the module back to what goes with
        // the ruleset that is still running.
        if (client && previous) {
            try {
                client->set(previous->params, previous->bindings);
                NFDSR_LOG(warning) << "nfdsr.ko: restored the previous " << previous->bindings.size()
                                   << " bindings after the failed apply";
            } catch (const std::exception& e) {
                NFDSR_LOG(error) << "nfdsr.ko: could not restore the previous bindings: " << e.what();
            }
        } else if (client) {
            NFDSR_LOG(warning) << "nfdsr.ko keeps the new bindings although nftables was not updated; "
                                  "apply a working config again";
        }
        throw;
    }
}

void remove(bool module)
{
    nft::flush();
    route::flush();
    if (module)
        kmod::Client::open().flush();
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

}  // namespace nfdsr::ops
