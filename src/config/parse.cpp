// YAML -> Config. Each reader checks one field's shape and range and records
// where it was written; missing/unknown keys and wrong YAML types are reported
// here. Cross-entity rules live in validate.cpp.
#include "config/parse.hpp"

#include "config/quote.hpp"
#include "config/scalars.hpp"
#include "config/validate.hpp"
#include "config/warnings.hpp"
#include "maglev/maglev.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <istream>
#include <regex>
#include <streambuf>

namespace nfdsr::config {
namespace {

Mark mark_of(const YAML::Node& node)
{
    const YAML::Mark m = node.Mark();
    if (m.is_null())
        return {};
    return {m.line + 1, m.column + 1};
}

std::string describe(const YAML::Node& node)
{
    switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    default: return "an undefined value";
    }
}

// Field path helpers: "services[0].backends[1].port".
std::string field(const std::string& parent, std::string_view name)
{
    return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

std::string index(const std::string& parent, std::size_t i)
{
    return parent + "[" + std::to_string(i) + "]";
}

// "found more than 10000 backends, expected at most 10000 per service": the
// one wording of every count limit, whether the streaming pass or the tree
// check finds it.
std::string over_limit(std::uint64_t limit, std::string_view what, std::string_view scope)
{
    const std::string n = std::to_string(limit);
    return "found more than " + n + " " + std::string(what) + ", expected at most " + n + " " + std::string(scope) +
           " (docs/config.md, Limits)";
}

std::string file_too_large(std::uint64_t limit)
{
    return over_limit(limit, "bytes", "in a config file");
}

class Reader {
public:
    Reader(std::string source, const Limits& limits)
        : source_(std::move(source)), limits_(limits), diags_(static_cast<std::size_t>(limits.diagnostics))
    {
    }

    Diagnostics& diagnostics() { return diags_; }
    const Limits& limits() const { return limits_; }

    void error(const YAML::Node& at, const std::string& path, std::string message)
    {
        error(mark_of(at), path, std::move(message));
    }

    void error(Mark mark, const std::string& path, std::string message)
    {
        diags_.add({source_, mark, path, std::move(message)});
    }

    // Checks that `node` is a mapping with only `allowed` keys, each at most
    // once, and all `required` keys present. Returns false if not a mapping.
    bool check_map(const YAML::Node& node, const std::string& path,
                   std::initializer_list<std::string_view> allowed,
                   std::initializer_list<std::string_view> required)
    {
        if (!node.IsMap()) {
            error(node, path, "found " + describe(node) + ", expected a mapping");
            return false;
        }
        std::vector<std::string> seen;
        for (const auto& kv : node) {
            const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
            if (!kv.first.IsScalar()) {
                error(kv.first, path, "found " + describe(kv.first) + " as a key, expected a field name");
                continue;
            }
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                std::string expected;
                for (auto a : allowed)
                    expected += (expected.empty() ? "" : ", ") + std::string(a);
                error(kv.first, field(path, clip(key)), "unknown field " + quote(key) + ", expected one of: " + expected);
                continue;
            }
            if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
                error(kv.first, field(path, key), "field given twice");
                continue;
            }
            seen.push_back(key);
        }
        for (auto r : required)
            if (std::find(seen.begin(), seen.end(), r) == seen.end())
                error(node, field(path, r), "missing required field");
        return true;
    }

    std::optional<std::string> scalar(const YAML::Node& node, const std::string& path, std::string_view expected)
    {
        if (!node.IsScalar()) {
            error(node, path, "found " + describe(node) + ", expected " + std::string(expected));
            return std::nullopt;
        }
        return node.Scalar();
    }

    std::optional<std::uint64_t> number(const YAML::Node& node, const std::string& path,
                                        std::uint64_t min, std::uint64_t max, std::string_view what)
    {
        std::string expected = std::string(what) + " " + std::to_string(min) + ".." + std::to_string(max);
        auto text = scalar(node, path, expected);
        if (!text)
            return std::nullopt;
        auto value = parse_unsigned(*text);
        if (!value || *value < min || *value > max) {
            error(node, path, "found " + quote(*text) + ", expected " + expected);
            return std::nullopt;
        }
        return value;
    }

    std::optional<std::uint16_t> port(const YAML::Node& node, const std::string& path)
    {
        auto v = number(node, path, 1, 65535, "a port");
        return v ? std::optional<std::uint16_t>(static_cast<std::uint16_t>(*v)) : std::nullopt;
    }

