/* include/drctl/util.h - errors, exit codes, buffers, logging, retry, options: the base of every module */
#ifndef DRCTL_UTIL_H
#define DRCTL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DRC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- exit codes (DESIGN.md §2; man/drctl.1 EXIT STATUS lists them, a test checks) ---- */
enum drc_exit {
	DRC_EXIT_OK = 0,        /* done */
	DRC_EXIT_FAILED = 1,    /* failed */
	DRC_EXIT_USAGE = 2,     /* usage or configuration error */
	DRC_EXIT_PARTIAL = 3,   /* done, but degraded (a target failed, a check warned) */
	DRC_EXIT_REFUSED = 4,   /* refused by a safety check or authorization */
	DRC_EXIT_INTEGRITY = 5, /* corrupt, tampered, wrong key */
};

/* ---- errors: int return (0 / -1) + a caller's struct drc_err, set once where it fails ---- */
enum drc_errc {                 /* append only */
	DRC_E_NONE = 0,
	DRC_E_IO = 1,
	DRC_E_CONFIG,
	DRC_E_STORAGE,
	DRC_E_DB,
	DRC_E_NET,
	DRC_E_CRYPTO,
	DRC_E_FORMAT,
	DRC_E_REFUSED,
	DRC_E_INTEGRITY,
	DRC_E_BUG,
	DRC_E_USAGE,
	DRC_E_AUTH,                 /* credentials refused (database, storage, API) */
};

struct drc_err {
	enum drc_errc code;
	int sys;            /* errno / CURLcode / HTTP status / 0 */
	char msg[512];
};
#define DRC_ERR_INIT { 0 }

/* Sets err (code, message) and returns -1, so `return drc_err_set(...)` reads naturally. */
int drc_err_set(struct drc_err *err, enum drc_errc code, const char *fmt, ...) DRC_PRINTF(3, 4);
/* Like drc_err_set, appending ": strerror(errno)" and keeping errno in err->sys. */
int drc_err_errno(struct drc_err *err, enum drc_errc code, const char *fmt, ...) DRC_PRINTF(3, 4);
/* Prepends context ("while X: ") to an error already set, while unwinding. */
void drc_err_prefix(struct drc_err *err, const char *fmt, ...) DRC_PRINTF(2, 3);
void drc_err_clear(struct drc_err *err);
/* The process exit status for an error class. */
enum drc_exit drc_err_exit(enum drc_errc code);
const char *drc_errc_name(enum drc_errc code);
const char *drc_exit_name(enum drc_exit code);

/* The only way lib/ ends the process: a broken invariant. */
#define DRC_BUG(...) drc_bug(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void drc_bug(const char *file, int line, const char *fmt, ...) DRC_PRINTF(3, 4);

/* ---- memory: OOM is a bug, not an error path ---- */
void *drc_xmalloc(size_t n);
void *drc_xcalloc(size_t nmemb, size_t n);
void *drc_xrealloc(void *p, size_t n);
char *drc_xstrdup(const char *s);
char *drc_xstrndup(const char *s, size_t n);
char *drc_xasprintf(const char *fmt, ...) DRC_PRINTF(1, 2);
#define DRC_ALLOC_GROW(p, nr, alloc) \
	do { \
		if ((nr) >= (alloc)) { \
			(alloc) = (alloc) ? (alloc) * 2 : 8; \
			(p) = drc_xrealloc((p), (alloc) * sizeof(*(p))); \
		} \
	} while (0)

