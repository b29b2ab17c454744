/* lib/dns/query.c - a minimal DNS client: one question to one authoritative server, UDP then TCP */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns-int.h"
#include "util/banned.h"

/*
 * Confirming a failover means asking the record's authoritative servers themselves, not a
 * resolver with a cache, so this speaks RFC 1035 directly: RD=0, a random id that the reply
 * must echo (with the question), UDP resent every second until the deadline, and TCP when the
 * reply is truncated. It asks for A: a CNAME of the name comes back in that answer too; only
 * an empty answer leads to a second question, for AAAA.
 *
 * Names in replies are compressed with pointers to earlier bytes. A pointer must point before
 * the start of the labels read so far for this name, so every jump goes strictly backwards and
 * a hostile reply cannot make the decoder loop.
 */

#define HDR 12
#define RESEND_MS 1000
#define CLASS_IN 1

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

int drc_dns_encode_query(uint16_t id, const char *name, uint16_t qtype, unsigned char *buf,
			 size_t cap, struct drc_err *err)
{
	size_t n = strlen(name), pos = HDR;
	const char *p = name, *dot;

	if (n && name[n - 1] == '.')
		n--;
	if (!n || n > 253 || cap < HDR + n + 2 + 4)
		return drc_err_set(err, DRC_E_USAGE, "dns: '%s' is not a DNS name", name);
	memset(buf, 0, HDR);
	put16(buf, id);
	put16(buf + 4, 1);      /* one question; flags 0: a standard query with RD=0 */
	while (p < name + n) {
		dot = memchr(p, '.', (size_t)(name + n - p));
		if (!dot)
			dot = name + n;
		if (dot == p || dot - p > 63)
			return drc_err_set(err, DRC_E_USAGE, "dns: '%s' is not a DNS name (empty "
					   "or over-long label)", name);
		buf[pos++] = (unsigned char)(dot - p);
		memcpy(buf + pos, p, (size_t)(dot - p));
		pos += (size_t)(dot - p);
		p = dot + 1;
	}
	buf[pos++] = 0;
	put16(buf + pos, qtype);
	put16(buf + pos + 2, CLASS_IN);
	return (int)(pos + 4);
}

/* Reads the name at *off into out (dotted, no trailing dot; odd bytes as \DDD), *off moved
 * past it in place. -1 when malformed. */
static int read_name(const unsigned char *pkt, size_t len, size_t *off, struct drc_buf *out)
{
	size_t p = *off, limit = *off, wire = 0;
	bool jumped = false;

	drc_buf_reset(out);
	for (;;) {
		unsigned c;

		if (p >= len)
			return -1;
		c = pkt[p];
		if (c == 0) {
			if (!jumped)
				*off = p + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			size_t to;

			if (p + 1 >= len)
				return -1;
			to = (size_t)((c & 0x3f) << 8 | pkt[p + 1]);
			if (to >= limit)
				return -1;      /* forwards or onto itself: a loop */
			if (!jumped)
				*off = p + 2;
			jumped = true;
			p = limit = to;
			continue;
		}
		if (c & 0xc0 || p + 1 + c > len || (wire += c + 1) > 255)
			return -1;
		if (out->len)
			drc_buf_addch(out, '.');
		for (size_t i = 1; i <= c; i++) {
			unsigned char ch = pkt[p + i];

			if (ch > 0x20 && ch < 0x7f && ch != '.' && ch != '\\')
				drc_buf_addch(out, (char)ch);
			else
				drc_buf_addf(out, "\\%03u", ch);
		}
		p += 1 + c;
	}
}

/* One answer record: what it adds to out when it is about name. */
static int read_rr(const unsigned char *pkt, size_t len, size_t *off, const char *name,
		   uint16_t qtype, struct dns_reply *out, struct drc_buf *tmp)
{
	char addr[INET6_ADDRSTRLEN];
	uint16_t type, class, rdlen;
	size_t rd;
	bool ours;

	if (read_name(pkt, len, off, tmp) < 0 || *off + 10 > len)
		return -1;
	ours = drc_dns_name_eq(tmp->buf, name);
	type = get16(pkt + *off);
	class = get16(pkt + *off + 2);
	rdlen = get16(pkt + *off + 8);
	rd = *off + 10;
	if (rd + rdlen > len)
		return -1;
	*off = rd + rdlen;
	if (!ours || class != CLASS_IN || out->cname)
		return 0;
	if (type == DNS_TYPE_CNAME) {
		size_t at = rd;

		if (read_name(pkt, len, &at, tmp) < 0 || at > rd + rdlen)
			return -1;
		drc_strlist_clear(&out->answers);
		drc_strlist_add(&out->answers, tmp->buf);
		out->cname = true;
	} else if (type == qtype) {
		if (rdlen != (type == DNS_TYPE_A ? 4 : 16) ||
		    !inet_ntop(type == DNS_TYPE_A ? AF_INET : AF_INET6, pkt + rd, addr,
			       sizeof(addr)))
			return -1;
		drc_strlist_add(&out->answers, addr);
	}
	return 0;
}

