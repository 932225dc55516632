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
#include "nft/ruleset.hpp"

extern char** environ;

namespace nfdsr::nft {

void apply(const plan::NodePlan& plan) {
    detail::Batch batch;
    detail::build_replace(plan, batch);
    NFDSR_LOG(info) << "nft: replacing table ip nfdsr for node " << plan.node << " (" << plan.entry.size()
                    << " entry services, " << plan.bindings.size() << " bindings; " << batch.messages()
                    << " messages, " << batch.bytes() << " bytes)";
    batch.commit();
}

void flush() {
    detail::Batch batch;
    detail::build_delete(batch);
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
