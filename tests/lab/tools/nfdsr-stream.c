/* SPDX-License-Identifier: MIT */
/*
 * nfdsr-stream: long-lived TCP streams that check every byte, both ways.
 *
 *   nfdsr-stream server [--port P] [--bind IP] [--discard | --udp]
 *   nfdsr-stream client [--conns N] [--duration S] [--bytes B] [--rate BPS]
 *                       [--stall S] [--chunk B] [--label L] IP PORT
 *   nfdsr-stream bench bulk|tcp-rr|udp-rr [--duration S] [--size B] [--timeout MS] IP PORT
 *
 * server: echoes every byte it reads back on the same connection (poll loop,
 * any number of connections; a connection ends when the client shuts its side).
 *
 * client: opens N connections to IP:PORT, then for --duration seconds (or until
 * --bytes per connection are sent, or until SIGUSR1) writes a deterministic byte pattern on each
 * (at most --rate bytes/s per connection; 0 = as fast as possible) and checks
 * that the echo returns exactly the bytes written, in order. Then it shuts its
 * sending side down and waits for the rest of the echo and the server's FIN.
 * Per connection it reports bytes sent/verified, resets (ECONNRESET, EPIPE,
 * ETIMEDOUT, ...), stalls (bytes outstanding but no progress for more than
 * --stall seconds; time in which the client itself was not scheduled, as
 * happens to a TCG VM on a busy host, is not counted) and mismatches. Exit 0 only if every connection got all its
 * bytes back with no reset, stall or mismatch; 1 otherwise; 2 on usage errors.
 * Output: one "conn ..." line per connection, then
 *   "total: conns=N ok=N sent=B verified=B resets=0 stalls=0 mismatches=0 short=0"
 * A progress line goes to stderr every second.
 *
 * server --discard: read and drop everything (no echo), close on the client's
 * FIN. server --udp: UDP echo; each datagram goes back from the address it was
 * sent to (IP_PKTINFO), so a VIP on lo (IPVS tunnel real server) works.
 *
 * bench (measurements for bench/run; one line on stdout, exit 0 when ops > 0):
 *   bulk    one TCP connection to a --discard server: write as fast as possible
 *           for --duration, shut down, wait for the server's FIN (so every byte
 *           counted was read by the server); rate = bytes / seconds
 *   tcp-rr  sequential short connections to an echo server: connect, send
 *           --size bytes (default 32), read them back, close; rate = conns/s
 *   udp-rr  request/response on one UDP socket to a --udp echo server, one
 *           datagram of --size bytes in flight; a reply missing after
 *           --timeout ms (default 1000) counts as an error; rate = replies/s
 *   output: "bench mode=M ops=N seconds=S rate=R errors=E [first_error=WHAT: WHY]"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "probe_common.h"

static void usage(void)
{
	fprintf(stderr, "usage: nfdsr-stream server [--port P] [--bind IP] [--discard | --udp]\n"
			"       nfdsr-stream client [--conns N] [--duration S] [--bytes B] [--rate BPS]\n"
			"                           [--stall S] [--chunk B] [--label L] IP PORT\n"
			"       nfdsr-stream bench bulk|tcp-rr|udp-rr [--duration S] [--size B] [--timeout MS]\n"
			"                          IP PORT\n");
	exit(2);
}

static volatile sig_atomic_t g_stop;
static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* byte i of connection c: depends on both, so a misrouted or shifted stream shows */
static inline unsigned char pattern(unsigned c, unsigned long long i)
{
	unsigned long long x = i * 0x9e3779b97f4a7c15ull + (unsigned long long)(c + 1) * 0xbf58476d1ce4e5b9ull;
	x ^= x >> 31;
	return (unsigned char)(x ^ (x >> 17) ^ (i >> 8));
}

/* ---------------- server ---------------- */
#define SRV_BUF 65536
struct srv_conn {
	int fd;
	size_t len, off; /* pending echo bytes buf[off..len) */
	int eof;
	unsigned char *buf;
};

