// SPDX-License-Identifier: GPL-2.0
/*
 * Entry node: the entry path for packets nftables marked.
 *
 * Runs in PREROUTING after nftables' classify chain (-300: notrack, entry
 * mark) and before the module's backend ingress hook (-270). For
 * a marked packet: look the service up in the module's service table
 * (nfdsr_service.c), attach the DSR option while the header still names the
 * service address the client used (services with NFDSR_SVC_F_OPTION), pick
 * the backend from the service's Maglev table, rewrite the destination
 * address and port statelessly and set the backend's route mark. The
 * service comes from the table, never from anything else in the packet.
 */
#include <linux/if_arp.h>
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/netfilter_ipv4.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/icmp.h>
#include <net/route.h>
#include <net/tcp.h>

#include <nfdsr/dsr_option.h>

#include "nfdsr_internal.h"

/*
 * Which TCP segments carry the option: the SYN (it creates the backend's
 * flow record) and every later one except the body of a bulk send (data
 * without PSH or FIN). ACKs, requests, the end of each write, keepalives,
 * FIN and RST carry it, so a backend whose record is gone (evicted,
 * expired, module reloaded) re-creates it from the client's next such
 * segment instead of answering as itself; bulk data stays unchanged (no
 * 8 bytes, GRO keeps merging it). l4: the first 14 bytes of the TCP header.
 */
static bool nfdsr_tcp_carries_option(const struct iphdr *iph, const u8 *l4)
{
	u8 flags = l4[13];
	unsigned int payload = ntohs(iph->tot_len) - iph->ihl * 4 - (l4[12] >> 4) * 4;

	if (flags & TCPHDR_SYN)
		return (flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_FIN)) == 0;
	return payload == 0 || (flags & (TCPHDR_PSH | TCPHDR_FIN | TCPHDR_RST));
}

/*
 * Attach the option naming the service (daddr, dport: network order) if
 * this packet carries one. Returns 1 attached, 0 goes without, -1 drop.
 * l4: the first 14 (TCP) or 4 (UDP) bytes of the L4 header.
 */
static int nfdsr_entry_attach(struct nfdsr_net *nn, struct sk_buff *skb, __be16 dport,
			      const u8 *l4)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int hlen = iph->ihl * 4;
	u8 *buf;

	if (iph->protocol == IPPROTO_TCP && !nfdsr_tcp_carries_option(iph, l4))
		return 0;
	if (!nfdsr_ip4_opt_fits((const u8 *)iph)) {
		nfdsr_count(nn, NFDSR_CTR_OPT_NO_ROOM);
		/* the SYN made the record: a later segment goes without */
		if (iph->protocol == IPPROTO_TCP && !(l4[13] & TCPHDR_SYN))
			return 0;
		return -1;
	}
	if (skb_ensure_writable(skb, hlen) || skb_cow_head(skb, NFDSR_OPT4_LEN)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return -1;
	}
	iph = ip_hdr(skb);
	buf = skb_push(skb, NFDSR_OPT4_LEN);
	/* The header (checksum included) still sums to zero afterwards, so a
	 * CHECKSUM_COMPLETE skb->csum stays valid without adjustment. */
	nfdsr_ip4_opt_insert(buf, iph->daddr, dport);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, hlen + NFDSR_OPT4_LEN);
	nfdsr_count(nn, NFDSR_CTR_OPT_ADDED);
	return 1;
}

/*
 * Stateless DNAT of a TCP/UDP packet to daddr:dport (network order), as
 * nf_nat does it: IP header checksum; L4 checksum for the pseudo-header
 * address (which also fixes skb->csum for CHECKSUM_COMPLETE and only the
 * pseudo-header sum for CHECKSUM_PARTIAL) and the port; a UDP checksum of
 * 0 (none) stays 0 unless the checksum is still to be computed.
 */
static int nfdsr_entry_rewrite(struct sk_buff *skb, __be32 daddr, __be16 dport)
{
	struct iphdr *iph = ip_hdr(skb);
	unsigned int thoff = iph->ihl * 4;
	bool tcp = iph->protocol == IPPROTO_TCP;
	__be32 old;

	if (skb_ensure_writable(skb, thoff + (tcp ? sizeof(struct tcphdr) : sizeof(struct udphdr))))
		return -ENOMEM;
	iph = ip_hdr(skb);
	old = iph->daddr;
	if (tcp) {
		struct tcphdr *th = (struct tcphdr *)((u8 *)iph + thoff);

		inet_proto_csum_replace4(&th->check, skb, old, daddr, true);
		inet_proto_csum_replace2(&th->check, skb, th->dest, dport, false);
		th->dest = dport;
	} else {
		struct udphdr *uh = (struct udphdr *)((u8 *)iph + thoff);

		if (uh->check || skb->ip_summed == CHECKSUM_PARTIAL) {
			inet_proto_csum_replace4(&uh->check, skb, old, daddr, true);
			inet_proto_csum_replace2(&uh->check, skb, uh->dest, dport, false);
			if (!uh->check)
				uh->check = CSUM_MANGLED_0;
		}
		uh->dest = dport;
	}
	csum_replace4(&iph->check, old, daddr);
	iph->daddr = daddr;
	return 0;
}

