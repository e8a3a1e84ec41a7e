// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_sni.bpf.c - read the TLS SNI from ClientHello packets and block or
 * monitor listed domains.
 *
 * Pipeline (see ../ARCHITECTURE section 4):
 *   eth (+0..2 VLAN) -> IPv4/IPv6 -> TCP to a watched port with payload?
 *   no -> XDP_PASS (fast path). Yes -> per-flow state (LRU): blocked flows
 *   drop; otherwise a streaming ClientHello parser that can stop at any
 *   byte and continue on the next in-order segment; SNI -> normalise ->
 *   hash lookup per label suffix -> verdict + event.
 *
 * Helpers/features used are all present in Linux 6.12: bpf_loop (5.17),
 * bpf_xdp_load_bytes / bpf_xdp_get_buff_len / xdp.frags (5.18), ring
 * buffers (5.8), LPM tries, LRU hashes.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdp_sni.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- maps -------------------------------------------------------------- */
/* settings and events: shared with the benchmark's reference program */
#include "xdp_sni_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XSNI_DOMAINS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct xsni_domain);
} xsni_domains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XSNI_EXEMPT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xsni_lpm4);
	__type(value, __u8);
} xsni_exempt4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XSNI_EXEMPT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xsni_lpm6);
	__type(value, __u8);
} xsni_exempt6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsni_counters);
} xsni_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XSNI_FLOWS_MAX);
	__type(key, struct xsni_flow_key);
	__type(value, struct xsni_flow);
} xsni_flows SEC(".maps");

/* per-CPU scratch: parser state of a flow seen for the first time */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsni_flow);
} xsni_scratch SEC(".maps");

/* ---- helpers ----------------------------------------------------------- */
struct vlanhdr {
	__be16 tci;
	__be16 proto;
};

#define CNT(cnt, idx) ((cnt)->c[(idx)]++)

enum {
	RES_CONT = 0,
	RES_MORE,      /* need the next segment                 */
	RES_SNI,       /* host_name complete in st->name        */
	RES_ERR,       /* malformed                             */
	RES_NOT_CH,    /* handshake record, not a ClientHello   */
	RES_NO_SNI,    /* ClientHello without host_name         */
	RES_DUP,       /* second server_name extension (scan)   */
	RES_DONE,      /* end of extensions (scan)              */
};

struct pstate {
	struct xdp_md *ctx;
	struct xsni_flow *st;
	struct xsni_counters *cnt;
	int res;
	struct pargs {
		__u32 pay_off;     /* packet offset of this segment's payload  */
		__u32 seg_start;   /* stream offset of its first byte          */
		__u32 seg_end;     /* stream offset just past its last byte    */
		__u32 scan;        /* post-SNI scan: only look for ECH / dups  */
	} a;
};

static __always_inline __u32 field_size(__u8 ph)
{
	switch (ph) {
	case XSNI_PH_REC_HDR:  return 5;
	case XSNI_PH_HS_HDR:   return 4;
	case XSNI_PH_SID_LEN:  return 1;
	case XSNI_PH_CS_LEN:   return 2;
	case XSNI_PH_COMP_LEN: return 1;
	case XSNI_PH_EXTS_LEN: return 2;
	case XSNI_PH_EXT_HDR:  return 4;
	case XSNI_PH_SNI_LIST: return 2;
	case XSNI_PH_SNI_ENT:  return 3;
	}
	return 0;
}

#define STOP(p, r) return (r)
#define RES_CH_SEEN 0x100   /* flag: a ClientHello handshake header was read */

/* Read len (1..8) bytes at packet offset off into dst[8]: straight from
 * the linear area when it holds 8 bytes there, else with the helper
 * (paged fragments of a multi-buffer frame, or the very end). */
static __always_inline int rd(struct xdp_md *ctx, __u32 off, __u8 *dst, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (off < 0x3ff0) {
		__u8 *p = data + off;

		if ((void *)(p + 8) <= end) {
			__builtin_memcpy(dst, p, 8);
			return 0;
		}
	}
	return bpf_xdp_load_bytes(ctx, off, dst, len);
}

/* One parser step: consume one field (or a run of name bytes).
 * A global function, so the verifier checks it once, not once per caller
 * state. Returns RES_CONT to go on, or the RES_* that stops the loop. */
