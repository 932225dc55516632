/* SPDX-License-Identifier: MIT */
/*
 * nfdsr-whoami: a tiny traefik/whoami work-alike for the nfdsr lab.
 *
 *   nfdsr-whoami [--port P] [--bind IP] [--name NAME]     HTTP/1.1 on TCP (default 80)
 *   nfdsr-whoami --udp P [--bind IP] [--name NAME]        UDP echo of the same facts
 *
 * HTTP answer body (text/plain):
 *   Hostname: <gethostname() or --name>
 *   IP: <each local address>
 *   RemoteAddr: <client ip>:<port>
 *   LocalAddr: <address:port the connection was accepted on>
 *   <request line and headers, as received>
 * GET /bytes/N answers N bytes of a repeating pattern instead (bulk
 * downloads: PMTU, large replies).
 * One request per connection (Connection: close); a child process per
 * connection, so concurrent clients are fine. UDP: each datagram is answered
 * from the address it was sent to (IP_PKTINFO), with Hostname/IP/RemoteAddr/
 * LocalAddr and "Size: <bytes received>".
 */
#define _GNU_SOURCE
#include <ifaddrs.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe_common.h"

static char g_name[256];

static size_t local_ips(char *buf, size_t n)
{
	struct ifaddrs *ifa, *i;
	size_t off = 0;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		char ip[INET6_ADDRSTRLEN];
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip, sizeof(ip));
		else if (i->ifa_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, ip, sizeof(ip));
		else
			continue;
		int w = snprintf(buf + off, n - off, "IP: %s\n", ip);
		if (w < 0 || (size_t)w >= n - off)
			break;
		off += (size_t)w;
	}
	freeifaddrs(ifa);
	return off;
}

