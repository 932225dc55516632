#include "nft/nft_apply.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "nft/batch.hpp"
#include "nft/dump.hpp"
#include "nft/inventory.hpp"
#include "nft/model.hpp"
#include "nft/ruleset.hpp"
#include "nft/transaction.hpp"

extern char** environ;

namespace nfdsr::nft {

Table::Table() = default;
Table::~Table() = default;

void Table::forget() {
    installed_.reset();
    installed_inventory_.clear();
    pending_.reset();
    batch_.reset();
    basis_.reset();
}

bool Table::table_is_ours() const {
    try {
        return !installed_inventory_.empty() && detail::inventory() == installed_inventory_;
    } catch (const NftError& e) {
        NFDSR_LOG(warning) << "nft: cannot read table ip nfdsr (" << e.what() << ")";
        return false;
    }
}

void Table::prepare(const plan::NodePlan& plan) {
    pending_ = std::make_unique<detail::Ruleset>(detail::build(plan));
    batch_.reset();
    if (installed_ && (!watched_ || suspect_) && !table_is_ours()) {
        NFDSR_LOG(warning) << "nft: table ip nfdsr is not exactly what this process committed (objects added, "
                              "deleted or replaced by someone else); rebuilding it from what is installed";
        installed_.reset();
    }
    if (installed_) {
        auto update = std::make_unique<detail::Batch>();
        if (detail::emit_update(*installed_, *pending_, *update)) {
            try {
                if (update->messages() > 0) update->check();
                batch_ = std::move(update);
                mode_ = Mode::update;
                basis_ = installed_inventory_;
                return;
            } catch (const NftError& e) {
                NFDSR_LOG(warning) << "nft: the update of table ip nfdsr was rejected (" << e.what()
                                   << "); rebuilding it from what is installed instead";
            }
        }
    }
    prepare_rebuild();
}

// Packets must never pass between an old and a new base chain at the same
// hook and priority: the new chain's hook is registered (before the old
// one's, at equal priority) while the batch is prepared, the old one's is
// removed only after the generation flip, and in between a packet can meet
// the new chain while it is still empty and then the old one already
// emptied (no dispatch, so the entry node answers the client itself with a
// reset). So a table we did not just commit is rebuilt in place: same table,
// same base chains, everything else deleted and created again. Only a table
// whose base chains are defined differently is deleted and created whole.
void Table::prepare_rebuild() {
    const detail::KernelTable k = detail::read_table();
    if (k.exists) {
        auto rebuild = std::make_unique<detail::Batch>();
        if (detail::emit_rebuild(k.skeleton, *pending_, *rebuild)) {
            try {
                rebuild->check();
                batch_ = std::move(rebuild);
                mode_ = Mode::rebuild;
                basis_ = k.inventory;
                return;
            } catch (const NftError& e) {
                NFDSR_LOG(warning) << "nft: rebuilding table ip nfdsr in place was rejected (" << e.what()
                                   << "); replacing it whole";
            }
        } else {
            NFDSR_LOG(warning) << "nft: a base chain of table ip nfdsr is defined differently; "
                                  "replacing the table whole";
        }
    }
    auto replace = std::make_unique<detail::Batch>();
    detail::emit_replace(*pending_, *replace);
    replace->check();
    batch_ = std::move(replace);
    mode_ = Mode::replace;
    basis_.reset();  // valid whatever the table holds
}

ChangeStats Table::stats() const {
    return ChangeStats{mode_ == Mode::update, mode_ == Mode::rebuild, batch_->messages(), batch_->bytes()};
}

ChangeStats Table::pending() const {
    if (!batch_) return {};
    return stats();
}

ChangeStats Table::commit() {
    if (!batch_ || !pending_) throw NftError("internal: nft::Table::commit() without prepare()");
    std::uint32_t gen_before = 0;
    try {
        gen_before = detail::generation();
        // The module and the routes were updated since prepare(): an update
        // or a rebuild is still only right for the table it was computed from.
        // (Watched: a foreign change meanwhile is seen by the watch, which
        // has the table rebuilt right after.)
        if (basis_ && (!watched_ || suspect_) && detail::inventory() != *basis_) {
            NFDSR_LOG(warning) << "nft: table ip nfdsr changed since the change was prepared; "
                                  "rebuilding it from what is installed now";
            prepare_rebuild();
        }
        if (batch_->messages() > 0) batch_->commit();
    } catch (...) {
        forget();
        throw;
    }
    const ChangeStats st = stats();
    NFDSR_LOG(debug) << "nft: " << (st.incremental ? "updated" : "replaced") << " table ip nfdsr ("
                     << st.messages << " messages, " << st.bytes << " bytes)";
    installed_ = std::move(pending_);
    batch_.reset();
    suspect_ = false;
    if (watched_ && st.messages == 0 && !installed_inventory_.empty()) return st;  // nothing to read back
    // Read back what we committed. Trusted only if no other transaction
    // (any process, any table) was committed since we read the generation:
    // otherwise the read-back might include someone else's change to our
    // table, and the next change replaces the table whole to be sure.
    try {
        std::string inv = detail::inventory();
        const std::uint32_t gen_after = detail::generation();
        const std::uint32_t ours = st.messages > 0 ? 1 : 0;
        if (gen_after - gen_before == ours) {
            installed_inventory_ = std::move(inv);
        } else {
            installed_inventory_.clear();
            NFDSR_LOG(info) << "nft: another nftables transaction was committed meanwhile (generation "
                            << gen_before << " -> " << gen_after << "); the next change replaces the table whole";
        }
    } catch (const NftError& e) {
        NFDSR_LOG(warning) << "nft: cannot read back table ip nfdsr (" << e.what()
                           << "); the next change replaces it whole";
        installed_inventory_.clear();
    }
    return st;
}

void apply(const plan::NodePlan& plan) {
    Table t;
    t.prepare(plan);
    t.commit();
}

void flush() {
    detail::Batch batch;
    detail::emit_delete(batch);
    batch.commit();
}

namespace {

struct Output {
    int status = -1;
    std::string out, err;
};

// Run argv (no shell), capture stdout and stderr.
Output run(const char* const argv[]) {
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0) throw NftError(std::string("pipe: ") + std::strerror(errno));
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        throw NftError(std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(po[1]);
    close(pe[1]);
    Output o;
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        throw NftError(std::string("cannot run ") + argv[0] + ": " + std::strerror(rc));
    }
    std::array<pollfd, 2> fds{{{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}}};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        if (poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, buf, sizeof(buf));
            if (n > 0) {
                (i == 0 ? o.out : o.err).append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return o;
}

}  // namespace

std::string list_table() {
    // nft's own rendering is the reference users read; we use it as is.
    static const char* const argv[] = {"/usr/sbin/nft", "list", "table", "ip", kTable, nullptr};
    Output o = run(argv);
    if (o.status == 0) return o.out;
    if (o.err.find("No such file or directory") != std::string::npos) return "";
    throw NftError("nft list table ip nfdsr failed (exit " + std::to_string(o.status) + "): " + o.err);
}

}  // namespace nfdsr::nft