    std::optional<std::uint32_t> u32(const YAML::Node& node, const std::string& path,
                                     std::uint32_t min, std::uint32_t max, std::string_view what)
    {
        auto v = number(node, path, min, max, what);
        return v ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*v)) : std::nullopt;
    }

    std::optional<Ipv4> ipv4(const YAML::Node& node, const std::string& path)
    {
        auto text = scalar(node, path, "an IPv4 address");
        if (!text)
            return std::nullopt;
        auto addr = parse_ipv4(*text);
        if (!addr)
            error(node, path, "found " + quote(*text) + ", expected an IPv4 address like 192.168.10.10");
        return addr;
    }

    std::optional<Cidr> cidr(const YAML::Node& node, const std::string& path)
    {
        auto text = scalar(node, path, "an IPv4 CIDR");
        if (!text)
            return std::nullopt;
        auto c = parse_cidr(*text);
        if (!c) {
            error(node, path, "found " + quote(*text) + ", expected an IPv4 CIDR like 172.16.0.0/24");
        } else if (cidr_has_host_bits(*c)) {
            error(node, path, "found " + quote(*text) + ", expected a network address (host bits set)");
            return std::nullopt;
        }
        return c;
    }

    std::optional<std::string> name(const YAML::Node& node, const std::string& path,
                                    const std::regex& pattern, std::string_view pattern_text)
    {
        auto text = scalar(node, path, "a name");
        if (!text)
            return std::nullopt;
        if (!std::regex_match(*text, pattern)) {
            error(node, path, "found " + quote(*text) + ", expected a name matching " + std::string(pattern_text));
            return std::nullopt;
        }
        return text;
    }

    template <typename Enum>
    std::optional<Enum> choice(const YAML::Node& node, const std::string& path,
                               std::initializer_list<std::pair<std::string_view, Enum>> options)
    {
        std::string expected;
        for (const auto& o : options)
            expected += (expected.empty() ? "" : " or ") + std::string(o.first);
        auto text = scalar(node, path, expected);
        if (!text)
            return std::nullopt;
        for (const auto& o : options)
            if (*text == o.first)
                return o.second;
        error(node, path, "found " + quote(*text) + ", expected " + expected);
        return std::nullopt;
    }

private:
    std::string source_;
    const Limits& limits_;
    Diagnostics diags_;
};

// Thrown by LimitScan at the first limit exceeded (the diagnostic is in the Reader).
struct LimitExceeded {};

