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

/* Before the object is loaded: size the rings for this machine's CPUs. */
int events_size_maps(struct bpf_object *obj);
/* From the fds of xsni_evhdr and xsni_events; NULL with errno on failure */
struct events *events_open(int hdr_fd, int ev_fd, event_fn fn, void *ctx);
/* -1: the channel has nothing to wait on; readers poll with a timeout */
int events_fd(const struct events *ev);
/* Hand every event that is ready to the callback; the number handed. */
int events_consume(struct events *ev);
/* Consume until nothing is left. */
void events_drain(struct events *ev);
/* Make every ring look full (replay --no-drain): events are then lost. */
void events_block(struct events *ev);
/* events the program could not write because a ring was full */
__u64 events_lost(const struct events *ev);
void events_close(struct events *ev);

/* The QUIC copies (QUIC=filter): a BPF ring buffer, which wakes its
 * reader, since a verdict waits on it. */
struct qcopies;
typedef void (*qcopy_fn)(void *ctx, const struct xsni_quic_copy *c);
/* from the fd of xsni_quic_rb; NULL with errno */
struct qcopies *qcopies_open(int rb_fd, qcopy_fn fn, void *ctx);
/* an fd to poll for POLLIN */
int qcopies_fd(const struct qcopies *q);
/* hand every copy that is ready to the callback; the number handed */
int qcopies_consume(struct qcopies *q);
void qcopies_close(struct qcopies *q);

/* how often a reader looks (the daemon's poll timeout) */
#define EVENTS_POLL_MS 100

#endif
