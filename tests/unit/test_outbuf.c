/*
 * test_outbuf.c: the bounded output queue (outbuf.c) on a real socket pair
 * and a real libev loop. The reader is the test: it stops reading to make
 * the queue fill, and reads again to let it drain.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "outbuf.h"

#define LINE	1000		/* bytes per test line, '\n' included */

struct seen {
	int		fails[3];	/* by enum outbuf_fail */
	int		drained;
	unsigned long	lost;
	struct outbuf	*stop;		/* stop this queue from the fail callback */
	struct outbuf	*ob;
};

static void
drained_cb(void *arg, unsigned long dropped)
{
	struct seen *s = arg;

	s->drained++;
	s->lost += dropped;
}

static void
fail_cb(void *arg, enum outbuf_fail why)
{
	struct seen *s = arg;

	s->fails[why]++;
	if (s->stop != NULL)
		outbuf_stop(s->stop);
}

/* A connected pair with small buffers, so a few lines fill them; w is the queue's end. */
static void
pair(int *w, int *r)
{
	int sv[2], small = 4096;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
	*w = sv[0];
	*r = sv[1];
}

/* Line number i: LINE bytes, the number in front, a newline at the end. */
static void
make_line(char *buf, int i)
{
	memset(buf, 'a' + i % 26, LINE);
	snprintf(buf, 12, "%010d", i);
	buf[10] = ' ';
	buf[LINE - 1] = '\n';
}

/* Put lines until one had to be queued (the socket is full); returns how many were put. */
static int
fill(struct outbuf *ob)
{
	char line[LINE];
	int i;

	for (i = 0; outbuf_allocated(ob) == 0; i++) {
		assert_true(i < 100000);
		make_line(line, i);
		assert_int_equal(outbuf_put(ob, line, LINE), 0);
	}
	return i;
}

/* Read and run the loop until nothing more comes; what was read is appended to got. */
static size_t
drain(struct ev_loop *loop, int r, char *got, size_t gotcap)
{
	size_t len = 0;
	char buf[8192];
	ssize_t n;

	for (int idle = 0; idle < 5;) {
		ev_run(loop, EVRUN_NOWAIT);
		n = recv(r, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (got != NULL) {
				assert_true(len + (size_t)n <= gotcap);
				memcpy(got + len, buf, (size_t)n);
			}
			len += (size_t)n;
			idle = 0;
		} else {
			idle++;
			usleep(1000);
		}
	}
	return len;
}

/* Every line read is whole and they come in order, none missing from first to last. */
static int
check_lines(const char *got, size_t len)
{
	char want[LINE];
	int n = 0;

	assert_int_equal(len % LINE, 0);
	for (size_t off = 0; off < len; off += LINE, n++) {
		make_line(want, atoi(got + off));
		assert_memory_equal(got + off, want, LINE);
		assert_int_equal(atoi(got + off), n);
	}
	return n;
}

/* Without a fail_cb, lines that do not fit are counted and the reader is told once it caught up. */
static void
test_drop_and_tell(void **st)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct seen s = { 0 };
	char line[LINE];
	int w, r, put;

	(void)st;
	pair(&w, &r);
	s.ob = outbuf_new(loop, w, 4 * LINE, drained_cb, &s);
	put = fill(s.ob);
	/* room for about four more queued lines, then drops */
	for (int i = 0; i < 10; i++) {
		make_line(line, put + i);
		(void)outbuf_put(s.ob, line, LINE);
	}
	assert_int_equal(s.drained, 0);
	drain(loop, r, NULL, 0);
	assert_int_equal(s.drained, 1);
	assert_true(s.lost >= 5 && s.lost <= 10);
	assert_false(outbuf_broken(s.ob));
	/* the queue goes on after the drops */
	make_line(line, 0);
	assert_int_equal(outbuf_put(s.ob, line, LINE), 0);
	outbuf_free(s.ob, 0);
	ev_loop_destroy(loop);
	close(w);
	close(r);
}

