// SPDX-License-Identifier: GPL-2.0
/*
 * Service bindings: which (service, local backend) pairs this node serves.
 * Built once per configuration as three open-addressing tables (by binding,
 * by backend address, by backend ip:port -> its services); lookups in the
 * data path are allocation-free and lock-free; the whole config is replaced
 * through RCU.
 */
#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sort.h>

#include "nfdsr_internal.h"

/* The backend port is left out of the hash: the bindings of one service to
 * one backend address share a probe sequence, which is what
 * nfdsr_bindings_next_backend() walks (an ICMP quote names no backend port). */
static u32 nfdsr_binding_hash(u8 proto, __be32 vip, __be16 vport, __be32 bip)
{
	return jhash_3words((__force u32)vip, (__force u32)bip,
			    ((__force u32)vport << 16) ^ ((u32)proto << 8), 0x6e666473);
}

static bool nfdsr_binding_eq(const struct nfdsr_binding *s, u8 proto, __be32 vip,
			     __be16 vport, __be32 bip, __be16 bport)
{
	return s->proto == proto && s->vip == vip && s->vport == vport &&
	       s->backend_ip == bip && s->backend_port == bport;
}

static u32 nfdsr_table_size(u32 count)
{
	return roundup_pow_of_two(max_t(u32, 2 * count, 16));
}

static u32 nfdsr_backend_hash(u8 proto, __be32 bip, __be16 bport)
{
	return jhash_2words((__force u32)bip, ((__force u32)bport << 8) ^ proto, 0x6e666474);
}

static int nfdsr_binding_cmp_backend(const void *pa, const void *pb)
{
	const struct nfdsr_binding *a = pa, *b = pb;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->backend_ip != b->backend_ip)
		return (__force u32)a->backend_ip < (__force u32)b->backend_ip ? -1 : 1;
	if (a->backend_port != b->backend_port)
		return (__force u16)a->backend_port < (__force u16)b->backend_port ? -1 : 1;
	return 0;
}

/* The backend -> services index over the (deduplicated) bindings. */
static int nfdsr_backend_index_build(struct nfdsr_bindings *b)
{
	struct nfdsr_binding *sorted;
	u32 i, n = 0, slots = nfdsr_table_size(b->count);

	b->be_slots = kvcalloc(slots, sizeof(*b->be_slots), GFP_KERNEL);
	b->svcs = kvcalloc(max_t(u32, b->count, 1), sizeof(*b->svcs), GFP_KERNEL);
	sorted = kvcalloc(max_t(u32, b->count, 1), sizeof(*sorted), GFP_KERNEL);
	if (!b->be_slots || !b->svcs || !sorted) {
		kvfree(sorted);
		return -ENOMEM;
	}
	b->be_mask = slots - 1;
	for (i = 0; i <= b->slot_mask; i++)
		if (b->slots[i].proto)
			sorted[n++] = b->slots[i];
	sort(sorted, n, sizeof(*sorted), nfdsr_binding_cmp_backend, NULL);
	for (i = 0; i < n; i++) {
		const struct nfdsr_binding *in = &sorted[i];
		struct nfdsr_backend_slot *slot;
		u32 j;

		b->svcs[i].vip = in->vip;
		b->svcs[i].vport = in->vport;
		if (i && !nfdsr_binding_cmp_backend(in, &sorted[i - 1]))
			continue; /* same backend: its slot already counts it */
		for (j = nfdsr_backend_hash(in->proto, in->backend_ip, in->backend_port) & b->be_mask;
		     b->be_slots[j].proto; j = (j + 1) & b->be_mask)
			;
		slot = &b->be_slots[j];
		slot->proto = in->proto;
		slot->backend_ip = in->backend_ip;
		slot->backend_port = in->backend_port;
		slot->first = i;
		while (i + slot->n < n && !nfdsr_binding_cmp_backend(in, &sorted[i + slot->n]) &&
		       slot->n < U16_MAX)
			slot->n++;
	}
	kvfree(sorted);
	return 0;
}

