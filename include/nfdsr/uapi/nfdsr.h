/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * nfdsr user/kernel contract: the generic netlink API of nfdsr.ko.
 *
 * This is the only header shared between the kernel module and the manager
 * for the control plane. Everything here is validated by the module at
 * config time (policies + range checks); nothing is trusted.
 *
 * All state is per network namespace: a message configures the namespace of
 * the socket that sent it (the family is netnsok).
 */
#ifndef _UAPI_NFDSR_H
#define _UAPI_NFDSR_H

#include <linux/types.h>

#define NFDSR_GENL_NAME "nfdsr"
#define NFDSR_GENL_VERSION 1

/* Default hand-off mark bit: nftables sets it on packets that need the DSR
 * option attached (entry node, dispatch opt). Configurable (NFDSR_A_ENTRY_MARK). */
#define NFDSR_DEFAULT_ENTRY_MARK 0x00200000u

/*
 * Netfilter hook priorities: the contract between the nftables rules the
 * manager installs and the module. nftables chains of table "nfdsr" use the
 * NFDSR_PRIO_NFT_* values, the module registers the NFDSR_PRIO_KMOD_* ones.
 *
 * prerouting:
 *   -300 nft  classify: notrack DSR traffic, set the entry mark
 *   -290 kmod entry attach: add the option to marked packets (pre-DNAT, so
 *             the header still names the service address the client used)
 *   -280 nft  dispatch: Maglev pick + stateless destination rewrite
 *   -270 kmod backend ingress: MTU check for what we attached, validate and
 *             strip options for local backends, record the flow
 * postrouting:
 *   +150 kmod backend egress: rewrite reply source to the service (after
 *             NAT at 100, before conntrack confirm at INT_MAX)
 */
#define NFDSR_PRIO_NFT_CLASSIFY   (-300)
#define NFDSR_PRIO_KMOD_ATTACH    (-290)
#define NFDSR_PRIO_NFT_DISPATCH   (-280)
#define NFDSR_PRIO_KMOD_INGRESS   (-270)
#define NFDSR_PRIO_KMOD_EGRESS    (150)

enum nfdsr_cmd {
	NFDSR_CMD_UNSPEC,
	/* Read version, parameters, counters, binding and flow counts. */
	NFDSR_CMD_GET,
	/*
	 * Replace this namespace's configuration atomically: parameters
	 * (optional; absent ones keep their value) and, if NFDSR_A_BINDINGS
	 * is present, the complete set of bindings. A nest holds at most
	 * ~1489 bindings (16-bit attribute length), so the set may be split
	 * over several NFDSR_A_BINDINGS nests in the same message: the module
	 * takes the union. On any validation error nothing changes and the
	 * extack message names the bad attribute.
	 */
	NFDSR_CMD_SET,
	/* Remove all bindings and flows; parameters return to defaults. */
	NFDSR_CMD_FLUSH,
	/* Dump the backend flow table (one message per flow). */
	NFDSR_CMD_FLOW_DUMP,
	/*
	 * Dump the bindings (one message per binding, NFDSR_A_BINDING): what
	 * the manager restores if the rest of an apply fails after SET.
	 */
	NFDSR_CMD_BINDING_DUMP,
	__NFDSR_CMD_MAX,
};
#define NFDSR_CMD_MAX (__NFDSR_CMD_MAX - 1)

enum nfdsr_attr {
	NFDSR_A_UNSPEC,
	NFDSR_A_VERSION,           /* string, GET reply */
	NFDSR_A_ENTRY_MARK,        /* u32, non-zero mask */
	NFDSR_A_FLOW_MAX,          /* u32, 1 .. NFDSR_FLOW_MAX_LIMIT */
	NFDSR_A_TCP_TIMEOUT,       /* u32 seconds, established idle timeout */
	NFDSR_A_TCP_CLOSE_TIMEOUT, /* u32 seconds, after FIN/RST */
	NFDSR_A_UDP_TIMEOUT,       /* u32 seconds */
	NFDSR_A_BINDINGS,          /* nest of NFDSR_A_BINDING */
	NFDSR_A_BINDING,           /* nest of enum nfdsr_binding_attr */
	NFDSR_A_COUNTERS,          /* nest: type = enum nfdsr_counter + 1, u64 each;
	                            * type NFDSR_CTR_ATTR_PAD is alignment padding */
	NFDSR_A_BINDING_COUNT,     /* u32, GET reply */
	NFDSR_A_FLOW_COUNT,        /* u32, GET reply */
	NFDSR_A_FLOW,              /* nest of enum nfdsr_flow_attr, FLOW_DUMP reply */
	NFDSR_A_PAD,
	NFDSR_A_HOOKS,             /* u8, GET reply: 1 while the module's netfilter
	                            * hooks are registered in this namespace
	                            * (configured; 0 after FLUSH) */
	__NFDSR_A_MAX,
};
#define NFDSR_A_MAX (__NFDSR_A_MAX - 1)

/*
 * A binding says: this node serves service VIP:VPORT/PROTO with the local
 * backend BACKEND_IP:BACKEND_PORT. Only an option naming a bound service for
 * the backend it reached is accepted; only flows recorded from such options
 * get their replies rewritten. All addresses/ports in network byte order.
 */
enum nfdsr_binding_attr {
	NFDSR_BA_UNSPEC,
	NFDSR_BA_PROTO,        /* u8: IPPROTO_TCP or IPPROTO_UDP */
	NFDSR_BA_VIP,          /* be32 (in_addr) */
	NFDSR_BA_VPORT,        /* be16, non-zero */
	NFDSR_BA_BACKEND_IP,   /* be32 */
	NFDSR_BA_BACKEND_PORT, /* be16, non-zero */
	__NFDSR_BA_MAX,
};
#define NFDSR_BA_MAX (__NFDSR_BA_MAX - 1)

