/* test/unit/test_http.c - lib/util/http.c against a real HTTP server the test runs on 127.0.0.1 */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "drctl/http.h"

/*
 * The scripted transport of STYLE.md §8. This is a test server, not a mock of curl: a thread
 * listens on an ephemeral port of 127.0.0.1 and speaks real HTTP/1.1 over a real socket, so
 * all of libcurl and http.c run as they do in production. Each connection reads one request
 * and answers with the next step of a script (status, headers, body, a delay, or closing the
 * connection without an answer), then closes the connection.
 */
struct step {
	int status;             /* 0 = close the connection without answering */
	const char *headers;    /* extra header lines, each ending in \r\n */
	const char *body;
	int delay_ms;           /* waited before answering */
};

struct seen {                /* what the server got on one connection */
	char head[4096];        /* request line and headers */
	size_t body_len;
	uint32_t body_sum;      /* FNV-1a of the body */
};

struct server {
	int fd;
	int port;
	pthread_t thread;
	const struct step *steps;
	size_t nsteps;
	struct seen seen[8];
	size_t served;
	volatile int stop;
};

static uint32_t fnv1a(uint32_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}
#define FNV_INIT 2166136261u

static size_t content_length(const char *head)
{
	for (const char *p = head; (p = strchr(p, '\n')) != NULL; p++)
		if (!strncasecmp(p + 1, "content-length:", 15))
			return (size_t)strtoull(p + 16, NULL, 10);
	return 0;
}

/* Reads the request head, then counts and hashes the body as it streams in. */
static void read_request(int fd, struct seen *s)
{
	char buf[65536];
	size_t have = 0, want;
	char *end = NULL;
	ssize_t n;

	while (!end && have < sizeof(s->head) - 1) {
		n = recv(fd, s->head + have, sizeof(s->head) - 1 - have, 0);
		if (n <= 0)
			return;
		have += (size_t)n;
		s->head[have] = '\0';
		end = strstr(s->head, "\r\n\r\n");
	}
	if (!end)
		return;
	s->body_sum = FNV_INIT;
	s->body_len = have - (size_t)(end + 4 - s->head);
	s->body_sum = fnv1a(s->body_sum, end + 4, s->body_len);
	end[2] = '\0';
	want = content_length(s->head);
	while (s->body_len < want && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		s->body_len += (size_t)n;
		s->body_sum = fnv1a(s->body_sum, buf, (size_t)n);
	}
}

static void answer(int fd, const struct step *st)
{
	char head[1024];
	const char *body = st->body ? st->body : "";
	int n;

	if (st->delay_ms)
		usleep((useconds_t)st->delay_ms * 1000);
	if (!st->status)
		return;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
		     st->status, strlen(body), st->headers ? st->headers : "");
	/* the client may have given up already (timeouts): no SIGPIPE */
	send(fd, head, (size_t)n, MSG_NOSIGNAL);
	send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void *serve(void *data)
{
	struct server *s = data;

	while (s->served < s->nsteps && !s->stop) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		read_request(c, &s->seen[s->served]);
		answer(c, &s->steps[s->served]);
		s->served++;
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, const struct step *steps, size_t nsteps)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->steps = steps;
	s->nsteps = nsteps;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

