/* lib/snapshot/manifest.c - the backup manifest: canonical JSON, strict parsing, Ed25519 signature */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drctl/snapshot.h"
#include "drctl/json.h"
#include "drctl/storage.h"
#include "util/banned.h"

/*
 * Why the signature covers bytes made from the struct rather than the stored text: a verifier
 * re-serializes what it parsed, so whatever it will act on is exactly what was signed. Parsing
 * is strict (no unknown or duplicate keys, exact types), so a stored manifest that differs from
 * its canonical form in anything but whitespace cannot verify.
 *
 * cJSON keeps numbers as doubles (exact integers below 2^53) and prints them with "%1.15g"
 * unless that reads back within a relative epsilon, so only integers below 10^15 are printed
 * exactly and without an exponent: counts and sizes (10^15 bytes is 888 TiB) are numbers and
 * are refused at or above 10^15 on both sides. Sequence values may use all 64 bits: they are
 * decimal strings.
 */
#define JSON_INT_MAX 1e15
#define MANIFEST_MAX (256u << 20)

void drc_manifest_init(struct drc_manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->format = DRC_SNAPSHOT_FORMAT;
}

void drc_manifest_release(struct drc_manifest *m)
{
	size_t i;

	free(m->created_at);
	free(m->project);
	free(m->source_region);
	free(m->source_role);
	free(m->server_version);
	free(m->tool_version);
	free(m->compression);
	free(m->note);
	for (i = 0; i < m->tables_nr; i++) {
		free(m->tables[i].schema);
		free(m->tables[i].name);
	}
	free(m->tables);
	for (i = 0; i < m->sequences_nr; i++) {
		free(m->sequences[i].schema);
		free(m->sequences[i].name);
	}
	free(m->sequences);
	free(m->los);
	for (i = 0; i < m->parts_nr; i++)
		free(m->parts[i].name);
	free(m->parts);
	for (i = 0; i < m->keys_nr; i++) {
		free(m->keys[i].recipient);
		free(m->keys[i].fingerprint);
		free(m->keys[i].sealed);
	}
	free(m->keys);
	drc_strlist_clear(&m->targets);
	cJSON_Delete(m->diff);
	free(m->signer);
	free(m->signature);
	drc_manifest_init(m);
}

/* ---- ids ---- */

bool drc_snapshot_id_ok(const char *id)
{
	return drc_snapshot_id_time(id) >= 0;
}

int64_t drc_snapshot_id_time(const char *id)
{
	static const char shape[] = "ddddddddTddddddZ-xxxx"; /* d: digit, x: lowercase hex */
	struct tm tm = { 0 };
	size_t i;

	if (!id || strlen(id) != sizeof(shape) - 1)
		return -1;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		char c = id[i], want = shape[i];

		if (want == 'd' && (c < '0' || c > '9'))
			return -1;
		if (want == 'x' && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		if (want != 'd' && want != 'x' && c != want)
			return -1;
	}
#define D2(p) ((id[p] - '0') * 10 + (id[(p) + 1] - '0'))
	tm.tm_year = D2(0) * 100 + D2(2) - 1900;
	tm.tm_mon = D2(4) - 1;
	tm.tm_mday = D2(6);
	tm.tm_hour = D2(9);
	tm.tm_min = D2(11);
	tm.tm_sec = D2(13);
#undef D2
	{
		struct tm written = tm;
		time_t t = timegm(&tm);

		/* timegm normalizes: 20260231 comes back as March 3rd, so it is not a date */
		if (tm.tm_mday != written.tm_mday || tm.tm_mon != written.tm_mon ||
		    tm.tm_hour != written.tm_hour || tm.tm_min != written.tm_min ||
		    tm.tm_sec != written.tm_sec)
			return -1;
		return (int64_t)t * 1000;
	}
}

char *drc_snapshot_key(const char *id, const char *name)
{
	return drc_xasprintf("backups/%s/%s", id, name);
}

/* ---- writing ---- */

