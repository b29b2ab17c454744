/* lib/util/http.c - the one libcurl wrapper all HTTP goes through (TLS on, timeouts, retries) */
#include <curl/curl.h>

#include "drctl/http.h"
#include "util/banned.h"

int drc_http_global_init(struct drc_err *err)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		return drc_err_set(err, DRC_E_NET, "unable to initialize libcurl: %s",
				   curl_easy_strerror(rc));
	return 0;
}

void drc_http_global_cleanup(void)
{
	curl_global_cleanup();
}

const char *drc_http_lib_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}
