#include "kmod_client/client.hpp"

#include <nfdsr/uapi/nfdsr.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>

namespace nfdsr::kmod {
namespace {

// State of one request/response exchange, filled by the libnl callbacks.
struct Exchange {
    std::function<void(nlmsghdr*)> on_reply;
    int error = 0;  // negative errno from an NLMSG_ERROR
    std::string extack;
    std::string parse_error;  // exception text from on_reply
    bool done = false;
};

int on_valid(nl_msg* msg, void* arg)
{
    auto* ex = static_cast<Exchange*>(arg);
    if (ex->on_reply && ex->parse_error.empty()) {
        try {
            ex->on_reply(nlmsg_hdr(msg));
        } catch (const std::exception& e) {
            ex->parse_error = e.what();
        }
    }
    return NL_OK;
}

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg)
{
    auto* ex = static_cast<Exchange*>(arg);
    ex->error = err->error;
    ex->extack = extack_message(reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(err) - NLMSG_HDRLEN));
    ex->done = true;
    return NL_STOP;
}

int on_done(nl_msg*, void* arg)
{
    static_cast<Exchange*>(arg)->done = true;
    return NL_STOP;
}

const char* command_name(std::uint8_t cmd)
{
    switch (cmd) {
    case NFDSR_CMD_GET: return "get";
    case NFDSR_CMD_SET: return "set";
    case NFDSR_CMD_FLUSH: return "flush";
    case NFDSR_CMD_FLOW_DUMP: return "flow dump";
    case NFDSR_CMD_BINDING_DUMP: return "binding dump";
    case NFDSR_CMD_SVC_SET: return "service set";
    case NFDSR_CMD_SVC_DEL: return "service delete";
    case NFDSR_CMD_SVC_DUMP: return "service dump";
    case NFDSR_CMD_SVC_LOOKUP: return "service lookup";
    default: return "command";
    }
}

}  // namespace

struct Client::Socket {
    nl_sock* sk = nullptr;
    int family = 0;
    ~Socket() { nl_socket_free(sk); }

    // Sends `msg` and processes replies until the ACK / error / end of dump.
    void exchange(Msg msg, std::function<void(nlmsghdr*)> on_reply)
    {
        const auto cmd = static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr(msg.get())))->cmd;
        const bool dump = nlmsg_hdr(msg.get())->nlmsg_flags & NLM_F_DUMP;
        Exchange ex;
        ex.on_reply = std::move(on_reply);

        std::unique_ptr<nl_cb, decltype(&nl_cb_put)> cb(nl_cb_alloc(NL_CB_DEFAULT), &nl_cb_put);
        if (!cb)
            throw KmodError("out of memory allocating netlink callbacks");
        nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &ex);
        nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_done, &ex);
        nl_cb_set(cb.get(), NL_CB_FINISH, NL_CB_CUSTOM, on_done, &ex);
        nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &ex);

        // Dumps end with NLMSG_DONE; everything else with an ACK or error.
        if (dump)
            nlmsg_hdr(msg.get())->nlmsg_flags &= ~NLM_F_ACK;
        int err = nl_send_auto(sk, msg.get());
        if (err < 0)
            throw KmodError(std::string("nfdsr ") + command_name(cmd) + ": sending: " + nl_geterror(err));
        while (!ex.done) {
            err = nl_recvmsgs(sk, cb.get());
            if (err < 0 && !ex.done)
                throw KmodError(std::string("nfdsr ") + command_name(cmd) + ": receiving: " + nl_geterror(err));
        }
        if (ex.error != 0) {
            std::string what = std::string("nfdsr.ko rejected ") + command_name(cmd) + ": " + std::strerror(-ex.error);
            if (!ex.extack.empty())
                what += " (" + ex.extack + ")";
            throw KmodError(what, -ex.error);
        }
        if (!ex.parse_error.empty())
            throw KmodError(ex.parse_error);
    }
};

namespace {

// Acks of a window of pipelined requests, by sequence number.
struct Batch {
    std::vector<std::uint32_t> seqs;   // of the requests, in order
    std::vector<int> errors;           // negative errno per request, 0 = ok
    std::vector<std::string> extacks;
    std::size_t pending = 0;

    int index(std::uint32_t seq) const
    {
        for (std::size_t i = 0; i < seqs.size(); ++i)
            if (seqs[i] == seq)
                return static_cast<int>(i);
        return -1;
    }
};

int batch_ack(nl_msg* msg, void* arg)
{
    auto* b = static_cast<Batch*>(arg);
    if (b->index(nlmsg_hdr(msg)->nlmsg_seq) >= 0)
        --b->pending;
    return NL_OK;
}

int batch_error(sockaddr_nl*, nlmsgerr* err, void* arg)
{
    auto* b = static_cast<Batch*>(arg);
    const int i = b->index(err->msg.nlmsg_seq);
    if (i >= 0) {
        b->errors[static_cast<std::size_t>(i)] = err->error;
        b->extacks[static_cast<std::size_t>(i)] =
            extack_message(reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(err) - NLMSG_HDRLEN));
        --b->pending;
    }
    return NL_SKIP;
}

// Requests in flight at a time: their acks (NETLINK_CAP_ACK: no echoed
// payload) fit the receive buffer many times over.
constexpr std::size_t kWindow = 256;

}  // namespace