static void add_str(cJSON *obj, const char *key, const char *s)
{
	cJSON_AddItemToObject(obj, key, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

static cJSON *tables_json(const struct drc_manifest *m)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < m->tables_nr; i++) {
		const struct drc_manifest_table *t = &m->tables[i];
		cJSON *o = cJSON_CreateObject();

		add_str(o, "schema", t->schema);
		add_str(o, "name", t->name);
		cJSON_AddNumberToObject(o, "rows", (double)t->rows);
		cJSON_AddNumberToObject(o, "bytes", (double)t->bytes);
		add_str(o, "hash", t->hash);
		cJSON_AddNumberToObject(o, "part", t->part);
		cJSON_AddNumberToObject(o, "chunks", t->chunks);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *objects_json(const struct drc_manifest *m)
{
	cJSON *arr = cJSON_CreateArray();
	char num[32];
	size_t i;

	for (i = 0; i < m->sequences_nr; i++) {
		const struct drc_manifest_sequence *s = &m->sequences[i];
		cJSON *o = cJSON_CreateObject();

		add_str(o, "schema", s->schema);
		add_str(o, "name", s->name);
		snprintf(num, sizeof(num), "%lld", (long long)s->last_value);
		add_str(o, "last_value", num);
		cJSON_AddBoolToObject(o, "is_called", s->is_called);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *los_json(const struct drc_manifest *m)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < m->los_nr; i++) {
		const struct drc_manifest_lo *lo = &m->los[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "oid", lo->oid);
		cJSON_AddNumberToObject(o, "bytes", (double)lo->bytes);
		add_str(o, "hash", lo->hash);
		cJSON_AddNumberToObject(o, "part", lo->part);
		cJSON_AddNumberToObject(o, "chunks", lo->chunks);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *parts_keys_json(const struct drc_manifest *m, bool keys)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < (keys ? m->keys_nr : m->parts_nr); i++) {
		cJSON *o = cJSON_CreateObject();

		if (keys) {
			add_str(o, "recipient", m->keys[i].recipient);
			add_str(o, "fingerprint", m->keys[i].fingerprint);
			add_str(o, "sealed", m->keys[i].sealed);
		} else {
			add_str(o, "name", m->parts[i].name);
			cJSON_AddNumberToObject(o, "size", (double)m->parts[i].size);
			add_str(o, "hash", m->parts[i].hash);
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

cJSON *drc_manifest_to_cjson(const struct drc_manifest *m, bool with_signature)
{
	cJSON *o = cJSON_CreateObject(), *src, *schema, *targets;
	size_t i;

	cJSON_AddNumberToObject(o, "format", m->format);
	add_str(o, "id", m->id);
	add_str(o, "created_at", m->created_at);
	add_str(o, "project", m->project);
	src = cJSON_AddObjectToObject(o, "source");
	add_str(src, "region", m->source_region);
	add_str(src, "role", m->source_role);
	add_str(src, "server_version", m->server_version);
	add_str(o, "tool_version", m->tool_version);
	schema = cJSON_AddObjectToObject(o, "schema");
	cJSON_AddNumberToObject(schema, "version", m->schema_version);
	add_str(schema, "hash", m->schema_hash);
	add_str(o, "compression", m->compression);
	cJSON_AddNumberToObject(o, "duration_ms", (double)m->duration_ms);
	add_str(o, "note", m->note);
	cJSON_AddItemToObject(o, "tables", tables_json(m));
	cJSON_AddItemToObject(o, "sequences", objects_json(m));
	cJSON_AddItemToObject(o, "large_objects", los_json(m));
	cJSON_AddItemToObject(o, "parts", parts_keys_json(m, false));
	cJSON_AddItemToObject(o, "keys", parts_keys_json(m, true));
	targets = cJSON_AddArrayToObject(o, "targets");
	for (i = 0; i < m->targets.nr; i++)
		cJSON_AddItemToArray(targets, cJSON_CreateString(m->targets.items[i]));
	cJSON_AddItemToObject(o, "diff",
			      m->diff ? cJSON_Duplicate(m->diff, true) : cJSON_CreateNull());
	add_str(o, "signer", m->signer);
	if (with_signature)
		add_str(o, "signature", m->signature);
	return o;
}

/* What the writer must never emit: a value the parser would refuse. */
static int check_writable(const struct drc_manifest *m, struct drc_err *err)
{
	size_t i;
	bool big = m->duration_ms < 0 || (double)m->duration_ms >= JSON_INT_MAX;

	for (i = 0; i < m->tables_nr; i++)
		big |= (double)m->tables[i].rows >= JSON_INT_MAX ||
		       (double)m->tables[i].bytes >= JSON_INT_MAX;
	for (i = 0; i < m->los_nr; i++)
		big |= (double)m->los[i].bytes >= JSON_INT_MAX;
	for (i = 0; i < m->parts_nr; i++)
		big |= (double)m->parts[i].size >= JSON_INT_MAX;
	if (big)
		return drc_err_set(err, DRC_E_BUG, "manifest '%s': a count or size is 10^15 or more",
				   m->id);
	if (!m->created_at || !m->project || !m->source_region || !m->source_role ||
	    !m->server_version || !m->tool_version || !m->compression)
		return drc_err_set(err, DRC_E_BUG, "manifest '%s': a required field is not set",
				   m->id);
	return 0;
}

int drc_manifest_to_json(const struct drc_manifest *m, bool with_signature, char **out,
			 struct drc_err *err)
{
	cJSON *o;

	*out = NULL;
	if (check_writable(m, err) < 0)
		return -1;
	o = drc_manifest_to_cjson(m, with_signature);
	*out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!*out)
		DRC_BUG("cJSON_PrintUnformatted failed");
	return 0;
}

int drc_manifest_sign(struct drc_manifest *m, const struct drc_secret *secret,
		      struct drc_err *err)
{
	struct drc_pubkey pk;
	char signer[DRC_PUBKEY_STR], sig[DRC_SIG_B64], *canon;

	drc_secret_signer(secret, &pk);
	drc_pubkey_format(&pk, signer);
	free(m->signer);
	m->signer = drc_xstrdup(signer);
	free(m->signature);
	m->signature = NULL;
	if (drc_manifest_to_json(m, false, &canon, err) < 0)
		return -1;
	drc_crypto_sign(secret, canon, strlen(canon), sig);
	free(canon);
	m->signature = drc_xstrdup(sig);
	return 0;
}

int drc_manifest_verify(const struct drc_manifest *m, const char *const *signers, size_t n,
			struct drc_err *err)
{
	char *canon;
	size_t which;
	int ret;

	if (!n)
		return drc_err_set(err, DRC_E_CONFIG, DRC_SNAPSHOT_NO_SIGNERS);
	if (!m->signature || !m->signer)
		return drc_err_set(err, DRC_E_INTEGRITY, "manifest '%s' is not signed", m->id);
	if (drc_manifest_to_json(m, false, &canon, err) < 0)
		return -1;
	ret = drc_crypto_verify(signers, n, canon, strlen(canon), m->signature, &which, err);
	free(canon);
	if (ret < 0 && err->code == DRC_E_INTEGRITY)
		drc_err_prefix(err, "manifest '%s' (signed by %.13s...)", m->id, m->signer);
	return ret;
}

uint64_t drc_manifest_size(const struct drc_manifest *m)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < m->parts_nr; i++)
		n += m->parts[i].size;
	return n;
}

uint64_t drc_manifest_rows(const struct drc_manifest *m)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < m->tables_nr; i++)
		n += m->tables[i].rows;
	return n;
}

