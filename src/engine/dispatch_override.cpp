#include "engine/dispatch_override.hpp"

#include "engine/daemon_state.hpp"

#include "common/log.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace nfdsr::engine {

namespace {

const char* name_of(Dispatch d) { return d == Dispatch::ipip ? "ipip" : "opt"; }

}  // namespace

std::string dispatch_override_path() { return runtime_dir() + "/dispatch"; }

std::optional<Dispatch> read_dispatch_override()
{
    const std::string path = dispatch_override_path();
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT)
            return std::nullopt;
        throw std::runtime_error("cannot read dispatch override " + path + ": " + std::strerror(errno));
    }
    std::string word;
    in >> word;
    if (word == "opt")
        return Dispatch::opt;
    if (word == "ipip")
        return Dispatch::ipip;
    throw std::runtime_error("dispatch override " + path + " holds '" + word +
                             "', expected opt or ipip; run 'nfdsrctl dispatch clear'");
}

void write_dispatch_override(Dispatch d)
{
    const std::string path = dispatch_override_path();
    std::filesystem::create_directories(runtime_dir());
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << name_of(d) << "\n";
        if (!out.flush())
            throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    }
    // nfdsrd runs as another (dynamic) user: readable whatever our umask is
    std::filesystem::permissions(tmp, std::filesystem::perms(0644));
    std::filesystem::rename(tmp, path);  // atomic: a concurrent reload sees old or new
}

void clear_dispatch_override()
{
    std::error_code ec;
    std::filesystem::remove(dispatch_override_path(), ec);
    if (ec)
        throw std::runtime_error("cannot remove " + dispatch_override_path() + ": " + ec.message());
}

bool apply_dispatch_override(config::Config& config)
{
    const auto d = read_dispatch_override();
    if (!d)
        return false;
    if (config.dispatch != *d)
        NFDSR_LOG(info) << "dispatch " << name_of(*d) << " from " << dispatch_override_path()
                        << " overrides the config's " << name_of(config.dispatch);
    config.dispatch = *d;
    return true;
}

}  // namespace nfdsr::engine
