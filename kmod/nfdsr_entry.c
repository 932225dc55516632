// SPDX-License-Identifier: GPL-2.0
/*
 * Entry node: attach the DSR option to packets nftables marked.
 *
 * Runs in PREROUTING between nftables' classify chain (-300, which set the
 * mark) and its dispatch chain (-280, which rewrites the destination to the
 * chosen backend). At this point the header still names the service address
 * the client used, which is exactly what the option must carry; the address
 * comes from a packet nftables already matched against the configured
 * services, never from anything else in the packet.
 */
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/skbuff.h>
#include <linux/netfilter_ipv4.h>
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
 * nftables marks, for an entry service: TCP segments and UDP datagrams (they
 * get the option; TCP: see nfdsr_tcp_carries_option) and any packet with IP
 * options (to be checked here). A client never gets to send a DSR option
 * on: a packet to a service that already carries one (or whose option area
 * does not parse) is dropped and counted, whatever its flags, before
 * anything is attached. Returns the verdict.
 */
unsigned int nfdsr_entry_attach_hook(void *priv, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	struct nfdsr_net *nn = nfdsr_pernet(state->net);
	const struct nfdsr_config *cfg = rcu_dereference(nn->cfg);
	const struct iphdr *iph;
	u8 _l4[14];
	const u8 *l4;
	__be16 dport;
	unsigned int hlen, off;
	u8 *buf;

	if (!cfg || !(skb->mark & cfg->entry_mark))
		return NF_ACCEPT;

	iph = ip_hdr(skb);
	hlen = iph->ihl * 4;
	if ((iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP) ||
	    (iph->frag_off & htons(IP_OFFSET))) {
		/* nftables only marks TCP/UDP with ports (fragments were
		 * reassembled before); anything else is a foreign use of our
		 * mark bit: leave the packet alone. */
		skb->mark &= ~cfg->entry_mark;
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_ACCEPT;
	}
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
	if (iph->protocol == IPPROTO_TCP && !nfdsr_tcp_carries_option(iph, l4)) {
		skb->mark &= ~cfg->entry_mark;
		return NF_ACCEPT;
	}
	memcpy(&dport, l4 + 2, sizeof(dport));
	if (!nfdsr_ip4_opt_fits((const u8 *)iph)) {
		nfdsr_count(nn, NFDSR_CTR_OPT_NO_ROOM);
		if (iph->protocol == IPPROTO_TCP && !(l4[13] & TCPHDR_SYN)) {
			/* the SYN made the record: a later segment goes without */
			skb->mark &= ~cfg->entry_mark;
			return NF_ACCEPT;
		}
		return NF_DROP;
	}
	if (skb_ensure_writable(skb, hlen) || skb_cow_head(skb, NFDSR_OPT4_LEN)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_DROP;
	}
	iph = ip_hdr(skb);
	buf = skb_push(skb, NFDSR_OPT4_LEN);
	/* The header (checksum included) still sums to zero afterwards, so a
	 * CHECKSUM_COMPLETE skb->csum stays valid without adjustment. */
	nfdsr_ip4_opt_insert(buf, iph->daddr, dport);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, hlen + NFDSR_OPT4_LEN);
	nfdsr_count(nn, NFDSR_CTR_OPT_ADDED);
	/* The mark stays set: the ingress hook (-270) uses it to run the MTU
	 * check on what we attached, and clears it. */
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
