/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event channel from the program to user space, behind one small
 * interface: size it before load, open it from the map's fd, poll its fd,
 * consume what is ready with a callback per event, drain it. Nothing else
 * knows how events travel.
 */
#ifndef XSNI_EVENTS_H
#define XSNI_EVENTS_H

#include <bpf/libbpf.h>
#include "xdp_sni.h"

struct events;
typedef void (*event_fn)(void *ctx, const struct xsni_event *e);

/* Before the object is loaded: room for about `bytes` of events. */
int events_set_size(struct bpf_map *map, unsigned int bytes);
/* NULL with errno on failure */
struct events *events_open(int map_fd, event_fn fn, void *ctx);
/* readable (poll POLLIN) when events are waiting */
int events_fd(const struct events *ev);
/* Hand every event that is ready to the callback; the number handed, or -1. */
int events_consume(struct events *ev);
/* Consume until nothing is left. */
void events_drain(struct events *ev);
void events_close(struct events *ev);

#endif
