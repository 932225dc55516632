/* SPDX-License-Identifier: MIT */
/*
 * nfdsr-tcp-probe: connect, send an HTTP GET, print the response.
 *
 *   nfdsr-tcp-probe [--ip-option HEX] [--src IP[:PORT]] [--path /] [--timeout MS] IP PORT
 *
 * --ip-option sets raw IP_OPTIONS bytes on the socket (all its packets carry
 * them), e.g. to forge a DSR option. Prints the whole response on stdout and
 * "local=<ip:port>" on stderr; exit 0 when a response arrived, 1 on timeout,
 * 2 on any other error ("ERROR <what>: <why>" on stdout).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "probe_common.h"

static void usage(void)
{
	fprintf(stderr, "usage: nfdsr-tcp-probe [--ip-option HEX] [--src IP[:PORT]] [--path P] "
			"[--timeout MS] IP PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int timeout_ms = 5000;
	const char *opt_hex = NULL, *src = NULL, *path = "/";
	int i;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (!strcmp(argv[i], "--ip-option") && i + 1 < argc)
			opt_hex = argv[++i];
		else if (!strcmp(argv[i], "--src") && i + 1 < argc)
			src = argv[++i];
		else if (!strcmp(argv[i], "--path") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_ms = atoi(argv[++i]);
		else
			usage();
	}
	if (argc - i != 2)
		usage();
	struct sockaddr_storage dst;
	socklen_t dl;
	if (pc_parse_addr(argv[i], (unsigned)atoi(argv[i + 1]), &dst, &dl) < 0)
		usage();
	int v6 = dst.ss_family == AF_INET6;
	int fd = socket(dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0) {
		printf("ERROR socket: %s\n", strerror(errno));
		return 2;
	}
	if (opt_hex) {
		unsigned char opt[40];
		int ol = pc_parse_hex(opt_hex, opt, sizeof(opt));
		if (ol < 0 || v6) {
			printf("ERROR --ip-option: hex, <= 40 bytes, IPv4 only\n");
			return 2;
		}
		if (setsockopt(fd, IPPROTO_IP, IP_OPTIONS, opt, (socklen_t)ol) < 0) {
			printf("ERROR setsockopt IP_OPTIONS: %s\n", strerror(errno));
			return 2;
		}
	}
	if (src && pc_bind_src(fd, src, v6, 1) < 0) {
		printf("ERROR bind %s: %s\n", src, strerror(errno));
		return 2;
	}
	long long deadline = pc_now_ms() + timeout_ms;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&dst, dl) < 0 && errno != EINPROGRESS) {
		printf("ERROR connect: %s\n", strerror(errno));
		return 2;
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	long long left = deadline - pc_now_ms();
	if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0) {
		printf("ERROR connect: timeout after %d ms\n", timeout_ms);
		return 1;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		printf("ERROR connect: %s\n", strerror(err));
		return 2;
	}
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	char la[80] = "?", host[80];
	if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
		pc_fmt_addr((struct sockaddr *)&me, la, sizeof(la));
	fprintf(stderr, "local=%s\n", la);
	pc_fmt_addr((struct sockaddr *)&dst, host, sizeof(host));

	char req[1024];
	int rl = snprintf(req, sizeof(req),
			  "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nfdsr-tcp-probe\r\nAccept: */*\r\n"
			  "Connection: close\r\n\r\n", path, host);
	if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) {
		printf("ERROR send: %s\n", strerror(errno));
		return 2;
	}
	size_t total = 0;
	char buf[16384];
	for (;;) {
		left = deadline - pc_now_ms();
		if (left <= 0) {
			printf("%sERROR read: timeout after %d ms (%zu bytes)\n", total ? "\n" : "", timeout_ms, total);
			return 1;
		}
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			printf("%sERROR read: %s\n", total ? "\n" : "", strerror(errno));
			return 2;
		}
		fwrite(buf, 1, (size_t)r, stdout);
		total += (size_t)r;
	}
	if (!total) {
		printf("ERROR read: connection closed without a response\n");
		return 2;
	}
	return 0;
}
