/* lib/util/retry.c - retry with exponential backoff and full jitter (AWS architecture blog) */
#include <stdlib.h>

#include "drctl/util.h"
#include "util/banned.h"

int64_t drc_retry_delay_ms(const struct drc_retry *policy, int n, double rnd)
{
	int64_t bound = policy->base_ms;

	/* full jitter: a random delay in [0, min(cap, base * 2^(n-1))] spreads out retry storms */
	for (int i = 1; i < n && bound < policy->max_ms; i++)
		bound *= 2;
	if (bound > policy->max_ms)
		bound = policy->max_ms;
	if (rnd < 0)
		rnd = 0;
	if (rnd >= 1)
		rnd = 0.999999;
	return (int64_t)(rnd * (double)(bound + 1));
}

static double jitter(void)
{
	/* per thread: parallel part uploads retry at once, and rand_r's state must not be shared */
	static _Thread_local unsigned seed;

	if (!seed)
		seed = (unsigned)(drc_wall_ms() ^ (int64_t)(size_t)&seed);
	return (double)rand_r(&seed) / ((double)RAND_MAX + 1.0);
}

int drc_retry_run(const struct drc_retry *policy, drc_retry_fn *fn, void *data, struct drc_err *err)
{
	int64_t start = drc_now_ms();
	int attempts = policy->attempts > 0 ? policy->attempts : 1;

	for (int attempt = 1; ; attempt++) {
		int rc = fn(data, attempt, err);
		int64_t delay;

		if (rc <= 0)
			return rc;
		if (attempt >= attempts)
			return -1;
		delay = drc_retry_delay_ms(policy, attempt, jitter());
		if (policy->deadline_ms && drc_now_ms() - start + delay > policy->deadline_ms)
			return -1;
		drc_debug("retrying in %lld ms (attempt %d of %d): %s", (long long)delay, attempt + 1,
			  attempts, err->msg);
		drc_sleep_ms(delay);
	}
}