__attribute__((noinline))
int xsni_parse_step(struct xdp_md *ctx, struct xsni_flow *st, struct pargs *p)
{
	__u8 b[8] = {};
	__u32 cur, avail, poff, fs, v;
	int flags = 0;

	if (!ctx || !st || !p)
		STOP(p, RES_ERR);
	cur = st->cur;
	if (cur >= p->seg_end)
		STOP(p, p->scan ? RES_DONE : RES_MORE);
	avail = p->seg_end - cur;
	poff = p->pay_off + (cur - p->seg_start);

	if (st->phase == XSNI_PH_NAME) {
		__u32 need = st->name_len - st->name_got;
		__u32 n = need < avail ? need : avail;
		__u32 at = st->name_got & 0xff;

		n &= 0xff;
		if (n < 1)
			STOP(p, RES_ERR);
		if (bpf_xdp_load_bytes(ctx, poff, &st->name[at], n))
			STOP(p, RES_ERR);
		st->name_got += n;
		st->cur = cur + n;
		if (st->name_got < st->name_len)
			STOP(p, RES_MORE);
		st->sni_seen = 1;
		st->cur = st->ext_end;
		st->phase = XSNI_PH_EXT_HDR;
		STOP(p, RES_SNI);
	}

	if (p->scan && st->phase == XSNI_PH_EXT_HDR && cur >= st->exts_end)
		STOP(p, RES_DONE);

	fs = field_size(st->phase);
	if (fs < 1 || fs > 5)
		STOP(p, RES_ERR);

	if (st->carry_len == 0 && avail >= fs) {
		if (rd(ctx, poff, b, fs))
			STOP(p, RES_ERR);
		cur += fs;
	} else {
		/* field straddles a segment boundary: collect it in carry */
		__u32 have = st->carry_len & 7;
		__u32 take = fs - have;
		int k;

		if (have >= fs)
			STOP(p, RES_ERR);
		if (take > avail)
			take = avail;
#pragma unroll
		for (k = 0; k < 5; k++) {
			if (k < take) {
				if (bpf_xdp_load_bytes(ctx, poff + k,
						       &st->carry[(have + k) & 7], 1))
					STOP(p, RES_ERR);
			}
		}
		st->carry_len = have + take;
		st->cur = cur + take;
		if (have + take < fs) {
			if (p->scan)
				STOP(p, RES_DONE);
			STOP(p, RES_MORE);
		}
		st->carry_len = 0;
		__builtin_memcpy(b, st->carry, 8);
		cur += take;
	}

	switch (st->phase) {
	case XSNI_PH_REC_HDR:
		v = ((__u32)b[3] << 8) | b[4];
		if (b[0] != XSNI_TLS_HANDSHAKE || b[1] != 3 || v < 4 ||
		    v > XSNI_REC_MAX)
			STOP(p, RES_ERR);
		st->rec_end = cur + v;
		st->phase = XSNI_PH_HS_HDR;
		break;
	case XSNI_PH_HS_HDR:
		if (b[0] != XSNI_HS_CLIENT_HELLO)
			STOP(p, RES_NOT_CH);
		flags = RES_CH_SEEN;
		v = ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
		/* a hello split over several records is not supported: the
		 * handshake must fit in this record */
		if (v < 38 || cur + v > st->rec_end)
			STOP(p, RES_ERR);
		st->hs_end = cur + v;
		cur += 34;                      /* legacy_version + random */
		st->phase = XSNI_PH_SID_LEN;
		break;
	case XSNI_PH_SID_LEN:
		if (b[0] > 32)
			STOP(p, RES_ERR);
		cur += b[0];
		if (cur > st->hs_end)
			STOP(p, RES_ERR);
		st->phase = XSNI_PH_CS_LEN;
		break;
	case XSNI_PH_CS_LEN:
		v = ((__u32)b[0] << 8) | b[1];
		if (v < 2 || (v & 1))
			STOP(p, RES_ERR);
		cur += v;
		if (cur > st->hs_end)
			STOP(p, RES_ERR);
		st->phase = XSNI_PH_COMP_LEN;
		break;
	case XSNI_PH_COMP_LEN:
		cur += b[0];
		if (cur > st->hs_end)
			STOP(p, RES_ERR);
		if (cur == st->hs_end)
			STOP(p, RES_NO_SNI);    /* no extensions at all */
		st->phase = XSNI_PH_EXTS_LEN;
		break;
	case XSNI_PH_EXTS_LEN:
		v = ((__u32)b[0] << 8) | b[1];
		if (cur + v > st->hs_end)
			STOP(p, RES_ERR);
		st->exts_end = cur + v;
		st->phase = XSNI_PH_EXT_HDR;
		if (cur >= st->exts_end)
			STOP(p, RES_NO_SNI);
		break;
	case XSNI_PH_EXT_HDR: {
		__u32 type = ((__u32)b[0] << 8) | b[1];

		v = ((__u32)b[2] << 8) | b[3];
		if (cur > st->exts_end || cur + v > st->exts_end)
			STOP(p, RES_ERR);
		st->ext_end = cur + v;
		if (type == XSNI_EXT_ECH)
			st->ech = 1;
		if (type == XSNI_EXT_SNI) {
			if (st->sni_seen)
				STOP(p, RES_DUP);
			st->phase = XSNI_PH_SNI_LIST;
		} else {
			cur += v;
			if (cur >= st->exts_end) {
				st->cur = cur;
				STOP(p, p->scan ? RES_DONE : RES_NO_SNI);
			}
		}
		break;
	}
	case XSNI_PH_SNI_LIST:
		v = ((__u32)b[0] << 8) | b[1];
		if (v < 3 || cur + v > st->ext_end)
			STOP(p, RES_ERR);
		st->list_end = cur + v;
		st->phase = XSNI_PH_SNI_ENT;
		break;
	case XSNI_PH_SNI_ENT:
		v = ((__u32)b[1] << 8) | b[2];
		if (cur + v > st->list_end)
			STOP(p, RES_ERR);
		if (b[0] != 0) {                /* not host_name: skip it */
			cur += v;
			if (cur + 3 > st->list_end)
				STOP(p, RES_NO_SNI);
			break;
		}
		if (v < 1 || v > XSNI_NAME_WIRE_MAX)
			STOP(p, RES_ERR);
		st->name_len = v;
		st->name_got = 0;
		st->phase = XSNI_PH_NAME;
		break;
	default:
		STOP(p, RES_ERR);
	}
	st->cur = cur;
	return flags;
}

