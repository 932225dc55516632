#include "config/validate.hpp"

#include "config/quote.hpp"
#include "config/scalars.hpp"
#include "maglev/maglev.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <iterator>
#include <unordered_map>
#include <map>
#include <set>
#include <tuple>

namespace nfdsr::config {
namespace {

std::string index(std::string_view parent, std::size_t i)
{
    return std::string(parent) + "[" + std::to_string(i) + "]";
}

const char* proto_name(Protocol p)
{
    return p == Protocol::udp ? "udp" : "tcp";
}

class Checker {
public:
    Checker(Config& config, Diagnostics& out) : c_(config), out_(out) {}

    void run()
    {
        check_nodes();
        for (std::size_t i = 0; i < c_.services.size(); ++i)
            check_service(i);
        check_service_names();
        check_service_addresses();
        check_backend_placement();
    }

private:
    void error(Mark mark, const std::string& path, std::string message)
    {
        out_.add({c_.source, mark, path, std::move(message)});
    }

    static std::string where(Mark m)
    {
        return m.line > 0 ? " (line " + std::to_string(m.line) + ")" : "";
    }

    void check_nodes()
    {
        std::map<std::string, std::size_t> names;
        std::map<std::uint32_t, std::size_t> addresses;
        for (std::size_t i = 0; i < c_.nodes.size(); ++i) {
            const Node& n = c_.nodes[i];
            const std::string path = index("nodes", i);
            if (!n.name.empty()) {
                auto [it, fresh] = names.emplace(n.name, i);
                if (!fresh)
                    error(n.marks.of("name"), path + ".name",
                          "found duplicate node name " + quote(n.name) + ", already used by " + index("nodes", it->second) +
                              where(c_.nodes[it->second].marks.of("name")) + ", expected a unique name");
            }
            if (n.address.be != 0) {
                auto [it, fresh] = addresses.emplace(n.address.be, i);
                if (!fresh)
                    error(n.marks.of("address"), path + ".address",
                          "found duplicate node address " + format_ipv4(n.address) + ", already used by " +
                              index("nodes", it->second) + ", expected a unique address");
            }
            for (std::size_t j = 0; j < i && n.pod_cidr; ++j) {
                const auto& other = c_.nodes[j].pod_cidr;
                if (other && (cidr_contains(*other, n.pod_cidr->network) || cidr_contains(*n.pod_cidr, other->network)))
                    error(n.marks.of("pod_cidr"), path + ".pod_cidr",
                          "found a pod CIDR overlapping " + index("nodes", j) + ".pod_cidr, expected disjoint pod CIDRs");
            }
        }
    }

    void check_service(std::size_t si)
    {
        Service& s = c_.services[si];
        const std::string path = index("services", si);

        if (!has_field(s.marks, "entry_nodes")) {
            for (const auto& n : c_.nodes)
                s.entry_nodes.push_back(n.name);
        } else {
            std::set<std::string> seen;
            for (std::size_t i = 0; i < s.entry_nodes.size(); ++i) {
                const auto& name = s.entry_nodes[i];
                if (!node_named(name))
                    error(s.marks.of("entry_nodes"), index(path + ".entry_nodes", i),
                          "found unknown node " + quote(name) + ", expected a name from nodes[]");
                if (!seen.insert(name).second)
                    error(s.marks.of("entry_nodes"), index(path + ".entry_nodes", i),
                          "found node " + quote(name) + " twice, expected each entry node once");
            }
        }

        std::map<std::string, std::size_t> names;
        std::map<std::pair<std::uint32_t, std::uint16_t>, std::size_t> endpoints;
        bool any_weight = false, any_taking = false;
        for (std::size_t bi = 0; bi < s.backends.size(); ++bi) {
            const Backend& b = s.backends[bi];
            const std::string bpath = index(path + ".backends", bi);
            any_weight = any_weight || b.weight > 0;
            any_taking = any_taking || (b.weight > 0 && !b.drain);
            // a UDP flow has no first packet the entry node could tell
            // apart, so there is nothing to keep on the draining backend
            if (b.drain && s.protocol == Protocol::udp)
                error(b.marks.of("drain"), bpath + ".drain",
                      "found drain: true on a UDP service, expected it only on TCP services (for UDP, weight: 0 "
                      "takes the backend out)");
            if (!b.node.empty() && !node_named(b.node))
                error(b.marks.of("node"), bpath + ".node",
                      "found unknown node " + quote(b.node) + ", expected a name from nodes[]");
            if (!b.name.empty()) {
                auto [it, fresh] = names.emplace(b.name, bi);
                if (!fresh)
                    error(b.marks.of("name"), bpath + ".name",
                          "found duplicate backend name " + quote(b.name) + ", already used by " +
                              index(path + ".backends", it->second) + ", expected a unique name within the service");
            }
            if (b.address.be != 0 && b.port != 0) {
                auto [it, fresh] = endpoints.emplace(std::make_pair(b.address.be, b.port), bi);
                if (!fresh)
                    error(b.marks.entity, bpath,
                          "found duplicate backend " + format_ipv4(b.address) + ":" + std::to_string(b.port) +
                              ", already used by " + index(path + ".backends", it->second) +
                              ", expected each address:port once per service");
            }
        }
        if (!s.backends.empty() && !any_weight)
            error(s.marks.of("backends"), path + ".backends",
                  "found only backends with weight 0, expected at least one with weight > 0");
        else if (!s.backends.empty() && !any_taking)
            error(s.marks.of("backends"), path + ".backends",
                  "found every backend draining or with weight 0, expected at least one that takes new "
                  "connections (weight > 0 and no drain: true)");

        const std::size_t n = s.backends.size();
        if (s.maglev_table_size == 0) {
            if (!has_field(s.marks, "maglev_table_size"))
                s.maglev_table_size = maglev::default_table_size(n);
        } else if (s.maglev_table_size < n) {
            error(s.marks.of("maglev_table_size"), path + ".maglev_table_size",
                  "found " + std::to_string(s.maglev_table_size) + ", expected a prime >= the number of backends (" +
                      std::to_string(n) + ")");
        }
    }

