/* test/unit/test_failover_topology.c - lib/failover/topology*.c without servers: every
 * disagreement drctl status judges from a filled topology, its exit status and its JSON */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failover/failover-int.h"
#include "testlib.h"

static const char config_text[] =
	"{\"project\": \"t\","
	" \"regions\": {"
	"  \"us-east\": {\"db\": \"postgresql://u@127.0.0.1:1/a\", \"dns\": \"127.0.0.2\"},"
	"  \"eu-west\": {\"db\": \"postgresql://u@127.0.0.1:1/b\", \"dns\": \"127.0.0.3\"},"
	"  \"ap-south\": {\"db\": \"postgresql://u@127.0.0.1:1/c\"}},"
	" \"probe\": {\"max_lag_bytes\": 1048576},"
	" \"dns\": {\"provider\": \"powerdns\", \"api\": \"http://127.0.0.1:1\", \"key\": \"k\","
	"  \"zone\": \"example.test.\", \"record\": \"db.example.test.\","
	"  \"nameservers\": [\"127.0.0.1:1\"]},"
	" \"coord\": {\"etcd\": [\"http://127.0.0.1:1\"]}}";

enum { US, EU, AP };

struct fixture {
	struct drc_config *cfg;
	struct drc_topology t;
};


/* A healthy topology: us-east primary, the others streaming standbys close behind, DNS on
 * us-east, etcd recording us-east. */
static void fill(struct drc_topology *t, const struct drc_config *cfg)
{
	memset(t, 0, sizeof(*t));
	t->regions_nr = cfg->regions_nr;
	t->regions = calloc(t->regions_nr, sizeof(*t->regions));
	for (size_t i = 0; i < t->regions_nr; i++) {
		struct drc_topo_region *r = &t->regions[i];

		r->cfg = &cfg->regions[i];
		r->role = i == US ? DRC_TOPO_PRIMARY : DRC_TOPO_STANDBY;
		r->server_version = strdup("15.20");
		r->lsn = 0x3000060;
		r->receive_lsn = i == US ? 0 : 0x3000060;
		r->streaming = i != US;
		r->has_lag = i != US;
		r->lag_bytes = i == US ? 0 : 100;
		r->lag_seconds = i == US ? -1 : 0.5;
		r->connect_ms = 3;
	}
	t->dns_configured = true;
	t->dns_record = strdup("db.example.test.");
	t->dns_answer = strdup("127.0.0.2");
	t->etcd_configured = t->etcd_reachable = true;
	t->etcd_primary = strdup("us-east");
	t->etcd_token = strdup("5");
	t->etcd_lsn = strdup("0/3000060");
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->cfg = testlib_config(config_text);
	assert_int_equal(f->cfg->regions_nr, 3);
	assert_string_equal(f->cfg->regions[EU].name, "eu-west");
	fill(&f->t, f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	drc_topology_release(&f->t);
	drc_config_free(f->cfg);
	free(f);
	return 0;
}

static void replace(char **field, const char *value)
{
	free(*field);
	*field = value ? strdup(value) : NULL;
}

static void dump(const struct drc_topology *t)
{
	for (size_t i = 0; i < t->problems.nr; i++)
		print_message("problem: %s\n", t->problems.items[i]);
	for (size_t i = 0; i < t->notes.nr; i++)
		print_message("note: %s\n", t->notes.items[i]);
}

/* Fails unless some entry of l is exactly want. */
static void expect_in(const struct drc_topology *t, const struct drc_strlist *l, const char *want)
{
	if (drc_strlist_has(l, want))
		return;
	dump(t);
	fail_msg("missing: %s", want);
}

/* The index of the first entry of l starting with lead; fails when none does. */
static size_t find_lead(const struct drc_topology *t, const struct drc_strlist *l,
			const char *lead)
{
	for (size_t i = 0; i < l->nr; i++)
		if (drc_starts_with(l->items[i], lead))
			return i;
	dump(t);
	fail_msg("no entry starts with: %s", lead);
	return 0;
}

static void no_lead(const struct drc_topology *t, const struct drc_strlist *l, const char *lead)
{
	for (size_t i = 0; i < l->nr; i++)
		if (drc_starts_with(l->items[i], lead)) {
			dump(t);
			fail_msg("unexpected: %s", l->items[i]);
		}
}

static void test_healthy(void **state)
{
	struct fixture *f = *state;

	topo_judge(f->cfg, &f->t);
	dump(&f->t);
	assert_int_equal(f->t.problems.nr, 0);
	assert_int_equal(f->t.notes.nr, 0);
	assert_int_equal(f->t.primary, US);
	assert_false(f->t.split_brain);
	assert_int_equal(f->t.dns_region, US);
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_OK);
	/* judging again gives the same, not twice as much */
	f->t.regions[EU].streaming = false;
	topo_judge(f->cfg, &f->t);
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.problems.nr, 1);
}

