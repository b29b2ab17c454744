/* lib/storage/s3-multipart.c - s3 and gcs writers: one PUT, or a multipart upload on threads */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/http.h"
#include "storage/s3-int.h"
#include "util/banned.h"

/*
 * Writers: bytes collect in a part buffer. An object that ends before the first part fills is
 * one PUT at commit. A larger one is a multipart upload: each full part goes to a thread of
 * its own (up to `parallel` at once) and CompleteMultipartUpload at commit makes the object
 * appear; abort sends AbortMultipartUpload (servers without it, like s3rver, keep the parts
 * and `prune` removes them). Memory per writer is at most part_size x (parallel + 1):
 * 8 MiB x 3 = 24 MiB by default, for objects up to 8 GB. S3 allows 10000 parts, so past 1000
 * parts the part size (and that bound) doubles every 1000 parts: an object of up to ~8 TB fits,
 * at 16 MiB parts from 8 GB, 32 MiB from 25 GB, and so on.
 */

#define MAX_PARTS 10000
#define MAX_PART_SIZE ((size_t)5 << 30)

struct part {
	struct s3_writer *w;
	pthread_t thread;
	bool threaded;          /* thread runs: join it */
	bool pending;           /* uploaded (or being uploaded): its result not yet collected */
	int number;             /* 1-based */
	char *data;
	size_t len, cap;
	char *etag;             /* the result */
	int ret;
	struct drc_err err;
};

struct s3_writer {
	struct drc_writer base;
	struct drc_storage *st;
	char *key;
	char *data;             /* the part being filled */
	size_t len, cap;
	char *upload_id;        /* NULL until a first part is full */
	char *upload_query;     /* "uploadId=<escaped>" */
	struct part *slots;     /* the target's `parallel` when the writer opened */
	size_t nslots;
	size_t next;            /* the slot the next part goes to */
	int parts;              /* parts handed to slots */
	char **etags;           /* by part number - 1 */
	bool completed;
};

/* The size of part number n: part_size, doubled every 1000 parts, at most 5 GiB. */
static size_t part_target(const struct s3 *s3, int n)
{
	size_t size = s3->part_size;

	for (int i = (n - 1) / 1000; i > 0 && size < MAX_PART_SIZE / 2; i--)
		size *= 2;
	return size;
}

static int create_upload(struct s3_writer *w, struct drc_err *err)
{
	struct s3_call c = S3_CALL_INIT;
	struct drc_buf q = DRC_BUF_INIT;
	int ret;

	c.r = (struct drc_s3_request){ .method = "POST", .key = w->key, .query = "uploads=" };
	c.retry = true;
	ret = drc_s3_exec(w->st, &c, err);
	if (!ret) {
		w->upload_id = drc_xml_get(c.resp.body.buf, c.resp.body.len, "UploadId");
		if (!w->upload_id || !*w->upload_id)
			ret = drc_err_set(err, DRC_E_FORMAT, "CreateMultipartUpload answered "
					  "without an UploadId");
	}
	if (!ret) {
		drc_buf_adds(&q, "uploadId=");
		drc_http_url_escape(&q, w->upload_id, 0);
		w->upload_query = drc_buf_detach(&q, NULL);
	}
	drc_http_resp_release(&c.resp);
	return ret;
}

static void *upload_part(void *data)
{
	struct part *p = data;
	struct s3_call c = S3_CALL_INIT;
	char *query = drc_xasprintf("partNumber=%d&%s", p->number, p->w->upload_query);
	const char *etag;

	c.r = (struct drc_s3_request){ .method = "PUT", .key = p->w->key, .query = query,
				       .body = p->data, .body_len = p->len };
	c.retry = true;
	p->ret = drc_s3_exec(p->w->st, &c, &p->err);
	etag = drc_http_resp_header(&c.resp, "etag");
	if (!p->ret && (!etag || !*etag))
		p->ret = drc_err_set(&p->err, DRC_E_FORMAT, "UploadPart answered without an ETag");
	if (!p->ret)
		p->etag = drc_xstrdup(etag);
	else
		drc_err_prefix(&p->err, "part %d", p->number);
	drc_http_resp_release(&c.resp);
	free(query);
	return NULL;
}

