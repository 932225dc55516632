/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * DSR IPv4 option: encode, find, insert, remove, and the checksum arithmetic
 * that goes with it. Pure functions on byte buffers, shared verbatim by the
 * kernel module and userspace (unit tests, fuzzer, benchmarks, trace tool).
 *
 * Wire format (Cilium compatible, BRIEF §3):
 *   byte 0   type 0x9a (copy flag | class 0 | number 26)
 *   byte 1   length 8
 *   byte 2-3 service port, byte-swapped relative to network order
 *   byte 4-7 service IPv4 address, byte-swapped relative to network order
 * Cilium stores ntohs(port)/ntohl(addr) in a packed struct on little-endian
 * hosts; we write the same bytes on any host by reversing byte by byte.
 *
 * Addresses and ports are passed as they sit in packet headers (__be32 /
 * __be16), checksums as the 16-bit field as stored in the packet.
 */
#ifndef NFDSR_DSR_OPTION_H
#define NFDSR_DSR_OPTION_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#else
#include <linux/types.h>
#include <string.h>
#endif

#define NFDSR_OPT4_TYPE 0x9a
#define NFDSR_OPT4_LEN 8
#define NFDSR_IP4_BASE_HDR 20
#define NFDSR_IP4_MAX_HDR 60

/* IPv4 header field offsets (avoid depending on struct iphdr layout here). */
#define NFDSR_IP4_OFF_VIHL 0
#define NFDSR_IP4_OFF_TOTLEN 2
#define NFDSR_IP4_OFF_CHECK 10
#define NFDSR_IP4_OFF_SADDR 12
#define NFDSR_IP4_OFF_DADDR 16

enum nfdsr_opt_result {
	NFDSR_OPT_FOUND = 0,
	NFDSR_OPT_ABSENT = 1,
	NFDSR_OPT_MALFORMED = -1, /* option area is not a valid TLV list */
	NFDSR_OPT_BAD_LENGTH = -2, /* our type with a length other than 8 */
};

/* Write the 8 option bytes for service vip:vport. */
static inline void nfdsr_opt4_encode(__u8 out[NFDSR_OPT4_LEN], __be32 vip, __be16 vport)
{
	const __u8 *a = (const __u8 *)&vip;
	const __u8 *p = (const __u8 *)&vport;

	out[0] = NFDSR_OPT4_TYPE;
	out[1] = NFDSR_OPT4_LEN;
	out[2] = p[1];
	out[3] = p[0];
	out[4] = a[3];
	out[5] = a[2];
	out[6] = a[1];
	out[7] = a[0];
}

/* Read vip:vport from the 8 option bytes (type/length already checked). */
static inline void nfdsr_opt4_decode(const __u8 in[NFDSR_OPT4_LEN], __be32 *vip, __be16 *vport)
{
	__u8 *a = (__u8 *)vip;
	__u8 *p = (__u8 *)vport;

	p[0] = in[3];
	p[1] = in[2];
	a[0] = in[7];
	a[1] = in[6];
	a[2] = in[5];
	a[3] = in[4];
}

/*
 * Walk the options area (opts, len = ihl*4 - 20) as RFC 791 TLVs and find the
 * DSR option. On NFDSR_OPT_FOUND, *offset is its offset inside opts.
 */
static inline int nfdsr_opt4_find(const __u8 *opts, unsigned int len, unsigned int *offset)
{
	unsigned int i = 0;

	while (i < len) {
		__u8 type = opts[i];
		__u8 olen;

		if (type == 0) /* end of option list */
			return NFDSR_OPT_ABSENT;
		if (type == 1) { /* no-op */
			i++;
			continue;
		}
		if (i + 1 >= len)
			return NFDSR_OPT_MALFORMED;
		olen = opts[i + 1];
		if (olen < 2 || olen > len - i)
			return NFDSR_OPT_MALFORMED;
		if (type == NFDSR_OPT4_TYPE) {
			if (olen != NFDSR_OPT4_LEN)
				return NFDSR_OPT_BAD_LENGTH;
			*offset = i;
			return NFDSR_OPT_FOUND;
		}
		i += olen;
	}
	return NFDSR_OPT_ABSENT;
}

/* Ones' complement helpers (RFC 1071 / RFC 1624), endian-neutral. */
static inline __u16 nfdsr_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Sum of 16-bit words as stored in memory (len even). */
static inline __u32 nfdsr_csum_words(const __u8 *buf, unsigned int len, __u32 sum)
{
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2) {
		__u16 w;

		memcpy(&w, buf + i, 2);
		sum += w;
	}
	return sum;
}

