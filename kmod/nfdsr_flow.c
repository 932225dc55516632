// SPDX-License-Identifier: GPL-2.0
/*
 * Backend flow table: remembers, for each DSR flow that arrived with a valid
 * option, which service address its replies must carry. Independent of
 * conntrack. Bounded: at most flow_max entries; when full, the oldest entry
 * of the bucket (or a nearby bucket) is evicted. Idle entries expire by
 * protocol timeout; TCP entries that saw FIN/RST use the short close timeout.
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
	else if (READ_ONCE(f->closing))
		timeout = cfg->tcp_close_timeout_j;
	else
		timeout = cfg->tcp_timeout_j;
	return time_after(now, READ_ONCE(f->last_seen) + timeout);
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

/* Make room when the table is full: evict the least recently seen entry of
 * the first non-empty bucket at or after `bucket`. Returns true on success. */
static bool nfdsr_flow_evict_one(struct nfdsr_net *nn, u32 bucket)
{
	struct nfdsr_flow_table *t = &nn->flows;
	u32 i;

	for (i = 0; i < NFDSR_EVICT_SCAN_BUCKETS; i++) {
		u32 b = (bucket + i) & t->bucket_mask;
		spinlock_t *lock = nfdsr_bucket_lock(t, b);
		struct nfdsr_flow *f, *oldest = NULL;

		spin_lock_bh(lock);
		hlist_for_each_entry(f, &t->buckets[b], node) {
			if (!oldest || time_before(f->last_seen, oldest->last_seen))
				oldest = f;
		}
		if (oldest)
			nfdsr_flow_unlink(nn, oldest);
		spin_unlock_bh(lock);
		if (oldest)
			return true;
	}
	return false;
}

void nfdsr_flow_record(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
		       const struct nfdsr_flow_key *key, __be32 vip, __be16 vport)
{
	struct nfdsr_flow_table *t = &nn->flows;
	unsigned long now = jiffies;
	struct nfdsr_flow *f;
	spinlock_t *lock;
	u32 bucket;

	if (!t->buckets)
		return;
	bucket = nfdsr_flow_hash(key) & t->bucket_mask;
	lock = nfdsr_bucket_lock(t, bucket);

	/* Fast path: a retransmitted SYN or the next UDP datagram of a flow. */
	hlist_for_each_entry_rcu(f, &t->buckets[bucket], node) {
		if (nfdsr_flow_key_eq(&f->key, key) && f->vip == vip && f->vport == vport) {
			WRITE_ONCE(f->last_seen, now);
			WRITE_ONCE(f->closing, 0);
			return;
		}
	}

	if (atomic_read(&t->count) >= cfg->flow_max) {
		if (!nfdsr_flow_evict_one(nn, bucket)) {
			nfdsr_count(nn, NFDSR_CTR_FLOW_ALLOC_FAIL);
			return;
		}
		nfdsr_count(nn, NFDSR_CTR_FLOW_EVICTED);
	}

	f = kmem_cache_alloc(nfdsr_flow_cache, GFP_ATOMIC);
	if (!f) {
		nfdsr_count(nn, NFDSR_CTR_FLOW_ALLOC_FAIL);
		return;
	}
	f->key = *key;
	f->vip = vip;
	f->vport = vport;
	f->closing = 0;
	f->last_seen = now;

	spin_lock_bh(lock);
	{
		struct nfdsr_flow *old;

		/* The same client/backend pair reused for another service (or a
		 * racing insert): the newest option wins. */
		hlist_for_each_entry(old, &t->buckets[bucket], node) {
			if (nfdsr_flow_key_eq(&old->key, key)) {
				nfdsr_flow_unlink(nn, old);
				break;
			}
		}
	}
	hlist_add_head_rcu(&f->node, &t->buckets[bucket]);
	atomic_inc(&t->count);
	spin_unlock_bh(lock);
	nfdsr_count(nn, NFDSR_CTR_FLOW_CREATED);
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
