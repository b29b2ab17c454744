/* lib/storage/azure-int.h - private to the azure driver's files: its state, requests, the writer */
#ifndef DRCTL_STORAGE_AZURE_INT_H
#define DRCTL_STORAGE_AZURE_INT_H

#include "storage/storage-int.h"

#define MAX_KEY_BYTES 128       /* account keys are 64 bytes */

/* An open azure target (st->priv). */
struct azure {
	struct drc_storage *st;
	char *account;
	char *container;
	unsigned char key[MAX_KEY_BYTES];
	size_t key_len;
	char *origin;           /* "https://host[:port]": scheme and authority */
	char *root;             /* the container's URL path: "/<account>/<container>" or "/<c>" */
	char *ca_file;
	size_t block_size;
	size_t read_chunk;
	unsigned page;
};

/* Adds x-ms-date, x-ms-version and Authorization to req for the blob key (NULL: the container)
 * and query (URL-encoded, or NULL), and sets its URL (returned: caller frees). The caller's
 * own headers must be in req already: they are signed. */
char *drc_azure_sign(struct azure *az, struct drc_http_req *req, const char *key,
		     const char *query);
/* Sends req (retried when retry is set) and says plainly when the server cannot be reached. */
int drc_azure_send(struct azure *az, const struct drc_http_req *req, struct drc_http_resp *resp,
		   bool retry, struct drc_err *err);
/* Sets err from an error answer: not found, a missing container, refused credentials, or the
 * service's code and message. Returns -1. */
int drc_azure_status_error(struct azure *az, const struct drc_http_resp *resp,
			   struct drc_err *err);

/* The driver's writer op (azure-blocks.c). */
int drc_azure_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		     struct drc_err *err);

#endif