/* With a fail_cb, the first line that does not fit is reported, and the owner may stop the queue there. */
static void
test_full_callback(void **st)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct seen s = { 0 };
	char line[LINE];
	int w, r, put, i;

	(void)st;
	pair(&w, &r);
	s.ob = outbuf_new(loop, w, 4 * LINE, drained_cb, &s);
	outbuf_set_fail_cb(s.ob, fail_cb);
	s.stop = s.ob;
	put = fill(s.ob);
	for (i = 0; i < 10 && s.fails[OUTBUF_FULL] == 0; i++) {
		make_line(line, put + i);
		if (outbuf_put(s.ob, line, LINE) != 0)
			break;
	}
	assert_int_equal(i, 3);	/* behind what is queued (at most a line), three more fit under four lines */
	assert_int_equal(s.fails[OUTBUF_FULL], 1);
	assert_int_equal(s.fails[OUTBUF_BROKEN], 0);
	/* stopped from inside the callback: nothing more is taken, the memory is gone, no drained_cb */
	assert_true(outbuf_broken(s.ob));
	assert_int_equal(outbuf_allocated(s.ob), 0);
	assert_int_equal(outbuf_put(s.ob, line, LINE), -1);
	assert_int_equal(s.fails[OUTBUF_FULL], 1);
	drain(loop, r, NULL, 0);
	assert_int_equal(s.drained, 0);
	outbuf_free(s.ob, 0);
	ev_loop_destroy(loop);
	close(w);
	close(r);
}

/* A burst grows the queue past OUTBUF_KEEP; once drained, that memory is given back. */
static void
test_shrink_after_burst(void **st)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct seen s = { 0 };
	size_t cap = 4u << 20, len;
	char line[LINE], *got = malloc(cap);
	int w, r, put, n;

	(void)st;
	assert_non_null(got);
	pair(&w, &r);
	s.ob = outbuf_new(loop, w, 1u << 20, drained_cb, &s);
	outbuf_set_fail_cb(s.ob, fail_cb);
	put = fill(s.ob);
	for (n = put; n < put + 500; n++) {
		make_line(line, n);
		assert_int_equal(outbuf_put(s.ob, line, LINE), 0);
	}
	assert_true(outbuf_allocated(s.ob) > OUTBUF_KEEP);
	len = drain(loop, r, got, cap);
	assert_int_equal(check_lines(got, len), n);
	assert_int_equal(outbuf_allocated(s.ob), 0);
	/* a small backlog keeps its buffer: no malloc per line for a reader a little behind */
	put = fill(s.ob);
	for (int i = 0; i < 5; i++) {
		make_line(line, put + i);
		assert_int_equal(outbuf_put(s.ob, line, LINE), 0);
	}
	drain(loop, r, NULL, 0);
	assert_true(outbuf_allocated(s.ob) > 0 && outbuf_allocated(s.ob) <= OUTBUF_KEEP);
	assert_int_equal(s.fails[OUTBUF_FULL] + s.fails[OUTBUF_NOMEM] + s.fails[OUTBUF_BROKEN], 0);
	assert_int_equal(s.drained, 0);
	outbuf_free(s.ob, 0);
	ev_loop_destroy(loop);
	close(w);
	close(r);
	free(got);
}

/* A line larger than the socket takes goes out in part; the rest follows, whole and in order. */
static void
test_partial_write(void **st)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct seen s = { 0 };
	size_t biglen = 300 * LINE, len;
	char line[LINE], *big = malloc(biglen), *got = malloc(biglen + 2 * LINE);
	int w, r;

	(void)st;
	assert_non_null(big);
	assert_non_null(got);
	for (int i = 0; i < 300; i++)
		make_line(big + (size_t)i * LINE, i);
	pair(&w, &r);
	/* the limit is smaller than the line: the rest of a line begun is kept all the same */
	s.ob = outbuf_new(loop, w, 64 * LINE, drained_cb, &s);
	outbuf_set_fail_cb(s.ob, fail_cb);
	assert_int_equal(outbuf_put(s.ob, big, biglen), 0);
	assert_true(outbuf_allocated(s.ob) > 0);
	/* but the queue is over its limit now: the next line is refused, not cut in */
	make_line(line, 300);
	assert_int_equal(outbuf_put(s.ob, line, LINE), -1);
	assert_int_equal(s.fails[OUTBUF_FULL], 1);
	len = drain(loop, r, got, biglen + 2 * LINE);
	assert_int_equal(outbuf_put(s.ob, line, LINE), 0);
	len += drain(loop, r, got + len, biglen + 2 * LINE - len);
	assert_int_equal(check_lines(got, len), 301);
	assert_int_equal(s.fails[OUTBUF_BROKEN], 0);
	assert_int_equal(s.drained, 1);
	assert_int_equal(s.lost, 1);
	outbuf_free(s.ob, 0);
	ev_loop_destroy(loop);
	close(w);
	close(r);
	free(big);
	free(got);
}

