// SPDX-License-Identifier: GPL-2.0
/*
 * Entry node service table: (service address, port, protocol, kind) ->
 * backends and Maglev tables, per network namespace.
 *
 * An rhashtable: lock-free RCU lookups from the entry hook; inserts,
 * replaces and removals under nn->lock (configuration only). A service is
 * one allocation, immutable once published apart from its per-CPU
 * counters; a replace publishes a new object and frees the old one after a
 * grace period. The Maglev tables are computed by the manager; here they
 * are only used.
 */
#include <linux/jhash.h>
#include <linux/mm.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/tcp.h>
#include <net/tcp.h>

#include "nfdsr_internal.h"

static const struct rhashtable_params nfdsr_svc_params = {
	.key_len = sizeof(struct nfdsr_svc_key),
	.key_offset = offsetof(struct nfdsr_svc, key),
	.head_offset = offsetof(struct nfdsr_svc, node),
	.automatic_shrinking = true,
};

int nfdsr_svc_table_init(struct nfdsr_net *nn)
{
	return rhashtable_init(&nn->svcs, &nfdsr_svc_params);
}

void nfdsr_svc_free(struct nfdsr_svc *s)
{
	kvfree(s);
}

static void nfdsr_svc_free_cb(void *ptr, void *arg)
{
	nfdsr_svc_free(ptr);
}

/* Namespace exit: no hooks, no dumps any more. */
void nfdsr_svc_table_destroy(struct nfdsr_net *nn)
{
	rhashtable_free_and_destroy(&nn->svcs, nfdsr_svc_free_cb, NULL);
}

u32 nfdsr_svc_count(struct nfdsr_net *nn)
{
	return atomic_read(&nn->svcs.nelems);
}

void nfdsr_svc_walk_enter(struct nfdsr_net *nn, struct rhashtable_iter *iter)
{
	rhashtable_walk_enter(&nn->svcs, iter);
}

/*
 * Remove every service. Readers (hooks, dumps) may still hold one: each is
 * freed after a grace period.
 */