/* four parser steps per bpf_loop iteration: fewer indirect calls */
static long parse_cb(__u32 idx, void *data)
{
	struct pstate *ps = data;
	int k, r = RES_CONT;

#pragma unroll
	for (k = 0; k < 4; k++) {
		r = xsni_parse_step(ps->ctx, ps->st, &ps->a);
		if (r & RES_CH_SEEN) {
			if (ps->cnt)
				CNT(ps->cnt, XSNI_CNT_CLIENTHELLOS);
			r &= ~RES_CH_SEEN;
		}
		if (r != RES_CONT)
			break;
	}
	if (r == RES_CONT)
		return 0;
	ps->res = r;
	return 1;
}

/* ---- fast path for a ClientHello that starts in this packet ----------
 * Straight-line parsing with direct packet reads, for the common case
 * where the record begins the segment and the host_name lies wholly inside
 * the linear part of this packet. Walks the extensions of this packet once
 * (SNI, ECH, a duplicate server_name). Anything unusual (an error, a field
 * or the name cut by the segment end, a non-host_name entry) returns 0 and
 * leaves the flow state untouched except for the name bytes: the caller
 * then runs the general streaming parser from the start, which also does
 * the error accounting. A global function: verified once. */
#define FAST_SNI 1
#define FAST_DUP 2   /* a second server_name, or a malformed extension after it */
#define FAST_RESUME 4 /* no SNI in this packet yet: the streaming parser goes on from st->cur */
#define FAST_EXT_MAX 32

/* p + off with off masked in a way clang cannot drop, so the verifier
 * sees the bound (callers have checked off <= 0x3ff0 already) */
static __always_inline __u8 *pkt_at(__u8 *p, __u64 off)
{
	asm volatile("%0 &= 0x3fff" : "+r"(off));
	return p + off;
}