/* The reader goes away: put and the write watcher both report a broken fd, without SIGPIPE. */
static void
test_broken(void **st)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct seen s = { 0 };
	char line[LINE];
	int w, r;

	(void)st;
	/* SIGPIPE is left at its default: a send() without MSG_NOSIGNAL would end this test */
	pair(&w, &r);
	s.ob = outbuf_new(loop, w, 1u << 20, drained_cb, &s);
	outbuf_set_fail_cb(s.ob, fail_cb);
	(void)fill(s.ob);
	close(r);
	/* found by the loop, while lines wait */
	for (int i = 0; i < 100 && s.fails[OUTBUF_BROKEN] == 0; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	assert_int_equal(s.fails[OUTBUF_BROKEN], 1);
	assert_true(outbuf_broken(s.ob));
	assert_int_equal(outbuf_allocated(s.ob), 0);
	make_line(line, 0);
	assert_int_equal(outbuf_put(s.ob, line, LINE), -1);
	outbuf_free(s.ob, 0);
	close(w);

	/* found by put, nothing queued */
	memset(&s, 0, sizeof(s));
	pair(&w, &r);
	s.ob = outbuf_new(loop, w, 1u << 20, drained_cb, &s);
	outbuf_set_fail_cb(s.ob, fail_cb);
	close(r);
	assert_int_equal(outbuf_put(s.ob, line, LINE), -1);
	assert_int_equal(s.fails[OUTBUF_BROKEN], 1);
	assert_true(outbuf_broken(s.ob));
	outbuf_free(s.ob, 0);
	ev_loop_destroy(loop);
	close(w);
}

/* outbuf_free(ob, 0) still hands over what the fd takes at once: a client's last words. */
static void
test_free_writes_what_fits(void **st)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct seen s = { 0 };
	char *got = malloc(1u << 20);
	char line[LINE];
	size_t len = 0;
	ssize_t n;
	int w, r, put;

	(void)st;
	assert_non_null(got);
	pair(&w, &r);
	s.ob = outbuf_new(loop, w, 1u << 20, drained_cb, &s);
	put = fill(s.ob);
	make_line(line, put);
	assert_int_equal(outbuf_put(s.ob, line, LINE), 0);
	/* the reader empties the socket, but the loop does not run: only free can send the rest */
	while ((n = recv(r, got + len, (1u << 20) - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	outbuf_free(s.ob, 0);
	close(w);
	while ((n = recv(r, got + len, (1u << 20) - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	assert_int_equal(check_lines(got, len), put + 1);
	ev_loop_destroy(loop);
	close(r);
	free(got);
}

/* stdout that was blocking is blocking again after the queue; one that was not is left alone. */
static void
test_flags_restored(void **st)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct outbuf *ob;
	int w, r;

	(void)st;
	pair(&w, &r);
	ob = outbuf_new(loop, w, 4096, NULL, NULL);
	assert_true(fcntl(w, F_GETFL) & O_NONBLOCK);
	outbuf_free(ob, 0);
	assert_false(fcntl(w, F_GETFL) & O_NONBLOCK);
	/* stopped: the owner may close the fd at once, so the flags are back already */
	ob = outbuf_new(loop, w, 4096, NULL, NULL);
	outbuf_stop(ob);
	assert_false(fcntl(w, F_GETFL) & O_NONBLOCK);
	outbuf_free(ob, 0);
	ob = outbuf_new(loop, r, 4096, NULL, NULL);
	outbuf_free(ob, 0);
	assert_true(fcntl(r, F_GETFL) & O_NONBLOCK);
	ev_loop_destroy(loop);
	close(w);
	close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_and_tell),
		cmocka_unit_test(test_full_callback),
		cmocka_unit_test(test_shrink_after_burst),
		cmocka_unit_test(test_partial_write),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_free_writes_what_fits),
		cmocka_unit_test(test_flags_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
