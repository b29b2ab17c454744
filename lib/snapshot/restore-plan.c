/* lib/snapshot/restore-plan.c - a restore's plan: source copy, keys, destination and its names */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/json.h"
#include "snapshot/part-stream.h"
#include "snapshot/restore-int.h"
#include "util/banned.h"

#define ID_LEN 21 /* YYYYMMDDTHHMMSSZ-xxxx */

void drc_restore_db_name(const char *dest, const char *tag, const char *suffix,
			 char out[DRC_RESTORE_NAME_MAX])
{
	size_t room = DRC_RESTORE_NAME_MAX - 1 - strlen(tag) - ID_LEN, n = strlen(dest);

	if (n > room) {
		n = room;
		while (n && ((unsigned char)dest[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 character */
	}
	snprintf(out, DRC_RESTORE_NAME_MAX, "%.*s%s%.*s", (int)n, dest, tag, ID_LEN, suffix);
}

bool drc_restore_table_match(const char *pattern, const char *schema, const char *name)
{
	char *full = drc_xasprintf("%s.%s", schema, name);
	bool ok = !fnmatch(pattern, full, 0) || !fnmatch(pattern, name, 0);

	free(full);
	return ok;
}

int drc_restore_order(const struct drc_catalog *cat, const struct drc_catalog_entry *e,
		      const struct drc_strlist *preferred, const char *from, size_t **order,
		      size_t *nr, struct drc_err *err)
{
	size_t i, pass;

	*order = drc_xcalloc(e->copies_nr + 1, sizeof(**order));
	*nr = 0;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < e->copies_nr; i++) {
			const char *name = drc_storage_name(cat->targets[e->copies[i].target]);
			bool pref = preferred && drc_strlist_has(preferred, name);

			if (!e->copies[i].has_manifest || (from && strcmp(from, name)))
				continue;
			if ((pass == 0) == pref)
				(*order)[(*nr)++] = e->copies[i].target;
		}
	}
	if (*nr)
		return 0;
	if (from)
		return drc_err_set(err, DRC_E_USAGE, "storage target '%s' holds no copy of backup "
				   "'%s' (it is on: %s)", from, e->id,
				   e->copies_nr ? "see drctl backup show" : "no target");
	return drc_err_set(err, DRC_E_INTEGRITY, "backup '%s': no target holds its manifest",
			   e->id);
}

/* Quick check of one copy: its manifest parses, is signed by a trusted signer, and every part
 * is there with its size. */
static int check_copy(struct restore *r, struct drc_storage *st, const char *id,
		      struct drc_manifest *m, struct drc_err *err)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(r->cfg->root, "keys");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(keys, "signers"), *it;
	const char *signers[64];
	size_t n = 0, i;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && n < DRC_ARRAY_SIZE(signers))
			signers[n++] = it->valuestring;
	if (!n)
		return drc_err_set(err, DRC_E_CONFIG, DRC_SNAPSHOT_NO_SIGNERS);
	if (drc_manifest_load(st, id, m, err) < 0)
		return -1;
	if (drc_manifest_verify(m, signers, n, err) < 0) {
		if (err->code != DRC_E_CONFIG)
			drc_err_prefix(err, "'%s:backups/%s/%s'", drc_storage_name(st), id,
				       DRC_SNAPSHOT_MANIFEST);
		return -1;
	}
	for (i = 0; i < m->parts_nr; i++) {
		char *key = drc_snapshot_key(id, m->parts[i].name);
		struct drc_stat s;
		int ret = drc_storage_stat(st, key, &s, err);

		if (ret < 0 && drc_storage_is_not_found(err))
			drc_err_set(err, DRC_E_INTEGRITY, "'%s:%s': part missing",
				    drc_storage_name(st), key);
		else if (ret == 0 && s.size != m->parts[i].size)
			ret = drc_err_set(err, DRC_E_INTEGRITY, "'%s:%s': size mismatch (expected "
					  "%llu bytes, got %llu)", drc_storage_name(st), key,
					  (unsigned long long)m->parts[i].size,
					  (unsigned long long)s.size);
		free(key);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* keys.secret opens the data key; else DRC_E_INTEGRITY listing the backup's recipients. */
static int open_key(struct restore *r, struct drc_err *err)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(r->cfg->root, "keys");
	const char *path = drc_json_str(keys, "secret");
	struct drc_buf list = DRC_BUF_INIT;
	size_t i;

	if (!path || !*path)
		return drc_err_set(err, DRC_E_CONFIG, "keys.secret is not set: a restore needs the "
				   "secret key of a recipient the backup is sealed to");
	if (drc_secret_load(path, &r->secret, err) < 0)
		return -1;
	if (drc_part_open_data_key(&r->m, r->secret, &r->dk, err) == 0)
		return 0;
	for (i = 0; i < r->m.keys_nr; i++)
		drc_buf_addf(&list, "%s%s", i ? ", " : "", r->m.keys[i].recipient);
	drc_err_set(err, DRC_E_INTEGRITY, "backup '%s' is not sealed to this host's key "
		    "(keys.secret '%s'): it is sealed to %s", r->m.id, path,
		    list.len ? list.buf : "no recipient");
	drc_buf_release(&list);
	return -1;
}

