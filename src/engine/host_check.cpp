#include "engine/host_check.hpp"

#include "common/log.hpp"
#include "config/scalars.hpp"
#include "engine/engine.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

namespace nfdsr::engine {

namespace {

std::optional<long> sysctl(const std::string& name)
{
    std::string path = "/proc/sys/" + name;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    std::ifstream f(path);
    long v = 0;
    if (!(f >> v))
        return std::nullopt;
    return v;
}

// Interface sysctls use the interface name, which may contain dots: build the path directly.
std::optional<long> conf(const std::string& dev, const std::string& key)
{
    std::ifstream f("/proc/sys/net/ipv4/conf/" + dev + "/" + key);
    long v = 0;
    if (!(f >> v))
        return std::nullopt;
    return v;
}

std::string conf_name(const std::string& dev, const std::string& key) { return "net.ipv4.conf." + dev + "." + key; }

struct Link {
    unsigned flags = 0;
    std::vector<plan::Ipv4> addrs;
};

std::map<std::string, Link> links()
{
    std::map<std::string, Link> out;
    ifaddrs* ifa = nullptr;
    if (getifaddrs(&ifa) != 0)
        return out;
    for (ifaddrs* i = ifa; i; i = i->ifa_next) {
        Link& l = out[i->ifa_name];
        l.flags = i->ifa_flags;
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
            l.addrs.push_back(plan::Ipv4{reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr});
    }
    freeifaddrs(ifa);
    return out;
}

int mtu_of(const std::string& dev)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ifreq r{};
    std::strncpy(r.ifr_name, dev.c_str(), IFNAMSIZ - 1);
    const int rc = ioctl(fd, SIOCGIFMTU, &r);
    close(fd);
    return rc == 0 ? r.ifr_mtu : 0;
}

// `ip route get ADDR`: the output interface, over rtnetlink. "" if unroutable.
std::string egress_of(plan::Ipv4 dst)
{
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_ROUTE), mnl_socket_close);
    if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return "";
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    nlh->nlmsg_seq = static_cast<unsigned>(time(nullptr));
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = 32;
    mnl_attr_put_u32(nlh, RTA_DST, dst.be);
    if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
        return "";
    const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n <= 0)
        return "";
    std::uint32_t oif = 0;
    auto cb = [](const nlmsghdr* h, void* data) -> int {
        if (h->nlmsg_type != RTM_NEWROUTE)
            return MNL_CB_OK;
        mnl_attr_parse(
            h, sizeof(rtmsg),
            [](const nlattr* a, void* d) -> int {
                if (mnl_attr_get_type(a) == RTA_OIF)
                    *static_cast<std::uint32_t*>(d) = mnl_attr_get_u32(a);
                return MNL_CB_OK;
            },
            data);
        return MNL_CB_OK;
    };
    if (mnl_cb_run(buf.data(), static_cast<std::size_t>(n), nlh->nlmsg_seq, mnl_socket_get_portid(nl.get()), cb,
                   &oif) < 0 ||
        oif == 0)
        return "";
    char name[IF_NAMESIZE] = {};
    return if_indextoname(oif, name) ? name : "";
}

std::string fix_sysctl(const std::string& name, long value)
{
    return "sysctl -w " + name + "=" + std::to_string(value);
}

}  // namespace

