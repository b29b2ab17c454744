/* lib/audit/audit.c - the hash-chained audit log: append under a lock, redact, read, verify */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drctl/audit.h"
#include "drctl/json.h"
#include "util/banned.h"

/* An entry is a few hundred bytes: a last line longer than this is damage, not an entry. */
#define MAX_LINE (1u << 20)

/*
 * The canonical field order. The hash covers the entry printed (cJSON_PrintUnformatted) with
 * exactly these fields in exactly this order, so append and verify share this one table.
 */
#define OPTIONAL_FIELD "detail" /* present only when the command gave one */
static const char *const fields[] = {
	"seq", "time", "actor", "host", "command", "args", "reason", "detail", "result", "exit",
	"duration_ms", "prev_hash",
};

/* ---- redaction of arguments ---- */

static bool secret_option(const char *name, size_t len)
{
	static const char *const words[] = { "password", "passwd", "secret", "key", "token" };

	for (size_t w = 0; w < DRC_ARRAY_SIZE(words); w++) {
		size_t wl = strlen(words[w]);

		for (size_t i = 0; i + wl <= len; i++)
			if (!strncasecmp(name + i, words[w], wl))
				return true;
	}
	return false;
}

/* scheme://user:PASSWORD@host -> scheme://user:***@host, for every URL in s */
static void redact_userinfo(struct drc_buf *out, const char *s)
{
	const char *p = s, *sep;

	while ((sep = strstr(p, "://")) != NULL) {
		const char *auth = sep + 3;
		size_t alen = strcspn(auth, "/?# \t");
		const char *at = NULL, *colon;

		for (size_t i = 0; i < alen; i++)
			if (auth[i] == '@')
				at = auth + i;
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			drc_buf_add(out, p, (size_t)(colon + 1 - p));
			drc_buf_adds(out, "***");
			drc_buf_add(out, at, (size_t)(auth + alen - at));
		} else {
			drc_buf_add(out, p, (size_t)(auth + alen - p));
		}
		p = auth + alen;
	}
	drc_buf_adds(out, p);
}

/* password=VALUE (libpq keyword strings, query strings) -> password=*** */
static void redact_keywords(struct drc_buf *out, const char *s)
{
	static const char key[] = "password=";
	const char *p = s;

	while (*p) {
		if (strncasecmp(p, key, sizeof(key) - 1)) {
			drc_buf_addch(out, *p++);
			continue;
		}
		drc_buf_add(out, p, sizeof(key) - 1);
		p += sizeof(key) - 1;
		if (*p == '\'') { /* a quoted libpq value may hold spaces */
			const char *end = strchr(p + 1, '\'');

			p = end ? end + 1 : p + strlen(p);
		} else {
			p += strcspn(p, " \t&;");
		}
		drc_buf_adds(out, "***");
	}
}

/*
 * One argument as the audit log keeps it. *value_next carries "the previous argument was an
 * option such as --password whose value follows as its own argument".
 */
static char *redact_arg(const char *arg, bool *value_next)
{
	struct drc_buf a = DRC_BUF_INIT, b = DRC_BUF_INIT;

	if (*value_next) {
		*value_next = false;
		return drc_xstrdup("***");
	}
	if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
		const char *eq = strchr(arg, '=');
		size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

		if (secret_option(arg + 2, len - 2)) {
			if (!eq) {
				*value_next = true;
				return drc_xstrdup(arg);
			}
			return drc_xasprintf("%.*s=***", (int)len, arg);
		}
	}
	redact_userinfo(&a, arg);
	redact_keywords(&b, a.buf);
	drc_buf_release(&a);
	drc_redact_secrets(b.buf, b.alloc); /* only ever shortens the string */
	return drc_buf_detach(&b, NULL);
}

/* ---- entries and their hashes ---- */

static void add_string(cJSON *o, const char *name, const char *value)
{
	char *copy = drc_xstrdup(value ? value : "unknown");

	drc_redact_secrets(copy, strlen(copy) + 1);
	cJSON_AddStringToObject(o, name, copy);
	free(copy);
}