static void test_split_brain(void **state)
{
	struct fixture *f = *state;

	f->t.regions[EU].role = DRC_TOPO_PRIMARY;
	topo_judge(f->cfg, &f->t);
	assert_true(f->t.split_brain);
	assert_int_equal(f->t.primary, -1);
	assert_int_equal(find_lead(&f->t, &f->t.problems, "split brain: us-east and eu-west both "
				   "accept writes; "), 0);
	/* with no one primary, DNS and etcd cannot be judged against it */
	no_lead(&f->t, &f->t.problems, "DNS not repointed");
	no_lead(&f->t, &f->t.problems, "etcd records");
	no_lead(&f->t, &f->t.problems, "no primary");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_FAILED);

	f->t.regions[AP].role = DRC_TOPO_PRIMARY;
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "split brain: us-east, eu-west and ap-south all accept "
		  "writes; ");
}

static void test_no_primary(void **state)
{
	struct fixture *f = *state;

	f->t.regions[US].role = DRC_TOPO_DOWN;
	replace(&f->t.regions[US].error, "unreachable: connection refused (127.0.0.1:1/a)");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.primary, -1);
	assert_false(f->t.split_brain);
	assert_int_equal(find_lead(&f->t, &f->t.problems, "no primary: no region accepts writes "
				   "(us-east down, eu-west standby, ap-south standby); "), 0);
	expect_in(&f->t, &f->t.problems,
		  "us-east is down: unreachable: connection refused (127.0.0.1:1/a)");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_FAILED);

	/* every region a standby */
	f->t.regions[US].role = DRC_TOPO_STANDBY;
	f->t.regions[US].streaming = true;
	replace(&f->t.regions[US].error, NULL);
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "no primary: no region accepts writes (us-east standby, "
		  "eu-west standby, ap-south standby)");
}

static void test_region_down(void **state)
{
	struct fixture *f = *state;

	f->t.regions[EU].role = DRC_TOPO_DOWN;
	f->t.regions[EU].has_lag = false;
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.primary, US);
	assert_int_equal(f->t.problems.nr, 1);
	expect_in(&f->t, &f->t.problems, "eu-west is down: not reachable");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_PARTIAL);
}

static void test_dns_other_region(void **state)
{
	struct fixture *f = *state;

	replace(&f->t.dns_answer, "127.0.0.3");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.dns_region, EU);
	expect_in(&f->t, &f->t.problems, "DNS not repointed: db.example.test. answers 127.0.0.3 "
		  "(eu-west), the primary is us-east (127.0.0.2)");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_PARTIAL);
}