__attribute__((noinline))
int xsni_fast(struct xdp_md *ctx, struct xsni_flow *st, __u32 pay_off, __u32 pay_len)
{
	void *data, *end;
	__u8 *p, *q;
	__u64 rec_len, hs_len, hs_end, off, v, exts_end, ext_end, lim, nl = 0;
	int i, found = 0, ech = 0, dup = 0;

	if (!ctx || !st || pay_off > 0x3ff || pay_len > 0xffff)
		return 0;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	/* keep the bound visible to the verifier (clang drops a plain mask) */
	v = pay_off;
	asm volatile("%0 &= 0x3ff" : "+r"(v));
	p = data + v;
	if ((void *)(p + 44) > end)
		return 0;
	if (p[0] != XSNI_TLS_HANDSHAKE || p[1] != 3 || p[5] != XSNI_HS_CLIENT_HELLO)
		return 0;
	rec_len = ((__u32)p[3] << 8) | p[4];
	hs_len = ((__u32)p[6] << 16) | ((__u32)p[7] << 8) | p[8];
	if (rec_len < 42 || rec_len > XSNI_REC_MAX || hs_len + 4 > rec_len || hs_len < 38)
		return 0;
	hs_end = 9 + hs_len;
	lim = pay_len;
	if ((long)(end - (void *)p) < (long)lim)
		lim = end - (void *)p;           /* linear part only */
	if (p[43] > 32)
		return 0;
	off = 44 + p[43];                        /* cipher_suites length */
	q = pkt_at(p, off);
	if ((void *)(q + 2) > end)
		return 0;
	v = ((__u32)q[0] << 8) | q[1];
	if (v < 2 || (v & 1))
		return 0;
	off += 2 + v;                            /* compression methods */
	if (off + 3 > hs_end || off > 0x3ff0)
		return 0;
	q = pkt_at(p, off);
	if ((void *)(q + 3) > end)
		return 0;
	off += 1 + q[0];                         /* extensions length */
	if (off + 2 > hs_end || off > 0x3ff0)
		return 0;
	q = pkt_at(p, off);
	if ((void *)(q + 2) > end)
		return 0;
	exts_end = off + 2 + (((__u32)q[0] << 8) | q[1]);
	off += 2;
	if (exts_end > hs_end)
		return 0;

	for (i = 0; i < FAST_EXT_MAX; i++) {
		__u64 type;

		if (off >= exts_end)
			break;                   /* end of the extensions */
		if (off + 4 > lim || off > 0x3ff0)
			break;                   /* end of this packet */
		if (off + 4 > exts_end) {
			dup = 1;                 /* malformed tail */
			break;
		}
		q = pkt_at(p, off);
		if ((void *)(q + 4) > end)
			break;
		type = ((__u64)q[0] << 8) | q[1];
		ext_end = off + 4 + (((__u64)q[2] << 8) | q[3]);
		if (ext_end > exts_end) {
			dup = 1;                 /* malformed extension */
			break;
		}
		if (type == XSNI_EXT_ECH)
			ech = 1;
		if (type == XSNI_EXT_SNI) {
			__u64 list_end;

			if (found) {
				dup = 1;
				break;
			}
			if ((void *)(q + 9) > end)
				return 0;
			list_end = off + 6 + (((__u32)q[4] << 8) | q[5]);
			nl = ((__u32)q[7] << 8) | q[8];
			if (list_end > ext_end || q[6] != 0 || nl < 1 ||
			    nl > XSNI_NAME_WIRE_MAX || off + 9 + nl > list_end ||
			    off + 9 + nl > lim)
				return 0;
			/* 1..256 as far as the verifier can tell (nl is 1..254) */
			v = nl - 1;
			asm volatile("%0 &= 0xff" : "+r"(v));
			if (bpf_xdp_load_bytes(ctx, pay_off + off + 9, st->name, v + 1))
				return 0;
			found = 1;
		}
		off = ext_end;
	}
	if (!found) {
		/* malformed, or all extensions read and no SNI: the general
		 * parser from the start does the accounting */
		if (dup || off >= exts_end)
			return 0;
		/* hand over to the streaming parser at the next extension header */
		st->rec_end = 5 + rec_len;
		st->hs_end = hs_end;
		st->exts_end = exts_end;
		st->cur = off;
		st->ech = ech;
		st->phase = XSNI_PH_EXT_HDR;
		return FAST_RESUME;
	}
	st->name_len = nl;
	st->name_got = nl;
	st->sni_seen = 1;
	st->ech = ech;
	st->phase = XSNI_PH_EXT_HDR;
	return FAST_SNI | (dup ? FAST_DUP : 0);
}

/* ---- matching ----------------------------------------------------------- */
struct mstate {
	struct xsni_flow *st;
	__u32 len;
	__u32 matched;
	__u64 h;
};

/* Walk the name right to left: lowercase it, hash it, and at each '.' look
 * up the hash of the parent domain to the right of it. */
static __always_inline void match_char(struct mstate *m, struct xsni_flow *st, __u32 i)
{
	__u32 pos = (m->len - 1 - i) & 0xff;
	__u8 c = st->name[pos];

	if (c >= 'A' && c <= 'Z') {
		c |= 0x20;
		st->name[pos] = c;
	}
	if (c == '.' && !m->matched) {
		__u64 h = m->h;
		struct xsni_domain *d = bpf_map_lookup_elem(&xsni_domains, &h);

		if (d && (d->flags & XSNI_DOM_SUBDOMAINS))
			m->matched = 1;
	}
	m->h = XSNI_HASH_STEP(m->h, c);
}

