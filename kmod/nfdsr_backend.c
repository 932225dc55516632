// SPDX-License-Identifier: GPL-2.0
/*
 * Backend node: accept, strip and remember the DSR option (PREROUTING, after
 * nftables' dispatch), and rewrite replies of remembered flows (POSTROUTING).
 *
 * Security rule: an option is honoured only if the service it names is bound
 * (by configuration) to the backend the packet reached. A packet that
 * carries an unbound option towards one of our backends is dropped; it can
 * never make this node send as an address the operator did not configure.
 */
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/skbuff.h>
#include <linux/netfilter_ipv4.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/checksum.h>
#include <net/tcp.h>

#include <nfdsr/dsr_option.h>

#include "nfdsr_internal.h"

static void nfdsr_strip(struct sk_buff *skb, unsigned int opt_off)
{
	unsigned int hlen = ip_hdr(skb)->ihl * 4;

	/* As on attach, the header keeps summing to zero: skb->csum stays valid. */
	nfdsr_ip4_opt_remove(skb->data, opt_off);
	skb_pull(skb, NFDSR_OPT4_LEN);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, hlen - NFDSR_OPT4_LEN);
}

/*
 * What we attached must fit the route towards the backend (the destination
 * is the backend now; the mark selects the tunnel route for dispatch ipip):
 *  - UDP with DF that no longer fits: answer the client instead of letting
 *    the router quote the rewritten header; returns true (drop);
 *  - TCP SYN: lower its MSS to the route's MTU - 40, so that the backend
 *    (which caps its SYN-ACK to it, see the egress hook) makes the client
 *    send segments that fit a path narrower than the client's own;
 *  - any later TCP segment over 512 bytes that no longer fits (a connection
 *    from before a narrower route or a mode switch): the option comes off
 *    again and the segment goes without it (opt_unfit). Smaller segments
 *    (ACKs, requests) skip the route lookup: no IPv4 path is that narrow.
 * syn: the segment is a TCP SYN (false for UDP); seglen: bytes of one
 * segment on the wire, IP header included (for GSO: one of its segments).
 */
enum nfdsr_fit { NFDSR_FITS, NFDSR_FIT_DROP, NFDSR_FIT_STRIPPED };

static enum nfdsr_fit nfdsr_entry_fit_route(struct nfdsr_net *nn, struct sk_buff *skb,
					    unsigned int opt_off, bool syn, unsigned int seglen)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct flowi4 fl4 = {};
	struct rtable *rt;
	unsigned int mtu;
	bool udp_df = iph->protocol == IPPROTO_UDP && (iph->frag_off & htons(IP_DF)) &&
		      !skb_is_gso(skb);

	if (!udp_df && !syn && (iph->protocol != IPPROTO_TCP || seglen <= 512))
		return NFDSR_FITS;
	fl4.daddr = iph->daddr;
	fl4.flowi4_proto = iph->protocol;
	fl4.flowi4_mark = skb->mark;
	rt = ip_route_output_key(nn->net, &fl4);
	if (IS_ERR(rt))
		return NFDSR_FITS;
	mtu = dst_mtu(&rt->dst);
	ip_rt_put(rt);
	if (syn) {
		if (mtu > sizeof(struct iphdr) + sizeof(struct tcphdr) &&
		    nfdsr_tcp_mss_clamp(skb, iph->ihl * 4,
					mtu - sizeof(struct iphdr) - sizeof(struct tcphdr)) > 0)
			nfdsr_count(nn, NFDSR_CTR_SYN_MSS_CLAMPED);
		return NFDSR_FITS;
	}
	if (seglen <= mtu)
		return NFDSR_FITS;
	if (iph->protocol == IPPROTO_TCP) {
		if (skb_ensure_writable(skb, iph->ihl * 4)) {
			nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
			return NFDSR_FIT_DROP;
		}
		nfdsr_strip(skb, opt_off);
		nfdsr_count(nn, NFDSR_CTR_OPT_UNFIT);
		return NFDSR_FIT_STRIPPED;
	}
	nfdsr_entry_frag_needed(nn, skb, opt_off, mtu - NFDSR_OPT4_LEN);
	return NFDSR_FIT_DROP;
}

