// SPDX-License-Identifier: GPL-2.0
/*
 * The event channel (layout in xdp_sni.h): a ring per possible CPU in two
 * mmapable arrays, xsni_evhdr (head, tail, lost per CPU) and xsni_events
 * (XSNI_EV_SLOTS records per CPU). The program fills the slot at head and
 * then advances head; this side copies the records between tail and head
 * and then advances tail. Nothing is waited on: readers poll (the daemon
 * every EVENTS_POLL_MS).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "events.h"

struct events {
	struct xsni_evhdr *hdr;
	struct xsni_event *rec;
	size_t hdr_len, rec_len;
	int ncpu;
	event_fn fn;
	void *ctx;
};

static int ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

int events_size_maps(struct bpf_object *obj)
{
	struct bpf_map *h = bpf_object__find_map_by_name(obj, XSNI_MAP_EVHDR);
	struct bpf_map *e = bpf_object__find_map_by_name(obj, XSNI_MAP_EVENTS);

	if (!h || !e)
		return -ENOENT;
	if (bpf_map__set_max_entries(h, ncpus()) ||
	    bpf_map__set_max_entries(e, ncpus() * XSNI_EV_SLOTS))
		return -EINVAL;
	return 0;
}

static void *map_mmap(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(size_t n)
{
	size_t pg = getpagesize();

	return (n + pg - 1) / pg * pg;
}

struct events *events_open(int hdr_fd, int ev_fd, event_fn fn, void *ctx)
{
	struct events *ev = calloc(1, sizeof(*ev));
	struct bpf_map_info hi = {}, ei = {};
	__u32 hl = sizeof(hi), el = sizeof(ei);
	int err = EINVAL;

	if (!ev)
		return NULL;
	ev->fn = fn;
	ev->ctx = ctx;
	ev->ncpu = ncpus();
	if (bpf_obj_get_info_by_fd(hdr_fd, &hi, &hl) || bpf_obj_get_info_by_fd(ev_fd, &ei, &el))
		goto fail;
	/* the maps must have been sized for this machine's CPUs */
	if (hi.max_entries < (__u32)ev->ncpu || ei.max_entries < (__u32)ev->ncpu * XSNI_EV_SLOTS ||
	    hi.value_size != sizeof(struct xsni_evhdr) ||
	    ei.value_size != sizeof(struct xsni_event))
		goto fail;
	ev->hdr_len = page_round((size_t)hi.max_entries * sizeof(struct xsni_evhdr));
	ev->rec_len = page_round((size_t)ei.max_entries * sizeof(struct xsni_event));
	ev->hdr = map_mmap(hdr_fd, ev->hdr_len);
	ev->rec = map_mmap(ev_fd, ev->rec_len);
	if (ev->hdr && ev->rec)
		return ev;
	err = errno;
fail:
	events_close(ev);
	errno = err;
	return NULL;
}

int events_fd(const struct events *ev)
{
	(void)ev;
	return -1; /* nothing to wait on: poll with a timeout */
}

int events_consume(struct events *ev)
{
	int c, n = 0;

	for (c = 0; c < ev->ncpu; c++) {
		struct xsni_evhdr *h = &ev->hdr[c];
		__u64 head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
		__u64 tail = h->tail;

		if (head - tail > XSNI_EV_SLOTS) /* cannot happen; never trust it */
			tail = head - XSNI_EV_SLOTS;
		for (; tail != head; tail++, n++) {
			struct xsni_event e;

			memcpy(&e,
			       &ev->rec[(size_t)c * XSNI_EV_SLOTS + (tail & (XSNI_EV_SLOTS - 1))],
			       sizeof(e));
			ev->fn(ev->ctx, &e);
		}
		__atomic_store_n(&h->tail, tail, __ATOMIC_RELEASE);
	}
	return n;
}

void events_drain(struct events *ev)
{
	while (events_consume(ev) > 0)
		;
}

void events_block(struct events *ev)
{
	int c;

	/* make every ring look full: SLOTS records the reader has not taken */
	for (c = 0; c < ev->ncpu; c++)
		__atomic_store_n(&ev->hdr[c].tail,
				 __atomic_load_n(&ev->hdr[c].head, __ATOMIC_ACQUIRE) -
					 XSNI_EV_SLOTS,
				 __ATOMIC_RELEASE);
}

__u64 events_lost(const struct events *ev)
{
	__u64 n = 0;
	int c;

	for (c = 0; c < ev->ncpu; c++)
		n += ev->hdr[c].lost;
	return n;
}

void events_close(struct events *ev)
{
	if (!ev)
		return;
	if (ev->hdr)
		munmap(ev->hdr, ev->hdr_len);
	if (ev->rec)
		munmap(ev->rec, ev->rec_len);
	free(ev);
}

/* ---- the QUIC copies ---------------------------------------------------- */
struct qcopies {
	struct ring_buffer *rb;
	qcopy_fn fn;
	void *ctx;
};

static int qcopy_cb(void *ctx, void *data, size_t len)
{
	struct qcopies *q = ctx;

	if (len >= sizeof(struct xsni_quic_copy))
		q->fn(q->ctx, data);
	return 0;
}

struct qcopies *qcopies_open(int rb_fd, qcopy_fn fn, void *ctx)
{
	struct qcopies *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->fn = fn;
	q->ctx = ctx;
	q->rb = ring_buffer__new(rb_fd, qcopy_cb, q, NULL);
	if (!q->rb) {
		int err = errno;

		free(q);
		errno = err;
		return NULL;
	}
	return q;
}

int qcopies_fd(const struct qcopies *q)
{
	return ring_buffer__epoll_fd(q->rb);
}

int qcopies_consume(struct qcopies *q)
{
	return ring_buffer__consume(q->rb);
}

void qcopies_close(struct qcopies *q)
{
	if (!q)
		return;
	ring_buffer__free(q->rb);
	free(q);
}