    static bool has_field(const FieldMarks& marks, std::string_view name)
    {
        return std::any_of(marks.fields.begin(), marks.fields.end(), [&](const auto& f) { return f.first == name; });
    }

    void check_service_names()
    {
        std::map<std::string, std::size_t> names;
        for (std::size_t i = 0; i < c_.services.size(); ++i) {
            const Service& s = c_.services[i];
            if (s.name.empty())
                continue;
            auto [it, fresh] = names.emplace(s.name, i);
            if (!fresh)
                error(s.marks.of("name"), index("services", i) + ".name",
                      "found duplicate service name " + quote(s.name) + ", already used by " +
                          index("services", it->second) + ", expected a unique name");
        }
    }

    // Two services must not claim the same (address, protocol, port): the
    // entry node could not tell them apart. NodePort services claim every
    // entry node's address.
    // Node by name, built once (Config::find_node is a linear scan); the
    // first of duplicate names, as find_node.
    const Node* node_named(const std::string& name)
    {
        if (nodes_by_name_.empty())
            for (const auto& n : c_.nodes)
                nodes_by_name_.emplace(n.name, &n);
        auto it = nodes_by_name_.find(name);
        return it == nodes_by_name_.end() ? nullptr : it->second;
    }

    // Who claims a port: the service addresses (VIP, or each entry node's
    // address for a NodePort) of one protocol and port, first claimant by
    // address. `addresses` is filled only once a second service shares the
    // protocol and port (materialize()): a config of distinct ports costs
    // O(services), not O(services x entry nodes).
    struct PortClaims {
        std::vector<std::size_t> node_port_services;  // in config order
        std::map<std::uint32_t, std::size_t> addresses;
        bool materialized = false;
    };

    std::vector<Ipv4> addresses_of(const Service& s)
    {
        std::vector<Ipv4> out;
        if (s.node_port) {
            for (const auto& name : s.entry_nodes)
                if (const Node* n = node_named(name))
                    out.push_back(n->address);
        } else if (s.vip && s.port) {
            out.push_back(*s.vip);
        }
        return out;
    }

    void materialize(PortClaims& g)
    {
        if (g.materialized)
            return;
        g.materialized = true;
        for (std::size_t j : g.node_port_services)
            for (Ipv4 a : addresses_of(c_.services[j]))
                g.addresses.emplace(a.be, j);
    }

