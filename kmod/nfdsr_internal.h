/* SPDX-License-Identifier: GPL-2.0 */
/* Shared declarations of the nfdsr.ko compilation units. */
#ifndef NFDSR_INTERNAL_H
#define NFDSR_INTERNAL_H

#include <linux/types.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/mutex.h>
#include <linux/rhashtable-types.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include <nfdsr/uapi/nfdsr.h>

#include "nfdsr_compat.h"

#define NFDSR_VERSION "0.1.0"

/* ---- service bindings (backend side), replaced as a whole via RCU ---- */

struct nfdsr_binding {
	__be32 vip;
	__be32 backend_ip;
	__be16 vport;
	__be16 backend_port;
	u8 proto; /* 0 = empty slot */
};

/* A service address bound to a backend (network byte order). */
struct nfdsr_svc_addr {
	__be32 vip;
	__be16 vport;
};

/* A local backend and the services bound to it: svcs[first .. first + n). */
struct nfdsr_backend_slot {
	__be32 backend_ip;
	__be16 backend_port;
	u8 proto;                    /* 0 = empty slot */
	u16 n;
	u32 first;
};

/* Open-addressing tables, built once, read-only afterwards. */
struct nfdsr_bindings {
	u32 count;
	u32 slot_mask;               /* slots: power of two >= 2 * count */
	struct nfdsr_binding *slots;
	u32 ip_mask;                 /* distinct backend addresses */
	__be32 *ip_slots;            /* 0 = empty */
	u32 be_mask;                 /* backend (proto, ip, port) -> its services */
	struct nfdsr_backend_slot *be_slots;
	struct nfdsr_svc_addr *svcs; /* grouped by backend */
};

/* Immutable once published; a SET builds a new one. */
struct nfdsr_config {
	struct rcu_head rcu;
	u32 entry_mark;
	u32 flow_max;
	u32 tcp_timeout;        /* seconds, as configured */
	u32 tcp_close_timeout;
	u32 udp_timeout;
	u32 route_mark_mask;    /* mark bits a backend's route mark may set */
	unsigned long tcp_timeout_j; /* same in jiffies, for the data path */
	unsigned long tcp_close_timeout_j;
	unsigned long udp_timeout_j;
	struct nfdsr_bindings bindings;
};


int nfdsr_bindings_build(struct nfdsr_bindings *b, const struct nfdsr_binding *list,
			 u32 count);
void nfdsr_bindings_free(struct nfdsr_bindings *b);
bool nfdsr_bindings_match(const struct nfdsr_bindings *b, u8 proto, __be32 vip,
			  __be16 vport, __be32 backend_ip, __be16 backend_port);
bool nfdsr_bindings_has_backend_ip(const struct nfdsr_bindings *b, __be32 ip);
/* The service addresses bound to backend ip:port/proto; returns how many
 * (0: not a bound backend), *out points into b. */
u32 nfdsr_bindings_services_of(const struct nfdsr_bindings *b, u8 proto, __be32 bip,
			       __be16 bport, const struct nfdsr_svc_addr **out);
const struct nfdsr_binding *nfdsr_bindings_next_backend(const struct nfdsr_bindings *b, u8 proto,
							__be32 vip, __be16 vport, __be32 bip,
							u32 *cursor);

/* ---- backend flow table: (client, backend) -> service, bounded ---- */

struct nfdsr_flow_key {
	__be32 client_ip;
	__be32 backend_ip;
	__be16 client_port;
	__be16 backend_port;
	u8 proto;
	u8 pad[3];
};

/* nfdsr_flow.state bits (TCP follows the connection; UDP uses REPLIED only) */
#define NFDSR_FLOW_REPLIED     0x01 /* the backend answered (TCP: a segment without SYN) */
#define NFDSR_FLOW_CLIENT_FIN  0x02 /* client sent FIN: half-closed, the backend may still send */
#define NFDSR_FLOW_BACKEND_FIN 0x04 /* backend sent FIN */
#define NFDSR_FLOW_RST         0x08 /* either side sent RST */

