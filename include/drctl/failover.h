/* include/drctl/failover.h - who is primary (topology), and the guarded failover that changes
 * it: lock, check, fence, promote, verify, DNS, record, notify (DESIGN.md §5) */
#ifndef DRCTL_FAILOVER_H
#define DRCTL_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "drctl/util.h"
#include "drctl/config.h"
#include "drctl/db.h"

/* ---- topology (lib/failover/topology.c): what drctl status shows ---- */
enum drc_topo_role {
	DRC_TOPO_DOWN,            /* not reachable (error says why) */
	DRC_TOPO_PRIMARY,
	DRC_TOPO_STANDBY,
	DRC_TOPO_FENCED,          /* not in recovery, read-only by configuration */
};
const char *drc_topo_role_name(enum drc_topo_role role); /* "down", "primary", ... */

struct drc_topo_region {
	const struct drc_region *cfg;    /* borrowed from the config */
	enum drc_topo_role role;
	char *error;                     /* why down / why some field is unknown, or NULL */
	char *server_version;            /* e.g. "15.20", NULL when down */
	uint64_t lsn;                    /* primary/fenced: current WAL position; standby: replay */
	uint64_t receive_lsn;            /* standby: received */
	bool streaming;                  /* standby: WAL receiver streaming */
	bool replay_paused;              /* standby */
	bool has_lag;                    /* standby with a reachable primary: the two below hold */
	uint64_t lag_bytes;              /* primary's current WAL position minus replay */
	double lag_seconds;              /* < 0 unknown */
	int64_t connect_ms;
};

struct drc_topology {
	struct drc_topo_region *regions; /* config order */
	size_t regions_nr;
	int primary;                     /* index of the one writable primary, -1 if none or
					  * several (split brain) */
	/* DNS: the record's answer from the first nameserver, and what it should be */
	bool dns_configured;
	char *dns_record;
	char *dns_answer;                /* NULL: no answer / not asked */
	char *dns_error;
	int dns_region;                  /* index of the region whose dns value it answers, -1 */
	/* etcd */
	bool etcd_configured;
	bool etcd_reachable;
	char *etcd_error;
	char *etcd_primary;              /* the recorded primary region, NULL if none */
	char *etcd_token;
	char *etcd_lsn;
	/* an unfinished failover run (lib/failover/state.c), or NULL */
	cJSON *failover_state;
	char *failover_error;            /* why the run state could not be read, or NULL */
	/* disagreements, one sentence each, worst first: "split brain: us-east and eu-west both
	 * accept writes", "DNS not repointed: db.example.test. answers 127.0.0.2 (us-east), the
	 * primary is eu-west (127.0.0.3)", "etcd records us-east as primary, but eu-west is",
	 * "no primary: ...", ... */
	struct drc_strlist problems;
	/* what is worth knowing but not wrong: "etcd not configured: split-brain protection is
	 * off", a primary without a dns value, DNS without nameservers to ask */
	struct drc_strlist notes;
	bool split_brain;
};
#define DRC_TOPOLOGY_INIT { 0 }
void drc_topology_release(struct drc_topology *t);
/* Reads every region (in parallel is not needed: each connect has the config's timeout), DNS
 * and etcd. Never fails: what cannot be read is an error inside. When the primary is
 * unambiguous, etcd reachable, its record absent or naming that primary, and no failover
 * unfinished, refreshes etcd's record of its WAL position (drc_coord_primary_touch) unless
 * no_write. Then judges it: primary, split_brain, dns_region, problems and notes. */
void drc_topology_read(const struct drc_config *cfg, bool no_write, struct drc_topology *out);
/* Failover readiness as checks of scope "failover" (drctl selftest): "etcd" (reachable and
 * agreeing; when coord is configured), "dns" (the record answers the primary's value; when
 * dns is configured), "unfinished" (only when a failover is unfinished). */
struct drc_checks;
void drc_topology_checks(const struct drc_topology *t, struct drc_checks *out);
/* The --json document of drctl status. */
cJSON *drc_topology_json(const struct drc_topology *t);
/* What the topology means for drctl status: DRC_EXIT_FAILED with split brain or no primary,
 * DRC_EXIT_PARTIAL with any other problem, DRC_EXIT_OK otherwise (notes do not count). */
enum drc_exit drc_topology_exit(const struct drc_topology *t);

/* ---- the failover run state (lib/failover/state.c) ---- */
/* The state of the last failover run: from etcd (key "failover") when coord is configured, else
 * the local file <dir of audit.path>/failover-<project>.json. *out NULL when there is none. */
int drc_failover_state_load(const struct drc_config *cfg, cJSON **out, struct drc_err *err);
/* Saves state where drc_failover_state_load reads it (etcd key "failover", or the file). */
int drc_failover_state_save(const struct drc_config *cfg, const cJSON *state, struct drc_err *err);
/* Whether a loaded state is an unfinished run ("complete": false). */
bool drc_failover_state_unfinished(const cJSON *state);


