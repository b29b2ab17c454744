/* test/unit/test_notify.c - lib/notify: webhooks POSTed to a real HTTP server on 127.0.0.1 */
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "drctl/http.h"
#include "drctl/json.h"
#include "drctl/notify.h"

extern char **environ;

/*
 * The receiver is a real HTTP server: Python's http.server, started by this test on an
 * ephemeral port of 127.0.0.1. It logs every request it gets (path, Content-Type, body) as
 * one JSON line, and answers 500 "boom" to any path holding "fail", 200 "ok" to the rest.
 * So what is checked is what went over the wire, not what drctl meant to send.
 */
static const char receiver_py[] =
	"import http.server, json, os, sys\n"
	"log = open(sys.argv[1], 'a')\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def do_POST(self):\n"
	"        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))\n"
	"        ctype = self.headers.get('Content-Type')\n"
	"        log.write(json.dumps({'path': self.path, 'ctype': ctype,\n"
	"                              'body': body.decode()}) + '\\n')\n"
	"        log.flush()\n"
	"        fail = 'fail' in self.path\n"
	"        msg = b'boom\\nmore' if fail else b'ok'\n"
	"        self.send_response(500 if fail else 200)\n"
	"        self.send_header('Content-Length', str(len(msg)))\n"
	"        self.end_headers()\n"
	"        self.wfile.write(msg)\n"
	"    def log_message(self, *args):\n"
	"        pass\n"
	"s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
	"open(sys.argv[2] + '.tmp', 'w').write(str(s.server_port))\n"
	"os.rename(sys.argv[2] + '.tmp', sys.argv[2])\n"
	"s.serve_forever()\n";

static char dir[] = "/tmp/drctl-notify-XXXXXX";
static char *log_path;
static pid_t receiver;
static int port;

static char *path_in(const char *name)
{
	return drc_xasprintf("%s/%s", dir, name);
}

static int start_receiver(void **state)
{
	char *script, *port_path, *argv[5];
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf text = DRC_BUF_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	script = path_in("receiver.py");
	port_path = path_in("port");
	log_path = path_in("requests.jsonl");
	if (drc_write_file_atomic(script, receiver_py, strlen(receiver_py), 0600, &err) < 0 ||
	    drc_write_file_atomic(log_path, "", 0, 0600, &err) < 0)
		fail_msg("%s", err.msg);
	argv[0] = (char *)"python3";
	argv[1] = script;
	argv[2] = log_path;
	argv[3] = port_path;
	argv[4] = NULL;
	if (posix_spawnp(&receiver, "python3", NULL, NULL, argv, environ) != 0)
		fail_msg("unable to start python3 for the test's HTTP receiver");
	for (int i = 0; i < 100 && access(port_path, F_OK); i++)
		drc_sleep_ms(50);
	if (drc_read_file(port_path, 0, &text, &err) < 0)
		fail_msg("the python3 HTTP receiver did not start: %s", err.msg);
	port = (int)strtol(text.buf, NULL, 10);
	assert_true(port > 0);
	drc_buf_release(&text);
	free(script);
	free(port_path);
	return 0;
}

static int stop_receiver(void **state)
{
	const char *rm[] = { "rm", "-rf", dir, NULL };
	struct drc_proc p = { .argv = rm };
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	int status;

	(void)state;
	if (receiver > 0) { /* never 0: kill(0) would signal this whole process group */
		kill(receiver, SIGTERM);
		waitpid(receiver, &status, 0);
	}
	assert_int_equal(drc_proc_run(&p, &r, &err), 0);
	drc_proc_result_release(&r);
	free(log_path);
	return 0;
}

/* The requests the receiver got since the last call, as a JSON array (caller deletes). */
static cJSON *requests(void)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf text = DRC_BUF_INIT;
	cJSON *all = cJSON_CreateArray();
	char *line, *next;

	if (drc_read_file(log_path, 0, &text, &err) < 0)
		fail_msg("%s", err.msg);
	for (line = text.buf; *line; line = next) {
		cJSON *req;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		assert_int_equal(drc_json_parse(line, "a logged request", &req, &err), 0);
		cJSON_AddItemToArray(all, req);
	}
	assert_int_equal(truncate(log_path, 0), 0);
	drc_buf_release(&text);
	return all;
}

static size_t count_path(const cJSON *reqs, const char *path)
{
	const cJSON *r;
	size_t n = 0;

	cJSON_ArrayForEach(r, reqs)
		n += drc_streq(drc_json_str(r, "path"), path);
	return n;
}

/* The JSON body of request i (caller deletes). */
static cJSON *body_of(const cJSON *reqs, int i)
{
	struct drc_err err = DRC_ERR_INIT;
	cJSON *body = NULL;

	if (drc_json_parse(drc_json_str(cJSON_GetArrayItem(reqs, i), "body"), "a body", &body,
			   &err) < 0)
		fail_msg("%s", err.msg);
	return body;
}

static cJSON *event_new(void)
{
	cJSON *event = cJSON_CreateObject();

	cJSON_AddStringToObject(event, "event", "failover");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(event, "regions"), "us-east", "down");
	return event;
}