/* Every configured target: the regions' in config order, then the other storage.* entries. */
static int open_targets(struct restore *r, struct drc_err *err)
{
	const cJSON *storage = cJSON_GetObjectItemCaseSensitive(r->cfg->root, "storage"), *it;
	struct drc_strlist names = DRC_STRLIST_INIT;
	size_t i, k;
	int ret = 0;

	for (i = 0; i < r->cfg->regions_nr; i++)
		for (k = 0; k < r->cfg->regions[i].storage.nr; k++)
			if (!drc_strlist_has(&names, r->cfg->regions[i].storage.items[k]))
				drc_strlist_add(&names, r->cfg->regions[i].storage.items[k]);
	cJSON_ArrayForEach(it, storage)
		if (!drc_strlist_has(&names, it->string))
			drc_strlist_add(&names, it->string);
	if (!names.nr)
		ret = drc_err_set(err, DRC_E_CONFIG, "no storage targets configured (storage.* "
				  "in the config, and regions.*.storage)");
	r->st = drc_xcalloc(names.nr + 1, sizeof(*r->st));
	for (i = 0; ret == 0 && i < names.nr; i++) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(storage, names.items[i]);

		if (!c)
			ret = drc_err_set(err, DRC_E_CONFIG, "storage target '%s' is named by a "
					  "region but not defined under \"storage\"",
					  names.items[i]);
		else if ((ret = drc_storage_open(names.items[i], c, &r->st[r->st_nr], err)) == 0)
			r->st_nr++;
	}
	drc_strlist_clear(&names);
	if (ret == 0)
		ret = drc_catalog_load(r->st, r->st_nr, &r->cat, err);
	return ret;
}

/* The region whose copies are read first: the destination's, or the region whose database
 * is on the destination's host (a staging or --target-db server next to it). */
static const struct drc_region *preferred_region(struct restore *r, struct drc_err *err)
{
	const char *url;

	if (restore_dest_url(r, &url, err) < 0)
		return NULL;
	if (r->o->dest == DRC_RESTORE_TO_REGION)
		return drc_config_region(r->cfg, r->o->region);
	for (size_t i = 0; i < r->cfg->regions_nr; i++)
		if (drc_db_url_same_host(url, r->cfg->regions[i].db))
			return &r->cfg->regions[i];
	return NULL;
}

int restore_plan_source(struct restore *r, struct drc_err *err)
{
	const struct drc_region *reg = preferred_region(r, err);
	const struct drc_catalog_entry *e;
	struct drc_err first = DRC_ERR_INIT;

	if (err->code || open_targets(r, err) < 0 || drc_catalog_find(&r->cat, r->o->id, &e, err) < 0 ||
	    drc_restore_order(&r->cat, e, reg ? &reg->storage : NULL, r->o->from_target,
			      &r->order, &r->order_nr, err) < 0)
		return -1;
	snprintf(r->res->id, sizeof(r->res->id), "%s", e->id);
	for (r->cur = 0; r->cur < r->order_nr; r->cur++) {
		struct drc_storage *st = r->st[r->order[r->cur]];
		struct drc_err ce = DRC_ERR_INIT;

		drc_manifest_release(&r->m);
		if (check_copy(r, st, e->id, &r->m, &ce) == 0)
			break;
		if (ce.code == DRC_E_CONFIG) {
			*err = ce;
			return -1;
		}
		drc_strlist_addf(&r->res->notes, "copy on '%s' skipped: %s", drc_storage_name(st),
				 ce.msg);
		if (!first.code)
			first = ce;
	}
	if (r->cur == r->order_nr) {
		*err = first;
		drc_err_prefix(err, "backup '%s': no healthy copy", e->id);
		return -1;
	}
	r->res->source_target = drc_xstrdup(drc_storage_name(r->st[r->order[r->cur]]));
	r->selected = drc_xcalloc(r->m.tables_nr + 1, sizeof(*r->selected));
	for (size_t i = 0; i < r->m.tables_nr; i++) {
		r->selected[i] = !r->o->tables_nr;
		for (size_t p = 0; p < r->o->tables_nr && !r->selected[i]; p++)
			r->selected[i] = drc_restore_table_match(r->o->tables[p],
								 r->m.tables[i].schema,
								 r->m.tables[i].name);
		r->res->tables += r->selected[i];
	}
	if (r->o->tables_nr && !r->res->tables)
		return drc_err_set(err, DRC_E_USAGE, "no table of backup '%s' matches --table",
				   e->id);
	return open_key(r, err);
}