// One streaming pass over the YAML events before YAML::Load builds its node
// tree (which costs ~300 bytes per value, ~4.6 KB per backend): counts the
// values, each alias as the size of what it repeats, and the entries of
// nodes, services and services[].backends, and stops at the first limit
// exceeded. Memory: O(nesting depth + number of anchors).
class LimitScan : public YAML::EventHandler {
public:
    LimitScan(Reader& r, const Limits& limits) : r_(r), limits_(limits) {}

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { leaf(m, a, {}); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a, const std::string& v) override
    {
        leaf(m, a, v);
    }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override
    {
        const Anchor x = a < anchors_.size() ? anchors_[a] : Anchor{};
        const Role role = begin(m, x.values, {});
        if (role == Role::backends)  // backends: *list
            count_backends(m, path_to(frames_.size()) + ".backends", x.items, x.items);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override
    {
        open(m, a, false);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override
    {
        open(m, a, true);
    }
    void OnMapEnd() override { close(); }

private:
    // What a collection is in the config's structure (only what is limited).
    enum class Role { other, key, root, nodes, services, service, backends };
    struct Frame {
        bool map;
        Role role;
        YAML::Mark mark;
        YAML::anchor_t anchor;
        std::uint64_t values_before;  // values_ before this collection was counted
        std::uint64_t items = 0;      // list entries, or mapping values seen
        bool at_key = true;           // mapping: the next node is a key
        std::string key;              // mapping: the key of the value being read
    };
    struct Anchor {
        std::uint64_t values = 1;  // values an alias to it repeats
        std::uint64_t items = 0;   // list entries (for backends: *list)
    };

    // Field path of frames_[0..depth) ("services[3].backends").
    std::string path_to(std::size_t depth) const
    {
        std::string out;
        for (std::size_t i = 1; i < depth; ++i) {
            const Frame& parent = frames_[i - 1];
            out = parent.map ? field(out, clip(parent.key)) : index(out, parent.items - 1);
        }
        return out;
    }

    [[noreturn]] void fail(const YAML::Mark& m, const std::string& path, std::string message)
    {
        r_.error(Mark{m.line + 1, m.column + 1}, path, std::move(message));
        throw LimitExceeded{};
    }

    // A service's backends list holds `in_service` entries so far, `added` of
    // them new (one item, or a whole aliased list).
    void count_backends(const YAML::Mark& list_mark, const std::string& path, std::uint64_t in_service,
                        std::uint64_t added)
    {
        if (in_service > limits_.backends_per_service)
            fail(list_mark, path, over_limit(limits_.backends_per_service, "backends", "per service"));
        backends_total_ += added;
        if (backends_total_ > limits_.backends_total)
            fail(list_mark, path, over_limit(limits_.backends_total, "backends in total", "per config"));
    }

    // Counts a new node worth `weight` values and returns its role.
    Role begin(const YAML::Mark& m, std::uint64_t weight, std::string_view scalar)
    {
        values_ += weight;
        if (values_ > limits_.yaml_values)
            fail(m, path_to(frames_.size()),
                 over_limit(limits_.yaml_values, "YAML values (aliases expanded)", "per config"));
        if (frames_.empty())
            return Role::root;
        Frame& p = frames_.back();
        if (p.map && p.at_key) {
            p.at_key = false;
            p.key = std::string(scalar);
            return Role::key;
        }
        ++p.items;
        if (p.map) {
            p.at_key = true;
            if (p.role == Role::root && p.key == "nodes")
                return Role::nodes;
            if (p.role == Role::root && p.key == "services")
                return Role::services;
            if (p.role == Role::service && p.key == "backends")
                return Role::backends;
            return Role::other;
        }
        const std::string here = path_to(frames_.size());
        if (p.role == Role::nodes && p.items > limits_.nodes)
            fail(p.mark, here, over_limit(limits_.nodes, "nodes", "per config"));
        if (p.role == Role::services && p.items > limits_.services)
            fail(p.mark, here, over_limit(limits_.services, "services", "per config"));
        if (p.role == Role::backends)
            count_backends(p.mark, here, p.items, 1);
        return p.role == Role::services ? Role::service : Role::other;
    }

    void leaf(const YAML::Mark& m, YAML::anchor_t a, std::string_view scalar)
    {
        begin(m, 1, scalar);
        remember(a, {1, 0});
    }

    void open(const YAML::Mark& m, YAML::anchor_t a, bool map)
    {
        const std::uint64_t before = values_;
        const Role role = begin(m, 1, {});
        frames_.push_back({map, role, m, a, before});
    }

    void close()
    {
        const Frame f = std::move(frames_.back());
        frames_.pop_back();
        remember(f.anchor, {values_ - f.values_before, f.map ? 0 : f.items});
    }

    void remember(YAML::anchor_t a, Anchor x)
    {
        if (a == YAML::NullAnchor)
            return;
        if (anchors_.size() <= a)
            anchors_.resize(a + 1);
        anchors_[a] = x;
    }

    Reader& r_;
    const Limits& limits_;
    std::vector<Frame> frames_;
    std::vector<Anchor> anchors_;  // by yaml-cpp's anchor id (1, 2, ...)
    std::uint64_t values_ = 0;
    std::uint64_t backends_total_ = 0;
};

// Reads a string_view as an istream without copying it.
class ViewBuf : public std::streambuf {
public:
    explicit ViewBuf(std::string_view s)
    {
        char* p = const_cast<char*>(s.data());
        setg(p, p, p + s.size());
    }
};

// Node names are host names; service names become nftables chain names.
const std::regex node_name_re("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
constexpr std::string_view node_name_text = "[A-Za-z0-9][A-Za-z0-9._-]{0,62}";
const std::regex service_name_re("[a-z0-9][a-z0-9-]{0,30}");
constexpr std::string_view service_name_text = "[a-z0-9][a-z0-9-]{0,30}";
const std::regex backend_name_re("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
constexpr std::string_view backend_name_text = node_name_text;

// Largest table we accept: keeps one service's lookup array at 4 MiB.
constexpr std::uint32_t max_table_size = 1048573;  // largest prime < 2^20

void note(FieldMarks& marks, std::string_view key, const YAML::Node& node)
{
    marks.fields.emplace_back(std::string(key), mark_of(node));
}

// Iterates a mapping's known fields in file order.
template <typename Fn>
void for_each_field(const YAML::Node& map, Fn&& fn)
{
    for (const auto& kv : map)
        if (kv.first.IsScalar())
            fn(kv.first.Scalar(), kv.second);
}

void read_flows(Reader& r, const YAML::Node& node, Flows& flows)
{
    const std::string path = "flows";
    if (!r.check_map(node, path, {"max", "tcp_timeout", "tcp_close_timeout", "udp_timeout"}, {}))
        return;
    const std::uint32_t tmax = 7u * 24 * 3600;  // NFDSR_TIMEOUT_LIMIT
    for_each_field(node, [&](const std::string& key, const YAML::Node& v) {
        std::optional<std::uint32_t> x;
        if (key == "max" && (x = r.u32(v, field(path, key), 1, 16u * 1024 * 1024, "a flow count")))
            flows.max = *x;
        else if (key == "tcp_timeout" && (x = r.u32(v, field(path, key), 1, tmax, "seconds")))
            flows.tcp_timeout = *x;
        else if (key == "tcp_close_timeout" && (x = r.u32(v, field(path, key), 1, tmax, "seconds")))
            flows.tcp_close_timeout = *x;
        else if (key == "udp_timeout" && (x = r.u32(v, field(path, key), 1, tmax, "seconds")))
            flows.udp_timeout = *x;
    });
}

// metrics: {listen: "127.0.0.1:9798"}  ("" disables the endpoint)
void read_metrics(Reader& r, const YAML::Node& node, Config& config)
{
    const std::string path = "metrics";
    if (!r.check_map(node, path, {"listen"}, {}))
        return;
    for_each_field(node, [&](const std::string& key, const YAML::Node& v) {
        if (key != "listen")
            return;
        const char* expected = "ADDRESS:PORT (e.g. 127.0.0.1:9798, [::1]:9798) or \"\" to disable";
        auto x = r.scalar(v, field(path, key), expected);
        if (!x)
            return;
        if (x->empty()) {
            config.metrics_listen.clear();
            return;
        }
        std::string host, port;
        const auto close = x->find("]:");
        if ((*x)[0] == '[' && close != std::string::npos) {
            host = x->substr(1, close - 1);
            port = x->substr(close + 2);
        } else if (auto colon = x->rfind(':'); colon != std::string::npos && (*x)[0] != '[') {
            host = x->substr(0, colon);
            port = x->substr(colon + 1);
        }
        in6_addr a6{};
        char* end = nullptr;
        const unsigned long p = port.empty() ? 0 : std::strtoul(port.c_str(), &end, 10);
        const bool host_ok = parse_ipv4(host).has_value() || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
        if (!host_ok || p == 0 || p > 65535 || (end && *end))
            r.error(v, field(path, key), "found " + quote(*x) + ", expected " + expected);
        else
            config.metrics_listen = *x;
    });
}

Node read_node(Reader& r, const YAML::Node& node, const std::string& path)
{
    Node out;
    out.marks.entity = mark_of(node);
    if (!r.check_map(node, path, {"name", "address", "pod_cidr"}, {"name", "address"}))
        return out;
    for_each_field(node, [&](const std::string& key, const YAML::Node& v) {
        note(out.marks, key, v);
        if (key == "name") {
            if (auto x = r.name(v, field(path, key), node_name_re, node_name_text))
                out.name = *x;
        } else if (key == "address") {
            if (auto x = r.ipv4(v, field(path, key)))
                out.address = *x;
        } else if (key == "pod_cidr") {
            out.pod_cidr = r.cidr(v, field(path, key));
        }
    });
    return out;
}

Backend read_backend(Reader& r, const YAML::Node& node, const std::string& path)
{
    Backend out;
    out.marks.entity = mark_of(node);
    if (!r.check_map(node, path, {"name", "address", "port", "node", "weight", "drain"},
                     {"name", "address", "port", "node"}))
        return out;
    for_each_field(node, [&](const std::string& key, const YAML::Node& v) {
        note(out.marks, key, v);
        const std::string p = field(path, key);
        if (key == "name") {
            if (auto x = r.name(v, p, backend_name_re, backend_name_text))
                out.name = *x;
        } else if (key == "address") {
            if (auto x = r.ipv4(v, p))
                out.address = *x;
        } else if (key == "port") {
            if (auto x = r.port(v, p))
                out.port = *x;
        } else if (key == "node") {
            if (auto x = r.scalar(v, p, "a node name"))
                out.node = *x;
        } else if (key == "weight") {
            if (auto x = r.u32(v, p, 0, 65535, "a weight"))
                out.weight = *x;
        } else if (key == "drain") {
            if (auto x = r.choice<bool>(v, p, {{"true", true}, {"false", false}}))
                out.drain = *x;
        }
    });
    return out;
}

std::optional<HealthCheck> read_health_check(Reader& r, const YAML::Node& node, const std::string& path)
{
    HealthCheck out;
    out.marks.entity = mark_of(node);
    if (!r.check_map(node, path, {"type", "path", "expect_status", "interval", "timeout", "rise", "fall"}, {"type"}))
        return std::nullopt;
    bool ok = true;
    for_each_field(node, [&](const std::string& key, const YAML::Node& v) {
        note(out.marks, key, v);
        const std::string p = field(path, key);
        std::optional<std::uint32_t> x;
        if (key == "type") {
            auto t = r.choice<HealthCheckType>(v, p, {{"tcp", HealthCheckType::tcp}, {"http", HealthCheckType::http}});
            ok = ok && t.has_value();
            if (t)
                out.type = *t;
        } else if (key == "path") {
            auto t = r.scalar(v, p, "an HTTP path starting with /");
            if (t && (t->empty() || (*t)[0] != '/' || t->find_first_of(" \t\r\n") != std::string::npos)) {
                r.error(v, p, "found " + quote(*t) + ", expected an HTTP path starting with / and without spaces");
                t.reset();
            }
            ok = ok && t.has_value();
            if (t)
                out.path = *t;
        } else if (key == "expect_status") {
            ok = ok && (x = r.u32(v, p, 100, 599, "an HTTP status"));
            if (x)
                out.expect_status = *x;
        } else if (key == "interval") {
            ok = ok && (x = r.u32(v, p, 1, 3600, "seconds"));
            if (x)
                out.interval_ms = *x * 1000;
        } else if (key == "timeout") {
            ok = ok && (x = r.u32(v, p, 1, 3600, "seconds"));
            if (x)
                out.timeout_ms = *x * 1000;
        } else if (key == "rise") {
            ok = ok && (x = r.u32(v, p, 1, 100, "a count"));
            if (x)
                out.rise = *x;
        } else if (key == "fall") {
            ok = ok && (x = r.u32(v, p, 1, 100, "a count"));
            if (x)
                out.fall = *x;
        }
    });
    if (out.type == HealthCheckType::tcp)
        for (const char* http_only : {"path", "expect_status"})
            for (const auto& [name, mark] : out.marks.fields)
                if (name == http_only) {
                    r.error(mark, field(path, name), std::string("found ") + http_only +
                                                         " with type tcp, expected type http (or no " + http_only + ")");
                    ok = false;
                }
    if (out.timeout_ms > out.interval_ms) {
        r.error(out.marks.of("timeout"), field(path, "timeout"),
                "found " + std::to_string(out.timeout_ms / 1000) + ", expected a timeout <= interval (" +
                    std::to_string(out.interval_ms / 1000) + ")");
        ok = false;
    }
    return ok ? std::optional<HealthCheck>(std::move(out)) : std::nullopt;
}

Service read_service(Reader& r, const YAML::Node& node, const std::string& path)
{
    Service out;
    out.marks.entity = mark_of(node);
    if (!r.check_map(node, path,
                     {"name", "protocol", "node_port", "vip", "port", "entry_nodes", "maglev_table_size", "backends",
                      "dispatch", "ipip_mode", "health_check", "health_check_node_port", "local_only"},
                     {"name", "protocol", "backends"}))
        return out;
    for_each_field(node, [&](const std::string& key, const YAML::Node& v) {
        note(out.marks, key, v);
        const std::string p = field(path, key);
        if (key == "name") {
            if (auto x = r.name(v, p, service_name_re, service_name_text))
                out.name = *x;
        } else if (key == "protocol") {
            if (auto x = r.choice<Protocol>(v, p, {{"tcp", Protocol::tcp}, {"udp", Protocol::udp}}))
                out.protocol = *x;
        } else if (key == "node_port") {
            out.node_port = r.port(v, p);
        } else if (key == "vip") {
            out.vip = r.ipv4(v, p);
        } else if (key == "port") {
            out.port = r.port(v, p);
        } else if (key == "entry_nodes") {
            if (!v.IsSequence()) {
                r.error(v, p, "found " + describe(v) + ", expected a list of node names");
                return;
            }
            if (v.size() == 0)
                r.error(v, p, "found an empty list, expected at least one node name (leave entry_nodes out for all nodes)");
            for (std::size_t i = 0; i < v.size(); ++i)
                if (auto x = r.scalar(v[i], index(p, i), "a node name"))
                    out.entry_nodes.push_back(*x);
        } else if (key == "dispatch") {
            out.dispatch = r.choice<Dispatch>(v, p, {{"opt", Dispatch::opt}, {"ipip", Dispatch::ipip}});
        } else if (key == "ipip_mode") {
            if (auto x = r.choice<IpipMode>(v, p, {{"xlate", IpipMode::xlate}, {"classic", IpipMode::classic}}))
                out.ipip_mode = *x;
        } else if (key == "health_check") {
            out.health_check = read_health_check(r, v, p);
        } else if (key == "health_check_node_port") {
            out.health_check_node_port = r.port(v, p);
        } else if (key == "local_only") {
            if (auto x = r.choice<bool>(v, p, {{"true", true}, {"false", false}}))
                out.local_only = *x;
        } else if (key == "maglev_table_size") {
            auto x = r.u32(v, p, 2, max_table_size, "a prime table size");
            if (x && !maglev::is_prime(*x))
                r.error(v, p, "found " + std::to_string(*x) + ", expected a prime number (next prime: " +
                                  std::to_string(maglev::next_prime(*x)) + ")");
            else if (x)
                out.maglev_table_size = *x;
        } else if (key == "backends") {
            if (!v.IsSequence()) {
                r.error(v, p, "found " + describe(v) + ", expected a list of backends");
                return;
            }
            if (v.size() == 0)
                r.error(v, p, "found an empty list, expected at least one backend");
            for (std::size_t i = 0; i < v.size(); ++i)
                out.backends.push_back(read_backend(r, v[i], index(p, i)));
        }
    });

    const bool has_node_port = node["node_port"].IsDefined();
    const bool has_vip = node["vip"].IsDefined();
    const bool has_port = node["port"].IsDefined();
    if (has_node_port && (has_vip || has_port))
        r.error(node, path, "found node_port together with vip/port, expected either node_port or vip + port");
    else if (!has_node_port && !has_vip && !has_port)
        r.error(node, path, "found neither node_port nor vip + port, expected one of them");
    else if (!has_node_port && has_vip != has_port)
        r.error(node, field(path, has_vip ? "port" : "vip"), "missing required field (vip and port go together)");
    return out;
}

// The count limits again on the tree, where an alias can repeat a whole list
// (the streaming pass counts what is written). Sizes only: nothing is read.
bool within_service_limits(Reader& r, const YAML::Node& services)
{
    const Limits& l = r.limits();
    if (services.size() > l.services) {
        r.error(services, "services", over_limit(l.services, "services", "per config"));
        return false;
    }
    bool ok = true;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < services.size(); ++i) {
        const YAML::Node s = services[i];
        const YAML::Node b = s.IsMap() ? s["backends"] : YAML::Node();
        if (!b.IsSequence())
            continue;
        const std::string path = index("services", i) + ".backends";
        if (b.size() > l.backends_per_service) {
            r.error(b, path, over_limit(l.backends_per_service, "backends", "per service"));
            ok = false;
        }
        if (total <= l.backends_total && (total += b.size()) > l.backends_total) {
            r.error(b, path, over_limit(l.backends_total, "backends in total", "per config"));
            ok = false;
        }
    }
    return ok;
}

void read_root(Reader& r, const YAML::Node& root, Config& config)
{
    if (!r.check_map(root, "",
                     {"dispatch", "entry_mark", "hash_seed", "route_mark_mask", "route_table_base",
                      "route_rule_priority", "ipip_mss", "flows", "metrics", "nodes", "services"},
                     {"nodes", "services"}))
        return;
    for_each_field(root, [&](const std::string& key, const YAML::Node& v) {
        note(config.marks, key, v);
        if (key == "route_mark_mask") {
            if (auto x = r.u32(v, key, 1, 0xffffffffu, "a non-zero 32-bit mask"))
                config.route_mark_mask = *x;
        } else if (key == "route_table_base") {
            // tables 253..255 are default/main/local; 0 is unspecified
            if (auto x = r.u32(v, key, 256, 0xf0000000u, "a routing table id"))
                config.route_table_base = *x;
        } else if (key == "route_rule_priority") {
            if (auto x = r.u32(v, key, 1, 32765, "an ip rule priority"))
                config.route_rule_priority = *x;
        } else if (key == "ipip_mss") {
            if (auto x = r.u32(v, key, 536, 65495, "a TCP MSS 536..65495"))
                config.ipip_mss = *x;
        } else if (key == "dispatch") {
            if (auto x = r.choice<Dispatch>(v, key, {{"opt", Dispatch::opt}, {"ipip", Dispatch::ipip}}))
                config.dispatch = *x;
        } else if (key == "entry_mark") {
            if (auto x = r.u32(v, key, 1, 0xffffffffu, "a non-zero 32-bit mark"))
                config.entry_mark = *x;
        } else if (key == "hash_seed") {
            if (auto x = r.u32(v, key, 0, 0xffffffffu, "a 32-bit seed"))
                config.hash_seed = *x;
        } else if (key == "flows") {
            read_flows(r, v, config.flows);
        } else if (key == "metrics") {
            read_metrics(r, v, config);
        } else if (key == "nodes") {
            if (!v.IsSequence()) {
                r.error(v, key, "found " + describe(v) + ", expected a list of nodes");
                return;
            }
            if (v.size() == 0)
                r.error(v, key, "found an empty list, expected at least one node");
            if (v.size() > r.limits().nodes) {  // (aliases can repeat a list)
                r.error(v, key, over_limit(r.limits().nodes, "nodes", "per config"));
                return;
            }
            for (std::size_t i = 0; i < v.size(); ++i)
                config.nodes.push_back(read_node(r, v[i], index(key, i)));
        } else if (key == "services") {
            if (v.IsNull())  // "services:" with nothing: a node set with no services yet
                return;
            if (!v.IsSequence()) {
                r.error(v, key, "found " + describe(v) + ", expected a list of services");
                return;
            }
            if (!within_service_limits(r, v))
                return;
            for (std::size_t i = 0; i < v.size(); ++i)
                config.services.push_back(read_service(r, v[i], index(key, i)));
        }
    });
}

std::string format_hex32(std::uint32_t v)
{
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%08x", v);
    return buf;
}

// dispatch ipip: the routing mark must have room for every node's value
// and must not share bits with entry_mark (cross-field, so after reading).
void check_ipip(Reader& r, const Config& c)
{
    const std::uint32_t m = c.route_mark_mask;
    const Mark at = c.marks.of("route_mark_mask");
    if (m != 0) {
        const std::uint32_t low = m & (~m + 1);  // lowest set bit
        if (((m + low) & m) != 0)
            r.error(at, "route_mark_mask", "found " + format_hex32(m) + ", expected contiguous mask bits");
        else if (m & c.entry_mark)
            r.error(at, "route_mark_mask", "found " + format_hex32(m) + ", overlapping entry_mark " +
                                               format_hex32(c.entry_mark) + ", expected disjoint bits");
        else if (static_cast<std::uint64_t>(m / low) < c.nodes.size())
            r.error(at, "route_mark_mask", "found " + format_hex32(m) + " with room for " +
                                               std::to_string(m / low) + " node values, expected room for " +
                                               std::to_string(c.nodes.size()) + " nodes");
    }
    if (static_cast<std::uint64_t>(c.route_table_base) + c.nodes.size() > 0xffffffffull)
        r.error(c.marks.of("route_table_base"), "route_table_base", "found a base too large for " +
                                                    std::to_string(c.nodes.size()) + " nodes");
    for (std::size_t i = 0; i < c.services.size(); ++i) {
        const Service& s = c.services[i];
        if (c.dispatch_of(s) != Dispatch::ipip || s.ipip_mode != IpipMode::classic)
            continue;
        // The inner destination stays the service address: on an entry node
        // that owns it (its NodePort address, or a VIP that is a node's
        // address) the local routing table wins over the fwmark rule and the
        // packet is delivered locally instead of entering tunl0.
        const std::string mode_path = index("services", i) + ".ipip_mode";
        if (s.is_node_port()) {
            r.error(s.marks.of("ipip_mode"), mode_path,
                    "found 'classic' on a node_port service, expected 'xlate' or a vip + port: the inner "
                    "destination would be the entry node's own address, which it delivers locally instead of "
                    "sending through tunl0");
        } else if (s.vip) {
            for (std::size_t n = 0; n < c.nodes.size(); ++n)
                if (c.nodes[n].address == *s.vip) {
                    r.error(s.marks.of("ipip_mode"), mode_path,
                            "found 'classic' with vip " + format_ipv4(*s.vip) + ", the address of " +
                                index("nodes", n) + " (" + quote(c.nodes[n].name) +
                                "), expected a vip routed to (not assigned on) the entry nodes, or 'xlate'");
                    break;
                }
        }
        for (std::size_t b = 0; b < s.backends.size(); ++b)
            if (std::find(s.entry_nodes.begin(), s.entry_nodes.end(), s.backends[b].node) != s.entry_nodes.end())
                r.error(s.backends[b].marks.of("node"), index(index("services", i) + ".backends", b) + ".node",
                        "found " + quote(s.backends[b].node) + ", an entry node of this ipip_mode classic service, "
                        "expected a node that is not an entry node (classic backends are reached through tunl0; "
                        "use ipip_mode xlate)");
    }
}

// Each service's Maglev table is derived (and installed) in full: the sum of
// their sizes bounds the work and memory of everything after validation.
void check_maglev_total(Reader& r, const Config& c)
{
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < c.services.size(); ++i) {
        total += c.services[i].maglev_table_size;
        if (total > r.limits().maglev_buckets_total) {
            // the field's line if it is set, else the service's (FieldMarks::of)
            r.error(c.services[i].marks.of("maglev_table_size"), index("services", i) + ".maglev_table_size",
                    over_limit(r.limits().maglev_buckets_total,
                               "Maglev buckets in total (maglev_table_size, or its default 100 x backends, summed "
                               "over services)",
                               "per config"));
            return;
        }
    }
}

}  // namespace

Config parse_text(std::string_view text, const std::string& source, const Limits& limits)
{
    Reader r(source, limits);
    Config config;
    config.source = source;
    config.warnings = Diagnostics(static_cast<std::size_t>(limits.diagnostics), "warning");
    if (text.size() > limits.file_bytes) {
        r.error(Mark{}, "", file_too_large(limits.file_bytes));
        throw ConfigError(std::move(r.diagnostics()));
    }
    YAML::Node root;
    try {
        {
            ViewBuf buf(text);
            std::istream in(&buf);
            YAML::Parser parser(in);
            LimitScan scan(r, limits);
            parser.HandleNextDocument(scan);
        }
        ViewBuf buf(text);
        std::istream in(&buf);
        root = YAML::Load(in);
    } catch (const LimitExceeded&) {
        throw ConfigError(std::move(r.diagnostics()));
    } catch (const YAML::ParserException& e) {
        r.error(Mark{e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + clip(e.msg));
        throw ConfigError(std::move(r.diagnostics()));
    }
    if (root.IsNull() && mark_of(root).line == 0) {
        // An empty file (or only comments): yaml-cpp gives no position.
        r.error(Mark{1, 1}, "", "found an empty document, expected a mapping with nodes and services");
        throw ConfigError(std::move(r.diagnostics()));
    }
    read_root(r, root, config);
    validate(config, r.diagnostics());
    check_ipip(r, config);
    check_maglev_total(r, config);
    if (!r.diagnostics().empty())
        throw ConfigError(std::move(r.diagnostics()));
    warn(config);
    return config;
}

Config parse_file(const std::string& path, const Limits& limits)
{
    auto fail = [&](std::string message) {
        Diagnostics d;
        d.add({path, {}, "", std::move(message)});
        return ConfigError(std::move(d));
    };
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw fail(std::string("cannot read file: ") + std::strerror(errno));
    // Read at most file_bytes + 1 bytes (also from a pipe): a larger file is
    // rejected without reading the rest.
    std::string text;
    std::vector<char> chunk(1 << 16);
    while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
        text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
        if (text.size() > limits.file_bytes)
            throw fail(file_too_large(limits.file_bytes));
    }
    return parse_text(text, path, limits);
}

}  // namespace nfdsr::config
