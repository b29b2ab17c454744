/* lib/snapshot/commit.c - a finished backup made visible: parts, then the signed manifest, last */
#include <stdlib.h>
#include <string.h>

#include "drctl/storage.h"
#include "snapshot/dump-int.h"
#include "util/banned.h"

/*
 * Until here nothing of the backup is visible anywhere: every part is an uncommitted writer
 * on every live target. Per target, the parts are committed first and the manifest last, so
 * a target either shows the whole backup or nothing a catalog calls a backup (a crash in
 * between leaves parts without a manifest: an orphan, which prune removes). A target that
 * fails on the way is rolled back there. The manifest names the targets that hold the backup;
 * when a target fails after the manifest went to others, it is written again without it.
 */

/* Removes what this backup committed on target t (best effort: prune gets the rest). */
static void rollback(struct dump *d, struct worker *w, size_t n, size_t t)
{
	struct drc_storage *st = fanout_storage(w[0].out, t);
	struct drc_err e = DRC_ERR_INIT;
	char *key = drc_snapshot_key(d->m->id, DRC_SNAPSHOT_MANIFEST);

	if (st && drc_storage_remove(st, key, &e) < 0)
		drc_warn("%s", e.msg);
	free(key);
	for (size_t i = 0; st && i < n; i++) {
		drc_err_clear(&e);
		key = drc_snapshot_key(d->m->id, d->m->parts[i].name);
		if (drc_storage_remove(st, key, &e) < 0)
			drc_warn("%s", e.msg);
		free(key);
	}
}

static void commit_parts(struct dump *d, struct worker *w, size_t n)
{
	for (size_t t = 0; t < d->plan->targets_nr; t++) {
		for (size_t i = 0; i < n && dump_target_live(d, t); i++) {
			struct drc_err e = DRC_ERR_INIT;

			if (fanout_commit(w[i].out, t, &e) < 0) {
				dump_target_fail(d, t, e.msg);
				rollback(d, w, n, t);
			}
		}
	}
}

/* Signs the manifest for the live targets and puts it where it is not yet (written[t]).
 * Returns 1 if a target failed (the others must get the manifest again), 0, or -1. */
static int put_manifest(struct dump *d, struct worker *w, size_t n, bool *written,
			struct drc_err *err)
{
	char *json = NULL, *key = drc_snapshot_key(d->m->id, DRC_SNAPSHOT_MANIFEST);
	int ret = 0;

	drc_strlist_clear(&d->m->targets);
	for (size_t t = 0; t < d->plan->targets_nr; t++)
		if (dump_target_live(d, t))
			drc_strlist_add(&d->m->targets, d->plan->targets[t].name);
	if (drc_manifest_sign(d->m, d->plan->secret, err) < 0 ||
	    drc_manifest_to_json(d->m, true, &json, err) < 0) {
		ret = -1;
		goto out;
	}
	for (size_t t = 0; t < d->plan->targets_nr; t++) {
		struct drc_err e = DRC_ERR_INIT;

		if (written[t] || !dump_target_live(d, t))
			continue;
		if (drc_storage_put_all(fanout_storage(w[0].out, t), key, json, strlen(json),
					&e) < 0) {
			dump_target_fail(d, t, e.msg);
			rollback(d, w, n, t);
			ret = 1;
		} else {
			written[t] = true;
		}
	}
out:
	free(json);
	free(key);
	return ret;
}

int commit_all(struct dump *d, struct worker *w, size_t n, struct drc_err *err)
{
	bool *written = drc_xcalloc(d->plan->targets_nr + 1, sizeof(*written));
	int ret;

	commit_parts(d, w, n);
	do {
		if (!dump_targets_live(d)) {
			ret = drc_err_set(err, DRC_E_STORAGE, "every storage target failed");
			break;
		}
		ret = put_manifest(d, w, n, written, err);
		if (ret == 1)
			memset(written, 0, d->plan->targets_nr * sizeof(*written));
	} while (ret == 1);
	if (ret < 0)
		for (size_t t = 0; t < d->plan->targets_nr; t++)
			if (dump_target_live(d, t))
				rollback(d, w, n, t);
	free(written);
	return ret;
}

/* The project's newest backup by created_at (milliseconds): ids order only to the second. */
static const struct drc_catalog_entry *previous(const struct drc_catalog *cat,
						const char *project)
{
	const struct drc_catalog_entry *best = NULL;

	for (size_t i = 0; i < cat->nr; i++) {
		const struct drc_catalog_entry *e = &cat->entries[i];

		if (!e->complete || !e->manifest_ok || !drc_streq(e->manifest.project, project))
			continue;
		if (!best || strcmp(e->manifest.created_at, best->manifest.created_at) >= 0)
			best = e;
	}
	return best;
}

void commit_diff(struct dump *d, struct worker *w)
{
	struct drc_storage **sts = drc_xcalloc(d->plan->targets_nr + 1, sizeof(*sts));
	struct drc_catalog cat = DRC_CATALOG_INIT;
	const struct drc_catalog_entry *prev;
	struct drc_err e = DRC_ERR_INIT;
	size_t k = 0;

	for (size_t t = 0; t < d->plan->targets_nr; t++)
		if (dump_target_live(d, t) && fanout_storage(w[0].out, t))
			sts[k++] = fanout_storage(w[0].out, t);
	if (drc_catalog_load(sts, k, &cat, &e) < 0) {
		drc_warn("no diff notes: the previous backup could not be looked up: %s", e.msg);
		goto out;
	}
	prev = previous(&cat, d->m->project);
	d->m->diff = drc_backup_diff(d->m, prev ? &prev->manifest : NULL);
out:
	drc_catalog_release(&cat);
	free(sts);
}