void nfdsr_svc_flush(struct nfdsr_net *nn)
{
	struct rhashtable_iter iter;
	struct nfdsr_svc *s;

	lockdep_assert_held(&nn->lock);
	rhashtable_walk_enter(&nn->svcs, &iter);
	rhashtable_walk_start(&iter);
	while ((s = rhashtable_walk_next(&iter))) {
		if (IS_ERR(s)) {
			if (PTR_ERR(s) == -EAGAIN)
				continue; /* resized meanwhile: the walk goes on */
			break;
		}
		if (!rhashtable_remove_fast(&nn->svcs, &s->node, nfdsr_svc_params))
			kvfree_rcu(s, rcu);
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
}

bool nfdsr_svc_marks_within(struct nfdsr_net *nn, u32 mask)
{
	struct rhashtable_iter iter;
	struct nfdsr_svc *s;
	bool ok = true;
	u32 i;

	lockdep_assert_held(&nn->lock);
	rhashtable_walk_enter(&nn->svcs, &iter);
	rhashtable_walk_start(&iter);
	while (ok && (s = rhashtable_walk_next(&iter))) {
		if (IS_ERR(s)) {
			if (PTR_ERR(s) == -EAGAIN)
				continue;
			break;
		}
		for (i = 0; i < s->n; i++)
			if (s->backends[i].route_mark & ~mask)
				ok = false;
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	return ok;
}

struct nfdsr_svc *nfdsr_svc_lookup(struct nfdsr_net *nn, const struct nfdsr_svc_key *key)
{
	return rhashtable_lookup(&nn->svcs, key, nfdsr_svc_params);
}

/*
 * Layout of the allocation: the header, backends[n], table[m],
 * est_table[m_est], then (cache-line aligned) nr_cpu_ids counter rows.
 */
struct nfdsr_svc *nfdsr_svc_alloc(u32 n, u32 m, u32 m_est)
{
	size_t hdr = ALIGN(sizeof(struct nfdsr_svc), sizeof(u64));
	size_t tables = hdr + (size_t)n * sizeof(struct nfdsr_svc_backend) +
			((size_t)m + m_est) * sizeof(u16);
	size_t ctr_off = ALIGN(tables, L1_CACHE_BYTES);
	u32 stride = ALIGN((1 + 2 * (size_t)n) * sizeof(u64), L1_CACHE_BYTES) / sizeof(u64);
	struct nfdsr_svc *s;

	s = kvzalloc(ctr_off + (size_t)nr_cpu_ids * stride * sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!s)
		return NULL;
	s->n = n;
	s->m = m;
	s->m_est = m_est;
	s->ctr_stride = stride;
	s->backends = (void *)((u8 *)s + hdr);
	s->table = (u16 *)(s->backends + n);
	s->est_table = s->table + m;
	s->ctr = (u64 *)((u8 *)s + ctr_off);
	return s;
}

int nfdsr_svc_publish(struct nfdsr_net *nn, struct nfdsr_svc *s)
{
	struct nfdsr_svc *old;
	int err;

	lockdep_assert_held(&nn->lock);
	old = rhashtable_lookup_fast(&nn->svcs, &s->key, nfdsr_svc_params);
	if (old) {
		nfdsr_svc_carry_counters(s, old);
		err = rhashtable_replace_fast(&nn->svcs, &old->node, &s->node, nfdsr_svc_params);
		if (!err)
			kvfree_rcu(old, rcu);
	} else if (nfdsr_svc_count(nn) >= NFDSR_SERVICES_LIMIT) {
		err = -ENOSPC;
	} else {
		err = rhashtable_insert_fast(&nn->svcs, &s->node, nfdsr_svc_params);
	}
	if (err)
		nfdsr_svc_free(s);
	return err;
}

int nfdsr_svc_remove(struct nfdsr_net *nn, const struct nfdsr_svc_key *key)
{
	struct nfdsr_svc *s;

	lockdep_assert_held(&nn->lock);
	s = rhashtable_lookup_fast(&nn->svcs, key, nfdsr_svc_params);
	if (!s)
		return -ENOENT;
	rhashtable_remove_fast(&nn->svcs, &s->node, nfdsr_svc_params);
	kvfree_rcu(s, rcu);
	return 0;
}

u32 nfdsr_svc_bucket(__be32 client, __be16 cport, u32 seed, u32 m)
{
	/* nft's registers: saddr, then sport in a register whose other two
	 * bytes are zero; NFTA_HASH_LEN 8 */
	u8 data[8] = {};

	memcpy(data, &client, 4);
	memcpy(data + 4, &cport, 2);
	return reciprocal_scale(jhash(data, sizeof(data), seed), m);
}

/*
 * Without a drain: the table decides. While a backend drains (est_table):
 * a TCP SYN takes the table, and is to be remembered if the old table would
 * have sent the client elsewhere; any other segment follows the table if
 * its client was remembered, else the old table (a connection from before
 * the drain keeps its backend).
 */
void nfdsr_svc_choose(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
		      const struct nfdsr_svc *s, __be32 client, __be16 cport, u8 tcp_flags,
		      struct nfdsr_svc_choice *c)
{
	bool use_new = true;

	c->remember = false;
	c->drain_flow = NULL;
	c->table = NFDSR_LOOKUP_TABLE_CURRENT;
	c->bucket = 0;
	c->backend = -1;
	if (s->m_est) {
		bool syn = (tcp_flags & (TCPHDR_FIN | TCPHDR_SYN | TCPHDR_RST | TCPHDR_ACK)) ==
			   TCPHDR_SYN;

		if (!syn) {
			struct nfdsr_flow_key k = nfdsr_drain_flow_key(s, client, cport);

			c->drain_flow = nfdsr_flow_lookup(nn, cfg, &k);
			use_new = c->drain_flow != NULL;
		} else if (s->m) {
			u32 old = s->est_table[nfdsr_svc_bucket(client, cport, s->hash_seed, s->m_est)];
			u32 b = nfdsr_svc_bucket(client, cport, s->hash_seed, s->m);

			c->remember = s->table[b] != old;
		}
	}
	if (use_new) {
		if (!s->m)
			return;
		c->bucket = nfdsr_svc_bucket(client, cport, s->hash_seed, s->m);
		c->backend = s->table[c->bucket];
	} else {
		c->table = NFDSR_LOOKUP_TABLE_ESTABLISHED;
		c->bucket = nfdsr_svc_bucket(client, cport, s->hash_seed, s->m_est);
		c->backend = s->est_table[c->bucket];
	}
}

void nfdsr_svc_count_backend(struct nfdsr_svc *s, u32 i, unsigned int bytes)
{
	u64 *row = s->ctr + (size_t)get_cpu() * s->ctr_stride;

	row[1 + 2 * i]++;
	row[2 + 2 * i] += bytes;
	put_cpu();
}

void nfdsr_svc_count_no_backend(struct nfdsr_svc *s)
{
	u64 *row = s->ctr + (size_t)get_cpu() * s->ctr_stride;

	row[0]++;
	put_cpu();
}

void nfdsr_svc_backend_totals(const struct nfdsr_svc *s, u32 i, u64 *packets, u64 *bytes)
{
	int cpu;

	*packets = 0;
	*bytes = 0;
	for_each_possible_cpu(cpu) {
		const u64 *row = s->ctr + (size_t)cpu * s->ctr_stride;

		*packets += READ_ONCE(row[1 + 2 * i]);
		*bytes += READ_ONCE(row[2 + 2 * i]);
	}
}

u64 nfdsr_svc_no_backend_total(const struct nfdsr_svc *s)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(s->ctr[(size_t)cpu * s->ctr_stride]);
	return sum;
}

/* (ip, port) of backend idx as one sortable number */
struct nfdsr_be_ref {
	u64 id;
	u32 idx;
};

static int nfdsr_be_ref_cmp(const void *a, const void *b)
{
	const struct nfdsr_be_ref *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct nfdsr_be_ref *nfdsr_svc_sorted_backends(const struct nfdsr_svc *s)
{
	struct nfdsr_be_ref *v = kvmalloc_array(max_t(u32, s->n, 1), sizeof(*v), GFP_KERNEL);
	u32 i;

	if (!v)
		return NULL;
	for (i = 0; i < s->n; i++) {
		v[i].id = ((u64)be32_to_cpu(s->backends[i].ip) << 16) | be16_to_cpu(s->backends[i].port);
		v[i].idx = i;
	}
	sort(v, s->n, sizeof(*v), nfdsr_be_ref_cmp, NULL);
	return v;
}

/*
 * Counter sums of old's backends go to CPU 0's row of the same backend in
 * s (backends are unique per service, checked at SVC_SET). Packets counted
 * on old between this and the switch are lost (a grace period's worth).
 * Without memory for the sort the counters start from zero.
 */
void nfdsr_svc_carry_counters(struct nfdsr_svc *s, const struct nfdsr_svc *old)
{
	struct nfdsr_be_ref *a, *b;
	u32 i = 0, j = 0;

	s->ctr[0] = nfdsr_svc_no_backend_total(old);
	if (!s->n || !old->n)
		return;
	a = nfdsr_svc_sorted_backends(s);
	b = nfdsr_svc_sorted_backends(old);
	while (a && b && i < s->n && j < old->n) {
		if (a[i].id < b[j].id) {
			i++;
		} else if (a[i].id > b[j].id) {
			j++;
		} else {
			nfdsr_svc_backend_totals(old, b[j].idx, &s->ctr[1 + 2 * a[i].idx],
						 &s->ctr[2 + 2 * a[i].idx]);
			i++;
			j++;
		}
	}
	kvfree(a);
	kvfree(b);
}

/* For SVC_SET's validation: is a backend (ip, port) listed twice? -ENOMEM
 * if the check cannot run. */
int nfdsr_svc_has_duplicate(const struct nfdsr_svc *s)
{
	struct nfdsr_be_ref *v;
	int dup = 0;
	u32 i;

	if (s->n < 2)
		return 0;
	v = nfdsr_svc_sorted_backends(s);
	if (!v)
		return -ENOMEM;
	for (i = 1; i < s->n && !dup; i++)
		dup = v[i].id == v[i - 1].id;
	kvfree(v);
	return dup;
}
