#include "nft/model.hpp"

#include <libnftnl/expr.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

namespace nfdsr::nft::detail {
namespace {

// Our objects are small (a rule is well under 1 KiB); a set definition
// carries at most a few hundred bytes of userdata.
constexpr std::size_t kFingerprintBuf = 64 * 1024;

template <class BuildHdr, class BuildPayload>
Bytes payload_of(BuildHdr hdr, BuildPayload payload) {
    std::vector<char> buf(kFingerprintBuf);
    nlmsghdr* nlh = hdr(buf.data());
    payload(nlh);
    const auto* p = reinterpret_cast<const std::uint8_t*>(nlh);
    return Bytes(p + NLMSG_HDRLEN, p + nlh->nlmsg_len);
}

}  // namespace

Bytes fingerprint(const nftnl_table* t) {
    return payload_of([](char* b) { return nftnl_table_nlmsg_build_hdr(b, NFT_MSG_NEWTABLE, NFPROTO_IPV4, 0, 0); },
                      [t](nlmsghdr* n) { nftnl_table_nlmsg_build_payload(n, t); });
}

Bytes fingerprint(const nftnl_set* s) {
    return payload_of([](char* b) { return nftnl_set_nlmsg_build_hdr(b, NFT_MSG_NEWSET, NFPROTO_IPV4, 0, 0); },
                      [s](nlmsghdr* n) { nftnl_set_nlmsg_build_payload(n, const_cast<nftnl_set*>(s)); });
}

Bytes fingerprint(const nftnl_chain* c) {
    return payload_of([](char* b) { return nftnl_chain_nlmsg_build_hdr(b, NFT_MSG_NEWCHAIN, NFPROTO_IPV4, 0, 0); },
                      [c](nlmsghdr* n) { nftnl_chain_nlmsg_build_payload(n, c); });
}

Bytes fingerprint(const nftnl_rule* r) {
    return payload_of([](char* b) { return nftnl_rule_nlmsg_build_hdr(b, NFT_MSG_NEWRULE, NFPROTO_IPV4, 0, 0); },
                      [r](nlmsghdr* n) { nftnl_rule_nlmsg_build_payload(n, const_cast<nftnl_rule*>(r)); });
}

std::vector<std::string> looked_up_sets(const nftnl_rule* r) {
    std::vector<std::string> names;
    nftnl_expr_foreach(
        const_cast<nftnl_rule*>(r),
        [](nftnl_expr* e, void* data) -> int {
            const char* kind = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
            if (kind && std::string(kind) == "lookup" && nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_SET))
                static_cast<std::vector<std::string>*>(data)->push_back(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
            return 0;
        },
        &names);
    return names;
}

}  // namespace nfdsr::nft::detail
