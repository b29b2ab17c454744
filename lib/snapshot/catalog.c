/* lib/snapshot/catalog.c - the backups on every storage target, merged into one catalog by id */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drctl/snapshot.h"
#include "drctl/json.h"
#include "drctl/storage.h"
#include "util/banned.h"

#define VERIFIED_MAX (64u << 10)

static void entry_release(struct drc_catalog_entry *e)
{
	drc_manifest_release(&e->manifest);
	free(e->problem);
	free(e->copies);
	free(e->verified_by);
}

void drc_catalog_release(struct drc_catalog *cat)
{
	size_t i;

	for (i = 0; i < cat->nr; i++)
		entry_release(&cat->entries[i]);
	free(cat->entries);
	for (i = 0; i < cat->targets_nr && cat->errors; i++)
		free(cat->errors[i]);
	free(cat->errors);
	memset(cat, 0, sizeof(*cat));
}

/* The entry for id, made (in sorted place) if new. */
static struct drc_catalog_entry *entry_get(struct drc_catalog *cat, const char *id)
{
	size_t lo = 0, hi = cat->nr;
	struct drc_catalog_entry *e;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(cat->entries[mid].id, id);

		if (!c)
			return &cat->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	DRC_ALLOC_GROW(cat->entries, cat->nr, cat->alloc);
	memmove(&cat->entries[lo + 1], &cat->entries[lo], (cat->nr - lo) * sizeof(*e));
	cat->nr++;
	e = &cat->entries[lo];
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->time_ms = drc_snapshot_id_time(id);
	drc_manifest_init(&e->manifest);
	return e;
}

static struct drc_catalog_copy *copy_get(struct drc_catalog_entry *e, size_t t)
{
	if (!e->copies_nr || e->copies[e->copies_nr - 1].target != t) {
		e->copies = drc_xrealloc(e->copies, (e->copies_nr + 1) * sizeof(*e->copies));
		memset(&e->copies[e->copies_nr], 0, sizeof(*e->copies));
		e->copies[e->copies_nr++].target = t;
	}
	return &e->copies[e->copies_nr - 1];
}

struct list_state {
	struct drc_catalog *cat;
	size_t target;
};

/* "backups/<id>/<name>": anything else under backups/ is not ours and is left alone */
static int list_one(const char *key, const struct drc_stat *st, void *data, struct drc_err *err)
{
	struct list_state *ls = data;
	const char *id = key + strlen("backups/"), *slash = strchr(id, '/');
	char idbuf[DRC_SNAPSHOT_ID_MAX];
	struct drc_catalog_copy *c;

	(void)err;
	if (!slash || (size_t)(slash - id) >= sizeof(idbuf) || strchr(slash + 1, '/'))
		return 0;
	memcpy(idbuf, id, (size_t)(slash - id));
	idbuf[slash - id] = '\0';
	if (!drc_snapshot_id_ok(idbuf)) {
		drc_debug("ignoring '%s:%s': not a backup id", drc_storage_name(
				  ls->cat->targets[ls->target]), key);
		return 0;
	}
	c = copy_get(entry_get(ls->cat, idbuf), ls->target);
	c->objects++;
	c->bytes += st->size;
	if (st->mtime_ms > c->newest_ms)
		c->newest_ms = st->mtime_ms;
	if (!strcmp(slash + 1, DRC_SNAPSHOT_MANIFEST))
		c->has_manifest = true;
	else if (!strcmp(slash + 1, DRC_SNAPSHOT_VERIFIED))
		c->verified_ms = -1; /* present: read below */
	return 0;
}

/* "2026-11-22T02:40:14.123Z" (or without the fraction) to ms; -1 if it is not that */
static int64_t parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	int ms = 0, n = 0;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	if (s[n] == '.' && sscanf(s + n, ".%3d", &ms) == 1)
		n += 4;
	if (strcmp(s + n, "Z"))
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* verified.json on one copy; a damaged record only loses the "verified" column */
static void read_verified(struct drc_catalog *cat, struct drc_catalog_entry *e,
			  struct drc_catalog_copy *c)
{
	struct drc_storage *st = cat->targets[c->target];
	struct drc_buf raw = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	char *key = drc_snapshot_key(e->id, DRC_SNAPSHOT_VERIFIED);
	cJSON *json = NULL;
	int64_t t;