/* ---- failover (lib/failover/run.c and its steps) ---- */
/* The steps, in order. A re-run of an unfinished failover to the same region skips the steps
 * that are done. */
enum drc_fo_step {
	DRC_FO_LOCK,      /* take the etcd lock; its revision is the fencing token */
	DRC_FO_CHECK,     /* target reachable, in recovery, lag within probe.max_lag_bytes */
	DRC_FO_FENCE,     /* old primary read-only and its sessions ended, or its fence_hook */
	DRC_FO_CATCHUP,   /* the target has replayed all of the fenced primary's WAL */
	DRC_FO_PROMOTE,   /* pg_promote(wait => true) */
	DRC_FO_VERIFY,    /* a write through a new session on the new primary */
	DRC_FO_DNS,       /* repoint the record, confirm on the authoritative servers */
	DRC_FO_RECORD,    /* etcd: the new primary, under the lock */
	DRC_FO_NOTIFY,    /* webhooks in probe.notify */
	DRC_FO_STEPS
};
const char *drc_fo_step_name(enum drc_fo_step step);

struct drc_failover_opts {
	const char *to;           /* the region to promote */
	const char *reason;       /* recorded in etcd's lock holder and the notification */
	bool planned;             /* switchover: fence, wait for full catch-up, then promote */
	bool force;               /* past the lag limit (the estimated loss is recorded), or
				   * abandoning an unfinished failover to another region */
	bool dry_run;             /* the plan, with every guard evaluated; nothing changed */
	const char *actor;        /* user@host, for the lock holder and notification */
	const char *command;      /* "failover" or "failback", for the report */
	int64_t catchup_timeout_ms; /* planned catch-up; 0 = 30 s */
	int64_t promote_timeout_ms; /* 0 = 60 s */
};

struct drc_failover_result {
	/* {"command","from","to","planned","forced","resumed","token","complete","exit",
	 *  "steps":[{"name","status":"done|skipped|failed|pending","start_ms","ms","detail"}],
	 *  "rpo":{"bytes","last_replayed_commit","window_s","estimated"},
	 *  "rto_ms", "dns":{"record","value","confirm_ms"}, "plan":[...] (dry run)}
	 * Always set once the run started, success or not: print it as the timeline. */
	cJSON *report;
	int exit;                 /* what drctl exits with (0, 1, 3 partial, 4 refused...) */
	bool changed;             /* something was changed (fence, promote, DNS, etcd record) */
	struct drc_strlist warnings;
};
#define DRC_FAILOVER_RESULT_INIT { NULL, 0, false, DRC_STRLIST_INIT }
void drc_failover_result_release(struct drc_failover_result *res);

/* Runs (or resumes) a failover to opts->to. 0 when complete; -1 with err when refused
 * (DRC_E_REFUSED: a guard), failed, or partial (res->exit 3: promoted and verified, but DNS or
 * the etcd record not done; a re-run finishes them). */
int drc_failover_run(const struct drc_config *cfg, const struct drc_failover_opts *opts,
		     struct drc_failover_result *res, struct drc_err *err);

/* The text timeline of a report, one line per step ("  promote   done   0.412 s  ..."). */
void drc_failover_timeline_text(const cJSON *report, struct drc_buf *out);

/* ---- rebuilding a region as a standby (lib/failover/rebuild.c) ---- */
struct drc_rebuild_report {
	char *primary;                    /* the region it streams from now */
	struct drc_db_rebuild_result result;
	bool skipped;                     /* it already streamed from it (only_if_needed) */
	char *plan;                       /* dry run: what would be done */
};
void drc_rebuild_report_release(struct drc_rebuild_report *r);
/* Makes region a streaming standby of the one writable primary (drc_db_rebuild_standby with
 * its data_dir or rebuild_hook). Refused (DRC_E_REFUSED, with every region's role) on split
 * brain, without a primary, or when region is the primary; DRC_E_CONFIG without data_dir and
 * rebuild_hook. only_if_needed: a region already streaming from the primary is left as it is
 * (out->skipped). dry_run: out->plan says what would happen, nothing changes. */
int drc_failover_rebuild(const struct drc_config *cfg, const char *region, bool allow_basebackup,
			 bool only_if_needed, bool dry_run, struct drc_rebuild_report *out,
			 struct drc_err *err);

/* Failback: makes `to` (default: the region the last completed failover left) a streaming
 * standby of the current primary if it is not one (drc_db_rebuild_standby: pg_rewind, else
 * pg_basebackup; or its rebuild_hook), then a planned switchover back to it. The rebuild
 * appears in the report as a "rebuild" step before the failover's. */
struct drc_failback_opts {
	struct drc_failover_opts fo;   /* fo.to may be NULL */
	bool allow_basebackup;         /* default true */
};
int drc_failback_run(const struct drc_config *cfg, const struct drc_failback_opts *opts,
		     struct drc_failover_result *res, struct drc_err *err);

#endif
