/* lib/snapshot/prune.c - delete what retention does not keep, and incomplete uploads, per target */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/snapshot.h"
#include "drctl/storage.h"
#include "util/banned.h"

void drc_prune_report_release(struct drc_prune_report *rep)
{
	size_t i;

	for (i = 0; i < rep->nr; i++) {
		free(rep->actions[i].target);
		free(rep->actions[i].error);
	}
	free(rep->actions);
	memset(rep, 0, sizeof(*rep));
}

static int collect_key(const char *key, const struct drc_stat *st, void *data,
		       struct drc_err *err)
{
	(void)st;
	(void)err;
	drc_strlist_add(data, key);
	return 0;
}

/*
 * The manifest goes first: from that moment the backup is an orphan everywhere it is looked at
 * (list does not show it, restore does not pick it), so a crash halfway leaves only parts that
 * the next prune removes as an incomplete upload.
 */
int drc_prune_backup(struct drc_storage *st, const char *id, size_t *objects,
		     struct drc_err *err)
{
	struct drc_strlist keys = DRC_STRLIST_INIT;
	char *manifest = drc_snapshot_key(id, DRC_SNAPSHOT_MANIFEST);
	char *prefix = drc_xasprintf("backups/%s/", id);
	int ret = -1;
	size_t i;

	*objects = 0;
	if (drc_storage_remove(st, manifest, err) < 0)
		goto out;
	if (drc_storage_list(st, prefix, collect_key, &keys, err) < 0)
		goto out;
	for (i = 0; i < keys.nr; i++) {
		if (drc_storage_remove(st, keys.items[i], err) < 0)
			goto out;
		++*objects;
	}
	ret = 0;
out:
	drc_strlist_clear(&keys);
	free(prefix);
	free(manifest);
	return ret;
}

static struct drc_prune_action *add_action(struct drc_prune_report *rep, const char *target,
					   const char *id, const struct drc_catalog_copy *c)
{
	struct drc_prune_action *a;

	DRC_ALLOC_GROW(rep->actions, rep->nr, rep->alloc);
	a = &rep->actions[rep->nr++];
	memset(a, 0, sizeof(*a));
	a->target = drc_xstrdup(target);
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->orphan = !c->has_manifest;
	a->objects = c->objects;
	a->bytes = c->bytes;
	return a;
}

/* Carries out a->keep == false: on failure, records it and sets err if it is the first. */
static void act(struct drc_storage *st, struct drc_prune_action *a, const struct drc_prune_opts *o,
		struct drc_prune_report *rep, struct drc_err *err)
{
	struct drc_err e = DRC_ERR_INIT;
	size_t n;

	if (a->keep) {
		rep->kept++;
		return;
	}
	if (!o->dry_run && drc_prune_backup(st, a->id, &n, &e) < 0) {
		a->failed = true;
		a->error = drc_xstrdup(e.msg);
		if (!rep->failed++)
			*err = e;
		return;
	}
	rep->deleted++;
	rep->bytes_deleted += a->bytes;
}

static void orphan_reason(struct drc_prune_action *a, const struct drc_catalog_copy *c,
			  const struct drc_prune_opts *o)
{
	int64_t age = o->now_ms - c->newest_ms;

	a->keep = age < o->orphan_age_ms;
	snprintf(a->reason, sizeof(a->reason), "%s: incomplete upload, newest object %llds old",
		 a->keep ? "keep" : "delete", (long long)(age / 1000));
}

static void prune_target(const struct drc_catalog *cat, size_t t, const char *verified_id,
			 const struct drc_prune_opts *o, struct drc_prune_report *rep,
			 struct drc_err *err)
{
	struct drc_retention_item *items = drc_xcalloc(cat->nr + 1, sizeof(*items));
	const struct drc_catalog_copy **copies = drc_xcalloc(cat->nr + 1, sizeof(*copies));
	size_t i, n = 0;