/* ---- strict parsing ---- */

struct pctx {
	const char *what;       /* "local:backups/X/manifest.json" or NULL */
	struct drc_err *err;
};

static int fail(struct pctx *p, const char *fmt, ...) DRC_PRINTF(2, 3);
static int fail(struct pctx *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->what)
		return drc_err_set(p->err, DRC_E_INTEGRITY, "manifest '%s': %s", p->what, msg);
	return drc_err_set(p->err, DRC_E_INTEGRITY, "manifest: %s", msg);
}

/* Every key of obj is one of keys[] (NULL-terminated), each at most once, and all are there. */
static int check_keys(struct pctx *p, const cJSON *obj, const char *path,
		      const char *const *keys)
{
	const cJSON *c;
	size_t i, seen[24] = { 0 };

	const char *sep = *path ? ": " : "";

	if (!cJSON_IsObject(obj))
		return fail(p, "%s: not an object", path);
	cJSON_ArrayForEach(c, obj) {
		for (i = 0; keys[i] && strcmp(keys[i], c->string); i++)
			;
		if (!keys[i])
			return fail(p, "%s%sunknown field '%s'", path, sep, c->string);
		if (seen[i]++)
			return fail(p, "%s%sfield '%s' given twice", path, sep, c->string);
	}
	for (i = 0; keys[i]; i++)
		if (!seen[i])
			return fail(p, "%s%smissing field '%s'", path, sep, keys[i]);
	return 0;
}