enum nfdsr_flow_attr {
	NFDSR_FA_UNSPEC,
	NFDSR_FA_PROTO,        /* u8 */
	NFDSR_FA_CLIENT_IP,    /* be32 */
	NFDSR_FA_CLIENT_PORT,  /* be16 */
	NFDSR_FA_BACKEND_IP,   /* be32 */
	NFDSR_FA_BACKEND_PORT, /* be16 */
	NFDSR_FA_VIP,          /* be32 */
	NFDSR_FA_VPORT,        /* be16 */
	NFDSR_FA_IDLE_MS,      /* u32: time since last packet */
	NFDSR_FA_CLOSING,      /* u8: FIN (either side) or RST seen */
	__NFDSR_FA_MAX,
};
#define NFDSR_FA_MAX (__NFDSR_FA_MAX - 1)

/* Module counters (per namespace). Names for userspace: nfdsr_counter_names. */
enum nfdsr_counter {
	NFDSR_CTR_OPT_ADDED,        /* entry: option attached */
	NFDSR_CTR_OPT_NO_ROOM,      /* entry: dropped, existing options + 8 > 40 */
	NFDSR_CTR_ICMP_FRAG_SENT,   /* entry: UDP too big with DF, ICMP sent to client */
	NFDSR_CTR_OPT_STRIPPED,     /* backend: valid option removed, flow recorded */
	NFDSR_CTR_OPT_REJECTED,     /* backend: option names no bound service: dropped */
	NFDSR_CTR_OPT_MALFORMED,    /* backend: option area unparsable: dropped */
	NFDSR_CTR_OPT_TRANSIT,      /* option for a non-local backend: left alone */
	NFDSR_CTR_REPLY_REWRITTEN,  /* backend: reply source set to the service */
	NFDSR_CTR_FLOW_CREATED,
	NFDSR_CTR_FLOW_EXPIRED,
	NFDSR_CTR_FLOW_EVICTED,     /* removed early because the table was full */
	NFDSR_CTR_FLOW_ALLOC_FAIL,
	NFDSR_CTR_BAD_HEADER,       /* truncated/invalid IP or L4 header: not touched */
	NFDSR_CTR_OPT_FROM_CLIENT,  /* entry: a client's packet to a service already
				     * carried a DSR option (or a malformed option area): dropped */
	NFDSR_CTR_OPT_MISMATCH,     /* backend: DSR option on a TCP segment other than a SYN
				     * naming another service than its flow's record (a
				     * connection is never re-pointed): dropped */
	NFDSR_CTR_FLOW_CONFLICT,    /* backend: a new flow's client ip:port -> backend is held
				     * by a live flow of another service: kept, packet dropped */
	NFDSR_CTR_FLOW_EVICTED_ESTABLISHED, /* evictions (in flow_evicted) that hit an answered,
					     * open flow: nothing closing or embryonic was near */
	NFDSR_CTR_SYN_MSS_CLAMPED,  /* entry: a SYN's MSS lowered to the route towards its backend */
	NFDSR_CTR_SYNACK_MSS_CLAMPED, /* backend: a SYN-ACK's MSS lowered to the SYN's */
	NFDSR_CTR_RST_UNRECORDED,   /* backend: a bound backend's RST for a connection it does
				     * not know (moved here), sent as a service bound to it
				     * (one per copy) */
	NFDSR_CTR_ICMP_ERROR_TRANSLATED, /* backend egress: ICMP error about a DSR flow
	                                  * now names the service (source, quote) */
	NFDSR_CTR_ICMP_QUOTE_TRANSLATED, /* backend ingress: relayed ICMP error about a
	                                  * reply now quotes the backend's address */
	NFDSR_CTR_FLOW_RECOVERED,   /* backend: a flow record re-created (it was evicted,
				     * expired or lost with a module reload) from the option
				     * on a TCP segment other than the SYN */
	NFDSR_CTR_OPT_UNFIT,        /* entry: a TCP segment other than a SYN sent without
				     * the option: with it, it would exceed its route's MTU */
	__NFDSR_CTR_MAX,
};
#define NFDSR_CTR_MAX __NFDSR_CTR_MAX
#define NFDSR_CTR_ATTR_PAD (NFDSR_CTR_MAX + 1)

#define NFDSR_COUNTER_NAMES {            \
	"opt_added", "opt_no_room", "icmp_frag_sent", "opt_stripped", \
	"opt_rejected", "opt_malformed", "opt_transit", "reply_rewritten", \
	"flow_created", "flow_expired", "flow_evicted", "flow_alloc_fail", \
	"bad_header", "opt_from_client", "opt_mismatch", "flow_conflict", \
	"flow_evicted_established", "syn_mss_clamped", "synack_mss_clamped", \
	"rst_unrecorded", "icmp_error_translated", \
	"icmp_quote_translated", "flow_recovered", "opt_unfit" }

/* Limits and defaults, enforced by the module. */
#define NFDSR_FLOW_MAX_LIMIT        (16u * 1024 * 1024)
#define NFDSR_DEFAULT_FLOW_MAX      (256u * 1024)
#define NFDSR_DEFAULT_TCP_TIMEOUT   432000u /* 5 days, as conntrack's established */
#define NFDSR_DEFAULT_TCP_CLOSE_TIMEOUT 10u
#define NFDSR_DEFAULT_UDP_TIMEOUT   60u
#define NFDSR_TIMEOUT_LIMIT         (7u * 24 * 3600)
#define NFDSR_BINDINGS_LIMIT        65536u

#endif /* _UAPI_NFDSR_H */