int nfdsr_bindings_build(struct nfdsr_bindings *b, const struct nfdsr_binding *list, u32 count)
{
	u32 slots = nfdsr_table_size(count);
	u32 i;

	memset(b, 0, sizeof(*b));
	b->slots = kvcalloc(slots, sizeof(*b->slots), GFP_KERNEL);
	b->ip_slots = kvcalloc(slots, sizeof(*b->ip_slots), GFP_KERNEL);
	if (!b->slots || !b->ip_slots) {
		nfdsr_bindings_free(b);
		return -ENOMEM;
	}
	b->slot_mask = slots - 1;
	b->ip_mask = slots - 1;

	for (i = 0; i < count; i++) {
		const struct nfdsr_binding *in = &list[i];
		u32 h = nfdsr_binding_hash(in->proto, in->vip, in->vport, in->backend_ip);
		u32 j;

		for (j = h & b->slot_mask; b->slots[j].proto; j = (j + 1) & b->slot_mask) {
			if (nfdsr_binding_eq(&b->slots[j], in->proto, in->vip, in->vport,
					     in->backend_ip, in->backend_port))
				goto dup; /* duplicates are harmless: keep one */
		}
		b->slots[j] = *in;
		b->count++;
dup:
		for (j = jhash_1word((__force u32)in->backend_ip, 0) & b->ip_mask;
		     b->ip_slots[j]; j = (j + 1) & b->ip_mask) {
			if (b->ip_slots[j] == in->backend_ip)
				break;
		}
		b->ip_slots[j] = in->backend_ip;
	}
	if (nfdsr_backend_index_build(b)) {
		nfdsr_bindings_free(b);
		return -ENOMEM;
	}
	return 0;
}

void nfdsr_bindings_free(struct nfdsr_bindings *b)
{
	kvfree(b->slots);
	kvfree(b->ip_slots);
	kvfree(b->be_slots);
	kvfree(b->svcs);
	b->slots = NULL;
	b->ip_slots = NULL;
	b->be_slots = NULL;
	b->svcs = NULL;
	b->count = 0;
}

bool nfdsr_bindings_match(const struct nfdsr_bindings *b, u8 proto, __be32 vip, __be16 vport,
			  __be32 bip, __be16 bport)
{
	u32 j;

	if (!b->count)
		return false;
	for (j = nfdsr_binding_hash(proto, vip, vport, bip) & b->slot_mask;
	     b->slots[j].proto; j = (j + 1) & b->slot_mask) {
		if (nfdsr_binding_eq(&b->slots[j], proto, vip, vport, bip, bport))
			return true;
	}
	return false;
}

bool nfdsr_bindings_has_backend_ip(const struct nfdsr_bindings *b, __be32 ip)
{
	u32 j;

	if (!b->count)
		return false;
	for (j = jhash_1word((__force u32)ip, 0) & b->ip_mask; b->ip_slots[j];
	     j = (j + 1) & b->ip_mask) {
		if (b->ip_slots[j] == ip)
			return true;
	}
	return false;
}

u32 nfdsr_bindings_services_of(const struct nfdsr_bindings *b, u8 proto, __be32 bip,
			       __be16 bport, const struct nfdsr_svc_addr **out)
{
	u32 j;

	if (!b->count || !b->be_slots)
		return 0;
	for (j = nfdsr_backend_hash(proto, bip, bport) & b->be_mask; b->be_slots[j].proto;
	     j = (j + 1) & b->be_mask) {
		const struct nfdsr_backend_slot *slot = &b->be_slots[j];

		if (slot->proto == proto && slot->backend_ip == bip && slot->backend_port == bport) {
			*out = &b->svcs[slot->first];
			return slot->n;
		}
	}
	return 0;
}

/*
 * The bindings of service vip:vport/proto to backend address bip, one per
 * call (their backend ports may differ): start with *cursor = 0; returns
 * NULL when there are no more. Addresses and ports in network byte order.
 */
const struct nfdsr_binding *nfdsr_bindings_next_backend(const struct nfdsr_bindings *b, u8 proto,
							__be32 vip, __be16 vport, __be32 bip,
							u32 *cursor)
{
	u32 h, j;

	if (!b->count)
		return NULL;
	h = nfdsr_binding_hash(proto, vip, vport, bip);
	/* the table is at least half empty: a probe sequence ends at an empty slot */
	for (; *cursor <= b->slot_mask; (*cursor)++) {
		const struct nfdsr_binding *s;

		j = (h + *cursor) & b->slot_mask;
		s = &b->slots[j];
		if (!s->proto)
			return NULL;
		if (s->proto == proto && s->vip == vip && s->vport == vport && s->backend_ip == bip) {
			(*cursor)++;
			return s;
		}
	}
	return NULL;
}