int drc_dns_decode_reply(const unsigned char *pkt, size_t len, uint16_t id, const char *name,
			 uint16_t qtype, struct dns_reply *out, struct drc_err *err)
{
	struct drc_buf tmp = DRC_BUF_INIT;
	size_t off = HDR;
	unsigned flags, qd, an;
	int ret = -1;

	drc_strlist_clear(&out->answers);
	out->cname = out->truncated = false;
	if (len < HDR || get16(pkt) != id || !(pkt[2] & 0x80) || (pkt[2] & 0x78)) {
		drc_err_set(err, DRC_E_FORMAT, "dns: not a reply to query %u for '%s'", id, name);
		goto out;
	}
	flags = get16(pkt + 2);
	out->rcode = (int)(flags & 0xf);
	out->truncated = flags & 0x0200;
	qd = get16(pkt + 4);
	an = get16(pkt + 6);
	if (qd != 1 || read_name(pkt, len, &off, &tmp) < 0 || off + 4 > len ||
	    !drc_dns_name_eq(tmp.buf, name) || get16(pkt + off) != qtype) {
		drc_err_set(err, DRC_E_FORMAT, "dns: the reply to query %u is not about '%s'", id,
			    name);
		goto out;
	}
	off += 4;
	for (unsigned i = 0; !out->truncated && i < an; i++)
		if (read_rr(pkt, len, &off, name, qtype, out, &tmp) < 0) {
			drc_err_set(err, DRC_E_FORMAT, "dns: malformed answer %u in the reply for "
				    "'%s'", i + 1, name);
			drc_strlist_clear(&out->answers);
			out->cname = false;
			goto out;
		}
	ret = 0;
out:
	drc_buf_release(&tmp);
	return ret;
}

int drc_dns_split_server(const char *server, char **host, char **port, struct drc_err *err)
{
	const char *colon = strrchr(server, ':'), *close;

	*host = *port = NULL;
	if (server[0] == '[') {
		close = strchr(server, ']');
		if (!close || close == server + 1 || (close[1] && (close[1] != ':' || !close[2])))
			goto bad;
		*host = drc_xstrndup(server + 1, (size_t)(close - server - 1));
		*port = drc_xstrdup(close[1] ? close + 2 : "53");
	} else if (colon && strchr(server, ':') == colon) {
		if (colon == server || !colon[1])
			goto bad;
		*host = drc_xstrndup(server, (size_t)(colon - server));
		*port = drc_xstrdup(colon + 1);
	} else if (*server) {
		*host = drc_xstrdup(server);    /* a name, IPv4, or a bare IPv6 literal */
		*port = drc_xstrdup("53");
	} else {
		goto bad;
	}
	if (strspn(*port, "0123456789") != strlen(*port) || strlen(*port) > 5)
		goto bad;
	return 0;
bad:
	free(*host);
	free(*port);
	*host = *port = NULL;
	return drc_err_set(err, DRC_E_CONFIG, "dns: nameserver '%s' is not host, host:port or "
			   "[ipv6]:port", server);
}

/* Waits until fd is ready for events or deadline passes; 0 ready, -1 timed out or failed. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int rc;

	do {
		left = deadline - drc_now_ms();
		if (left <= 0)
			return -1;
		rc = poll(&pfd, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc > 0 ? 0 : -1;
}

static int udp_exchange(const struct addrinfo *ai, const unsigned char *q, size_t qlen,
			unsigned char *buf, size_t cap, uint16_t id, const char *name,
			uint16_t qtype, int64_t deadline, struct dns_reply *out)
{
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = -1;
	struct drc_err ignore = DRC_ERR_INIT;

	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		goto out;
	while (drc_now_ms() < deadline) {
		int64_t until = drc_now_ms() + RESEND_MS;

		if (send(fd, q, qlen, 0) < 0 && errno != ECONNREFUSED)
			goto out;
		/* anything that is not the reply (an old one, a forgery) is dropped */
		while (wait_fd(fd, POLLIN, until < deadline ? until : deadline) == 0) {
			ssize_t n = recv(fd, buf, cap, 0);

			if (n > 0 && !drc_dns_decode_reply(buf, (size_t)n, id, name, qtype, out,
							   &ignore)) {
				ret = 0;
				goto out;
			}
		}
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int io_all(int fd, unsigned char *buf, size_t n, bool writing, int64_t deadline)
{
	for (size_t done = 0; done < n;) {
		ssize_t r;

		if (wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) < 0)
			return -1;
		r = writing ? send(fd, buf + done, n - done, MSG_NOSIGNAL)
			    : recv(fd, buf + done, n - done, 0);
		if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN)))
			return -1;
		if (r > 0)
			done += (size_t)r;
	}
	return 0;
}