/* Outer destination only (a relayed ICMP error: no pseudo-header). */
static int nfdsr_entry_rewrite_daddr(struct sk_buff *skb, __be32 daddr)
{
	struct iphdr *iph;

	if (skb_ensure_writable(skb, sizeof(struct iphdr)))
		return -ENOMEM;
	iph = ip_hdr(skb);
	csum_replace4(&iph->check, iph->daddr, daddr);
	iph->daddr = daddr;
	return 0;
}

/* Classic IPIP services reach a backend with a route mark through the
 * tunnel with the destination left at the service; the others (and a
 * classic service's backend on this node) are rewritten. */
static bool nfdsr_entry_keeps_daddr(const struct nfdsr_svc *s, const struct nfdsr_svc_backend *b)
{
	return (s->flags & NFDSR_SVC_F_CLASSIC) && b->route_mark;
}

static void nfdsr_entry_route_mark(const struct nfdsr_config *cfg, struct sk_buff *skb,
				   const struct nfdsr_svc_backend *b)
{
	skb->mark = (skb->mark & ~cfg->route_mark_mask) | b->route_mark;
}

static unsigned int nfdsr_entry_no_backend(struct nfdsr_net *nn, struct nfdsr_svc *s)
{
	nfdsr_count(nn, NFDSR_CTR_NO_BACKEND);
	nfdsr_svc_count_no_backend(s);
	return NF_DROP;
}

/* Drain flows: a SYN the drain moved is remembered, a later segment of a
 * remembered connection refreshes it (and marks it answered: established
 * ones are the last the flow table evicts). */
static void nfdsr_entry_drain_flow(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				   const struct nfdsr_svc *s, const struct nfdsr_svc_choice *c,
				   __be32 client, __be16 cport)
{
	if (c->remember) {
		struct nfdsr_flow_key k = nfdsr_drain_flow_key(s, client, cport);

		if (nfdsr_flow_record(nn, cfg, &k, s->key.vip, s->key.port, 0, 0) ==
		    NFDSR_FLOW_RECORDED)
			nfdsr_count(nn, NFDSR_CTR_DRAIN_FLOW_ADDED);
		else
			nfdsr_count(nn, NFDSR_CTR_DRAIN_FLOW_NO_ROOM);
	} else if (c->drain_flow) {
		unsigned long now = jiffies;

		if (READ_ONCE(c->drain_flow->last_seen) != now)
			WRITE_ONCE(c->drain_flow->last_seen, now);
		nfdsr_flow_set_state(c->drain_flow, NFDSR_FLOW_REPLIED);
	}
}

static enum nfdsr_svc_kind nfdsr_entry_kind(const struct nf_hook_state *state)
{
	/* classic IPIP decapsulated by tunl0 (or another ipip device) */
	return state->in && state->in->type == ARPHRD_TUNNEL ? NFDSR_SVC_TUNNEL : NFDSR_SVC_ENTRY;
}

/*
 * A TCP segment or UDP datagram to a service. A client never gets to send
 * a DSR option: a packet to a service that already carries one (or whose
 * option area does not parse) is dropped and counted, whatever its flags.
 */
