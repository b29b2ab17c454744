/* lib/util/banned.h - functions drctl code must not call (git's banned.h): use the safe ones */
#ifndef DRCTL_BANNED_H
#define DRCTL_BANNED_H

#define DRC_BANNED(func) sorry_##func##_is_banned_use_drc_buf_or_snprintf

#undef strcpy
#define strcpy(x, y) DRC_BANNED(strcpy)
#undef strcat
#define strcat(x, y) DRC_BANNED(strcat)
#undef sprintf
#define sprintf(...) DRC_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) DRC_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) DRC_BANNED(strtok)
#undef atoi
#define atoi(x) DRC_BANNED(atoi)
#undef system
#define system(x) DRC_BANNED(system)

#endif