/* ---- struct drc_buf: a growable, always NUL-terminated string with an optional size cap ---- */
struct drc_buf {
	char *buf;      /* never NULL after init: points at "" until something is added */
	size_t len;
	size_t alloc;
	size_t max;     /* 0 = unbounded; past it, adds fail with -1 (curl dynbuf toobig) */
};
extern char drc_buf_empty[];
#define DRC_BUF_INIT { drc_buf_empty, 0, 0, 0 }
void drc_buf_init(struct drc_buf *b, size_t max);
void drc_buf_release(struct drc_buf *b);
void drc_buf_reset(struct drc_buf *b);
int drc_buf_add(struct drc_buf *b, const void *data, size_t n);
int drc_buf_adds(struct drc_buf *b, const char *s);
int drc_buf_addch(struct drc_buf *b, char c);
int drc_buf_addf(struct drc_buf *b, const char *fmt, ...) DRC_PRINTF(2, 3);
int drc_buf_vaddf(struct drc_buf *b, const char *fmt, va_list ap) DRC_PRINTF(2, 0);
/* Hands the string to the caller (free() it); b is left empty. */
char *drc_buf_detach(struct drc_buf *b, size_t *len);
void drc_buf_rtrim(struct drc_buf *b);

/* ---- small string helpers ---- */
bool drc_starts_with(const char *s, const char *prefix);
bool drc_ends_with(const char *s, const char *suffix);
bool drc_streq(const char *a, const char *b); /* NULL-safe */
/* "512 B", "64 KiB", "20.1 MiB": sizes for people (binary units). */
void drc_human_size(uint64_t n, char *buf, size_t len);
/* Levenshtein distance, for "did you mean" suggestions. */
size_t drc_edit_distance(const char *a, const char *b);
/* Reads a whole file (up to max bytes, 0 = 64 MiB). */
int drc_read_file(const char *path, size_t max, struct drc_buf *out, struct drc_err *err);
/* Writes a whole file atomically (temp + fsync + rename + fsync dir) with the given mode. */
int drc_write_file_atomic(const char *path, const void *data, size_t n, unsigned mode,
			  struct drc_err *err);
/* mkdir -p with mode for each created component. */
int drc_mkdir_p(const char *path, unsigned mode, struct drc_err *err);

/* Appends s as a quoted, escaped JSON string (for code that does not hold a cJSON tree). */
void drc_json_escape(struct drc_buf *out, const char *s);

/* ---- XML by local element name (lib/util/xml.c): S3's and Route 53's flat answers ---- */
/* Finds the next <tag>...</tag> (or <ns:tag>, or <tag/>) in [*pos, end), any namespace: its
 * content in *inner and *len, *pos moved past it. false when there is none. */
bool drc_xml_next(const char **pos, const char *end, const char *tag, const char **inner,
		  size_t *len);
/* Appends s with entities and character references decoded. */
void drc_xml_decode(struct drc_buf *out, const char *s, size_t n);
/* The decoded content of the first <tag> in xml (caller frees), or NULL. */
char *drc_xml_get(const char *xml, size_t n, const char *tag);
/* Appends s escaped for XML content. */
void drc_xml_escape(struct drc_buf *out, const char *s);

/* ---- time ---- */
int64_t drc_now_ms(void);        /* monotonic milliseconds */
int64_t drc_wall_ms(void);       /* wall clock, ms since the epoch */
/* RFC 3339 UTC with milliseconds, e.g. 2026-11-22T02:40:14.123Z; buf >= 32 bytes. */
void drc_time_rfc3339(int64_t wall_ms, char *buf, size_t n);
void drc_sleep_ms(int64_t ms);
/* Parses "30", "30s", "500ms", "5m", "2h" into milliseconds. */
int drc_parse_duration_ms(const char *s, int64_t *out);
/* Parses "16777216", "16M", "64KiB", "1G" into bytes. */
int drc_parse_size(const char *s, uint64_t *out);