static void nfdsr_note_client_close(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				    struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct nfdsr_flow_key key = {};
	const struct tcphdr *th;
	struct tcphdr _th;
	struct nfdsr_flow *f;

	if (iph->frag_off & htons(IP_OFFSET))
		return;
	th = skb_header_pointer(skb, iph->ihl * 4, sizeof(_th), &_th);
	if (!th || !(th->fin || th->rst))
		return;
	key.proto = IPPROTO_TCP;
	key.client_ip = iph->saddr;
	key.client_port = th->source;
	key.backend_ip = iph->daddr;
	key.backend_port = th->dest;
	f = nfdsr_flow_lookup(nn, cfg, &key);
	if (f)
		nfdsr_flow_set_state(f, th->rst ? NFDSR_FLOW_RST : NFDSR_FLOW_CLIENT_FIN);
}

unsigned int nfdsr_backend_ingress_hook(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	struct nfdsr_net *nn = nfdsr_pernet(state->net);
	const struct nfdsr_config *cfg = rcu_dereference(nn->cfg);
	const struct iphdr *iph;
	struct nfdsr_flow_key key = {};
	u8 _l4[14], flags;
	__be16 sport = 0, dport = 0;
	unsigned int hlen, opt_off, seglen;
	bool attached_here, have_ports, syn = false;
	__be32 vip;
	__be16 vport;
	int res;

	if (!cfg)
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	attached_here = skb->mark & cfg->entry_mark;
	if (attached_here)
		skb->mark &= ~cfg->entry_mark;
	if (iph->protocol == IPPROTO_ICMP && iph->ihl == 5)
		return nfdsr_icmp_ingress(nn, cfg, skb); /* relayed error about a reply */
	if (iph->ihl == 5) {
		/* The common case: no options at all. A client's FIN half-closes
		 * its flow, a RST closes it. */
		if (iph->protocol == IPPROTO_TCP && atomic_read(&nn->flows.count))
			nfdsr_note_client_close(nn, cfg, skb);
		return NF_ACCEPT;
	}

	hlen = iph->ihl * 4;
	/* ip_rcv_core() already made hlen bytes linear and checked them. */
	res = nfdsr_opt4_find((const u8 *)iph + NFDSR_IP4_BASE_HDR, hlen - NFDSR_IP4_BASE_HDR,
			      &opt_off);
	if (res == NFDSR_OPT_ABSENT)
		return NF_ACCEPT;
	if (res != NFDSR_OPT_FOUND) {
		nfdsr_count(nn, NFDSR_CTR_OPT_MALFORMED);
		return NF_DROP;
	}

	/* ports and flags copied out: the MSS clamp below may move the data */
	have_ports = false;
	flags = 0;
	seglen = skb->len;
	if ((iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) &&
	    !(iph->frag_off & htons(IP_OFFSET))) {
		const u8 *l4 = skb_header_pointer(skb, hlen, iph->protocol == IPPROTO_TCP ? 14 : 4,
						  _l4);

		if (l4) {
			have_ports = true;
			memcpy(&sport, l4, sizeof(sport));
			memcpy(&dport, l4 + 2, sizeof(dport));
			if (iph->protocol == IPPROTO_TCP) {
				flags = l4[13];
				syn = (flags & (TCPHDR_SYN | TCPHDR_ACK | TCPHDR_RST | TCPHDR_FIN)) ==
				      TCPHDR_SYN;
				if (skb_is_gso(skb))
					seglen = hlen + (l4[12] >> 4) * 4 +
						 skb_shinfo(skb)->gso_size;
			}
		}
	}

	if (attached_here) {
		switch (nfdsr_entry_fit_route(nn, skb, opt_off, syn, seglen)) {
		case NFDSR_FIT_DROP:
			return NF_DROP;
		case NFDSR_FIT_STRIPPED:
			return NF_ACCEPT; /* on its way, without the option */
		case NFDSR_FITS:
			break;
		}
		iph = ip_hdr(skb); /* the MSS clamp may have moved the header */
	}

	nfdsr_opt4_decode((const u8 *)iph + NFDSR_IP4_BASE_HDR + opt_off, &vip, &vport);
	if (!have_ports || !nfdsr_bindings_match(&cfg->bindings, iph->protocol, vip, vport,
						 iph->daddr, dport)) {
		if (nfdsr_bindings_has_backend_ip(&cfg->bindings, iph->daddr)) {
			nfdsr_count(nn, NFDSR_CTR_OPT_REJECTED);
			return NF_DROP;
		}
		/* On its way to a backend on another node (we are its entry
		 * node or a router in between): not ours to judge. */
		nfdsr_count(nn, NFDSR_CTR_OPT_TRANSIT);
		return NF_ACCEPT;
	}

	key.proto = iph->protocol;
	key.client_ip = iph->saddr;
	key.client_port = sport;
	key.backend_ip = iph->daddr;
	key.backend_port = dport;

	if (iph->protocol == IPPROTO_TCP && !syn) {
		/* Entry nodes attach the option to later segments too (all but
		 * the body of a bulk send): it refreshes the flow, re-creates a
		 * record that is gone, and never re-points one. A RST makes no
		 * record; other segments one in the state they imply. */
		struct nfdsr_flow *f;

		if (flags & (TCPHDR_SYN | TCPHDR_RST)) {
			f = nfdsr_flow_lookup(nn, cfg, &key);
			if (f && (f->vip != vip || f->vport != vport)) {
				nfdsr_count(nn, NFDSR_CTR_OPT_MISMATCH);
				return NF_DROP;
			}
			if (f && (flags & TCPHDR_RST))
				nfdsr_flow_set_state(f, NFDSR_FLOW_RST);
		} else {
			res = nfdsr_flow_record(nn, cfg, &key, vip, vport, 0,
						NFDSR_FLOW_REPLIED |
						((flags & TCPHDR_FIN) ? NFDSR_FLOW_CLIENT_FIN : 0));
			if (res == NFDSR_FLOW_CONFLICT) {
				nfdsr_count(nn, NFDSR_CTR_OPT_MISMATCH);
				return NF_DROP;
			}
			if (res == NFDSR_FLOW_NO_ROOM)
				return NF_DROP;
			if (flags & TCPHDR_FIN) {
				f = nfdsr_flow_lookup(nn, cfg, &key);
				if (f)
					nfdsr_flow_set_state(f, NFDSR_FLOW_CLIENT_FIN);
			}
		}
	} else if (nfdsr_flow_record(nn, cfg, &key, vip, vport,
				     syn ? nfdsr_tcp_mss_get(skb, hlen) : 0, 0) !=
		   NFDSR_FLOW_RECORDED) {
		/* No record, no rewritten replies: drop rather than let the
		 * backend answer as itself (the client retries; counted by the
		 * flow table). */
		return NF_DROP;
	}
	if (skb_ensure_writable(skb, hlen)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_DROP;
	}
	nfdsr_strip(skb, opt_off);
	nfdsr_count(nn, NFDSR_CTR_OPT_STRIPPED);
	return NF_ACCEPT;
}

