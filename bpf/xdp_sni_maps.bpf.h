/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_sni_maps.bpf.h - the settings and event maps of xdp_sni.bpf.c, in a
 * header of their own so that the benchmark's reference program
 * (bench/bpf/event_only.bpf.c) has exactly the same ones. BPF side only.
 */
#ifndef XDP_SNI_MAPS_BPF_H
#define XDP_SNI_MAPS_BPF_H

#include <bpf/bpf_helpers.h>
#include "xdp_sni.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsni_settings);
} xsni_settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XSNI_RINGBUF_SIZE);
} xsni_events SEC(".maps");

#endif /* XDP_SNI_MAPS_BPF_H */