static int get_str(struct pctx *p, const cJSON *obj, const char *path, const char *key,
		   bool nullable, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (nullable && cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return fail(p, "%s%s%s: not a non-empty string", path, *path ? "." : "", key);
	*out = drc_xstrdup(v->valuestring);
	return 0;
}

static int get_u64(struct pctx *p, const cJSON *obj, const char *path, const char *key,
		   double max, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= max ||
	    floor(v->valuedouble) != v->valuedouble)
		return fail(p, "%s%s%s: not an integer from 0 to %.0f", path, *path ? "." : "", key,
			    max - 1);
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static int get_uint(struct pctx *p, const cJSON *obj, const char *path, const char *key,
		    double max, unsigned *out)
{
	uint64_t v;

	if (get_u64(p, obj, path, key, max, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static bool is_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[len] == '\0';
}

static int get_hash(struct pctx *p, const cJSON *obj, const char *path, const char *key,
		    char out[DRC_HASH_HEX])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) != DRC_HASH_HEX - 1 ||
	    !is_hex(v->valuestring, DRC_HASH_HEX - 1))
		return fail(p, "%s%s%s: not a BLAKE2b-256 hash (64 lowercase hex digits)", path,
			    *path ? "." : "", key);
	memcpy(out, v->valuestring, DRC_HASH_HEX);
	return 0;
}

static const cJSON *get_array(struct pctx *p, const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	if (!cJSON_IsArray(v)) {
		fail(p, "%s: not an array", key);
		return NULL;
	}
	return v;
}

static int parse_tables(struct pctx *p, const cJSON *root, struct drc_manifest *m)
{
	static const char *const keys[] = { "schema", "name", "rows", "bytes", "hash", "part",
					    "chunks", NULL };
	const cJSON *arr = get_array(p, root, "tables"), *t;
	char path[48];

	if (!arr)
		return -1;
	m->tables = drc_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*m->tables));
	cJSON_ArrayForEach(t, arr) {
		struct drc_manifest_table *mt = &m->tables[m->tables_nr++];

		snprintf(path, sizeof(path), "tables[%zu]", m->tables_nr - 1);
		if (check_keys(p, t, path, keys) < 0 ||
		    get_str(p, t, path, "schema", false, &mt->schema) < 0 ||
		    get_str(p, t, path, "name", false, &mt->name) < 0 ||
		    get_u64(p, t, path, "rows", JSON_INT_MAX, &mt->rows) < 0 ||
		    get_u64(p, t, path, "bytes", JSON_INT_MAX, &mt->bytes) < 0 ||
		    get_hash(p, t, path, "hash", mt->hash) < 0 ||
		    get_uint(p, t, path, "part", (double)m->parts_nr, &mt->part) < 0 ||
		    get_uint(p, t, path, "chunks", 100000.0, &mt->chunks) < 0)
			return -1;
	}
	return 0;
}