/* UDP echo: every datagram back to its sender, from the address it was sent to */
static int udp_echo_server(const struct sockaddr_storage *ss, socklen_t sl)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0), one = 1;
	if (fd < 0 || bind(fd, (const struct sockaddr *)ss, sl) < 0) {
		perror("nfdsr-stream server --udp: bind");
		return 1;
	}
	if (ss->ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	fprintf(stderr, "nfdsr-stream: UDP echo server\n");
	static char buf[65536];
	for (;;) {
		char cbuf[256];
		struct sockaddr_storage peer;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr m = { .msg_name = &peer, .msg_namelen = sizeof(peer), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t r = recvmsg(fd, &m, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		/* reuse the received IP_PKTINFO / IPV6_PKTINFO as the source of the reply */
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				pi.ipi_ifindex = 0;
				pi.ipi_spec_dst = pi.ipi_addr;
				memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
			} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;
				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				pi.ipi6_ifindex = 0;
				memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
			}
		}
		iov.iov_len = (size_t)r;
		m.msg_flags = 0;
		if (sendmsg(fd, &m, 0) < 0 && errno != EAGAIN)
			perror("nfdsr-stream server --udp: sendmsg");
	}
}

static int server(int argc, char **argv)
{
	unsigned port = 7000;
	const char *bind_ip = "0.0.0.0";
	int discard = 0, udp = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			bind_ip = argv[++i];
		else if (!strcmp(argv[i], "--discard"))
			discard = 1;
		else if (!strcmp(argv[i], "--udp"))
			udp = 1;
		else
			usage();
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	if (pc_parse_addr(bind_ip, port, &ss, &sl) < 0 || (discard && udp))
		usage();
	if (udp)
		return udp_echo_server(&ss, sl);
	int ls = socket(ss.ss_family, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&ss, sl) < 0 || listen(ls, 1024) < 0) {
		perror("nfdsr-stream server: listen");
		return 1;
	}
	set_nonblock(ls);
	signal(SIGPIPE, SIG_IGN);
	size_t cap = 64, n = 0;
	struct srv_conn *cs = calloc(cap, sizeof(*cs));
	struct pollfd *pfd = calloc(cap + 1, sizeof(*pfd));
	fprintf(stderr, "nfdsr-stream: %s server on %s:%u\n", discard ? "discard" : "echo", bind_ip, port);
	for (;;) {
		pfd[0] = (struct pollfd){.fd = ls, .events = POLLIN};
		for (size_t i = 0; i < n; i++) {
			short ev = 0;
			if (cs[i].off < cs[i].len)
				ev |= POLLOUT;
			else if (!cs[i].eof)
				ev |= POLLIN;
			pfd[i + 1] = (struct pollfd){.fd = cs[i].fd, .events = ev};
		}
		if (poll(pfd, n + 1, 1000) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			int fd;
			while ((fd = accept(ls, NULL, NULL)) >= 0) {
				if (n == cap) {
					cap *= 2;
					cs = realloc(cs, cap * sizeof(*cs));
					pfd = realloc(pfd, (cap + 1) * sizeof(*pfd));
				}
				set_nonblock(fd);
				cs[n++] = (struct srv_conn){.fd = fd, .buf = malloc(SRV_BUF)};
			}
		}
		for (size_t i = 0; i < n; i++) {
			struct srv_conn *c = &cs[i];
			short re = pfd[i + 1].revents;
			int dead = 0;
			if (!re)
				continue;
			if (c->off < c->len) {
				ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
				if (w > 0)
					c->off += (size_t)w;
				else if (w < 0 && errno != EAGAIN && errno != EINTR)
					dead = 1;
				if (c->off == c->len)
					c->off = c->len = 0;
			} else if (!c->eof) {
				ssize_t r = read(c->fd, c->buf, SRV_BUF);
				if (r > 0) {
					if (!discard) /* --discard: dropped */
						c->len = (size_t)r, c->off = 0;
				}
				else if (r == 0)
					c->eof = 1;
				else if (errno != EAGAIN && errno != EINTR)
					dead = 1;
			} else if (re & (POLLERR | POLLHUP)) {
				dead = 1;
			}
			if (c->eof && c->off == c->len)
				dead = 1; /* all echoed: close, the client sees our FIN */
			if (dead) {
				close(c->fd);
				free(c->buf);
				cs[i] = cs[--n];
				pfd[i + 1] = pfd[n + 1];
				i--;
			}
		}
	}
}

