// Watching table ip nfdsr for changes made by anyone else: the nftables
// event group (NFNLGRP_NFTABLES, what `nft monitor` reads), in the network
// namespace of the calling thread.
//
// nf_tables sends one event per object a commit touched (table, chain,
// rule, set, element, ...), then one NFT_MSG_NEWGEN naming the committing
// process (NFTA_GEN_PROC_PID). A commit is *foreign* when it touched table
// ip nfdsr and its NEWGEN names another process than this one. When the
// socket's buffer overflowed (ENOBUFS: a big commit, ours or not), events
// were lost and nothing can be said: Seen::lost.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace nfdsr::nft {

class TableWatch {
public:
    // Opens and subscribes; throws NftError (e.g. no CAP_NET_ADMIN).
    TableWatch();
    ~TableWatch();
    TableWatch(const TableWatch&) = delete;
    TableWatch& operator=(const TableWatch&) = delete;

    int fd() const;  // readable when events are queued (non-blocking)

    struct Seen {
        bool foreign = false;  // another process committed changes to table ip nfdsr
        bool lost = false;     // events were lost (buffer overflow): state unknown
        // what foreign commits touched, e.g. "delete element of map classify_dst",
        // at most kMaxTouched lines (then "...")
        std::vector<std::string> touched;
    };
    static constexpr std::size_t kMaxTouched = 8;

    // Reads every queued event (never blocks). Events of a commit whose
    // NEWGEN has not arrived yet stay pending until it does.
    Seen read();

private:
    struct Impl;
    Impl* impl_;
};

}  // namespace nfdsr::nft