static void nfdsr_rewrite_source(struct sk_buff *skb, __sum16 *l4check, bool udp,
				 __be32 vip, __be16 vport)
{
	struct iphdr *iph = ip_hdr(skb);
	__be16 *sport = (__be16 *)skb_transport_header(skb);

	if (l4check && (!udp || *l4check || skb->ip_summed == CHECKSUM_PARTIAL)) {
		inet_proto_csum_replace4(l4check, skb, iph->saddr, vip, true);
		inet_proto_csum_replace2(l4check, skb, *sport, vport, false);
		if (udp && !*l4check)
			*l4check = CSUM_MANGLED_0;
	}
	iph->check = (__force __sum16)nfdsr_csum_replace4((__force u16)iph->check,
							  (__force u32)iph->saddr,
							  (__force u32)vip);
	iph->saddr = vip;
	*sport = vport;
}

/*
 * A bound backend answers a segment of a connection it does not know (no
 * flow record here: the connection was opened on another backend and moved
 * here by a backend change, weight 0 or a failed health check) with a RST
 * without ACK (the stack's reply to an unknown segment with ACK; an abort
 * carries ACK). Left alone it would leave as the backend and the client
 * would ignore it and stall: send it as each service address bound to the
 * backend (the configuration decides which; the client accepts the one of
 * its connection and drops the others, as it drops any RST it cannot match).
 * At most NFDSR_RST_SERVICES_MAX copies. Cost: only such resets.
 */
#define NFDSR_RST_SERVICES_MAX 8u

