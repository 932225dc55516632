// SPDX-License-Identifier: GPL-2.0
/*
 * Service bindings: which (service, local backend) pairs this node serves.
 * Built once per configuration as two open-addressing tables (lookups in the
 * data path are allocation-free and lock-free; the whole config is replaced
 * through RCU).
 */
#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/mm.h>

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
	return 0;
}

void nfdsr_bindings_free(struct nfdsr_bindings *b)
{
	kvfree(b->slots);
	kvfree(b->ip_slots);
	b->slots = NULL;
	b->ip_slots = NULL;
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