static int parse_sequences(struct pctx *p, const cJSON *root, struct drc_manifest *m)
{
	static const char *const keys[] = { "schema", "name", "last_value", "is_called", NULL };
	const cJSON *arr = get_array(p, root, "sequences"), *s;
	char path[48];

	if (!arr)
		return -1;
	m->sequences = drc_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*m->sequences));
	cJSON_ArrayForEach(s, arr) {
		struct drc_manifest_sequence *ms = &m->sequences[m->sequences_nr++];
		const cJSON *lv = cJSON_GetObjectItemCaseSensitive(s, "last_value");
		const cJSON *ic = cJSON_GetObjectItemCaseSensitive(s, "is_called");
		char *end, back[32];
		long long v;

		snprintf(path, sizeof(path), "sequences[%zu]", m->sequences_nr - 1);
		if (check_keys(p, s, path, keys) < 0 ||
		    get_str(p, s, path, "schema", false, &ms->schema) < 0 ||
		    get_str(p, s, path, "name", false, &ms->name) < 0)
			return -1;
		if (!cJSON_IsString(lv))
			return fail(p, "%s.last_value: not a decimal string", path);
		v = strtoll(lv->valuestring, &end, 10);
		snprintf(back, sizeof(back), "%lld", v);
		if (*end || strcmp(back, lv->valuestring))
			return fail(p, "%s.last_value: not a 64-bit decimal string", path);
		if (!cJSON_IsBool(ic))
			return fail(p, "%s.is_called: not true or false", path);
		ms->last_value = v;
		ms->is_called = cJSON_IsTrue(ic);
	}
	return 0;
}

static int parse_los(struct pctx *p, const cJSON *root, struct drc_manifest *m)
{
	static const char *const keys[] = { "oid", "bytes", "hash", "part", "chunks", NULL };
	const cJSON *arr = get_array(p, root, "large_objects"), *l;
	char path[48];

	if (!arr)
		return -1;
	m->los = drc_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*m->los));
	cJSON_ArrayForEach(l, arr) {
		struct drc_manifest_lo *lo = &m->los[m->los_nr++];
		uint64_t oid;

		snprintf(path, sizeof(path), "large_objects[%zu]", m->los_nr - 1);
		if (check_keys(p, l, path, keys) < 0 ||
		    get_u64(p, l, path, "oid", 4294967296.0, &oid) < 0 ||
		    get_u64(p, l, path, "bytes", JSON_INT_MAX, &lo->bytes) < 0 ||
		    get_hash(p, l, path, "hash", lo->hash) < 0 ||
		    get_uint(p, l, path, "part", (double)m->parts_nr, &lo->part) < 0 ||
		    get_uint(p, l, path, "chunks", 100000.0, &lo->chunks) < 0)
			return -1;
		lo->oid = (uint32_t)oid;
	}
	return 0;
}

static int parse_parts(struct pctx *p, const cJSON *root, struct drc_manifest *m)
{
	static const char *const keys[] = { "name", "size", "hash", NULL };
	const cJSON *arr = get_array(p, root, "parts"), *o;
	char path[48];

	if (!arr)
		return -1;
	m->parts = drc_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*m->parts));
	cJSON_ArrayForEach(o, arr) {
		struct drc_manifest_part *mp = &m->parts[m->parts_nr++];
		size_t i;

		snprintf(path, sizeof(path), "parts[%zu]", m->parts_nr - 1);
		if (check_keys(p, o, path, keys) < 0 ||
		    get_str(p, o, path, "name", false, &mp->name) < 0 ||
		    get_u64(p, o, path, "size", JSON_INT_MAX, &mp->size) < 0 ||
		    get_hash(p, o, path, "hash", mp->hash) < 0)
			return -1;
		/* a part name becomes a storage key: no path tricks, no clash with our objects */
		if (strchr(mp->name, '/') || mp->name[0] == '.' ||
		    !drc_starts_with(mp->name, "part-"))
			return fail(p, "%s.name: '%s' is not a part name (part-NNNN...)", path,
				    mp->name);
		for (i = 0; i + 1 < m->parts_nr; i++)
			if (!strcmp(m->parts[i].name, mp->name))
				return fail(p, "%s.name: '%s' is listed twice", path, mp->name);
	}
	return 0;
}

