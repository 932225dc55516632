// SPDX-License-Identifier: GPL-2.0
/*
 * Backend flow table: remembers, for each DSR flow that arrived with a valid
 * option, which service address its replies must carry. Independent of
 * conntrack. Bounded: at most flow_max entries; when full, a nearby entry is
 * evicted, closing and unanswered ones before established ones (see
 * nfdsr_flow_evict_one). Idle entries expire by protocol timeout; TCP entries
 * follow the connection's states (nfdsr_internal.h): only a connection closed
 * both ways or reset gets the short close timeout.
 *
 * Readers (the hooks) walk buckets under RCU; writers take a striped bucket
 * lock. Entries are allocated only when a flow is first recorded.
 */
#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/random.h>

#include "nfdsr_internal.h"

#define NFDSR_GC_INTERVAL (HZ / 4)
#define NFDSR_GC_BUCKETS_PER_RUN 8192u
#define NFDSR_EVICT_SCAN_BUCKETS 1024u

static struct kmem_cache *nfdsr_flow_cache;
static u32 nfdsr_flow_seed __read_mostly;

int __init nfdsr_flow_cache_init(void)
{
	nfdsr_flow_cache = kmem_cache_create("nfdsr_flow", sizeof(struct nfdsr_flow), 0,
					     SLAB_HWCACHE_ALIGN, NULL);
	if (!nfdsr_flow_cache)
		return -ENOMEM;
	nfdsr_flow_seed = get_random_u32();
	return 0;
}

void nfdsr_flow_cache_exit(void)
{
	rcu_barrier(); /* pending nfdsr_flow_free_rcu callbacks */
	kmem_cache_destroy(nfdsr_flow_cache);
}

static u32 nfdsr_flow_hash(const struct nfdsr_flow_key *k)
{
	return jhash2((const u32 *)k, sizeof(*k) / sizeof(u32), nfdsr_flow_seed);
}

static bool nfdsr_flow_key_eq(const struct nfdsr_flow_key *a, const struct nfdsr_flow_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

bool nfdsr_flow_expired(const struct nfdsr_config *cfg, const struct nfdsr_flow *f,
			unsigned long now)
{
	unsigned long timeout;

	if (f->key.proto == IPPROTO_UDP)
		timeout = cfg->udp_timeout_j;
	else if (nfdsr_flow_closing(READ_ONCE(f->state)))
		timeout = cfg->tcp_close_timeout_j;
	else
		timeout = cfg->tcp_timeout_j;
	return time_after(now, READ_ONCE(f->last_seen) + timeout);
}

/*
 * Eviction class, lowest goes first: 0 closing or expired, 1 embryonic
 * (never answered: a SYN flood, a UDP datagram without reply), 2 established.
 */
static unsigned int nfdsr_flow_evict_class(const struct nfdsr_config *cfg,
					   const struct nfdsr_flow *f, unsigned long now)
{
	u8 state = READ_ONCE(f->state);

	if (nfdsr_flow_expired(cfg, f, now) ||
	    (f->key.proto == IPPROTO_TCP && nfdsr_flow_closing(state)))
		return 0;
	return (state & NFDSR_FLOW_REPLIED) ? 2 : 1;
}

static void nfdsr_flow_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(nfdsr_flow_cache, container_of(head, struct nfdsr_flow, rcu));
}

/* Caller holds the bucket lock. */
static void nfdsr_flow_unlink(struct nfdsr_net *nn, struct nfdsr_flow *f)
{
	hlist_del_rcu(&f->node);
	atomic_dec(&nn->flows.count);
	call_rcu(&f->rcu, nfdsr_flow_free_rcu);
}

static spinlock_t *nfdsr_bucket_lock(struct nfdsr_flow_table *t, u32 bucket)
{
	return &t->locks[bucket & t->lock_mask];
}

struct nfdsr_flow *nfdsr_flow_lookup(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				     const struct nfdsr_flow_key *key)
{
	struct nfdsr_flow_table *t = &nn->flows;
	struct hlist_head *buckets = READ_ONCE(t->buckets);
	struct nfdsr_flow *f;

