// The nftables side of a node: table "ip nfdsr", the manager's private table.
//
// Every change is ONE nftables transaction (one netlink batch, one sendmsg):
// either the new ruleset is live after the call, or the kernel rejected the
// batch and the running ruleset is untouched. Works in the network namespace
// of the calling thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "plan/node_plan.hpp"

namespace nfdsr::nft {

// what(): names the object the kernel rejected (chain/set/rule ...) and the
// errno text, e.g. `chain "svc_x_tcp_80" (svc x ...): Numerical result out of range`.
struct NftError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline constexpr const char* kTable = "nfdsr";  // table ip nfdsr

namespace detail {
struct Ruleset;
class Batch;
}  // namespace detail

struct ChangeStats {
    bool incremental = false;  // false: the whole table was replaced
    bool kept_hooks = false;   // replaced in place: the same table and base chains
    std::size_t messages = 0;  // netlink messages in the transaction
    std::size_t bytes = 0;
};

// Table ip nfdsr as this process last committed it. The first change (and
// the first after any failure) replaces the whole content of the table (a
// resync; in place, keeping the table and its base chains, see
// prepare_rebuild()); later ones change only what differs from the last
// commit (kube-proxy's model: incremental updates, full resync after an
// error). nfdsrd keeps one for its lifetime.
class Table {
public:
    Table();
    ~Table();
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;

    // Build the transaction that makes the table match `plan` and have the
    // kernel check it (nothing changes yet). If the table was changed behind
    // our back (its objects are not the ones we committed, see
    // inventory.hpp) or the kernel rejects the update, resyncs it whole.
    // Throws NftError if that is rejected too.
    void prepare(const plan::NodePlan& plan);
    // Commit what prepare() built. Throws NftError (the table is unchanged
    // and the next prepare() replaces it whole).
    ChangeStats commit();
    // Next prepare() replaces the whole table.
    void forget();
    // What commit() would send (after prepare()).
    ChangeStats pending() const;
    // Watched (nfdsrd with a TableWatch): prepare() trusts what this process
    // committed and reads nothing back, unless suspect() was called since
    // the last successful commit (events were lost); a foreign change seen
    // by the watch calls forget() instead. Not watched (the default, e.g.
    // nfdsrctl): every prepare() compares the table with its last commit.
    void set_watched(bool on) { watched_ = on; }
    void suspect() { suspect_ = true; }
    // Watched, committed, and nothing seen since that could have changed
    // the table behind our back (no lost events, no foreign change).
    bool trusted() const { return watched_ && !suspect_ && installed_ != nullptr; }

private:
    enum class Mode { update, rebuild, replace };
    // The table holds exactly the chains, sets and rules we last committed.
    bool table_is_ours() const;
    // The whole content from what is installed now, keeping the table and
    // its base chains if their definitions match; else delete and create.
    void prepare_rebuild();
    ChangeStats stats() const;

    std::unique_ptr<detail::Ruleset> installed_, pending_;
    std::string installed_inventory_;  // detail::inventory() right after our last commit
    std::unique_ptr<detail::Batch> batch_;
    Mode mode_ = Mode::replace;
    std::optional<std::string> basis_;  // the inventory batch_ was computed for (none: valid for any)
    bool watched_ = false;
    bool suspect_ = false;
};

// Replace table ip nfdsr with the ruleset for `plan`, atomically.
void apply(const plan::NodePlan& plan);

// Delete table ip nfdsr if it exists (one transaction; no error if absent).
void flush();

// Text of `nft list table ip nfdsr`; "" if the table does not exist.
std::string list_table();

}  // namespace nfdsr::nft