static int parse_keys(struct pctx *p, const cJSON *root, struct drc_manifest *m)
{
	static const char *const keys[] = { "recipient", "fingerprint", "sealed", NULL };
	const cJSON *arr = get_array(p, root, "keys"), *o;
	char path[48];

	if (!arr)
		return -1;
	m->keys = drc_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*m->keys));
	cJSON_ArrayForEach(o, arr) {
		struct drc_manifest_key *k = &m->keys[m->keys_nr++];

		snprintf(path, sizeof(path), "keys[%zu]", m->keys_nr - 1);
		if (check_keys(p, o, path, keys) < 0 ||
		    get_str(p, o, path, "recipient", false, &k->recipient) < 0 ||
		    get_str(p, o, path, "fingerprint", false, &k->fingerprint) < 0 ||
		    get_str(p, o, path, "sealed", false, &k->sealed) < 0)
			return -1;
		if (strlen(k->fingerprint) != DRC_FPR_HEX - 1 ||
		    !is_hex(k->fingerprint, DRC_FPR_HEX - 1))
			return fail(p, "%s.fingerprint: not 8 lowercase hex digits", path);
		if (strlen(k->sealed) >= DRC_SEALED_B64)
			return fail(p, "%s.sealed: too long for a sealed data key", path);
	}
	return 0;
}

static int parse_targets(struct pctx *p, const cJSON *root, struct drc_manifest *m)
{
	const cJSON *arr = get_array(p, root, "targets"), *t;

	if (!arr)
		return -1;
	cJSON_ArrayForEach(t, arr) {
		if (!cJSON_IsString(t) || !t->valuestring[0])
			return fail(p, "targets: not a list of target names");
		drc_strlist_add(&m->targets, t->valuestring);
	}
	return 0;
}

static int parse_head(struct pctx *p, const cJSON *root, const char *expect_id,
		      struct drc_manifest *m)
{
	static const char *const src_keys[] = { "region", "role", "server_version", NULL };
	static const char *const schema_keys[] = { "version", "hash", NULL };
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(root, "source");
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	uint64_t v;

	if (!cJSON_IsString(id) || !drc_snapshot_id_ok(id->valuestring))
		return fail(p, "id: not a backup id (YYYYMMDDTHHMMSSZ-xxxx)");
	if (expect_id && strcmp(id->valuestring, expect_id))
		return fail(p, "id '%s' does not match the directory it was read from ('%s')",
			    id->valuestring, expect_id);
	snprintf(m->id, sizeof(m->id), "%s", id->valuestring);
	if (get_str(p, root, "", "created_at", false, &m->created_at) < 0 ||
	    get_str(p, root, "", "project", false, &m->project) < 0 ||
	    check_keys(p, src, "source", src_keys) < 0 ||
	    get_str(p, src, "source", "region", false, &m->source_region) < 0 ||
	    get_str(p, src, "source", "role", false, &m->source_role) < 0 ||
	    get_str(p, src, "source", "server_version", false, &m->server_version) < 0 ||
	    get_str(p, root, "", "tool_version", false, &m->tool_version) < 0 ||
	    check_keys(p, schema, "schema", schema_keys) < 0 ||
	    get_u64(p, schema, "schema", "version", 2147483648.0, &v) < 0 ||
	    get_hash(p, schema, "schema", "hash", m->schema_hash) < 0 ||
	    get_str(p, root, "", "compression", false, &m->compression) < 0 ||
	    get_str(p, root, "", "note", true, &m->note) < 0)
		return -1;
	m->schema_version = (int)v;
	if (strcmp(m->source_role, "primary") && strcmp(m->source_role, "standby"))
		return fail(p, "source.role: '%s' is not primary or standby", m->source_role);
	if (get_u64(p, root, "", "duration_ms", JSON_INT_MAX, &v) < 0)
		return -1;
	m->duration_ms = (int64_t)v;
	return 0;
}

