/* test_mirror.c: events.c's lines read back by a console's mirror (mirror.c). */
#include "testutil.h"
#include "bench.h"
#include "benchview.h"
#include "command.h"
#include "events.h"
#include "mirror.h"
#include "restore_parse.h"
#include "slot.h"

static char sent[4][256];
static int nsent;

static int
send_cb(void *arg, const char *line)
{
	(void)arg;
	if (nsent < 4)
		snprintf(sent[nsent++], sizeof(sent[0]), "%s", line);
	return 0;
}

static int
feed(struct mirror *m, char *line, char *msg, size_t msglen)
{
	int rc;

	assert_non_null(line);
	assert_int_equal(line[strlen(line) - 1], '\n');
	rc = mirror_feed(m, line, strlen(line) - 1, msg, msglen);
	free(line);
	return rc;
}

static void
make_slot(struct slot *s, const char *label, const char *port)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
	snprintf(s->port, sizeof(s->port), "%s", port);
	s->job.step = STEP_NONE;
}

/* A slot, its phone, a running then failed job, a flag and advice arrive as the bench had them. */
static void
test_round_trip(void **st)
{
	struct mirror *m = mirror_new(send_cb, NULL);
	struct benchview v;
	struct slot s, t;
	const struct slot *got;
	char msg[256], *body;

	(void)st;
	mirror_view(m, &v);
	make_slot(&s, "A1", "1-2.3");
	make_slot(&t, "A0", "1-2.1");
	assert_int_equal(feed(m, events_slot(&s, 0), msg, sizeof(msg)), MIRROR_ALL);
	/* the bench's order comes with the index: A0 goes first */
	assert_int_equal(feed(m, events_slot(&t, 0), msg, sizeof(msg)), MIRROR_ALL);
	assert_int_equal(bv_slot_count(&v), 2);
	assert_string_equal(bv_slot_at(&v, 0)->label, "A0");
	assert_int_equal(bv_slot_find(&v, "1-2.3"), 1);
	assert_int_equal(bv_slot_find(&v, "A1"), 1);

	s.present = true;
	s.mode = MODE_RECOVERY;
	s.dev.ecid = 0x1a2b3c4d5e6f70ULL;
	s.dev.cpid = 0x8010;
	s.dev.bdid = 0x0c;
	snprintf(s.dev.product_type, sizeof(s.dev.product_type), "iPhone9,1");
	snprintf(s.dev.name, sizeof(s.dev.name), "iPhone 7");
	assert_int_equal(feed(m, events_device(&s), msg, sizeof(msg)), 1);
	got = bv_slot_at(&v, 1);
	assert_true(got->present);
	assert_int_equal(got->mode, MODE_RECOVERY);
	assert_true(got->dev.ecid == 0x1a2b3c4d5e6f70ULL);
	assert_int_equal(got->dev.cpid, 0x8010);
	assert_string_equal(got->dev.name, "iPhone 7");
	assert_int_equal(bv_status(&v)->count.present, 1);

	s.job.state = JOB_RUNNING;
	s.job.action = ACT_ERASE;
	s.job.ecid = s.dev.ecid;
	s.job.step = rp_step_from_name("upload_fs");
	s.job.percent = 42.5;
	assert_int_equal(feed(m, events_job(&s), msg, sizeof(msg)), 1);
	assert_int_equal(got->job.state, JOB_RUNNING);
	assert_int_equal(got->job.action, ACT_ERASE);
	assert_int_equal(got->job.step, s.job.step);
	assert_true(got->job.percent > 42.4 && got->job.percent < 42.6);
	assert_int_equal(bv_status(&v)->count.running, 1);
	assert_true(bv_busy(&v));

	s.job.state = JOB_FAILED;
	s.job.result.cls = errclass_from_name("connection-lost");
	s.job.result.code = 4013;
	s.job.result.step = s.job.step;
	s.job.result.percent = 42.5;
	snprintf(s.job.result.message, sizeof(s.job.result.message), "Unable to send data to ASR");
	assert_int_equal(feed(m, events_job(&s), msg, sizeof(msg)), 1);
	assert_int_equal(got->job.state, JOB_FAILED);
	assert_int_equal(got->job.result.code, 4013);
	assert_string_equal(errclass_name(got->job.result.cls), "connection-lost");
	assert_string_equal(got->job.result.message, "Unable to send data to ASR");
	assert_int_equal(bv_status(&v)->count.failed, 1);
	assert_false(bv_busy(&v));

	s.flagged = true;
	snprintf(s.flag_reason, sizeof(s.flag_reason), "no backlight");
	assert_int_equal(feed(m, events_flag(&s), msg, sizeof(msg)), 1);
	assert_true(got->flagged);
	assert_string_equal(got->flag_reason, "no backlight");

	/* the detail carries what the stable events do not: the unflag, attempts, the tail */
	s.flagged = false;
	s.flag_reason[0] = '\0';
	s.attempts = 3;
	slot_tail_push(&s.job, "line one", 8);
	slot_tail_push(&s.job, "line two", 8);
	body = events_detail_body(&s);
	assert_int_equal(feed(m, events_stamp(body), msg, sizeof(msg)), 1);
	free(body);
	assert_false(got->flagged);
	assert_int_equal(got->attempts, 3);
	assert_int_equal(got->job.tail_count, 2);
	assert_int_equal(bv_status(&v)->count.flagged, 0);

	/* the phone leaves: the slot is empty, yet names the phone it had, as the bench's console does */
	s.present = false;
	s.mode = MODE_NONE;
	body = events_detail_body(&s);
	assert_int_equal(feed(m, events_stamp(body), msg, sizeof(msg)), 1);
	free(body);
	assert_false(got->present);
	assert_true(got->dev.ecid == 0x1a2b3c4d5e6f70ULL);
	assert_int_equal(got->dev.cpid, 0x8010);
	assert_int_equal(got->dev.bdid, 0x0c);
	assert_string_equal(got->dev.product_type, "iPhone9,1");
	assert_string_equal(got->dev.name, "iPhone 7");

	assert_int_equal(feed(m, events_error("no slot named 'Z9'"), msg, sizeof(msg)), MIRROR_ERROR);
	assert_string_equal(msg, "no slot named 'Z9'");
	mirror_free(m);
}