/* Waits for the part in slot p and keeps its ETag; -1 with its error if it failed. */
static int collect_part(struct s3_writer *w, struct part *p, struct drc_err *err)
{
	if (p->threaded)
		pthread_join(p->thread, NULL);
	p->threaded = false;
	if (!p->pending)
		return 0;
	p->pending = false;
	if (p->ret) {
		*err = p->err;
		return -1;
	}
	w->etags[p->number - 1] = p->etag;
	p->etag = NULL;
	return 0;
}

/* Hands the full buffer to the next slot, which uploads it on a thread of its own. */
static int send_part(struct s3_writer *w, struct drc_err *err)
{
	struct part *p = &w->slots[w->next];
	char *data;
	size_t cap;

	if (w->parts == MAX_PARTS)
		return drc_err_set(err, DRC_E_STORAGE, "the object needs more than %d parts",
				   MAX_PARTS);
	if (!w->upload_id && create_upload(w, err) < 0)
		return -1;
	if (collect_part(w, p, err) < 0)
		return -1;
	w->next = (w->next + 1) % w->nslots;
	data = p->data; /* the buffers swap: the slot's becomes the one to fill */
	cap = p->cap;
	p->data = w->data;
	p->cap = w->cap;
	p->len = w->len;
	w->data = data;
	w->cap = cap;
	w->len = 0;
	p->number = ++w->parts;
	drc_debug("'%s:%s': uploading part %d (%zu bytes)", w->st->name, w->key, p->number,
		  p->len);
	p->ret = 0;
	drc_err_clear(&p->err);
	p->pending = true;
	p->threaded = pthread_create(&p->thread, NULL, upload_part, p) == 0;
	if (!p->threaded) /* uncovered: no thread to be had; upload it here */
		upload_part(p);
	return 0;
}

static int s3_write(struct drc_writer *base, const void *buf, size_t n, struct drc_err *err)
{
	struct s3_writer *w = (struct s3_writer *)base;
	struct s3 *s3 = w->st->priv;
	const char *src = buf;

	while (n) {
		size_t target = part_target(s3, w->parts + 1), take;

		/* a full buffer goes only when more bytes come: an object of exactly one part
		 * stays a single PUT */
		if (w->len == target && send_part(w, err) < 0)
			return -1;
		target = part_target(s3, w->parts + 1);
		take = n < target - w->len ? n : target - w->len;
		if (w->len + take > w->cap) {
			size_t cap = w->cap ? w->cap : 65536;

			while (cap < w->len + take)
				cap *= 2;
			w->cap = cap < target ? cap : target;
			w->data = drc_xrealloc(w->data, w->cap);
		}
		memcpy(w->data + w->len, src, take);
		w->len += take;
		src += take;
		n -= take;
	}
	return 0;
}

