/* lib/snapshot/fanout.c - one part's bytes, encrypted once, hashed, written to every live target */
#include <stdlib.h>
#include <string.h>

#include "drctl/storage.h"
#include "snapshot/dump-int.h"
#include "util/banned.h"

/*
 * The part writer hands over compressed tar bytes; they are encrypted here once and the same
 * ciphertext goes to one storage writer per target, in turn, from the worker's own thread. A
 * target whose write fails is dropped (for every part: the failure is shared through the dump)
 * and the others go on. Nothing is committed here: the dump commits the parts of a target only
 * once every part is complete, so a failed or interrupted backup leaves nothing visible.
 * Each fanout opens its own storage handles, so that no two threads share one.
 */
struct dest {
	struct drc_storage *st;
	struct drc_writer *w;       /* NULL once dropped or committed */
};

struct fanout {
	struct dump *d;
	char *key;
	struct drc_encryptor *enc;
	struct drc_buf cipher;      /* one call's ciphertext */
	struct drc_hash hash;
	uint64_t size;
	struct dest *dests;         /* per plan target */
	size_t dests_nr;
};

/* Drops target t from this fanout and fails it everywhere. */
static void drop(struct fanout *f, size_t t, const char *why)
{
	drc_writer_abort(f->dests[t].w);
	f->dests[t].w = NULL;
	if (why)
		dump_target_fail(f->d, t, why);
}

int fanout_new(struct dump *d, const char *key, struct fanout **out, struct drc_err *err)
{
	struct fanout *f = drc_xcalloc(1, sizeof(*f));

	f->d = d;
	f->key = drc_xstrdup(key);
	f->enc = drc_encryptor_new(d->dk);
	drc_hash_init(&f->hash);
	f->dests_nr = d->plan->targets_nr;
	f->dests = drc_xcalloc(f->dests_nr, sizeof(*f->dests));
	for (size_t t = 0; t < f->dests_nr; t++) {
		const struct plan_target *pt = &d->plan->targets[t];
		struct drc_err e = DRC_ERR_INIT;

		if (!dump_target_live(d, t))
			continue;
		if (drc_storage_open(pt->name, pt->cfg, &f->dests[t].st, &e) < 0 ||
		    drc_storage_writer(f->dests[t].st, key, &f->dests[t].w, &e) < 0)
			drop(f, t, e.msg);
	}
	*out = f;
	if (!dump_targets_live(d))
		return drc_err_set(err, DRC_E_STORAGE, "every storage target failed");
	return 0;
}

/* The same bytes to every target still live. */
static int send_all(struct fanout *f, const void *buf, size_t n, struct drc_err *err)
{
	size_t live = 0;

	if (!n)
		return 0;
	drc_hash_update(&f->hash, buf, n);
	f->size += n;
	__atomic_add_fetch(&f->d->bytes_stored, n, __ATOMIC_RELAXED);
	for (size_t t = 0; t < f->dests_nr; t++) {
		struct drc_err e = DRC_ERR_INIT;

		if (!f->dests[t].w)
			continue;
		if (!dump_target_live(f->d, t)) {
			drop(f, t, NULL); /* failed by another part */
			continue;
		}
		if (drc_writer_write(f->dests[t].w, buf, n, &e) < 0) {
			drop(f, t, e.msg);
			continue;
		}
		live++;
	}
	if (!live)
		return drc_err_set(err, DRC_E_STORAGE, "every storage target failed");
	return 0;
}

int fanout_out(void *data, const void *buf, size_t n, struct drc_err *err)
{
	struct fanout *f = data;
	int ret;

	if (dump_stopped(f->d))
		return drc_err_set(err, DRC_E_STORAGE, "stopped: another worker failed");
	if (drc_encryptor_write(f->enc, buf, n, &f->cipher, err) < 0)
		return -1;
	ret = send_all(f, f->cipher.buf, f->cipher.len, err);
	drc_buf_reset(&f->cipher);
	return ret;
}

int fanout_finish(struct fanout *f, uint64_t *size, char hash[DRC_HASH_HEX],
		  struct drc_err *err)
{
	int ret;

	if (drc_encryptor_finish(f->enc, &f->cipher, err) < 0)
		return -1;
	ret = send_all(f, f->cipher.buf, f->cipher.len, err);
	drc_buf_release(&f->cipher);
	if (ret)
		return -1;
	drc_hash_final_hex(&f->hash, hash);
	*size = f->size;
	return 0;
}

int fanout_commit(struct fanout *f, size_t t, struct drc_err *err)
{
	struct drc_writer *w = f->dests[t].w;

	if (!w)
		return drc_err_set(err, DRC_E_BUG, "part '%s' has no writer on target '%s'",
				   f->key, f->d->plan->targets[t].name);
	f->dests[t].w = NULL;
	return drc_writer_commit(w, err);
}

struct drc_storage *fanout_storage(struct fanout *f, size_t t)
{
	return f->dests[t].st;
}

void fanout_free(struct fanout *f)
{
	if (!f)
		return;
	for (size_t t = 0; t < f->dests_nr; t++) {
		drc_writer_abort(f->dests[t].w);
		drc_storage_close(f->dests[t].st);
	}
	free(f->dests);
	drc_encryptor_free(f->enc);
	drc_buf_release(&f->cipher);
	free(f->key);
	free(f);
}