static void test_dns_unknown_or_none(void **state)
{
	struct fixture *f = *state;

	replace(&f->t.dns_answer, "10.9.9.9");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.dns_region, -1);
	expect_in(&f->t, &f->t.problems, "DNS not repointed: db.example.test. answers 10.9.9.9 "
		  "(no region), the primary is us-east (127.0.0.2)");

	/* two records at once are not the primary's one value either */
	replace(&f->t.dns_answer, "127.0.0.2,127.0.0.3");
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "DNS not repointed: db.example.test. answers "
		  "127.0.0.2,127.0.0.3 (no region)");

	replace(&f->t.dns_answer, NULL);
	topo_judge(f->cfg, &f->t);
	expect_in(&f->t, &f->t.problems, "DNS not repointed: db.example.test. has no answer, the "
		  "primary is us-east (127.0.0.2)");

	replace(&f->t.dns_error, "no reply from 127.0.0.1:1 within 2000 ms");
	topo_judge(f->cfg, &f->t);
	expect_in(&f->t, &f->t.problems, "DNS unknown: no reply from 127.0.0.1:1 within 2000 ms");
	no_lead(&f->t, &f->t.problems, "DNS not repointed");
}

/* Names compare as DNS does: any case, with or without the final dot. */
static void test_dns_names(void **state)
{
	struct fixture *f = *state;

	replace(&f->cfg->regions[US].dns, "db-a.example.test");
	replace(&f->t.dns_answer, "DB-A.Example.TEST.");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.dns_region, US);
	assert_int_equal(f->t.problems.nr, 0);
	replace(&f->t.dns_answer, "db-a.example.test.other");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.dns_region, -1);
	assert_int_equal(f->t.problems.nr, 1);
}

static void test_dns_notes(void **state)
{
	struct fixture *f = *state;
	struct drc_config *cfg;

	/* a primary without a dns value: nothing to judge against, said as a note */
	f->t.regions[US].role = DRC_TOPO_STANDBY;
	f->t.regions[US].streaming = true;
	f->t.regions[AP].role = DRC_TOPO_PRIMARY;
	replace(&f->t.etcd_primary, "ap-south");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.primary, AP);
	no_lead(&f->t, &f->t.problems, "DNS");
	find_lead(&f->t, &f->t.notes, "DNS not judged: regions.ap-south.dns is not set");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_OK);

	/* no nameservers: the answer cannot be asked for */
	cfg = testlib_config("{\"project\": \"t\", \"regions\": {\"us-east\": {\"db\": "
		    "\"postgresql://u@h/a\", \"dns\": \"127.0.0.2\"}}, \"dns\": {\"provider\": "
		    "\"powerdns\", \"record\": \"db.example.test.\"}}");
	drc_topology_release(&f->t);
	fill(&f->t, cfg);
	replace(&f->t.dns_answer, NULL);
	topo_judge(cfg, &f->t);
	no_lead(&f->t, &f->t.problems, "DNS");
	find_lead(&f->t, &f->t.notes, "DNS not checked: dns.nameservers is not set");
	drc_topology_release(&f->t);
	drc_config_free(cfg);

	/* no dns section at all: nothing said */
	fill(&f->t, f->cfg);
	f->t.dns_configured = false;
	replace(&f->t.dns_answer, NULL);
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.problems.nr, 0);
	assert_int_equal(f->t.notes.nr, 0);
}

static void test_etcd_other_region(void **state)
{
	struct fixture *f = *state;

	replace(&f->t.etcd_primary, "eu-west");
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "etcd records eu-west as primary, but us-east is; ");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_PARTIAL);

	replace(&f->t.etcd_primary, "mars");
	topo_judge(f->cfg, &f->t);
	expect_in(&f->t, &f->t.problems, "etcd records 'mars' as primary, which is not a region of "
		  "this configuration");

	/* no record (status creates it when it may write): nothing to disagree with */
	replace(&f->t.etcd_primary, NULL);
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.problems.nr, 0);
}

