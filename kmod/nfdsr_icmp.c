// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP errors about DSR flows, on the backend node (BRIEF §5a).
 *
 * Egress (POSTROUTING, from nfdsr_backend_egress_hook): an ICMP error that
 * leaves this node towards a client about a packet of a recorded flow
 * (destination unreachable: port unreachable from a pod, frag-needed from
 * this node's forwarding; time exceeded; parameter problem)
 * quotes the backend's address, which the client never talked to. It is
 * translated to what the client sent: quoted destination -> VIP:vport, and
 * the error's own source -> VIP, as IPVS-TUN and conntrack NAT do.
 *
 * Ingress (PREROUTING, from nfdsr_backend_ingress_hook): an ICMP error about
 * a reply (a router on the return path sends frag-needed to the service
 * address; an entry node relays it here, destination rewritten to the
 * backend) quotes VIP:vport -> client. It is translated to the backend's
 * own view, quoted source -> backend ip:port, so the backend's stack matches
 * it to its socket and caches the path MTU.
 *
 * Only quotes that match a recorded flow are touched; everything else keeps
 * its addresses. Every checksum stays right: the outer IP header's, the ICMP
 * checksum, and inside the quote the IP header checksum and the TCP/UDP
 * checksum (when the quote is long enough to hold it). The quote may be
 * truncated anywhere after the quoted ports: nothing past skb->len is read
 * or written.
 */
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/skbuff.h>
#include <linux/netfilter_ipv4.h>
#include <net/ip.h>
#include <net/checksum.h>

#include "nfdsr_internal.h"

/* What the error quotes: offsets are from skb->data (the outer IP header). */
struct nfdsr_icmp_quote {
	unsigned int icmp_off;  /* ICMP header */
	unsigned int qip_off;   /* quoted IP header */
	unsigned int ql4_off;   /* quoted TCP/UDP header */
	u8 proto;               /* quoted protocol: TCP or UDP */
	__be32 saddr, daddr;    /* quoted addresses */
	__be16 sport, dport;    /* quoted ports */
};

static bool nfdsr_icmp_is_error(u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

/*
 * Parse an unfragmented IPv4 ICMP error (skb->data at its IP header) whose
 * quote holds an IPv4 header and at least the 4 port bytes of a first TCP or
 * UDP fragment. Returns false for anything else.
 */
static bool nfdsr_icmp_parse(const struct sk_buff *skb, struct nfdsr_icmp_quote *q)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct iphdr _qiph;
	const struct iphdr *qiph;
	struct icmphdr _ih;
	const struct icmphdr *ih;
	__be16 _ports[2];
	const __be16 *ports;

	if (iph->frag_off & htons(IP_MF | IP_OFFSET))
		return false;
	q->icmp_off = iph->ihl * 4;
	ih = skb_header_pointer(skb, q->icmp_off, sizeof(_ih), &_ih);
	if (!ih || !nfdsr_icmp_is_error(ih->type))
		return false;
	q->qip_off = q->icmp_off + sizeof(struct icmphdr);
	qiph = skb_header_pointer(skb, q->qip_off, sizeof(_qiph), &_qiph);
	if (!qiph || qiph->version != 4 || qiph->ihl < 5 ||
	    (qiph->protocol != IPPROTO_TCP && qiph->protocol != IPPROTO_UDP) ||
	    (qiph->frag_off & htons(IP_OFFSET)))
		return false;
	q->ql4_off = q->qip_off + qiph->ihl * 4;
	ports = skb_header_pointer(skb, q->ql4_off, sizeof(_ports), _ports);
	if (!ports)
		return false;
	q->proto = qiph->protocol;
	q->saddr = qiph->saddr;
	q->daddr = qiph->daddr;
	q->sport = ports[0];
	q->dport = ports[1];
	return true;
}

/* Offset of the quoted TCP/UDP checksum if the quote holds it, else 0. */
static unsigned int nfdsr_icmp_quoted_l4check(const struct sk_buff *skb,
					      const struct nfdsr_icmp_quote *q)
{
	unsigned int off = q->ql4_off + (q->proto == IPPROTO_TCP ?
					 offsetof(struct tcphdr, check) :
					 offsetof(struct udphdr, check));

	return off + sizeof(__sum16) <= skb->len ? off : 0;
}

/*
 * Replace one quoted endpoint: the address at quoted-IP offset `addr_field`
 * (offsetof saddr or daddr) and the port at quoted-L4 offset `port_field`
 * (0 = source, 2 = destination) become addr:port (network byte order).
 * Fixes the quoted IP header checksum, the quoted TCP/UDP checksum (a UDP
 * checksum of 0 means "none" and stays 0) and the ICMP checksum. If
 * `outer_saddr` is non-zero, the error's own source address becomes it
 * (outer IP checksum fixed; ICMP has no pseudo-header). Returns false if
 * the header could not be made writable (nothing changed then).
 */
static bool nfdsr_icmp_rewrite(struct sk_buff *skb, const struct nfdsr_icmp_quote *q,
			       unsigned int addr_field, unsigned int port_field,
			       __be32 addr, __be16 port, __be32 outer_saddr)
{
	unsigned int l4c_off = nfdsr_icmp_quoted_l4check(skb, q);
	unsigned int end = max_t(unsigned int, q->ql4_off + port_field + 2, l4c_off ? l4c_off + 2 : 0);
	struct icmphdr *ih;
	struct iphdr *qiph;
	__be32 *qaddr, old_addr;
	__be16 *qport, old_port;
	__sum16 old_sum;

	if (skb_ensure_writable(skb, end))
		return false;
	ih = (struct icmphdr *)(skb->data + q->icmp_off);
	qiph = (struct iphdr *)(skb->data + q->qip_off);
	qaddr = (__be32 *)((u8 *)qiph + addr_field);
	qport = (__be16 *)(skb->data + q->ql4_off + port_field);
	old_addr = *qaddr;
	old_port = *qport;

	/* quoted IP header: address and its header checksum */
	old_sum = qiph->check;
	csum_replace4(&qiph->check, old_addr, addr);
	*qaddr = addr;
	inet_proto_csum_replace4(&ih->checksum, skb, old_addr, addr, false);
	inet_proto_csum_replace2(&ih->checksum, skb, (__force __be16)old_sum,
				 (__force __be16)qiph->check, false);

	/* quoted TCP/UDP checksum: pseudo-header address and the port */
	if (l4c_off) {
		__sum16 *l4c = (__sum16 *)(skb->data + l4c_off);

		old_sum = *l4c;
		if (q->proto == IPPROTO_TCP || old_sum) {
			csum_replace4(l4c, old_addr, addr);
			csum_replace2(l4c, old_port, port);
			if (q->proto == IPPROTO_UDP && !*l4c)
				*l4c = CSUM_MANGLED_0;
			inet_proto_csum_replace2(&ih->checksum, skb, (__force __be16)old_sum,
						 (__force __be16)*l4c, false);
		}
	}
	*qport = port;
	inet_proto_csum_replace2(&ih->checksum, skb, old_port, port, false);

	if (outer_saddr) {
		struct iphdr *iph = ip_hdr(skb);

		csum_replace4(&iph->check, iph->saddr, outer_saddr);
		iph->saddr = outer_saddr;
	}
	return true;
}

/*
 * Backend egress: `skb` is an IPv4 ICMP packet in POSTROUTING (skb->data at
 * its IP header). If it is an error towards a client about a packet of a
 * recorded flow (quoted client ip:port -> backend ip:port), the quote is
 * made to name the service (VIP:vport) and the error is sent from the VIP.
 * Returns the netfilter verdict.
 */
unsigned int nfdsr_icmp_egress(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
			       struct sk_buff *skb)
{
	struct nfdsr_flow_key key = {};
	struct nfdsr_icmp_quote q;
	struct nfdsr_flow *f;

	if (!nfdsr_icmp_parse(skb, &q) || ip_hdr(skb)->daddr != q.saddr ||
	    !nfdsr_bindings_has_backend_ip(&cfg->bindings, q.daddr))
		return NF_ACCEPT;
	key.proto = q.proto;
	key.client_ip = q.saddr;
	key.client_port = q.sport;
	key.backend_ip = q.daddr;
	key.backend_port = q.dport;
	f = nfdsr_flow_lookup(nn, cfg, &key);
	if (!f)
		return NF_ACCEPT;
	if (!nfdsr_icmp_rewrite(skb, &q, offsetof(struct iphdr, daddr), 2, f->vip, f->vport,
				f->vip)) {
		nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
		return NF_DROP; /* it would name the backend to the client */
	}
	nfdsr_count(nn, NFDSR_CTR_ICMP_ERROR_TRANSLATED);
	return NF_ACCEPT;
}

/*
 * Backend ingress: `skb` is an IPv4 ICMP packet in PREROUTING (skb->data at
 * its IP header, header length 20). If it is an error to a local backend
 * address quoting VIP:vport -> client of a recorded flow of that backend
 * (the entry node relayed it here), the quote is made to name the backend
 * (backend ip:port -> client), so the backend's stack finds its socket.
 * The outer addresses stay as they are. Returns the netfilter verdict.
 */
unsigned int nfdsr_icmp_ingress(struct nfdsr_net *nn, const struct nfdsr_config *cfg,
				struct sk_buff *skb)
{
	__be32 backend_ip = ip_hdr(skb)->daddr;
	const struct nfdsr_binding *b;
	struct nfdsr_icmp_quote q;
	u32 cursor = 0;

	if (!atomic_read(&nn->flows.count) ||
	    !nfdsr_bindings_has_backend_ip(&cfg->bindings, backend_ip) ||
	    !nfdsr_icmp_parse(skb, &q))
		return NF_ACCEPT;
	/* the service's bindings to this backend address give its port(s) */
	while ((b = nfdsr_bindings_next_backend(&cfg->bindings, q.proto, q.saddr, q.sport,
						backend_ip, &cursor))) {
		struct nfdsr_flow_key key = {
			.proto = q.proto,
			.client_ip = q.daddr,
			.client_port = q.dport,
			.backend_ip = backend_ip,
			.backend_port = b->backend_port,
		};
		struct nfdsr_flow *f = nfdsr_flow_lookup(nn, cfg, &key);

		if (!f || f->vip != q.saddr || f->vport != q.sport)
			continue;
		if (!nfdsr_icmp_rewrite(skb, &q, offsetof(struct iphdr, saddr), 0, backend_ip,
					b->backend_port, 0)) {
			nfdsr_count(nn, NFDSR_CTR_BAD_HEADER);
			return NF_DROP;
		}
		nfdsr_count(nn, NFDSR_CTR_ICMP_QUOTE_TRANSLATED);
		return NF_ACCEPT;
	}
	return NF_ACCEPT;
}