struct nfdsr_flow {
	struct hlist_node node;
	struct nfdsr_flow_key key;
	__be32 vip;
	__be16 vport;
	u8 state;                /* NFDSR_FLOW_* bits, updated with WRITE_ONCE */
	u8 syn_mss8;             /* TCP: the SYN's MSS / 8, the SYN-ACK's cap (0: none) */
	unsigned long last_seen; /* jiffies */
	struct rcu_head rcu;
};

/*
 * TCP life cycle of a flow record (no conntrack, only what the backend node
 * sees: client segments at ingress, backend segments at egress):
 *   embryonic   SYN recorded, no answer yet          idle timeout tcp_timeout
 *   established the backend answered without SYN     tcp_timeout
 *   half-closed one FIN (either side)                tcp_timeout: the other
 *               side may go on sending for as long as it likes
 *   closing     FIN both ways, or RST                tcp_close_timeout
 *               (covers TIME_WAIT's last ACK and retransmissions)
 * When the table is full, closing flows are evicted first, then embryonic
 * (unanswered, e.g. a SYN flood) ones, then established ones, oldest first.
 */
static inline bool nfdsr_flow_closing(u8 state)
{
	return (state & NFDSR_FLOW_RST) ||
	       (state & (NFDSR_FLOW_CLIENT_FIN | NFDSR_FLOW_BACKEND_FIN)) ==
		       (NFDSR_FLOW_CLIENT_FIN | NFDSR_FLOW_BACKEND_FIN);
}

/* Set state bits (lockless: a lost race only delays a bit to the next packet). */
static inline void nfdsr_flow_set_state(struct nfdsr_flow *f, u8 bits)
{
	u8 s = READ_ONCE(f->state);

	if ((s & bits) != bits)
		WRITE_ONCE(f->state, s | bits);
}

struct nfdsr_flow_table {
	struct hlist_head *buckets; /* NULL until the namespace is configured */
	u32 bucket_mask;
	spinlock_t *locks;          /* striped bucket locks */
	u32 lock_mask;
	atomic_t count;
	u32 gc_next;                /* next bucket the collector visits */
	struct delayed_work gc;
};

/* ---- per network namespace state ---- */

struct nfdsr_counters {
	u64 c[NFDSR_CTR_MAX];
};

struct nfdsr_net {
	struct net *net;
	struct nfdsr_config __rcu *cfg; /* NULL: not configured, hooks pass all */
	struct nfdsr_flow_table flows;
	struct rhashtable svcs;         /* struct nfdsr_svc, changed under lock */
	struct nfdsr_counters __percpu *ctr;
	struct mutex lock;              /* serialises configuration changes */
	bool hooks_registered;
};

extern unsigned int nfdsr_net_id;

static inline struct nfdsr_net *nfdsr_pernet(const struct net *net)
{
	return net_generic(net, nfdsr_net_id);
}

static inline void nfdsr_count(struct nfdsr_net *nn, enum nfdsr_counter c)
{
	this_cpu_inc(nn->ctr->c[c]);
}

void nfdsr_counters_read(struct nfdsr_net *nn, u64 out[NFDSR_CTR_MAX]);

/* configuration (nfdsr_main.c), called with nn->lock held */
int nfdsr_config_publish(struct nfdsr_net *nn, struct nfdsr_config *cfg,
			 struct netlink_ext_ack *extack);
void nfdsr_config_reset(struct nfdsr_net *nn);
void nfdsr_config_defaults(struct nfdsr_config *cfg);

/* flow table (nfdsr_flow.c) */
int nfdsr_flow_table_init(struct nfdsr_net *nn, u32 flow_max);
void nfdsr_flow_table_destroy(struct nfdsr_net *nn);
void nfdsr_flow_table_flush(struct nfdsr_net *nn);
struct nfdsr_flow *nfdsr_flow_lookup(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				     const struct nfdsr_flow_key *key);
/* Outcome of nfdsr_flow_record(). */
enum nfdsr_flow_record_result {
	NFDSR_FLOW_RECORDED,  /* new record, or an existing one refreshed */
	NFDSR_FLOW_CONFLICT,  /* the client ip:port -> backend is held by a live flow of
			       * another service: kept, the new packet must be dropped */
	NFDSR_FLOW_NO_ROOM,   /* table full and nothing evictable, or no memory */
	NFDSR_FLOW_RECOVERED, /* new record made from a TCP segment other than the SYN */
};
/* How a TCP segment other than a SYN (re)states its flow: 0 for a SYN or a
 * UDP datagram, else the NFDSR_FLOW_* bits a record made from it starts
 * with (NFDSR_FLOW_REPLIED, plus NFDSR_FLOW_CLIENT_FIN for a FIN). */