	if (!buckets)
		return NULL;
	hlist_for_each_entry_rcu(f, &buckets[nfdsr_flow_hash(key) & t->bucket_mask], node) {
		if (nfdsr_flow_key_eq(&f->key, key))
			return nfdsr_flow_expired(cfg, f, jiffies) ? NULL : f;
	}
	return NULL;
}

/*
 * Make room when the table is full. Looks at the buckets from `bucket` on
 * and evicts the best victim seen: lowest eviction class, then least recently
 * seen. It stops at the first closing/expired flow, after
 * NFDSR_EVICT_SCAN_USED non-empty buckets if it found an embryonic one, and
 * takes an established flow only when NFDSR_EVICT_SCAN_WIDE non-empty buckets
 * hold nothing else (so a flood of new flows replaces itself, not the
 * established ones). Returns false if nothing could be evicted.
 */
#define NFDSR_EVICT_SCAN_USED 8u
#define NFDSR_EVICT_SCAN_WIDE 64u

static bool nfdsr_flow_evict_one(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				 u32 bucket)
{
	struct nfdsr_flow_table *t = &nn->flows;
	struct nfdsr_flow *best = NULL;
	unsigned int best_class = 3, used = 0;
	unsigned long now = jiffies;
	u32 i, best_bucket = 0;

	/* Called from the hooks: RCU read side held, so a flow seen here stays
	 * valid memory; it is unlinked only after re-checking under its lock. */
	for (i = 0; i < NFDSR_EVICT_SCAN_BUCKETS; i++) {
		u32 b = (bucket + i) & t->bucket_mask;
		struct nfdsr_flow *f;
		bool seen = false;

		hlist_for_each_entry_rcu(f, &t->buckets[b], node) {
			unsigned int c = nfdsr_flow_evict_class(cfg, f, now);

			seen = true;
			if (c < best_class ||
			    (c == best_class && time_before(READ_ONCE(f->last_seen),
							    READ_ONCE(best->last_seen)))) {
				best = f;
				best_class = c;
				best_bucket = b;
			}
		}
		if (seen)
			used++;
		if (best_class == 0 || (best_class == 1 && used >= NFDSR_EVICT_SCAN_USED) ||
		    used >= NFDSR_EVICT_SCAN_WIDE)
			break;
	}
	if (!best)
		return false;
	{
		spinlock_t *lock = nfdsr_bucket_lock(t, best_bucket);
		struct nfdsr_flow *f;
		bool found = false;

		spin_lock_bh(lock);
		hlist_for_each_entry(f, &t->buckets[best_bucket], node) {
			if (f == best) {
				found = true;
				break;
			}
		}
		if (found)
			nfdsr_flow_unlink(nn, best);
		spin_unlock_bh(lock);
		if (!found) /* removed meanwhile: that made room too */
			return true;
	}
	if (best_class == 2)
		nfdsr_count(nn, NFDSR_CTR_FLOW_EVICTED_ESTABLISHED);
	return true;
}

/* A live flow of another service owns the key: keep it unless it is closing
 * (TIME_WAIT reuse of a client port), expired or never answered. */
static bool nfdsr_flow_holds_key(const struct nfdsr_config *cfg, const struct nfdsr_flow *f,
				 unsigned long now)
{
	return nfdsr_flow_evict_class(cfg, f, now) == 2;
}

/*
 * Record (or refresh) the flow client -> backend of service vip:vport, from
 * a valid option (TCP: a SYN, or with segment_state != 0 any later segment;
 * UDP: any datagram). Addresses/ports network order. syn_mss: the SYN's MSS
 * option (host order, 0 = none), which caps the backend's SYN-ACK; kept in
 * 8-byte units, none above 2040 (jumbo paths need no cap). A new SYN for a
 * known flow starts its life cycle again. A later segment only refreshes
 * its flow, or re-creates a record that is gone (evicted, expired, module
 * reloaded) in state segment_state; it never takes a key from a record of
 * another service, whatever that record's state (NFDSR_FLOW_CONFLICT, not
 * counted here: a connection is never re-pointed).
 */
