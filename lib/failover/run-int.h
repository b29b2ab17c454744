/* lib/failover/run-int.h - one failover run as its steps see it (private to lib/failover) */
#ifndef DRCTL_FAILOVER_RUN_INT_H
#define DRCTL_FAILOVER_RUN_INT_H

#include "drctl/coord.h"
#include "drctl/db.h"
#include "drctl/failover.h"

/* A region as the run found it. */
struct fo_region {
	const struct drc_region *cfg;
	struct drc_db *db;            /* NULL when not reachable */
	char *error;                  /* why not reachable */
	enum drc_db_role role;
};

struct fo_run {
	const struct drc_config *cfg;
	const struct drc_failover_opts *o;
	struct drc_failover_result *res;
	cJSON *report;                /* res->report */
	cJSON *steps;                 /* its "steps" array */
	int64_t t0, wall0;            /* monotonic and wall clock at the start */
	struct drc_coord *coord;      /* NULL without coord.etcd */
	struct drc_coord_lock lock;
	bool locked;
	struct fo_region *regions;
	size_t regions_nr;
	struct fo_region *target;
	struct fo_region *old;        /* the reachable old primary (writable or fenced), or NULL */
	const char *old_name;         /* its name, or the one etcd recorded, or NULL */
	uint64_t last_known_lsn;      /* of the old primary: live, or etcd's record; 0 unknown */
	struct drc_db_standby_pos pos;/* the target's, before promotion */
	bool resumed;
	bool done_before[DRC_FO_STEPS];/* done by the unfinished run this one resumes */
	uint64_t new_lsn;             /* after the verifying write */
};

/* A step: 0 done, 1 skipped (detail says why), -1 failed (err set). Each sets its step's
 * "detail" through fo_detail. In a dry run, steps only say what they would do (and check). */
typedef int fo_step_fn(struct fo_run *r, cJSON *step, struct drc_err *err);
fo_step_fn fo_step_check, fo_step_fence, fo_step_catchup, fo_step_promote, fo_step_verify,
	fo_step_dns, fo_step_record, fo_step_notify;

void fo_detail(cJSON *step, const char *fmt, ...) DRC_PRINTF(2, 3);
/* A new connection to a region with the config's timeouts; attempts 1 (a dead region
 * answers at once) or the default retries. */
int fo_connect(const struct drc_config *cfg, const struct drc_region *region, bool retry,
	       struct drc_db **out, struct drc_err *err);
/* "40.0 MiB (41943040 bytes)" */
void fo_bytes(uint64_t n, char *buf, size_t len);

#endif
