/* lib/util/log.c - diagnostics to stderr, as text or JSON lines, with registered secrets redacted */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/util.h"
#include "util/banned.h"

static enum drc_log_level log_level = DRC_LOG_INFO;
static enum drc_log_format log_format = DRC_LOG_TEXT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Secrets drctl has seen (passwords, keys): no log line or error message may carry them. */
static char **secrets;
static size_t secrets_nr, secrets_alloc;

void drc_log_setup(enum drc_log_level level, enum drc_log_format format)
{
	log_level = level;
	log_format = format;
}

enum drc_log_level drc_log_get_level(void)
{
	return log_level;
}

void drc_log_add_secret(const char *secret)
{
	/* very short strings would redact ordinary words; they are not worth protecting this way */
	if (!secret || strlen(secret) < 4)
		return;
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < secrets_nr; i++)
		if (!strcmp(secrets[i], secret))
			goto out;
	DRC_ALLOC_GROW(secrets, secrets_nr + 1, secrets_alloc);
	secrets[secrets_nr++] = drc_xstrdup(secret);
out:
	pthread_mutex_unlock(&log_lock);
}

void drc_redact_secrets(char *s, size_t cap)
{
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < secrets_nr; i++) {
		size_t slen = strlen(secrets[i]);
		char *hit;

		while ((hit = strstr(s, secrets[i])) != NULL) {
			size_t tail = strlen(hit + slen);

			/* "***" is never longer than a registered secret (>= 4 bytes) */
			memmove(hit + 3, hit + slen, tail + 1);
			memcpy(hit, "***", 3);
		}
	}
	pthread_mutex_unlock(&log_lock);
	(void)cap;
}

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void drc_log(enum drc_log_level level, const char *fmt, ...)
{
	struct drc_buf msg = DRC_BUF_INIT, line = DRC_BUF_INIT;
	char ts[40];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	drc_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	drc_redact_secrets(msg.buf, msg.alloc);
	msg.len = strlen(msg.buf);

	if (log_format == DRC_LOG_JSON) {
		drc_time_rfc3339(drc_wall_ms(), ts, sizeof(ts));
		drc_buf_addf(&line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
			     level_names[level]);
		drc_json_escape(&line, msg.buf);
		drc_buf_adds(&line, "}\n");
	} else if (level == DRC_LOG_INFO) {
		drc_buf_addf(&line, "%s\n", msg.buf);
	} else {
		drc_buf_addf(&line, "drctl: %s: %s\n", level_names[level], msg.buf);
	}
	pthread_mutex_lock(&log_lock);
	fputs(line.buf, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
	drc_buf_release(&msg);
	drc_buf_release(&line);
}