static unsigned int nfdsr_unrecorded_reset(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
					   struct sk_buff *skb, const struct nf_hook_state *state,
					   const struct nfdsr_flow_key *key)
{
	const struct nfdsr_svc_addr *svcs;
	unsigned int hlen = ip_hdr(skb)->ihl * 4;
	u32 n, i;

	n = nfdsr_bindings_services_of(&cfg->bindings, IPPROTO_TCP, key->backend_ip,
				       key->backend_port, &svcs);
	if (!n)
		return NF_ACCEPT; /* not a backend of ours: its own traffic */
	n = min(n, NFDSR_RST_SERVICES_MAX);
	if (skb_ensure_writable(skb, hlen + sizeof(struct tcphdr))) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_DROP;
	}
	skb_set_transport_header(skb, hlen);
	for (i = 1; i < n; i++) {
		struct sk_buff *nskb = skb_copy(skb, GFP_ATOMIC);

		if (!nskb)
			break;
		nfdsr_rewrite_source(nskb, &tcp_hdr(nskb)->check, false, svcs[i].vip, svcs[i].vport);
		nfdsr_count(nn, NFDSR_CTR_RST_UNRECORDED);
		state->okfn(state->net, state->sk, nskb);
	}
	nfdsr_rewrite_source(skb, &tcp_hdr(skb)->check, false, svcs[0].vip, svcs[0].vport);
	nfdsr_count(nn, NFDSR_CTR_RST_UNRECORDED);
	return NF_ACCEPT;
}

unsigned int nfdsr_backend_egress_hook(void *priv, struct sk_buff *skb,
				       const struct nf_hook_state *state)
{
	struct nfdsr_net *nn = nfdsr_pernet(state->net);
	const struct nfdsr_config *cfg = rcu_dereference(nn->cfg);
	struct nfdsr_flow_key key = {};
	const struct iphdr *iph;
	struct nfdsr_flow *f;
	unsigned int hlen, l4len;
	struct tcphdr _th;
	const struct tcphdr *th;
	__sum16 *check;
	bool synack;

	if (!cfg || !cfg->bindings.count)
		return NF_ACCEPT;
	iph = ip_hdr(skb);
	if (iph->protocol == IPPROTO_ICMP)
		return nfdsr_icmp_egress(nn, cfg, skb); /* error about a DSR flow */
	if ((iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP) ||
	    (iph->frag_off & htons(IP_OFFSET)))
		return NF_ACCEPT;
	hlen = iph->ihl * 4;
	l4len = iph->protocol == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	th = skb_header_pointer(skb, hlen, l4len, &_th);
	if (!th)
		return NF_ACCEPT;

	key.proto = iph->protocol;
	key.client_ip = iph->daddr;
	key.client_port = th->dest;
	key.backend_ip = iph->saddr;
	key.backend_port = th->source;
	f = atomic_read(&nn->flows.count) ? nfdsr_flow_lookup(nn, cfg, &key) : NULL;
	if (!f) {
		if (iph->protocol == IPPROTO_TCP && th->rst && !th->ack)
			return nfdsr_unrecorded_reset(nn, cfg, skb, state, &key);
		return NF_ACCEPT;
	}

	WRITE_ONCE(f->last_seen, jiffies);
	synack = iph->protocol == IPPROTO_TCP && th->syn && th->ack;
	if (iph->protocol == IPPROTO_TCP) {
		u8 bits = th->syn ? 0 : NFDSR_FLOW_REPLIED;

		if (th->fin)
			bits |= NFDSR_FLOW_BACKEND_FIN;
		if (th->rst)
			bits |= NFDSR_FLOW_RST;
		if (bits)
			nfdsr_flow_set_state(f, bits);
	} else {
		nfdsr_flow_set_state(f, NFDSR_FLOW_REPLIED);
	}

	if (skb_ensure_writable(skb, hlen + l4len)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_DROP;
	}
	skb_set_transport_header(skb, hlen);
	if (synack) {
		/* the SYN-ACK offers at most the MSS the SYN arrived with
		 * (lowered by the entry node to its path towards us), less the
		 * option that the client's later segments carry through the
		 * entry node: they fit with it */
		u8 mss8 = READ_ONCE(f->syn_mss8);

		if (mss8 > NFDSR_OPT4_LEN / 8 &&
		    nfdsr_tcp_mss_clamp(skb, hlen, mss8 * 8 - NFDSR_OPT4_LEN) > 0)
			nfdsr_count(nn, NFDSR_CTR_SYNACK_MSS_CLAMPED);
	}
	if (key.proto == IPPROTO_TCP)
		check = &tcp_hdr(skb)->check;
	else
		check = &udp_hdr(skb)->check;
	nfdsr_rewrite_source(skb, check, key.proto == IPPROTO_UDP, f->vip, f->vport);
	nfdsr_count(nn, NFDSR_CTR_REPLY_REWRITTEN);
	return NF_ACCEPT;
}
