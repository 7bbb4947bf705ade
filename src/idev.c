/* idev.c: lockdownd on a worker thread; libirecovery's model table. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <libimobiledevice/libimobiledevice.h>
#include <libimobiledevice/lockdown.h>
#include <libirecovery.h>
#include <plist/plist.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "idev.h"
#include "models.h"
#include "owner.h"
#include "text.h"

struct idev_item {
	struct idev_item *next;
	struct idev_result r;
};

struct idev {
	struct ev_loop *loop;
	ev_async async;			/* first member cast back is not needed: container_of below */
	idev_result_cb cb;
	void *arg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct idev_item *todo, *todo_tail;
	struct idev_item *done, *done_tail;
	bool stop;
};

static void
push(struct idev_item **head, struct idev_item **tail, struct idev_item *it)
{
	it->next = NULL;
	if (*tail)
		(*tail)->next = it;
	else
		*head = it;
	*tail = it;
}

static struct idev_item *
pop(struct idev_item **head, struct idev_item **tail)
{
	struct idev_item *it = *head;

	if (it) {
		*head = it->next;
		if (*head == NULL)
			*tail = NULL;
	}
	return it;
}

static void
get_string(lockdownd_client_t c, const char *key, char *out, size_t len)
{
	plist_t node = NULL;
	char *s = NULL;

	if (lockdownd_get_value(c, NULL, key, &node) == LOCKDOWN_E_SUCCESS && node &&
	    plist_get_node_type(node) == PLIST_STRING) {
		plist_get_string_val(node, &s);
		if (s)
			text_sanitize(out, len, s, strlen(s));
		free(s);
	}
	if (node)
		plist_free(node);
}

/* Runs on the worker thread: blocking libimobiledevice calls. */
static void
do_request(struct idev_result *r)
{
	idevice_t dev = NULL;
	lockdownd_client_t client = NULL;
	lockdownd_error_t lerr;
	plist_t node = NULL;

	if (idevice_new(&dev, r->udid) != IDEVICE_E_SUCCESS) {
		r->err = -1;
		snprintf(r->msg, sizeof(r->msg), "device not reachable through usbmuxd%s",
		    idev_usbmuxd_running() ? "" : " (usbmuxd is not running)");
		return;
	}
	lerr = lockdownd_client_new(dev, &client, "idevicebench");
	if (lerr != LOCKDOWN_E_SUCCESS) {
		r->err = -1;
		snprintf(r->msg, sizeof(r->msg), "lockdownd did not answer (error %d)", (int)lerr);
		idevice_free(dev);
		return;
	}
	if (r->req == IDEV_QUERY) {
		if (lockdownd_get_value(client, NULL, "UniqueChipID", &node) == LOCKDOWN_E_SUCCESS && node &&
		    plist_get_node_type(node) == PLIST_UINT) {
			uint64_t v = 0;
			plist_get_uint_val(node, &v);
			r->ecid = v;
		}
		if (node)
			plist_free(node);
		get_string(client, "ProductType", r->product_type, sizeof(r->product_type));
		get_string(client, "ProductVersion", r->version, sizeof(r->version));
		if (r->ecid == 0) {
			r->err = -1;
			snprintf(r->msg, sizeof(r->msg), "lockdownd gave no UniqueChipID");
		}
	} else {
		lerr = lockdownd_enter_recovery(client);
		if (lerr != LOCKDOWN_E_SUCCESS) {
			r->err = -1;
			snprintf(r->msg, sizeof(r->msg), "lockdownd refused EnterRecovery (error %d)", (int)lerr);
		} else
			snprintf(r->msg, sizeof(r->msg), "entering recovery mode");
	}
	lockdownd_client_free(client);
	idevice_free(dev);
}

static void *
worker(void *p)
{
	struct idev *d = p;
	struct idev_item *it;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->stop && d->todo == NULL)
			pthread_cond_wait(&d->cv, &d->mu);
		if (d->stop)
			break;
		it = pop(&d->todo, &d->todo_tail);
		pthread_mutex_unlock(&d->mu);
		do_request(&it->r);
		pthread_mutex_lock(&d->mu);
		push(&d->done, &d->done_tail, it);
		ev_async_send(d->loop, &d->async);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct idev *d = OWNER_OF(w, struct idev, async);
	struct idev_item *list, *it;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&d->mu);
	list = d->done;
	d->done = d->done_tail = NULL;
	pthread_mutex_unlock(&d->mu);
	while ((it = list) != NULL) {
		list = it->next;
		d->cb(d->arg, &it->r);
		free(it);
	}
}

struct idev *
idev_new(struct ev_loop *loop, idev_result_cb cb, void *arg)
{
	struct idev *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->loop = loop;
	d->cb = cb;
	d->arg = arg;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	ev_async_init(&d->async, async_cb);
	ev_async_start(loop, &d->async);
	ev_unref(loop);		/* the watcher alone must not keep the loop alive */
	if (pthread_create(&d->thread, NULL, worker, d) != 0) {
		ev_ref(loop);
		ev_async_stop(loop, &d->async);
		free(d);
		return NULL;
	}
	return d;
}

void
idev_free(struct idev *d)
{
	struct idev_item *it;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thread, NULL);
	ev_ref(d->loop);
	ev_async_stop(d->loop, &d->async);
	while ((it = pop(&d->todo, &d->todo_tail)) != NULL)
		free(it);
	while ((it = pop(&d->done, &d->done_tail)) != NULL)
		free(it);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}

int
idev_submit(struct idev *d, enum idev_request req, const char *port, const char *udid)
{
	struct idev_item *it = calloc(1, sizeof(*it));

	if (it == NULL)
		return -1;
	it->r.req = req;
	text_copy(it->r.port, port, sizeof(it->r.port));
	text_copy(it->r.udid, udid, sizeof(it->r.udid));
	pthread_mutex_lock(&d->mu);
	push(&d->todo, &d->todo_tail, it);
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

size_t
idev_load_models(void)
{
	irecv_device_t all = irecv_devices_get_all();
	size_t n = 0;

	for (; all != NULL && all->product_type != NULL; all++) {
		struct model m;

		memset(&m, 0, sizeof(m));
		m.cpid = all->chip_id;
		m.bdid = all->board_id;
		text_copy(m.product_type, all->product_type, sizeof(m.product_type));
		text_copy(m.hw_model, all->hardware_model ? all->hardware_model : "", sizeof(m.hw_model));
		text_copy(m.name, all->display_name ? all->display_name : all->product_type, sizeof(m.name));
		m.buttons = models_buttons_guess(m.product_type);
		if (models_add(&m) == 0)
			n++;
	}
	return n;
}

bool
idev_usbmuxd_running(void)
{
	struct sockaddr_un sa;
	const char *path = getenv("USBMUXD_SOCKET_ADDRESS");
	int fd, ok;

	if (path && strncmp(path, "UNIX:", 5) == 0)
		path += 5;
	else if (path && strchr(path, ':'))
		return true;	/* a TCP address: assume the user knows */
	if (path == NULL || path[0] == '\0')
		path = "/var/run/usbmuxd";
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	text_copy(sa.sun_path, path, sizeof(sa.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}