static int listen_on(int family, int type, const char *bind_ip, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	if (bind_ip) {
		if (pc_parse_addr(bind_ip, port, &ss, &len) < 0 || ss.ss_family != family)
			return -1;
	} else {
		memset(&ss, 0, sizeof(ss));
		if (family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			s4->sin_port = htons((unsigned short)port);
			len = sizeof(*s4);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((unsigned short)port);
			len = sizeof(*s6);
		}
	}
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		if (family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* the whole buffer, or -1 */
static int write_all(int c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(c, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* GET /bytes/N: N bytes of "0123456789abcdef..." */
static int serve_bytes(int c, unsigned long long n)
{
	char hdr[256], chunk[16384];
	int hl = snprintf(hdr, sizeof(hdr),
			  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			  "Content-Length: %llu\r\nConnection: close\r\n\r\n", n);
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = "0123456789abcdef"[i % 16];
	if (write_all(c, hdr, (size_t)hl) < 0)
		return -1;
	while (n) {
		size_t k = n < sizeof(chunk) ? (size_t)n : sizeof(chunk);
		if (write_all(c, chunk, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static void serve_http(int c)
{
	char req[8192];
	size_t got = 0;
	long long deadline = pc_now_ms() + 10000;
	while (got < sizeof(req) - 1) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		long long left = deadline - pc_now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = read(c, req + got, sizeof(req) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = 0;
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[got] = 0;
	char *end = strstr(req, "\r\n\r\n");
	if (end)
		end[2] = 0;
	unsigned long long nbytes;
	int bulk = sscanf(req, "GET /bytes/%llu ", &nbytes) == 1;

	struct sockaddr_storage peer, local;
	socklen_t pl = sizeof(peer), ll = sizeof(local);
	char pa[80] = "?", la[80] = "?";
	if (getpeername(c, (struct sockaddr *)&peer, &pl) == 0)
		pc_fmt_addr((struct sockaddr *)&peer, pa, sizeof(pa));
	if (getsockname(c, (struct sockaddr *)&local, &ll) == 0)
		pc_fmt_addr((struct sockaddr *)&local, la, sizeof(la));

	char body[16384];
	size_t off = (size_t)snprintf(body, sizeof(body), "Hostname: %s\n", g_name);
	off += local_ips(body + off, sizeof(body) - off);
	off += (size_t)snprintf(body + off, sizeof(body) - off, "RemoteAddr: %s\nLocalAddr: %s\n", pa, la);
	/* request line + headers, CRLF -> LF */
	for (char *p = req; *p && off < sizeof(body) - 2; p++)
		if (*p != '\r')
			body[off++] = *p;
	body[off] = 0;

	char hdr[256];
	int hl = snprintf(hdr, sizeof(hdr),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n", off);
	if (bulk ? serve_bytes(c, nbytes) < 0
		 : write(c, hdr, (size_t)hl) < 0 || write(c, body, off) < 0)
		perror("nfdsr-whoami: write");
	shutdown(c, SHUT_WR);
	/* drain until the client closes, so our FIN is not turned into a RST */
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			break;
		if (read(c, req, sizeof(req)) <= 0)
			break;
	}
	close(c);
}

static void serve_udp(int fd)
{
	char buf[65536], cbuf[256];
	struct sockaddr_storage peer;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = { .msg_name = &peer, .msg_namelen = sizeof(peer), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t r = recvmsg(fd, &m, 0);
	if (r < 0)
		return;
	char pa[80], la[80] = "?", ip[INET6_ADDRSTRLEN];
	pc_fmt_addr((struct sockaddr *)&peer, pa, sizeof(pa));
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	unsigned port = 0;
	if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
		port = ntohs(((struct sockaddr_in *)&me)->sin_port); /* same offset for v6 */

	/* answer from the destination address of the request */
	char ocbuf[256];
	size_t oclen = 0;
	memset(ocbuf, 0, sizeof(ocbuf));
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			inet_ntop(AF_INET, &pi.ipi_addr, ip, sizeof(ip));
			snprintf(la, sizeof(la), "%s:%u", ip, port);
			struct cmsghdr *o = (struct cmsghdr *)ocbuf;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			pi.ipi_ifindex = 0;
			pi.ipi_spec_dst = pi.ipi_addr;
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			oclen = CMSG_SPACE(sizeof(pi));
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			inet_ntop(AF_INET6, &pi.ipi6_addr, ip, sizeof(ip));
			snprintf(la, sizeof(la), "[%s]:%u", ip, port);
			struct cmsghdr *o = (struct cmsghdr *)ocbuf;
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			pi.ipi6_ifindex = 0;
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			oclen = CMSG_SPACE(sizeof(pi));
		}
	}
	char out[8192];
	size_t off = (size_t)snprintf(out, sizeof(out), "Hostname: %s\n", g_name);
	off += local_ips(out + off, sizeof(out) - off);
	off += (size_t)snprintf(out + off, sizeof(out) - off, "RemoteAddr: %s\nLocalAddr: %s\nSize: %zd\n",
				pa, la, r);
	struct iovec oiov = { .iov_base = out, .iov_len = off };
	struct msghdr om = { .msg_name = &peer, .msg_namelen = m.msg_namelen, .msg_iov = &oiov,
			     .msg_iovlen = 1, .msg_control = oclen ? ocbuf : NULL, .msg_controllen = oclen };
	if (sendmsg(fd, &om, 0) < 0)
		perror("nfdsr-whoami: sendmsg");
}

static void usage(void)
{
	fprintf(stderr, "usage: nfdsr-whoami [--port P | --udp P] [--bind IP] [--name NAME]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned port = 80;
	int udp = 0;
	const char *bind_ip = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			port = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--udp") && i + 1 < argc) {
			udp = 1;
			port = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--bind") && i + 1 < argc) {
			bind_ip = argv[++i];
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			snprintf(g_name, sizeof(g_name), "%s", argv[++i]);
		} else {
			usage();
		}
	}
	if (!g_name[0] && gethostname(g_name, sizeof(g_name) - 1) < 0)
		snprintf(g_name, sizeof(g_name), "unknown");
	signal(SIGCHLD, SIG_IGN); /* auto-reap connection children */
	signal(SIGPIPE, SIG_IGN);

	int type = udp ? SOCK_DGRAM : SOCK_STREAM;
	struct pollfd fds[2];
	int n = 0;
	struct sockaddr_storage tmp;
	socklen_t tl;
	int fam = bind_ip && pc_parse_addr(bind_ip, 0, &tmp, &tl) == 0 ? tmp.ss_family : 0;
	if (fam == 0 || fam == AF_INET) {
		int fd = listen_on(AF_INET, type, bind_ip, port);
		if (fd >= 0)
			fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	if (fam == 0 || fam == AF_INET6) {
		int fd = listen_on(AF_INET6, type, bind_ip, port);
		if (fd >= 0)
			fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	if (n == 0) {
		fprintf(stderr, "nfdsr-whoami: cannot listen on %s port %u: %s\n", udp ? "udp" : "tcp", port,
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "nfdsr-whoami: %s listening on %s port %u\n", g_name, udp ? "udp" : "tcp", port);
	for (;;) {
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			if (udp) {
				serve_udp(fds[i].fd);
				continue;
			}
			int c = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pid_t pid = fork();
			if (pid == 0) {
				for (int j = 0; j < n; j++)
					close(fds[j].fd);
				serve_http(c);
				_exit(0);
			}
			if (pid < 0) /* no fork: serve inline */
				serve_http(c);
			else
				close(c);
		}
	}
}