/* A copy of what a command adds (restore: the source copy, the destination), every string
 * passed through the same redaction as the arguments. */
static cJSON *redacted_copy(const cJSON *detail)
{
	cJSON *copy = cJSON_Duplicate(detail, 1), *item;
	bool value_next = false;

	if (!copy)
		DRC_BUG("out of memory copying audit detail");
	cJSON_ArrayForEach(item, copy) {
		if (cJSON_IsString(item)) {
			char *r = redact_arg(item->valuestring, &value_next);

			cJSON_SetValuestring(item, r);
			free(r);
			value_next = false;
		}
	}
	return copy;
}

/* The entry without its hash, its fields in the canonical order. */
static cJSON *entry_new(uint64_t seq, const char *prev_hash, const struct drc_audit_entry *e)
{
	cJSON *o = cJSON_CreateObject(), *args = cJSON_CreateArray();
	bool value_next = false;
	char ts[40];

	drc_time_rfc3339(drc_wall_ms(), ts, sizeof(ts));
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	cJSON_AddStringToObject(o, "time", ts);
	add_string(o, "actor", e->actor);
	add_string(o, "host", e->host);
	add_string(o, "command", e->command);
	for (size_t i = 0; i < e->args_nr; i++) {
		char *r = redact_arg(e->args[i], &value_next);

		cJSON_AddItemToArray(args, cJSON_CreateString(r));
		free(r);
	}
	cJSON_AddItemToObject(o, "args", args);
	if (e->reason)
		add_string(o, "reason", e->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	if (e->detail) /* absent otherwise: entries written before it existed stay valid */
		cJSON_AddItemToObject(o, "detail", redacted_copy(e->detail));
	add_string(o, "result", e->result);
	cJSON_AddNumberToObject(o, "exit", e->exit_code);
	cJSON_AddNumberToObject(o, "duration_ms", (double)e->duration_ms);
	cJSON_AddStringToObject(o, "prev_hash", prev_hash);
	if (cJSON_GetArraySize(o) != (int)DRC_ARRAY_SIZE(fields) - !e->detail ||
	    cJSON_GetArraySize(args) != (int)e->args_nr)
		DRC_BUG("out of memory building an audit entry");
	return o;
}

/* 64 lowercase hex digits */
static bool is_hash(const char *s)
{
	return s && strlen(s) == DRC_HASH_HEX - 1 &&
	       strspn(s, "0123456789abcdef") == DRC_HASH_HEX - 1;
}

static bool is_field(const char *name)
{
	for (size_t i = 0; i < DRC_ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i], name))
			return true;
	return false;
}

int drc_audit_entry_hash(const cJSON *entry, char hex[DRC_HASH_HEX], struct drc_err *err)
{
	cJSON *canon = cJSON_CreateObject();
	const cJSON *item;
	struct drc_hash h;
	const char *prev;
	char *text;

	cJSON_ArrayForEach(item, entry) {
		if (!item->string || (!is_field(item->string) && strcmp(item->string, "hash"))) {
			cJSON_Delete(canon);
			return drc_err_set(err, DRC_E_INTEGRITY, "unknown field '%s'",
					   item->string ? item->string : "");
		}
	}
	for (size_t i = 0; i < DRC_ARRAY_SIZE(fields); i++) {
		item = cJSON_GetObjectItemCaseSensitive(entry, fields[i]);
		if (!item && !strcmp(fields[i], OPTIONAL_FIELD))
			continue;
		if (!item) {
			cJSON_Delete(canon);
			return drc_err_set(err, DRC_E_INTEGRITY, "field '%s' is missing",
					   fields[i]);
		}
		cJSON_AddItemToObject(canon, fields[i], cJSON_Duplicate(item, 1));
	}
	prev = drc_json_str(entry, "prev_hash");
	if (!is_hash(prev)) {
		cJSON_Delete(canon);
		return drc_err_set(err, DRC_E_INTEGRITY, "field 'prev_hash' is not a hash");
	}
	text = cJSON_PrintUnformatted(canon);
	cJSON_Delete(canon);
	if (!text)
		DRC_BUG("out of memory printing an audit entry");
	drc_hash_init(&h);
	drc_hash_update(&h, prev, strlen(prev));
	drc_hash_update(&h, "\n", 1);
	drc_hash_update(&h, text, strlen(text));
	drc_hash_final_hex(&h, hex);
	cJSON_free(text);
	return 0;
}

