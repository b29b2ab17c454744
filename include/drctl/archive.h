/* include/drctl/archive.h - libarchive: tar+zstd part writer/reader (grows with backups) */
#ifndef DRCTL_ARCHIVE_H
#define DRCTL_ARCHIVE_H

/* The libarchive version in use, e.g. "3.6.2" (static string). */
const char *drc_archive_lib_version(void);

#endif