std::vector<CheckItem> check_host(const Loaded& loaded, bool module)
{
    const auto& cfg = loaded.config;
    const auto& plan = loaded.plan;
    std::vector<CheckItem> items;
    const bool entry = !plan.entry.empty();
    const bool backend = !plan.bindings.empty();
    auto lk = links();

    // ---- nfdsr.ko ----
    bool needs_module = backend;
    for (const auto& e : plan.entry)
        if (e.dispatch == plan::Dispatch::opt || e.ipip_mode == plan::IpipMode::xlate)
            needs_module = true;
    if (needs_module) {
        CheckItem c;
        c.why = std::string(entry ? "entry services attach the DSR option" : "") + (entry && backend ? "; " : "") +
                (backend ? "bound services need the option stripped and replies rewritten" : "");
        if (!module) {
            c.info = true;
            c.what = "nfdsr.ko: not checked (--no-module)";
        } else {
            std::string why;
            auto st = module_status(why);
            c.ok = st.has_value();
            c.what = st ? "nfdsr.ko loaded (version " + st->version + ")" : "nfdsr.ko not available: " + why;
            if (!c.ok)
                c.fix = {"modprobe nfdsr"};
        }
        items.push_back(c);
    }

    // ---- forwarding ----
    std::set<std::uint32_t> local;
    for (const auto& [dev, l] : lk)
        for (auto a : l.addrs)
            local.insert(a.be);
    bool pods = false;  // a backend behind this node (not a local process)
    for (const auto& b : plan.bindings)
        if (!local.count(b.backend_addr.be))
            pods = true;
    if (entry || pods) {
        CheckItem c;
        const long v = sysctl("net.ipv4.ip_forward").value_or(-1);
        c.ok = v == 1;
        c.what = "net.ipv4.ip_forward = " + std::to_string(v);
        c.why = entry ? "the entry node forwards client packets to backend nodes"
                      : "the backend node forwards DSR packets to its pods";
        if (!c.ok)
            c.fix = {fix_sysctl("net.ipv4.ip_forward", 1)};
        items.push_back(c);
    }

    // ---- egress interfaces of entry services ----
    std::set<std::string> egress;
    std::map<std::string, std::string> egress_for;  // dev -> an example backend
    for (const auto& e : plan.entry)
        for (const auto& b : e.backends) {
            if (b.node == plan.node && e.dispatch == plan::Dispatch::opt)
                continue;
            const plan::Ipv4 dst = (e.dispatch == plan::Dispatch::ipip && b.route_mark != 0)
                                       ? [&] {
                                             const auto* n = cfg.find_node(b.node);
                                             return n ? n->address : b.addr;
                                         }()
                                       : b.addr;
            const std::string dev = egress_of(dst);
            if (!dev.empty() && dev != "lo") {
                egress.insert(dev);
                egress_for.emplace(dev, b.name + " " + config::format_ipv4(dst));
            }
        }

    // ---- send_redirects (entry) ----
    if (entry) {
        CheckItem c;
        const long all = conf("all", "send_redirects").value_or(-1);
        std::vector<std::string> bad;
        if (all != 0)
            bad.push_back("all");
        for (const auto& dev : egress)
            if (conf(dev, "send_redirects").value_or(0) != 0)
                bad.push_back(dev);
        c.ok = bad.empty();
        std::string devs;
        for (const auto& d : egress)
            devs += (devs.empty() ? "" : ", ") + d;
        std::string baddevs;
        for (const auto& d : bad)
            baddevs += (baddevs.empty() ? "" : ", ") + d;
        c.what = "send_redirects (all" + (devs.empty() ? std::string() : ", egress " + devs) + "): " +
                 (bad.empty() ? std::string("0") : "not 0 on " + baddevs);
        c.why = "the entry node forwards out of the interface the client came in on; an ICMP redirect would "
                "send the client straight to the backend (the effective value is all OR interface)";
        for (const auto& d : bad) {
            c.fix.push_back(fix_sysctl(conf_name(d, "send_redirects"), 0));
            c.owned.emplace_back("/proc/sys/net/ipv4/conf/" + d + "/send_redirects", 0);
        }
        items.push_back(c);
    }

    // ---- tunl0 (ipip) ----
    bool ipip = false;
    for (const auto& s : cfg.services) {
        if (cfg.dispatch_of(s) != plan::Dispatch::ipip)
            continue;
        if (std::find(s.entry_nodes.begin(), s.entry_nodes.end(), plan.node) != s.entry_nodes.end())
            ipip = true;
        for (const auto& b : s.backends)
            if (b.node == plan.node)
                ipip = true;
    }
    if (ipip) {
        const auto it = lk.find("tunl0");
        CheckItem c;
        c.why = "a service of this node uses dispatch ipip (tunl0 sends and decapsulates IPIP)";
        if (it == lk.end()) {
            c.ok = false;
            c.what = "tunl0 missing (ipip kernel module not loaded)";
            c.fix = {"modprobe ipip"};
            items.push_back(c);
        } else {
            c.ok = (it->second.flags & IFF_UP) != 0;
            c.what = std::string("tunl0 ") + (c.ok ? "up" : "down");
            if (!c.ok)
                c.fix = {"ip link set tunl0 up"};
            items.push_back(c);
            CheckItem r;
            const long all = conf("all", "rp_filter").value_or(0), t = conf("tunl0", "rp_filter").value_or(0);
            const long eff = std::max(all, t);
            const bool addrless = it->second.addrs.empty();
            r.ok = addrless ? eff == 0 : eff != 1;
            r.what = "rp_filter on tunl0: effective max(all " + std::to_string(all) + ", tunl0 " + std::to_string(t) +
                     ") = " + std::to_string(eff);
            r.why = addrless ? "decapsulated packets arrive on tunl0, which has no address: any reverse-path "
                               "filtering (strict or loose) drops them, so the effective value must be 0"
                             : "decapsulated packets arrive on tunl0 but their source is routed elsewhere: "
                               "strict (1) drops them, loose (2) or off (0) is needed";
            if (!r.ok) {
                if (t != 0)
                    r.fix.push_back(fix_sysctl(conf_name("tunl0", "rp_filter"), 0));
                if (all != 0)
                    r.fix.push_back(fix_sysctl(conf_name("all", "rp_filter"), 0) +
                                    "   (first raise each other interface's own rp_filter to " +
                                    std::to_string(all) + " to keep its effective value; nfdsrctl apply does this)");
            }
            items.push_back(r);
        }
    }

    // ---- VIPs on loopback (backend nodes) ----
    if (backend) {
        std::set<std::uint32_t> lo_addrs;
        if (auto it = lk.find("lo"); it != lk.end())
            for (auto a : it->second.addrs)
                lo_addrs.insert(a.be);
        std::set<std::uint32_t> vips_on_lo;
        for (const auto& b : plan.bindings)
            if (lo_addrs.count(b.vip.be) && (b.vip.be & htonl(0xff000000)) != htonl(0x7f000000))
                vips_on_lo.insert(b.vip.be);
        if (!vips_on_lo.empty()) {
            std::string vips;
            for (auto v : vips_on_lo)
                vips += (vips.empty() ? "" : ", ") + config::format_ipv4(plan::Ipv4{v});
            const long ig_all = conf("all", "arp_ignore").value_or(0), an_all = conf("all", "arp_announce").value_or(0);
            std::vector<std::string> bad_ig, bad_an;
            for (const auto& [dev, l] : lk) {
                if (dev == "lo" || (l.flags & IFF_LOOPBACK) || !(l.flags & IFF_UP) || dev == "tunl0")
                    continue;
                if (std::max(ig_all, conf(dev, "arp_ignore").value_or(0)) < 1)
                    bad_ig.push_back(dev);
                if (std::max(an_all, conf(dev, "arp_announce").value_or(0)) < 2)
                    bad_an.push_back(dev);
            }
            CheckItem i;
            i.ok = bad_ig.empty();
            i.what = "arp_ignore: all = " + std::to_string(ig_all) +
                     (bad_ig.empty() ? ", every interface >= 1" : ", effective < 1 on " + bad_ig.front() +
                                                                       (bad_ig.size() > 1 ? " and others" : ""));
            i.why = "service address(es) " + vips + " are on lo: the node must not answer ARP for them "
                    "(the entry node owns them); effective value max(all, interface) >= 1";
            if (!i.ok)
                i.fix = {fix_sysctl("net.ipv4.conf.all.arp_ignore", 1)};
            items.push_back(i);
            CheckItem a;
            a.ok = bad_an.empty();
            a.what = "arp_announce: all = " + std::to_string(an_all) +
                     (bad_an.empty() ? ", every interface = 2" : ", effective < 2 on " + bad_an.front() +
                                                                     (bad_an.size() > 1 ? " and others" : ""));
            a.why = "service address(es) " + vips + " are on lo: ARP requests must use the interface's own "
                    "address as sender, never the VIP; effective value max(all, interface) = 2";
            if (!a.ok)
                a.fix = {fix_sysctl("net.ipv4.conf.all.arp_announce", 2)};
            items.push_back(a);
        }
    }

    // ---- MTU headroom (entry) ----
    for (const auto& dev : egress) {
        const int mtu = mtu_of(dev);
        bool opt = false, tun = false;
        for (const auto& e : plan.entry) {
            if (e.dispatch == plan::Dispatch::opt)
                opt = true;
            else
                tun = true;
        }
        CheckItem c;
        c.info = true;
        std::ostringstream w;
        w << "MTU " << dev << " " << mtu << " (towards " << egress_for[dev] << "):";
        if (opt)
            w << " opt: +8 bytes on the SYN and on every UDP datagram -> TCP MSS up to " << mtu - 40
              << " (option only on the SYN), UDP payload up to " << mtu - 28 - 8;
        if (tun)
            w << (opt ? ";" : "") << " ipip: +20 bytes (+8 option inside on SYN/UDP) -> TCP MSS up to "
              << mtu - 20 - 40 << " (clamped by nfdsr), UDP payload up to " << mtu - 20 - 28 - 8;
        c.what = w.str();
        c.why = "larger UDP datagrams with DF get ICMP fragmentation-needed (sent by nfdsr.ko with the VIP header)";
        items.push_back(c);
    }

    // ---- ICMP towards service addresses (entry) ----
    if (entry) {
        CheckItem c;
        c.info = true;
        c.what = "ICMP errors to service addresses (not checkable from here): routers and firewalls must "
                 "deliver them to an entry node";
        c.why = "a router on the return path sends frag-needed about a reply to the service address; the entry "
                "node relays it to the backend that owns the flow (PMTU discovery), dropped ICMP means a "
                "PMTU black hole for large replies";
        items.push_back(c);
    }
    return items;
}

