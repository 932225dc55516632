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
 *   -290 kmod entry: for marked packets, look the service up in the
 *             module's service table, add the option (while the header
 *             still names the service address the client used), pick the
 *             backend from the service's Maglev table, rewrite the
 *             destination statelessly and set the route mark (ipip)
 *   -270 kmod backend ingress: MTU check for what we attached, validate and
 *             strip options for local backends, record the flow
 * postrouting:
 *   +150 kmod backend egress: rewrite reply source to the service (after
 *             NAT at 100, before conntrack confirm at INT_MAX)
 */
#define NFDSR_PRIO_NFT_CLASSIFY   (-300)
#define NFDSR_PRIO_KMOD_ATTACH    (-290)
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
	/*
	 * Create or replace one service (entry or tunnel) of the service table:
	 * top-level attributes NFDSR_A_SVC_* (see enum nfdsr_svc_attr for the
	 * layout). The Maglev table is computed by the manager (the same table
	 * `nfdsrctl trace` predicts from) and only validated here. A replace
	 * is atomic per service (RCU): a packet sees the old or the new one;
	 * per-backend counters of backends (address, port) present in both
	 * carry over. On any validation error nothing changes. Needs a
	 * configured namespace (a SET first: ENOTCONN otherwise); a message may
	 * be megabytes (raise the socket's send buffer).
	 */
	NFDSR_CMD_SVC_SET,
	/* Remove one service: NFDSR_A_SVC_PROTO, _VIP, _PORT, _KIND. ENOENT if absent. */
	NFDSR_CMD_SVC_DEL,
	/*
	 * Dump the service table with the same attributes as SVC_SET (Maglev
	 * tables included, so a manager can restore what it read) plus
	 * per-backend counters. A service bigger than a dump message comes in
	 * several consecutive parts, each naming it (PROTO, VIP, PORT, KIND):
	 * the first part has FLAGS, HASH_SEED, TABLE_SIZE, EST_TABLE_SIZE and
	 * NO_BACKEND; each part continues backends, then TABLE chunks, then
	 * EST_TABLE chunks where the previous one stopped. A first part for a
	 * service already received replaces it (replaced during the dump).
	 */
	NFDSR_CMD_SVC_DUMP,
	/*
	 * The packet tracer: which backend would this namespace's entry path
	 * pick for a packet? Request: NFDSR_A_SVC_PROTO, _VIP, _PORT, _KIND and
	 * NFDSR_A_LOOKUP_CLIENT_IP, _CLIENT_PORT, _TCP_FLAGS. Reply: the same
	 * plus NFDSR_A_LOOKUP_BUCKET, _BACKEND (index into the service's
	 * backends; absent: dropped) and _TABLE. ENOENT if no such service.
	 * Reads only: no drain-flow record is made or refreshed.
	 */
	NFDSR_CMD_SVC_LOOKUP,
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
	NFDSR_A_ROUTE_MARK_MASK,   /* u32, SET: mark bits the entry path may set
	                            * as a backend's route mark (dispatch ipip);
	                            * must not overlap the entry mark. Default 0. */
	NFDSR_A_SVC_COUNT,         /* u32, GET reply: services in the table */
	/* ---- one service (SVC_SET / SVC_DEL / SVC_DUMP / SVC_LOOKUP) ---- */
	NFDSR_A_SVC_PROTO,         /* u8: IPPROTO_TCP or IPPROTO_UDP */
	NFDSR_A_SVC_VIP,           /* be32: service address (VIP or node address) */
	NFDSR_A_SVC_PORT,          /* be16: service port (port or node_port), non-zero */
	NFDSR_A_SVC_KIND,          /* u8: enum nfdsr_svc_kind */
	NFDSR_A_SVC_FLAGS,         /* u32: NFDSR_SVC_F_* */
	NFDSR_A_SVC_HASH_SEED,     /* u32: seed of jhash(client ip . client port) */
	NFDSR_A_SVC_BACKEND,       /* nest of enum nfdsr_svc_backend_attr; repeated,
	                            * in order: backend i of the Maglev tables is the
	                            * i-th one; 0 .. NFDSR_SVC_BACKENDS_LIMIT */
	NFDSR_A_SVC_TABLE_SIZE,    /* u32: M of the Maglev table, 0 (no backend takes
	                            * new connections: dropped, counted) or a
	                            * prime <= NFDSR_MAGLEV_SIZE_LIMIT */
	NFDSR_A_SVC_TABLE,         /* binary: u16 backend indices, host byte order,
	                            * repeated chunks of at most NFDSR_TABLE_CHUNK
	                            * entries, concatenated in order to M entries;
	                            * every entry < the number of backends */
	NFDSR_A_SVC_EST_TABLE_SIZE,/* u32, only while a backend drains (TCP services
	                            * only): M of the table from before the drain
	                            * (absent/0: none) */
	NFDSR_A_SVC_EST_TABLE,     /* binary: as NFDSR_A_SVC_TABLE, for the
	                            * established table */
	NFDSR_A_SVC_NO_BACKEND,    /* u64, dump: packets dropped because the table
	                            * had no backend for them */
	NFDSR_A_LOOKUP_CLIENT_IP,  /* be32 */
	NFDSR_A_LOOKUP_CLIENT_PORT,/* be16 */
	NFDSR_A_LOOKUP_TCP_FLAGS,  /* u8: TCP flags of the packet (0 for UDP) */
	NFDSR_A_LOOKUP_BUCKET,     /* u32, reply: the bucket in the table used */
	NFDSR_A_LOOKUP_TABLE,      /* u8, reply: enum nfdsr_lookup_table */
	NFDSR_A_LOOKUP_BACKEND,    /* u32, reply: index of the backend picked in the
	                            * service's list (absent: none, packet dropped) */
	NFDSR_A_SVC_DUMP_FLAGS,    /* u32, SVC_DUMP request: NFDSR_SVC_DUMP_* */
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

