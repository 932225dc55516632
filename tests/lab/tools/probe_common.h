/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the nfdsr lab tools (addresses, hex, timeouts). */
#ifndef NFDSR_PROBE_COMMON_H
#define NFDSR_PROBE_COMMON_H

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* "1.2.3.4" or "2001:db8::1" + port -> sockaddr. 0 on success. */
static inline int pc_parse_addr(const char *ip, unsigned port, struct sockaddr_storage *ss,
				socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/*
 * --src IP[:PORT]: bind fd to it before connecting. For IPv6 (v6 != 0) the
 * whole string is the address (port 0). reuseaddr sets SO_REUSEADDR first.
 * 0 on success, -1 on a bad address or a failed bind (errno from bind).
 */
static inline int pc_bind_src(int fd, const char *src, int v6, int reuseaddr)
{
	char ip[64];
	unsigned sport = 0;
	snprintf(ip, sizeof(ip), "%s", src);
	char *c = strrchr(ip, ':');
	if (c && !v6) {
		*c = 0;
		sport = (unsigned)atoi(c + 1);
	}
	struct sockaddr_storage sa;
	socklen_t sl;
	if (reuseaddr) {
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (pc_parse_addr(ip, sport, &sa, &sl) < 0 || bind(fd, (struct sockaddr *)&sa, sl) < 0)
		return -1;
	return 0;
}

/* sockaddr -> "ip:port" ("[v6]:port"; v4-mapped v6 printed as v4). */
static inline const char *pc_fmt_addr(const struct sockaddr *sa, char *buf, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		snprintf(buf, n, "%s:%u", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			snprintf(buf, n, "%s:%u", ip, port);
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(buf, n, "[%s]:%u", ip, port);
		}
	} else {
		snprintf(buf, n, "?");
	}
	return buf;
}

/* "9a087f7b 0a0a:a8c0" -> bytes (spaces, ':' and '-' ignored). Returns length or -1. */
static inline int pc_parse_hex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		if (*p == ' ' || *p == ':' || *p == '-' || *p == '\t')
			continue;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && hi < 0) {
			p++;
			continue;
		}
		if (!isxdigit((unsigned char)*p))
			return -1;
		int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
		if (hi < 0) {
			hi = v;
		} else {
			if (n >= max)
				return -1;
			out[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? (int)n : -1;
}

static inline long long pc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