/* IPv4 header checksum of hdr (ihl*4 bytes) with its checksum field as 0. */
static inline __u16 nfdsr_ip4_hdr_csum(const __u8 *hdr, unsigned int hdrlen)
{
	__u32 sum = nfdsr_csum_words(hdr, NFDSR_IP4_OFF_CHECK, 0);

	sum = nfdsr_csum_words(hdr + NFDSR_IP4_OFF_CHECK + 2,
			       hdrlen - NFDSR_IP4_OFF_CHECK - 2, sum);
	return (__u16)~nfdsr_csum_fold(sum);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field change. */
static inline __u16 nfdsr_csum_replace2(__u16 check, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~from;
	sum += to;
	return (__u16)~nfdsr_csum_fold(sum);
}

/* Same for a 32-bit field (e.g. an address in the pseudo header). */
static inline __u16 nfdsr_csum_replace4(__u16 check, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~(__u16)(from & 0xffff);
	sum += (__u16)~(__u16)(from >> 16);
	sum += (__u16)(to & 0xffff);
	sum += (__u16)(to >> 16);
	return (__u16)~nfdsr_csum_fold(sum);
}

static inline __u16 nfdsr_get16(const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return v;
}

static inline void nfdsr_put16(__u8 *p, __u16 v)
{
	memcpy(p, &v, 2);
}

/* Host-independent helpers for the big-endian 16-bit tot_len field. */
static inline unsigned int nfdsr_ip4_tot_len(const __u8 *hdr)
{
	return ((unsigned int)hdr[NFDSR_IP4_OFF_TOTLEN] << 8) | hdr[NFDSR_IP4_OFF_TOTLEN + 1];
}

static inline void nfdsr_ip4_set_tot_len(__u8 *hdr, unsigned int tot_len)
{
	hdr[NFDSR_IP4_OFF_TOTLEN] = (__u8)(tot_len >> 8);
	hdr[NFDSR_IP4_OFF_TOTLEN + 1] = (__u8)tot_len;
}

/* Room for the option: current header length plus 8 must stay <= 60. */
static inline int nfdsr_ip4_opt_fits(const __u8 *hdr)
{
	return (unsigned int)(hdr[0] & 0x0f) * 4 + NFDSR_OPT4_LEN <= NFDSR_IP4_MAX_HDR;
}

/*
 * Insert the option as the first option. `buf` points 8 bytes before the
 * current IPv4 header (the caller made that room, e.g. skb_push); on return
 * the new header starts at buf. Existing options stay where they are in
 * memory and end up after ours. Caller checked nfdsr_ip4_opt_fits().
 * Only the IP header checksum changes: L4 checksums do not cover options.
 */
static inline void nfdsr_ip4_opt_insert(__u8 *buf, __be32 vip, __be16 vport)
{
	__u8 *hdr = buf;

	memmove(hdr, buf + NFDSR_OPT4_LEN, NFDSR_IP4_BASE_HDR);
	nfdsr_opt4_encode(hdr + NFDSR_IP4_BASE_HDR, vip, vport);
	hdr[0] = (__u8)((hdr[0] & 0xf0) | ((hdr[0] & 0x0f) + NFDSR_OPT4_LEN / 4));
	nfdsr_ip4_set_tot_len(hdr, nfdsr_ip4_tot_len(hdr) + NFDSR_OPT4_LEN);
	nfdsr_put16(hdr + NFDSR_IP4_OFF_CHECK, 0);
	nfdsr_put16(hdr + NFDSR_IP4_OFF_CHECK, nfdsr_ip4_hdr_csum(hdr, (hdr[0] & 0x0f) * 4u));
}

/*
 * Remove the 8-byte option that starts at `opt_off` bytes into the options
 * area of the header at `hdr`. Everything before the option moves 8 bytes
 * towards the payload; the new header starts at hdr + 8 (returned).
 */
static inline __u8 *nfdsr_ip4_opt_remove(__u8 *hdr, unsigned int opt_off)
{
	__u8 *nh = hdr + NFDSR_OPT4_LEN;

	memmove(nh, hdr, NFDSR_IP4_BASE_HDR + opt_off);
	nh[0] = (__u8)((nh[0] & 0xf0) | ((nh[0] & 0x0f) - NFDSR_OPT4_LEN / 4));
	nfdsr_ip4_set_tot_len(nh, nfdsr_ip4_tot_len(nh) - NFDSR_OPT4_LEN);
	nfdsr_put16(nh + NFDSR_IP4_OFF_CHECK, 0);
	nfdsr_put16(nh + NFDSR_IP4_OFF_CHECK, nfdsr_ip4_hdr_csum(nh, (nh[0] & 0x0f) * 4u));
	return nh;
}

#endif /* NFDSR_DSR_OPTION_H */