/* Which service table an entry packet is looked up in. */
enum nfdsr_svc_kind {
	/* Packets from clients to an entry service (arriving on any device
	 * other than an IPIP tunnel). */
	NFDSR_SVC_ENTRY = 0,
	/* Classic IPIP received on an IPIP device (tunl0) from an IPVS-TUN
	 * director or an nfdsr entry node in classic mode, to a service bound
	 * on this node: Maglev over this node's backends. */
	NFDSR_SVC_TUNNEL = 1,
	__NFDSR_SVC_KIND_MAX,
};

/* NFDSR_A_SVC_DUMP_FLAGS: COUNTERS = the dump leaves out the Maglev
 * tables (TABLE_SIZE and EST_TABLE_SIZE still say how big they are): what
 * status and metrics read, ~100 bytes per service instead of 2 per bucket. */
#define NFDSR_SVC_DUMP_COUNTERS 0x1u

/* NFDSR_A_SVC_FLAGS */
#define NFDSR_SVC_F_OPTION  0x1u /* attach the DSR option (dispatch opt, ipip xlate,
				  * tunnel services) */
#define NFDSR_SVC_F_CLASSIC 0x2u /* dispatch ipip classic: for backends with a
				  * route mark (through the tunnel) leave the
				  * destination at VIP:port, only set the mark; a
				  * backend without one (on this node) is rewritten.
				  * Not together with NFDSR_SVC_F_OPTION. */
#define NFDSR_SVC_F_ALL     (NFDSR_SVC_F_OPTION | NFDSR_SVC_F_CLASSIC)

/* One backend of a service (nest NFDSR_A_SVC_BACKEND). */
enum nfdsr_svc_backend_attr {
	NFDSR_SBA_UNSPEC,
	NFDSR_SBA_IP,          /* be32, unicast */
	NFDSR_SBA_PORT,        /* be16, non-zero */
	NFDSR_SBA_ROUTE_MARK,  /* u32: within NFDSR_A_ROUTE_MARK_MASK; 0 = plain
				* routing (opt, or a backend on this node) */
	NFDSR_SBA_PACKETS,     /* u64, dump: packets sent to this backend (TCP/UDP
				* and relayed ICMP errors) */
	NFDSR_SBA_BYTES,       /* u64, dump: their bytes as received */
	NFDSR_SBA_PAD,
	__NFDSR_SBA_MAX,
};
#define NFDSR_SBA_MAX (__NFDSR_SBA_MAX - 1)

/* NFDSR_A_LOOKUP_TABLE: which of a service's tables decided. */
enum nfdsr_lookup_table {
	NFDSR_LOOKUP_TABLE_CURRENT = 0,     /* the table (new connections) */
	NFDSR_LOOKUP_TABLE_ESTABLISHED = 1, /* the table from before a drain */
};

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
	NFDSR_CTR_SVC_MISSING,      /* entry: marked by nftables, but no such service in
				     * the module's table (apply in progress or a foreign
				     * use of the mark): dropped */
	NFDSR_CTR_NO_BACKEND,       /* entry: the service's table has no backend for the
				     * packet: dropped (also per service) */
	NFDSR_CTR_DISPATCHED,       /* entry: packet sent to a backend (destination
				     * rewritten or route mark set) */
	NFDSR_CTR_ICMP_RELAYED,     /* entry: ICMP error about a reply relayed to the
				     * backend that owns the quoted flow */
	NFDSR_CTR_DRAIN_FLOW_ADDED, /* entry: connection opened during a drain in a bucket
				     * the drain moved: remembered, follows the new table */
	NFDSR_CTR_DRAIN_FLOW_NO_ROOM, /* entry: such a connection could not be remembered
				       * (table full): it follows the old table */
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
	"icmp_quote_translated", "flow_recovered", "opt_unfit", \
	"svc_missing", "no_backend", "dispatched", "icmp_relayed", \
	"drain_flow_added", "drain_flow_no_room" }

/* Limits and defaults, enforced by the module. */
#define NFDSR_FLOW_MAX_LIMIT        (16u * 1024 * 1024)
#define NFDSR_DEFAULT_FLOW_MAX      (256u * 1024)
#define NFDSR_DEFAULT_TCP_TIMEOUT   432000u /* 5 days, as conntrack's established */
#define NFDSR_DEFAULT_TCP_CLOSE_TIMEOUT 10u
#define NFDSR_DEFAULT_UDP_TIMEOUT   60u
#define NFDSR_TIMEOUT_LIMIT         (7u * 24 * 3600)
#define NFDSR_BINDINGS_LIMIT        65536u
#define NFDSR_SERVICES_LIMIT        (1u << 20)  /* services per namespace */
#define NFDSR_SVC_BACKENDS_LIMIT    65535u      /* u16 table entries */
#define NFDSR_MAGLEV_SIZE_LIMIT     1048573u    /* largest prime < 2^20 */
#define NFDSR_TABLE_CHUNK           16384u      /* u16 entries per NFDSR_A_SVC_TABLE
						 * attribute (32 KiB < the 64 KiB
						 * attribute limit) */

#endif /* _UAPI_NFDSR_H */
