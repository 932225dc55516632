#include "engine/daemon_state.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace nfdsr::engine {

std::string runtime_dir()
{
    const char* env = std::getenv("NFDSR_RUN_DIR");
    return env && *env ? env : "/run/nfdsr";
}

std::string daemon_state_path() { return runtime_dir() + "/nfdsrd.state"; }

namespace {

// Values are single lines: newlines and tabs would break the format.
std::string flat(std::string s)
{
    for (char& c : s)
        if (c == '\n' || c == '\t' || c == '\r')
            c = ' ';
    return s;
}

bool is_nfdsrd(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
        return false;
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    return name == "nfdsrd";  // not a recycled pid
}

// The daemon manages the network namespace it runs in: one in another
// namespace (a lab, a container) is not this one's.
bool same_netns(pid_t pid)
{
    struct stat mine {}, theirs {};
    if (stat("/proc/self/ns/net", &mine) != 0)
        return true;
    if (stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &theirs) != 0)
        return true;  // not allowed to look: assume it is
    return mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

}  // namespace

void write_daemon_state(const DaemonState& s)
{
    const std::string dir = runtime_dir();
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throw std::runtime_error("cannot create " + dir + ": " + std::strerror(errno));
    std::ostringstream o;
    o << "# nfdsrd state (read by nfdsrctl status/trace/reload); rewritten after every apply\n"
      << "pid\t" << s.pid << "\n"
      << "config\t" << flat(s.config) << "\n"
      << "node\t" << flat(s.node) << "\n"
      << "reloads_started\t" << s.reloads_started << "\n"
      << "reloads\t" << s.reloads << "\n"
      << "failed_reloads\t" << s.failed_reloads << "\n"
      << "last\t" << (s.last_ok ? "ok" : "failed") << "\n"
      << "status\t" << flat(s.status) << "\n";
    for (const auto& [svc, be] : s.down)
        o << "down\t" << flat(svc) << "\t" << flat(be) << "\n";
    const std::string path = daemon_state_path();
    const std::string tmp = path + ".tmp";
    const std::string text = o.str();
    const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
    fchmod(fd, 0644);  // for nfdsrctl, whatever the service's UMask
    const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int err = errno;
    close(fd);
    if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
        unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + path + ": " + std::strerror(ok ? errno : err));
    }
}

std::optional<DaemonState> read_daemon_state(std::string& why)
{
    const std::string path = daemon_state_path();
    std::ifstream in(path);
    if (!in) {
        if (errno == EACCES)
            why = "cannot read " + path + ": " + std::strerror(errno) + " (nfdsrctl needs root to see nfdsrd)";
        else
            why = "nfdsrd is not running (no " + path + ")";
        return std::nullopt;
    }
    DaemonState s;
    bool have_pid = false;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        const auto tab = line.find('\t');
        const std::string key = line.substr(0, tab);
        const std::string val = tab == std::string::npos ? "" : line.substr(tab + 1);
        try {
            if (key == "pid") {
                s.pid = static_cast<pid_t>(std::stol(val));
                have_pid = true;
            } else if (key == "config") {
                s.config = val;
            } else if (key == "node") {
                s.node = val;
            } else if (key == "reloads_started") {
                s.reloads_started = static_cast<unsigned>(std::stoul(val));
            } else if (key == "reloads") {
                s.reloads = static_cast<unsigned>(std::stoul(val));
            } else if (key == "failed_reloads") {
                s.failed_reloads = static_cast<unsigned>(std::stoul(val));
            } else if (key == "last") {
                s.last_ok = val == "ok";
            } else if (key == "status") {
                s.status = val;
            } else if (key == "down") {
                const auto t = val.find('\t');
                if (t != std::string::npos)
                    s.down.insert({val.substr(0, t), val.substr(t + 1)});
            }
        } catch (const std::exception&) {
            why = path + ": malformed line '" + line + "'";
            return std::nullopt;
        }
    }
    if (!have_pid) {
        why = path + ": no pid";
        return std::nullopt;
    }
    if (!is_nfdsrd(s.pid)) {
        why = "nfdsrd is not running (" + path + " names pid " + std::to_string(s.pid) + ", which is gone)";
        return std::nullopt;
    }
    if (!same_netns(s.pid)) {
        why = "nfdsrd (pid " + std::to_string(s.pid) + ") runs in another network namespace";
        return std::nullopt;
    }
    return s;
}

}  // namespace nfdsr::engine