/* Stops the server (it may still wait for connections that never come) and joins it. */
static void server_finish(struct server *s)
{
	s->stop = 1;
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static char *url_of(const struct server *s, const char *path)
{
	return drc_xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

/* Serves steps, sends req to path (retried under policy unless NULL), stops the server. */
static int exchange(struct server *s, const struct step *steps, size_t nsteps,
		    struct drc_http_req *req, const char *path, const struct drc_retry *policy,
		    struct drc_http_resp *resp, struct drc_err *err)
{
	char *url;
	int rc;

	server_start(s, steps, nsteps);
	url = url_of(s, path);
	req->url = url;
	rc = policy ? drc_http_request_retry(req, resp, policy, err)
		    : drc_http_request(req, resp, err);
	server_finish(s);
	req->url = NULL;
	free(url);
	return rc;
}

/* A quick policy: tests must not sleep for seconds */
static const struct drc_retry quick = { 3, 10, 50, 0 };

static void test_get_200_body_and_headers(void **state)
{
	static const struct step steps[] = {
		{ 200, "X-Test: Hello World\r\nETag: \"abc\"\r\n", "hello body", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	struct server s;

	(void)state;
	server_start(&s, steps, 1);
	req.url = url_of(&s, "/thing?x=1");
	drc_http_req_header(&req, "X-Drctl-Test: %d", 42);
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	server_finish(&s);
	assert_int_equal(err.code, DRC_E_NONE);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.buf, "hello body");
	assert_int_equal(resp.body.len, 10);
	/* names are lowercased, lookups ignore case, values keep theirs */
	assert_string_equal(drc_http_resp_header(&resp, "x-test"), "Hello World");
	assert_string_equal(drc_http_resp_header(&resp, "X-TEST"), "Hello World");
	assert_string_equal(drc_http_resp_header(&resp, "etag"), "\"abc\"");
	assert_true(drc_strlist_has(&resp.headers, "content-length: 10"));
	assert_null(drc_http_resp_header(&resp, "x-missing"));
	assert_null(drc_http_resp_header(&resp, "x-tes"));
	/* what went over the wire */
	assert_int_equal(s.served, 1);
	assert_true(drc_starts_with(s.seen[0].head, "GET /thing?x=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(s.seen[0].head, "\r\nX-Drctl-Test: 42\r\n"));
	assert_non_null(strstr(s.seen[0].head, "\r\nUser-Agent: drctl/"));
	drc_http_resp_release(&resp);
	drc_http_req_release(&req);
	free((char *)req.url);
}

static void test_post_from_memory(void **state)
{
	static const struct step steps[] = { { 201, NULL, "made", 0 } };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .method = "PATCH", .body = "{\"a\":1}", .body_len = 7 };
	struct server s;

	(void)state;
	assert_int_equal(exchange(&s, steps, 1, &req, "/zones/x", NULL, &resp, &err), 0);
	assert_int_equal(resp.status, 201);
	assert_true(drc_starts_with(s.seen[0].head, "PATCH /zones/x HTTP/1.1\r\n"));
	assert_non_null(strstr(s.seen[0].head, "Content-Length: 7\r\n"));
	assert_int_equal(s.seen[0].body_len, 7);
	assert_int_equal(s.seen[0].body_sum, fnv1a(FNV_INIT, "{\"a\":1}", 7));
	/* curl's own form Content-Type and Expect are not sent unless asked for */
	assert_null(strcasestr(s.seen[0].head, "content-type"));
	assert_null(strcasestr(s.seen[0].head, "expect:"));
	drc_http_resp_release(&resp);
}

static void test_503_then_200_is_retried(void **state)
{
	static const struct step steps[] = {
		{ 503, NULL, "busy", 0 },
		{ 200, NULL, "ok now", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	struct server s;

	(void)state;
	assert_int_equal(exchange(&s, steps, 2, &req, "/x", &quick, &resp, &err), 0);
	assert_int_equal(s.served, 2);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.buf, "ok now");
	assert_int_equal(err.code, DRC_E_NONE); /* untouched on success */
	drc_http_resp_release(&resp);
}

static void test_429_retry_after(void **state)
{
	static const struct step steps[] = {
		{ 429, "Retry-After: 0\r\n", "slow down", 0 },
		/* a long Retry-After is capped at the policy's max_ms (50 ms) */
		{ 429, "Retry-After: 30\r\n", "slow down", 0 },
		{ 200, NULL, "done", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	struct server s;
	int64_t start = drc_now_ms();

	(void)state;
	assert_int_equal(exchange(&s, steps, 3, &req, "/x", &quick, &resp, &err), 0);
	assert_int_equal(s.served, 3);
	assert_int_equal(resp.status, 200);
	assert_true(drc_now_ms() - start < 5000);
	drc_http_resp_release(&resp);
}

static void test_404_not_retried(void **state)
{
	static const struct step steps[] = {
		{ 404, NULL, "no such key", 0 },
		{ 200, NULL, "must not be fetched", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	struct server s;

	(void)state;
	assert_int_equal(exchange(&s, steps, 2, &req, "/missing", &quick, &resp, &err), 0);
	assert_int_equal(s.served, 1);
	assert_int_equal(resp.status, 404);
	assert_string_equal(resp.body.buf, "no such key");
	assert_int_equal(err.code, DRC_E_NONE);
	drc_http_resp_release(&resp);
}

static void test_5xx_until_attempts_run_out(void **state)
{
	static const struct step steps[] = {
		{ 500, NULL, "a", 0 }, { 502, NULL, "b", 0 }, { 503, NULL, "last", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	struct server s;

	(void)state;
	/* the final answer is returned, not an error: the caller maps the status */
	assert_int_equal(exchange(&s, steps, 3, &req, "/x", &quick, &resp, &err), 0);
	assert_int_equal(s.served, 3);
	assert_int_equal(resp.status, 503);
	assert_string_equal(resp.body.buf, "last");
	assert_int_equal(err.code, DRC_E_NONE);
	drc_http_resp_release(&resp);
}

static void test_closed_connection_is_retried(void **state)
{
	static const struct step steps[] = {
		{ 0, NULL, NULL, 0 }, /* hang up without an answer */
		{ 200, NULL, "second try", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	struct server s;

	(void)state;
	server_start(&s, steps, 2);
	req.url = url_of(&s, "/x");
	assert_int_equal(drc_http_request(&req, &resp, &err), -1);
	assert_int_equal(err.code, DRC_E_NET);
	assert_int_equal(resp.status, 0);
	drc_err_clear(&err);
	assert_int_equal(drc_http_request_retry(&req, &resp, &quick, &err), 0);
	server_finish(&s);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.buf, "second try");
	drc_http_resp_release(&resp);
	free((char *)req.url);
}

static void test_connection_refused(void **state)
{
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	int port = testlib_closed_port();
	char *url = drc_xasprintf("http://alice:hunter2pw@127.0.0.1:%d/v3/kv/range?token=abcd",
				  port);
	char *want = drc_xasprintf("'http://127.0.0.1:%d/v3/kv/range'", port);

	(void)state;
	req.url = url;
	assert_int_equal(drc_http_request_retry(&req, &resp, &quick, &err), -1);
	assert_int_equal(err.code, DRC_E_NET);
	assert_int_equal(err.sys, 7); /* CURLE_COULDNT_CONNECT */
	assert_non_null(strstr(err.msg, want));
	assert_true(drc_starts_with(err.msg, "unable to GET "));
	assert_null(strstr(err.msg, "hunter2pw"));
	assert_null(strstr(err.msg, "alice"));
	assert_null(strstr(err.msg, "token"));
	assert_int_equal(resp.status, 0);
	drc_http_resp_release(&resp);
	free(url);
	free(want);
}

static void test_timeout(void **state)
{
	static const struct step steps[] = { { 200, NULL, "too late", 1500 } };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .timeout_ms = 200 };
	struct server s;
	int64_t start = drc_now_ms();

	(void)state;
	server_start(&s, steps, 1);
	req.url = url_of(&s, "/slow");
	assert_int_equal(drc_http_request(&req, &resp, &err), -1);
	assert_true(drc_now_ms() - start < 1200);
	server_finish(&s);
	assert_int_equal(err.code, DRC_E_NET);
	assert_int_equal(err.sys, 28); /* CURLE_OPERATION_TIMEDOUT */
	assert_non_null(strstr(err.msg, "timeout"));
	assert_non_null(strstr(err.msg, "/slow'"));
	drc_http_resp_release(&resp);
	free((char *)req.url);
}

static void test_body_cap(void **state)
{
	static char big[5001];
	static struct step steps[] = { { 200, NULL, big, 0 } };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .max_body = 1000 };
	struct server s;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	/* a body past the cap is a failure, and not one a retry would fix */
	assert_int_equal(exchange(&s, steps, 1, &req, "/big", &quick, &resp, &err), -1);
	assert_int_equal(s.served, 1);
	assert_int_equal(err.code, DRC_E_NET);
	assert_non_null(strstr(err.msg, "larger than 1000 bytes"));
	assert_true(resp.body.len <= 1000);
	drc_http_resp_release(&resp);
}

/* A streamed upload: bytes made on the fly, never held in memory as a whole. */
struct source {
	size_t total, pos;
	int rewinds;
};

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 31u + i / 4096u) % 251u);
}

static size_t source_read(void *data, char *buf, size_t n, struct drc_err *err)
{
	struct source *src = data;
	size_t i;

	(void)err;
	for (i = 0; i < n && src->pos < src->total; i++)
		buf[i] = (char)pattern(src->pos++);
	return i;
}

static int source_rewind(void *data, struct drc_err *err)
{
	struct source *src = data;

	(void)err;
	src->pos = 0;
	src->rewinds++;
	return 0;
}

static uint32_t pattern_sum(size_t total)
{
	uint32_t h = FNV_INIT;

	for (size_t i = 0; i < total; i++) {
		unsigned char c = pattern(i);

		h = fnv1a(h, &c, 1);
	}
	return h;
}

static void test_streaming_upload(void **state)
{
	static const struct step steps[] = {
		{ 503, NULL, "try again", 0 },
		{ 200, NULL, "stored", 0 },
	};
	struct source src = { 3u << 20, 0, 0 };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .method = "PUT", .read_fn = source_read,
				    .rewind_fn = source_rewind, .read_data = &src };
	struct server s;

	(void)state;
	req.body_len = src.total;
	assert_int_equal(exchange(&s, steps, 2, &req, "/bucket/part-0000", &quick, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(src.rewinds, 1);
	for (size_t i = 0; i < 2; i++) {
		assert_true(drc_starts_with(s.seen[i].head, "PUT /bucket/part-0000 HTTP/1.1\r\n"));
		assert_int_equal(s.seen[i].body_len, src.total);
		assert_int_equal(s.seen[i].body_sum, pattern_sum(src.total));
	}
	drc_http_resp_release(&resp);
}

static void test_upload_without_rewind_is_tried_once(void **state)
{
	static const struct step steps[] = { { 503, NULL, "busy", 0 } };
	struct source src = { 1000, 0, 0 };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .method = "PUT", .read_fn = source_read, .read_data = &src,
				    .body_len = 1000 };
	struct server s;

	(void)state;
	assert_int_equal(exchange(&s, steps, 1, &req, "/once", &quick, &resp, &err), 0);
	assert_int_equal(s.served, 1);
	assert_int_equal(resp.status, 503);
	drc_http_resp_release(&resp);
}

static size_t failing_read(void *data, char *buf, size_t n, struct drc_err *err)
{
	(void)data; (void)buf; (void)n;
	drc_err_set(err, DRC_E_IO, "unable to read 'part-0000': disk on fire");
	return DRC_HTTP_ABORT;
}

static void test_callback_error_is_kept(void **state)
{
	static const struct step steps[] = { { 200, NULL, "never", 0 } };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .method = "PUT", .read_fn = failing_read, .body_len = 10 };
	struct server s;

	(void)state;
	assert_int_equal(exchange(&s, steps, 1, &req, "/p", &quick, &resp, &err), -1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_non_null(strstr(err.msg, "unable to PUT 'http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "disk on fire"));
	drc_http_resp_release(&resp);
}

static int sink_write(void *data, const char *buf, size_t n, struct drc_err *err)
{
	(void)err;
	return drc_buf_add(data, buf, n);
}

static void test_streaming_download(void **state)
{
	static const struct step steps[] = {
		{ 500, NULL, "<Error>InternalError</Error>", 0 },
		{ 200, NULL, "the object's bytes", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf sink = DRC_BUF_INIT;
	struct drc_http_req req = { .write_fn = sink_write, .write_data = &sink };
	struct server s;

	(void)state;
	server_start(&s, steps, 2);
	req.url = url_of(&s, "/o");
	/* an error body is kept in resp for the message, never streamed into the caller's sink */
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	assert_int_equal(resp.status, 500);
	assert_string_equal(resp.body.buf, "<Error>InternalError</Error>");
	assert_int_equal(sink.len, 0);
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	server_finish(&s);
	assert_int_equal(resp.status, 200);
	assert_string_equal(sink.buf, "the object's bytes");
	assert_int_equal(resp.body.len, 0);
	drc_buf_release(&sink);
	drc_http_resp_release(&resp);
	free((char *)req.url);
}

static int failing_write(void *data, const char *buf, size_t n, struct drc_err *err)
{
	(void)data; (void)buf; (void)n;
	return drc_err_set(err, DRC_E_IO, "unable to write 'restore.tmp': no space left");
}

static void test_write_callback_error_is_kept(void **state)
{
	static const struct step steps[] = { { 200, NULL, "payload", 0 }, { 200, NULL, "x", 0 } };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .write_fn = failing_write };
	struct server s;

	(void)state;
	/* a failing sink is final: a retry would write the same bytes twice */
	assert_int_equal(exchange(&s, steps, 2, &req, "/obj", &quick, &resp, &err), -1);
	assert_int_equal(s.served, 1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_non_null(strstr(err.msg, "unable to GET 'http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "/obj': unable to write 'restore.tmp': no space left"));
	drc_http_resp_release(&resp);
}

static void test_head_delete_post(void **state)
{
	static const struct step steps[] = {
		{ 200, "X-Size: 12\r\n", NULL, 0 },
		{ 204, NULL, NULL, 0 },
		{ 200, NULL, "posted", 0 },
	};
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .method = "HEAD" };
	struct server s;

	(void)state;
	server_start(&s, steps, 3);
	req.url = url_of(&s, "/k");
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(drc_http_resp_header(&resp, "x-size"), "12");
	req.method = "DELETE";
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	assert_int_equal(resp.status, 204);
	req.method = "POST"; /* without a body: Content-Length: 0 */
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	server_finish(&s);
	assert_int_equal(resp.status, 200);
	assert_true(drc_starts_with(s.seen[2].head, "POST /k HTTP/1.1\r\n"));
	assert_non_null(strstr(s.seen[2].head, "Content-Length: 0\r\n"));
	assert_true(drc_starts_with(s.seen[0].head, "HEAD /k HTTP/1.1\r\n"));
	assert_true(drc_starts_with(s.seen[1].head, "DELETE /k HTTP/1.1\r\n"));
	assert_int_equal(s.seen[1].body_len, 0);
	drc_http_resp_release(&resp);
	free((char *)req.url);
}

static void test_redirects(void **state)
{
	char location[128];
	const struct step steps[] = {
		{ 307, location, "moved", 0 },  /* not followed by default */
		{ 307, location, "moved", 0 },  /* followed: the body is sent again */
		{ 200, NULL, "there", 0 },
		{ 307, location, "moved", 0 },  /* a streamed body is rewound for it */
		{ 200, NULL, "there", 0 },
	};
	struct source src = { 70000, 0, 0 };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .method = "PUT", .body = "0123456789", .body_len = 10 };
	struct server s;

	(void)state;
	server_start(&s, steps, DRC_ARRAY_SIZE(steps));
	snprintf(location, sizeof(location), "Location: http://127.0.0.1:%d/there\r\n", s.port);
	req.url = url_of(&s, "/here");
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	assert_int_equal(resp.status, 307);
	assert_string_equal(resp.body.buf, "moved");
	assert_true(drc_starts_with(location, "Location: "));
	assert_memory_equal(drc_http_resp_header(&resp, "location"), location + 10,
			    strlen(location) - 12);
	req.follow_redirects = true;
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body.buf, "there");
	/* only the final response's headers are kept */
	assert_null(drc_http_resp_header(&resp, "location"));
	req.body = NULL;
	req.body_len = src.total;
	req.read_fn = source_read;
	req.rewind_fn = source_rewind;
	req.read_data = &src;
	assert_int_equal(drc_http_request(&req, &resp, &err), 0);
	server_finish(&s);
	assert_int_equal(resp.status, 200);
	assert_int_equal(s.served, 5);
	assert_true(drc_starts_with(s.seen[2].head, "PUT /there HTTP/1.1\r\n"));
	assert_int_equal(s.seen[2].body_len, 10);
	assert_int_equal(s.seen[2].body_sum, fnv1a(FNV_INIT, "0123456789", 10));
	assert_int_equal(s.seen[4].body_len, src.total);
	assert_int_equal(s.seen[4].body_sum, pattern_sum(src.total));
	drc_http_resp_release(&resp);
	free((char *)req.url);
}

static int failing_rewind(void *data, struct drc_err *err)
{
	(void)data;
	return drc_err_set(err, DRC_E_IO, "unable to seek 'part-0001'");
}

static void test_rewind_failure_stops_retries(void **state)
{
	static const struct step steps[] = { { 503, NULL, "busy", 0 }, { 200, NULL, "ok", 0 } };
	struct source src = { 100, 0, 0 };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .method = "PUT", .read_fn = source_read,
				    .rewind_fn = failing_rewind, .read_data = &src,
				    .body_len = 100 };
	struct server s;

	(void)state;
	assert_int_equal(exchange(&s, steps, 2, &req, "/p", &quick, &resp, &err), -1);
	assert_int_equal(s.served, 1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_string_equal(err.msg, "unable to seek 'part-0001'");
	drc_http_resp_release(&resp);
}

static void test_retry_after_forms(void **state)
{
	static const struct step steps[] = {
		{ 503, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "past date", 0 },
		{ 503, "Retry-After: soon\r\n", "unreadable", 0 },
		{ 200, NULL, "ok", 0 },
		/* a wait past the deadline: that answer is the final one */
		{ 429, "Retry-After: 2\r\n", "later", 0 },
		{ 200, NULL, "not fetched", 0 },
	};
	const struct drc_retry deadline = { 3, 10, 5000, 300 };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { 0 };
	struct server s;
	int64_t start;

	(void)state;
	server_start(&s, steps, DRC_ARRAY_SIZE(steps));
	req.url = url_of(&s, "/x");
	assert_int_equal(drc_http_request_retry(&req, &resp, &quick, &err), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(s.served, 3);
	start = drc_now_ms();
	assert_int_equal(drc_http_request_retry(&req, &resp, &deadline, &err), 0);
	assert_true(drc_now_ms() - start < 1000);
	server_finish(&s);
	assert_int_equal(resp.status, 429);
	assert_int_equal(s.served, 4);
	assert_int_equal(err.code, DRC_E_NONE);
	drc_http_resp_release(&resp);
	free((char *)req.url);
}

static void test_tls_setup_failure_is_final(void **state)
{
	static const struct step steps[] = { { 200, NULL, "plain", 0 }, { 200, NULL, "x", 0 } };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_http_req req = { .ca_file = "/nonexistent/ca.pem", .timeout_ms = 2000 };
	struct server s;

	(void)state;
	server_start(&s, steps, 2);
	req.url = drc_xasprintf("https://127.0.0.1:%d/secure", s.port);
	/* a CA that cannot be used is not retried, and never falls back to no verification */
	assert_int_equal(drc_http_request_retry(&req, &resp, &quick, &err), -1);
	server_finish(&s);
	assert_true(s.served <= 1);
	assert_int_equal(err.code, DRC_E_NET);
	assert_non_null(strstr(err.msg, "unable to GET 'https://127.0.0.1:"));
	assert_int_equal(resp.status, 0);
	drc_http_resp_release(&resp);
	free((char *)req.url);
}

static void test_lib_version(void **state)
{
	int major = -1, minor = -1;

	(void)state;
	assert_int_equal(sscanf(drc_http_lib_version(), "%d.%d", &major, &minor), 2);
	/* CURLOPT_PROTOCOLS_STR needs 7.85 */
	assert_true(major > 7 || (major == 7 && minor >= 85));
}

static void test_only_http_and_https(void **state)
{
	static const char *const urls[] = { "file:///etc/passwd", "ftp://127.0.0.1/x",
					    "gopher://127.0.0.1/" };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(urls); i++) {
		struct drc_err err = DRC_ERR_INIT;
		struct drc_http_req req = { .url = urls[i] };

		assert_int_equal(drc_http_request(&req, &resp, &err), -1);
		assert_int_equal(err.code, DRC_E_NET);
		assert_int_equal(resp.body.len, 0);
	}
	drc_http_resp_release(&resp);
}

static void expect_escape(const char *in, unsigned flags, const char *want)
{
	struct drc_buf b = DRC_BUF_INIT;

	drc_http_url_escape(&b, in, flags);
	assert_string_equal(b.buf, want);
	drc_buf_release(&b);
}

static void test_url_escape(void **state)
{
	(void)state;
	expect_escape("", 0, "");
	expect_escape("AZaz09-._~", 0, "AZaz09-._~");
	expect_escape("a b/c", 0, "a%20b%2Fc");
	expect_escape("a b/c", DRC_HTTP_KEEP_SLASH, "a%20b/c");
	expect_escape("1+1=2&x*y", 0, "1%2B1%3D2%26x%2Ay");
	expect_escape("caf\xc3\xa9", 0, "caf%C3%A9");
	expect_escape("%/?#[]@!$'()", 0, "%25%2F%3F%23%5B%5D%40%21%24%27%28%29");
	expect_escape("backups/2026/p.tar", DRC_HTTP_KEEP_SLASH, "backups/2026/p.tar");
	expect_escape("\x01\x7f\xff", 0, "%01%7F%FF");
}

static void expect_display(const char *in, const char *want)
{
	char *got = drc_http_url_display(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_url_display(void **state)
{
	(void)state;
	expect_display("https://u:p@h.example:8443/a/b?sig=x#f", "https://h.example:8443/a/b");
	expect_display("http://h/a?x=1", "http://h/a");
	expect_display("http://user@h", "http://h");
	expect_display("http://h/p@q", "http://h/p@q"); /* an @ in the path is no userinfo */
	expect_display("https://a:b@c@h:1/", "https://h:1/");
	expect_display("h/x", "h/x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_200_body_and_headers),
		cmocka_unit_test(test_post_from_memory),
		cmocka_unit_test(test_503_then_200_is_retried),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_404_not_retried),
		cmocka_unit_test(test_5xx_until_attempts_run_out),
		cmocka_unit_test(test_closed_connection_is_retried),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_streaming_upload),
		cmocka_unit_test(test_upload_without_rewind_is_tried_once),
		cmocka_unit_test(test_callback_error_is_kept),
		cmocka_unit_test(test_streaming_download),
		cmocka_unit_test(test_write_callback_error_is_kept),
		cmocka_unit_test(test_head_delete_post),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_rewind_failure_stops_retries),
		cmocka_unit_test(test_retry_after_forms),
		cmocka_unit_test(test_tls_setup_failure_is_final),
		cmocka_unit_test(test_lib_version),
		cmocka_unit_test(test_only_http_and_https),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test(test_url_display),
	};
	struct drc_err err = DRC_ERR_INIT;
	int rc;

	if (drc_http_global_init(&err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	drc_http_global_cleanup();
	return rc;
}