static void test_etcd_unreachable(void **state)
{
	struct fixture *f = *state;

	f->t.etcd_reachable = false;
	replace(&f->t.etcd_primary, NULL);
	replace(&f->t.etcd_error, "etcd http://127.0.0.1:1: connection refused");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.problems.nr, 1);
	find_lead(&f->t, &f->t.problems, "etcd unreachable: etcd http://127.0.0.1:1: connection "
		  "refused; failover cannot take its lock");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_PARTIAL);

	/* lib/coord's own message says it already */
	replace(&f->t.etcd_error, "etcd unreachable at http://127.0.0.1:1: refused");
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "etcd unreachable at http://127.0.0.1:1: refused; "
		  "failover cannot take its lock");

	/* reachable, but its answer was of no use (or the refresh failed) */
	f->t.etcd_reachable = true;
	replace(&f->t.etcd_error, "unable to refresh the primary's WAL position: 500");
	topo_judge(f->cfg, &f->t);
	expect_in(&f->t, &f->t.problems, "etcd: unable to refresh the primary's WAL position: 500");
}

static void test_etcd_not_configured(void **state)
{
	struct fixture *f = *state;

	f->t.etcd_configured = f->t.etcd_reachable = false;
	replace(&f->t.etcd_primary, NULL);
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.problems.nr, 0);
	find_lead(&f->t, &f->t.notes, "etcd not configured: split-brain protection is off");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_OK);
}

static void test_standby(void **state)
{
	struct fixture *f = *state;
	struct drc_topo_region *eu = &f->t.regions[EU];

	eu->streaming = false;
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "eu-west is not streaming WAL from the primary: ");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_PARTIAL);

	eu->streaming = true;
	eu->replay_paused = true;
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems,
		  "eu-west: replay is paused; SELECT pg_wal_replay_resume()");
	assert_int_equal(f->t.problems.nr, 1);

	/* at the limit is fine, past it is not */
	eu->replay_paused = false;
	eu->lag_bytes = 1048576;
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.problems.nr, 0);
	eu->lag_bytes = 2200000;
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "eu-west lags 2.1 MiB (2200000 bytes) behind us-east, "
		  "over probe.max_lag_bytes 1 MiB");
	/* unknown lag is not judged as lag, its error is */
	eu->has_lag = false;
	replace(&eu->error, "lag unknown: no WAL replayed yet");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.problems.nr, 1);
	expect_in(&f->t, &f->t.problems, "eu-west: lag unknown: no WAL replayed yet");
}

static void test_fenced(void **state)
{
	struct fixture *f = *state;

	/* after a failover to eu-west: the old primary is fenced until it is rebuilt */
	f->t.regions[US].role = DRC_TOPO_FENCED;
	f->t.regions[EU].role = DRC_TOPO_PRIMARY;
	f->t.regions[EU].has_lag = f->t.regions[AP].has_lag = false;
	replace(&f->t.dns_answer, "127.0.0.3");
	replace(&f->t.etcd_primary, "eu-west");
	topo_judge(f->cfg, &f->t);
	assert_int_equal(f->t.primary, EU);
	assert_int_equal(f->t.problems.nr, 1);
	expect_in(&f->t, &f->t.problems, "us-east is fenced (read-only, not a standby): rebuild it "
		  "as a standby of eu-west");
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_PARTIAL);

	/* fenced and no one writable: no primary */
	f->t.regions[EU].role = DRC_TOPO_STANDBY;
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "no primary: no region accepts writes (us-east fenced, ");
	expect_in(&f->t, &f->t.problems, "us-east is fenced (read-only, not a standby): rebuild it "
		  "as a standby of the primary");
}

static cJSON *state_json(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	return j;
}

