/* test/unit/test_cmd.c - the command table: sorted, unique, documented; exit codes match drctl(1) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd.h"

static char *src_path(const char *rel)
{
	const char *src = getenv("DRCTL_SRC");

	return drc_xasprintf("%s/%s", src ? src : ".", rel);
}

static void test_table_sorted_and_unique(void **state)
{
	(void)state;
	assert_true(drc_commands_nr > 0);
	for (size_t i = 1; i < drc_commands_nr; i++) {
		if (strcmp(drc_commands[i - 1].name, drc_commands[i].name) >= 0)
			fail_msg("command table not sorted at '%s' / '%s'", drc_commands[i - 1].name,
				 drc_commands[i].name);
	}
	for (size_t i = 0; i < drc_commands_nr; i++) {
		assert_non_null(drc_commands[i].fn);
		assert_true(strlen(drc_commands[i].summary) > 10);
		assert_ptr_equal(cmd_lookup(drc_commands[i].name), &drc_commands[i]);
	}
	assert_null(cmd_lookup("no-such-command"));
}

static void test_every_command_has_a_page(void **state)
{
	(void)state;
	for (size_t i = 0; i < drc_commands_nr; i++) {
		char rel[128];
		char *path;

		snprintf(rel, sizeof(rel), "man/drctl-%s.1", drc_commands[i].name);
		path = src_path(rel);
		if (access(path, R_OK) != 0)
			fail_msg("command '%s' has no man page %s", drc_commands[i].name, rel);
		free(path);
	}
}

/* man/drctl.1 EXIT STATUS lists 0-5 as ".B N" items, each with the name drc_exit_name() uses. */
static void test_exit_codes_match_manual(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf page = DRC_BUF_INIT;
	char *path = src_path("man/drctl.1");
	const char *section;

	(void)state;
	if (drc_read_file(path, 0, &page, &err) < 0)
		fail_msg("%s", err.msg);
	section = strstr(page.buf, ".SH EXIT STATUS");
	assert_non_null(section);
	for (int code = DRC_EXIT_OK; code <= DRC_EXIT_INTEGRITY; code++) {
		char item[64];

		snprintf(item, sizeof(item), ".B %d\n%s", code, drc_exit_name(code));
		if (!strstr(section, item))
			fail_msg("man/drctl.1 EXIT STATUS does not list '%d' as '%s'", code,
				 drc_exit_name(code));
	}
	/* every error class maps onto one of the documented codes, as DESIGN.md says */
	assert_int_equal(drc_err_exit(DRC_E_CONFIG), DRC_EXIT_USAGE);
	assert_int_equal(drc_err_exit(DRC_E_USAGE), DRC_EXIT_USAGE);
	assert_int_equal(drc_err_exit(DRC_E_REFUSED), DRC_EXIT_REFUSED);
	assert_int_equal(drc_err_exit(DRC_E_INTEGRITY), DRC_EXIT_INTEGRITY);
	for (int c = DRC_E_IO; c <= DRC_E_AUTH; c++)
		assert_true(drc_err_exit(c) >= DRC_EXIT_FAILED && drc_err_exit(c) <= DRC_EXIT_INTEGRITY);
	drc_buf_release(&page);
	free(path);
}

static void test_parse_options_help_and_errors(void **state)
{
	static const char *const usage[] = { "drctl demo [--region R]", NULL };
	const char *region = NULL;
	const struct drc_opt opts[] = {
		DRC_OPT_STRING_(0, "region", &region, "R", "the region"),
		DRC_OPT_END_(),
	};
	const char *ok[] = { "demo", "--region", "eu-west", "extra", NULL };
	const char *help[] = { "demo", "-h", NULL };
	const char *bad[] = { "demo", "--regoin", "x", NULL };
	int code = -1;

	(void)state;
	assert_int_equal(cmd_parse_options(4, ok, usage, opts, &code), 1);
	assert_string_equal(region, "eu-west");
	assert_string_equal(ok[0], "extra");
	assert_int_equal(cmd_parse_options(2, help, usage, opts, &code), -1);
	assert_int_equal(code, DRC_EXIT_OK);
	assert_int_equal(cmd_parse_options(3, bad, usage, opts, &code), -1);
	assert_int_equal(code, DRC_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_sorted_and_unique),
		cmocka_unit_test(test_every_command_has_a_page),
		cmocka_unit_test(test_exit_codes_match_manual),
		cmocka_unit_test(test_parse_options_help_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
