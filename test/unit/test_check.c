/* test/unit/test_check.c - lib/util/check.c: add, worst status, exit codes, secret redaction */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/check.h"

static void test_add_formats_and_copies(void **state)
{
	struct drc_checks c = DRC_CHECKS_INIT;
	char scope[] = "us-east";
	struct drc_check *item;

	(void)state;
	item = drc_checks_add(&c, scope, "lag", DRC_CHECK_WARN, "%d bytes behind %s", 42,
			      "eu-west");
	scope[0] = 'X'; /* the check keeps its own copy */
	assert_int_equal(c.nr, 1);
	assert_ptr_equal(item, &c.items[0]);
	assert_string_equal(item->scope, "us-east");
	assert_string_equal(item->name, "lag");
	assert_int_equal(item->status, DRC_CHECK_WARN);
	assert_string_equal(item->message, "42 bytes behind eu-west");
	assert_int_equal(item->duration_ms, 0);
	item->duration_ms = 17;

	/* growing the list past its first allocation keeps earlier items intact */
	for (int i = 0; i < 40; i++)
		drc_checks_add(&c, "config", "n", DRC_CHECK_OK, "check %d", i);
	assert_int_equal(c.nr, 41);
	assert_string_equal(c.items[0].message, "42 bytes behind eu-west");
	assert_int_equal(c.items[0].duration_ms, 17);
	assert_string_equal(c.items[40].message, "check 39");

	drc_checks_clear(&c);
	assert_null(c.items);
	assert_int_equal(c.nr, 0);
	drc_checks_clear(&c); /* clearing twice is harmless */
}

static void test_empty_message(void **state)
{
	struct drc_checks c = DRC_CHECKS_INIT;

	(void)state;
	drc_checks_add(&c, "config", "valid", DRC_CHECK_OK, "%s", "");
	assert_non_null(c.items[0].message);
	assert_string_equal(c.items[0].message, "");
	drc_checks_clear(&c);
}

static void test_worst_and_exit(void **state)
{
	/* checks added one by one, and what the list as a whole says after each */
	static const struct {
		enum drc_check_status add, worst;
		enum drc_exit exit;
	} steps[] = {
		{ DRC_CHECK_OK, DRC_CHECK_OK, 0 },
		/* SKIP ranks above FAIL in the enum but counts as OK */
		{ DRC_CHECK_SKIP, DRC_CHECK_OK, 0 },
		{ DRC_CHECK_WARN, DRC_CHECK_WARN, 3 },
		{ DRC_CHECK_FAIL, DRC_CHECK_FAIL, 1 },
		/* a later warning, ok or skip does not hide the failure */
		{ DRC_CHECK_WARN, DRC_CHECK_FAIL, 1 },
		{ DRC_CHECK_OK, DRC_CHECK_FAIL, 1 },
		{ DRC_CHECK_SKIP, DRC_CHECK_FAIL, 1 },
	};
	struct drc_checks c = DRC_CHECKS_INIT;

	(void)state;
	/* nothing checked: nothing wrong */
	assert_int_equal(drc_checks_worst(&c), DRC_CHECK_OK);
	assert_int_equal(drc_checks_exit(&c), DRC_EXIT_OK);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(steps); i++) {
		drc_checks_add(&c, "a", "step", steps[i].add, "step %zu", i);
		assert_int_equal(drc_checks_worst(&c), steps[i].worst);
		assert_int_equal(drc_checks_exit(&c), steps[i].exit);
	}
	drc_checks_clear(&c);

	/* only warnings and skips: exit 3 */
	drc_checks_add(&c, "a", "x", DRC_CHECK_SKIP, "s");
	drc_checks_add(&c, "a", "y", DRC_CHECK_WARN, "w");
	assert_int_equal(drc_checks_exit(&c), DRC_EXIT_PARTIAL);
	drc_checks_clear(&c);
}

static void test_fail_before_warn_order(void **state)
{
	struct drc_checks c = DRC_CHECKS_INIT;

	(void)state;
	drc_checks_add(&c, "a", "x", DRC_CHECK_FAIL, "f");
	drc_checks_add(&c, "a", "y", DRC_CHECK_WARN, "w");
	drc_checks_add(&c, "a", "z", DRC_CHECK_SKIP, "s");
	assert_int_equal(drc_checks_worst(&c), DRC_CHECK_FAIL);
	assert_int_equal(drc_checks_exit(&c), DRC_EXIT_FAILED);
	drc_checks_clear(&c);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(drc_check_status_name(DRC_CHECK_OK), "ok");
	assert_string_equal(drc_check_status_name(DRC_CHECK_WARN), "warn");
	assert_string_equal(drc_check_status_name(DRC_CHECK_FAIL), "fail");
	assert_string_equal(drc_check_status_name(DRC_CHECK_SKIP), "skip");
	assert_string_equal(drc_check_status_name((enum drc_check_status)99), "unknown");
}

static void test_secret_redacted(void **state)
{
	struct drc_checks c = DRC_CHECKS_INIT;

	(void)state;
	drc_log_add_secret("s3cr3t-pw");
	drc_checks_add(&c, "us-east", "reachable", DRC_CHECK_FAIL,
		       "connect to postgresql://app:%s@db:5432/app failed (password %s)",
		       "s3cr3t-pw", "s3cr3t-pw");
	assert_null(strstr(c.items[0].message, "s3cr3t-pw"));
	assert_string_equal(c.items[0].message,
			    "connect to postgresql://app:***@db:5432/app failed (password ***)");
	/* a message without the secret is left as it was */
	drc_checks_add(&c, "us-east", "role", DRC_CHECK_OK, "primary");
	assert_string_equal(c.items[1].message, "primary");
	drc_checks_clear(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_formats_and_copies),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_worst_and_exit),
		cmocka_unit_test(test_fail_before_warn_order),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_secret_redacted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