static void test_unfinished_failover(void **state)
{
	struct fixture *f = *state;

	f->t.regions[US].role = DRC_TOPO_FENCED;
	f->t.regions[EU].role = DRC_TOPO_PRIMARY;
	f->t.failover_state = state_json(
		"{\"to\": \"eu-west\", \"from\": \"us-east\", \"complete\": false, \"steps\": ["
		"{\"name\": \"lock\", \"status\": \"done\"}, {\"name\": \"check\", \"status\": "
		"\"done\"}, {\"name\": \"fence\", \"status\": \"done\"}, {\"name\": \"catchup\", "
		"\"status\": \"skipped\"}, {\"name\": \"promote\", \"status\": \"done\"}, "
		"{\"name\": \"verify\", \"status\": \"done\"}, {\"name\": \"dns\", \"status\": "
		"\"pending\"}, "
		"{\"name\": \"record\", \"status\": \"pending\"}]}");
	topo_judge(f->cfg, &f->t);
	expect_in(&f->t, &f->t.problems, "failover to eu-west unfinished: DNS not repointed; "
		  "re-run drctl failover --to eu-west to finish");
	/* it comes before what it explains (DNS, etcd) */
	assert_true(find_lead(&f->t, &f->t.problems, "failover to eu-west") <
		    find_lead(&f->t, &f->t.problems, "DNS not repointed: db.example.test."));
	assert_int_equal(drc_topology_exit(&f->t), DRC_EXIT_PARTIAL);

	/* a failed step says why */
	cJSON_Delete(f->t.failover_state);
	f->t.failover_state = state_json(
		"{\"to\": \"eu-west\", \"from\": \"us-east\", \"complete\": false, \"steps\": ["
		"{\"name\": \"lock\", \"status\": \"done\"}, {\"name\": \"fence\", \"status\": "
		"\"failed\", \"detail\": \"permission denied\"}]}");
	topo_judge(f->cfg, &f->t);
	expect_in(&f->t, &f->t.problems, "failover to eu-west unfinished: old primary us-east not "
		  "fenced (it failed: permission denied); re-run drctl failover --to eu-west to "
		  "finish");

	cJSON_Delete(f->t.failover_state);
	f->t.failover_state = state_json("{\"to\": \"eu-west\", \"complete\": false, \"steps\": "
					 "[{\"name\": \"promote\", \"status\": \"pending\"}]}");
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "failover to eu-west unfinished: eu-west not promoted; ");

	cJSON_Delete(f->t.failover_state);
	f->t.failover_state = state_json("{\"to\": \"eu-west\", \"complete\": false, \"steps\": "
					 "[{\"name\": \"lock\", \"status\": \"done\"}]}");
	topo_judge(f->cfg, &f->t);
	find_lead(&f->t, &f->t.problems, "failover to eu-west unfinished: not marked complete; ");

	cJSON_Delete(f->t.failover_state);
	f->t.failover_state = NULL;
	replace(&f->t.failover_error, "unable to parse failover-t.json: line 1");
	topo_judge(f->cfg, &f->t);
	expect_in(&f->t, &f->t.problems, "the last failover's state is unknown: unable to parse "
		  "failover-t.json: line 1");
}

/* Worst first: split brain leads, whatever else is wrong. */
static void test_order(void **state)
{
	struct fixture *f = *state;

	f->t.regions[AP].role = DRC_TOPO_DOWN;
	f->t.etcd_reachable = false;
	f->t.regions[EU].role = DRC_TOPO_PRIMARY;
	topo_judge(f->cfg, &f->t);
	assert_int_equal(find_lead(&f->t, &f->t.problems, "split brain: "), 0);
	assert_true(find_lead(&f->t, &f->t.problems, "ap-south is down") <
		    find_lead(&f->t, &f->t.problems, "etcd unreachable"));
}

static void test_role_names(void **state)
{
	(void)state;
	assert_string_equal(drc_topo_role_name(DRC_TOPO_DOWN), "down");
	assert_string_equal(drc_topo_role_name(DRC_TOPO_PRIMARY), "primary");
	assert_string_equal(drc_topo_role_name(DRC_TOPO_STANDBY), "standby");
	assert_string_equal(drc_topo_role_name(DRC_TOPO_FENCED), "fenced");
	assert_string_equal(drc_topo_role_name((enum drc_topo_role)42), "unknown");
}