enum nfdsr_flow_record_result nfdsr_flow_record(struct nfdsr_net *nn,
						const struct nfdsr_config *cfg,
						const struct nfdsr_flow_key *key,
						__be32 vip, __be16 vport, u16 syn_mss,
						u8 segment_state);
bool nfdsr_flow_expired(const struct nfdsr_config *cfg, const struct nfdsr_flow *f,
			unsigned long now);
int __init nfdsr_flow_cache_init(void);
void nfdsr_flow_cache_exit(void);

/* ---- entry service table (nfdsr_service.c) ---- */

/* Lookup key, 8 bytes; addresses/ports network order. */
struct nfdsr_svc_key {
	__be32 vip;
	__be16 port;
	u8 proto;
	u8 kind; /* enum nfdsr_svc_kind */
};

struct nfdsr_svc_backend {
	__be32 ip;
	__be16 port;
	u32 route_mark;
};

/*
 * One service, immutable once published except its counters; one
 * allocation (header, backends, tables, counters), freed after a grace
 * period. Counters: one row of ctr_stride u64 per possible CPU (rows
 * cache-line aligned): [0] no_backend, [1 + 2i] packets and [2 + 2i] bytes
 * of backend i.
 */
struct nfdsr_svc {
	struct rhash_head node;
	struct nfdsr_svc_key key;
	u32 flags;              /* NFDSR_SVC_F_* */
	u32 hash_seed;
	u32 n;                  /* backends */
	u32 m;                  /* entries of table (0: no backend for new connections) */
	u32 m_est;              /* entries of est_table (0: no drain) */
	u32 ctr_stride;         /* u64 per CPU row */
	struct nfdsr_svc_backend *backends;
	u16 *table;             /* backend indices, < n */
	u16 *est_table;
	u64 *ctr;
	struct rcu_head rcu;
};

/* What the entry path does with a packet of a service (nfdsr_svc_choose). */
struct nfdsr_svc_choice {
	u32 bucket;             /* in the table that decided */
	u8 table;               /* enum nfdsr_lookup_table */
	bool remember;          /* a SYN in a bucket the drain moved: record a drain flow */
	struct nfdsr_flow *drain_flow; /* the client's drain flow record, if any */
	int backend;            /* index in backends, -1: none (drop) */
};

/* Flow table key of a drain flow: never equal to a backend flow's key
 * (proto has bit 7 set, kind in bit 5; backend_ip/port = the service). */
#define NFDSR_DRAIN_FLOW_PROTO(proto, kind) (0x80 | ((kind) << 5) | (proto))

/* The flow-table key of a connection remembered during a drain of service
 * s: client ip:port (network order) -> the service, in the key space of
 * NFDSR_DRAIN_FLOW_PROTO. */
static inline struct nfdsr_flow_key nfdsr_drain_flow_key(const struct nfdsr_svc *s, __be32 client,
							 __be16 cport)
{
	struct nfdsr_flow_key k = {
		.client_ip = client,
		.backend_ip = s->key.vip,
		.client_port = cport,
		.backend_port = s->key.port,
		.proto = NFDSR_DRAIN_FLOW_PROTO(s->key.proto, s->key.kind),
	};

	return k;
}
static inline bool nfdsr_flow_is_drain(const struct nfdsr_flow *f)
{
	return f->key.proto & 0x80;
}