static unsigned int nfdsr_entry_l4(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				   struct sk_buff *skb, const struct nf_hook_state *state)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int hlen = iph->ihl * 4, len = skb->len, off;
	const struct nfdsr_svc_backend *b;
	struct nfdsr_svc_choice c;
	struct nfdsr_svc_key key;
	struct nfdsr_svc *s;
	__be32 client = iph->saddr;
	__be16 sport, dport;
	u8 _l4[14], flags = 0;
	const u8 *l4;
	int attached = 0;

	if (hlen > NFDSR_IP4_BASE_HDR &&
	    /* ip_rcv_core() made hlen bytes linear and checked them */
	    nfdsr_opt4_find((const u8 *)iph + NFDSR_IP4_BASE_HDR, hlen - NFDSR_IP4_BASE_HDR,
			    &off) != NFDSR_OPT_ABSENT) {
		nfdsr_count(nn, NFDSR_CTR_OPT_FROM_CLIENT);
		return NF_DROP;
	}
	l4 = skb_header_pointer(skb, hlen, iph->protocol == IPPROTO_TCP ? 14 : 4, _l4);
	if (!l4) {
		skb->mark &= ~cfg->entry_mark;
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_ACCEPT;
	}
	memcpy(&sport, l4, sizeof(sport));
	memcpy(&dport, l4 + 2, sizeof(dport));
	if (iph->protocol == IPPROTO_TCP)
		flags = l4[13];

	key.vip = iph->daddr;
	key.port = dport;
	key.proto = iph->protocol;
	key.kind = nfdsr_entry_kind(state);
	s = nfdsr_svc_lookup(nn, &key);
	if (!s) {
		nfdsr_count(nn, NFDSR_CTR_SVC_MISSING);
		return NF_DROP;
	}
	nfdsr_svc_choose(nn, cfg, s, client, sport, flags, &c);
	if (c.backend < 0)
		return nfdsr_entry_no_backend(nn, s);
	b = &s->backends[c.backend];

	if ((s->flags & NFDSR_SVC_F_OPTION)) {
		attached = nfdsr_entry_attach(nn, skb, dport, l4);
		if (attached < 0)
			return NF_DROP;
	}
	nfdsr_entry_drain_flow(nn, cfg, s, &c, client, sport);
	if (!nfdsr_entry_keeps_daddr(s, b) && nfdsr_entry_rewrite(skb, b->ip, b->port)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_DROP;
	}
	nfdsr_entry_route_mark(cfg, skb, b);
	/* With an option the mark stays set: the ingress hook (-270) uses it
	 * to run the MTU check on what we attached, and clears it. */
	if (attached <= 0)
		skb->mark &= ~cfg->entry_mark;
	nfdsr_svc_count_backend(s, c.backend, len);
	nfdsr_count(nn, NFDSR_CTR_DISPATCHED);
	return NF_ACCEPT;
}

/*
 * An ICMP error (destination unreachable, time exceeded, parameter
 * problem) about a reply: the outer destination is the service address,
 * the quote a reply from it (source port = service port) to the client.
 * It goes to the backend that owns the quoted client's flow (the same
 * choice as for the client's non-SYN segments), with only the outer
 * destination rewritten; the backend node's module translates the quote.
 * nftables only marks valid ones: anything else is a foreign use of the
 * mark, left alone.
 */
static unsigned int nfdsr_entry_icmp(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				     struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct nfdsr_svc_backend *b;
	struct nfdsr_svc_choice c;
	struct nfdsr_svc_key key;
	struct nfdsr_svc *s;
	unsigned int len = skb->len;
	__be32 client;
	__be16 cport, qfrag;
	u8 _q[32];
	const u8 *q; /* ICMP header (8), quoted IP header (20), quoted ports */

	skb->mark &= ~cfg->entry_mark;
	q = skb_header_pointer(skb, iph->ihl * 4, sizeof(_q), _q);
	if (q)
		memcpy(&qfrag, q + 8 + 6, sizeof(qfrag));
	if (!q || (q[0] != ICMP_DEST_UNREACH && q[0] != ICMP_TIME_EXCEEDED &&
		   q[0] != ICMP_PARAMETERPROB) ||
	    q[8] != 0x45 || (qfrag & htons(IP_OFFSET)) ||
	    (q[8 + 9] != IPPROTO_TCP && q[8 + 9] != IPPROTO_UDP)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_ACCEPT;
	}
	key.vip = iph->daddr;
	memcpy(&key.port, q + 28, sizeof(key.port));
	key.proto = q[8 + 9];
	key.kind = NFDSR_SVC_ENTRY;
	memcpy(&client, q + 8 + 16, sizeof(client));
	memcpy(&cport, q + 30, sizeof(cport));
	s = nfdsr_svc_lookup(nn, &key);
	if (!s) {
		nfdsr_count(nn, NFDSR_CTR_SVC_MISSING);
		return NF_DROP;
	}
	nfdsr_svc_choose(nn, cfg, s, client, cport,
			 key.proto == IPPROTO_TCP ? TCPHDR_ACK : 0, &c);
	if (c.backend < 0)
		return nfdsr_entry_no_backend(nn, s);
	b = &s->backends[c.backend];
	if (!nfdsr_entry_keeps_daddr(s, b) && nfdsr_entry_rewrite_daddr(skb, b->ip)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_DROP;
	}
	nfdsr_entry_route_mark(cfg, skb, b);
	nfdsr_svc_count_backend(s, c.backend, len);
	nfdsr_count(nn, NFDSR_CTR_ICMP_RELAYED);
	return NF_ACCEPT;
}

unsigned int nfdsr_entry_hook(void *priv, struct sk_buff *skb, const struct nf_hook_state *state)
{
	struct nfdsr_net *nn = nfdsr_pernet(state->net);
	const struct nfdsr_config *cfg = rcu_dereference(nn->cfg);
	const struct iphdr *iph;

	if (!cfg || !(skb->mark & cfg->entry_mark))
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	/* fragments were reassembled by nf_defrag_ipv4 before */
	if (!(iph->frag_off & htons(IP_OFFSET))) {
		if (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP)
			return nfdsr_entry_l4(nn, cfg, skb, state);
		if (iph->protocol == IPPROTO_ICMP)
			return nfdsr_entry_icmp(nn, cfg, skb);
	}
	/* nftables marks nothing else: a foreign use of our mark bit */
	skb->mark &= ~cfg->entry_mark;
	nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
	return NF_ACCEPT;
}

