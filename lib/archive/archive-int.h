/* lib/archive/archive-int.h - shared by the part writer and reader: entry names, error words */
#ifndef DRCTL_ARCHIVE_INT_H
#define DRCTL_ARCHIVE_INT_H

#include <stddef.h>

#include "drctl/archive.h"

/* Longest entry name accepted (bytes). */
#define PART_NAME_MAX 255

/* Why name is not a safe entry name following the grammar of drctl/archive.h, or NULL when it
 * is. The reason reads after "refusing entry 'x': " ("name has a '..' segment"). */
const char *drc_part_name_problem(const char *name);

/* Writes name into out (cap bytes) quoted for an error message: control characters and bytes
 * >= 0x7f as \xNN, cut with "..." past about 80 bytes, so a hostile name cannot garble a log
 * line. Returns out. */
const char *drc_part_name_quote(const char *name, char *out, size_t cap);
#define PART_QUOTE_MAX 100

#endif
