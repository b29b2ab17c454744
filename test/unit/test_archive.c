/* test/unit/test_archive.c - lib/archive: the library drctl reports is the one it runs on */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/archive.h"

static void test_version_is_dotted_numbers(void **state)
{
	const char *v = drc_archive_lib_version();
	int major = -1, minor = -1, patch = -1;

	(void)state;
	assert_non_null(v);
	assert_int_equal(sscanf(v, "%d.%d.%d", &major, &minor, &patch), 3);
	/* zstd parts need libarchive >= 3.3.3 */
	assert_true(major > 3 || (major == 3 && (minor > 3 || (minor == 3 && patch >= 3))));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_is_dotted_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