/* ---------------- client ---------------- */
struct cli_conn {
	int fd;
	int connected, wr_shut, done, failed;
	unsigned long long sent, verified;
	long long last_progress_ms;
	unsigned resets, stalls, mismatches;
	int stalled_now;
	char err[96];
	char local[64];
};

/* The client loop wakes at least every 100 ms; a longer gap since
 * `*last_loop` means this process (or the whole VM, under TCG on a busy
 * host) was not scheduled: that time is not the network's, so it does not
 * count towards a stall. Counts the pause and moves every connection's
 * progress clock past it. */
static void note_pause(long long now, long long *last_loop, unsigned *pauses, long long *longest_pause,
		       struct cli_conn *cs, unsigned conns)
{
	const long long gap = now - *last_loop;

	if (gap > 1000) {
		(*pauses)++;
		if (gap > *longest_pause)
			*longest_pause = gap;
		for (unsigned c = 0; c < conns; c++)
			cs[c].last_progress_ms += gap;
	}
	*last_loop = now;
}

static int client(int argc, char **argv)
{
	unsigned conns = 50, port = 0;
	double duration = 10, stall_s = 5;
	unsigned long long bytes = 0, rate = 16384;
	size_t chunk = 4096;
	const char *ip = NULL, *label = "stream";
	int i;
	for (i = 0; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--conns"))
			conns = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--duration"))
			duration = atof(argv[++i]);
		else if (!strcmp(argv[i], "--bytes"))
			bytes = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--rate"))
			rate = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--stall"))
			stall_s = atof(argv[++i]);
		else if (!strcmp(argv[i], "--chunk"))
			chunk = (size_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--label"))
			label = argv[++i];
		else
			usage();
	}
	if (argc - i != 2 || !conns || !chunk || chunk > 1 << 20)
		usage();
	ip = argv[i];
	port = (unsigned)atoi(argv[i + 1]);
	struct sockaddr_storage ss;
	socklen_t sl;
	if (pc_parse_addr(ip, port, &ss, &sl) < 0)
		usage();
	if (bytes && duration <= 0)
		duration = 1e9;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_stop);

	struct cli_conn *cs = calloc(conns, sizeof(*cs));
	struct pollfd *pfd = calloc(conns, sizeof(*pfd));
	unsigned char *wbuf = malloc(chunk), *rbuf = malloc(65536);
	const long long start = pc_now_ms();
	const long long stall_ms = (long long)(stall_s * 1000);
	for (unsigned c = 0; c < conns; c++) {
		cs[c].fd = socket(ss.ss_family, SOCK_STREAM, 0);
		set_nonblock(cs[c].fd);
		if (connect(cs[c].fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
			snprintf(cs[c].err, sizeof(cs[c].err), "connect: %s", strerror(errno));
			cs[c].failed = cs[c].done = 1;
			cs[c].resets++;
		}
		cs[c].last_progress_ms = start;
	}
	long long send_start = 0, last_report = start, last_loop = start, longest_pause = 0;
	unsigned connected = 0, pauses = 0;
	for (;;) {
		const long long now = pc_now_ms();
		note_pause(now, &last_loop, &pauses, &longest_pause, cs, conns);
		unsigned active = 0;
		for (unsigned c = 0; c < conns; c++) {
			struct cli_conn *k = &cs[c];
			pfd[c] = (struct pollfd){.fd = -1};
			if (k->done)
				continue;
			active++;
			pfd[c].fd = k->fd;
			if (!k->connected) {
				pfd[c].events = POLLOUT;
				continue;
			}
			pfd[c].events = POLLIN;
			if (!k->wr_shut && send_start) {
				const double t = (now - send_start) / 1000.0;
				unsigned long long allowed = rate ? (unsigned long long)(t * (double)rate) + chunk : ~0ull;
				if (bytes && allowed > bytes)
					allowed = bytes;
				/* keep at most 1 MiB in flight: the echo must keep up */
				if (k->sent < allowed && k->sent - k->verified < (1u << 20))
					pfd[c].events |= POLLOUT;
			}
		}
		if (!active)
			break;
		if (poll(pfd, conns, 100) < 0 && errno != EINTR)
			return 2;
		const long long t = pc_now_ms();
		note_pause(t, &last_loop, &pauses, &longest_pause, cs, conns); /* descheduled in poll */
		for (unsigned c = 0; c < conns; c++) {
			struct cli_conn *k = &cs[c];
			if (k->done || pfd[c].fd < 0)
				continue;
			short re = pfd[c].revents;
			if (!k->connected) {
				if (!re)
					goto check_stall;
				int e = 0;
				socklen_t el = sizeof(e);
				getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &el);
				if (e) {
					snprintf(k->err, sizeof(k->err), "connect: %s", strerror(e));
					k->resets++;
					k->failed = k->done = 1;
					close(k->fd);
					continue;
				}
				k->connected = 1;
				k->last_progress_ms = t;
				struct sockaddr_storage la;
				socklen_t ll = sizeof(la);
				getsockname(k->fd, (struct sockaddr *)&la, &ll);
				pc_fmt_addr((struct sockaddr *)&la, k->local, sizeof(k->local));
				connected++; /* sending starts once all are connected (below) */
				continue;
			}
			if (re & POLLOUT) {
				const double tt = send_start ? (t - send_start) / 1000.0 : 0;
				unsigned long long allowed = rate ? (unsigned long long)(tt * (double)rate) + chunk : ~0ull;
				if (bytes && allowed > bytes)
					allowed = bytes;
				size_t len = chunk;
				if (allowed <= k->sent)
					len = 0;
				else if (allowed - k->sent < len)
					len = (size_t)(allowed - k->sent);
				for (size_t j = 0; j < len; j++)
					wbuf[j] = pattern(c, k->sent + j);
				ssize_t w = len ? write(k->fd, wbuf, len) : 0;
				if (w > 0) {
					if (k->sent == k->verified)
						k->last_progress_ms = t; /* idle -> outstanding: the clock starts now */
					k->sent += (unsigned long long)w;
				} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
					snprintf(k->err, sizeof(k->err), "write: %s", strerror(errno));
					k->resets++;
					k->failed = k->done = 1;
					close(k->fd);
					continue;
				}
			}
			if (re & (POLLIN | POLLERR | POLLHUP)) {
				ssize_t r = read(k->fd, rbuf, 65536);
				if (r > 0) {
					for (ssize_t j = 0; j < r; j++)
						if (rbuf[j] != pattern(c, k->verified + (unsigned long long)j)) {
							snprintf(k->err, sizeof(k->err), "mismatch at byte %llu",
								 k->verified + (unsigned long long)j);
							k->mismatches++;
							k->failed = k->done = 1;
							break;
						}
					if (k->failed) {
						close(k->fd);
						continue;
					}
					if ((unsigned long long)r > k->sent - k->verified) {
						snprintf(k->err, sizeof(k->err), "echo longer than sent");
						k->mismatches++;
						k->failed = k->done = 1;
						close(k->fd);
						continue;
					}
					k->verified += (unsigned long long)r;
					k->last_progress_ms = t;
					k->stalled_now = 0;
				} else if (r == 0) {
					if (!k->wr_shut || k->verified != k->sent) {
						snprintf(k->err, sizeof(k->err), "early EOF from the server");
						k->failed = 1;
					}
					k->done = 1;
					close(k->fd);
					continue;
				} else if (errno != EAGAIN && errno != EINTR) {
					snprintf(k->err, sizeof(k->err), "read: %s", strerror(errno));
					k->resets++;
					k->failed = k->done = 1;
					close(k->fd);
					continue;
				}
			}
		check_stall:
			if (k->sent > k->verified || !k->connected || k->wr_shut) {
				if (t - k->last_progress_ms > stall_ms && !k->stalled_now) {
					k->stalls++;
					k->stalled_now = 1;
					struct timespec ts;
					clock_gettime(CLOCK_REALTIME, &ts);
					fprintf(stderr, "%s: %02ld:%02ld:%02ld.%03ld conn %u (%s) stalled: no progress for %.1fs (sent %llu verified %llu)\n",
						label, (long)(ts.tv_sec / 3600 % 24), (long)(ts.tv_sec / 60 % 60), (long)(ts.tv_sec % 60),
						ts.tv_nsec / 1000000, c, k->local, (t - k->last_progress_ms) / 1000.0, k->sent,
						k->verified);
				}
				/* give up on a connection stuck for 4 stall periods */
				if (t - k->last_progress_ms > 4 * stall_ms) {
					snprintf(k->err, sizeof(k->err), "stuck");
					k->failed = k->done = 1;
					close(k->fd);
				}
			}
		}
		const long long t2 = pc_now_ms();
		if (!send_start && (connected == conns || t2 - start > 10000)) {
			send_start = t2;
			fprintf(stderr, "%s: %u/%u connected to %s:%u, streaming\n", label, connected, conns, ip, port);
		}
		if (send_start) {
			const int time_up = g_stop || (t2 - send_start) / 1000.0 >= duration;
			for (unsigned c = 0; c < conns; c++) {
				struct cli_conn *k = &cs[c];
				if (k->done || k->wr_shut || !k->connected)
					continue;
				if (time_up || (bytes && k->sent >= bytes)) {
					shutdown(k->fd, SHUT_WR);
					k->wr_shut = 1;
					k->last_progress_ms = t2;
				}
			}
		}
		if (t2 - last_report >= 1000) {
			unsigned long long s = 0, v = 0;
			unsigned open = 0, failed = 0;
			for (unsigned c = 0; c < conns; c++) {
				s += cs[c].sent, v += cs[c].verified;
				open += !cs[c].done;
				failed += cs[c].failed;
			}
			fprintf(stderr, "%s: t=%.0fs open=%u failed=%u sent=%llu verified=%llu\n", label,
				(t2 - start) / 1000.0, open, failed, s, v);
			last_report = t2;
		}
	}
	unsigned ok = 0, resets = 0, stalls = 0, mism = 0, shorts = 0;
	unsigned long long s = 0, v = 0;
	for (unsigned c = 0; c < conns; c++) {
		struct cli_conn *k = &cs[c];
		const int is_short = k->verified != k->sent || k->sent == 0;
		printf("conn %u local=%s sent=%llu verified=%llu resets=%u stalls=%u mismatches=%u%s%s\n", c,
		       k->local[0] ? k->local : "-", k->sent, k->verified, k->resets, k->stalls, k->mismatches,
		       k->err[0] ? " error=" : "", k->err);
		s += k->sent, v += k->verified;
		resets += k->resets, stalls += k->stalls, mism += k->mismatches, shorts += is_short;
		ok += !k->failed && !k->resets && !k->stalls && !k->mismatches && !is_short;
	}
	printf("pauses: %u (longest %.1fs): the client was not scheduled, not counted as stalls\n", pauses,
	       longest_pause / 1000.0);
	printf("total: label=%s conns=%u ok=%u sent=%llu verified=%llu resets=%u stalls=%u mismatches=%u short=%u\n",
	       label, conns, ok, s, v, resets, stalls, mism, shorts);
	return ok == conns ? 0 : 1;
}