/* ---- append ---- */

static int lock_fd(int fd, int op, const char *path, struct drc_err *err)
{
	while (flock(fd, op) < 0)
		if (errno != EINTR) /* uncovered: flock of an open file does not fail */
			return drc_err_errno(err, DRC_E_IO, "unable to lock the audit log '%s'",
					     path);
	return 0;
}

static int damaged(struct drc_err *err, const char *path, const char *why)
{
	return drc_err_set(err, DRC_E_INTEGRITY,
			   "unable to append to the audit log '%s': its last line %s, so the "
			   "log is damaged and nothing was appended (look with 'drctl audit log "
			   "--file %s', then repair the file or move it aside)", path, why, path);
}

/* Reads the last line of a file of size bytes that ends in '\n', reading backwards. */
static int read_last_line(int fd, const char *path, off_t size, char **out, struct drc_err *err)
{
	off_t end = size - 1, pos = end, start = 0;
	char chunk[4096];
	ssize_t r;

	if (pread(fd, chunk, 1, end) != 1) /* uncovered: needs a failing disk */
		return drc_err_errno(err, DRC_E_IO, "unable to read the audit log '%s'", path);
	if (chunk[0] != '\n')
		return damaged(err, path, "is incomplete (no newline at its end)");
	while (pos > 0 && end - pos <= (off_t)MAX_LINE) {
		size_t n = pos > (off_t)sizeof(chunk) ? sizeof(chunk) : (size_t)pos;

		if (pread(fd, chunk, n, pos - (off_t)n) != (ssize_t)n) /* uncovered: as above */
			return drc_err_errno(err, DRC_E_IO, "unable to read the audit log '%s'",
					     path);
		for (size_t i = n; i > 0; i--) {
			if (chunk[i - 1] == '\n') {
				start = pos - (off_t)n + (off_t)i;
				goto found;
			}
		}
		pos -= (off_t)n;
	}
found: /* or past the limit, with start still 0 */
	if (end - start > (off_t)MAX_LINE)
		return damaged(err, path, "is longer than 1 MiB");
	*out = drc_xmalloc((size_t)(end - start) + 1);
	r = pread(fd, *out, (size_t)(end - start), start);
	if (r != (ssize_t)(end - start)) { /* uncovered: needs a failing disk */
		free(*out);
		return drc_err_errno(err, DRC_E_IO, "unable to read the audit log '%s'", path);
	}
	(*out)[end - start] = '\0';
	return 0;
}

/* The seq and hash of the last entry, which must be sound: never extend a broken chain. */
static int read_tail(int fd, const char *path, off_t size, uint64_t *seq, char prev[DRC_HASH_HEX],
		     struct drc_err *err)
{
	struct drc_err why = DRC_ERR_INIT;
	char hex[DRC_HASH_HEX];
	const cJSON *s;
	const char *hash;
	cJSON *json;
	char *line = NULL;
	int ret;

	*seq = 0;
	memcpy(prev, DRC_AUDIT_ZERO_HASH, DRC_HASH_HEX);
	if (size == 0)
		return 0;
	if (read_last_line(fd, path, size, &line, err) < 0)
		return -1;
	json = strlen(line) ? cJSON_ParseWithOpts(line, NULL, 1) : NULL;
	free(line);
	s = cJSON_GetObjectItemCaseSensitive(json, "seq");
	hash = drc_json_str(json, "hash");
	if (!cJSON_IsObject(json))
		ret = damaged(err, path, "is not a JSON object");
	else if (!cJSON_IsNumber(s) || s->valuedouble < 1 || s->valuedouble > 9e15 ||
		 s->valuedouble != (double)(uint64_t)s->valuedouble)
		ret = damaged(err, path, "has no valid 'seq'");
	else if (!is_hash(hash))
		ret = damaged(err, path, "has no valid 'hash'");
	else if (drc_audit_entry_hash(json, hex, &why) < 0)
		ret = damaged(err, path, why.msg);
	else if (strcmp(hex, hash))
		ret = damaged(err, path, "does not match its hash (it was edited)");
	else
		ret = 0;
	if (!ret) {
		*seq = (uint64_t)s->valuedouble;
		memcpy(prev, hash, DRC_HASH_HEX);
	}
	cJSON_Delete(json);
	return ret;
}

