/* lib/storage/azure-blocks.c - azure writer: Put Blob, or threaded Put Block and Put Block List */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/http.h"
#include "storage/azure-int.h"
#include "util/banned.h"

/*
 * A writer fills blocks of block_size bytes. An object smaller than one block is one Put Blob
 * at commit. A larger one is uploaded by Put Block as each block fills, up to SLOTS blocks in
 * flight in their own threads (memory: SLOTS * block_size), and made visible by Put Block List
 * at commit. Uncommitted blocks are invisible to reads and listings, so an aborted or killed
 * writer leaves nothing visible: Azure drops uncommitted blocks after 7 days by itself.
 */

#define SLOTS 3                 /* a writer's block buffers: one filling, the others uploading */
#define MAX_BLOCKS 50000u       /* Azure's limit of blocks in a blob */

struct az_writer;

struct block {
	struct az_writer *w;
	char *data;             /* block_size bytes, allocated on first use */
	size_t len;
	uint32_t index;         /* the block's number: its id is drc_azure_block_id(index) */
	pthread_t thread;
	bool running;           /* thread started and not joined */
	int ret;                /* the upload's result, once joined */
	struct drc_err err;
};

struct az_writer {
	struct drc_writer base;
	struct azure *az;
	char *key;
	struct block slots[SLOTS];
	size_t cur;             /* the slot being filled */
	uint32_t blocks;        /* blocks started */
};

/* PUT of body to key?query; 0 when the answer is 201. */
static int az_put(struct azure *az, const char *key, const char *query, const char *const *hdrs,
		  const void *body, size_t len, struct drc_err *err)
{
	/* a block may take long on a slow link: 60 s, plus 1 s per 64 KiB */
	struct drc_http_req req = { .method = "PUT", .body = body, .body_len = len,
				    .timeout_ms = 60000 + (long)(len >> 16) * 1000 };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	char *url;
	int ret;

	for (; hdrs && *hdrs; hdrs++)
		drc_http_req_header(&req, "%s", *hdrs);
	url = drc_azure_sign(az, &req, key, query);
	ret = drc_azure_send(az, &req, &resp, true, err);
	if (!ret && resp.status != 201)
		ret = drc_azure_status_error(az, &resp, err);
	free(url);
	drc_http_req_release(&req);
	drc_http_resp_release(&resp);
	return ret;
}

static void *put_block(void *data)
{
	struct block *b = data;
	struct drc_buf q = DRC_BUF_INIT;
	char id[DRC_AZURE_BLOCK_ID_MAX];

	drc_azure_block_id(b->index, id);
	drc_buf_adds(&q, "comp=block&blockid=");
	drc_http_url_escape(&q, id, 0);
	b->ret = az_put(b->w->az, b->w->key, q.buf, NULL, b->data, b->len, &b->err);
	drc_buf_release(&q);
	return NULL;
}

/* Waits for slot b's upload, if one runs; its result. */
static int join_block(struct block *b, struct drc_err *err)
{
	if (!b->running)
		return 0;
	pthread_join(b->thread, NULL);
	b->running = false;
	if (b->ret)
		*err = b->err;
	return b->ret;
}

/* Starts the upload of the slot being filled and moves to the next slot, once it is free. */
static int start_block(struct az_writer *w, struct drc_err *err)
{
	struct block *b = &w->slots[w->cur];

	if (w->blocks == MAX_BLOCKS)
		return drc_err_set(err, DRC_E_STORAGE, "the object needs more than %u blocks of "
				   "%zu bytes", MAX_BLOCKS, w->az->block_size);
	b->index = w->blocks++;
	b->ret = 0;
	if (pthread_create(&b->thread, NULL, put_block, b) == 0)
		b->running = true;
	else /* uncovered: needs thread exhaustion; then upload in this thread */
		put_block(b);
	if (!b->running && b->ret) {
		*err = b->err;
		return -1;
	}
	w->cur = (w->cur + 1) % SLOTS;
	b = &w->slots[w->cur];
	if (join_block(b, err) < 0)
		return -1;
	b->len = 0;
	return 0;
}

static int az_write(struct drc_writer *wr, const void *buf, size_t n, struct drc_err *err)
{
	struct az_writer *w = (struct az_writer *)wr;
	size_t bs = w->az->block_size;
	const char *p = buf;

	while (n) {
		struct block *b = &w->slots[w->cur];
		size_t take = bs - b->len < n ? bs - b->len : n;

		if (!b->data)
			b->data = drc_xmalloc(bs);
		memcpy(b->data + b->len, p, take);
		b->len += take;
		p += take;
		n -= take;
		if (b->len == bs && start_block(w, err) < 0)
			return -1;
	}
	return 0;
}

static int commit_blocks(struct az_writer *w, struct drc_err *err)
{
	static const char *const hdrs[] = { "Content-Type: application/xml", NULL };
	struct drc_buf xml = DRC_BUF_INIT;
	char id[DRC_AZURE_BLOCK_ID_MAX];
	int ret = 0;

	if (w->slots[w->cur].len)
		ret = start_block(w, err);
	for (size_t i = 0; i < SLOTS; i++) {
		struct drc_err e = DRC_ERR_INIT;

		if (join_block(&w->slots[i], &e) < 0 && !ret) {
			*err = e;
			ret = -1;
		}
	}
	if (ret)
		return -1;
	drc_buf_adds(&xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (uint32_t i = 0; i < w->blocks; i++) {
		drc_azure_block_id(i, id);
		drc_buf_addf(&xml, "<Latest>%s</Latest>", id);
	}
	drc_buf_adds(&xml, "</BlockList>");
	ret = az_put(w->az, w->key, "comp=blocklist", hdrs, xml.buf, xml.len, err);
	drc_buf_release(&xml);
	return ret;
}

static int az_commit(struct drc_writer *wr, struct drc_err *err)
{
	static const char *const hdrs[] = { "Content-Type: application/octet-stream",
					    "x-ms-blob-type: BlockBlob", NULL };
	struct az_writer *w = (struct az_writer *)wr;
	struct block *b = &w->slots[w->cur];

	if (w->blocks)
		return commit_blocks(w, err);
	/* smaller than a block: one Put Blob */
	return az_put(w->az, w->key, NULL, hdrs, b->data ? b->data : "", b->len, err);
}

/* Uncommitted blocks need no cleanup: they are invisible, and Azure drops them in 7 days. */
static void az_writer_close(struct drc_writer *wr, bool discard)
{
	struct az_writer *w = (struct az_writer *)wr;
	struct drc_err ignored = DRC_ERR_INIT;

	(void)discard;
	for (size_t i = 0; i < SLOTS; i++) {
		join_block(&w->slots[i], &ignored);
		free(w->slots[i].data);
	}
	free(w->key);
	free(w);
}

static const struct drc_writer_ops az_writer_ops = { az_write, az_commit, az_writer_close };

int drc_azure_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		     struct drc_err *err)
{
	struct az_writer *w = drc_xcalloc(1, sizeof(*w));

	(void)err;
	w->base.ops = &az_writer_ops;
	w->az = st->priv;
	w->key = drc_xstrdup(key);
	for (size_t i = 0; i < SLOTS; i++)
		w->slots[i].w = w;
	*out = &w->base;
	return 0;
}
