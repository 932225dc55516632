#include "nft/watch.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "nft/nft_apply.hpp"

namespace nfdsr::nft {

namespace {

// Receive buffer asked for: events of a commit of a few thousand objects fit;
// a bigger commit (a first apply at scale) overflows it and reports `lost`.
constexpr int kRcvBuf = 8 << 20;

struct Event {
    const char* what = nullptr;  // "delete element of set", ...; null: not an object event
    const char* table = nullptr;
    const char* name = nullptr;  // chain / set / object the event is about, if any
    std::uint32_t gen_pid = 0;   // NEWGEN: the committing process
    bool gen = false;
};

// The attribute holding the object's own name (chains, sets, objects,
// flowtables) or its container's (rules: chain; elements: set), per type.
const char* describe(int type, int& name_attr) {
    name_attr = 0;
    switch (type) {
        case NFT_MSG_NEWTABLE: return "add/replace table";
        case NFT_MSG_DELTABLE: return "delete table";
        case NFT_MSG_NEWCHAIN: name_attr = NFTA_CHAIN_NAME; return "add/replace chain";
        case NFT_MSG_DELCHAIN: name_attr = NFTA_CHAIN_NAME; return "delete chain";
        case NFT_MSG_NEWRULE: name_attr = NFTA_RULE_CHAIN; return "add/replace rule in chain";
        case NFT_MSG_DELRULE: name_attr = NFTA_RULE_CHAIN; return "delete rule in chain";
        case NFT_MSG_NEWSET: name_attr = NFTA_SET_NAME; return "add set/map";
        case NFT_MSG_DELSET: name_attr = NFTA_SET_NAME; return "delete set/map";
        case NFT_MSG_NEWSETELEM: name_attr = NFTA_SET_ELEM_LIST_SET; return "add element to set/map";
        case NFT_MSG_DELSETELEM: name_attr = NFTA_SET_ELEM_LIST_SET; return "delete element of set/map";
        case NFT_MSG_NEWOBJ: name_attr = NFTA_OBJ_NAME; return "add object";
        case NFT_MSG_DELOBJ: name_attr = NFTA_OBJ_NAME; return "delete object";
        case NFT_MSG_NEWFLOWTABLE: name_attr = NFTA_FLOWTABLE_NAME; return "add flowtable";
        case NFT_MSG_DELFLOWTABLE: name_attr = NFTA_FLOWTABLE_NAME; return "delete flowtable";
        default: return nullptr;  // GET*, TRACE, DESTROY* (never notified: deletes are)
    }
}

// Calls f for each attribute after the nfgenmsg header of nlh.
void for_each_attr(const nlmsghdr* nlh, const std::function<void(const nlattr*)>& f) {
    const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    for (auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
         mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a))
        f(a);
}

// Decodes one nf_tables event into `ev` (left empty for anything else).
void decode(const nlmsghdr* nlh, Event& ev) {
    ev = Event{};
    if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) return;
    const int type = NFNL_MSG_TYPE(nlh->nlmsg_type);
    const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
    if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg))) return;
    if (type == NFT_MSG_NEWGEN) {
        ev.gen = true;
        for_each_attr(nlh, [&](const nlattr* a) {
            if (mnl_attr_get_type(a) == NFTA_GEN_PROC_PID && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
                ev.gen_pid = ntohl(mnl_attr_get_u32(a));
        });
        return;
    }
    int name_attr = 0;
    ev.what = describe(type, name_attr);
    if (!ev.what || nfg->nfgen_family != NFPROTO_IPV4) {
        ev.what = nullptr;
        return;
    }
    // attribute 1 is the table's name in every object message
    // (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE, ...)
    for_each_attr(nlh, [&](const nlattr* a) {
        const int t = mnl_attr_get_type(a);
        if ((t != 1 && t != name_attr) || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) != 0) return;
        (t == 1 ? ev.table : ev.name) = mnl_attr_get_str(a);
    });
    return;
}

}  // namespace

struct TableWatch::Impl {
    mnl_socket* nl = nullptr;
    // the commit being read: did it touch our table, and how
    bool touched = false;
    std::vector<std::string> what;
};

TableWatch::TableWatch() : impl_(new Impl) {
    impl_->nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!impl_->nl) {
        delete impl_;
        throw NftError(std::string("nft watch: netlink socket: ") + std::strerror(errno));
    }
    const int fd = mnl_socket_get_fd(impl_->nl);
    int size = kRcvBuf;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (mnl_socket_bind(impl_->nl, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        const int err = errno;
        mnl_socket_close(impl_->nl);
        delete impl_;
        throw NftError(std::string("nft watch: subscribing to the nftables event group: ") + std::strerror(err));
    }
}

TableWatch::~TableWatch() {
    mnl_socket_close(impl_->nl);
    delete impl_;
}

int TableWatch::fd() const { return mnl_socket_get_fd(impl_->nl); }

TableWatch::Seen TableWatch::read() {
    Seen seen;
    std::vector<char> buf(64 * 1024);  // one datagram of events (the kernel's are up to NLMSG_GOODSIZE)
    const auto self = static_cast<std::uint32_t>(getpid());
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(impl_->nl, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS) {
                // events were dropped: the commit being read is incomplete too
                seen.lost = true;
                impl_->touched = false;
                impl_->what.clear();
                continue;
            }
            break;  // EAGAIN: all read
        }
        // one datagram holds one or more messages; walk them one by one
        int left = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left);
             nlh = mnl_nlmsg_next(nlh, &left)) {
            Event ev;
            decode(nlh, ev);
            if (ev.gen) {
                if (impl_->touched && ev.gen_pid != self) {
                    seen.foreign = true;
                    for (auto& w : impl_->what)
                        if (seen.touched.size() < kMaxTouched) seen.touched.push_back(std::move(w));
                        else if (seen.touched.size() == kMaxTouched) seen.touched.emplace_back("...");
                }
                impl_->touched = false;
                impl_->what.clear();
            } else if (ev.what && ev.table && std::strcmp(ev.table, kTable) == 0) {
                impl_->touched = true;
                if (impl_->what.size() <= kMaxTouched)
                    impl_->what.push_back(std::string(ev.what) + (ev.name ? std::string(" ") + ev.name : ""));
            }
        }
    }
    return seen;
}

}  // namespace nfdsr::nft
