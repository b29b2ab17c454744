/* include/drctl/http.h - the one libcurl wrapper: TLS verification on, timeouts, retries */
#ifndef DRCTL_HTTP_H
#define DRCTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "drctl/util.h"

/* curl_global_init, once, from main(). */
int drc_http_global_init(struct drc_err *err);
void drc_http_global_cleanup(void);
/* The libcurl version in use, e.g. "7.88.1" (static string). */
const char *drc_http_lib_version(void);

#endif
