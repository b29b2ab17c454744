/* lib/storage/storage.c - storage front end: driver table, key checks, prefix, retries, errors */
#include <stdlib.h>
#include <string.h>

#include "drctl/json.h"
#include "drctl/storage.h"
#include "storage/storage-int.h"
#include "util/banned.h"

/* The drivers, by the "type" of a storage target, sorted: error messages list them in order. */
static const struct drc_storage_ops *const drivers[] = {
	&drc_storage_azure_ops,
	&drc_storage_fs_ops,
	&drc_storage_gcs_ops,
	&drc_storage_s3_ops,
};

static const char too_long[] = "it is longer than 1024 bytes (with the target's prefix)";

/* Why key is not a valid key, or NULL. The rules are the same on every driver, so a key that
 * one target takes every target takes (resync copies between them). */
static const char *key_problem(const char *key)
{
	if (!*key)
		return "it is empty";
	if (strlen(key) > DRC_STORAGE_KEY_MAX)
		return too_long;
	if (key[0] == '/')
		return "it starts with '/': keys are relative to the target";
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "it contains a control character";
	for (const char *seg = key; seg; seg = strchr(seg, '/')) {
		if (*seg == '/')
			seg++;
		if (*seg == '/' || *seg == '\0')
			return "it has an empty segment ('//' or a trailing '/')";
		if (*seg == '.')
			return "a segment starts with '.' ('.', '..', hidden names are reserved)";
	}
	return NULL;
}

/* key as messages quote it: cut, so the reason after it fits in the message, and with control
 * characters as '?', so a key cannot forge the text around it. Caller frees. */
