/* lib/util/time.c - clocks, RFC 3339 timestamps, and duration/size parsing */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drctl/util.h"
#include "util/banned.h"

int64_t drc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t drc_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void drc_time_rfc3339(int64_t wall_ms, char *buf, size_t n)
{
	int64_t ms = wall_ms % 1000;
	time_t secs;
	struct tm tm;
	char date[24];

	if (ms < 0) /* floor, so that -1 ms is 23:59:59.999 the day before */
		ms += 1000;
	secs = (time_t)((wall_ms - ms) / 1000);
	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03dZ", date, (int)ms);
}

void drc_sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Parses a non-negative decimal number and returns the unit suffix that follows it. */
static int parse_number(const char *s, unsigned long long *num, const char **unit)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*num = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	*unit = end;
	return 0;
}

struct unit {
	const char *name;
	uint64_t mult;
};

/* A number with one of the units, multiplied out, refusing overflow past max. */
static int parse_with_units(const char *s, const struct unit *units, size_t n, uint64_t max,
			    uint64_t *out)
{
	unsigned long long num;
	const char *unit;

	if (parse_number(s, &num, &unit) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(unit, units[i].name))
			continue;
		if (num > max / units[i].mult)
			return -1;
		*out = num * units[i].mult;
		return 0;
	}
	return -1;
}

int drc_parse_duration_ms(const char *s, int64_t *out)
{
	static const struct unit units[] = {
		{ "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60000 }, { "min", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	uint64_t ms;

	if (parse_with_units(s, units, DRC_ARRAY_SIZE(units), INT64_MAX, &ms) < 0)
		return -1;
	*out = (int64_t)ms;
	return 0;
}

int drc_parse_size(const char *s, uint64_t *out)
{
	static const struct unit units[] = {
		{ "", 1 }, { "B", 1 }, { "k", 1024 }, { "K", 1024 }, { "KB", 1024 }, { "KiB", 1024 },
		{ "M", 1 << 20 }, { "MB", 1 << 20 }, { "MiB", 1 << 20 },
		{ "G", 1 << 30 }, { "GB", 1 << 30 }, { "GiB", 1 << 30 },
		{ "T", 1ULL << 40 }, { "TB", 1ULL << 40 }, { "TiB", 1ULL << 40 },
	};

	return parse_with_units(s, units, DRC_ARRAY_SIZE(units), UINT64_MAX, out);
}
