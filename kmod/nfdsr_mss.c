// SPDX-License-Identifier: GPL-2.0
/*
 * TCP MSS option of SYNs and SYN-ACKs: read it, lower it. Used where the
 * path between an entry node and a backend is narrower than the client's
 * path (issue 8, "a narrower path between entry and backend"): the entry
 * node lowers the SYN's MSS to its route towards the backend, the backend
 * node lowers the SYN-ACK's MSS to what the SYN carried, so the client's
 * segments fit the narrower path without relying on ICMP (which would quote
 * a header the client never sent).
 */
#include <linux/tcp.h>
#include <linux/skbuff.h>
#include <net/checksum.h>
#include <net/tcp.h>

#include "nfdsr_internal.h"

/* Offset (from the TCP header) of the MSS option's value, or 0 if none.
 * Only header bytes that exist are read (skb_header_pointer). */
static unsigned int nfdsr_mss_offset(const struct sk_buff *skb, unsigned int thoff)
{
	u8 _hdr[60];
	const u8 *hdr;
	unsigned int len, i;
	const struct tcphdr *th;
	struct tcphdr _th;

	th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
	if (!th || th->doff < 5)
		return 0;
	len = th->doff * 4;
	if (len == sizeof(struct tcphdr))
		return 0;
	hdr = skb_header_pointer(skb, thoff, len, _hdr);
	if (!hdr)
		return 0;
	for (i = sizeof(struct tcphdr); i < len;) {
		u8 kind = hdr[i];

		if (kind == TCPOPT_EOL)
			return 0;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || hdr[i + 1] < 2 || i + hdr[i + 1] > len)
			return 0;
		if (kind == TCPOPT_MSS && hdr[i + 1] == TCPOLEN_MSS)
			return i + 2;
		i += hdr[i + 1];
	}
	return 0;
}

u16 nfdsr_tcp_mss_get(const struct sk_buff *skb, unsigned int thoff)
{
	unsigned int off = nfdsr_mss_offset(skb, thoff);
	__be16 _v;
	const __be16 *v;

	if (!off)
		return 0;
	v = skb_header_pointer(skb, thoff + off, sizeof(_v), &_v);
	return v ? ntohs(*v) : 0;
}

int nfdsr_tcp_mss_clamp(struct sk_buff *skb, unsigned int thoff, u16 max)
{
	unsigned int off = nfdsr_mss_offset(skb, thoff);
	struct tcphdr *th;
	__be16 *v, new;

	if (!off || !max)
		return 0;
	if (skb_ensure_writable(skb, thoff + off + sizeof(*v)))
		return -ENOMEM;
	th = (struct tcphdr *)(skb->data + thoff);
	v = (__be16 *)((u8 *)th + off);
	if (ntohs(*v) <= max)
		return 0;
	new = htons(max);
	/* The option is in the payload the checksum covers, not in the
	 * pseudo header: with CHECKSUM_PARTIAL nothing to update. */
	inet_proto_csum_replace2(&th->check, skb, *v, new, false);
	*v = new;
	return 1;
}