enum nfdsr_flow_record_result nfdsr_flow_record(struct nfdsr_net *nn,
						const struct nfdsr_config *cfg,
						const struct nfdsr_flow_key *key,
						__be32 vip, __be16 vport, u16 syn_mss,
						u8 segment_state)
{
	struct nfdsr_flow_table *t = &nn->flows;
	unsigned long now = jiffies;
	struct nfdsr_flow *f, *old;
	spinlock_t *lock;
	u8 mss8 = syn_mss / 8 <= U8_MAX ? syn_mss / 8 : 0;
	u32 bucket;

	if (!t->buckets)
		return NFDSR_FLOW_NO_ROOM;
	bucket = nfdsr_flow_hash(key) & t->bucket_mask;
	lock = nfdsr_bucket_lock(t, bucket);

	/* Fast path: a retransmitted SYN, a new connection from the same client
	 * port, or the next UDP datagram of a flow. */
	hlist_for_each_entry_rcu(f, &t->buckets[bucket], node) {
		if (!nfdsr_flow_key_eq(&f->key, key))
			continue;
		if (f->vip == vip && f->vport == vport) {
			WRITE_ONCE(f->last_seen, now);
			if (key->proto == IPPROTO_TCP && !segment_state) {
				if (READ_ONCE(f->state))
					WRITE_ONCE(f->state, 0);
				if (READ_ONCE(f->syn_mss8) != mss8)
					WRITE_ONCE(f->syn_mss8, mss8);
			}
			return NFDSR_FLOW_RECORDED;
		}
		if (segment_state)
			return NFDSR_FLOW_CONFLICT;
		if (nfdsr_flow_holds_key(cfg, f, now)) {
			nfdsr_count(nn, NFDSR_CTR_FLOW_CONFLICT);
			return NFDSR_FLOW_CONFLICT;
		}
		break;
	}

	if (atomic_read(&t->count) >= cfg->flow_max) {
		if (!nfdsr_flow_evict_one(nn, cfg, bucket)) {
			nfdsr_count(nn, NFDSR_CTR_FLOW_ALLOC_FAIL);
			return NFDSR_FLOW_NO_ROOM;
		}
		nfdsr_count(nn, NFDSR_CTR_FLOW_EVICTED);
	}

	f = kmem_cache_alloc(nfdsr_flow_cache, GFP_ATOMIC);
	if (!f) {
		nfdsr_count(nn, NFDSR_CTR_FLOW_ALLOC_FAIL);
		return NFDSR_FLOW_NO_ROOM;
	}
	f->key = *key;
	f->vip = vip;
	f->vport = vport;
	f->state = segment_state;
	f->syn_mss8 = mss8;
	f->last_seen = now;

	spin_lock_bh(lock);
	/* The same client/backend pair of a closing or unanswered flow of
	 * another service (or a racing insert): replaced. A live one wins. */
	hlist_for_each_entry(old, &t->buckets[bucket], node) {
		if (!nfdsr_flow_key_eq(&old->key, key))
			continue;
		if ((old->vip != vip || old->vport != vport) &&
		    (segment_state || nfdsr_flow_holds_key(cfg, old, now))) {
			spin_unlock_bh(lock);
			kmem_cache_free(nfdsr_flow_cache, f);
			if (!segment_state)
				nfdsr_count(nn, NFDSR_CTR_FLOW_CONFLICT);
			return NFDSR_FLOW_CONFLICT;
		}
		nfdsr_flow_unlink(nn, old);
		break;
	}
	hlist_add_head_rcu(&f->node, &t->buckets[bucket]);
	atomic_inc(&t->count);
	spin_unlock_bh(lock);
	nfdsr_count(nn, NFDSR_CTR_FLOW_CREATED);
	if (segment_state) {
		nfdsr_count(nn, NFDSR_CTR_FLOW_RECOVERED);
		return NFDSR_FLOW_RECOVERED;
	}
	return NFDSR_FLOW_RECORDED;
}