static void test_delivered(void **state)
{
	struct drc_strlist urls = DRC_STRLIST_INIT, failures = DRC_STRLIST_INIT;
	cJSON *event = event_new(), *reqs, *body;

	(void)state;
	drc_strlist_addf(&urls, "http://127.0.0.1:%d/hook?token=s3cret", port);
	drc_strlist_addf(&urls, "http://127.0.0.1:%d/services/T0/B0/xyz", port);
	assert_int_equal(drc_notify_send(&urls, event, "failover to eu-west: done in 4.2 s",
					 &failures), 0);
	assert_int_equal(failures.nr, 0);
	/* the caller's event is left as it was */
	assert_null(cJSON_GetObjectItem(event, "text"));

	reqs = requests();
	assert_int_equal(cJSON_GetArraySize(reqs), 2);
	assert_int_equal(count_path(reqs, "/hook?token=s3cret"), 1);
	assert_int_equal(count_path(reqs, "/services/T0/B0/xyz"), 1);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(drc_json_str(cJSON_GetArrayItem(reqs, i), "ctype"),
				    "application/json");
		body = body_of(reqs, i);
		assert_string_equal(drc_json_str(body, "event"), "failover");
		assert_string_equal(drc_json_str(body, "text"),
				    "failover to eu-west: done in 4.2 s");
		assert_string_equal(drc_json_str(cJSON_GetObjectItem(body, "regions"), "us-east"),
				    "down");
		cJSON_Delete(body);
	}
	cJSON_Delete(reqs);
	cJSON_Delete(event);
	drc_strlist_clear(&urls);
}

/* An event's own "text" gives way to the summary; no summary, no "text" added. */
static void test_text_field(void **state)
{
	struct drc_strlist urls = DRC_STRLIST_INIT, failures = DRC_STRLIST_INIT;
	cJSON *event = event_new(), *reqs, *body;

	(void)state;
	drc_strlist_addf(&urls, "http://127.0.0.1:%d/hook", port);
	cJSON_AddStringToObject(event, "text", "old");
	assert_int_equal(drc_notify_send(&urls, event, "new", &failures), 0);
	assert_string_equal(drc_json_str(event, "text"), "old");
	cJSON_DeleteItemFromObject(event, "text");
	assert_int_equal(drc_notify_send(&urls, event, NULL, &failures), 0);
	reqs = requests();
	assert_int_equal(cJSON_GetArraySize(reqs), 2);
	body = body_of(reqs, 0);
	assert_string_equal(drc_json_str(body, "text"), "new");
	assert_int_equal(cJSON_GetArraySize(body), 3);
	cJSON_Delete(body);
	body = body_of(reqs, 1);
	assert_null(cJSON_GetObjectItem(body, "text"));
	cJSON_Delete(body);
	cJSON_Delete(reqs);
	cJSON_Delete(event);
	drc_strlist_clear(&urls);
}

/* Every URL is tried; each failure names its URL without the secrets a webhook URL holds. */
static void test_failures(void **state)
{
	struct drc_strlist urls = DRC_STRLIST_INIT, failures = DRC_STRLIST_INIT;
	int closed = testlib_closed_port();
	cJSON *event = event_new(), *reqs;
	char *want;

	(void)state;
	drc_strlist_addf(&urls, "http://127.0.0.1:%d/hook?key=s3cret", closed);
	drc_strlist_addf(&urls, "http://127.0.0.1:%d/fail?token=s3cret", port);
	drc_strlist_addf(&urls, "http://user:s3cret@127.0.0.1:%d/services/T0/B0/fail-s3cret", port);
	drc_strlist_addf(&urls, "http://127.0.0.1:%d/ok", port);
	assert_int_equal(drc_notify_send(&urls, event, "x", &failures), 3);
	assert_int_equal(failures.nr, 3);
	for (size_t i = 0; i < failures.nr; i++)
		if (strstr(failures.items[i], "s3cret") || strstr(failures.items[i], "user"))
			fail_msg("a failure shows a secret of its URL: %s", failures.items[i]);

	want = drc_xasprintf("http://127.0.0.1:%d/hook: ", closed);
	if (!drc_starts_with(failures.items[0], want) || strstr(failures.items[0], "unable to"))
		fail_msg("closed port: got '%s'", failures.items[0]);
	free(want);
	want = drc_xasprintf("http://127.0.0.1:%d/fail: HTTP 500: boom", port);
	assert_string_equal(failures.items[1], want);
	free(want);
	/* the path past its first segment may be the token itself (Slack) */
	want = drc_xasprintf("http://127.0.0.1:%d/services/...: HTTP 500: boom", port);
	assert_string_equal(failures.items[2], want);
	free(want);

	reqs = requests();
	/* a 500 is retried (3 attempts), and the URL after the failures is still tried */
	assert_int_equal(count_path(reqs, "/fail?token=s3cret"), 3);
	assert_int_equal(count_path(reqs, "/services/T0/B0/fail-s3cret"), 3);
	assert_int_equal(count_path(reqs, "/ok"), 1);
	assert_int_equal(cJSON_GetArraySize(reqs), 7);
	cJSON_Delete(reqs);
	cJSON_Delete(event);
	drc_strlist_clear(&urls);
	drc_strlist_clear(&failures);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivered),
		cmocka_unit_test(test_text_field),
		cmocka_unit_test(test_failures),
	};
	struct drc_err err = DRC_ERR_INIT;

	if (drc_http_global_init(&err) < 0)
		fail_msg("%s", err.msg);
	return cmocka_run_group_tests(tests, start_receiver, stop_receiver);
}