/* eight characters per bpf_loop iteration */
static long match_step(__u32 i, void *data)
{
	struct mstate *m = data;
	struct xsni_flow *st = m->st;
	int k;

	if (!st)
		return 1;
#pragma unroll
	for (k = 0; k < 8; k++) {
		if (i * 8 + k >= m->len)
			return 1;
		match_char(m, st, i * 8 + k);
	}
	return 0;
}

/* ---- RST ------------------------------------------------------------- */
static __always_inline __u32 csum_add16(__u32 s, const void *p, int words)
{
	const __u16 *w = p;
	int i;

#pragma unroll
	for (i = 0; i < words; i++)
		s += w[i];
	return s;
}

static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Turn the packet into a RST|ACK back to the client and XDP_TX it.
 * Headers are edited in stack copies and written back with
 * bpf_xdp_store_bytes. Returns XDP_TX, or XDP_DROP when the headers are
 * not simple enough (IPv4 options, IPv6 extension headers). */
static __always_inline int make_rst(struct xdp_md *ctx, __u32 l3off,
				    __u32 l4off, int v6, __u32 pay_len)
{
	__u8 mac[12], tmp[16];
	struct tcphdr tcp;
	__u32 seq, sum;
	__u16 port;
	int delta;

	if (l4off != l3off + (v6 ? 40 : 20))
		return XDP_DROP;
	if (bpf_xdp_load_bytes(ctx, 0, mac, 12) ||
	    bpf_xdp_load_bytes(ctx, l4off, &tcp, sizeof(tcp)))
		return XDP_DROP;

	delta = (int)(l4off + sizeof(tcp)) - (int)bpf_xdp_get_buff_len(ctx);
	if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta))
		return XDP_DROP;

	__builtin_memcpy(tmp, mac, 6);
	__builtin_memcpy(mac, mac + 6, 6);
	__builtin_memcpy(mac + 6, tmp, 6);
	if (bpf_xdp_store_bytes(ctx, 0, mac, 12))
		return XDP_DROP;

	seq = bpf_ntohl(tcp.seq);
	port = tcp.source;
	tcp.source = tcp.dest;
	tcp.dest = port;
	tcp.seq = tcp.ack ? tcp.ack_seq : 0;
	tcp.ack_seq = bpf_htonl(seq + pay_len);
	((__u8 *)&tcp)[12] = 5 << 4;            /* doff 5, no options */
	((__u8 *)&tcp)[13] = 0x14;              /* RST | ACK */
	tcp.window = 0;
	tcp.urg_ptr = 0;
	tcp.check = 0;

	if (!v6) {
		struct iphdr ip;
		__be32 a;

		if (bpf_xdp_load_bytes(ctx, l3off, &ip, sizeof(ip)))
			return XDP_DROP;
		a = ip.saddr;
		ip.saddr = ip.daddr;
		ip.daddr = a;
		ip.tot_len = bpf_htons(40);
		ip.id = 0;
		ip.frag_off = bpf_htons(0x4000);
		ip.ttl = 64;
		ip.check = 0;
		ip.check = csum_fold(csum_add16(0, &ip, 10));
		sum = csum_add16(0, &ip.saddr, 4);
		if (bpf_xdp_store_bytes(ctx, l3off, &ip, sizeof(ip)))
			return XDP_DROP;
	} else {
		struct ipv6hdr ip6;

		if (bpf_xdp_load_bytes(ctx, l3off, &ip6, sizeof(ip6)))
			return XDP_DROP;
		__builtin_memcpy(tmp, &ip6.saddr, 16);
		__builtin_memcpy(&ip6.saddr, &ip6.daddr, 16);
		__builtin_memcpy(&ip6.daddr, tmp, 16);
		ip6.payload_len = bpf_htons(20);
		ip6.nexthdr = IPPROTO_TCP;
		ip6.hop_limit = 64;
		sum = csum_add16(0, &ip6.saddr, 16);
		if (bpf_xdp_store_bytes(ctx, l3off, &ip6, sizeof(ip6)))
			return XDP_DROP;
	}
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons(20);
	sum = csum_add16(sum, &tcp, 10);
	tcp.check = csum_fold(sum);
	if (bpf_xdp_store_bytes(ctx, l4off, &tcp, sizeof(tcp)))
		return XDP_DROP;
	return XDP_TX;
}

