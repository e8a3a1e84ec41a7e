// SPDX-License-Identifier: GPL-2.0
/* The event channel: today a BPF ring buffer read with libbpf. */
#include <errno.h>
#include <stdlib.h>

#include "events.h"

struct events {
	struct ring_buffer *rb;
	event_fn fn;
	void *ctx;
};

int events_set_size(struct bpf_map *map, unsigned int bytes)
{
	/* a ring buffer's size is a power of two, at least one page */
	return bpf_map__set_max_entries(map, bytes);
}

static int on_record(void *ctx, void *data, size_t len)
{
	struct events *ev = ctx;

	if (len >= sizeof(struct xsni_event))
		ev->fn(ev->ctx, data);
	return 0;
}

struct events *events_open(int map_fd, event_fn fn, void *ctx)
{
	struct events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->fn = fn;
	ev->ctx = ctx;
	ev->rb = ring_buffer__new(map_fd, on_record, ev, NULL);
	if (!ev->rb) {
		int err = errno;

		free(ev);
		errno = err;
		return NULL;
	}
	return ev;
}

int events_fd(const struct events *ev)
{
	return ring_buffer__epoll_fd(ev->rb);
}

int events_consume(struct events *ev)
{
	int n = ring_buffer__consume(ev->rb);

	return n < 0 ? -1 : n;
}

void events_drain(struct events *ev)
{
	while (events_consume(ev) > 0)
		;
}

void events_close(struct events *ev)
{
	if (!ev)
		return;
	ring_buffer__free(ev->rb);
	free(ev);
}