static int complete_upload(struct s3_writer *w, struct drc_err *err)
{
	struct s3 *s3 = w->st->priv;
	struct drc_buf xml = DRC_BUF_INIT;
	struct s3_call c = S3_CALL_INIT;
	char *failed;
	int ret;

	drc_buf_adds(&xml, "<CompleteMultipartUpload>");
	for (int i = 0; i < w->parts; i++) {
		drc_buf_addf(&xml, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
		drc_xml_escape(&xml, w->etags[i]);
		drc_buf_adds(&xml, "</ETag></Part>");
	}
	drc_buf_adds(&xml, "</CompleteMultipartUpload>");
	c.r = (struct drc_s3_request){ .method = "POST", .key = w->key, .query = w->upload_query,
				       .body = xml.buf, .body_len = xml.len };
	c.headers[0] = "Content-Type: application/xml";
	c.retry = true;
	drc_debug("'%s:%s': completing the upload of %d parts", w->st->name, w->key, w->parts);
	ret = drc_s3_exec(w->st, &c, err);
	/* S3 may answer 200 and still fail, with an Error document as the body */
	failed = ret ? NULL : drc_xml_get(c.resp.body.buf, c.resp.body.len, "Error");
	if (failed)
		ret = drc_s3_status_error(w->st->name, s3->bucket, 500, c.resp.body.buf,
					  c.resp.body.len, false, err);
	free(failed);
	drc_http_resp_release(&c.resp);
	drc_buf_release(&xml);
	return ret;
}

static int s3_commit(struct drc_writer *base, struct drc_err *err)
{
	struct s3_writer *w = (struct s3_writer *)base;
	struct s3_call c = S3_CALL_INIT;
	int ret = 0;

	if (!w->upload_id) {
		c.r = (struct drc_s3_request){ .method = "PUT", .key = w->key, .body = w->data,
					       .body_len = w->len };
		c.retry = true;
		ret = drc_s3_exec(w->st, &c, err);
		drc_http_resp_release(&c.resp);
		w->completed = !ret;
		return ret;
	}
	ret = send_part(w, err);
	for (size_t i = 0; i < w->nslots; i++) {
		struct drc_err mine = DRC_ERR_INIT;

		if (collect_part(w, &w->slots[i], &mine) < 0 && !ret)
			ret = -1, *err = mine;
	}
	if (!ret)
		ret = complete_upload(w, err);
	w->completed = !ret;
	return ret;
}

static void abort_upload(struct s3_writer *w)
{
	struct s3_call c = S3_CALL_INIT;
	struct drc_err err = DRC_ERR_INIT;

	c.r = (struct drc_s3_request){ .method = "DELETE", .key = w->key,
				       .query = w->upload_query };
	if (drc_s3_exec(w->st, &c, &err) == 0)
		drc_debug("aborted the upload of '%s:%s'", w->st->name, w->key);
	else if (err.sys == 404 || err.sys == 405 || err.sys == 501) /* not there (s3rver) */
		drc_debug("unable to abort the upload of '%s:%s' (prune removes its parts): %s",
			  w->st->name, w->key, err.msg);
	else
		drc_warn("unable to abort the upload of '%s:%s' (prune removes its parts): %s",
			 w->st->name, w->key, err.msg);
	drc_http_resp_release(&c.resp);
}

static void s3_writer_close(struct drc_writer *base, bool discard)
{
	struct s3_writer *w = (struct s3_writer *)base;

	for (size_t i = 0; i < w->nslots; i++) {
		struct drc_err ignored = DRC_ERR_INIT;

		collect_part(w, &w->slots[i], &ignored);
		free(w->slots[i].data);
		free(w->slots[i].etag);
	}
	if (discard && w->upload_id && !w->completed)
		abort_upload(w);
	for (int i = 0; i < w->parts; i++)
		free(w->etags[i]);
	free(w->etags);
	free(w->slots);
	free(w->data);
	free(w->upload_id);
	free(w->upload_query);
	free(w->key);
	free(w);
}

static const struct drc_writer_ops s3_writer_ops = { s3_write, s3_commit, s3_writer_close };

int drc_s3_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		  struct drc_err *err)
{
	struct s3 *s3 = st->priv;
	struct s3_writer *w = drc_xcalloc(1, sizeof(*w));

	(void)err; /* nothing is sent before the first part is full */
	w->base.ops = &s3_writer_ops;
	w->st = st;
	w->key = drc_xstrdup(key);
	w->nslots = (size_t)s3->parallel;
	w->slots = drc_xcalloc(w->nslots, sizeof(*w->slots));
	for (size_t i = 0; i < w->nslots; i++)
		w->slots[i].w = w;
	w->etags = drc_xcalloc(MAX_PARTS, sizeof(*w->etags));
	*out = &w->base;
	return 0;
}