/* ---------------- bench ---------------- */
/* connect with a timeout; the socket is left blocking. -1 on failure. */
static int bench_connect(const struct sockaddr_storage *ss, socklen_t sl, int type, int timeout_ms)
{
	int fd = socket(ss->ss_family, type, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (type == SOCK_STREAM) {
		set_nonblock(fd);
		if (connect(fd, (const struct sockaddr *)ss, sl) < 0 && errno != EINPROGRESS)
			goto fail;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int e = 0;
		socklen_t el = sizeof(e);
		if (poll(&p, 1, timeout_ms) <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			errno = e ? e : errno;
			goto fail;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	} else if (connect(fd, (const struct sockaddr *)ss, sl) < 0) {
		goto fail;
	}
	return fd;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* read exactly n bytes (SO_RCVTIMEO bounds each read); 0 on success */
static int bench_read_n(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno == EINTR)
			continue;
		else
			return -1;
	}
	return 0;
}

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(int argc, char **argv)
{
	double duration = 5;
	size_t size = 32;
	int timeout_ms = 1000, i;
	if (argc < 1)
		usage();
	const char *mode = argv[0];
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--duration"))
			duration = atof(argv[++i]);
		else if (!strcmp(argv[i], "--size"))
			size = (size_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--timeout"))
			timeout_ms = atoi(argv[++i]);
		else
			usage();
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	if (argc - i != 2 || pc_parse_addr(argv[i], (unsigned)atoi(argv[i + 1]), &ss, &sl) < 0 ||
	    duration <= 0 || timeout_ms <= 0 || size < 8 || size > 65000)
		usage();
	signal(SIGPIPE, SIG_IGN);
	static unsigned char buf[65536], rbuf[65536];
	unsigned long long ops = 0, errors = 0;
	double t0 = bench_now(), t1 = t0;
	char why[96] = ""; /* the first error */
#define BENCH_ERR(what)                                                                            \
	do {                                                                                       \
		if (!errors++)                                                                     \
			snprintf(why, sizeof(why), "%s: %s", what, errno ? strerror(errno) : "short"); \
	} while (0)
	if (!strcmp(mode, "bulk")) {
		int fd = bench_connect(&ss, sl, SOCK_STREAM, timeout_ms);
		if (fd < 0) {
			BENCH_ERR("connect");
		} else {
			unsigned long long sent = 0;
			memset(buf, 0x5a, sizeof(buf));
			t0 = bench_now();
			while (bench_now() - t0 < duration) {
				ssize_t w = write(fd, buf, sizeof(buf));
				if (w > 0)
					sent += (unsigned long long)w;
				else if (w < 0 && errno != EINTR && errno != EAGAIN) {
					BENCH_ERR("write");
					break;
				}
			}
			shutdown(fd, SHUT_WR);
			/* the discard server closes once it has read everything */
			for (;;) {
				ssize_t r = read(fd, rbuf, sizeof(rbuf));
				if (r == 0)
					break;
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0) {
					BENCH_ERR("read"); /* timeout or reset: not all bytes were read */
					sent = 0;
					break;
				}
			}
			t1 = bench_now();
			close(fd);
			ops = sent;
		}
	} else if (!strcmp(mode, "tcp-rr")) {
		while ((t1 = bench_now()) - t0 < duration) {
			int fd = bench_connect(&ss, sl, SOCK_STREAM, timeout_ms);
			if (fd < 0) {
				BENCH_ERR("connect");
				usleep(10000); /* refused or unreachable: do not spin */
				continue;
			}
			memcpy(buf, &ops, sizeof(ops));
			errno = 0;
			if (write(fd, buf, size) != (ssize_t)size)
				BENCH_ERR("write");
			else if (bench_read_n(fd, rbuf, size) || memcmp(buf, rbuf, size))
				BENCH_ERR("read");
			else
				ops++;
			close(fd);
		}
	} else if (!strcmp(mode, "udp-rr")) {
		int fd = bench_connect(&ss, sl, SOCK_DGRAM, timeout_ms);
		unsigned long long seq = 0;
		memset(buf, 0xa5, sizeof(buf));
		while (fd >= 0 && (t1 = bench_now()) - t0 < duration) {
			seq++;
			memcpy(buf, &seq, sizeof(seq));
			if (send(fd, buf, size, 0) != (ssize_t)size) {
				BENCH_ERR("send");
				usleep(1000);
				continue;
			}
			for (;;) { /* until this request's reply (late ones are skipped) or the timeout */
				ssize_t r = recv(fd, rbuf, sizeof(rbuf), 0);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0) {
					BENCH_ERR("recv");
					if (errno != EAGAIN && errno != EWOULDBLOCK)
						usleep(10000); /* ICMP error (refused ...): do not spin */
					break;
				}
				if ((size_t)r == size && !memcmp(rbuf, buf, size)) {
					ops++;
					break;
				}
			}
		}
		if (fd < 0)
			BENCH_ERR("socket");
		else
			close(fd);
	} else {
		usage();
	}
	double secs = t1 - t0;
#undef BENCH_ERR
	printf("bench mode=%s ops=%llu seconds=%.3f rate=%.1f errors=%llu%s%s\n", mode, ops, secs,
	       secs > 0 ? (double)ops / secs : 0.0, errors, why[0] ? " first_error=" : "", why);
	return ops > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "server"))
		return server(argc - 2, argv + 2);
	if (!strcmp(argv[1], "client"))
		return client(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench"))
		return bench(argc - 2, argv + 2);
	usage();
	return 2;
}