/* ---- main ------------------------------------------------------------ */
SEC("xdp.frags")
int xdp_sni(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xsni_settings *set = NULL;
	struct xsni_counters *cnt;
	struct ethhdr *eth = data;
	struct tcphdr *tcp;
	struct xsni_flow_key key;
	struct xsni_flow *st;
	struct pstate ps;
	__u32 zero = 0, l3off, l4off, ip_end, pay_off, pay_len, seq, buf_len;
	__u16 proto;
	__u8 first[6];
	int v6 = 0, i, fresh = 0, in_lru = 0, dry, fast = 0;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	/* The commonest frame first, untagged IPv4: leave at once unless it
	 * is TCP to a watched port. (Whatever passes this test is parsed
	 * again below, with the checks this shortcut skips: fragments, IHL;
	 * the settings lookup and the port test are not repeated.)
	 * Measured with npm run bench: about half of the fast path's cost
	 * over the empty program goes with it. */
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + sizeof(*eth);
		struct tcphdr *th;

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP)
			return XDP_PASS;
		th = (void *)ip + ip->ihl * 4;
		if ((void *)(th + 1) > data_end)
			return XDP_PASS;
		set = bpf_map_lookup_elem(&xsni_settings, &zero);
		if (!set || !xsni_port_watched(set, bpf_ntohs(th->dest)))
			return XDP_PASS;
	}
	l3off = sizeof(*eth);
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
			struct vlanhdr *vh = data + l3off;

			if ((void *)(vh + 1) > data_end)
				return XDP_PASS;
			proto = vh->proto;
			l3off += sizeof(*vh);
		}
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l3off;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP)
			return XDP_PASS;
		if (ip->frag_off & bpf_htons(0x1fff))
			return XDP_PASS;        /* not the first fragment */
		ihl = ip->ihl * 4;
		if (ihl < 20)
			return XDP_PASS;
		l4off = l3off + ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l3off;
		__u8 nh;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		nh = ip6->nexthdr;
		l4off = l3off + sizeof(*ip6);
		v6 = 1;