// Sends msgs[i] for i in [0, n) in windows and waits for every ack; on the
// first failure (in order) throws KmodError naming what(i).
template <typename Build, typename Name>
static void pipeline(nl_sock* sk, std::size_t n, Build build, Name what)
{
    for (std::size_t first = 0; first < n; first += kWindow) {
        const std::size_t last = std::min(n, first + kWindow);
        Batch b;
        std::unique_ptr<nl_cb, decltype(&nl_cb_put)> cb(nl_cb_alloc(NL_CB_DEFAULT), &nl_cb_put);
        if (!cb)
            throw KmodError("out of memory allocating netlink callbacks");
        nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, batch_ack, &b);
        nl_cb_err(cb.get(), NL_CB_CUSTOM, batch_error, &b);
        b.errors.assign(last - first, 0);
        b.extacks.assign(last - first, {});
        std::string send_error;
        for (std::size_t i = first; i < last; ++i) {
            Msg msg = build(i);
            const int err = nl_send_auto(sk, msg.get());  // assigns the next sequence number
            if (err < 0) {
                send_error = what(i) + ": sending: " + nl_geterror(err);
                break;
            }
            b.seqs.push_back(nlmsg_hdr(msg.get())->nlmsg_seq);
            ++b.pending;
        }
        while (b.pending > 0) {
            const int err = nl_recvmsgs(sk, cb.get());
            if (err < 0)
                throw KmodError("nfdsr: receiving acks: " + std::string(nl_geterror(err)));
        }
        for (std::size_t i = 0; i < b.seqs.size(); ++i) {
            if (b.errors[i] == 0)
                continue;
            std::string text = "nfdsr.ko rejected " + what(first + i) + ": " + std::strerror(-b.errors[i]);
            if (!b.extacks[i].empty())
                text += " (" + b.extacks[i] + ")";
            throw KmodError(text, -b.errors[i]);
        }
        if (!send_error.empty())
            throw KmodError(send_error);
    }
}

Client::Client(std::unique_ptr<Socket> sock) : sock_(std::move(sock)) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

Client Client::open()
{
    auto s = std::make_unique<Socket>();
    s->sk = nl_socket_alloc();
    if (!s->sk)
        throw KmodError("out of memory allocating a netlink socket");
    nl_socket_disable_seq_check(s->sk);  // our own loop tracks completion
    int err = genl_connect(s->sk);
    if (err < 0)
        throw KmodError(std::string("cannot open generic netlink: ") + nl_geterror(err));
    const int one = 1;
    // Best effort: without them errors still arrive, only less detailed.
    setsockopt(nl_socket_get_fd(s->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    setsockopt(nl_socket_get_fd(s->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
    // A SET with many bindings is one large message; the default socket
    // buffers are too small. FORCE needs CAP_NET_ADMIN, which apply has.
    const int bufsize = 8 << 20;
    if (setsockopt(nl_socket_get_fd(s->sk), SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof bufsize) < 0)
        nl_socket_set_buffer_size(s->sk, bufsize, bufsize);
    setsockopt(nl_socket_get_fd(s->sk), SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize);

    s->family = genl_ctrl_resolve(s->sk, NFDSR_GENL_NAME);
    if (s->family == -NLE_OBJ_NOTFOUND)
        throw KmodError("nfdsr.ko is not loaded (generic netlink family '" NFDSR_GENL_NAME
                        "' not found): run 'modprobe nfdsr'",
                        ENOENT);
    if (s->family < 0)
        throw KmodError(std::string("cannot resolve generic netlink family '" NFDSR_GENL_NAME "': ") +
                        nl_geterror(s->family));
    return Client(std::move(s));
}

void Client::set(const plan::ModuleParams& params, const std::vector<plan::Binding>& bindings)
{
    sock_->exchange(build_set(sock_->family, params, bindings), {});
}

Status Client::get()
{
    Status status;
    bool got = false;
    sock_->exchange(build_command(sock_->family, NFDSR_CMD_GET), [&](nlmsghdr* h) {
        status = parse_status(h);
        got = true;
    });
    if (!got)
        throw KmodError("nfdsr.ko sent no reply to get");
    return status;
}

void Client::flush()
{
    sock_->exchange(build_command(sock_->family, NFDSR_CMD_FLUSH), {});
}

std::vector<Flow> Client::dump_flows()
{
    std::vector<Flow> flows;
    sock_->exchange(build_command(sock_->family, NFDSR_CMD_FLOW_DUMP),
                    [&](nlmsghdr* h) { flows.push_back(parse_flow(h)); });
    return flows;
}

std::vector<plan::Binding> Client::dump_bindings()
{
    std::vector<plan::Binding> bindings;
    sock_->exchange(build_command(sock_->family, NFDSR_CMD_BINDING_DUMP),
                    [&](nlmsghdr* h) { bindings.push_back(parse_binding(h)); });
    return bindings;
}

void Client::set_services(const std::vector<Service>& services)
{
    pipeline(
        sock_->sk, services.size(), [&](std::size_t i) { return build_svc_set(sock_->family, services[i]); },
        [&](std::size_t i) { return "service " + describe(services[i].key); });
}

void Client::del_services(const std::vector<SvcKey>& keys)
{
    pipeline(
        sock_->sk, keys.size(), [&](std::size_t i) { return build_svc_del(sock_->family, keys[i]); },
        [&](std::size_t i) { return "delete of service " + describe(keys[i]); });
}

std::vector<Service> Client::dump_services(bool tables)
{
    ServiceAssembler parts(!tables);
    sock_->exchange(build_svc_dump(sock_->family, !tables), [&](nlmsghdr* h) { parts.add(h); });
    return parts.finish();
}

SvcLookup Client::lookup(const SvcKey& key, plan::Ipv4 client, std::uint16_t client_port, std::uint8_t tcp_flags)
{
    SvcLookup result;
    bool got = false;
    sock_->exchange(build_svc_lookup(sock_->family, key, client, client_port, tcp_flags), [&](nlmsghdr* h) {
        result = parse_svc_lookup(h);
        got = true;
    });
    if (!got)
        throw KmodError("nfdsr.ko sent no reply to service lookup of " + describe(key));
    return result;
}

}  // namespace nfdsr::kmod
