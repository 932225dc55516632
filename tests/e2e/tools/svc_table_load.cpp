// Loads the module's service table through nfdsr_kmod_client and checks it
// back (tests/e2e/svc_table.sh, in a VM):
//   svc_table_load SERVICES BACKENDS M
// 1. SET (route mark mask 0x000f0000), then SERVICES TCP services
//    10.x.y.z:80 with BACKENDS backends each and a Maglev table of M
//    entries (src/maglev), route marks within the mask; prints the time and
//    the kernel memory it took (/proc/meminfo Slab + Percpu + VmallocUsed);
// 2. dumps the table back and compares every service;
// 3. SVC_LOOKUP of clients against the userspace prediction
//    (nft_flow_bucket + the table); a draining service (est_table): a SYN
//    takes the table, an ACK the established one;
// 4. one service with M = NFDSR_MAGLEV_SIZE_LIMIT and 4000 backends (the
//    dump sends it in parts) and a rejected one (extack naming it);
// 5. deletes everything: GET's service count is 0.
// Exit 0 = all checks passed.
#include "kmod_client/client.hpp"
#include "maglev/flow_hash.hpp"
#include "maglev/maglev.hpp"

#include <nfdsr/uapi/nfdsr.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

using namespace nfdsr;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what)
{
    std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
    if (!ok)
        ++failures;
}

long meminfo_kb()
{
    std::ifstream f("/proc/meminfo");
    std::string line;
    long total = 0;
    while (std::getline(f, line)) {
        std::istringstream in(line);
        std::string key;
        long kb = 0;
        in >> key >> kb;
        if (key == "Slab:" || key == "Percpu:" || key == "VmallocUsed:")
            total += kb;
    }
    return total;
}

plan::Ipv4 ipv4(std::uint32_t host_order) { return {htonl(host_order)}; }

kmod::Service make_service(std::uint32_t i, std::uint32_t nb, std::uint32_t m)
{
    kmod::Service s;
    s.key = {plan::Protocol::tcp, ipv4(0x0a000000u + i + 1), 80, kmod::SvcKind::entry};
    s.flags = kmod::kSvcOption;
    s.hash_seed = 0x9e3779b9u * (i + 1);
    std::vector<maglev::Backend> mb;
    for (std::uint32_t b = 0; b < nb; ++b) {
        kmod::SvcBackend be{ipv4(0xac100000u + b + 1), static_cast<std::uint16_t>(8080 + (i % 7)), (b % 16) << 16};
        s.backends.push_back(be);
        mb.push_back({std::to_string(b + 1) + ":" + std::to_string(be.port), 1});
    }
    for (auto v : maglev::build(mb, m))
        s.table.push_back(static_cast<std::uint16_t>(v));
    return s;
}

