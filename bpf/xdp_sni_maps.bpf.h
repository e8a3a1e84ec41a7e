/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_sni_maps.bpf.h - the settings map and the event channel of
 * xdp_sni.bpf.c, in a header of their own so that the benchmark's reference
 * program (bench/bpf/event_only.bpf.c) has exactly the same ones. BPF side
 * only.
 *
 * The event channel (layout in xdp_sni.h): a ring per CPU in two mmapable
 * arrays. ev_slot() returns the free slot of this CPU's ring, or NULL when
 * the ring is full (the caller counts the loss; the verdict never depends
 * on it); ev_publish() hands the filled slot to the reader. Nothing is
 * locked: only this CPU writes its head, and XDP does not nest on a CPU.
 */
#ifndef XDP_SNI_MAPS_BPF_H
#define XDP_SNI_MAPS_BPF_H

#include <bpf/bpf_helpers.h>
#include "xdp_sni.h"

/* The settings: a global in a data section of its own, so that the program
 * reaches them with one instruction (no map lookup, no NULL test). libbpf
 * makes the section a one-entry array map named XSNI_SEC_SETTINGS, which
 * the tool pins as XSNI_MAP_SETTINGS and writes like any array. */
struct xsni_settings xsni_cfg SEC(".data.xsni") = {
	.mode = XSNI_MODE_BLOCK,
	.flags = XSNI_SET_RST,
	.dom_hash = XSNI_DOM_HASH,
	.ports = { [XSNI_PORT_KEY(443) >> 3] = 1 << (XSNI_PORT_KEY(443) & 7) },
};

/* sized by the tool for the possible CPUs before loading */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xsni_evhdr);
} xsni_evhdr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSNI_EV_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xsni_event);
} xsni_events SEC(".maps");

struct ev_ref {
	struct xsni_evhdr *hdr;
	__u64 head;
};

static __always_inline struct xsni_event *ev_slot(struct ev_ref *r)
{
	__u32 cpu = bpf_get_smp_processor_id(), idx;
	struct xsni_evhdr *h = bpf_map_lookup_elem(&xsni_evhdr, &cpu);
	__u64 head;

	r->hdr = h;
	if (!h)
		return NULL;
	head = h->head;
	if (head - *(volatile __u64 *)&h->tail >= XSNI_EV_SLOTS)
		return NULL;
	r->head = head;
	idx = cpu * XSNI_EV_SLOTS + (__u32)(head & (XSNI_EV_SLOTS - 1));
	return bpf_map_lookup_elem(&xsni_events, &idx);
}

static __always_inline void ev_publish(struct ev_ref *r)
{
	/* the record's stores stay ahead of the head store (x86 is TSO) */
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&r->hdr->head = r->head + 1;
}

static __always_inline void ev_lost(struct ev_ref *r)
{
	if (r->hdr)
		r->hdr->lost++;
}

#endif /* XDP_SNI_MAPS_BPF_H */
