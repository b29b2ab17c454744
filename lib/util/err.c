/* lib/util/err.c - struct drc_err: set once where a failure happens, mapped to an exit code */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/util.h"
#include "util/banned.h"

static void err_vset(struct drc_err *err, enum drc_errc code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	/* a secret must never reach a message, even one built from a server's reply */
	drc_redact_secrets(err->msg, sizeof(err->msg));
}

int drc_err_set(struct drc_err *err, enum drc_errc code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	err->sys = 0;
	return -1;
}

int drc_err_errno(struct drc_err *err, enum drc_errc code, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(saved));
	err->sys = saved;
	errno = saved;
	return -1;
}

void drc_err_prefix(struct drc_err *err, const char *fmt, ...)
{
	struct drc_buf b = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	drc_buf_addf(&b, ": %s", err->msg);
	/* a message longer than msg is cut at its end */
	snprintf(err->msg, sizeof(err->msg), "%s", b.buf);
	drc_redact_secrets(err->msg, sizeof(err->msg));
	drc_buf_release(&b);
}

void drc_err_clear(struct drc_err *err)
{
	memset(err, 0, sizeof(*err));
}

/* One table: an error class, its name in --json, and the exit status it leads to. */
static const struct {
	enum drc_errc code;
	const char *name;
	enum drc_exit exit;
} errc_table[] = {
	{ DRC_E_NONE, "none", DRC_EXIT_OK },
	{ DRC_E_IO, "io", DRC_EXIT_FAILED },
	{ DRC_E_CONFIG, "config", DRC_EXIT_USAGE },
	{ DRC_E_STORAGE, "storage", DRC_EXIT_FAILED },
	{ DRC_E_DB, "db", DRC_EXIT_FAILED },
	{ DRC_E_NET, "net", DRC_EXIT_FAILED },
	{ DRC_E_CRYPTO, "crypto", DRC_EXIT_FAILED },
	{ DRC_E_FORMAT, "format", DRC_EXIT_FAILED },
	{ DRC_E_REFUSED, "refused", DRC_EXIT_REFUSED },
	{ DRC_E_INTEGRITY, "integrity", DRC_EXIT_INTEGRITY },
	{ DRC_E_BUG, "bug", DRC_EXIT_FAILED },
	{ DRC_E_USAGE, "usage", DRC_EXIT_USAGE },
	{ DRC_E_AUTH, "auth", DRC_EXIT_FAILED },
};

enum drc_exit drc_err_exit(enum drc_errc code)
{
	for (size_t i = 0; i < DRC_ARRAY_SIZE(errc_table); i++)
		if (errc_table[i].code == code)
			return errc_table[i].exit;
	return DRC_EXIT_FAILED;
}

const char *drc_errc_name(enum drc_errc code)
{
	for (size_t i = 0; i < DRC_ARRAY_SIZE(errc_table); i++)
		if (errc_table[i].code == code)
			return errc_table[i].name;
	return "unknown";
}

const char *drc_exit_name(enum drc_exit code)
{
	static const char *const names[] = { "ok", "failed", "usage", "partial", "refused",
					     "integrity" };

	if ((unsigned)code < DRC_ARRAY_SIZE(names))
		return names[code];
	return "unknown";
}

void drc_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "drctl: BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
