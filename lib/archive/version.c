/* lib/archive/version.c - which libarchive drctl runs on (for `drctl version`) */
#include <string.h>

#include <archive.h>

#include "drctl/archive.h"
#include "util/banned.h"

const char *drc_archive_lib_version(void)
{
	const char *v = archive_version_string(); /* "libarchive 3.6.2" */

	return strncmp(v, "libarchive ", 11) ? v : v + 11;
}