/* ---- logging: stderr only; text, or one JSON object per line ---- */
enum drc_log_level { DRC_LOG_ERROR, DRC_LOG_WARN, DRC_LOG_INFO, DRC_LOG_DEBUG };
enum drc_log_format { DRC_LOG_TEXT, DRC_LOG_JSON };
void drc_log_setup(enum drc_log_level level, enum drc_log_format format);
enum drc_log_level drc_log_get_level(void);
void drc_log(enum drc_log_level level, const char *fmt, ...) DRC_PRINTF(2, 3);
#define drc_error(...) drc_log(DRC_LOG_ERROR, __VA_ARGS__)
#define drc_warn(...) drc_log(DRC_LOG_WARN, __VA_ARGS__)
#define drc_info(...) drc_log(DRC_LOG_INFO, __VA_ARGS__)
#define drc_debug(...) drc_log(DRC_LOG_DEBUG, __VA_ARGS__)
/* Registers a secret string: every later log line has it replaced by ***. */
void drc_log_add_secret(const char *secret);
/* Replaces every registered secret in s by ***, in place (s must be writable). */
void drc_redact_secrets(char *s, size_t cap);

/* ---- retry with exponential backoff and full jitter ---- */
struct drc_retry {
	int attempts;            /* total tries, >= 1 */
	int64_t base_ms;         /* first delay bound */
	int64_t max_ms;          /* cap on one delay */
	int64_t deadline_ms;     /* 0 = none; else give up when the next sleep would pass it (total) */
};
#define DRC_RETRY_DEFAULT { 4, 200, 5000, 0 }
/* Returns 1 to retry (the error was transient), 0 to stop. */
typedef int drc_retry_fn(void *data, int attempt, struct drc_err *err);
/* Runs fn until it returns 0 (ok), or -1 with a non-transient error, or attempts run out.
 * fn returns 0 ok, -1 permanent failure, 1 transient failure (err set in both failure cases). */
int drc_retry_run(const struct drc_retry *policy, drc_retry_fn *fn, void *data, struct drc_err *err);
/* The delay before attempt n (1-based retry count) under policy, with jitter from rnd in [0,1). */
int64_t drc_retry_delay_ms(const struct drc_retry *policy, int n, double rnd);

/* ---- option parsing (git parse-options, cut down); tables render -h ---- */
enum drc_opt_type {
	DRC_OPT_END = 0,
	DRC_OPT_BOOL,      /* value: bool *; --no-NAME clears it */
	DRC_OPT_STRING,    /* value: const char ** */
	DRC_OPT_STRING_LIST,/* value: struct drc_strlist *; may repeat */
	DRC_OPT_INT,       /* value: int * */
	DRC_OPT_SIZE,      /* value: uint64_t *, accepts 16M */
	DRC_OPT_DURATION,  /* value: int64_t * milliseconds, accepts 30s */
	DRC_OPT_CALLBACK,  /* callback(opt, arg) */
	DRC_OPT_GROUP,     /* a heading in -h */
};
struct drc_opt;
typedef int drc_opt_cb(const struct drc_opt *opt, const char *arg, struct drc_err *err);
struct drc_opt {
	enum drc_opt_type type;
	char short_name;        /* 0 = none */
	const char *long_name;  /* NULL = none */
	void *value;
	const char *argh;       /* name of the argument in -h, e.g. "REGION" */
	const char *help;
	drc_opt_cb *callback;
	int flags;
};
#define DRC_OPT_NOARG 1      /* a CALLBACK with no argument */
struct drc_strlist {
	char **items;
	size_t nr, alloc;
};
#define DRC_STRLIST_INIT { NULL, 0, 0 }
void drc_strlist_add(struct drc_strlist *l, const char *s);
void drc_strlist_addf(struct drc_strlist *l, const char *fmt, ...) DRC_PRINTF(2, 3);
void drc_strlist_vaddf(struct drc_strlist *l, const char *fmt, va_list ap) DRC_PRINTF(2, 0);
void drc_strlist_clear(struct drc_strlist *l);
bool drc_strlist_has(const struct drc_strlist *l, const char *s);

