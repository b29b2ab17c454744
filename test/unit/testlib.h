/* test/unit/testlib.h - helpers several cmocka tests share (unit and live integration tests) */
#ifndef DRCTL_TESTLIB_H
#define DRCTL_TESTLIB_H

/* Include after <cmocka.h> (the helpers assert). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drctl/config.h"
#include "drctl/storage.h"


/* A config parsed from text, or the test fails with the parse error. */
static inline struct drc_config *testlib_config(const char *text)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg = NULL;

	if (drc_config_parse(text, NULL, &cfg, &err) < 0)
		fail_msg("config: %s", err.msg);
	return cfg;
}

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

/* rc is -1 and err has the class code and a message containing needle. (Unprefixed, as the
 * tests called their own copies: a test with another expect_err cannot include this.) */
static inline void expect_err(int rc, const struct drc_err *err, enum drc_errc code,
			      const char *needle)
{
	assert_int_equal(rc, -1);
	if (err->code != code || !strstr(err->msg, needle))
		fail_msg("expected %s error with '%s', got %s: '%s'", drc_errc_name(code), needle,
			 drc_errc_name(err->code), err->msg);
}

/* ---- the sandbox's environment, for live tests ctest runs without it ---- */

/* One escape of a $'...' part, p just past its backslash, appended to out: the bytes it
 * takes, or 0 for one bash's `printf %q` does not write. */
static inline size_t testlib_ansi_escape(const char *p, struct drc_buf *out)
{
	static const char from[] = "abeEfnrtv\\'\"?", to[] = "\a\b\033\033\f\n\r\t\v\\'\"?";
	const char *e = *p ? strchr(from, *p) : NULL;
	bool hex = *p == 'x';
	char digits[4] = "";
	size_t len = strspn(p + hex, hex ? "0123456789abcdefABCDEF" : "01234567");

	if (e) {
		drc_buf_addch(out, to[e - from]);
		return 1;
	}
	if (len > (hex ? 2u : 3u))
		len = hex ? 2 : 3;
	if (!len)
		return 0;
	memcpy(digits, p + hex, len);
	drc_buf_addch(out, (char)strtoul(digits, NULL, hex ? 16 : 8));
	return hex + len;
}

/* Appends to out the value of the shell word at p as bash's `printf %q` writes it: plain,
 * backslash-escaped, '...', "..." or $'...' (control characters) parts, up to the end of the
 * line. false for what would take a shell to expand ($var, `cmd`), an unclosed quote or a
 * second word: no line `scripts/sandbox env` prints. */
static inline bool testlib_unquote(const char *p, struct drc_buf *out)
{
	while (*p && *p != '\n') {
		if (*p == '\\' && p[1] && p[1] != '\n') {
			drc_buf_addch(out, p[1]);
			p += 2;
		} else if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');

			if (!q)
				return false;
			drc_buf_add(out, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (!*p || *p == '$' || *p == '`')
					return false;
				if (*p == '\\' && p[1] && strchr("$`\"\\", p[1]))
					p++;
				drc_buf_addch(out, *p);
			}
			p++;
		} else if (p[0] == '$' && p[1] == '\'') {
			for (p += 2; *p != '\'';) {
				size_t used;

				if (!*p)
					return false;
				if (*p != '\\') {
					drc_buf_addch(out, *p++);
					continue;
				}
				used = testlib_ansi_escape(p + 1, out);
				if (!used)
					return false;
				p += 1 + used;
			}
			p++;
		} else if (strchr("$`\\ \t", *p)) {
			return false;
		} else {
			drc_buf_addch(out, *p++);
		}
	}
	return true;
}

static inline bool testlib_env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/*
 * Makes sure the n variables in required are set, as the live tests need them: when one is
 * missing (ctest passes only DRCTL_SRC), it runs `$DRCTL_SRC/scripts/sandbox env` and sets
 * each variable it exports that the environment does not already have (a caller's own
 * servers win). A variable still missing fails the test, or the program when called outside
 * one (cmocka exits), naming it: a sandbox that is not running is a failure, never a skip.
 */
static inline void testlib_sandbox_env(const char *const *required, size_t n)
{
	const char *src = getenv("DRCTL_SRC");
	char *script = drc_xasprintf("%s/scripts/sandbox", src && *src ? src : ".");
	const char *argv[] = { script, "env", NULL };
	struct drc_proc p = { .argv = argv, .timeout_ms = 60000 };
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf why = DRC_BUF_INIT, value = DRC_BUF_INIT;
	char last[256], msg[1024];
	bool ran = false;
	size_t i;

	for (i = 0; i < n && testlib_env_set(required[i]); i++)
		;
	if (i == n) {
		free(script);
		return;
	}
	if (drc_proc_run(&p, &r, &err) < 0) {
		drc_buf_addf(&why, ": %s", err.msg);
	} else if (r.status != 0) {
		drc_proc_last_line(&r.errs, last, sizeof(last));
		drc_buf_addf(&why, ": it exited with status %d: %s", r.status, last);
	} else {
		ran = true;
	}
	for (char *line = ran ? r.out.buf : NULL; line && *line;) {
		char *eol = strchr(line, '\n'), *eq;

		if (eol)
			*eol = '\0';
		eq = strchr(line, '=');
		if (!strncmp(line, "export ", 7) && eq) {
			*eq = '\0';
			drc_buf_reset(&value);
			/* Only the name in the message: values hold passwords and keys. */
			if (!testlib_unquote(eq + 1, &value))
				drc_buf_addf(&why, "%s: cannot read its value of %s", why.len ? ";" : "",
					     line + 7);
			else if (!testlib_env_set(line + 7))
				setenv(line + 7, value.buf, 1);
		}
		line = eol ? eol + 1 : NULL;
	}
	for (i = 0; i < n && testlib_env_set(required[i]); i++)
		;
	if (i < n)
		snprintf(msg, sizeof(msg), "%s is not set and `%s env` did not set it%s: run "
			 "scripts/sandbox start (or export the variables for servers of your own)",
			 required[i], script, why.buf);
	drc_buf_release(&why);
	drc_buf_release(&value);
	drc_proc_result_release(&r);
	free(script);
	if (i < n)
		fail_msg("%s", msg);
}

#endif