static char *shown_key(const char *key)
{
	char *shown = strlen(key) > 120 ? drc_xasprintf("%.120s...", key) : drc_xstrdup(key);

	for (char *p = shown; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return shown;
}

/* Puts "unable to <verb> 'target:key'" before the reason a driver gave. */
static void word_error(struct drc_err *err, const char *verb, struct drc_storage *st,
		       const char *key)
{
	char *shown = shown_key(key);

	drc_err_prefix(err, DRC_STORAGE_ERR, verb, st->name, shown);
	free(shown);
}

/* Checks key and returns prefix + key (caller frees), or NULL with err set. A listing prefix
 * (is_prefix) may also be "" or end with '/'. */
static char *full_key(struct drc_storage *st, const char *key, bool is_prefix, struct drc_err *err)
{
	char *trimmed = drc_xstrdup(key);
	size_t len = strlen(trimmed);
	const char *why = NULL;

	if (is_prefix && len > 1 && trimmed[len - 1] == '/')
		trimmed[len - 1] = '\0';
	if (!is_prefix || len)
		why = key_problem(trimmed);
	if (!why && strlen(st->prefix) + len > DRC_STORAGE_KEY_MAX)
		why = too_long;
	free(trimmed);
	if (why) {
		char *shown = shown_key(key);

		drc_err_set(err, DRC_E_USAGE, DRC_STORAGE_ERR_KEY, st->name, shown, why);
		free(shown);
		return NULL;
	}
	return drc_xasprintf("%s%s", st->prefix, key);
}

/* ---- one operation, retried while its failure is transient ---- */

enum op { OP_STAT, OP_LIST, OP_READER, OP_WRITER, OP_REMOVE, OP_GET, OP_PUT };
static const char *const op_verb[] = { "stat", "list", "read", "write", "remove", "read", "write" };

struct entry {
	char *key;
	struct drc_stat st;
};

struct call {
	enum op op;
	struct drc_storage *st;
	const char *key;            /* the caller's key, for messages */
	char *full;                 /* prefix + key */
	struct drc_stat *stat;
	struct entry *entries;      /* OP_LIST */
	size_t entries_nr, entries_alloc;
	struct drc_reader **reader;
	struct drc_writer **writer;
	struct drc_buf *buf;        /* OP_GET */
	size_t max, start;
	const void *data;           /* OP_PUT */
	size_t n;
};

static void entries_clear(struct call *c)
{
	for (size_t i = 0; i < c->entries_nr; i++)
		free(c->entries[i].key);
	c->entries_nr = 0;
}

static int collect(const char *key, const struct drc_stat *st, void *data, struct drc_err *err)
{
	struct call *c = data;
	size_t strip = strlen(c->st->prefix);

	(void)err;
	if (!drc_starts_with(key, c->full))
		return 0; /* not asked for: a driver may list a little more than the prefix */
	DRC_ALLOC_GROW(c->entries, c->entries_nr, c->entries_alloc);
	c->entries[c->entries_nr].key = drc_xstrdup(key + strip);
	c->entries[c->entries_nr++].st = *st;
	return 0;
}

static int get_once(struct call *c, struct drc_err *err)
{
	struct drc_reader *r;
	char chunk[16384];
	size_t got;
	int ret = -1;

	if (c->st->ops->reader(c->st, c->full, &r, err) < 0)
		return -1;
	for (;;) {
		if (r->ops->read(r, chunk, sizeof(chunk), &got, err) < 0)
			goto out;
		if (!got)
			break;
		if (c->buf->len - c->start + got > c->max || drc_buf_add(c->buf, chunk, got) < 0) {
			drc_err_set(err, DRC_E_STORAGE, "it is larger than %zu bytes", c->max);
			goto out;
		}
	}
	ret = 0;
out:
	r->ops->close(r);
	return ret;
}

static int put_once(struct call *c, struct drc_err *err)
{
	struct drc_writer *w;
	int ret;

	if (c->st->ops->writer(c->st, c->full, &w, err) < 0)
		return -1;
	ret = w->ops->write(w, c->data, c->n, err);
	if (!ret)
		ret = w->ops->commit(w, err);
	w->ops->close(w, ret != 0);
	return ret;
}

static bool transient(const struct drc_err *err)
{
	if (err->code == DRC_E_NET)
		return true;
	return err->code == DRC_E_STORAGE &&
	       (err->sys == 429 || (err->sys >= 500 && err->sys < 600));
}

static int call_once(void *data, int attempt, struct drc_err *err)
{
	struct call *c = data;
	struct drc_storage *st = c->st;
	int ret = -1;

	(void)attempt;
	switch (c->op) {
	case OP_STAT: ret = st->ops->stat(st, c->full, c->stat, err); break;
	case OP_LIST:
		entries_clear(c); /* a retried listing starts over */
		ret = st->ops->list(st, c->full, collect, c, err);
		break;
	case OP_READER: ret = st->ops->reader(st, c->full, c->reader, err); break;
	case OP_WRITER: ret = st->ops->writer(st, c->full, c->writer, err); break;
	case OP_REMOVE: ret = st->ops->remove(st, c->full, err); break;
	case OP_GET:
		c->buf->len = c->start; /* a retried read starts over */
		if (c->buf->alloc)
			c->buf->buf[c->start] = '\0';
		ret = get_once(c, err);
		break;
	case OP_PUT: ret = put_once(c, err); break;
	}
	if (!ret)
		return 0;
	return transient(err) ? 1 : -1;
}

/* Checks the key, runs the operation with retries, and words its failure. */
static int run(struct call *c, struct drc_err *err)
{
	int ret;

	c->full = full_key(c->st, c->key, c->op == OP_LIST, err);
	if (!c->full)
		return -1;
	ret = drc_retry_run(&c->st->retry, call_once, c, err);
	if (ret)
		word_error(err, op_verb[c->op], c->st, c->key);
	free(c->full);
	return ret;
}

/* ---- opening ---- */

int drc_storage_err_not_found(struct drc_err *err)
{
	drc_err_set(err, DRC_E_STORAGE, DRC_STORAGE_MSG_NOT_FOUND);
	err->sys = DRC_STORAGE_NOT_FOUND;
	return -1;
}

bool drc_storage_is_not_found(const struct drc_err *err)
{
	return err->code == DRC_E_STORAGE && err->sys == DRC_STORAGE_NOT_FOUND;
}

/* The config's "prefix" as "" or "dir/" ('/' at either end optional). */
static int parse_prefix(struct drc_storage *st, const cJSON *cfg, struct drc_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(cfg, "prefix");
	const char *p, *why;
	size_t len;

	if (item && !cJSON_IsString(item))
		return drc_err_set(err, DRC_E_CONFIG, "storage '%s': \"prefix\" must be a string",
				   st->name);
	for (p = item ? item->valuestring : ""; *p == '/'; p++)
		;
	for (len = strlen(p); len && p[len - 1] == '/'; len--)
		;
	st->prefix = drc_xstrndup(p, len);
	why = len ? key_problem(st->prefix) : NULL;
	if (why)
		return drc_err_set(err, DRC_E_CONFIG, "storage '%s': invalid \"prefix\" '%s': %s",
				   st->name, item->valuestring, why);
	if (len) {
		free(st->prefix);
		st->prefix = drc_xasprintf("%.*s/", (int)len, p);
	}
	return 0;
}

int drc_storage_open_ops(const struct drc_storage_ops *ops, const char *name,
			 const struct cJSON *cfg, struct drc_storage **out, struct drc_err *err)
{
	struct drc_storage *st = drc_xcalloc(1, sizeof(*st));
	struct drc_retry retry = DRC_RETRY_DEFAULT;

	st->ops = ops;
	st->name = drc_xstrdup(name);
	st->retry = retry;
	if (parse_prefix(st, cfg, err) < 0 || ops->open(st, cfg, err) < 0) {
		free(st->prefix);
		free(st->name);
		free(st);
		return -1;
	}
	*out = st;
	return 0;
}

int drc_storage_open(const char *name, const struct cJSON *cfg, struct drc_storage **out,
		     struct drc_err *err)
{
	const char *type = drc_json_str(cfg, "type");
	struct drc_buf known = DRC_BUF_INIT;

	for (size_t i = 0; type && i < DRC_ARRAY_SIZE(drivers); i++)
		if (!strcmp(type, drivers[i]->type))
			return drc_storage_open_ops(drivers[i], name, cfg, out, err);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(drivers); i++)
		drc_buf_addf(&known, "%s%s", i ? ", " : "", drivers[i]->type);
	if (type)
		drc_err_set(err, DRC_E_CONFIG,
			    "storage '%s': unsupported type '%s' (this build supports: %s)", name,
			    type, known.buf);
	else
		drc_err_set(err, DRC_E_CONFIG,
			    "storage '%s': \"type\" is missing: set it to one of: %s", name,
			    known.buf);
	drc_buf_release(&known);
	return -1;
}

