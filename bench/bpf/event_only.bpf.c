// SPDX-License-Identifier: GPL-2.0
/*
 * event_only.bpf.c - benchmark reference, not shipped: an XDP program that
 * does nothing but emit one xdp_sni event record (take this CPU's ring
 * slot, a few fields, publish) and pass. `npm run bench` times it next to the real
 * program to show what the event alone costs on the running kernel.
 *
 * It includes the real program's settings and event maps (same header), so
 * `xdp-sni replay` drives it exactly as it drives xdp_sni.bpf.o.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp_sni_maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp.frags")
int xdp_event_only(struct xdp_md *ctx)
{
	struct ev_ref r;
	struct xsni_event *ev = ev_slot(&r);

	if (ev) {
		ev->ts_ns = 0;
		ev->family = 4;
		ev->verdict = XSNI_V_PASS;
		ev->sni_len = 1;
		ev->sni[0] = 'x';
		ev->sni[1] = 0;
		ev->ifindex = ctx->ingress_ifindex;
		ev_publish(&r);
	} else {
		ev_lost(&r);
	}
	return XDP_PASS;
}