std::map<std::string, kmod::Service> by_key(const std::vector<kmod::Service>& v)
{
    std::map<std::string, kmod::Service> out;
    for (const auto& s : v)
        out[kmod::describe(s.key)] = s;
    return out;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s SERVICES BACKENDS M\n", argv[0]);
        return 2;
    }
    const auto n = static_cast<std::uint32_t>(std::strtoul(argv[1], nullptr, 10));
    const auto nb = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
    const auto m = static_cast<std::uint32_t>(std::strtoul(argv[3], nullptr, 10));
    try {
        auto c = kmod::Client::open();
        plan::ModuleParams params;
        params.route_mark_mask = 0x000f0000;
        c.set(params, {});

        std::vector<kmod::Service> svcs;
        for (std::uint32_t i = 0; i < n; ++i)
            svcs.push_back(make_service(i, nb, m));
        const long before = meminfo_kb();
        const auto t0 = std::chrono::steady_clock::now();
        c.set_services(svcs);
        const auto t1 = std::chrono::steady_clock::now();
        const long after = meminfo_kb();
        std::printf("loaded %u services x %u backends, M=%u: %.3f s, kernel memory +%ld KiB (%.1f KiB/service)\n", n,
                    nb, m, std::chrono::duration<double>(t1 - t0).count(), after - before,
                    n ? double(after - before) / n : 0.0);
        expect(c.get().svc_count == n, "GET counts " + std::to_string(n) + " services");

        // replace all again: counters and table stay consistent
        const auto t2 = std::chrono::steady_clock::now();
        c.set_services(svcs);
        std::printf("replaced them: %.3f s\n",
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count());

        const auto t3 = std::chrono::steady_clock::now();
        auto dumped = by_key(c.dump_services());
        std::printf("dumped: %.3f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t3).count());
        std::size_t same = 0;
        for (const auto& s : svcs) {
            auto it = dumped.find(kmod::describe(s.key));
            same += it != dumped.end() && it->second.same_config(s);
        }
        expect(dumped.size() == svcs.size() && same == svcs.size(),
               "dump gives back all " + std::to_string(svcs.size()) + " services (" + std::to_string(same) +
                   " identical)");

        // lookups vs the userspace prediction
        std::size_t agree = 0, tried = 0;
        for (std::uint32_t i = 0; i < n; i += std::max<std::uint32_t>(1, n / 20)) {
            const auto& s = svcs[i];
            for (std::uint32_t k = 0; k < 10; ++k) {
                const plan::Ipv4 client = ipv4(0xc0a80a00u + 1 + k * 13);
                const auto port = static_cast<std::uint16_t>(30000 + k * 977);
                const auto l = c.lookup(s.key, client, port, 0x02);
                const auto bucket = maglev::nft_flow_bucket(client.be, port, m, s.hash_seed);
                ++tried;
                agree += l.has_backend && !l.established_table && l.bucket == bucket && l.backend == s.table[bucket];
            }
        }
        expect(agree == tried, "SVC_LOOKUP agrees with nft_flow_bucket + table for " + std::to_string(agree) + "/" +
                                   std::to_string(tried) + " clients");

        // drain: est_table = the full table, table = without backend 0
        {
            kmod::Service d = make_service(n + 1, 4, 251);
            d.est_table = d.table;
            std::vector<maglev::Backend> mb;
            for (std::uint32_t b = 1; b < 4; ++b)
                mb.push_back({std::to_string(b + 1) + ":" + std::to_string(d.backends[b].port), 1});
            d.table.clear();
            for (auto v : maglev::build(mb, 251))
                d.table.push_back(static_cast<std::uint16_t>(v + 1));
            c.set_services({d});
            std::size_t ok = 0;
            for (std::uint32_t k = 0; k < 20; ++k) {
                const plan::Ipv4 client = ipv4(0xc0a80b00u + 1 + k);
                const auto port = static_cast<std::uint16_t>(40000 + k);
                const auto b = maglev::nft_flow_bucket(client.be, port, 251, d.hash_seed);
                const auto syn = c.lookup(d.key, client, port, 0x02);
                const auto ack = c.lookup(d.key, client, port, 0x10);
                ok += !syn.established_table && syn.backend == d.table[b] && ack.established_table &&
                      ack.backend == d.est_table[b];
            }
            expect(ok == 20, "drain: SYN takes the table, ACK the established one (" + std::to_string(ok) + "/20)");
        }

        // a service bigger than a dump message
        {
            kmod::Service big;
            big.key = {plan::Protocol::udp, ipv4(0x0b000001u), 53, kmod::SvcKind::tunnel};
            for (std::uint32_t b = 0; b < 4000; ++b)
                big.backends.push_back({ipv4(0xac200000u + b + 1), 53, 0});
            big.table.resize(NFDSR_MAGLEV_SIZE_LIMIT);
            for (std::size_t i = 0; i < big.table.size(); ++i)
                big.table[i] = static_cast<std::uint16_t>((i * 2654435761u) % 4000);
            c.set_services({big});
            auto d = by_key(c.dump_services());
            auto it = d.find(kmod::describe(big.key));
            expect(it != d.end() && it->second.same_config(big), "M=1048573 x 4000 backends: dumped back identical");
            c.del_services({big.key});
        }

        // a rejected service names itself and the attribute
        {
            kmod::Service bad = make_service(n + 2, 2, 7);
            bad.table[3] = 5;  // no such backend
            std::string what;
            try {
                c.set_services({bad});
            } catch (const kmod::KmodError& e) {
                what = e.what();
            }
            std::printf("rejected: %s\n", what.c_str());
            expect(what.find(kmod::describe(bad.key)) != std::string::npos &&
                       what.find("names no backend") != std::string::npos,
                   "an invalid table is rejected with the service and the reason");
        }

        std::vector<kmod::SvcKey> keys;
        for (const auto& s : svcs)
            keys.push_back(s.key);
        keys.push_back(make_service(n + 1, 4, 251).key);
        const auto t4 = std::chrono::steady_clock::now();
        c.del_services(keys);
        std::printf("deleted: %.3f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t4).count());
        expect(c.get().svc_count == 0, "GET counts 0 services after delete");
    } catch (const std::exception& e) {
        std::printf("FAIL: %s\n", e.what());
        return 1;
    }
    return failures ? 1 : 0;
}
