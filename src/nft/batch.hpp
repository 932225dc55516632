// One nftables transaction: a netlink batch (BATCH_BEGIN, messages, BATCH_END)
// sent with ONE sendmsg, the way nftables' own src/mnl.c does it:
//  - every message carries its own sequence number and NLM_F_ACK;
//  - we remember which object each sequence number describes, so an error
//    reported by the kernel (which only quotes the sequence number) can be
//    mapped back to "chain X" / "rule in chain Y: <comment>";
//  - the send buffer is sized to the batch (a netlink message bigger than
//    SO_SNDBUF is refused), the receive buffer to the number of acks;
//  - every ack is drained; the kernel commits the batch only if no message
//    failed, otherwise it aborts the whole transaction (nothing changes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct nftnl_table;
struct nftnl_chain;
struct nftnl_set;
struct nftnl_rule;

namespace nfdsr::nft::detail {

class Batch {
public:
    Batch();

    // Each add_* appends one message (NLM_F_ACK is added). `what` describes
    // the object for error messages.
    void add_table(std::uint16_t msg_type, std::uint16_t flags, const nftnl_table* t, std::string what);
    void add_chain(std::uint16_t msg_type, std::uint16_t flags, const nftnl_chain* c, std::string what);
    void add_set(std::uint16_t msg_type, std::uint16_t flags, const nftnl_set* s, std::string what);
    // Elements of `s` (NFT_MSG_NEWSETELEM or NFT_MSG_DELSETELEM).
    void add_set_elems(std::uint16_t msg_type, std::uint16_t flags, const nftnl_set* s, std::string what);
    void add_rule(std::uint16_t msg_type, std::uint16_t flags, const nftnl_rule* r, std::string what);

    std::size_t messages() const { return what_.size(); }
    std::size_t bytes() const { return buf_.size(); }

    // Close the batch, send it in one sendmsg, drain all acks. Throws NftError
    // naming the first failing object (and how many more failed).
    void commit();

    // Send the batch WITHOUT its end marker: the kernel runs every message
    // (all checks of a real commit: names, references, types, limits) and
    // then aborts the transaction, as `nft --check` does. Throws like
    // commit(); changes nothing either way. The batch can be committed after.
    void check() const;

private:
    void send(bool commit_it) const;
    char* reserve();  // room for one more message at the end of buf_
    void finish_message(std::string what);

    std::uint32_t seq_base_;
    std::vector<char> buf_;         // the batch, messages back to back
    std::vector<std::string> what_; // what_[i]: object of message seq_base_+1+i
};

}  // namespace nfdsr::nft::detail