static const cJSON *get(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		fail_msg("no '%s' in the JSON", key);
	return v;
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	const cJSON *regions, *eu, *us;
	cJSON *j;

	f->t.regions[AP].role = DRC_TOPO_DOWN;
	f->t.regions[AP].has_lag = false;
	replace(&f->t.regions[AP].error, "unreachable");
	topo_judge(f->cfg, &f->t);
	j = drc_topology_json(&f->t);
	assert_string_equal(get(j, "status")->valuestring, "degraded");
	assert_int_equal(get(j, "exit")->valueint, 3);
	assert_string_equal(get(j, "primary")->valuestring, "us-east");
	assert_true(cJSON_IsFalse(get(j, "split_brain")));
	regions = get(j, "regions");
	assert_int_equal(cJSON_GetArraySize(regions), 3);
	us = cJSON_GetArrayItem(regions, US);
	eu = cJSON_GetArrayItem(regions, EU);
	assert_string_equal(get(us, "name")->valuestring, "us-east");
	assert_string_equal(get(us, "role")->valuestring, "primary");
	assert_string_equal(get(us, "lsn")->valuestring, "0/3000060");
	assert_string_equal(get(us, "dns")->valuestring, "127.0.0.2");
	assert_string_equal(get(us, "server_version")->valuestring, "15.20");
	assert_true(cJSON_IsNull(get(us, "lag_bytes")));
	assert_string_equal(get(eu, "role")->valuestring, "standby");
	assert_int_equal(get(eu, "lag_bytes")->valueint, 100);
	assert_true(get(eu, "lag_seconds")->valuedouble == 0.5);
	assert_true(cJSON_IsTrue(get(eu, "streaming")));
	assert_true(cJSON_IsFalse(get(eu, "replay_paused")));
	assert_string_equal(get(eu, "receive_lsn")->valuestring, "0/3000060");
	assert_string_equal(get(cJSON_GetArrayItem(regions, AP), "error")->valuestring,
			    "unreachable");
	assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(regions, AP), "lsn")));
	assert_string_equal(get(get(j, "dns"), "answer")->valuestring, "127.0.0.2");
	assert_string_equal(get(get(j, "dns"), "region")->valuestring, "us-east");
	assert_string_equal(get(get(j, "dns"), "record")->valuestring, "db.example.test.");
	assert_true(cJSON_IsTrue(get(get(j, "etcd"), "reachable")));
	assert_string_equal(get(get(j, "etcd"), "primary")->valuestring, "us-east");
	assert_string_equal(get(get(j, "etcd"), "token")->valuestring, "5");
	assert_true(cJSON_IsNull(get(j, "failover")));
	assert_int_equal(cJSON_GetArraySize(get(j, "problems")), 1);
	assert_string_equal(cJSON_GetArrayItem(get(j, "problems"), 0)->valuestring,
			    "ap-south is down: unreachable");
	assert_int_equal(cJSON_GetArraySize(get(j, "notes")), 0);
	cJSON_Delete(j);

	f->t.regions[EU].role = DRC_TOPO_PRIMARY;
	topo_judge(f->cfg, &f->t);
	j = drc_topology_json(&f->t);
	assert_string_equal(get(j, "status")->valuestring, "split-brain");
	assert_int_equal(get(j, "exit")->valueint, 1);
	assert_true(cJSON_IsNull(get(j, "primary")));
	assert_true(cJSON_IsTrue(get(j, "split_brain")));
	cJSON_Delete(j);

	f->t.regions[EU].role = f->t.regions[US].role = DRC_TOPO_STANDBY;
	topo_judge(f->cfg, &f->t);
	j = drc_topology_json(&f->t);
	assert_string_equal(get(j, "status")->valuestring, "no-primary");
	cJSON_Delete(j);
}

/* An empty topology (no region read yet) releases and judges without surprises. */
static void test_empty(void **state)
{
	struct drc_topology t = DRC_TOPOLOGY_INIT;
	struct fixture *f = *state;

	t.primary = t.dns_region = -1;
	topo_judge(f->cfg, &t);
	expect_in(&t, &t.problems, "no primary: no region is configured");
	drc_topology_release(&t);
	drc_topology_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_brain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_primary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_other_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_unknown_or_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_etcd_other_region, setup, teardown),
		cmocka_unit_test_setup_teardown(test_etcd_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_etcd_not_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standby, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fenced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test(test_role_names),
		cmocka_unit_test_setup_teardown(test_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