	c->verified_ms = 0;
	if (drc_storage_get_all(st, key, VERIFIED_MAX, &raw, &err) < 0 ||
	    drc_json_parse(raw.buf, key, &json, &err) < 0) {
		drc_warn("ignoring '%s:%s': %s", drc_storage_name(st), key, err.msg);
		goto out;
	}
	t = parse_rfc3339(drc_json_str(json, "time"));
	if (t <= 0) {
		drc_warn("ignoring '%s:%s': no valid \"time\"", drc_storage_name(st), key);
		goto out;
	}
	c->verified_ms = t;
	c->verified_deep = drc_json_bool(json, "deep", false);
	if (t > e->verified_ms) {
		const char *by = drc_json_str(json, "by");

		e->verified_ms = t;
		e->verified_deep = c->verified_deep;
		free(e->verified_by);
		e->verified_by = by ? drc_xstrdup(by) : NULL;
	}
out:
	cJSON_Delete(json);
	drc_buf_release(&raw);
	free(key);
}

/* The manifest from the first target holding one that parses. */
static void read_manifest(struct drc_catalog *cat, struct drc_catalog_entry *e)
{
	size_t i;

	for (i = 0; i < e->copies_nr; i++) {
		struct drc_catalog_copy *c = &e->copies[i];
		struct drc_err err = DRC_ERR_INIT;

		if (c->verified_ms < 0)
			read_verified(cat, e, c);
		if (!c->has_manifest)
			continue;
		e->complete = true;
		if (e->manifest_ok)
			continue;
		if (drc_manifest_load(cat->targets[c->target], e->id, &e->manifest, &err) == 0) {
			e->manifest_ok = true;
			e->manifest_target = c->target;
			free(e->problem);
			e->problem = NULL;
		} else if (!e->problem) {
			e->problem = drc_xstrdup(err.msg);
		}
	}
}

int drc_catalog_load(struct drc_storage **targets, size_t n, struct drc_catalog *out,
		     struct drc_err *err)
{
	struct drc_err first = DRC_ERR_INIT;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->targets = targets;
	out->targets_nr = n;
	out->errors = drc_xcalloc(n + 1, sizeof(*out->errors));
	for (i = 0; i < n; i++) {
		struct list_state ls = { out, i };
		struct drc_err e = DRC_ERR_INIT;

		if (drc_storage_list(targets[i], "backups/", list_one, &ls, &e) == 0)
			continue;
		out->errors[i] = drc_xstrdup(e.msg);
		out->errors_nr++;
		if (!first.code)
			first = e;
		drc_warn("%s", e.msg);
	}
	if (n && out->errors_nr == n) {
		*err = first;
		return -1;
	}
	for (i = 0; i < out->nr; i++)
		read_manifest(out, &out->entries[i]);
	return 0;
}

const struct drc_catalog_entry *drc_catalog_latest(const struct drc_catalog *cat)
{
	size_t i;

	for (i = cat->nr; i-- > 0;)
		if (cat->entries[i].complete && cat->entries[i].manifest_ok)
			return &cat->entries[i];
	return NULL;
}