/* One write() of the whole line, then fsync; a short write is taken back. */
static int write_line(int fd, const char *path, const char *line, off_t size, struct drc_err *err)
{
	size_t len = strlen(line);
	ssize_t n;

	do
		n = write(fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) /* uncovered: needs a full or failing disk */
		return drc_err_errno(err, DRC_E_IO, "unable to write to the audit log '%s'", path);
	if ((size_t)n != len) { /* uncovered: as above */
		drc_err_set(err, DRC_E_IO, "unable to write to the audit log '%s': only %zd of %zu "
			    "bytes were written (is the disk full?)", path, n, len);
		/* a partial line would make every later append refuse: take it back */
		if (ftruncate(fd, size) < 0)
			drc_warn("unable to remove a partial line from the audit log '%s'", path);
		return -1;
	}
	if (fsync(fd) < 0) /* uncovered: needs a failing disk */
		return drc_err_errno(err, DRC_E_IO, "unable to sync the audit log '%s'", path);
	return 0;
}

/* mkdir -p of the directory that holds path (0700), and its fsync once a file was created. */
static int parent_dir(const char *path, bool sync, struct drc_err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, ret = 0;

	if (!slash)
		return 0;
	dir = slash == path ? drc_xstrdup("/") : drc_xstrndup(path, (size_t)(slash - path));
	if (!sync) {
		ret = drc_mkdir_p(dir, 0700, err);
	} else if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(fd) < 0) /* uncovered: needs a failing disk */
			ret = drc_err_errno(err, DRC_E_IO, "unable to sync the directory '%s'",
					    dir);
		close(fd);
	}
	free(dir);
	return ret;
}