static void nfdsr_flow_gc(struct work_struct *work)
{
	struct nfdsr_flow_table *t = container_of(to_delayed_work(work),
						  struct nfdsr_flow_table, gc);
	struct nfdsr_net *nn = container_of(t, struct nfdsr_net, flows);
	const struct nfdsr_config *cfg;
	unsigned long now = jiffies;
	u32 n = min(NFDSR_GC_BUCKETS_PER_RUN, t->bucket_mask + 1);
	u32 i, expired = 0;

	rcu_read_lock();
	cfg = rcu_dereference(nn->cfg);
	if (cfg && atomic_read(&t->count)) {
		for (i = 0; i < n; i++) {
			u32 b = (t->gc_next + i) & t->bucket_mask;
			spinlock_t *lock = nfdsr_bucket_lock(t, b);
			struct nfdsr_flow *f;
			struct hlist_node *tmp;

			if (hlist_empty(&t->buckets[b]))
				continue;
			spin_lock_bh(lock);
			hlist_for_each_entry_safe(f, tmp, &t->buckets[b], node) {
				if (nfdsr_flow_expired(cfg, f, now)) {
					nfdsr_flow_unlink(nn, f);
					expired++;
				}
			}
			spin_unlock_bh(lock);
		}
	}
	rcu_read_unlock();
	t->gc_next = (t->gc_next + n) & t->bucket_mask;
	if (expired)
		this_cpu_add(nn->ctr->c[NFDSR_CTR_FLOW_EXPIRED], expired);
	queue_delayed_work(system_power_efficient_wq, &t->gc, NFDSR_GC_INTERVAL);
}

/*
 * Allocate the buckets on first configuration (namespaces that never get
 * configured, e.g. pods, cost nothing). The bucket count is fixed from the
 * first flow_max: about two entries per bucket at the limit, so a full table
 * finds an eviction victim within a few buckets. (A much lower flow_max set
 * later leaves the table sparse: eviction then scans at most
 * NFDSR_EVICT_SCAN_BUCKETS and counts flow_alloc_fail if it finds nothing.)
 */
int nfdsr_flow_table_init(struct nfdsr_net *nn, u32 flow_max)
{
	struct nfdsr_flow_table *t = &nn->flows;
	u32 nbuckets, nlocks, i;

	if (t->buckets)
		return 0;
	nbuckets = roundup_pow_of_two(clamp_t(u32, flow_max / 2, 16, 1u << 22));
	nlocks = min_t(u32, nbuckets, 1024);
	t->locks = kvmalloc_array(nlocks, sizeof(*t->locks), GFP_KERNEL);
	if (!t->locks)
		return -ENOMEM;
	for (i = 0; i < nlocks; i++)
		spin_lock_init(&t->locks[i]);
	t->lock_mask = nlocks - 1;
	t->bucket_mask = nbuckets - 1;
	atomic_set(&t->count, 0);
	t->gc_next = 0;
	INIT_DELAYED_WORK(&t->gc, nfdsr_flow_gc);
	/* Publish buckets last: lookups test it without the config lock. */
	{
		struct hlist_head *b = kvcalloc(nbuckets, sizeof(*b), GFP_KERNEL);

		if (!b) {
			kvfree(t->locks);
			t->locks = NULL;
			return -ENOMEM;
		}
		smp_store_release(&t->buckets, b);
	}
	queue_delayed_work(system_power_efficient_wq, &t->gc, NFDSR_GC_INTERVAL);
	return 0;
}

void nfdsr_flow_table_flush(struct nfdsr_net *nn)
{
	struct nfdsr_flow_table *t = &nn->flows;
	u32 b;

	if (!t->buckets)
		return;
	for (b = 0; b <= t->bucket_mask; b++) {
		spinlock_t *lock = nfdsr_bucket_lock(t, b);
		struct nfdsr_flow *f;
		struct hlist_node *tmp;

		spin_lock_bh(lock);
		hlist_for_each_entry_safe(f, tmp, &t->buckets[b], node)
			nfdsr_flow_unlink(nn, f);
		spin_unlock_bh(lock);
	}
}

/* Hooks must already be unregistered (no more readers after synchronize). */
void nfdsr_flow_table_destroy(struct nfdsr_net *nn)
{
	struct nfdsr_flow_table *t = &nn->flows;

	if (!t->buckets)
		return;
	cancel_delayed_work_sync(&t->gc);
	nfdsr_flow_table_flush(nn);
	synchronize_rcu();
	kvfree(t->buckets);
	kvfree(t->locks);
	t->buckets = NULL;
	t->locks = NULL;
}
