/* test/unit/testlib.h - helpers several cmocka tests share (unit and live integration tests) */
#ifndef DRCTL_TESTLIB_H
#define DRCTL_TESTLIB_H

/* Include after <cmocka.h> (the helpers assert). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drctl/storage.h"

/* A loopback port nothing listens on: bound, read back, closed. */
static inline int testlib_closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* drc_list_fn: appends "key:size" to the struct drc_buf in data, space-separated. */
static inline int testlib_listing_add(const char *key, const struct drc_stat *s, void *data,
				      struct drc_err *err)
{
	struct drc_buf *b = data;

	(void)err;
	assert_true(s->mtime_ms > 0);
	drc_buf_addf(b, "%s%s:%llu", b->len ? " " : "", key, (unsigned long long)s->size);
	return 0;
}

/* The listing of prefix as "key:size key:size ..." (caller frees); fails the test on error. */
static inline char *testlib_listing(struct drc_storage *st, const char *prefix)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;

	if (drc_storage_list(st, prefix, testlib_listing_add, &b, &err) < 0)
		fail_msg("%s", err.msg);
	return drc_buf_detach(&b, NULL);
}

#endif