void drc_storage_close(struct drc_storage *st)
{
	if (!st)
		return;
	st->ops->close(st);
	free(st->prefix);
	free(st->name);
	free(st);
}

const char *drc_storage_name(const struct drc_storage *st)
{
	return st->name;
}

const char *drc_storage_type(const struct drc_storage *st)
{
	return st->ops->type;
}

/* ---- operations on keys ---- */

int drc_storage_stat(struct drc_storage *st, const char *key, struct drc_stat *out,
		     struct drc_err *err)
{
	struct call c = { .op = OP_STAT, .st = st, .key = key, .stat = out };

	return run(&c, err);
}

int drc_storage_exists(struct drc_storage *st, const char *key, bool *out, struct drc_err *err)
{
	struct drc_err mine = DRC_ERR_INIT;
	struct drc_stat s;

	if (drc_storage_stat(st, key, &s, &mine) == 0 || drc_storage_is_not_found(&mine)) {
		*out = mine.code == DRC_E_NONE;
		return 0;
	}
	*err = mine;
	return -1;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

int drc_storage_list(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		     struct drc_err *err)
{
	struct call c = { .op = OP_LIST, .st = st, .key = prefix };
	int ret;

	/* collected first, then handed out: a retried listing shows no key twice, and fn's
	 * errors stay fn's */
	ret = run(&c, err);
	if (!ret && c.entries_nr && !(st->ops->features & DRC_ST_SORTED))
		qsort(c.entries, c.entries_nr, sizeof(*c.entries), cmp_entry);
	for (size_t i = 0; !ret && i < c.entries_nr; i++)
		ret = fn(c.entries[i].key, &c.entries[i].st, data, err);
	entries_clear(&c);
	free(c.entries);
	return ret;
}

int drc_storage_remove(struct drc_storage *st, const char *key, struct drc_err *err)
{
	struct call c = { .op = OP_REMOVE, .st = st, .key = key };

	return run(&c, err);
}

int drc_storage_sweep(struct drc_storage *st, const char *prefix, int64_t older_than_ms,
		      size_t *removed, struct drc_err *err)
{
	char *full;
	int ret;

	*removed = 0;
	if (!st->ops->sweep)
		return 0;
	full = full_key(st, prefix, true, err);
	if (!full)
		return -1;
	ret = st->ops->sweep(st, full, older_than_ms, removed, err);
	if (ret < 0)
		drc_err_prefix(err, DRC_STORAGE_ERR, "sweep", st->name, prefix);
	free(full);
	return ret;
}

int drc_storage_get_all(struct drc_storage *st, const char *key, size_t max, struct drc_buf *out,
			struct drc_err *err)
{
	struct call c = { .op = OP_GET, .st = st, .key = key, .buf = out };

	c.max = max ? max : (size_t)64 << 20;
	c.start = out->len;
	return run(&c, err);
}

int drc_storage_put_all(struct drc_storage *st, const char *key, const void *data, size_t n,
			struct drc_err *err)
{
	struct call c = { .op = OP_PUT, .st = st, .key = key, .data = data, .n = n };

	return run(&c, err);
}

/* ---- streams ---- */

int drc_storage_reader(struct drc_storage *st, const char *key, struct drc_reader **out,
		       struct drc_err *err)
{
	struct call c = { .op = OP_READER, .st = st, .key = key, .reader = out };

	if (run(&c, err) < 0)
		return -1;
	(*out)->st = st;
	(*out)->key = drc_xstrdup(key);
	return 0;
}

int drc_reader_read(struct drc_reader *r, void *buf, size_t n, size_t *got, struct drc_err *err)
{
	*got = 0;
	if (r->ops->read(r, buf, n, got, err) == 0)
		return 0;
	word_error(err, "read", r->st, r->key);
	return -1;
}

void drc_reader_close(struct drc_reader *r)
{
	char *key;

	if (!r)
		return;
	key = r->key;
	r->ops->close(r);
	free(key);
}

int drc_storage_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		       struct drc_err *err)
{
	struct call c = { .op = OP_WRITER, .st = st, .key = key, .writer = out };

	if (run(&c, err) < 0)
		return -1;
	(*out)->st = st;
	(*out)->key = drc_xstrdup(key);
	(*out)->failed = false;
	return 0;
}

int drc_writer_write(struct drc_writer *w, const void *buf, size_t n, struct drc_err *err)
{
	if (w->failed)
		drc_err_set(err, DRC_E_BUG, "an earlier write failed: only abort is left");
	else if (!n || w->ops->write(w, buf, n, err) == 0)
		return 0;
	w->failed = true;
	word_error(err, "write", w->st, w->key);
	return -1;
}

static void writer_free(struct drc_writer *w, bool discard)
{
	char *key = w->key;

	w->ops->close(w, discard);
	free(key);
}

int drc_writer_commit(struct drc_writer *w, struct drc_err *err)
{
	int ret = -1;

	if (w->failed)
		drc_err_set(err, DRC_E_BUG, "an earlier write failed: nothing was committed");
	else
		ret = w->ops->commit(w, err);
	if (ret)
		word_error(err, "write", w->st, w->key);
	writer_free(w, ret != 0);
	return ret;
}

void drc_writer_abort(struct drc_writer *w)
{
	if (w)
		writer_free(w, true);
}
