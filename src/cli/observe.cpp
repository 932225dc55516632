#include "cli/observe.hpp"

#include "config/scalars.hpp"
#include "engine/engine.hpp"
#include "maglev/flow_hash.hpp"
#include "nft/nft_apply.hpp"
#include "plan/describe.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>

namespace nfdsr::cli {

namespace {

std::string ep(plan::Ipv4 a, std::uint16_t port) { return config::format_ipv4(a) + ":" + std::to_string(port); }
const char* proto_name(plan::Protocol p) { return p == plan::Protocol::udp ? "udp" : "tcp"; }

std::string dispatch_detail(const plan::EntryServicePlan& e, const plan::BackendPlan& b)
{
    const bool local = b.route_mark == 0 && e.dispatch == plan::Dispatch::ipip;
    std::string d;
    if (e.dispatch == plan::Dispatch::opt) {
        d = "opt: destination rewritten to " + ep(b.addr, b.port) +
            (e.proto == plan::Protocol::tcp ? ", DSR option (service " + ep(e.vip, e.vport) +
                                                  ") attached to the SYN by nfdsr.ko"
                                            : ", DSR option (service " + ep(e.vip, e.vport) +
                                                  ") attached to every datagram by nfdsr.ko") +
            ", routed to " + config::format_ipv4(b.addr);
    } else if (local) {
        d = "ipip (backend on this node, no tunnel): destination rewritten to " + ep(b.addr, b.port);
    } else if (e.ipip_mode == plan::IpipMode::classic) {
        d = "ipip classic: destination stays " + ep(e.vip, e.vport) + ", IPIP via tunl0 to node " + b.node;
    } else {
        d = "ipip: destination rewritten to " + ep(b.addr, b.port) + " (DSR option on the " +
            (e.proto == plan::Protocol::tcp ? std::string("SYN") : std::string("datagram")) +
            "), IPIP via tunl0 to node " + b.node;
    }
    return d;
}

}  // namespace

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

void parse_endpoint(const std::string& text, plan::Ipv4& addr, std::uint16_t& port)
{
    const auto colon = text.rfind(':');
    if (colon == std::string::npos)
        throw std::invalid_argument("'" + text + "': expected ADDRESS:PORT");
    auto a = config::parse_ipv4(text.substr(0, colon));
    if (!a)
        throw std::invalid_argument("'" + text + "': '" + text.substr(0, colon) + "' is not an IPv4 address");
    const std::string p = text.substr(colon + 1);
    char* end = nullptr;
    const unsigned long v = std::strtoul(p.c_str(), &end, 10);
    if (p.empty() || *end || v == 0 || v > 65535)
        throw std::invalid_argument("'" + text + "': port must be 1..65535");
    addr = *a;
    port = static_cast<std::uint16_t>(v);
}

namespace {

// nfdsr.ko's pick for a new connection (a SYN for TCP) of the queried flow.
void ask_kernel(const TraceQuery& q, TraceResult& r)
{
    try {
        const kmod::SvcKey key{q.proto, q.vip, q.vport, kmod::SvcKind::entry};
        const std::uint8_t syn = 0x02;
        r.kernel = engine::module_lookup(key, q.client, q.client_port,
                                               q.proto == plan::Protocol::tcp ? syn : 0);
    } catch (const std::exception& e) {
        r.kernel_error = e.what();
    }
}

}  // namespace

TraceResult trace(const plan::NodePlan& plan, const TraceQuery& q, bool ask_module)
{
    TraceResult r;
    for (const auto& e : plan.entry)
        if (e.vip == q.vip && e.vport == q.vport && e.proto == q.proto)
            r.service = &e;
    for (const auto& b : plan.bindings)
        if (b.vip == q.vip && b.vport == q.vport && b.proto == q.proto)
            r.bindings.push_back(&b);
    if (!r.service)
        return r;
    if (ask_module)
        ask_kernel(q, r);
    const auto& e = *r.service;
    r.draining = !e.maglev_established.empty();
    if (e.maglev.empty() && !r.draining)
        return r;
    const std::uint32_t m = static_cast<std::uint32_t>(r.draining ? e.maglev_established.size() : e.maglev.size());
    r.bucket = maglev::nft_flow_bucket(q.client.be, q.client_port, m, e.hash_seed);
    {
        std::uint8_t data[maglev::kFlowHashLen] = {};
        std::memcpy(data, &q.client.be, 4);
        data[4] = static_cast<std::uint8_t>(q.client_port >> 8);
        data[5] = static_cast<std::uint8_t>(q.client_port);
        r.hash = maglev::jhash(data, maglev::kFlowHashLen, e.hash_seed);
    }
    if (r.draining) {
        const std::uint32_t old = e.maglev_established[r.bucket];
        if (old < e.backends.size())
            r.established = &e.backends[old];
        r.moved = e.maglev.empty() || e.maglev[r.bucket] != old;
    }
    if (e.maglev.empty())
        return r;
    const std::uint32_t idx = e.maglev[r.bucket];
    if (idx < e.backends.size())
        r.backend = &e.backends[idx];
    return r;
}

namespace {

// Does nfdsr.ko's pick for a new connection match the plan's prediction?
bool kernel_agrees(const TraceResult& r)
{
    if (!r.kernel || !r.service)
        return false;
    const auto& k = *r.kernel;
    const plan::BackendPlan* picked =
        k.has_backend && k.backend < r.service->backends.size() ? &r.service->backends[k.backend] : nullptr;
    return picked == r.backend && k.bucket == r.bucket;
}

}  // namespace

std::string render_trace(const plan::NodePlan& plan, const TraceQuery& q, const TraceResult& r, bool json)
{
    std::ostringstream o;
    const std::string flow = ep(q.client, q.client_port) + " -> " + ep(q.vip, q.vport) + "/" + proto_name(q.proto);
    if (json) {
        o << "{\n  \"node\": \"" << json_escape(plan.node) << "\",\n  \"flow\": {\"client\": \""
          << config::format_ipv4(q.client) << "\", \"client_port\": " << q.client_port << ", \"address\": \""
          << config::format_ipv4(q.vip) << "\", \"port\": " << q.vport << ", \"protocol\": \"" << proto_name(q.proto)
          << "\"},\n  \"entry_service\": ";
        if (!r.service) {
            o << "null";
        } else {
            const auto& e = *r.service;
            o << "{\"name\": \"" << json_escape(e.name) << "\", \"dispatch\": \"" << plan::dispatch_label(e) << "\", \"maglev_size\": " << e.maglev.size()
              << ", \"hash_seed\": " << e.hash_seed << "}";
        }
        const bool hashed = r.service && (!r.service->maglev.empty() || r.draining);
        o << ",\n  \"hash\": " << (hashed ? std::to_string(r.hash) : "null")
          << ",\n  \"bucket\": " << (hashed ? std::to_string(r.bucket) : "null");
        if (r.draining)
            o << ",\n  \"drain\": {\"established_backend\": "
              << (r.established ? "\"" + json_escape(r.established->name) + "\"" : std::string("null"))
              << ", \"bucket_moved\": " << (r.moved ? "true" : "false") << "}";
        o << ",\n  \"backend\": ";
        if (!r.backend) {
            o << "null";
        } else {
            const auto& b = *r.backend;
            o << "{\"name\": \"" << json_escape(b.name) << "\", \"address\": \"" << config::format_ipv4(b.addr)
              << "\", \"port\": " << b.port << ", \"node\": \"" << json_escape(b.node) << "\", \"weight\": "
              << b.weight << ", \"dispatch\": \""
              << json_escape(dispatch_detail(*r.service, b)) << "\"}";
        }
        o << ",\n  \"kernel\": ";
        if (r.kernel) {
            const auto& k = *r.kernel;
            o << "{\"bucket\": " << k.bucket << ", \"table\": \""
              << (k.established_table ? "established" : "current") << "\", \"backend\": ";
            if (k.has_backend && r.service && k.backend < r.service->backends.size())
                o << "\"" << json_escape(r.service->backends[k.backend].name) << "\"";
            else
                o << "null";
            o << ", \"agrees\": " << (kernel_agrees(r) ? "true" : "false") << "}";
        } else {
            o << "null";
        }
        o << ",\n  \"local_bindings\": [";
        for (std::size_t i = 0; i < r.bindings.size(); ++i)
            o << (i ? ", " : "") << "{\"service\": \"" << json_escape(r.bindings[i]->service) << "\", \"backend\": \""
              << json_escape(r.bindings[i]->backend) << "\", \"address\": \""
              << config::format_ipv4(r.bindings[i]->backend_addr) << "\", \"port\": " << r.bindings[i]->backend_port
              << "}";
        o << "]\n}\n";
        return o.str();
    }
    o << "flow " << flow << " on node " << plan.node << "\n";
    if (!r.service) {
        o << "entry: not an entry service on this node (no entry service " << ep(q.vip, q.vport) << "/"
          << proto_name(q.proto) << "): nfdsr leaves the packet to the normal stack\n";
    } else {
        const auto& e = *r.service;
        o << "entry service: " << e.name << " " << ep(e.vip, e.vport) << "/" << proto_name(e.proto) << " (dispatch "
          << plan::dispatch_label(e) << ")\n";
        if (e.maglev.empty() && !r.draining) {
            o << "backend: none (no backend with weight > 0): dropped by nfdsr.ko (no_backend)\n";
        } else if (e.maglev.empty()) {
            o << "backend: none for new connections (every backend drains or is down): SYNs are dropped\n";
        } else {
            char hex[16];
            std::snprintf(hex, sizeof hex, "0x%08x", e.hash_seed);
            o << "maglev bucket: " << r.bucket << " of " << e.maglev.size() << " = jhash(ip saddr . th sport, seed "
              << hex << ") -> " << r.hash << ", scaled to mod " << e.maglev.size() << "\n";
            if (r.backend) {
                const auto& b = *r.backend;
                o << "backend: " << b.name << " " << ep(b.addr, b.port) << " on node " << b.node << " (weight "
                  << b.weight << ")\n";
                o << "dispatch: " << dispatch_detail(e, b) << "\n";
            }
        }
        if (r.draining && r.established) {
            o << "drain: a connection opened before the drain goes to " << r.established->name << " "
              << ep(r.established->addr, r.established->port) << "; "
              << (r.moved ? "the drain moved this bucket: a connection opened during the drain is remembered by "
                            "its SYN (nfdsr.ko's drain flows) and stays on the backend above"
                          : "the drain did not move this bucket")
              << "\n";
        }
    }
    if (r.kernel) {
        const auto& k = *r.kernel;
        o << "kernel: nfdsr.ko picks bucket " << k.bucket
          << (k.established_table ? " of the table from before the drain" : "") << ", backend ";
        if (k.has_backend && r.service && k.backend < r.service->backends.size())
            o << r.service->backends[k.backend].name;
        else
            o << "none (dropped)";
        o << (kernel_agrees(r) ? ": agrees with the prediction\n" : ": DIFFERS from the prediction above\n");
    } else if (!r.kernel_error.empty()) {
        o << "kernel: not asked (" << r.kernel_error << ")\n";
    }
    for (const auto* b : r.bindings)
        o << "backend role: this node serves " << b->service << " with local backend " << b->backend << " "
          << ep(b->backend_addr, b->backend_port) << " (accepts the DSR option, rewrites replies to "
          << ep(b->vip, b->vport) << ")\n";
    return o.str();
}

namespace {

std::uint64_t module_counter(const metrics::ModuleSample& m, const std::string& name)
{
    for (const auto& [n, v] : m.counters)
        if (n == name)
            return v;
    return 0;
}

std::string roles(const metrics::Snapshot& s)
{
    std::string r;
    if (!s.services.empty())
        r = "entry";
    if (!s.backend_of.empty())
        r += r.empty() ? "backend" : ", backend";
    return r.empty() ? "none" : r;
}

std::string dispatch_modes(const metrics::Snapshot& s)
{
    std::vector<std::string> modes;
    for (const auto& svc : s.services)
        if (std::find(modes.begin(), modes.end(), svc.dispatch) == modes.end())
            modes.push_back(svc.dispatch);
    std::string out;
    for (const auto& m : modes)
        out += (out.empty() ? "" : ", ") + m;
    return out.empty() ? "-" : out;
}

}  // namespace

std::string render_status_text(const metrics::Snapshot& s)
{
    std::ostringstream o;
    if (!s.node.empty())
        o << "node:     " << s.node << " (" << s.node_address << ")\n"
          << "roles:    " << roles(s) << "\n"
          << "dispatch: " << dispatch_modes(s) << "\n";
    if (!s.config_error.empty())
        o << "error:    " << s.config_error << "\n";
    if (!s.daemon.empty())
        o << "nfdsrd:   " << s.daemon << "\n";
    o << "nftables: table ip " << nft::kTable << (s.table_installed ? " installed" : " not installed") << "\n";
    if (!s.module_queried) {
        o << "module:   not queried (--no-module)\n";
    } else if (!s.module.loaded) {
        o << "module:   not loaded: " << s.module.error << "\n";
    } else {
        const auto& m = s.module;
        o << "module:   nfdsr.ko " << m.version << ", " << m.bindings << " bindings, flows " << m.flows << "/"
          << m.flows_max << ", evictions " << module_counter(m, "flow_evicted") << "\n";
    }
    for (const auto& svc : s.services) {
        o << "\nservice " << svc.name << " " << svc.address << ":" << svc.port << "/" << svc.protocol << " dispatch "
          << svc.dispatch << ", maglev " << svc.maglev_size << ", no-backend drops " << svc.dropped_packets << "\n";
        char line[512];
        std::snprintf(line, sizeof line, "  %-16s %-21s %-12s %6s %7s %-15s %12s %14s\n", "BACKEND", "ADDRESS", "NODE",
                      "WEIGHT", "BUCKETS", "HEALTH", "PACKETS", "BYTES");
        o << line;
        for (const auto& b : svc.backends) {
            const std::string addr = b.address + ":" + std::to_string(b.port);
            std::snprintf(line, sizeof line, "  %-16s %-21s %-12s %6u %7u %-15s %12llu %14llu\n", b.name.c_str(),
                          addr.c_str(), b.node.c_str(), b.weight, b.buckets,
                          (b.draining ? b.health + ",drain" : b.health).c_str(),
                          static_cast<unsigned long long>(b.packets), static_cast<unsigned long long>(b.bytes));
            o << line;
        }
    }
    if (!s.backend_of.empty()) {
        o << "\nbackend for:\n";
        for (std::size_t i = 0; i < s.backend_of.size(); ++i) {
            o << "  " << s.backend_of[i];
            if (i < s.backend_flows.size())
                o << ": " << s.backend_flows[i].open << " open flows (" << s.backend_flows[i].closing << " closing)";
            o << "\n";
        }
    }
    if (s.module.loaded && !s.module.counters.empty()) {
        o << "\nmodule counters:\n";
        for (const auto& [n, v] : s.module.counters)
            o << "  " << n << " " << v << "\n";
    }
    return o.str();
}

std::string render_status_json(const metrics::Snapshot& s)
{
    std::ostringstream o;
    auto str = [](const std::string& v) { return "\"" + json_escape(v) + "\""; };
    o << "{\n  \"node\": " << (s.node.empty() ? "null" : str(s.node))
      << ",\n  \"node_address\": " << (s.node.empty() ? "null" : str(s.node_address)) << ",\n  \"roles\": [";
    bool first = true;
    if (!s.services.empty()) {
        o << "\"entry\"";
        first = false;
    }
    if (!s.backend_of.empty())
        o << (first ? "" : ", ") << "\"backend\"";
    o << "],\n  \"dispatch\": [";
    {
        std::vector<std::string> modes;
        for (const auto& svc : s.services)
            if (std::find(modes.begin(), modes.end(), svc.dispatch) == modes.end())
                modes.push_back(svc.dispatch);
        for (std::size_t i = 0; i < modes.size(); ++i)
            o << (i ? ", " : "") << str(modes[i]);
    }
    o << "],\n  \"error\": " << (s.config_error.empty() ? "null" : str(s.config_error))
      << ",\n  \"nfdsrd\": " << (s.daemon.empty() ? "null" : str(s.daemon))
      << ",\n  \"nftables\": {\"table\": \"ip " << nft::kTable << "\", \"installed\": "
      << (s.table_installed ? "true" : "false") << "},\n  \"module\": ";
    if (!s.module_queried) {
        o << "{\"loaded\": null, \"error\": \"not queried (--no-module)\"}";
    } else if (!s.module.loaded) {
        o << "{\"loaded\": false, \"error\": " << str(s.module.error) << "}";
    } else {
        const auto& m = s.module;
        o << "{\"loaded\": true, \"version\": " << str(m.version) << ", \"bindings\": " << m.bindings
          << ", \"flows\": " << m.flows << ", \"flows_max\": " << m.flows_max
          << ", \"evictions\": " << module_counter(m, "flow_evicted") << ",\n    \"counters\": {";
        for (std::size_t i = 0; i < m.counters.size(); ++i)
            o << (i ? ", " : "") << str(m.counters[i].first) << ": " << m.counters[i].second;
        o << "}}";
    }
    o << ",\n  \"services\": [";
    for (std::size_t si = 0; si < s.services.size(); ++si) {
        const auto& svc = s.services[si];
        o << (si ? "," : "") << "\n    {\"name\": " << str(svc.name) << ", \"address\": " << str(svc.address)
          << ", \"port\": " << svc.port << ", \"protocol\": " << str(svc.protocol) << ", \"dispatch\": "
          << str(svc.dispatch) << ", \"maglev_size\": " << svc.maglev_size << ", \"hash_seed\": " << svc.hash_seed
          << ", \"dropped_packets\": " << svc.dropped_packets
          << ",\n     \"backends\": [";
        for (std::size_t bi = 0; bi < svc.backends.size(); ++bi) {
            const auto& b = svc.backends[bi];
            o << (bi ? "," : "") << "\n       {\"name\": " << str(b.name) << ", \"address\": " << str(b.address)
              << ", \"port\": " << b.port << ", \"node\": " << str(b.node) << ", \"local\": "
              << (b.local ? "true" : "false") << ", \"weight\": " << b.weight << ", \"buckets\": " << b.buckets
              << ", \"health\": " << str(b.health) << ", \"up\": " << (b.up ? "true" : "false")
              << ", \"draining\": " << (b.draining ? "true" : "false")
              << ", \"packets\": " << b.packets << ", \"bytes\": " << b.bytes << "}";
        }
        o << "]}";
    }
    o << (s.services.empty() ? "" : "\n  ") << "],\n  \"backend_for\": [";
    for (std::size_t i = 0; i < s.backend_of.size(); ++i)
        o << (i ? ", " : "") << str(s.backend_of[i]);
    o << "]";
    if (!s.backend_flows.empty()) {
        o << ",\n  \"backend_flows\": [";
        for (std::size_t i = 0; i < s.backend_flows.size() && i < s.backend_of.size(); ++i)
            o << (i ? ", " : "") << "{\"binding\": " << str(s.backend_of[i]) << ", \"open\": " << s.backend_flows[i].open
              << ", \"closing\": " << s.backend_flows[i].closing << "}";
        o << "]";
    }
    o << "\n}\n";
    return o.str();
}

}  // namespace nfdsr::cli
