#include "nft/batch.hpp"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "common/log.hpp"
#include "nft/nft_apply.hpp"

namespace nfdsr::nft::detail {
namespace {

// Upper bound for one message we build. Set-element messages are chunked by
// the ruleset builder to stay well below 64 KiB (nested attribute lengths are
// 16 bit); everything else is small.
constexpr std::size_t kMaxMessage = 128 * 1024;

struct SocketCloser {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using Socket = std::unique_ptr<mnl_socket, SocketCloser>;

std::string errno_text(int err) { return std::strerror(err); }

struct Failure {
    std::uint32_t seq;
    int err;               // positive errno
    std::string ext_msg;   // extended ack message, if the kernel gave one
};

// Grow a socket buffer to at least `want` bytes (SO_*BUFFORCE needs
// CAP_NET_ADMIN, which we have when we can talk to nf_tables at all; fall
// back to the unprivileged option capped by net.core.*mem_max).
void grow_buffer(int fd, int opt, int force_opt, std::size_t want) {
    int cur = 0;
    socklen_t len = sizeof(cur);
    if (getsockopt(fd, SOL_SOCKET, opt, &cur, &len) == 0 && static_cast<std::size_t>(cur) >= want) return;
    int v = want > static_cast<std::size_t>(INT32_MAX / 2) ? INT32_MAX / 2 : static_cast<int>(want);
    if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) != 0) setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

}  // namespace

Batch::Batch() : seq_base_(static_cast<std::uint32_t>(std::time(nullptr))) {
    // Sequence numbers: BATCH_BEGIN = seq_base_, message i = seq_base_+1+i,
    // BATCH_END = last+1. Like nft, start from the clock so stale acks from an
    // earlier run can never be confused with ours (each run has its own socket
    // anyway).
    char* p = reserve();
    nlmsghdr* nlh = nftnl_batch_begin(p, seq_base_);
    buf_.resize(static_cast<std::size_t>(p - buf_.data()) + NLMSG_ALIGN(nlh->nlmsg_len));
}

char* Batch::reserve() {
    std::size_t off = buf_.size();
    buf_.resize(off + kMaxMessage);
    std::memset(buf_.data() + off, 0, kMaxMessage);
    return buf_.data() + off;
}

void Batch::finish_message(std::string what) {
    // The message was built at the start of the reserved area: trim to its length.
    std::size_t off = buf_.size() - kMaxMessage;
    auto* nlh = reinterpret_cast<nlmsghdr*>(buf_.data() + off);
    if (nlh->nlmsg_len > kMaxMessage) throw NftError("internal: netlink message for " + what + " too large");
    buf_.resize(off + NLMSG_ALIGN(nlh->nlmsg_len));
    what_.push_back(std::move(what));
}

namespace {
std::uint32_t next_seq(std::uint32_t base, std::size_t n) { return base + 1 + static_cast<std::uint32_t>(n); }
}  // namespace

void Batch::add_table(std::uint16_t type, std::uint16_t flags, const nftnl_table* t, std::string what) {
    nlmsghdr* nlh = nftnl_table_nlmsg_build_hdr(reserve(), type, NFPROTO_IPV4, flags | NLM_F_ACK,
                                                next_seq(seq_base_, what_.size()));
    nftnl_table_nlmsg_build_payload(nlh, t);
    finish_message(std::move(what));
}

void Batch::add_chain(std::uint16_t type, std::uint16_t flags, const nftnl_chain* c, std::string what) {
    nlmsghdr* nlh = nftnl_chain_nlmsg_build_hdr(reserve(), type, NFPROTO_IPV4, flags | NLM_F_ACK,
                                                next_seq(seq_base_, what_.size()));
    nftnl_chain_nlmsg_build_payload(nlh, c);
    finish_message(std::move(what));
}

void Batch::add_set(std::uint16_t type, std::uint16_t flags, const nftnl_set* s, std::string what) {
    nlmsghdr* nlh = nftnl_set_nlmsg_build_hdr(reserve(), type, NFPROTO_IPV4, flags | NLM_F_ACK,
                                              next_seq(seq_base_, what_.size()));
    nftnl_set_nlmsg_build_payload(nlh, const_cast<nftnl_set*>(s));
    finish_message(std::move(what));
}

void Batch::add_set_elems(std::uint16_t type, std::uint16_t flags, const nftnl_set* s, std::string what) {
    nlmsghdr* nlh = nftnl_set_elem_nlmsg_build_hdr(reserve(), type, NFPROTO_IPV4,
                                                   flags | NLM_F_ACK, next_seq(seq_base_, what_.size()));
    nftnl_set_elems_nlmsg_build_payload(nlh, const_cast<nftnl_set*>(s));
    finish_message(std::move(what));
}

void Batch::add_rule(std::uint16_t type, std::uint16_t flags, const nftnl_rule* r, std::string what) {
    nlmsghdr* nlh = nftnl_rule_nlmsg_build_hdr(reserve(), type, NFPROTO_IPV4, flags | NLM_F_ACK,
                                               next_seq(seq_base_, what_.size()));
    nftnl_rule_nlmsg_build_payload(nlh, const_cast<nftnl_rule*>(r));
    finish_message(std::move(what));
}

void Batch::commit() { send(true); }

void Batch::check() const { send(false); }

void Batch::send(bool commit_it) const {
    const std::uint32_t end_seq = next_seq(seq_base_, what_.size());
    std::vector<char> end(NLMSG_ALIGN(sizeof(nlmsghdr) + sizeof(nfgenmsg)));
    if (commit_it) {
        nlmsghdr* nlh = nftnl_batch_end(end.data(), end_seq);
        end.resize(NLMSG_ALIGN(nlh->nlmsg_len));
    } else {
        end.clear();
    }
    auto describe = [&](std::uint32_t seq) -> std::string {
        if (seq == seq_base_) return "batch begin";
        if (seq == end_seq) return "batch end";
        std::uint32_t i = seq - seq_base_ - 1;
        if (i < what_.size()) return what_[i];
        return "unknown message (seq " + std::to_string(seq) + ")";
    };

    Socket nl(mnl_socket_open(NETLINK_NETFILTER));
    if (!nl) throw NftError("cannot open netlink socket: " + errno_text(errno));
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        throw NftError("cannot bind netlink socket: " + errno_text(errno));
    const int fd = mnl_socket_get_fd(nl.get());
    const unsigned portid = mnl_socket_get_portid(nl.get());
    int one = 1;
    // Errors quote only the failing message's header (not its payload): acks stay small.
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    // Let the kernel attach an explanation (extack) where it has one.
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    // netlink_sendmsg refuses a message larger than sk_sndbuf - 32: size the
    // send buffer to the whole batch. Each ack costs an skb (~1 KiB truesize).
    grow_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, buf_.size() + end.size() + 4096);
    grow_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, (what_.size() + 2) * 1024 + 65536);

    NFDSR_LOG(debug) << "nft: " << (commit_it ? "sending" : "checking") << " batch of " << what_.size()
                     << " messages, " << buf_.size() << " bytes";
    // One sendmsg, two iovecs: the messages and (to commit) the end marker.
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    iovec iov[2] = {{const_cast<char*>(buf_.data()), buf_.size()}, {end.data(), end.size()}};
    msghdr mh{};
    mh.msg_name = &kernel;
    mh.msg_namelen = sizeof(kernel);
    mh.msg_iov = iov;
    mh.msg_iovlen = end.empty() ? 1 : 2;
    const std::size_t total = buf_.size() + end.size();
    ssize_t sent = sendmsg(fd, &mh, 0);
    if (sent < 0) throw NftError("sending nftables batch failed: " + errno_text(errno));
    if (static_cast<std::size_t>(sent) != total) throw NftError("nftables batch sent partially");

    // nfnetlink processes the batch synchronously inside sendmsg and queues
    // one ack per NLM_F_ACK message (errors for every failing one) before it
    // returns; drain them all. Poll briefly only if some are still missing.
    std::vector<Failure> failures;
    std::size_t acks = 0;
    const std::size_t expected = what_.size();
    std::vector<char> rbuf(256 * 1024);
    for (;;) {
        ssize_t n = recv(fd, rbuf.data(), rbuf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (acks >= expected || !failures.empty()) break;
                pollfd pfd{fd, POLLIN, 0};
                int pr = poll(&pfd, 1, 2000);
                if (pr > 0) continue;
                break;
            }
            if (errno == ENOBUFS)
                throw NftError("netlink receive buffer overflow while reading nftables acks (" +
                               std::to_string(acks) + " of " + std::to_string(expected) +
                               " read); check `nft list table ip nfdsr`");
            throw NftError("reading nftables acks failed: " + errno_text(errno));
        }
        int len = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<nlmsghdr*>(rbuf.data()); mnl_nlmsg_ok(nlh, len);
             nlh = mnl_nlmsg_next(nlh, &len)) {
            if (nlh->nlmsg_pid != portid) continue;
            if (nlh->nlmsg_type != NLMSG_ERROR) continue;
            auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
            ++acks;
            if (e->error == 0) continue;
            Failure f{nlh->nlmsg_seq, -e->error, {}};
            if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
                std::size_t off = sizeof(nlmsgerr);
                if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof(nlmsghdr);
                mnl_attr_parse(
                    nlh, static_cast<unsigned>(off),
                    [](const nlattr* a, void* data) -> int {
                        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
                            mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
                            *static_cast<std::string*>(data) = mnl_attr_get_str(a);
                        return MNL_CB_OK;
                    },
                    &f.ext_msg);
            }
            failures.push_back(std::move(f));
        }
    }

    if (!failures.empty()) {
        // The kernel keeps processing after an error (to report them all), so
        // later messages often fail only because of the first one (e.g. a
        // rule in a chain that could not be created): name the first.
        const Failure* first = &failures.front();
        for (const auto& f : failures)
            if (f.seq - seq_base_ < first->seq - seq_base_) first = &f;
        std::string msg = "nftables rejected " + describe(first->seq) + ": " + errno_text(first->err);
        if (!first->ext_msg.empty()) msg += " (" + first->ext_msg + ")";
        if (failures.size() > 1) msg += "; " + std::to_string(failures.size() - 1) + " more message(s) failed";
        msg += commit_it ? "; transaction aborted, ruleset unchanged" : "; nothing was changed";
        throw NftError(msg);
    }
    if (acks < expected)
        throw NftError("nftables batch: only " + std::to_string(acks) + " of " + std::to_string(expected) +
                       " acks received; check `nft list table ip nfdsr`");
}

}  // namespace nfdsr::nft::detail