#define DRC_OPT_BOOL_(s, l, v, h) { DRC_OPT_BOOL, (s), (l), (v), NULL, (h), NULL, 0 }
#define DRC_OPT_STRING_(s, l, v, a, h) { DRC_OPT_STRING, (s), (l), (v), (a), (h), NULL, 0 }
#define DRC_OPT_LIST_(s, l, v, a, h) { DRC_OPT_STRING_LIST, (s), (l), (v), (a), (h), NULL, 0 }
#define DRC_OPT_INT_(s, l, v, a, h) { DRC_OPT_INT, (s), (l), (v), (a), (h), NULL, 0 }
#define DRC_OPT_SIZE_(s, l, v, a, h) { DRC_OPT_SIZE, (s), (l), (v), (a), (h), NULL, 0 }
#define DRC_OPT_DURATION_(s, l, v, a, h) { DRC_OPT_DURATION, (s), (l), (v), (a), (h), NULL, 0 }
#define DRC_OPT_GROUP_(h) { DRC_OPT_GROUP, 0, NULL, NULL, NULL, (h), NULL, 0 }
#define DRC_OPT_END_() { DRC_OPT_END, 0, NULL, NULL, NULL, NULL, NULL, 0 }

/* Parses options out of argv (argv[0] is the command name and is skipped); returns the number
 * of remaining arguments, moved to the front of argv, or -1 with err set (DRC_E_USAGE).
 * "-h"/"--help" sets *help and stops. "--" ends options. Options and arguments may mix. */
int drc_opt_parse(int argc, const char **argv, const struct drc_opt *opts, bool *help,
		  struct drc_err *err);
/* Renders usage lines and the option table, as -h prints them. */
void drc_opt_usage(struct drc_buf *out, const char *const *usage, const struct drc_opt *opts);


/* ---- child processes (lib/util/proc.c): hooks and PostgreSQL tools ---- */
/* Gets stdout as it arrives, instead of r->out: 0 to go on, -1 with err set to stop (the child
 * is then killed and drc_proc_run returns -1 with that err). */
typedef int drc_proc_out_fn(void *data, const char *buf, size_t n, struct drc_err *err);
struct drc_proc {
	const char *const *argv;      /* argv[0] is run as given (execvp: PATH is searched) ... */
	const char *shell;            /* ... or, instead, this command line through /bin/sh -c */
	const char *const *env;       /* "NAME=value" added to (or replacing in) the environment */
	const char *cwd;              /* NULL = the current directory */
	int64_t timeout_ms;           /* 0 = none; past it the child gets SIGTERM, then SIGKILL */
	unsigned uid, gid;            /* with as_user: run as this user (when drctl runs as root;
				       * PostgreSQL tools refuse root), HOME unchanged */
	bool as_user;
	size_t max_output;            /* cap on kept stdout and stderr each; 0 = 1 MiB. stdout
				       * keeps its first bytes, stderr its last (the error) */
	drc_proc_out_fn *out_fn;      /* NULL = keep stdout in r->out (capped) */
	void *out_data;
};
struct drc_proc_result {
	int status;                   /* exit status, or 128 + signal */
	struct drc_buf out, errs;     /* stdout and stderr (capped) */
	int64_t elapsed_ms;
};
#define DRC_PROC_RESULT_INIT { 0, DRC_BUF_INIT, DRC_BUF_INIT, 0 }
void drc_proc_result_release(struct drc_proc_result *r);
/* Runs the child to completion, stdin /dev/null, in its own process group (a timeout ends
 * the group). Returns 0 whenever it ran (check r->status), -1 with DRC_E_IO when it could not
 * be started or timed out ("... timed out after N s"; r still holds what it wrote). Children
 * it leaves running (daemons) do not hold it up once it has exited. */
int drc_proc_run(const struct drc_proc *p, struct drc_proc_result *r, struct drc_err *err);
/* The last line of text (trimmed), at most n bytes, for error messages: "" when empty. */
void drc_proc_last_line(const struct drc_buf *text, char *buf, size_t n);
/* The owner of path (for as_user). */
int drc_path_owner(const char *path, unsigned *uid, unsigned *gid, struct drc_err *err);

#endif