int nfdsr_svc_table_init(struct nfdsr_net *nn);
/* Remove every service (lock held), each freed after a grace period. */
void nfdsr_svc_flush(struct nfdsr_net *nn);
/* Namespace exit (no hooks, no dumps left): free everything at once. */
void nfdsr_svc_table_destroy(struct nfdsr_net *nn);
u32 nfdsr_svc_count(struct nfdsr_net *nn);
/* RCU read side. */
struct nfdsr_svc *nfdsr_svc_lookup(struct nfdsr_net *nn, const struct nfdsr_svc_key *key);
/* Insert or replace (lock held; takes ownership of s, frees it on error). */
int nfdsr_svc_publish(struct nfdsr_net *nn, struct nfdsr_svc *s);
/* Remove (lock held): -ENOENT if absent. */
int nfdsr_svc_remove(struct nfdsr_net *nn, const struct nfdsr_svc_key *key);
/* Allocate a zeroed service with room for n backends and the tables. */
struct nfdsr_svc *nfdsr_svc_alloc(u32 n, u32 m, u32 m_est);
void nfdsr_svc_free(struct nfdsr_svc *s);
/* Is every route mark of every service within mask? (lock held) */
bool nfdsr_svc_marks_within(struct nfdsr_net *nn, u32 mask);
/* Maglev bucket of client:cport (network order, as in the packet) in a
 * table of m entries: jhash(saddr . sport . 0x0000, 8, seed) scaled to m,
 * exactly nft's `jhash ip saddr . th sport mod m seed seed`. */
u32 nfdsr_svc_bucket(__be32 client, __be16 cport, u32 seed, u32 m);
/* Pick the backend for a packet from client:cport with TCP flags tcp_flags
 * (0 for UDP); reads only (the caller records/refreshes drain flows). */
void nfdsr_svc_choose(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
		      const struct nfdsr_svc *s, __be32 client, __be16 cport, u8 tcp_flags,
		      struct nfdsr_svc_choice *c);
/* Per-CPU counting (BH context or preemption off). */
void nfdsr_svc_count_backend(struct nfdsr_svc *s, u32 i, unsigned int bytes);
void nfdsr_svc_count_no_backend(struct nfdsr_svc *s);
/* Sums over CPUs: packets/bytes of backend i; the service's no_backend. */
void nfdsr_svc_backend_totals(const struct nfdsr_svc *s, u32 i, u64 *packets, u64 *bytes);
u64 nfdsr_svc_no_backend_total(const struct nfdsr_svc *s);
/* Carry counters of backends (ip, port) present in old over to s. */
void nfdsr_svc_carry_counters(struct nfdsr_svc *s, const struct nfdsr_svc *old);
/* 1 if a backend (ip, port) is listed twice, 0 if not, -ENOMEM. */
int nfdsr_svc_has_duplicate(const struct nfdsr_svc *s);
/* Dump walker (genl): see nfdsr_genl.c. */
void nfdsr_svc_walk_enter(struct nfdsr_net *nn, struct rhashtable_iter *iter);

/* TCP MSS option (nfdsr_mss.c): thoff = offset of the TCP header in skb.
 * get: the MSS of a SYN/SYN-ACK in host order, 0 if it has none.
 * clamp: lower it to max (host order) with the checksum updated; 1 if
 * lowered, 0 if not needed or no option, -ENOMEM. */
u16 nfdsr_tcp_mss_get(const struct sk_buff *skb, unsigned int thoff);
int nfdsr_tcp_mss_clamp(struct sk_buff *skb, unsigned int thoff, u16 max);

/* data path hooks */
unsigned int nfdsr_entry_hook(void *priv, struct sk_buff *skb,
			      const struct nf_hook_state *state);
unsigned int nfdsr_backend_ingress_hook(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state);
unsigned int nfdsr_backend_egress_hook(void *priv, struct sk_buff *skb,
				       const struct nf_hook_state *state);
/* ICMP errors about DSR flows (nfdsr_icmp.c), called by the backend hooks
 * for IPv4 ICMP packets; they return the netfilter verdict. */
unsigned int nfdsr_icmp_egress(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
			       struct sk_buff *skb);
unsigned int nfdsr_icmp_ingress(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				struct sk_buff *skb);
void nfdsr_entry_frag_needed(struct nfdsr_net *nn, struct sk_buff *skb,
			     unsigned int opt_off, unsigned int mtu);

/* generic netlink (nfdsr_genl.c) */
int __init nfdsr_genl_init(void);
void nfdsr_genl_exit(void);

#endif /* NFDSR_INTERNAL_H */