namespace {

// Writes the `owned` settings of failed items; returns a description per
// setting changed. Throws std::runtime_error naming the sysctl that could
// not be written.
std::vector<std::string> apply_owned_settings(const std::vector<CheckItem>& items)
{
    std::vector<std::string> done;
    for (const auto& item : items) {
        if (item.ok)
            continue;
        for (const auto& [path, value] : item.owned) {
            std::ofstream out(path);
            out << value << "\n";
            if (!out.flush())
                throw std::runtime_error("cannot write " + std::to_string(value) + " to " + path + ": " +
                                         std::strerror(errno));
            done.push_back(path + " = " + std::to_string(value));
        }
    }
    return done;
}

}  // namespace

void apply_host_settings(const Loaded& loaded, bool module)
{
    try {
        auto items = check_host(loaded, module);
        for (const auto& changed : apply_owned_settings(items))
            NFDSR_LOG(info) << "host: set " << changed;
        for (const auto& i : check_host(loaded, module)) {
            if (i.ok || i.info)
                continue;
            std::string fixes;
            for (const auto& f : i.fix)
                fixes += (fixes.empty() ? "" : "; ") + f;
            NFDSR_LOG(warning) << "host check: " << i.what << " (" << i.why << ")"
                               << (fixes.empty() ? "" : "; fix: " + fixes);
        }
    } catch (const std::exception& e) {
        NFDSR_LOG(warning) << "host check: " << e.what();
    }
}

}  // namespace nfdsr::engine
