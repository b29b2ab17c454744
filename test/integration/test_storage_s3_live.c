/* test/integration/test_storage_s3_live.c - the s3 driver against the sandbox's real s3rver */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include <cmocka.h>

#include "../unit/testlib.h"

#include "drctl/http.h"
#include "drctl/json.h"
#include "drctl/storage.h"
#include "storage/storage-int.h"

/*
 * Every case runs against the sandbox's s3rver (scripts/sandbox start) in a bucket of its own,
 * made and removed with Debian's aws-cli (/usr/bin/aws), which is also the interop oracle:
 * what drctl writes, aws reads byte for byte, and the other way round. s3rver does not check
 * signatures: a wrong secret is tested in test/unit/test_storage_s3.c. A sandbox that is not
 * running is a failure, never a skip.
 */

#define MIB ((size_t)1 << 20)

static char bucket[64];
static char tmpdir[] = "/tmp/drctl-s3live-XXXXXX";

/* ---- the sandbox and aws-cli ---- */

/* Runs `aws --endpoint-url $SANDBOX_S3_ENDPOINT ARGS` (ARGS shell-quoted by the caller);
 * its output in *out when out is not NULL. Returns the exit status. */
static int aws(struct drc_buf *out, const char *fmt, ...)
{
	struct drc_buf cmd = DRC_BUF_INIT;
	char chunk[4096];
	va_list ap;
	size_t n;
	FILE *f;
	int status;

	drc_buf_addf(&cmd, "AWS_ACCESS_KEY_ID='%s' AWS_SECRET_ACCESS_KEY='%s' "
		     "AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null "
		     "AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER= "
		     "AWS_EC2_METADATA_DISABLED=true "
		     "/usr/bin/aws --endpoint-url '%s' ", getenv("DRCTL_SANDBOX_S3_ACCESS_KEY"),
		     getenv("DRCTL_SANDBOX_S3_SECRET_KEY"), getenv("SANDBOX_S3_ENDPOINT"));
	va_start(ap, fmt);
	drc_buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	drc_buf_adds(&cmd, out ? " 2>&1" : " >/dev/null 2>&1");
	f = popen(cmd.buf, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (out)
			drc_buf_add(out, chunk, n);
	status = pclose(f);
	drc_buf_release(&cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int group_setup(void **state)
{
	static const char *const need[] = { "SANDBOX_S3_ENDPOINT", "DRCTL_SANDBOX_S3_ACCESS_KEY",
					    "DRCTL_SANDBOX_S3_SECRET_KEY" };
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	if (drc_http_global_init(&err) < 0)
		fail_msg("%s", err.msg);
	testlib_sandbox_env(need, DRC_ARRAY_SIZE(need));
	snprintf(bucket, sizeof(bucket), "t-s3live-%d", (int)getpid());
	aws(NULL, "s3 rb --force 's3://%s'", bucket); /* a leftover of a crashed run */
	if (aws(NULL, "s3 mb 's3://%s'", bucket) != 0)
		fail_msg("cannot create bucket '%s' with aws-cli", bucket);
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int group_teardown(void **state)
{
	char *cmd = drc_xasprintf("rm -rf '%s'", tmpdir);

	(void)state;
	aws(NULL, "s3 rb --force 's3://%s'", bucket);
	assert_int_equal(WEXITSTATUS(pclose(popen(cmd, "r"))), 0);
	free(cmd);
	drc_http_global_cleanup();
	return 0;
}

/* ---- helpers ---- */

/* A target on the sandbox's s3rver, or on endpoint / in bkt / trusting ca_file if given. */
static struct drc_storage *open_s3(const char *name, const char *endpoint, const char *bkt,
				   const char *ca_file)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st = NULL;
	cJSON *cfg = cJSON_CreateObject();

	cJSON_AddStringToObject(cfg, "type", "s3");
	if (!endpoint)
		endpoint = getenv("SANDBOX_S3_ENDPOINT");
	cJSON_AddStringToObject(cfg, "endpoint", endpoint);
	cJSON_AddStringToObject(cfg, "bucket", bkt ? bkt : bucket);
	cJSON_AddStringToObject(cfg, "region", "us-east-1");
	cJSON_AddStringToObject(cfg, "prefix", "t/");
	cJSON_AddStringToObject(cfg, "access_key", getenv("DRCTL_SANDBOX_S3_ACCESS_KEY"));
	cJSON_AddStringToObject(cfg, "secret_key", getenv("DRCTL_SANDBOX_S3_SECRET_KEY"));
	if (ca_file)
		cJSON_AddStringToObject(cfg, "ca_file", ca_file);
	if (drc_storage_open(name, cfg, &st, &err) < 0)
		fail_msg("%s", err.msg);
	cJSON_Delete(cfg);
	return st;
}

static struct drc_storage *target(void)
{
	return open_s3("s3-use1", NULL, NULL, NULL);
}

/* n bytes that do not compress or repeat (xorshift), different per seed */
static char *noise(size_t n, uint64_t seed)
{
	char *p = drc_xmalloc(n);
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (char)(x >> 24);
	}
	return p;
}

static void put(struct drc_storage *st, const char *key, const void *data, size_t n)
{
	struct drc_err err = DRC_ERR_INIT;

	if (drc_storage_put_all(st, key, data, n, &err) < 0)
		fail_msg("%s", err.msg);
}

static void expect_content(struct drc_storage *st, const char *key, const void *data, size_t n)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;

	if (drc_storage_get_all(st, key, 0, &b, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.buf, data, n);
	drc_buf_release(&b);
}

static bool exists(struct drc_storage *st, const char *key)
{
	struct drc_err err = DRC_ERR_INIT;
	bool yes = true;

	if (drc_storage_exists(st, key, &yes, &err) < 0)
		fail_msg("%s", err.msg);
	return yes;
}

static char *local_path(const char *name)
{
	return drc_xasprintf("%s/%s", tmpdir, name);
}

/* The driver's log lines (stderr, at debug level) between start and stop, in out. */
static int saved_stderr = -1;
static char *log_path;

static void log_capture_start(void)
{
	int fd;

	log_path = local_path("log");
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	drc_log_setup(DRC_LOG_DEBUG, DRC_LOG_TEXT);
}

static void log_capture_stop(struct drc_buf *out)
{
	struct drc_err err = DRC_ERR_INIT;

	drc_log_setup(DRC_LOG_WARN, DRC_LOG_TEXT);
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	assert_int_equal(drc_read_file(log_path, 0, out, &err), 0);
	free(log_path);
}

/* ---- objects ---- */

static void test_small_round_trip(void **state)
{
	static const char key[] = "backups/20260101T000000Z-1a2b/manifest.json";
	static const char v1[] = "{\"id\": \"20260101T000000Z-1a2b\"}\n", v2[] = "{}";
	struct drc_storage *st = target();
	struct drc_err err = DRC_ERR_INIT;
	struct drc_stat s;
	int64_t now = drc_wall_ms();

	(void)state;
	assert_false(exists(st, key));
	put(st, key, v1, strlen(v1));
	expect_content(st, key, v1, strlen(v1));
	assert_int_equal(drc_storage_stat(st, key, &s, &err), 0);
	assert_int_equal(s.size, strlen(v1));
	assert_true(s.mtime_ms > now - 600000 && s.mtime_ms < now + 600000);
	put(st, key, v2, strlen(v2)); /* replaced whole */
	expect_content(st, key, v2, strlen(v2));
	put(st, "backups/empty", "", 0);
	expect_content(st, "backups/empty", "", 0);
	drc_storage_close(st);
}

/* 20 MiB through a writer: three parts of 8, 8 and 4 MiB, two in flight; nothing visible
 * before commit; read back by drctl and by aws, byte for byte. */
static void test_multipart_to_aws(void **state)
{
	static const char key[] = "backups/big/part-0000.tar.zst.enc";
	const size_t n = 20 * MIB, step = MIB + 13;
	struct drc_storage *st = target();
	struct drc_err err = DRC_ERR_INIT;
	char *data = noise(n, 1), *path = local_path("big.out"), *buf = drc_xmalloc(65539);
	struct drc_buf got = DRC_BUF_INIT, log = DRC_BUF_INIT;
	struct drc_writer *w;
	struct drc_reader *r;
	struct drc_stat s;
	size_t len;

	(void)state;
	log_capture_start();
	assert_int_equal(drc_storage_writer(st, key, &w, &err), 0);
	for (size_t off = 0; off < n; off += step)
		assert_int_equal(drc_writer_write(w, data + off, off + step > n ? n - off : step,
						  &err), 0);
	assert_false(exists(st, key)); /* parts are up, the object is not */
	if (drc_writer_commit(w, &err) < 0)
		fail_msg("%s", err.msg);
	/* s3rver's ETag does not tell a multipart upload: the driver's debug log does */
	log_capture_stop(&log);
	assert_non_null(strstr(log.buf, "uploading part 1 (8388608 bytes)"));
	assert_non_null(strstr(log.buf, "uploading part 2 (8388608 bytes)"));
	assert_non_null(strstr(log.buf, "uploading part 3 (4194304 bytes)"));
	assert_non_null(strstr(log.buf, "completing the upload of 3 parts"));
	assert_int_equal(drc_storage_stat(st, key, &s, &err), 0);
	assert_int_equal(s.size, n);
	/* drctl's reader: ranged reads of 4 MiB, handed out in odd sizes */
	assert_int_equal(drc_storage_reader(st, key, &r, &err), 0);
	do {
		assert_int_equal(drc_reader_read(r, buf, 65539, &len, &err), 0);
		drc_buf_add(&got, buf, len);
	} while (len);
	drc_reader_close(r);
	assert_int_equal(got.len, n);
	assert_memory_equal(got.buf, data, n);
	/* aws reads it the same */
	assert_int_equal(aws(NULL, "s3 cp 's3://%s/t/%s' '%s'", bucket, key, path), 0);
	drc_buf_reset(&got);
	assert_int_equal(drc_read_file(path, 0, &got, &err), 0);
	assert_int_equal(got.len, n);
	assert_memory_equal(got.buf, data, n);
	drc_buf_release(&got);
	drc_buf_release(&log);
	free(buf);
	free(path);
	free(data);
	drc_storage_close(st);
}

/* What aws writes (a 9 MiB multipart upload of its own, and a small object), drctl reads. */
static void test_aws_to_drctl(void **state)
{
	const size_t n = 9 * MIB;
	struct drc_storage *st = target();
	struct drc_err err = DRC_ERR_INIT;
	char *data = noise(n, 2), *path = local_path("aws.in"), *small = local_path("small.in");
	struct drc_stat s;

	(void)state;
	assert_int_equal(drc_write_file_atomic(path, data, n, 0600, &err), 0);
	assert_int_equal(drc_write_file_atomic(small, "hello\n", 6, 0600, &err), 0);
	assert_int_equal(aws(NULL, "s3 cp '%s' 's3://%s/t/from-aws/big'", path, bucket), 0);
	assert_int_equal(aws(NULL, "s3 cp '%s' 's3://%s/t/from-aws/a b+c'", small, bucket), 0);
	expect_content(st, "from-aws/big", data, n);
	expect_content(st, "from-aws/a b+c", "hello\n", 6);
	assert_int_equal(drc_storage_stat(st, "from-aws/big", &s, &err), 0);
	assert_int_equal(s.size, n);
	free(small);
	free(path);
	free(data);
	drc_storage_close(st);
}

/* A reader pinned to the object it opened: an object replaced mid-read is an error, never a
 * mix of old and new bytes. */
static void test_replaced_while_read(void **state)
{
	const size_t n = 3 * MIB;
	struct drc_storage *st = target();
	struct drc_s3_tuning small_reads = { .read_chunk = MIB };
	struct drc_err err = DRC_ERR_INIT;
	char *v1 = noise(n, 4), *v2 = noise(n, 5), *buf = drc_xmalloc(MIB);
	struct drc_reader *r;
	size_t got;

	(void)state;
	drc_s3_tune(st, &small_reads);
	put(st, "replaced", v1, n);
	assert_int_equal(drc_storage_reader(st, "replaced", &r, &err), 0);
	assert_int_equal(drc_reader_read(r, buf, MIB, &got, &err), 0);
	assert_int_equal(got, MIB);
	assert_memory_equal(buf, v1, MIB);
	put(st, "replaced", v2, n);
	expect_err(drc_reader_read(r, buf, MIB, &got, &err), &err, DRC_E_STORAGE,
		   "unable to read 's3-use1:replaced': the object changed while it was being read");
	drc_reader_close(r);
	free(buf);
	free(v2);
	free(v1);
	drc_storage_close(st);
}

/* 23 keys over pages of 7 (4 pages, continuation tokens), keys needing encoding, prefixes
 * narrowing the listing, and the target's own prefix stripped. */
static void test_list_pages(void **state)
{
	struct drc_storage *st = target();
	struct drc_s3_tuning small_pages = { .max_keys = 7 };
	struct drc_buf want = DRC_BUF_INIT;
	char *got;

	(void)state;
	drc_s3_tune(st, &small_pages);
	for (int i = 0; i < 22; i++) {
		char key[32];

		snprintf(key, sizeof(key), "list/k%02d", i);
		put(st, key, key, strlen(key));
	}
	put(st, "list/a b+c&d=\xc3\xa9", "x", 1);
	put(st, "listing-not/x", "y", 1);
	drc_buf_adds(&want, "list/a b+c&d=\xc3\xa9:1");
	for (int i = 0; i < 22; i++)
		drc_buf_addf(&want, " list/k%02d:8", i);
	got = testlib_listing(st, "list/");
	assert_string_equal(got, want.buf);
	free(got);
	got = testlib_listing(st, "list/k1");
	assert_string_equal(got, "list/k10:8 list/k11:8 list/k12:8 list/k13:8 list/k14:8 "
				 "list/k15:8 list/k16:8 list/k17:8 list/k18:8 list/k19:8");
	free(got);
	got = testlib_listing(st, "nothing/");
	assert_string_equal(got, "");
	free(got);
	got = testlib_listing(st, "listing-not");
	assert_string_equal(got, "listing-not/x:1");
	free(got);
	drc_buf_release(&want);
	drc_storage_close(st);
}

/* ---- not found, remove, abort ---- */

static void test_not_found_and_remove(void **state)
{
	struct drc_storage *st = target();
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;
	struct drc_reader *r;
	struct drc_stat s;

	(void)state;
	assert_int_equal(drc_storage_stat(st, "nope/x", &s, &err), -1);
	assert_true(drc_storage_is_not_found(&err));
	assert_string_equal(err.msg, "unable to stat 's3-use1:nope/x': not found");
	drc_err_clear(&err);
	assert_int_equal(drc_storage_reader(st, "nope/x", &r, &err), -1);
	assert_true(drc_storage_is_not_found(&err));
	drc_err_clear(&err);
	assert_int_equal(drc_storage_get_all(st, "nope/x", 0, &b, &err), -1);
	assert_true(drc_storage_is_not_found(&err));
	put(st, "gone/x", "x", 1);
	assert_true(exists(st, "gone/x"));
	assert_int_equal(drc_storage_remove(st, "gone/x", &err), 0);
	assert_false(exists(st, "gone/x"));
	assert_int_equal(drc_storage_remove(st, "gone/x", &err), 0); /* missing: fine */
	drc_buf_release(&b);
	drc_storage_close(st);
}

/* An aborted writer leaves no object: neither a small one (never sent) nor a multipart one
 * with parts uploaded (s3rver cannot abort the upload; its parts are not objects). */
static void test_abort_leaves_nothing(void **state)
{
	const size_t n = 12 * MIB;
	struct drc_storage *st = target();
	struct drc_err err = DRC_ERR_INIT;
	char *data = noise(n, 3), *got;
	struct drc_writer *w;

	(void)state;
	assert_int_equal(drc_storage_writer(st, "aborted/small", &w, &err), 0);
	assert_int_equal(drc_writer_write(w, "abc", 3, &err), 0);
	drc_writer_abort(w);
	assert_int_equal(drc_storage_writer(st, "aborted/big", &w, &err), 0);
	assert_int_equal(drc_writer_write(w, data, n, &err), 0);
	drc_writer_abort(w);
	assert_false(exists(st, "aborted/small"));
	assert_false(exists(st, "aborted/big"));
	got = testlib_listing(st, "aborted/");
	assert_string_equal(got, "");
	free(got);
	free(data);
	drc_storage_close(st);
}

/* ---- failures an operator must understand ---- */

/* A port of 127.0.0.1 that nobody listens on: bound, then closed. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* A target whose server is down fails fast, saying which target and where. */
static void test_connection_refused(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st;
	char endpoint[64], want[160];
	struct drc_stat s;
	int64_t start;

	(void)state;
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", free_port());
	st = open_s3("s3-down", endpoint, NULL, NULL);
	snprintf(want, sizeof(want), "unable to reach 's3-down' (%s): connection refused",
		 endpoint);
	start = drc_now_ms();
	expect_err(drc_storage_stat(st, "k", &s, &err), &err, DRC_E_NET, want);
	assert_true(drc_starts_with(err.msg, "unable to stat 's3-down:k': "));
	drc_err_clear(&err);
	expect_err(drc_storage_put_all(st, "k", "x", 1, &err), &err, DRC_E_NET, want);
	assert_true(drc_now_ms() - start < 15000); /* retried briefly, not for minutes */
	drc_storage_close(st);
}

/* Starts `openssl s_server -www` on port with a fresh self-signed certificate for 127.0.0.1
 * (written to cert); returns its pid once it accepts connections. */
static pid_t start_tls_server(int port, const char *cert)
{
	char *key = local_path("tls.key"), *accept = drc_xasprintf("127.0.0.1:%d", port);
	char *argv[] = { "openssl", "s_server", "-accept", accept, "-cert", (char *)cert,
			 "-key", key, "-www", "-quiet", NULL };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	posix_spawn_file_actions_t fa;
	char *cmd = drc_xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:"
				  "prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
				  "subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' 2>&1", key,
				  cert);
	FILE *f = popen(cmd, "r");
	char ignored[512];
	pid_t pid;
	int up = -1;

	while (f && fgets(ignored, sizeof(ignored), f))
		;
	assert_int_equal(WEXITSTATUS(pclose(f)), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	assert_int_equal(posix_spawnp(&pid, "openssl", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 100 && up < 0; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		up = connect(fd, (struct sockaddr *)&a, sizeof(a));
		close(fd);
		if (up < 0)
			usleep(50000);
	}
	assert_int_equal(up, 0);
	free(cmd);
	free(accept);
	free(key);
	return pid;
}

static int count_key(const char *key, const struct drc_stat *s, void *data, struct drc_err *err)
{
	(void)key;
	(void)s;
	(void)err;
	(*(int *)data)++;
	return 0;
}

/* TLS is verified: a private CA's certificate is refused until ca_file names the CA. s_server
 * is no S3 server, so getting past TLS shows as a listing that is not one. */
static void test_tls_verification(void **state)
{
	int port = free_port(), keys = 0;
	char *cert = local_path("tls.pem"), endpoint[64], want[256];
	pid_t pid = start_tls_server(port, cert);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st;

	(void)state;
	snprintf(endpoint, sizeof(endpoint), "https://127.0.0.1:%d", port);
	snprintf(want, sizeof(want), "unable to list 's3-tls:': unable to reach 's3-tls' (%s): "
		 "its TLS certificate is not trusted (for a private CA, set "
		 "storage.s3-tls.ca_file)", endpoint);
	st = open_s3("s3-tls", endpoint, NULL, NULL);
	expect_err(drc_storage_list(st, "", count_key, &keys, &err), &err, DRC_E_NET, want);
	drc_storage_close(st);
	drc_err_clear(&err);
	st = open_s3("s3-tls", endpoint, NULL, cert);
	expect_err(drc_storage_list(st, "", count_key, &keys, &err), &err, DRC_E_FORMAT,
		   "the listing is not a ListBucketResult");
	assert_int_equal(keys, 0);
	drc_storage_close(st);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(cert);
}

static void test_no_such_bucket(void **state)
{
	struct drc_storage *st = open_s3("s3-nob", NULL, "t-no-such-bucket-here", NULL);
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	expect_err(drc_storage_put_all(st, "k", "x", 1, &err), &err, DRC_E_STORAGE,
		   "unable to write 's3-nob:k': 404 NoSuchBucket");
	assert_non_null(strstr(err.msg, "(bucket 't-no-such-bucket-here') (create it, or fix "
					"storage.s3-nob.bucket)"));
	drc_storage_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_round_trip),
		cmocka_unit_test(test_multipart_to_aws),
		cmocka_unit_test(test_aws_to_drctl),
		cmocka_unit_test(test_replaced_while_read),
		cmocka_unit_test(test_list_pages),
		cmocka_unit_test(test_not_found_and_remove),
		cmocka_unit_test(test_abort_leaves_nothing),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_tls_verification),
		cmocka_unit_test(test_no_such_bucket),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