int drc_audit_append(const char *path, const struct drc_audit_entry *e, struct drc_err *err)
{
	char prev[DRC_HASH_HEX], hash[DRC_HASH_HEX];
	char *text = NULL, *line = NULL;
	cJSON *entry = NULL;
	struct stat st;
	uint64_t seq;
	int fd, ret = -1;

	if (!path || !*path)
		return drc_err_set(err, DRC_E_CONFIG,
				   "no audit log path: set audit.path in the configuration");
	if (parent_dir(path, false, err) < 0)
		return -1;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return drc_err_errno(err, DRC_E_IO, "unable to open the audit log '%s'", path);
	if (lock_fd(fd, LOCK_EX, path, err) < 0)
		goto out;
	if (fstat(fd, &st) < 0) { /* uncovered: fstat of an open fd does not fail */
		drc_err_errno(err, DRC_E_IO, "unable to stat the audit log '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		drc_err_set(err, DRC_E_IO, "the audit log '%s' is not a regular file", path);
		goto out;
	}
	if (read_tail(fd, path, st.st_size, &seq, prev, err) < 0)
		goto out;
	entry = entry_new(seq + 1, prev, e);
	if (drc_audit_entry_hash(entry, hash, err) < 0) /* uncovered: entry_new sets every field */
		goto out;
	cJSON_AddStringToObject(entry, "hash", hash);
	text = cJSON_PrintUnformatted(entry);
	if (!text)
		DRC_BUG("out of memory printing an audit entry");
	line = drc_xasprintf("%s\n", text);
	if (write_line(fd, path, line, st.st_size, err) < 0)
		goto out;
	ret = st.st_size ? 0 : parent_dir(path, true, err);
out:
	close(fd); /* releases the lock */
	cJSON_Delete(entry);
	cJSON_free(text);
	free(line);
	return ret;
}

/* ---- read and verify ---- */

int drc_audit_read(const char *path, drc_audit_fn *fn, void *data, struct drc_err *err)
{
	unsigned long long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	ssize_t n;
	off_t left;
	int ret = -1;
	FILE *f = fopen(path, "re");

	if (!f) {
		if (errno == ENOENT)
			return 0;
		return drc_err_errno(err, DRC_E_IO, "unable to open the audit log '%s'", path);
	}
	/* appenders write under LOCK_EX, so the size seen under LOCK_SH ends after a whole entry */
	if (lock_fd(fileno(f), LOCK_SH, path, err) < 0)
		goto out;
	if (fstat(fileno(f), &st) < 0) { /* uncovered: fstat of an open fd does not fail */
		drc_err_errno(err, DRC_E_IO, "unable to stat the audit log '%s'", path);
		goto out;
	}
	flock(fileno(f), LOCK_UN);
	for (left = st.st_size; left > 0 && (n = getline(&line, &cap, f)) > 0; left -= n) {
		cJSON *json;
		int rc;

		lineno++;
		if (n > left)
			n = (ssize_t)left;
		line[n] = '\0';
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		json = strlen(line) ? cJSON_ParseWithOpts(line, NULL, 1) : NULL;
		if (!cJSON_IsObject(json)) {
			cJSON_Delete(json);
			drc_err_set(err, DRC_E_INTEGRITY, "the audit log '%s' is damaged: line "
				    "%llu is not a JSON object", path, lineno);
			goto out;
		}
		rc = fn(json, data, err);
		cJSON_Delete(json);
		if (rc < 0)
			goto out;
	}
	if (ferror(f)) { /* e.g. a directory */
		drc_err_errno(err, DRC_E_IO, "unable to read the audit log '%s'", path);
		goto out;
	}
	ret = 0;
out:
	free(line);
	fclose(f);
	return ret;
}

struct verify_state {
	const char *path;
	uint64_t line;
	char prev[DRC_HASH_HEX];
};

static int broken(struct drc_err *err, const struct verify_state *v, const char *why)
{
	return drc_err_set(err, DRC_E_INTEGRITY, "the audit log '%s' is broken at line %llu: %s",
			   v->path, (unsigned long long)v->line, why);
}

static int verify_entry(const cJSON *entry, void *data, struct drc_err *err)
{
	struct verify_state *v = data;
	const cJSON *seq = cJSON_GetObjectItemCaseSensitive(entry, "seq");
	const char *hash = drc_json_str(entry, "hash");
	struct drc_err why = DRC_ERR_INIT;
	char hex[DRC_HASH_HEX];

	v->line++;
	if (!cJSON_IsNumber(seq) || seq->valuedouble != (double)v->line)
		return broken(err, v, "its seq is not its line number (an entry was dropped, added "
			      "or reordered)");
	if (!is_hash(hash))
		return broken(err, v, "it has no valid 'hash'");
	if (drc_audit_entry_hash(entry, hex, &why) < 0)
		return broken(err, v, why.msg);
	if (strcmp(drc_json_str(entry, "prev_hash"), v->prev))
		return broken(err, v, "its prev_hash is not the hash of the entry before it (an "
			      "entry was dropped, edited or reordered)");
	if (strcmp(hex, hash))
		return broken(err, v, "its hash does not match its content (the entry was edited)");
	memcpy(v->prev, hash, DRC_HASH_HEX);
	return 0;
}

int drc_audit_verify(const char *path, struct drc_audit_report *report, struct drc_err *err)
{
	struct verify_state v = { path, 0, DRC_AUDIT_ZERO_HASH };

	if (drc_audit_read(path, verify_entry, &v, err) < 0)
		return -1;
	report->entries = v.line;
	memcpy(report->last_hash, v.prev, DRC_HASH_HEX);
	return 0;
}

char *drc_audit_default_path(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	/* the XDG base directory spec: a relative path is invalid and must be ignored */
	if (state && state[0] == '/')
		return drc_xasprintf("%s/drctl/audit.jsonl", state);
	if (!home || !*home) {
		const struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : "/";
	}
	return drc_xasprintf("%s/.local/state/drctl/audit.jsonl", home);
}
