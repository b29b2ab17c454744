/* test/unit/test_storage_fs.c - lib/storage/fs.c: sweeping what writers killed mid-write left */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drctl/json.h"
#include "drctl/storage.h"

static void touch(const char *root, const char *rel, time_t age_s)
{
	char *path = drc_xasprintf("%s/%s", root, rel);
	struct timespec times[2];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[0].tv_sec -= age_s;
	times[1] = times[0];
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	free(path);
}

static bool exists(const char *root, const char *rel)
{
	char *path = drc_xasprintf("%s/%s", root, rel);
	bool ok = access(path, F_OK) == 0;

	free(path);
	return ok;
}

/* A writer killed by kill -9 leaves ".<name>.tmp.XXXXXX": never listed, so no catalog or prune
 * rule sees it; sweep removes it once it is older than the age, and nothing else. */
static void test_sweep_removes_only_old_writer_temps(void **state)
{
	char tmpl[] = "/tmp/drctl-fs-sweep-XXXXXX";
	char *root = mkdtemp(tmpl), *dir;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st = NULL;
	cJSON *cfg = cJSON_CreateObject();
	size_t removed = 99;

	(void)state;
	assert_non_null(root);
	cJSON_AddStringToObject(cfg, "type", "fs");
	cJSON_AddStringToObject(cfg, "path", root);
	assert_int_equal(drc_storage_open("local", cfg, &st, &err), 0);
	dir = drc_xasprintf("%s/backups", root);
	mkdir(dir, 0700);
	free(dir);
	dir = drc_xasprintf("%s/backups/B1", root);
	mkdir(dir, 0700);
	free(dir);
	touch(root, "backups/B1/.part-0000.tar.zst.enc.tmp.Ab12Cd", 7200);   /* old: swept */
	touch(root, "backups/B1/.manifest.json.tmp.Zz99Yy", 10);             /* live writer */
	touch(root, "backups/B1/part-0001.tar.zst.enc", 7200);               /* an object */
	touch(root, "backups/B1/.hidden-not-a-temp", 7200);                  /* not ours */
	touch(root, ".other.tmp.Qq11Rr", 7200);                              /* outside prefix */

	assert_int_equal(drc_storage_sweep(st, "backups/", 3600 * 1000LL, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(exists(root, "backups/B1/.part-0000.tar.zst.enc.tmp.Ab12Cd"));
	assert_true(exists(root, "backups/B1/.manifest.json.tmp.Zz99Yy"));
	assert_true(exists(root, "backups/B1/part-0001.tar.zst.enc"));
	assert_true(exists(root, "backups/B1/.hidden-not-a-temp"));
	assert_true(exists(root, ".other.tmp.Qq11Rr"));

	/* age 0: every writer temp under the prefix goes (prune --orphan-age 0) */
	assert_int_equal(drc_storage_sweep(st, "backups/", 0, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_false(exists(root, "backups/B1/.manifest.json.tmp.Zz99Yy"));

	/* a prefix with nothing under it is no error */
	assert_int_equal(drc_storage_sweep(st, "nothing/", 0, &removed, &err), 0);
	assert_int_equal(removed, 0);
	drc_storage_close(st);
	cJSON_Delete(cfg);
	dir = drc_xasprintf("rm -rf '%s'", root);
	assert_int_equal(WEXITSTATUS(system(dir)), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_removes_only_old_writer_temps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
