#include "cli/ops.hpp"

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
    const config::Config cfg = config::parse_file(config_path);
    const std::string name = plan::resolve_node(cfg, node);
    return plan::derive(cfg, name);
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
