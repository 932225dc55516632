#include "nft/dump.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "nft/nft_apply.hpp"

namespace nfdsr::nft::detail {

namespace {

using Socket = std::unique_ptr<mnl_socket, int (*)(mnl_socket*)>;

Socket open_socket() {
    Socket nl(mnl_socket_open(NETLINK_NETFILTER), mnl_socket_close);
    if (!nl) throw NftError(std::string("netlink socket: ") + std::strerror(errno));
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw NftError(std::string("netlink bind: ") + std::strerror(errno));
    return nl;
}

// One request, answers to `cb` until done. Returns 0, or the errno.
int request(std::uint16_t msg_type, std::uint16_t flags, const std::function<void(nlmsghdr*)>& payload,
            mnl_cb_t cb, void* data) {
    Socket nl = open_socket();
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
    const std::uint32_t seq = static_cast<std::uint32_t>(time(nullptr));
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), msg_type, NFPROTO_IPV4, flags, seq);
    if (payload) payload(nlh);
    if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
        throw NftError(std::string("netlink send: ") + std::strerror(errno));
    const unsigned portid = mnl_socket_get_portid(nl.get());
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw NftError(std::string("netlink receive: ") + std::strerror(errno));
        }
        int rc = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid, cb, data);
        if (rc == MNL_CB_STOP) return 0;
        if (rc < 0) return errno;
        if (!(flags & NLM_F_DUMP)) return 0;  // a single answer (GETGEN) has no NLMSG_DONE
    }
}

}  // namespace

bool dump(std::uint16_t msg_type, const std::function<void(nlmsghdr*)>& payload,
          const std::function<void(const nlmsghdr*)>& each, const std::function<void()>& restart) {
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(m);
        return MNL_CB_OK;
    };
    constexpr int kAttempts = 20;
    for (int attempt = 1;; ++attempt) {
        const int err = request(msg_type, NLM_F_DUMP, payload, cb,
                                const_cast<std::function<void(const nlmsghdr*)>*>(&each));
        if (err == 0) return true;
        if (err == ENOENT) return false;  // no such table
        // libmnl reports a dump interrupted by a concurrent commit as EINTR
        if (err == EINTR && attempt < kAttempts) {
            if (restart) restart();
            continue;
        }
        throw NftError(std::string("nftables dump: ") + std::strerror(err));
    }
}

std::uint32_t generation() {
    std::uint32_t gen = 0;
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        std::unique_ptr<nftnl_gen, void (*)(const nftnl_gen*)> g(nftnl_gen_alloc(), nftnl_gen_free);
        if (g && nftnl_gen_nlmsg_parse(m, g.get()) == 0)
            *static_cast<std::uint32_t*>(data) = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
        return MNL_CB_OK;
    };
    const int err = request(NFT_MSG_GETGEN, NLM_F_ACK, {}, cb, &gen);
    if (err != 0) throw NftError(std::string("nftables generation: ") + std::strerror(err));
    return gen;
}

}  // namespace nfdsr::nft::detail