int drc_catalog_find(const struct drc_catalog *cat, const char *id,
		     const struct drc_catalog_entry **out, struct drc_err *err)
{
	size_t i;

	*out = NULL;
	if (!strcmp(id, "latest")) {
		*out = drc_catalog_latest(cat);
		if (!*out)
			return drc_err_set(err, DRC_E_USAGE,
					   "no complete backup on any target (see drctl backup list)");
		return 0;
	}
	if (!drc_snapshot_id_ok(id))
		return drc_err_set(err, DRC_E_USAGE,
				   "'%s' is not a backup id (YYYYMMDDTHHMMSSZ-xxxx, or latest)", id);
	for (i = 0; i < cat->nr; i++) {
		if (strcmp(cat->entries[i].id, id))
			continue;
		if (!cat->entries[i].complete)
			return drc_err_set(err, DRC_E_USAGE,
					   "backup '%s' is incomplete (no manifest.json on any "
					   "target): an upload that did not finish, which prune "
					   "removes", id);
		*out = &cat->entries[i];
		return 0;
	}
	return drc_err_set(err, DRC_E_USAGE,
			   "no backup '%s' on any target (see drctl backup list)", id);
}

const struct drc_catalog_copy *drc_catalog_copy_on(const struct drc_catalog_entry *e, size_t t)
{
	size_t i;

	for (i = 0; i < e->copies_nr; i++)
		if (e->copies[i].target == t)
			return &e->copies[i];
	return NULL;
}

char *drc_catalog_targets_str(const struct drc_catalog *cat, const struct drc_catalog_entry *e)
{
	struct drc_buf b = DRC_BUF_INIT;
	size_t i;

	for (i = 0; i < e->copies_nr; i++) {
		if (!e->copies[i].has_manifest)
			continue;
		if (b.len)
			drc_buf_addch(&b, ',');
		drc_buf_adds(&b, drc_storage_name(cat->targets[e->copies[i].target]));
	}
	return drc_buf_detach(&b, NULL);
}

/* ---- JSON for `backup list --json` and `backup show --json` ---- */

cJSON *drc_catalog_verified_json(const struct drc_catalog_entry *e)
{
	cJSON *v;
	char when[40];

	if (e->verified_ms <= 0)
		return cJSON_CreateNull();
	v = cJSON_CreateObject();
	drc_time_rfc3339(e->verified_ms, when, sizeof(when));
	cJSON_AddStringToObject(v, "time", when);
	cJSON_AddBoolToObject(v, "deep", e->verified_deep);
	if (e->verified_by)
		cJSON_AddStringToObject(v, "by", e->verified_by);
	return v;
}

cJSON *drc_catalog_holders_json(const struct drc_catalog *cat, const struct drc_catalog_entry *e)
{
	cJSON *holders = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < e->copies_nr; i++)
		if (e->copies[i].has_manifest)
			cJSON_AddItemToArray(holders, cJSON_CreateString(
				drc_storage_name(cat->targets[e->copies[i].target])));
	return holders;
}

cJSON *drc_catalog_entry_json(const struct drc_catalog *cat, const struct drc_catalog_entry *e)
{
	const struct drc_manifest *m = &e->manifest;
	cJSON *o = cJSON_CreateObject();
	char when[40];

	cJSON_AddStringToObject(o, "id", e->id);
	drc_time_rfc3339(e->time_ms, when, sizeof(when));
	cJSON_AddStringToObject(o, "time", e->manifest_ok ? m->created_at : when);
	if (e->manifest_ok) {
		cJSON *src = cJSON_AddObjectToObject(o, "source");

		cJSON_AddStringToObject(src, "region", m->source_region);
		cJSON_AddStringToObject(src, "role", m->source_role);
		cJSON_AddNumberToObject(o, "size", (double)drc_manifest_size(m));
		cJSON_AddNumberToObject(o, "tables", (double)m->tables_nr);
		cJSON_AddNumberToObject(o, "rows", (double)drc_manifest_rows(m));
		cJSON_AddItemToObject(o, "note", m->note ? cJSON_CreateString(m->note) :
					  cJSON_CreateNull());
	}
	cJSON_AddItemToObject(o, "targets", drc_catalog_holders_json(cat, e));
	cJSON_AddNumberToObject(o, "targets_total", (double)cat->targets_nr);
	cJSON_AddItemToObject(o, "verified", drc_catalog_verified_json(e));
	cJSON_AddItemToObject(o, "problem", e->problem && !e->manifest_ok ?
			      cJSON_CreateString(e->problem) : cJSON_CreateNull());
	return o;
}
