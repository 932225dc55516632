#include "cli/ops.hpp"

#include "cli/dispatch_override.hpp"

#include "common/log.hpp"
#include "config/parse.hpp"
#include "kmod_client/client.hpp"
#include "nft/nft_apply.hpp"
#include "plan/derive.hpp"
#include "plan/discover.hpp"
#include "route/route_apply.hpp"

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

void install(const plan::NodePlan& plan, bool module)
{
    if (module) {
        kmod::Client::open().set(plan.params, plan.bindings);
        NFDSR_LOG(info) << "nfdsr.ko: " << plan.bindings.size() << " bindings set";
    }
    // tunl0 and the fwmark routes before nftables starts setting route marks
    route::apply(plan);
    nft::apply(plan);
    NFDSR_LOG(info) << "nftables: table ip " << nft::kTable << " applied (" << plan.entry.size()
                    << " entry services)";
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