static int parse_tail(struct pctx *p, const cJSON *root, struct drc_manifest *m)
{
	const cJSON *diff = cJSON_GetObjectItemCaseSensitive(root, "diff");

	if (!cJSON_IsNull(diff) && !cJSON_IsObject(diff))
		return fail(p, "diff: not an object or null");
	if (cJSON_IsObject(diff))
		m->diff = cJSON_Duplicate(diff, true);
	if (get_str(p, root, "", "signer", true, &m->signer) < 0 ||
	    get_str(p, root, "", "signature", true, &m->signature) < 0)
		return -1;
	return 0;
}

static int parse_tree(struct pctx *p, const cJSON *root, const char *expect_id,
		      struct drc_manifest *m)
{
	static const char *const keys[] = {
		"format", "id", "created_at", "project", "source", "tool_version", "schema",
		"compression", "duration_ms", "note", "tables", "sequences", "large_objects",
		"parts", "keys", "targets", "diff", "signer", "signature", NULL
	};
	const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");

	if (!cJSON_IsObject(root))
		return fail(p, "not a JSON object");
	/* the format first: a newer format may have other fields, and deserves its own message */
	if (!cJSON_IsNumber(format))
		return fail(p, "missing field 'format'");
	if (format->valuedouble != DRC_SNAPSHOT_FORMAT)
		return fail(p, "format %g is not supported (this drctl reads format %d)",
			    format->valuedouble, DRC_SNAPSHOT_FORMAT);
	if (check_keys(p, root, "", keys) < 0 || parse_head(p, root, expect_id, m) < 0 ||
	    parse_parts(p, root, m) < 0 || parse_tables(p, root, m) < 0 ||
	    parse_sequences(p, root, m) < 0 || parse_los(p, root, m) < 0 ||
	    parse_keys(p, root, m) < 0 || parse_targets(p, root, m) < 0 ||
	    parse_tail(p, root, m) < 0)
		return -1;
	return 0;
}

int drc_manifest_parse_named(const char *json, const char *what, const char *expect_id,
			     struct drc_manifest *m, struct drc_err *err)
{
	struct pctx p = { what, err };
	cJSON *root;
	int ret;

	drc_manifest_release(m);
	root = cJSON_Parse(json);
	if (!root)
		return fail(&p, "not valid JSON");
	ret = parse_tree(&p, root, expect_id, m);
	cJSON_Delete(root);
	if (ret < 0)
		drc_manifest_release(m);
	return ret;
}

int drc_manifest_parse(const char *json, struct drc_manifest *m, struct drc_err *err)
{
	return drc_manifest_parse_named(json, NULL, NULL, m, err);
}

int drc_manifest_load(struct drc_storage *st, const char *id, struct drc_manifest *m,
		      struct drc_err *err)
{
	struct drc_buf raw = DRC_BUF_INIT;
	char *key = drc_snapshot_key(id, DRC_SNAPSHOT_MANIFEST);
	char *what = drc_xasprintf("%s:%s", drc_storage_name(st), key);
	int ret = drc_storage_get_all(st, key, MANIFEST_MAX, &raw, err);

	if (ret == 0 && strlen(raw.buf) != raw.len)
		ret = drc_err_set(err, DRC_E_INTEGRITY, "manifest '%s': holds a NUL byte", what);
	if (ret == 0)
		ret = drc_manifest_parse_named(raw.buf, what, id, m, err);
	drc_buf_release(&raw);
	free(what);
	free(key);
	return ret;
}