    void check_service_addresses()
    {
        std::map<std::pair<Protocol, std::uint16_t>, PortClaims> claims;
        for (std::size_t i = 0; i < c_.services.size(); ++i) {
            const Service& s = c_.services[i];
            std::uint16_t port = 0;
            if (s.node_port)
                port = *s.node_port;
            else if (s.vip && s.port)
                port = *s.port;
            else
                continue;
            PortClaims& g = claims[{s.protocol, port}];
            if (s.node_port && g.node_port_services.empty() && !g.materialized) {
                g.node_port_services.push_back(i);  // alone so far: nothing to compare
                continue;
            }
            materialize(g);
            for (Ipv4 a : addresses_of(s)) {
                auto [it, fresh] = g.addresses.emplace(a.be, i);
                if (!fresh && it->second != i)
                    error(s.marks.entity, index("services", i),
                          "found " + format_ipv4(a) + ":" + std::to_string(port) + "/" + proto_name(s.protocol) +
                              " already used by " + index("services", it->second) + " (" +
                              quote(c_.services[it->second].name) + "), expected a unique service address");
            }
            if (s.node_port)
                g.node_port_services.push_back(i);
        }
        // health_check_node_port: TCP on each entry node's own address; it
        // must not be a service address nor another service's health port.
        // Per port, as above: entry nodes are walked only for a port that a
        // service or another health check also uses.
        std::map<std::uint16_t, std::vector<std::size_t>> health_users;
        for (std::size_t i = 0; i < c_.services.size(); ++i)
            if (c_.services[i].health_check_node_port)
                health_users[*c_.services[i].health_check_node_port].push_back(i);
        for (auto& [port, users] : health_users) {
            auto svc_claims = claims.find({Protocol::tcp, port});
            if (svc_claims == claims.end() && users.size() < 2)
                continue;
            if (svc_claims != claims.end())
                materialize(svc_claims->second);
            std::map<std::uint32_t, std::size_t> health;  // entry node address -> first service
            for (std::size_t i : users) {
                const Service& s = c_.services[i];
                const std::string path = index("services", i) + ".health_check_node_port";
                for (const auto& name : s.entry_nodes) {
                    const Node* n = node_named(name);
                    if (!n)
                        continue;
                    if (svc_claims != claims.end()) {
                        auto svc = svc_claims->second.addresses.find(n->address.be);
                        if (svc != svc_claims->second.addresses.end()) {
                            error(s.marks.of("health_check_node_port"), path,
                                  "found " + std::to_string(port) + ", which " + index("services", svc->second) +
                                      " (" + quote(c_.services[svc->second].name) + ") uses on " +
                                      format_ipv4(n->address) + ", expected a port no service uses");
                            break;
                        }
                    }
                    auto [it, fresh] = health.emplace(n->address.be, i);
                    if (!fresh && it->second != i) {
                        error(s.marks.of("health_check_node_port"), path,
                              "found " + std::to_string(port) + ", already the health_check_node_port of " +
                                  index("services", it->second) + " (" + quote(c_.services[it->second].name) + ") on " +
                                  format_ipv4(n->address) + ", expected a unique port");
                        break;
                    }
                }
            }
        }
    }

    // A backend whose address is another node's own address, or lies in
    // another node's pod CIDR, is routed to that node: the node named in
    // `node` would get the binding, the node that has the backend would not,
    // and it would drop the DSR option as unbound.
    void check_backend_placement()
    {
        // node addresses, and pod CIDRs sorted by first address (disjoint:
        // check_nodes), so each backend costs O(log nodes)
        std::map<std::uint32_t, std::size_t> by_address;
        std::map<std::uint32_t, std::size_t> by_cidr_start;  // host order first address -> node index
        for (std::size_t ni = 0; ni < c_.nodes.size(); ++ni) {
            const Node& n = c_.nodes[ni];
            if (n.name.empty())
                continue;
            by_address.emplace(ntohl(n.address.be), ni);
            if (n.pod_cidr)
                by_cidr_start.emplace(ntohl(n.pod_cidr->network.be), ni);
        }
        for (std::size_t si = 0; si < c_.services.size(); ++si) {
            const Service& s = c_.services[si];
            for (std::size_t bi = 0; bi < s.backends.size(); ++bi) {
                const Backend& b = s.backends[bi];
                if (b.address.be == 0 || b.node.empty() || !node_named(b.node))
                    continue;
                const std::uint32_t host = ntohl(b.address.be);
                // the lowest-numbered other node that has this address or a
                // pod CIDR holding it (as a scan of nodes[] in order would find)
                std::size_t best = c_.nodes.size();
                bool is_address = false;
                if (auto it = by_address.find(host); it != by_address.end() && c_.nodes[it->second].name != b.node) {
                    best = it->second;
                    is_address = true;
                }
                if (auto it = by_cidr_start.upper_bound(host); it != by_cidr_start.begin()) {
                    const std::size_t ni = std::prev(it)->second;
                    const Node& n = c_.nodes[ni];
                    if (ni < best && n.name != b.node && cidr_contains(*n.pod_cidr, b.address)) {
                        best = ni;
                        is_address = false;
                    }
                }
                if (best == c_.nodes.size())
                    continue;
                const Node& n = c_.nodes[best];
                const std::string where_text =
                    is_address ? "the address of " + index("nodes", best) + " (" + quote(n.name) + ")"
                               : "in " + index("nodes", best) + ".pod_cidr (" + quote(n.name) + ")";
                error(b.marks.of("node"), index(index("services", si) + ".backends", bi) + ".node",
                      "found node " + quote(b.node) + " but the backend address " + format_ipv4(b.address) + " is " +
                          where_text + ", expected node " + quote(n.name));
            }
        }
    }

    Config& c_;
    Diagnostics& out_;
    std::unordered_map<std::string, const Node*> nodes_by_name_;
};

}  // namespace

void validate(Config& config, Diagnostics& out)
{
    Checker(config, out).run();
}

}  // namespace nfdsr::config