/* Commands go back to the bench as lines of the command language. */
static void
test_commands(void **st)
{
	struct mirror *m = mirror_new(send_cb, NULL);
	struct benchview v;
	struct command c;
	char msg[128];

	(void)st;
	nsent = 0;
	mirror_view(m, &v);
	assert_true(v.remote);
	memset(&c, 0, sizeof(c));
	c.verb = CMD_FLAG;
	snprintf(c.slot, sizeof(c.slot), "A1");
	snprintf(c.reason, sizeof(c.reason), "cracked screen");
	assert_int_equal(bv_exec(&v, &c, msg, sizeof(msg)), 0);
	memset(&c, 0, sizeof(c));
	c.verb = CMD_QUIT;
	assert_int_equal(bv_exec(&v, &c, msg, sizeof(msg)), 0);
	assert_int_equal(nsent, 2);
	assert_string_equal(sent[0], "flag A1 cracked screen\n");
	assert_string_equal(sent[1], "quit\n");
	mirror_free(m);
}

/* Whatever comes over the socket: no crash, no control character kept, nothing for unknown slots. */
static void
test_hostile(void **st)
{
	static const char *lines[] = {
		"", "{", "[]", "null", "{\"event\":5}", "{\"event\":\"job\",\"slot\":\"nope\",\"state\":\"running\"}",
		"{\"event\":\"slot\",\"slot\":\"A 1\",\"port\":\"1-1\"}",
		"{\"event\":\"slot\",\"slot\":\"A1\",\"port\":\"1-1.1\",\"index\":-7}",
		"{\"event\":\"slot\",\"slot\":\"A2\",\"port\":\"1-1.2\",\"index\":99999}",
		"{\"event\":\"device\",\"slot\":\"A1\",\"mode\":\"bogus\",\"name\":\"\\u001b[2Jevil\\u0007\",\"ecid\":7}",
		"{\"event\":\"job\",\"slot\":\"A1\",\"state\":\"running\",\"percent\":\"x\",\"step\":\"nowhere\"}",
		"{\"event\":\"detail\",\"slot\":\"A1\",\"dfu\":99,\"dfu_step\":-4,\"job_step\":1000,\"tail\":[1,null,\"ok\"]}",
		"{\"event\":\"bench\",\"name\":[],\"clients\":\"many\"}",
	};
	struct mirror *m = mirror_new(send_cb, NULL);
	struct benchview v;
	char msg[64];
	const struct slot *s;

	(void)st;
	mirror_view(m, &v);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		mirror_feed(m, lines[i], strlen(lines[i]), msg, sizeof(msg));
	assert_int_equal(bv_slot_count(&v), 2);
	assert_int_equal(bv_slot_find(&v, "nope"), -1);
	s = bv_slot_at(&v, (size_t)bv_slot_find(&v, "A1"));
	for (const char *p = s->dev.name; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	assert_true(s->dfu <= DFU_TOO_LONG);
	assert_true(s->dfu_step >= 0);
	assert_true(s->job.step < 64);
	assert_int_equal(s->job.tail_count, 1);
	assert_null(bv_slot_at(&v, 5));
	mirror_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