	for (i = 0; i < cat->nr; i++) {
		const struct drc_catalog_copy *c = drc_catalog_copy_on(&cat->entries[i], t);

		if (!c || !c->has_manifest)
			continue;
		copies[n] = c;
		items[n].id = cat->entries[i].id;
		items[n].time_ms = cat->entries[i].time_ms;
		items[n].verified = verified_id && !strcmp(verified_id, cat->entries[i].id);
		n++;
	}
	drc_retention_apply(&o->policy, o->now_ms, items, n);
	for (i = 0; i < cat->nr; i++) {
		const struct drc_catalog_copy *c = drc_catalog_copy_on(&cat->entries[i], t);
		struct drc_prune_action *a;
		size_t k;

		if (!c)
			continue;
		a = add_action(rep, drc_storage_name(cat->targets[t]), cat->entries[i].id, c);
		if (a->orphan) {
			orphan_reason(a, c, o);
		} else {
			for (k = 0; k < n && copies[k] != c; k++)
				;
			a->keep = items[k].keep;
			snprintf(a->reason, sizeof(a->reason), "%s", items[k].reason);
		}
		act(cat->targets[t], a, o, rep, err);
	}
	free(copies);
	free(items);
}

/* What a writer killed mid-write left (a hidden temp file on fs) is no part and no orphan: the
 * catalog never sees it. It goes after the same age as orphaned parts. */
static void sweep_target(struct drc_storage *st, const struct drc_prune_opts *opts,
			 struct drc_prune_report *rep, struct drc_err *err)
{
	struct drc_err e = DRC_ERR_INIT;
	size_t n = 0;

	if (drc_storage_sweep(st, "backups/", opts->orphan_age_ms, &n, &e) < 0) {
		drc_warn("%s", e.msg);
		if (!rep->failed++)
			*err = e;
	}
	rep->swept += n;
}

int drc_prune_run(const struct drc_catalog *cat, const struct drc_prune_opts *opts,
		  struct drc_prune_report *rep, struct drc_err *err)
{
	const char *verified_id = NULL;
	size_t i;

	/* the newest backup that passed a verify anywhere stays everywhere */
	for (i = cat->nr; i-- > 0;) {
		if (cat->entries[i].complete && cat->entries[i].verified_ms > 0) {
			verified_id = cat->entries[i].id;
			break;
		}
	}
	for (i = 0; i < cat->targets_nr; i++) {
		if (cat->errors && cat->errors[i]) {
			struct drc_prune_action *a;

			DRC_ALLOC_GROW(rep->actions, rep->nr, rep->alloc);
			a = &rep->actions[rep->nr++];
			memset(a, 0, sizeof(*a));
			a->target = drc_xstrdup(drc_storage_name(cat->targets[i]));
			a->keep = true;
			a->failed = true;
			a->error = drc_xstrdup(cat->errors[i]);
			snprintf(a->reason, sizeof(a->reason), "skip: target could not be listed");
			if (!rep->failed++)
				drc_err_set(err, DRC_E_STORAGE, "%s", cat->errors[i]);
			continue;
		}
		prune_target(cat, i, verified_id, opts, rep, err);
		if (!opts->dry_run)
			sweep_target(cat->targets[i], opts, rep, err);
	}
	return rep->failed ? -1 : 0;
}

cJSON *drc_prune_report_json(const struct drc_prune_report *rep, bool dry_run)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "actions");
	size_t i;

	cJSON_AddBoolToObject(o, "dry_run", dry_run);
	cJSON_AddNumberToObject(o, "deleted", (double)rep->deleted);
	cJSON_AddNumberToObject(o, "kept", (double)rep->kept);
	cJSON_AddNumberToObject(o, "failed", (double)rep->failed);
	cJSON_AddNumberToObject(o, "bytes_deleted", (double)rep->bytes_deleted);
	cJSON_AddNumberToObject(o, "temporary_files_removed", (double)rep->swept);
	for (i = 0; i < rep->nr; i++) {
		const struct drc_prune_action *a = &rep->actions[i];
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "target", a->target);
		cJSON_AddStringToObject(x, "id", a->id);
		cJSON_AddStringToObject(x, "action", a->failed ? "failed" : a->keep ? "keep" :
					"delete");
		cJSON_AddBoolToObject(x, "incomplete", a->orphan);
		cJSON_AddStringToObject(x, "reason", a->reason);
		cJSON_AddNumberToObject(x, "objects", (double)a->objects);
		cJSON_AddNumberToObject(x, "bytes", (double)a->bytes);
		if (a->error)
			cJSON_AddStringToObject(x, "error", a->error);
		cJSON_AddItemToArray(arr, x);
	}
	return o;
}
