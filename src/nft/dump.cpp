#include "nft/dump.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "nft/nft_apply.hpp"

namespace nfdsr::nft::detail {

bool dump(std::uint16_t msg_type, const std::function<void(nlmsghdr*)>& payload,
          const std::function<void(const nlmsghdr*)>& each) {
    std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_NETFILTER), mnl_socket_close);
    if (!nl) throw NftError(std::string("netlink socket: ") + std::strerror(errno));
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw NftError(std::string("netlink bind: ") + std::strerror(errno));
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
    const std::uint32_t seq = static_cast<std::uint32_t>(time(nullptr));
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), msg_type, NFPROTO_IPV4, NLM_F_DUMP, seq);
    payload(nlh);
    if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
        throw NftError(std::string("netlink send: ") + std::strerror(errno));
    const unsigned portid = mnl_socket_get_portid(nl.get());
    auto cb = [](const nlmsghdr* m, void* data) -> int {
        (*static_cast<const std::function<void(const nlmsghdr*)>*>(data))(m);
        return MNL_CB_OK;
    };
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw NftError(std::string("netlink receive: ") + std::strerror(errno));
        }
        int rc = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid, cb,
                            const_cast<std::function<void(const nlmsghdr*)>*>(&each));
        if (rc == MNL_CB_STOP) return true;
        if (rc < 0) {
            if (errno == ENOENT) return false;  // no such table
            throw NftError(std::string("nftables dump: ") + std::strerror(errno));
        }
    }
}

}  // namespace nfdsr::nft::detail