static int tcp_exchange(const struct addrinfo *ai, unsigned char *q, size_t qlen,
			uint16_t id, const char *name, uint16_t qtype, int64_t deadline,
			struct dns_reply *out, struct drc_err *err)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), ret = -1;
	unsigned char len2[2], *buf = NULL;
	socklen_t elen = sizeof(int);
	int soerr = 0;

	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) ||
	    wait_fd(fd, POLLOUT, deadline) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) < 0 || soerr)
		goto fail;
	put16(len2, (unsigned)qlen);
	if (io_all(fd, len2, 2, true, deadline) < 0 || io_all(fd, q, qlen, true, deadline) < 0 ||
	    io_all(fd, len2, 2, false, deadline) < 0)
		goto fail;
	buf = drc_xmalloc(get16(len2) + 1u);
	if (io_all(fd, buf, get16(len2), false, deadline) < 0)
		goto fail;
	ret = drc_dns_decode_reply(buf, get16(len2), id, name, qtype, out, err);
	goto out;
fail:
	drc_err_set(err, DRC_E_NET, "dns: no answer over TCP for '%s'", name);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

static const char *rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP", "REFUSED" };

	return rcode >= 0 && (size_t)rcode < DRC_ARRAY_SIZE(names) ? names[rcode] : "an error";
}

/* One question: 0 with the reply, or -1 with err naming the server. */
static int ask(const struct addrinfo *ai, const char *server, const char *name, uint16_t qtype,
	       int64_t deadline, struct dns_reply *out, struct drc_err *err)
{
	unsigned char q[512], buf[DNS_MAX_UDP * 4];
	uint16_t id;
	int qlen;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)drc_now_ms();
	qlen = drc_dns_encode_query(id, name, qtype, q, sizeof(q), err);
	if (qlen < 0)
		return -1;
	if (udp_exchange(ai, q, (size_t)qlen, buf, sizeof(buf), id, name, qtype, deadline,
			 out) < 0)
		return drc_err_set(err, DRC_E_NET, "dns: no answer from %s for '%s': check that "
				   "it runs and is in dns.nameservers", server, name);
	if (out->truncated &&
	    tcp_exchange(ai, q, (size_t)qlen, id, name, qtype, deadline, out, err) < 0) {
		drc_err_prefix(err, "dns: %s truncated its answer", server);
		return -1;
	}
	if (out->rcode && out->rcode != DNS_RCODE_NXDOMAIN)
		return drc_err_set(err, DRC_E_NET, "dns: %s answers %s for '%s': is it "
				   "authoritative for the zone?", server, rcode_name(out->rcode),
				   name);
	return 0;
}

int drc_dns_query(const char *server, const char *name, int timeout_ms,
		  struct drc_strlist *answers, struct drc_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV }, *ai;
	int64_t deadline = drc_now_ms() + timeout_ms;
	struct dns_reply r = DNS_REPLY_INIT;
	char *host, *port;
	int rc, ret = -1;

	if (drc_dns_split_server(server, &host, &port, err) < 0)
		return -1;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		drc_err_set(err, DRC_E_NET, "dns: unable to resolve nameserver '%s': %s", server,
			    gai_strerror(rc));
		goto out;
	}
	rc = ask(ai, server, name, DNS_TYPE_A, deadline, &r, err);
	if (!rc && !r.answers.nr && r.rcode != DNS_RCODE_NXDOMAIN)
		rc = ask(ai, server, name, DNS_TYPE_AAAA, deadline, &r, err);
	freeaddrinfo(ai);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < r.answers.nr; i++)
		drc_strlist_add(answers, r.answers.items[i]);
	ret = 0;
out:
	drc_strlist_clear(&r.answers);
	free(host);
	free(port);
	return ret;
}
