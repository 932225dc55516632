/* SPDX-License-Identifier: MIT */
/*
 * nfdsr-udp-probe: send one UDP datagram and report what comes back.
 *
 *   nfdsr-udp-probe [--size N] [--df] [--ip-option HEX] [--src IP[:PORT]]
 *                   [--timeout MS] IP PORT
 *
 * Output (stdout), exit status:
 *   the reply payload                                           0
 *   ICMP_FRAG_NEEDED mtu=<n> offender=<ip> quoted_dst=<ip:port>   3
 *     (ICMPv4 3/4 or ICMPv6 packet-too-big, via IP_RECVERR; quoted_dst is
 *      the destination of the datagram the ICMP quoted, i.e. what the client
 *      kernel matched the error against)
 *   ICMP type=<t> code=<c> offender=<ip> quoted_dst=<ip:port>    4
 *   EMSGSIZE mtu=<path mtu known locally>                        5
 *   TIMEOUT                                                      1
 *   other errors (message on stderr)                             2
 * --df sets IP_PMTUDISC_DO (IPV6_PMTUDISC_DO), --ip-option sets raw
 * IP_OPTIONS bytes (e.g. 9a087f7b0a0aa8c0).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "probe_common.h"
#include <linux/errqueue.h>

static void usage(void)
{
	fprintf(stderr, "usage: nfdsr-udp-probe [--size N] [--df] [--ip-option HEX] [--src IP[:PORT]] "
			"[--timeout MS] IP PORT\n");
	exit(2);
}

static int report_err(int fd)
{
	char data[65536], cbuf[512], qa[80] = "?";
	struct sockaddr_storage orig;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr m = { .msg_name = &orig, .msg_namelen = sizeof(orig), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	memset(&orig, 0, sizeof(orig));
	if (recvmsg(fd, &m, MSG_ERRQUEUE) < 0)
		return -1;
	if (m.msg_namelen)
		pc_fmt_addr((struct sockaddr *)&orig, qa, sizeof(qa));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (!((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
		      (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
			continue;
		struct sock_extended_err ee;
		memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
		char off[80] = "?";
		struct sockaddr *oa = SO_EE_OFFENDER((struct sock_extended_err *)CMSG_DATA(cm));
		if (oa->sa_family == AF_INET || oa->sa_family == AF_INET6) {
			pc_fmt_addr(oa, off, sizeof(off));
			char *colon = strrchr(off, ':'); /* offender has no port */
			if (colon)
				*colon = 0;
			if (off[0] == '[') {
				memmove(off, off + 1, strlen(off));
				off[strlen(off) - 1] = 0;
			}
		}
		if (ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == 3 && ee.ee_code == 4) {
			printf("ICMP_FRAG_NEEDED mtu=%u offender=%s quoted_dst=%s\n", ee.ee_info, off, qa);
			return 3;
		}
		if (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == 2) {
			printf("ICMP_FRAG_NEEDED mtu=%u offender=%s quoted_dst=%s family=6\n", ee.ee_info, off, qa);
			return 3;
		}
		if (ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6) {
			printf("ICMP type=%u code=%u offender=%s quoted_dst=%s errno=%s\n", ee.ee_type, ee.ee_code,
			       off, qa, strerror((int)ee.ee_errno));
			return 4;
		}
		if (ee.ee_origin == SO_EE_ORIGIN_LOCAL && ee.ee_errno == EMSGSIZE) {
			printf("EMSGSIZE mtu=%u\n", ee.ee_info);
			return 5;
		}
		printf("ERROR origin=%u errno=%s\n", ee.ee_origin, strerror((int)ee.ee_errno));
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	size_t size = 64;
	int df = 0, timeout_ms = 3000;
	const char *opt_hex = NULL, *src = NULL;
	int i;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--df"))
			df = 1;
		else if (!strcmp(argv[i], "--ip-option") && i + 1 < argc)
			opt_hex = argv[++i];
		else if (!strcmp(argv[i], "--src") && i + 1 < argc)
			src = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_ms = atoi(argv[++i]);
		else
			usage();
	}
	if (argc - i != 2 || size > 65507)
		usage();
	struct sockaddr_storage dst;
	socklen_t dl;
	if (pc_parse_addr(argv[i], (unsigned)atoi(argv[i + 1]), &dst, &dl) < 0)
		usage();
	int v6 = dst.ss_family == AF_INET6, one = 1;
	int fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	if (v6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	}
	if (df) {
		int v = v6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
		if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER, &v,
			       sizeof(v)) < 0)
			perror("setsockopt MTU_DISCOVER");
	}
	if (opt_hex) {
		unsigned char opt[40];
		int ol = pc_parse_hex(opt_hex, opt, sizeof(opt));
		if (ol < 0 || v6) {
			fprintf(stderr, "bad --ip-option (hex, <= 40 bytes, IPv4 only)\n");
			return 2;
		}
		if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, (socklen_t)ol) < 0) {
			perror("setsockopt IP_OPTIONS");
			return 2;
		}
	}
	if (src && pc_bind_src(fd, src, v6, 0) < 0) {
		perror("bind --src");
		return 2;
	}
	if (connect(fd, (struct sockaddr *)&dst, dl) < 0) {
		perror("connect");
		return 2;
	}
	char *buf = calloc(1, size + 1);
	const char *tag = "nfdsr-udp-probe\n";
	memcpy(buf, tag, size < strlen(tag) ? size : strlen(tag));
	for (size_t k = strlen(tag); k < size; k++)
		buf[k] = 'x';
	if (send(fd, buf, size, 0) < 0) {
		if (errno == EMSGSIZE) {
			int mtu = 0;
			socklen_t ml = sizeof(mtu);
			getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &ml);
			printf("EMSGSIZE mtu=%d\n", mtu);
			return 5;
		}
		int rc = report_err(fd);
		if (rc >= 0)
			return rc;
		printf("ERROR send: %s\n", strerror(errno));
		return 2;
	}
	long long deadline = pc_now_ms() + timeout_ms;
	for (;;) {
		long long left = deadline - pc_now_ms();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0)
			break;
		if (p.revents & POLLERR) {
			int rc = report_err(fd);
			if (rc >= 0)
				return rc;
		}
		if (p.revents & POLLIN) {
			char rbuf[65536];
			ssize_t r = recv(fd, rbuf, sizeof(rbuf) - 1, MSG_DONTWAIT);
			if (r >= 0) {
				rbuf[r] = 0;
				fputs(rbuf, stdout);
				if (r > 0 && rbuf[r - 1] != '\n')
					putchar('\n');
				return 0;
			}
			if (errno != EAGAIN) {
				int rc = report_err(fd);
				if (rc >= 0)
					return rc;
				printf("ERROR recv: %s\n", strerror(errno));
				return 2;
			}
		}
	}
	printf("TIMEOUT\n");
	return 1;
}