#pragma unroll
		for (i = 0; i < 4; i++) {
			__u8 *eh;

			if (nh == IPPROTO_TCP)
				break;
			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT)
				return XDP_PASS;
			eh = data + (l4off & 0x3ff);
			if ((void *)(eh + 8) > data_end)
				return XDP_PASS;
			if (nh == IPPROTO_FRAGMENT) {
				if ((eh[2] << 8 | eh[3]) & 0xfff8)
					return XDP_PASS;  /* not first */
				l4off += 8;
			} else {
				l4off += (eh[1] + 1) * 8;
			}
			nh = eh[0];
		}
		if (nh != IPPROTO_TCP)
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}

	l4off &= 0x3ff;
	tcp = data + l4off;
	if ((void *)(tcp + 1) > data_end)
		return XDP_PASS;

	/* untagged IPv4 had its port checked above, at this same offset */
	if (!set) {
		set = bpf_map_lookup_elem(&xsni_settings, &zero);
		if (!set)
			return XDP_PASS;
		if (!xsni_port_watched(set, bpf_ntohs(tcp->dest)))
			return XDP_PASS;
	}
	/* ---- end of the fast path ---- */

	cnt = bpf_map_lookup_elem(&xsni_counters, &zero);
	if (!cnt)
		return XDP_PASS;
	CNT(cnt, XSNI_CNT_PACKETS);

	__builtin_memset(&key, 0, sizeof(key));
	if (v6) {
		struct ipv6hdr *ip6 = data + l3off;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		ip_end = l3off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(key.saddr, &ip6->saddr, 16);
		__builtin_memcpy(key.daddr, &ip6->daddr, 16);
	} else {
		struct iphdr *ip = data + l3off;

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		ip_end = l3off + bpf_ntohs(ip->tot_len);
		key.saddr[10] = key.saddr[11] = 0xff;
		key.daddr[10] = key.daddr[11] = 0xff;
		__builtin_memcpy(&key.saddr[12], &ip->saddr, 4);
		__builtin_memcpy(&key.daddr[12], &ip->daddr, 4);
	}
	key.sport = tcp->source;
	key.dport = tcp->dest;

	dry = set->flags & XSNI_SET_DRY;
	if (tcp->syn) {
		/* a new connection on this 4-tuple: forget any old state */
		if (!dry)
			bpf_map_delete_elem(&xsni_flows, &key);
		return XDP_PASS;
	}

	pay_off = l4off + tcp->doff * 4;
	buf_len = bpf_xdp_get_buff_len(ctx);
	if (ip_end > buf_len)
		ip_end = buf_len;               /* truncated frame */
	if (pay_off >= ip_end)
		return XDP_PASS;                /* no payload */
	pay_len = ip_end - pay_off;
	seq = bpf_ntohl(tcp->seq);
	CNT(cnt, XSNI_CNT_WATCHED);

	st = bpf_map_lookup_elem(&xsni_flows, &key);
	if (st) {
		in_lru = 1;
		if (st->status == XSNI_FS_BLOCKED) {
			CNT(cnt, XSNI_CNT_DROPPED_LATER);
			return XDP_DROP;
		}
		if (seq != st->isn && seq != st->next_seq) {
			if ((__s32)(seq - st->next_seq) < 0 &&
			    (__s32)(seq - st->isn) > 0)
				return XDP_PASS;        /* old retransmission */
			/* gap or reordering */
			CNT(cnt, XSNI_CNT_GIVEN_UP);
			if (!dry)
				bpf_map_delete_elem(&xsni_flows, &key);
			return XDP_PASS;
		}
		if (seq == st->isn)
			fresh = 1;      /* retransmitted first segment: restart */
		if (dry) {
			/* work on a copy; the flow map is never written */
			if (bpf_map_update_elem(&xsni_scratch, &zero, st, BPF_ANY))
				return XDP_PASS;
			st = bpf_map_lookup_elem(&xsni_scratch, &zero);
			if (!st)
				return XDP_PASS;
			in_lru = 0;
		}
	} else {
		fresh = 1;
	}

	if (fresh) {
		/* cheap pre-check: a TLS handshake record starts here */
		if (bpf_xdp_load_bytes(ctx, pay_off, first, 1))
			return XDP_PASS;
		if (first[0] != XSNI_TLS_HANDSHAKE)
			return XDP_PASS;
		if (!st) {
			st = bpf_map_lookup_elem(&xsni_scratch, &zero);
			if (!st)
				return XDP_PASS;
		}
		st->isn = seq;
		st->cur = 0;
		st->phase = XSNI_PH_REC_HDR;
		st->status = XSNI_FS_PARSING;
		st->segments = 0;
		st->ech = 0;
		st->sni_seen = 0;
		st->carry_len = 0;
		st->name_got = 0;
		st->name_len = 0;
	}

	ps.ctx = ctx;
	ps.st = st;
	ps.a.pay_off = pay_off;
	ps.a.seg_start = seq - st->isn;
	ps.a.seg_end = ps.a.seg_start + pay_len;
	ps.a.scan = 0;
	ps.res = RES_ERR;
	ps.cnt = cnt;
	fast = fresh ? xsni_fast(ctx, st, pay_off, pay_len) : 0;
	if (fast & FAST_SNI) {
		CNT(cnt, XSNI_CNT_CLIENTHELLOS);
		if (fast & FAST_DUP)
			CNT(cnt, XSNI_CNT_PARSE_ERRORS);
		ps.res = RES_SNI;
	} else {
		if (fast & FAST_RESUME)
			CNT(cnt, XSNI_CNT_CLIENTHELLOS);
		bpf_loop(XSNI_PARSE_STEPS / 4, parse_cb, &ps, 0);
	}
	st->segments++;

	if (ps.res == RES_MORE) {
		if (st->segments >= XSNI_MAX_SEGMENTS) {
			CNT(cnt, XSNI_CNT_GIVEN_UP);
			if (in_lru)
				bpf_map_delete_elem(&xsni_flows, &key);
			return XDP_PASS;
		}
		st->next_seq = seq + pay_len;
		if (!in_lru)
			if (!dry)
				bpf_map_update_elem(&xsni_flows, &key, st, BPF_ANY);
		return XDP_PASS;
	}

	if (ps.res != RES_SNI) {
		if (ps.res == RES_NOT_CH)
			CNT(cnt, XSNI_CNT_NOT_CLIENTHELLO);
		else if (ps.res == RES_NO_SNI)
			CNT(cnt, XSNI_CNT_NO_SNI);
		else
			CNT(cnt, XSNI_CNT_PARSE_ERRORS);
		if (in_lru)
			bpf_map_delete_elem(&xsni_flows, &key);
		return XDP_PASS;
	}

	/* ---- SNI complete ---- */
	{
		struct mstate m = {};
		struct xsni_domain *d;
		struct xsni_event *ev;
		__u32 len = st->name_len & 0x1ff, verdict = XSNI_V_PASS;
		int action = XDP_PASS;
		__u64 h;

		if (len > 0 && st->name[(len - 1) & 0xff] == '.')
			len--;
		if (len < 1 || len > XSNI_NAME_MAX) {
			CNT(cnt, XSNI_CNT_PARSE_ERRORS);
			if (in_lru)
				bpf_map_delete_elem(&xsni_flows, &key);
			return XDP_PASS;
		}
		CNT(cnt, XSNI_CNT_SNI_FOUND);
		if (st->segments > 1)
			CNT(cnt, XSNI_CNT_SNI_MULTISEG);


		m.st = st;
		m.len = len;
		m.h = XSNI_HASH_INIT;
		bpf_loop((XSNI_NAME_MAX + 7) / 8, match_step, &m, 0);
		h = m.h;
		if (!m.matched) {
			d = bpf_map_lookup_elem(&xsni_domains, &h);
			if (d && (d->flags & (XSNI_DOM_EXACT | XSNI_DOM_SUBDOMAINS)))
				m.matched = 1;
		}

		if (m.matched) {
			CNT(cnt, XSNI_CNT_MATCHED);
			verdict = set->mode == XSNI_MODE_BLOCK ? XSNI_V_BLOCK : XSNI_V_MONITOR;
			if (verdict == XSNI_V_BLOCK) {
				__u8 *ex;

				if (v6) {
					struct xsni_lpm6 k6 = { .prefixlen = 128 };

					__builtin_memcpy(k6.addr, key.saddr, 16);
					ex = bpf_map_lookup_elem(&xsni_exempt6, &k6);
				} else {
					struct xsni_lpm4 k4 = { .prefixlen = 32 };

					__builtin_memcpy(k4.addr, &key.saddr[12], 4);
					ex = bpf_map_lookup_elem(&xsni_exempt4, &k4);
				}
				if (ex) {
					verdict = XSNI_V_EXEMPT;
					CNT(cnt, XSNI_CNT_EXEMPTED);
				}
			}
		}

		/* the verdict is decided; the event is best effort */
		if (m.matched || (set->flags & XSNI_SET_LOG_ALL)) {
			/* for the event: the rest of the extensions in this
			 * segment (ECH present? a second server_name?); the
			 * fast path has walked them already */
			if (!(fast & FAST_SNI)) {
				ps.a.scan = 1;
				ps.res = RES_DONE;
				bpf_loop(XSNI_PARSE_STEPS / 4, parse_cb, &ps, 0);
				if (ps.res == RES_DUP || ps.res == RES_ERR)
					CNT(cnt, XSNI_CNT_PARSE_ERRORS);
			}

			ev = bpf_ringbuf_reserve(&xsni_events, sizeof(*ev), 0);
			if (ev) {
				/* coarse clock: a tick is plenty for a log line and
				 * it costs ~25 ns less per event than the precise one */
				ev->ts_ns = bpf_ktime_get_coarse_ns();
				__builtin_memcpy(ev->saddr, key.saddr, 16);
				__builtin_memcpy(ev->daddr, key.daddr, 16);
				ev->sport = bpf_ntohs(key.sport);
				ev->dport = bpf_ntohs(key.dport);
				ev->family = v6 ? 6 : 4;
				ev->verdict = verdict;
				ev->segments = st->segments;
				ev->ech = st->ech;
				ev->rst = verdict == XSNI_V_BLOCK &&
					  (set->flags & XSNI_SET_RST) ? 1 : 0;
				ev->pad = 0;
				ev->sni_len = len;
				ev->ifindex = ctx->ingress_ifindex;
				__builtin_memcpy(ev->sni, st->name, XSNI_EVENT_NAME);
				if (len < XSNI_EVENT_NAME)
					ev->sni[len & 0xff] = 0;
				bpf_ringbuf_submit(ev, 0);
			} else {
				CNT(cnt, XSNI_CNT_EVENTS_LOST);
			}
		}

		if (verdict == XSNI_V_BLOCK) {
			CNT(cnt, XSNI_CNT_BLOCKED);
			st->status = XSNI_FS_BLOCKED;
			if (!in_lru)
				if (!dry)
				bpf_map_update_elem(&xsni_flows, &key, st, BPF_ANY);
			action = XDP_DROP;
			if (set->flags & XSNI_SET_RST) {
				action = make_rst(ctx, l3off, l4off, v6, pay_len);
				if (action == XDP_TX)
					CNT(cnt, XSNI_CNT_RST_SENT);
			}
			return action;
		}
		if (in_lru)
			bpf_map_delete_elem(&xsni_flows, &key);
		return XDP_PASS;
	}
}