/*
 * Tell the client its datagram no longer fits once the option is added.
 * The ICMP must quote the header the client sent (destination = service
 * address and port), or the client's stack cannot match it to a socket:
 * undo our option and the destination rewrite in the quote.
 * `skb` is the marked packet after dispatch: option at opt_off inside the
 * options area, destination = backend. `mtu` is the value to report.
 */
void nfdsr_entry_frag_needed(struct nfdsr_net *nn, struct sk_buff *skb, unsigned int opt_off,
			     unsigned int mtu)
{
	struct net *net = nn->net;
	u8 quote[NFDSR_IP4_MAX_HDR + 8];
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int hlen = iph->ihl * 4;
	struct flowi4 fl4 = {};
	struct sk_buff *nskb;
	struct rtable *rt;
	struct iphdr *niph;
	struct icmphdr *icmph;
	__be32 vip, backend_ip;
	__be16 vport, backend_port;
	u8 *qh, *l4;
	unsigned int qlen;

	if (skb_copy_bits(skb, 0, quote, hlen + 8))
		return;
	nfdsr_opt4_decode(quote + NFDSR_IP4_BASE_HDR + opt_off, &vip, &vport);
	qh = nfdsr_ip4_opt_remove(quote, opt_off);
	qlen = hlen - NFDSR_OPT4_LEN + 8;
	l4 = qh + hlen - NFDSR_OPT4_LEN;

	memcpy(&backend_ip, qh + NFDSR_IP4_OFF_DADDR, 4);
	memcpy(&backend_port, l4 + 2, 2);
	memcpy(qh + NFDSR_IP4_OFF_DADDR, &vip, 4);
	nfdsr_put16(qh + NFDSR_IP4_OFF_CHECK,
		    nfdsr_csum_replace4(nfdsr_get16(qh + NFDSR_IP4_OFF_CHECK),
					(__force u32)backend_ip, (__force u32)vip));
	memcpy(l4 + 2, &vport, 2);
	if (nfdsr_get16(l4 + 6)) { /* UDP checksum in use: undo the rewrite in it too */
		u16 c = nfdsr_csum_replace4(nfdsr_get16(l4 + 6), (__force u32)backend_ip,
					    (__force u32)vip);
		c = nfdsr_csum_replace2(c, (__force u16)backend_port, (__force u16)vport);
		nfdsr_put16(l4 + 6, c ? c : 0xffff);
	}

	fl4.daddr = iph->saddr;
	fl4.flowi4_proto = IPPROTO_ICMP;
	rt = ip_route_output_key(net, &fl4);
	if (IS_ERR(rt))
		return;

	nskb = alloc_skb(LL_MAX_HEADER + sizeof(*niph) + sizeof(*icmph) + qlen, GFP_ATOMIC);
	if (!nskb) {
		ip_rt_put(rt);
		return;
	}
	skb_reserve(nskb, LL_MAX_HEADER);
	skb_reset_network_header(nskb);
	niph = skb_put(nskb, sizeof(*niph));
	niph->version = 4;
	niph->ihl = 5;
	niph->tos = 0xc0; /* internetwork control, as icmp_send() uses */
	niph->tot_len = htons(sizeof(*niph) + sizeof(*icmph) + qlen);
	niph->id = 0;
	niph->frag_off = 0;
	niph->ttl = (u8)ip4_dst_hoplimit(&rt->dst);
	niph->protocol = IPPROTO_ICMP;
	niph->saddr = fl4.saddr;
	niph->daddr = iph->saddr;
	niph->check = 0;
	ip_send_check(niph);

	skb_set_transport_header(nskb, sizeof(*niph));
	icmph = skb_put(nskb, sizeof(*icmph));
	icmph->type = ICMP_DEST_UNREACH;
	icmph->code = ICMP_FRAG_NEEDED;
	icmph->un.frag.__unused = 0;
	icmph->un.frag.mtu = htons(mtu);
	icmph->checksum = 0;
	skb_put_data(nskb, qh, qlen);
	icmph->checksum = csum_fold(csum_partial(icmph, sizeof(*icmph) + qlen, 0));

	nskb->protocol = htons(ETH_P_IP);
	nskb->ip_summed = CHECKSUM_NONE;
	skb_dst_set(nskb, &rt->dst);
	if (ip_local_out(net, NULL, nskb) == 0)
		nfdsr_count(nn, NFDSR_CTR_ICMP_FRAG_SENT);
}
