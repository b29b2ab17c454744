/* lib/util/opt.c - option parsing from a table (git parse-options, cut down); renders -h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/util.h"
#include "util/banned.h"

static const struct drc_opt *find_long(const struct drc_opt *opts, const char *name, size_t len,
				       bool *negated)
{
	*negated = false;
	for (const struct drc_opt *o = opts; o->type != DRC_OPT_END; o++) {
		if (!o->long_name || o->type == DRC_OPT_GROUP)
			continue;
		if (strlen(o->long_name) == len && !strncmp(o->long_name, name, len))
			return o;
		if (o->type == DRC_OPT_BOOL && len > 3 && !strncmp(name, "no-", 3) &&
		    strlen(o->long_name) == len - 3 && !strncmp(o->long_name, name + 3, len - 3)) {
			*negated = true;
			return o;
		}
	}
	return NULL;
}

static const struct drc_opt *find_short(const struct drc_opt *opts, char c)
{
	for (const struct drc_opt *o = opts; o->type != DRC_OPT_END; o++)
		if (o->short_name == c && o->type != DRC_OPT_GROUP)
			return o;
	return NULL;
}

/* "unknown option '--jsno'; did you mean '--json'?" (the name only, never "=value") */
static int unknown_long(const struct drc_opt *opts, const char *a, size_t len,
			struct drc_err *err)
{
	char *name = drc_xstrndup(a + 2, len);
	const char *best = NULL;
	size_t best_d = 3;

	for (const struct drc_opt *c = opts; c->type != DRC_OPT_END; c++) {
		size_t d;

		if (!c->long_name || c->type == DRC_OPT_GROUP)
			continue;
		d = drc_edit_distance(name, c->long_name);
		if (d < best_d) {
			best_d = d;
			best = c->long_name;
		}
	}
	free(name);
	if (best)
		return drc_err_set(err, DRC_E_USAGE, "unknown option '%.*s'; did you mean '--%s'?",
				   (int)len + 2, a, best);
	return drc_err_set(err, DRC_E_USAGE, "unknown option '%.*s'", (int)len + 2, a);
}

static bool takes_arg(const struct drc_opt *o)
{
	if (o->type == DRC_OPT_BOOL)
		return false;
	if (o->type == DRC_OPT_CALLBACK)
		return !(o->flags & DRC_OPT_NOARG);
	return true;
}

static void opt_name(const struct drc_opt *o, char *buf, size_t n)
{
	if (o->long_name)
		snprintf(buf, n, "--%s", o->long_name);
	else
		snprintf(buf, n, "-%c", o->short_name);
}

static int set_value(const struct drc_opt *o, const char *arg, bool negated, struct drc_err *err)
{
	char name[64];
	char *end;
	long v;

	opt_name(o, name, sizeof(name));
	switch (o->type) {
	case DRC_OPT_BOOL:
		*(bool *)o->value = !negated;
		return 0;
	case DRC_OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case DRC_OPT_STRING_LIST:
		drc_strlist_add(o->value, arg);
		return 0;
	case DRC_OPT_INT:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < -2147483647L || v > 2147483647L)
			return drc_err_set(err, DRC_E_USAGE, "%s expects a whole number, got '%s'",
					   name, arg);
		*(int *)o->value = (int)v;
		return 0;
	case DRC_OPT_SIZE:
		if (drc_parse_size(arg, o->value) < 0)
			return drc_err_set(err, DRC_E_USAGE,
					   "%s expects a size such as 16M or 1GiB, got '%s'", name, arg);
		return 0;
	case DRC_OPT_DURATION:
		if (drc_parse_duration_ms(arg, o->value) < 0)
			return drc_err_set(err, DRC_E_USAGE,
					   "%s expects a duration such as 30s, 500ms or 5m, got '%s'",
					   name, arg);
		return 0;
	case DRC_OPT_CALLBACK:
		return o->callback(o, arg, err);
	default:
		DRC_BUG("option %s has type %d", name, o->type);
	}
}

int drc_opt_parse(int argc, const char **argv, const struct drc_opt *opts, bool *help,
		  struct drc_err *err)
{
	int out = 0;
	bool only_args = false;

	*help = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct drc_opt *o;
		const char *arg = NULL;
		bool negated = false;

		if (only_args || a[0] != '-' || !a[1]) {
			argv[out++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = true;
			return 0;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			o = find_long(opts, a + 2, len, &negated);
			if (!o)
				return unknown_long(opts, a, len, err);
			if (eq && !takes_arg(o))
				return drc_err_set(err, DRC_E_USAGE, "option '--%s' takes no value",
						   o->long_name);
			arg = eq ? eq + 1 : NULL;
		} else {
			o = find_short(opts, a[1]);
			if (!o)
				return drc_err_set(err, DRC_E_USAGE, "unknown option '-%c'", a[1]);
			if (a[2] && !takes_arg(o))
				return drc_err_set(err, DRC_E_USAGE,
						   "unknown option '%s' (short options do not bundle)", a);
			arg = a[2] ? a + 2 : NULL;
		}
		if (takes_arg(o) && !arg) {
			char name[64];

			opt_name(o, name, sizeof(name));
			if (i + 1 >= argc)
				return drc_err_set(err, DRC_E_USAGE, "option '%s' requires a value (%s)",
						   name, o->argh ? o->argh : "value");
			arg = argv[++i];
		}
		if (set_value(o, arg, negated, err) < 0)
			return -1;
	}
	return out;
}

void drc_opt_usage(struct drc_buf *out, const char *const *usage, const struct drc_opt *opts)
{
	for (size_t i = 0; usage[i]; i++)
		drc_buf_addf(out, "%s %s\n", i ? "   or:" : "usage:", usage[i]);
	drc_buf_adds(out, "\n");
	for (const struct drc_opt *o = opts; o && o->type != DRC_OPT_END; o++) {
		struct drc_buf left = DRC_BUF_INIT;

		if (o->type == DRC_OPT_GROUP) {
			drc_buf_addf(out, "%s:\n", o->help);
			continue;
		}
		drc_buf_adds(&left, "    ");
		if (o->short_name)
			drc_buf_addf(&left, "-%c%s", o->short_name, o->long_name ? ", " : "");
		if (o->long_name)
			drc_buf_addf(&left, "--%s%s", o->type == DRC_OPT_BOOL ? "[no-]" : "",
				     o->long_name);
		if (takes_arg(o))
			drc_buf_addf(&left, " <%s>", o->argh ? o->argh : "value");
		if (left.len < 30)
			drc_buf_addf(out, "%-30s%s\n", left.buf, o->help);
		else
			drc_buf_addf(out, "%s\n%30s%s\n", left.buf, "", o->help);
		drc_buf_release(&left);
	}
}
