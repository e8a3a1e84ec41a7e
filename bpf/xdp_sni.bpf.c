// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_sni.bpf.c - read the TLS SNI from ClientHello packets and block or
 * monitor listed domains.
 *
 * Costs are ordered by how common a packet is (numbers: bpf/README.md):
 *   1. untagged IPv4 without options: TCP to an unwatched port, or a
 *      segment without payload, leaves after the headers, one settings
 *      lookup and a bit test;
 *   2. payload to a watched port: one load from the flow-mark array (a
 *      direct-mapped u64 per 4-tuple hash). Zero, and the first payload
 *      byte is not a TLS handshake record: pass. No hash-map lookup;
 *   3. a ClientHello in one packet: straight-line parsing with direct
 *      packet access to the server_name, the name loaded once into this
 *      CPU's event slot, hashed right to left (every parent domain's hash
 *      falls out of the same pass), a Bloom-filter bit before each
 *      domain-map lookup; no flow state unless the verdict is "block";
 *   4. a ClientHello that continues: the streaming parser's state in a
 *      direct-mapped record that a CPU owns while it writes (one compare-
 *      and-exchange, no lock), resumed by the next segment.
 * Everything else (VLAN, IPv4 options, IPv6, paged fragments) takes the
 * general header path and then the same steps.
 *
 * Helpers/features used are all present in Linux 6.12: bpf_loop (5.17),
 * bpf_xdp_load_bytes / bpf_xdp_get_buff_len / xdp.frags (5.18), mmapable
 * arrays, atomic compare-and-exchange (5.12), LPM tries.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdp_sni.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- maps -------------------------------------------------------------- */
/* settings and the event channel: shared with the benchmark's reference program */
#include "xdp_sni_maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSNI_DOM_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xsni_dbucket);
} xsni_domains SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSNI_DOM_BUCKETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct xsni_dcats);
} xsni_domcats SEC(".maps");

/* the groups' policies: a global array read with one load (the tool pins
 * it as XSNI_MAP_GROUPS); group 0 blocks the default category */
struct xsni_group xsni_groups[XSNI_GROUPS_MAX] SEC(".data.groups") = {
	[0] = { .block = 1u << XSNI_CAT_DEFAULT },
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XSNI_CLIENTS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xsni_lpm4);
	__type(value, __u32);
} xsni_clients4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XSNI_CLIENTS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xsni_lpm6);
	__type(value, __u32);
} xsni_clients6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XSNI_CLIENTS_MAX);
	__type(key, __u64);
	__type(value, __u32);
} xsni_clientmac SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSNI_BLOOM_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} xsni_bloom SEC(".maps");

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

/* the flow marks: a global array in a data section of its own, read with
 * one load (no map lookup); the tool pins it as XSNI_MAP_MARKS */
__u64 xsni_marks[XSNI_FLOWS_MAX] SEC(".data.marks");

static __always_inline __u64 *mark_at(__u32 slot)
{
	return &xsni_marks[slot & (XSNI_FLOWS_MAX - 1)];
}

/* per mark slot, a quick hello record (struct xsni_quick), and in its line
 * two flows whose hello records newer flows took (UNREAD marks): their
 * next segments are judged unreadable, whatever mark the slot holds by
 * then. In the same section as the marks. */
struct xsni_quick xsni_quick[XSNI_FLOWS_MAX] SEC(".data.marks");

static __always_inline struct xsni_quick *quick_at(__u32 slot)
{
	return &xsni_quick[slot & (XSNI_FLOWS_MAX - 1)];
}

static __always_inline __u64 *ghost_at(__u32 slot, __u32 way)
{
	return &quick_at(slot)->ghost[way & 1];
}

static __always_inline int ghost_live(__u64 g, __u32 now)
{
	return g && ((now - XSNI_MARK_TIME(g)) & 0xffff) < XSNI_GHOST_TTL;
}

/* A hello of the mark's flow is in flight (or the mark is flagged): the
 * slot's packets go to the slow path. */
static __always_inline int mark_in_flight(__u64 m)
{
	__u32 st = XSNI_MARK_STATE(m);

	return st == XSNI_MARK_HELLO || st == XSNI_MARK_UNREAD || st == XSNI_MARK_QUICK ||
	       st == XSNI_MARK_QUICKW || (m & XSNI_MARK_SHARED);
}

static __always_inline int mark_quick(__u64 m)
{
	return XSNI_MARK_STATE(m) == XSNI_MARK_QUICK || XSNI_MARK_STATE(m) == XSNI_MARK_QUICKW;
}

/* May mark m give way to a new mark of flow tag? When it is this flow's,
 * a block mark, flags only, or another flow's hello gone idle: a live half-
 * read hello of another flow, or a ghost, keeps its mark (their next
 * segments must take the slow path). */
static __always_inline int mark_yields(__u64 m, __u32 tag, __u32 now)
{
	__u32 st = XSNI_MARK_STATE(m), age = (now - XSNI_MARK_TIME(m)) & 0xffff;

	return !st || XSNI_MARK_TAG(m) == tag || st == XSNI_MARK_BLOCKED ||
	       ((st == XSNI_MARK_HELLO || mark_quick(m)) && age >= XSNI_HELLO_TTL) ||
	       (st == XSNI_MARK_UNREAD && age >= XSNI_GHOST_TTL);
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSNI_HELLOS);
	__type(key, __u32);
	__type(value, struct xsni_hello);
} xsni_hellos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XSNI_HELLOS);
	__type(key, __u32);
	__type(value, struct xsni_hname);
} xsni_hnames SEC(".maps");

/* per-CPU scratch: the parser state being worked on, and the name buffer
 * when this CPU's event ring is full */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsni_flow);
} xsni_scratch SEC(".maps");

/* QUIC=filter: the flows' verdicts, the copies to the daemon, counters */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XSNI_QUIC_FLOWS);
	__type(key, struct xsni_flow_key);
	__type(value, struct xsni_quic);
} xsni_quic SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XSNI_QUIC_RING);
} xsni_quic_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsni_qcounters);
} xsni_qcnt SEC(".maps");

/* written by the daemon only; here so that it is made and pinned with the rest */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xsni_qstats);
} xsni_qstat SEC(".maps");

/* ---- helpers ----------------------------------------------------------- */
struct vlanhdr {
	__be16 tci;
	__be16 proto;
};

#define CNT(cnt, idx) ((cnt)->c[(idx)]++)

enum {
	RES_CONT = 0,
	RES_MORE,   /* need the next segment                 */
	RES_SNI,    /* host_name complete in st->name        */
	RES_ERR,    /* malformed                             */
	RES_NOT_CH, /* handshake record, not a ClientHello   */
	RES_NO_SNI, /* ClientHello without host_name         */
};

struct pstate {
	struct xdp_md *ctx;
	struct xsni_flow *st;
	struct xsni_counters *cnt;
	int res;
	struct pargs {
		__u32 pay_off;   /* packet offset of this segment's payload  */
		__u32 seg_start; /* stream offset of its first byte          */
		__u32 seg_end;   /* stream offset just past its last byte    */
	} a;
};

static __always_inline __u32 field_size(__u8 ph)
{
	switch (ph) {
	case XSNI_PH_REC_HDR: return 5;
	case XSNI_PH_HS_HDR: return 4;
	case XSNI_PH_SID_LEN: return 1;
	case XSNI_PH_CS_LEN: return 2;
	case XSNI_PH_COMP_LEN: return 1;
	case XSNI_PH_EXTS_LEN: return 2;
	case XSNI_PH_EXT_HDR: return 4;
	case XSNI_PH_SNI_LIST: return 2;
	case XSNI_PH_SNI_ENT: return 3;
	}
	return 0;
}

#define STOP(p, r)  return (r)
#define RES_CH_SEEN 0x100 /* flag: a ClientHello handshake header was read */

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

/* The header of a record that continues the hello, at stream offset
 * rec_end + xhdr: collected in st->rhdr (it may straddle segments), then
 * checked: a handshake record (RFC 8446 5.1: the records of a handshake
 * message are not interleaved with others) of 1..2^14 bytes. The version
 * bytes are ignored, as the RFC asks. */
static __always_inline int cont_header(struct xdp_md *ctx, struct xsni_flow *st, struct pargs *p)
{
	__u32 hs = st->rec_end + st->xhdr, have = st->rh_len, take, v;
	int k;

	if (have > 4)
		return RES_ERR;
	hs += have;
	if (hs < p->seg_start)
		return RES_ERR;
	if (hs >= p->seg_end)
		return RES_MORE;
	take = 5 - have;
	if (take > p->seg_end - hs)
		take = p->seg_end - hs;
#pragma unroll
	for (k = 0; k < 5; k++) {
		if (k < take) {
			if (bpf_xdp_load_bytes(ctx, p->pay_off + (hs - p->seg_start) + k,
					       &st->rhdr[(have + k) & 7], 1))
				return RES_ERR;
		}
	}
	if (have + take < 5) {
		st->rh_len = have + take;
		return RES_MORE;
	}
	st->rh_len = 0;
	v = ((__u32)st->rhdr[3] << 8) | st->rhdr[4];
	if (st->rhdr[0] != XSNI_TLS_HANDSHAKE || v < 1 || v > XSNI_REC_MAX)
		return RES_ERR;
	st->xhdr += 5;
	st->rec_end += v;
	return RES_CONT;
}

/* One parser step: consume one field (or a run of name bytes), or the
 * header of a record that continues the hello.
 * A global function, so the verifier checks it once, not once per caller
 * state. Returns RES_CONT to go on, or the RES_* that stops the loop. */
__attribute__((noinline)) int xsni_parse_step(struct xdp_md *ctx, struct xsni_flow *st,
					      struct pargs *p)
{
	__u8 b[8] = {};
	__u32 cur, avail, poff, fs, v, s;
	int flags = 0;

	if (!ctx || !st || !p)
		STOP(p, RES_ERR);
	cur = st->cur;
	/* the next byte wanted lies past this record: its successor's header */
	if (st->phase != XSNI_PH_REC_HDR && cur >= st->rec_end)
		return cont_header(ctx, st, p);
	s = cur + st->xhdr; /* stream offset */
	if (s >= p->seg_end)
		STOP(p, RES_MORE);
	if (s < p->seg_start)
		STOP(p, RES_ERR);
	avail = p->seg_end - s;
	if (st->phase != XSNI_PH_REC_HDR && avail > st->rec_end - cur)
		avail = st->rec_end - cur; /* up to the record's end */
	poff = p->pay_off + (s - p->seg_start);

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
			STOP(p, s + n >= p->seg_end ? RES_MORE : RES_CONT);
		STOP(p, RES_SNI);
	}

	fs = field_size(st->phase);
	if (fs < 1 || fs > 5)
		STOP(p, RES_ERR);

	if (st->carry_len == 0 && avail >= fs) {
		if (rd(ctx, poff, b, fs))
			STOP(p, RES_ERR);
		cur += fs;
	} else {
		/* the field straddles a segment or a record boundary:
		 * collect it in carry */
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
				if (bpf_xdp_load_bytes(ctx, poff + k, &st->carry[(have + k) & 7],
						       1))
					STOP(p, RES_ERR);
			}
		}
		st->carry_len = have + take;
		st->cur = cur + take;
		if (have + take < fs) {
			if (s + take < p->seg_end)
				return RES_CONT; /* a record header first */
			STOP(p, RES_MORE);
		}
		st->carry_len = 0;
		__builtin_memcpy(b, st->carry, 8);
		cur += take;
	}

	switch (st->phase) {
	case XSNI_PH_REC_HDR:
		/* the version bytes are ignored (RFC 8446 5.1) */
		v = ((__u32)b[3] << 8) | b[4];
		if (b[0] != XSNI_TLS_HANDSHAKE || v < 1 || v > XSNI_REC_MAX)
			STOP(p, RES_ERR);
		st->rec_end = cur + v;
		st->phase = XSNI_PH_HS_HDR;
		break;
	case XSNI_PH_HS_HDR:
		if (b[0] != XSNI_HS_CLIENT_HELLO)
			STOP(p, RES_NOT_CH);
		flags = RES_CH_SEEN;
		st->ch = 1;
		v = ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
		/* it may span several records; its name must come within
		 * the first 16 KB */
		if (v < 38 || v > XSNI_REC_MAX)
			STOP(p, RES_ERR);
		st->hs_end = cur + v;
		cur += 34; /* legacy_version + random */
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
			STOP(p, RES_NO_SNI); /* no extensions at all */
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
		if (type == XSNI_EXT_SNI) {
			st->phase = XSNI_PH_SNI_LIST;
		} else {
			cur += v;
			if (cur >= st->exts_end) {
				st->cur = cur;
				STOP(p, RES_NO_SNI);
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
		if (b[0] != 0) { /* not host_name: skip it */
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
	default: STOP(p, RES_ERR);
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

/* ---- the one-packet ClientHello ----------------------------------------
 * Straight-line parsing with direct packet reads, for the common case where
 * the record begins the segment and the server_name lies wholly inside the
 * linear part of this packet. It stops at the name: nothing after it
 * changes the verdict or the event (bpf/README, "Where the walk stops").
 * Anything unusual returns FAST_NO and the streaming parser runs from the
 * start, which also does the error accounting. Inlined where it runs
 * (one_hello, hello_new, hello_next): a global function until the walk
 * past the name and the byte-wise match went, it cost a call (15-20 ns
 * on each of Chromium's segments). */
enum {
	FAST_NO = 0,
	FAST_SNI,    /* f->name_off / name_len: the host_name */
	FAST_RESUME, /* no SNI in this packet: resume at f->after */
};
#define FAST_EXT_MAX 40

struct fres {
	__u32 name_off; /* payload offset of the host_name */
	__u32 name_len;
	__u32 after; /* payload offset of the next extension header */
	__u32 exts_end;
	__u32 rec_end;
	__u32 hs_end;
	__u8 resume; /* in: walk from after to exts_end */
};

/* p + off with off masked in a way clang cannot drop, so the verifier
 * sees the bound (callers have checked off <= 0x3ff0 already) */
static __always_inline __u8 *pkt_at(__u8 *p, __u64 off)
{
	asm volatile("%0 &= 0x3fff" : "+r"(off));
	return p + off;
}

static __always_inline int fast_walk(struct xdp_md *ctx, __u32 pay_off, __u32 pay_len,
				     struct fres *f)
{
	void *data, *end;
	__u8 *p, *q;
	__u64 rec_len = 0, hs_len, hs_end = 0, off, v, exts_end, ext_end, lim;
	int i;

	if (!ctx || !f || pay_off > 0x3ff || pay_len > 0xffff)
		return FAST_NO;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	v = pay_off;
	asm volatile("%0 &= 0x3ff" : "+r"(v));
	p = data + v;
	lim = pay_len;
	if ((long)(end - (void *)p) < (long)lim)
		lim = end - (void *)p; /* linear part only */
	if (f->resume) {
		/* a later segment: the walk goes on at f->after, up to
		 * f->exts_end (both relative to this payload) */
		off = f->after;
		exts_end = f->exts_end;
		goto walk;
	}
	if ((void *)(p + 44) > end)
		return FAST_NO;
	if (p[0] != XSNI_TLS_HANDSHAKE || p[5] != XSNI_HS_CLIENT_HELLO)
		return FAST_NO; /* the record version is ignored */
	rec_len = ((__u32)p[3] << 8) | p[4];
	hs_len = ((__u32)p[6] << 16) | ((__u32)p[7] << 8) | p[8];
	if (rec_len < 42 || rec_len > XSNI_REC_MAX || hs_len + 4 > rec_len || hs_len < 38)
		return FAST_NO;
	hs_end = 9 + hs_len;
	if (p[43] > 32)
		return FAST_NO;
	off = 44 + p[43]; /* cipher_suites length */
	q = pkt_at(p, off);
	if ((void *)(q + 2) > end)
		return FAST_NO;
	v = ((__u32)q[0] << 8) | q[1];
	if (v < 2 || (v & 1))
		return FAST_NO;
	off += 2 + v; /* compression methods */
	if (off + 3 > hs_end || off > 0x3ff0)
		return FAST_NO;
	q = pkt_at(p, off);
	if ((void *)(q + 3) > end)
		return FAST_NO;
	off += 1 + q[0]; /* extensions length */
	if (off + 2 > hs_end || off > 0x3ff0)
		return FAST_NO;
	q = pkt_at(p, off);
	if ((void *)(q + 2) > end)
		return FAST_NO;
	exts_end = off + 2 + (((__u32)q[0] << 8) | q[1]);
	off += 2;
	if (exts_end > hs_end)
		return FAST_NO;
walk:
	for (i = 0; i < FAST_EXT_MAX; i++) {
		__u64 type, list_end, nl;

		if (off >= exts_end)
			return FAST_NO; /* no SNI: the general parser counts it */
		if (off + 4 > lim || off > 0x3ff0)
			break; /* end of this packet */
		q = pkt_at(p, off);
		if ((void *)(q + 4) > end)
			break;
		/* one 16-bit load each: the walk is a chain of dependent
		 * loads, one per extension (5-7 ns less on curl's 12) */
		type = bpf_ntohs(*(__u16 *)q);
		ext_end = off + 4 + bpf_ntohs(*(__u16 *)(q + 2));
		if (ext_end > exts_end)
			return FAST_NO; /* malformed */
		if (type == XSNI_EXT_SNI) {
			if ((void *)(q + 9) > end)
				return FAST_NO;
			list_end = off + 6 + (((__u32)q[4] << 8) | q[5]);
			nl = ((__u32)q[7] << 8) | q[8];
			if (list_end > ext_end || q[6] != 0 || nl < 1 || nl > XSNI_NAME_WIRE_MAX ||
			    off + 9 + nl > list_end || off + 9 + nl > lim)
				return FAST_NO;
			f->name_off = off + 9;
			f->name_len = nl;
			return FAST_SNI;
		}
		off = ext_end;
	}
	if (off >= exts_end || i == FAST_EXT_MAX)
		return FAST_NO;
	/* the rest comes in the next segment: the streaming parser goes on
	 * from the next extension header */
	f->after = off;
	f->exts_end = exts_end;
	f->rec_end = 5 + rec_len;
	f->hs_end = hs_end;
	return FAST_RESUME;
}

/* ---- matching -----------------------------------------------------------
 * The name is read right to left a word at a time: each 8-byte word is
 * lowered in place and goes into the key (xdp_sni.h: words from the end).
 * At each '.' the words to its right (the whole ones already hashed, and
 * the bytes of this word past the dot) give the key of the parent domain
 * there, with k labels. It is looked up only if some "subdomains" entry
 * has k labels (settings.sub_labels) and its Bloom bit is set; the whole
 * name, the same way at the end. An unlisted name thus usually costs no
 * hash-map lookup. The result is the union of the categories found: those
 * that list a parent with its subdomains, and every one that lists the
 * name itself. */
/* the categories of key h in bucket b (xsni_cats layout), or 0 */
static __always_inline __u64 bucket_cats(__u32 b, __u64 h)
{
	struct xsni_dbucket *bk = bpf_map_lookup_elem(&xsni_domains, &b);
	struct xsni_dcats *dc;
	__u64 key = h & ~XSNI_DOM_FLAGS;
	__u32 first = xsni_dom_first(h), j;
	int i;

	if (!bk || !key)
		return 0; /* a key of 0 would match a free slot */
#pragma unroll
	for (i = 0; i < XSNI_DOM_SLOTS; i++) {
		/* from the key's first slot round the bucket: where the tool put it */
		j = xsni_dom_round(first, i);
		if (!((bk->slot[j] ^ key) & ~XSNI_DOM_FLAGS)) {
			dc = bpf_map_lookup_elem(&xsni_domcats, &b);
			return dc ? dc->m[j] : 0;
		}
	}
	return 0;
}

static __always_inline __u64 name_cats(__u64 h)
{
	__u32 bit = xsni_bloom_bit(h), w = bit >> 6;
	__u64 *word = bpf_map_lookup_elem(&xsni_bloom, &w), c;

	if (!word || !((*word >> (bit & 63)) & 1))
		return 0;
	c = bucket_cats(xsni_dom_b1(h), h);
	if (!c)
		c = bucket_cats(xsni_dom_b2(h), h);
	return c;
}

/* A parent domain's categories: a global function, which the verifier
 * checks once rather than at each place it is called from. It runs only
 * at a dot whose label count some "with subdomains" entry has. */
__attribute__((noinline)) __u64 xsni_parent_cats(__u64 h)
{
	return name_cats(h);
}

#define ONES8 0x0101010101010101ULL
#define LOW7  0x7f7f7f7f7f7f7f7fULL

/* ASCII upper case to lower case in each byte of w */
static __always_inline __u64 lower8(__u64 w)
{
	__u64 hi = w | 0x8080808080808080ULL;
	__u64 up = (hi - 0x41 * ONES8) & ~(hi - 0x5b * ONES8) & ~w & 0x8080808080808080ULL;

	return w | (up >> 2);
}

/* 0x80 in each byte of w that is a '.', 0 elsewhere */
static __always_inline __u64 dots8(__u64 w)
{
	__u64 y = w ^ (0x2e * ONES8);

	return ~(((y & LOW7) + LOW7) | y | LOW7);
}

/* how many bytes of a dots8() mask are set */
static __always_inline __u32 count8(__u64 d)
{
	return ((d >> 7) * ONES8) >> 56;
}

/* The parents that end in word k (w, its name bytes in its top bytes when
 * it is the first part), h the key so far of the words to its right, and
 * `dots` the dots in them: each dot whose label count has a "subdomains"
 * entry looks its parent up. Returns the dots counted so far. */
static __always_inline __u32 word_parents(__u64 h, __u64 w, __u32 k, __u32 dots, __u64 sub_labels,
					  __u32 *cats)
{
	__u64 d = dots8(w), low, part;
	__u32 all = dots + count8(d), b, labels;
	int j;

	for (j = 0; j < 8 && d; j++) {
		low = d & -d; /* the leftmost dot left in the word */
		d ^= low;
		b = ((low >> 7) * 0x0001020304050607ULL) >> 56; /* its byte */
		labels = dots + count8(d) + 1;                  /* it and the dots to its right */
		if (!((sub_labels >> (labels & 63)) & 1))
			continue;
		/* the parent: this word's bytes past the dot, in its top bytes */
		part = b == 7 ? h : xsni_hash_word(h, w & (~0ULL << ((8 * b + 8) & 63)));
		*cats |= XSNI_CATS_SUB(xsni_parent_cats(xsni_hash_end(part, 8 * k + 7 - b)));
	}
	return all;
}

/* The categories that list the name (0: none); the name (at least 256
 * bytes of memory) lowered in place, as the event shows it. */
static __always_inline __u32 match_words(__u8 *name, __u32 len, __u64 sub_labels)
{
	__u64 h = XSNI_HASH_INIT, w, x, c;
	__u32 i, dots = 0, cats = 0;
	__s32 o = len;

	if (!name)
		return 0;
	for (i = 0; i < (XSNI_NAME_MAX + 7) / 8; i++) {
		o -= 8;
		if (o < 0)
			break;
		x = (__u32)o;
		asm volatile("%0 &= 0xff" : "+r"(x)); /* a bound the verifier sees */
		if (x > 248)
			break;
		w = lower8(*(__u64 *)(name + x));
		*(__u64 *)(name + x) = w;
		if (sub_labels)
			dots = word_parents(h, w, i, dots, sub_labels, &cats);
		h = xsni_hash_word(h, w);
	}
	if (o > -8) {
		/* the first o + 8 bytes, in the top of the word */
		w = lower8(*(__u64 *)name);
		*(__u64 *)name = w;
		w <<= (64 - 8 * (o + 8)) & 63;
		if (sub_labels)
			word_parents(h, w, i, dots, sub_labels, &cats);
		h = xsni_hash_word(h, w);
	}
	c = name_cats(xsni_hash_end(h, len));
	return cats | XSNI_CATS_EXACT(c) | XSNI_CATS_SUB(c);
}

struct xsni_namebuf {
	__u8 b[XSNI_EVENT_NAME];
};

/* match_words as a global function: the verifier checks it once (inline,
 * the dot loop in the word loop passed its 1,000,000 instructions) */
__attribute__((noinline)) __u32 xsni_match(struct xsni_namebuf *n, __u32 len, __u64 sub_labels)
{
	if (!n)
		return 0;
	return match_words(n->b, len, sub_labels);
}

/* one_hello's match: with no "subdomains" entry no parent is looked up,
 * and the words are hashed inline, with no call */
static __always_inline __u32 match_name(__u8 *name, __u32 len, __u64 sub_labels)
{
	if (!sub_labels)
		return match_words(name, len, 0);
	return xsni_match((struct xsni_namebuf *)name, len, sub_labels);
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

/* work space of make_rst: its headers do not fit the call chain's stack */
struct rst_work {
	__u8 mac[12];
	__u8 tmp[16];
	struct tcphdr tcp;
	struct iphdr ip;
	struct ipv6hdr ip6;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rst_work);
} xsni_rst_work SEC(".maps");

/* Turn the packet into a RST|ACK and return the action that sends it:
 * back to the client (XDP_TX: addresses and ports swapped, seq = the
 * segment's ack), or, with RST_TO_SERVER, on to the server in its place
 * (XDP_PASS: routed and NATed like the flow, seq = the segment's own), so
 * the server and the box's conntrack drop the connection at once. The
 * payload is cut off. XDP_DROP when the headers are not simple enough
 * (IPv4 options, IPv6 extension headers). */
#define RST_V6        1
#define RST_TO_SERVER 2
static __noinline int make_rst(struct xdp_md *ctx, __u32 l3off, __u32 l4off, int how, __u32 pay_len)
{
	int v6 = how & RST_V6, fwd = how & RST_TO_SERVER;
	__u32 seq, sum, zero = 0;
	__u16 port;
	int delta;
	struct rst_work *w = bpf_map_lookup_elem(&xsni_rst_work, &zero);
	__u8 *mac, *tmp;

	if (!w)
		return XDP_DROP;
	mac = w->mac;
	tmp = w->tmp;

	if (l4off != l3off + (v6 ? 40 : 20))
		return XDP_DROP;
	if (bpf_xdp_load_bytes(ctx, 0, mac, 12) ||
	    bpf_xdp_load_bytes(ctx, l4off, &w->tcp, sizeof(w->tcp)))
		return XDP_DROP;

	delta = (int)(l4off + sizeof(w->tcp)) - (int)bpf_xdp_get_buff_len(ctx);
	if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta))
		return XDP_DROP;

	if (!fwd) {
		__builtin_memcpy(tmp, mac, 6);
		__builtin_memcpy(mac, mac + 6, 6);
		__builtin_memcpy(mac + 6, tmp, 6);
		if (bpf_xdp_store_bytes(ctx, 0, mac, 12))
			return XDP_DROP;
		seq = bpf_ntohl(w->tcp.seq);
		port = w->tcp.source;
		w->tcp.source = w->tcp.dest;
		w->tcp.dest = port;
		w->tcp.seq = w->tcp.ack ? w->tcp.ack_seq : 0;
		w->tcp.ack_seq = bpf_htonl(seq + pay_len);
	}
	((__u8 *)&w->tcp)[12] = 5 << 4; /* doff 5, no options */
	((__u8 *)&w->tcp)[13] = 0x14;   /* RST | ACK */
	w->tcp.window = 0;
	w->tcp.urg_ptr = 0;
	w->tcp.check = 0;

	if (!v6) {
		__be32 a;

		if (bpf_xdp_load_bytes(ctx, l3off, &w->ip, sizeof(w->ip)))
			return XDP_DROP;
		if (!fwd) {
			a = w->ip.saddr;
			w->ip.saddr = w->ip.daddr;
			w->ip.daddr = a;
			w->ip.id = 0;
			w->ip.ttl = 64;
		}
		w->ip.tot_len = bpf_htons(40);
		w->ip.frag_off = bpf_htons(0x4000);
		w->ip.check = 0;
		w->ip.check = csum_fold(csum_add16(0, &w->ip, 10));
		sum = csum_add16(0, &w->ip.saddr, 4);
		if (bpf_xdp_store_bytes(ctx, l3off, &w->ip, sizeof(w->ip)))
			return XDP_DROP;
	} else {
		if (bpf_xdp_load_bytes(ctx, l3off, &w->ip6, sizeof(w->ip6)))
			return XDP_DROP;
		if (!fwd) {
			__builtin_memcpy(tmp, &w->ip6.saddr, 16);
			__builtin_memcpy(&w->ip6.saddr, &w->ip6.daddr, 16);
			__builtin_memcpy(&w->ip6.daddr, tmp, 16);
			w->ip6.hop_limit = 64;
		}
		w->ip6.payload_len = bpf_htons(20);
		w->ip6.nexthdr = IPPROTO_TCP;
		sum = csum_add16(0, &w->ip6.saddr, 16);
		if (bpf_xdp_store_bytes(ctx, l3off, &w->ip6, sizeof(w->ip6)))
			return XDP_DROP;
	}
	sum += bpf_htons(IPPROTO_TCP) + bpf_htons(20);
	sum = csum_add16(sum, &w->tcp, 10);
	w->tcp.check = csum_fold(sum);
	if (bpf_xdp_store_bytes(ctx, l4off, &w->tcp, sizeof(w->tcp)))
		return XDP_DROP;
	return fwd ? XDP_PASS : XDP_TX;
}

/* ---- flows --------------------------------------------------------------- */
struct hello {
	__u8 *name;            /* map value memory of >= 256 bytes */
	struct xsni_event *ev; /* this CPU's event slot, or NULL (ring full) */
	struct ev_ref er;
	__u32 len; /* name length as sent */
	__u16 segments;
	__u8 unread; /* a ClientHello that yielded no name */
};

/* one packet's facts, and the working space of its slow path (kept in the
 * main program's frame: the call chain's stacks must fit in 512 bytes) */
struct pkt {
	__u32 l3off;
	__u32 l4off;
	__u32 pay_off;
	__u32 pay_len;
	__u32 seq;
	__u32 slot;        /* index into xsni_marks (and of the set in xsni_hellos) */
	__u32 s, d, ports; /* hash inputs (IPv6 addresses folded) */
	__u32 v6;
	__u32 udp; /* a UDP datagram (QUIC=filter): quic_path() */
	struct xsni_settings *set;
	struct xsni_counters *cnt; /* looked up past the filter */
	__u64 *mp;                 /* this flow's slot in xsni_marks */
	__u64 alt;                 /* see hello_find() */
	struct xsni_flow_key key;  /* filled by flow_key() */
	struct hello hl;
	struct fres f;
};

/* a second, independent hash of the 4-tuple; never 0 */
static __always_inline __u32 flow_tag(const struct pkt *pk)
{
	__u64 y = (((__u64)pk->s << 32) | pk->d) ^ ((__u64)pk->ports * 0xff51afd7ed558ccdULL);

	return (__u32)((y * 0xc4ceb9fe1a85ec53ULL) >> 32) | 1;
}

/* Is this the flow of the quick record q? (IPv4 only) */
static __always_inline int quick_mine(const struct xsni_quick *q, const struct pkt *pk)
{
	return !pk->v6 && q->ports == pk->ports && q->saddr == pk->s && q->daddr == pk->d;
}

/* The coarse clock (2^30 ns units, 16 bits) straight from the helper;
 * used as it is on the rare out-of-order hold: the cached read below, with
 * its extra registers, made hello_next's frame too large for the 512-byte
 * stack with clang 19 (the shipped build). */
static __always_inline __u32 coarse_s_rare(void)
{
	return (__u32)(bpf_ktime_get_coarse_ns() >> 30) & 0xffff;
}

/* The coarse clock (2^30 ns units, 16 bits) as of this jiffy: the kernel's
 * clock is a helper call (about 20 ns where returns are costly, as with the
 * SRSO "safe RET" mitigation), jiffies an inlined load. A CPU reads the
 * clock once per jiffy and keeps it with the jiffy it was read in; a slot
 * is one 64-bit word (jiffy << 16 | clock), so two CPUs sharing a slot
 * (more CPUs than slots) can only ever store the same pair for a jiffy.
 * A cache line per slot, so that CPUs do not write each other's lines.
 * Not pinned: each load of the program has its own. */
#define XSNI_CLOCK_SLOTS 64
struct xsni_clock_slot {
	__u64 v;
	__u64 pad[7];
};
struct xsni_clock_slot xsni_clock[XSNI_CLOCK_SLOTS] SEC(".data.clock");

static __always_inline __u32 coarse_s(void)
{
	struct xsni_clock_slot *c =
		&xsni_clock[bpf_get_smp_processor_id() & (XSNI_CLOCK_SLOTS - 1)];
	__u64 j = bpf_jiffies64() & 0xffffffffffffULL, v = c->v;
	__u32 t;

	if (v && (v >> 16) == j)
		return (__u32)v & 0xffff;
	t = coarse_s_rare();
	c->v = (j << 16) | t;
	return t;
}

static __always_inline int flow_key(struct xdp_md *ctx, struct pkt *pk)
{
	struct xsni_flow_key *k = &pk->key;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 l3 = pk->l3off & 0x3ff, l4 = pk->l4off & 0x3ff;
	__u16 *ports = data + l4;

	__builtin_memset(k, 0, sizeof(*k));
	if ((void *)(ports + 2) > end)
		return -1;
	k->sport = ports[0];
	k->dport = ports[1];
	if (pk->v6) {
		struct ipv6hdr *ip6 = data + l3;

		if ((void *)(ip6 + 1) > end)
			return -1;
		__builtin_memcpy(k->saddr, &ip6->saddr, 16);
		__builtin_memcpy(k->daddr, &ip6->daddr, 16);
	} else {
		struct iphdr *ip = data + l3;

		if ((void *)(ip + 1) > end)
			return -1;
		k->saddr[10] = k->saddr[11] = 0xff;
		k->daddr[10] = k->daddr[11] = 0xff;
		__builtin_memcpy(&k->saddr[12], &ip->saddr, 4);
		__builtin_memcpy(&k->daddr[12], &ip->daddr, 4);
	}
	return 0;
}

/* The IPv4 TTL or IPv6 hop limit of this packet (0 if unreadable). */
static __always_inline __u32 pkt_ttl(struct xdp_md *ctx, struct pkt *pk)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data + (pk->l3off & 0x3ff);

	if ((void *)(p + 9) > end)
		return 0;
	return pk->v6 ? p[7] : p[8];
}

/* A new hello's state: nothing read yet, this segment its first. */
static __always_inline void state_begin(struct xdp_md *ctx, struct pkt *pk, struct xsni_flow *s)
{
	__builtin_memset(s, 0, XSNI_FLOW_HDR_SIZE);
	s->isn = pk->seq;
	s->ttl = pkt_ttl(ctx, pk);
}

/* ... at the next extension header, cur, of a ClientHello whose record,
 * handshake and extensions end at rec_end, hs_end and exts_end */
static __always_inline void state_at_ext(struct xsni_flow *s, __u32 rec_end, __u32 hs_end,
					 __u32 exts_end, __u32 cur)
{
	s->rec_end = rec_end;
	s->hs_end = hs_end;
	s->exts_end = exts_end;
	s->cur = cur;
	s->ch = 1;
	s->phase = XSNI_PH_EXT_HDR;
}

/* ... where the straight-line walk left it (FAST_RESUME): at the next
 * extension header, f->after */
static __always_inline void state_from_walk(const struct fres *f, struct xsni_flow *s)
{
	state_at_ext(s, f->rec_end, f->hs_end, f->exts_end, f->after);
}

/* ... as a quick record keeps it (see quick_save), after its first segment */
static __always_inline void quick_state(const struct xsni_quick *q, struct xsni_flow *s)
{
	__builtin_memset(s, 0, XSNI_FLOW_HDR_SIZE);
	s->isn = q->isn;
	s->next_seq = q->isn + q->len;
	s->ttl = q->ttl;
	s->segments = 1;
	state_at_ext(s, q->rec_end, q->hs_end, q->exts_end, q->cur);
}

/* A record is written by one CPU at a time: rec_lock() makes its version
 * word odd with a compare-and-exchange, rec_unlock() even again. Not a BPF
 * spin lock: that saves and restores the interrupt flag around the lock,
 * which in a paravirtualised guest cost about 45 ns per record written or
 * taken (measured here). A CPU that finds a record busy gives up after a
 * few tries (the other CPU is in the same few instructions), and the
 * caller fails closed (see hello_save). */
static __always_inline int rec_lock(struct xsni_hello *rec)
{
	int i;

	for (i = 0; i < 4; i++) {
		__u64 v = *(volatile __u64 *)&rec->ver;

		if (!(v & 1) && __sync_val_compare_and_swap(&rec->ver, v, v + 1) == v)
			return 0;
	}
	return -1;
}

static __always_inline void rec_unlock(struct xsni_hello *rec)
{
	__sync_fetch_and_add(&rec->ver, 1); /* a locked add: the record's stores go first */
}

static __always_inline int key_eq(const struct xsni_flow_key *a, const struct xsni_flow_key *b)
{
	const __u64 *x = (const void *)a, *y = (const void *)b;

	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* pk->alt from a live ghost of another flow on this slot. A function of
 * its own, called only when the slot has a ghost: the cached clock read
 * inline in hello_find (inlined into hello_next) made hello_next's frame
 * too large under clang 19, and the helper read instead cost Chromium's
 * segments 14-21 ns each in the bench (the call here: about 8-16 ns back) */
static __noinline void ghost_alt(struct pkt *pk, __u64 g0, __u64 g1)
{
	__u32 now = coarse_s(), tag = flow_tag(pk);

	if (ghost_live(g0, now) && XSNI_MARK_TAG(g0) != tag)
		pk->alt = g0 | (pk->alt & XSNI_MARK_SHARED);
	else if (ghost_live(g1, now) && XSNI_MARK_TAG(g1) != tag)
		pk->alt = g1 | (pk->alt & XSNI_MARK_SHARED);
}

/* The record of this flow (pk->key, filled by flow_key) in its set of
 * XSNI_HELLO_WAYS, or NULL; *idx gets its index. The keys are compared
 * without the lock: a caller that uses the record locks it and compares
 * again. */
static __always_inline struct xsni_hello *hello_find(struct pkt *pk, __u32 *idx)
{
	__u32 base = (pk->slot & (XSNI_HELLO_SETS - 1)) * XSNI_HELLO_WAYS;
	struct xsni_hello *found = NULL;
	int i;

	/* pk->alt: the mark this slot keeps when this flow's goes, for
	 * another flow's hello in flight whose mark is on the same slot, or
	 * for a flow whose record was taken (a ghost) */
	pk->alt = 0;
#pragma unroll
	for (i = 0; i < XSNI_HELLO_WAYS; i++) {
		__u32 k = base + i;
		struct xsni_hello *rec = bpf_map_lookup_elem(&xsni_hellos, &k);

		if (!rec)
			continue;
		if (key_eq(&rec->key, &pk->key)) {
			if (idx)
				*idx = k;
			found = rec;
		} else if (rec->key.sport && rec->mslot == pk->slot) {
			pk->alt = XSNI_MARK(rec->mtag, rec->time, XSNI_MARK_HELLO) |
				  XSNI_MARK_SHARED;
		}
	}
	{
		__u64 g0 = *ghost_at(pk->slot, 0), g1 = *ghost_at(pk->slot, 1);

		if (g0 | g1)
			ghost_alt(pk, g0, g1);
	}
	return found;
}

/* Forget a flow: its mark, and its hello record if it holds one (a quick
 * record goes with its mark). */
static __noinline int flow_forget(struct xdp_md *ctx, struct pkt *pk, __u64 *mp)
{
	__u64 m = *mp, alt = 0, *g0 = ghost_at(pk->slot, 0), *g1 = ghost_at(pk->slot, 1);
	struct xsni_hello *rec = NULL;

	if (*g0 && XSNI_MARK_TAG(*g0) == flow_tag(pk))
		*g0 = 0;
	if (*g1 && XSNI_MARK_TAG(*g1) == flow_tag(pk))
		*g1 = 0;
	if (!m || XSNI_MARK_TAG(m) != flow_tag(pk))
		return 0;
	if ((XSNI_MARK_STATE(m) == XSNI_MARK_HELLO || mark_quick(m) || (m & XSNI_MARK_SHARED)) &&
	    !flow_key(ctx, pk)) {
		rec = hello_find(pk, NULL);
		alt = pk->alt;
	}
	if (__sync_val_compare_and_swap(mp, m, alt) != m || !rec || rec_lock(rec))
		return 0; /* its next segment, if any, is judged unreadable */
	if (key_eq(&rec->key, &pk->key))
		__builtin_memset(&rec->key, 0, sizeof(rec->key));
	rec_unlock(rec);
	return 0; /* an int: a void function's r0 could be left a stack pointer */
}

/* This flow's mark, if it is there, goes (its hello record is already
 * taken, or was never saved). If another flow's hello whose mark is on
 * this slot is still in flight (pk->alt, from hello_find), the slot keeps
 * a mark for it: its next segment must find its record. */
static __always_inline void mark_clear(struct pkt *pk, __u64 *mp)
{
	__u64 m = *mp;

	/* a compare-and-exchange: a mark another CPU wrote meanwhile stays */
	if (m && XSNI_MARK_TAG(m) == flow_tag(pk))
		__sync_val_compare_and_swap(mp, m, pk->alt);
}

/* The flow (tag etag, mark slot eslot) whose hello record a newer flow
 * took, live or idle past the TTL, cannot be read: a ghost, and an UNREAD
 * mark unless the slot holds another flow's mark, which keeps the slot on
 * the slow path anyway. */
static __always_inline void ghost_put(__u32 eslot, __u32 etag, __u32 now)
{
	__u64 *emp = mark_at(eslot);
	__u64 em = *emp, *g0 = ghost_at(eslot, 0), *g1 = ghost_at(eslot, 1), *gw;

	/* a free (or dead, or this flow's) way, else the older */
	if (!ghost_live(*g0, now) || XSNI_MARK_TAG(*g0) == etag)
		gw = g0;
	else if (!ghost_live(*g1, now) || XSNI_MARK_TAG(*g1) == etag)
		gw = g1;
	else
		gw = ((now - XSNI_MARK_TIME(*g0)) & 0xffff) >=
				     ((now - XSNI_MARK_TIME(*g1)) & 0xffff) ?
			     g0 :
			     g1;
	*gw = XSNI_MARK(etag, now, XSNI_MARK_UNREAD);
	if (!em || XSNI_MARK_TAG(em) == etag || XSNI_MARK_STATE(em) == XSNI_MARK_BLOCKED)
		__sync_val_compare_and_swap(emp, em, XSNI_MARK(etag, now, XSNI_MARK_UNREAD));
}

/* Mark m, just replaced on slot by flow tag's: when it was another flow's
 * quick record (idle past the TTL), that hello is lost with it; when it was
 * another flow's UNREAD mark (its hello could not be saved), it was all
 * that flow had. Either becomes a ghost, so that the flow's next segment is
 * still judged unreadable, not passed. */
static __always_inline void mark_lost(__u32 slot, __u64 m, __u32 tag, __u32 now)
{
	if (XSNI_MARK_TAG(m) != tag &&
	    (mark_quick(m) || (XSNI_MARK_STATE(m) == XSNI_MARK_UNREAD && ghost_live(m, now))))
		ghost_put(slot, XSNI_MARK_TAG(m), now);
}

/* save_body's mark: this flow's (its hello in the ways: flagged), unless
 * another flow's hello in flight is in the slot's quick record: that mark
 * stays, flagged. A compare-and-exchange, so that a quick record saved by
 * another CPU meanwhile is never overwritten. */
static __always_inline void mark_put(__u64 *mp, __u32 slot, __u32 tag, __u32 now, __u32 state)
{
	int i;

	for (i = 0; i < 4; i++) {
		__u64 m = *(volatile __u64 *)mp, n = XSNI_MARK(tag, now, state) | XSNI_MARK_SHARED;

		if (mark_quick(m) && !mark_yields(m, tag, now))
			n = m | XSNI_MARK_SHARED;
		if (__sync_val_compare_and_swap(mp, m, n) == m) {
			mark_lost(slot, m, XSNI_MARK_TAG(n), now);
			return;
		}
	}
}

/* Save a ClientHello that continues in the next segment. The newest flow
 * takes the record: a live half-read hello of another flow there is
 * evicted (counted; that flow's next segment finds no record and passes,
 * and its ClientHello is read again when it is retransmitted). The other
 * way round, a client could hold records with half-sent hellos to get its
 * own next hello past unread. Two flows never share a record. */
static __always_inline int save_body(struct xdp_md *ctx, struct pkt *pk, struct xsni_flow *st,
				     __u64 *mp, struct xsni_counters *cnt)
{
	__u32 base = (pk->slot & (XSNI_HELLO_SETS - 1)) * XSNI_HELLO_WAYS;
	__u32 now = coarse_s(), h = base, age, oldest = 0, busy, eslot = 0, etag = 0;
	struct xsni_hello *rec;
	struct xsni_hname *hn;
	int i, found = 0;

	if (flow_key(ctx, pk))
		return -1;
#pragma unroll
	/* this flow's record, else a free one, else the oldest of the set */
	for (i = 0; i < XSNI_HELLO_WAYS; i++) {
		__u32 k = base + i;

		rec = bpf_map_lookup_elem(&xsni_hellos, &k);
		if (!rec || found)
			continue;
		if (key_eq(&rec->key, &pk->key) || !rec->key.sport) {
			h = k;
			found = 1;
			continue;
		}
		age = (now - rec->time) & 0xffff;
		if (age >= oldest) {
			oldest = age;
			h = k;
		}
	}
	rec = bpf_map_lookup_elem(&xsni_hellos, &h);
	hn = bpf_map_lookup_elem(&xsni_hnames, &h);
	if (!rec || !hn)
		return -1;
	if (rec_lock(rec)) {
		/* another CPU is writing the record: this hello cannot be
		 * saved, so its next segment must not pass unread */
		mark_put(mp, pk->slot, flow_tag(pk), now, XSNI_MARK_UNREAD);
		cnt->c[XSNI_CNT_HELLO_BUSY]++;
		return 1;
	}
	if (rec->key.sport && !key_eq(&rec->key, &pk->key)) {
		eslot = rec->mslot; /* another flow's record is taken */
		etag = rec->mtag;
		/* counted if it is live, also when another CPU filled the
		 * way this one found free */
		busy = ((now - rec->time) & 0xffff) < XSNI_HELLO_TTL;
	} else {
		busy = 0;
	}
	rec->mslot = pk->slot;
	rec->mtag = flow_tag(pk);
	rec->key = pk->key;
	rec->time = now;
	if (st) {
		__builtin_memcpy(rec->st, st, XSNI_FLOW_HDR_SIZE);
		if (st->name_got)
			__builtin_memcpy(hn->name, st->name, XSNI_NAME_BUF / 2);
	} else {
		/* hello_new's first segment that ends before an extension
		 * header (Chromium's): its state, from the walk, straight into
		 * the record */
		struct xsni_flow *d = (struct xsni_flow *)rec->st;

		state_begin(ctx, pk, d);
		state_from_walk(&pk->f, d);
		d->segments = 1;
		d->next_seq = pk->seq + pk->pay_len;
	}
	rec_unlock(rec);
	if (busy)
		cnt->c[XSNI_CNT_HELLO_BUSY]++;
	if (etag)
		ghost_put(eslot, etag, now);
	mark_put(mp, pk->slot, flow_tag(pk), now, XSNI_MARK_HELLO);
	return 0;
}

/* save_body as a call of its own, for the rarer paths. 0: saved; 1: not,
 * but the mark says unreadable; -1: not saved at all (which the callers
 * judge unreadable at once). Its callers use the result: a result no caller
 * reads may be left undefined by the compiler, and the verifier refuses a
 * function that may return a pointer to the stack. */
static __noinline int hello_save(struct xdp_md *ctx, struct pkt *pk, struct xsni_flow *st,
				 __u64 *mp, struct xsni_counters *cnt)
{
	return save_body(ctx, pk, st, mp, cnt);
}

/* Take the saved state of this flow's ClientHello into st: the record is
 * free again (hello_save puts it back if the hello goes on). */
static __always_inline int hello_take(struct xdp_md *ctx, struct pkt *pk, struct xsni_flow *st)
{
	struct xsni_quick *q = quick_at(pk->slot);
	struct xsni_hello *rec;
	struct xsni_hname *hn;
	__u32 h = 0;
	int ok = 0, i;
	__u64 m;

	if (flow_key(ctx, pk))
		return -1;
	rec = hello_find(pk, &h); /* and pk->alt, for the mark */
	/* its quick record: taken when the mark becomes a plain hello mark
	 * (the line stays as it is while the mark is this one); again when
	 * another CPU flagged the mark SHARED meanwhile */
	for (i = 0; i < 4; i++) {
		m = *(volatile __u64 *)pk->mp;
		if (XSNI_MARK_STATE(m) != XSNI_MARK_QUICK || XSNI_MARK_TAG(m) != flow_tag(pk))
			break;
		asm volatile("" ::: "memory");
		if (!quick_mine(q, pk))
			return -1;
		quick_state(q, st);
		if (__sync_val_compare_and_swap(pk->mp, m,
						XSNI_MARK(XSNI_MARK_TAG(m), XSNI_MARK_TIME(m),
							  XSNI_MARK_HELLO) |
							XSNI_MARK_SHARED) == m)
			return 0;
	}
	if (i)
		return -1; /* another CPU took it */
	hn = bpf_map_lookup_elem(&xsni_hnames, &h);
	if (!rec || !hn)
		return -1;
	if (rec_lock(rec))
		return -1;
	if (key_eq(&rec->key, &pk->key)) {
		ok = 1;
		__builtin_memcpy(st, rec->st, XSNI_FLOW_HDR_SIZE);
		if (st->name_got)
			__builtin_memcpy(st->name, hn->name, XSNI_NAME_BUF / 2);
		__builtin_memset(&rec->key, 0, sizeof(rec->key));
	}
	rec_unlock(rec);
	return ok ? 0 : -1;
}

/* what the slow-path steps return besides an XDP action: the next step
 * for flow_path to call */
#define GO_RESTART  0x100  /* read this segment as a new ClientHello */
#define GO_DECIDE   0x200  /* pk->hl holds a name: decide() */
#define GO_STREAMED 0x400  /* | RES_*: the streaming parser ran: after_stream() */
#define GO_NOT_MINE 0x800  /* no hello record of this flow */
#define GO_AGAIN    0x1000 /* next_lane: not its case, nothing changed: hello_next */

/* ---- the streaming parser over one segment -------------------------------- */
static __always_inline int stream(struct xdp_md *ctx, struct xsni_flow *st,
				  struct xsni_counters *cnt, __u32 pay_off, __u32 seg_start,
				  __u32 pay_len)
{
	struct pstate ps = {
		.ctx = ctx,
		.st = st,
		.cnt = cnt,
		.res = RES_ERR,
		.a = { .pay_off = pay_off, .seg_start = seg_start, .seg_end = seg_start + pay_len },
	};

	bpf_loop(XSNI_PARSE_STEPS / 4, parse_cb, &ps, 0);
	return ps.res;
}

/* ---- verdict ------------------------------------------------------------ */

static __noinline int is_exempt(struct xdp_md *ctx, struct pkt *pk, struct xsni_flow_key *k)
{
	if (pk->v6) {
		struct xsni_lpm6 k6 = { .prefixlen = 128 };

		__builtin_memcpy(k6.addr, k->saddr, 16);
		return bpf_map_lookup_elem(&xsni_exempt6, &k6) != NULL;
	} else {
		struct xsni_lpm4 k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.addr, &k->saddr[12], 4);
		return bpf_map_lookup_elem(&xsni_exempt4, &k4) != NULL;
	}
}

/* the client's group: its Ethernet source address, else the longest
 * prefix that holds its IP source address, else 0 (the default group) */
static __noinline __u32 client_group(struct xdp_md *ctx, struct pkt *pk, __u32 flags)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 *g;

	if ((flags & XSNI_SET_CLIENTMAC) && data + 12 <= end) {
		__u64 mac = 0;

		__builtin_memcpy(&mac, data + 6, 6);
		g = bpf_map_lookup_elem(&xsni_clientmac, &mac);
		if (g)
			return *g;
	}
	if (pk->v6 && (flags & XSNI_SET_CLIENTS6)) {
		struct xsni_lpm6 k6 = { .prefixlen = 128 };

		__builtin_memcpy(k6.addr, pk->key.saddr, 16);
		g = bpf_map_lookup_elem(&xsni_clients6, &k6);
		if (g)
			return *g;
	} else if (!pk->v6 && (flags & XSNI_SET_CLIENTS4)) {
		struct xsni_lpm4 k4 = { .prefixlen = 32 };

		__builtin_memcpy(k4.addr, &pk->key.saddr[12], 4);
		g = bpf_map_lookup_elem(&xsni_clients4, &k4);
		if (g)
			return *g;
	}
	return 0;
}

/* The name is read: match, verdict, event, flow mark, RST. `plain`: the
 * match inline when it can be (see match_name), for one_hello only. */
static __always_inline int decide_body(struct xdp_md *ctx, struct pkt *pk, struct hello *hl,
				       int plain)
{
	struct xsni_settings *set = pk->set;
	struct xsni_counters *cnt = pk->cnt;
	__u64 *mp = pk->mp;
	struct xsni_flow_key *k = &pk->key;
	struct xsni_event *ev = hl->ev;
	__u32 len = hl->len & 0x1ff, verdict = XSNI_V_PASS, matched, cats = 0, group = 0, report;
	struct xsni_group *gp;
	int action = XDP_PASS;

	if (!set || !cnt || !mp)
		return XDP_PASS;
	if (!hl->unread) {
		if (!hl->name)
			return XDP_PASS;
		if (len > 0 && hl->name[(len - 1) & 0xff] == '.')
			len--;
		if (len < 1 || len > XSNI_NAME_MAX) {
			cnt->c[XSNI_CNT_PARSE_ERRORS]++;
			hl->unread = 1; /* no DNS name */
		}
	}
	if (hl->unread) {
		/* UNREADABLE: no name to match, and every such hello logged */
		cnt->c[XSNI_CNT_UNREADABLE]++;
		len = 0;
		matched = 1;
		if (!hl->ev)
			hl->ev = ev_slot(&hl->er);
		ev = hl->ev;
		verdict = XSNI_V_UNREAD_PASS;
		if (set->mode == XSNI_MODE_BLOCK && (set->flags & XSNI_SET_UNREADABLE))
			verdict = XSNI_V_UNREAD_BLOCK;
	} else {
		cnt->c[XSNI_CNT_SNI_FOUND]++;
		if (hl->segments > 1)
			cnt->c[XSNI_CNT_SNI_MULTISEG]++;
		cats = plain ? match_name(hl->name, len, set->sub_labels) :
			       xsni_match((struct xsni_namebuf *)hl->name, len, set->sub_labels);
		if (set->flags & (XSNI_SET_CLIENTS4 | XSNI_SET_CLIENTS6 | XSNI_SET_CLIENTMAC)) {
			if (flow_key(ctx, pk)) /* client_group reads the source address */
				return XDP_PASS;
			group = client_group(ctx, pk, set->flags) & (XSNI_GROUPS_MAX - 1);
		}
		gp = &xsni_groups[group];
		matched = (cats & gp->block) ||
			  ((gp->flags & XSNI_GRP_ALLOW_ONLY) && !(cats & gp->allow));
		if (matched) {
			cnt->c[XSNI_CNT_MATCHED]++;
			verdict = set->mode == XSNI_MODE_BLOCK ? XSNI_V_BLOCK : XSNI_V_MONITOR;
		}
	}
	/* the 4-tuple, for the client groups (above), the exemptions and the
	 * event: an unlisted name with no event to send never needs it */
	report = matched || cats || (set->flags & XSNI_SET_LOG_ALL);
	if (report && flow_key(ctx, pk))
		return XDP_PASS;
	if ((verdict == XSNI_V_BLOCK || verdict == XSNI_V_UNREAD_BLOCK) &&
	    (set->flags & (pk->v6 ? XSNI_SET_EXEMPT6 : XSNI_SET_EXEMPT4)) &&
	    is_exempt(ctx, pk, k)) {
		verdict = verdict == XSNI_V_BLOCK ? XSNI_V_EXEMPT : XSNI_V_UNREAD_PASS;
		cnt->c[XSNI_CNT_EXEMPTED]++;
	}

	/* the verdict is decided; the event is best effort */
	if (report) {
		if (ev) {
			ev->ts_ns = 0;
			__builtin_memcpy(ev->saddr, k->saddr, 16);
			__builtin_memcpy(ev->daddr, k->daddr, 16);
			ev->sport = bpf_ntohs(k->sport);
			ev->dport = bpf_ntohs(k->dport);
			ev->family = pk->v6 ? 6 : 4;
			ev->verdict = verdict;
			ev->segments = hl->segments;
			ev->ech = 0; /* the walk stops at the name */
			ev->rst = (verdict == XSNI_V_BLOCK || verdict == XSNI_V_UNREAD_BLOCK) &&
						  (set->flags & XSNI_SET_RST) ?
					  1 :
					  0;
			ev->group = group;
			ev->sni_len = len;
			ev->ifindex = ctx->ingress_ifindex;
			ev->cats = cats;
			ev->door = XSNI_DOOR_TLS;
			ev->pad[0] = ev->pad[1] = ev->pad[2] = 0;
			if (len < XSNI_EVENT_NAME)
				ev->sni[len & 0xff] = 0;
			ev_publish(&hl->er);
		} else {
			ev_lost(&hl->er);
			cnt->c[XSNI_CNT_EVENTS_LOST]++;
		}
	}

	if (verdict != XSNI_V_BLOCK && verdict != XSNI_V_UNREAD_BLOCK)
		return XDP_PASS;
	cnt->c[XSNI_CNT_BLOCKED]++;
	/* later segments and retransmissions of this flow drop; a live
	 * half-read hello of another flow on the slot, or a ghost, keeps its
	 * mark (their next segments must take the slow path). A compare-and-
	 * exchange: a hello that another CPU saved meanwhile is never lost */
	{
		__u64 m = *mp;
		__u32 now = coarse_s(), tag = flow_tag(pk);

		if (mark_yields(m, tag, now) &&
		    __sync_val_compare_and_swap(mp, m,
						XSNI_MARK(tag, now, XSNI_MARK_BLOCKED) |
							(m & XSNI_MARK_SHARED)) == m)
			mark_lost(pk->slot, m, tag, now);
	}
	action = XDP_DROP;
	if (set->flags & XSNI_SET_RST) {
		/* the server's end now; the client's when its retransmission
		 * (or next segment) meets the mark, a round trip later */
		action = make_rst(ctx, pk->l3off, pk->l4off, (pk->v6 ? RST_V6 : 0) | RST_TO_SERVER,
				  pk->pay_len);
		if (action == XDP_PASS)
			cnt->c[XSNI_CNT_RST_SERVER]++;
	}
	return action;
}

/* decide_body for every hello but one_hello's: a call of its own, so that
 * its callers' frames and its own need not fit in one */
static __noinline int decide(struct xdp_md *ctx, struct pkt *pk, struct hello *hl)
{
	return decide_body(ctx, pk, hl, 0);
}

/* this CPU's event slot doubles as the name buffer; when the ring is full
 * (no daemon, or listed hellos faster than it reads), the per-CPU scratch
 * if `scratch`, looked up only then */
static __always_inline __u8 *name_buf(struct hello *hl, int scratch)
{
	struct xsni_flow *st;
	__u32 zero = 0;

	hl->ev = ev_slot(&hl->er);
	if (hl->ev)
		return (__u8 *)hl->ev->sni;
	if (!scratch)
		return NULL;
	st = bpf_map_lookup_elem(&xsni_scratch, &zero);
	if (!st)
		return NULL;
	asm volatile("" : "+r"(st)); /* the offset after the test, for the verifier */
	return st->name;
}

/* pk->f and pk->hl cleared for a straight-line walk (fast_walk) */
static __always_inline void walk_begin(struct pkt *pk)
{
	__builtin_memset(&pk->f, 0, sizeof(pk->f));
	__builtin_memset(&pk->hl, 0, sizeof(pk->hl));
}

/* A ClientHello that yields no name: decide() judges it by UNREADABLE. */
static __always_inline int unreadable(struct pkt *pk, __u32 segments)
{
	__builtin_memset(&pk->hl, 0, sizeof(pk->hl));
	pk->hl.unread = 1;
	pk->hl.segments = segments;
	return GO_DECIDE;
}

/* After the streaming parser: save, give up, count, or decide. */
static __noinline int after_stream(struct xdp_md *ctx, struct pkt *pk, int res)
{
	__u32 zero = 0;
	struct xsni_flow *st = bpf_map_lookup_elem(&xsni_scratch, &zero);
	struct xsni_counters *cnt = pk->cnt;
	__u64 *mp = pk->mp;
	struct hello *hl = &pk->hl;
	__u8 *buf;

	if (!st || !cnt || !mp)
		return XDP_PASS;
	st->segments++;
	if (res == RES_MORE && st->segments < XSNI_MAX_SEGMENTS) {
		st->next_seq = pk->seq + pk->pay_len;
		if (hello_save(ctx, pk, st, mp, cnt) < 0)
			return unreadable(pk, st->segments);
		return XDP_PASS;
	}
	mark_clear(pk, mp);
	if (res != RES_SNI) {
		if (res == RES_MORE)
			cnt->c[XSNI_CNT_GIVEN_UP]++; /* too many segments */
		else if (res == RES_NOT_CH)
			cnt->c[XSNI_CNT_NOT_CLIENTHELLO]++;
		else if (res == RES_NO_SNI)
			cnt->c[XSNI_CNT_NO_SNI]++;
		else
			cnt->c[XSNI_CNT_PARSE_ERRORS]++;
		if (res == RES_NOT_CH || !st->ch)
			return XDP_PASS; /* no ClientHello */
		return unreadable(pk, st->segments);
	}
	__builtin_memset(hl, 0, sizeof(*hl));
	buf = name_buf(hl, 0);
	if (buf)
		__builtin_memcpy(buf, st->name, XSNI_EVENT_NAME);
	else
		buf = st->name;
	hl->name = buf;
	hl->len = st->name_len;
	hl->segments = st->segments;
	return GO_DECIDE;
}

/* Bytes 0..last of the payload at off into buf (at least 256 bytes), in
 * whole 8-byte words (up to 7 bytes past them are copied too), straight
 * from the linear part of the packet; -1 when they do not all lie there
 * (the caller then takes the helper, which also reads fragments). A
 * helper call costs more than the whole copy of a usual name. */
static __always_inline int name_copy(struct xdp_md *ctx, __u32 off, __u8 *buf, __u32 last)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 o = off;
	__u8 *q;
	__u32 w;

	if (off > 0x3fff)
		return -1; /* not in the linear part */
	asm volatile("%0 &= 0x3fff" : "+r"(o));
	q = data + o;
#pragma unroll
	for (w = 0; w < XSNI_EVENT_NAME / 8; w++) {
		if (w * 8 > last)
			return 0;
		if ((void *)(q + w * 8 + 8) > end)
			return -1;
		*(__u64 *)(buf + w * 8) = *(__u64 *)(q + w * 8);
	}
	return 0;
}

/* The host_name that fast_walk found (pk->f) into the name buffer (this
 * CPU's event slot, else the scratch), and pk->hl set up for decide(). A
 * full ring costs nothing more: the event is counted lost, and the
 * verdict stands. */
static __always_inline int fast_name(struct xdp_md *ctx, struct pkt *pk)
{
	struct hello *hl = &pk->hl;
	__u32 nl = pk->f.name_len;
	__u8 *buf = name_buf(hl, 1);

	if (!buf || nl < 1 || nl > XSNI_NAME_WIRE_MAX)
		return -1;
	/* 1..256 as far as the verifier can tell, whatever the compiler
	 * made of the test above (nl is 1..254) */
	nl -= 1;
	asm volatile("%0 &= 0xff" : "+r"(nl));
	if (name_copy(ctx, pk->pay_off + pk->f.name_off, buf, nl) &&
	    bpf_xdp_load_bytes(ctx, pk->pay_off + pk->f.name_off, buf, nl + 1))
		return -1;
	hl->name = buf;
	hl->len = nl + 1;
	return 0;
}

/* Save a hello whose first segment ends before its next extension header
 * in the slot's quick record (struct xsni_quick): the mark becomes this
 * flow's QUICKW with a compare-and-exchange, the line is written, and the
 * mark turns QUICK.
 * -1 when it does not fit there (IPv6, an offset past 16 bits) or the mark
 * is another flow's hello in flight: the caller saves it in the ways. */
static __always_inline int quick_save(struct xdp_md *ctx, struct pkt *pk, __u64 *mp)
{
	struct xsni_quick *q = quick_at(pk->slot);
	struct fres *f = &pk->f;
	__u32 now = coarse_s(), tag = flow_tag(pk);
	__u64 m = *(volatile __u64 *)mp;

	if (pk->v6 || f->rec_end > 0xffff || f->after > f->rec_end || pk->pay_len > 0xffff ||
	    !mark_yields(m, tag, now))
		return -1;
	if (__sync_val_compare_and_swap(
		    mp, m, XSNI_MARK(tag, now, XSNI_MARK_QUICKW) | (m & XSNI_MARK_SHARED)) != m)
		return -1;
	mark_lost(pk->slot, m, tag, now);
	q->saddr = pk->s;
	q->daddr = pk->d;
	q->ports = pk->ports;
	q->isn = pk->seq;
	q->len = pk->pay_len;
	q->cur = f->after;
	q->rec_end = f->rec_end;
	q->hs_end = f->hs_end;
	q->exts_end = f->exts_end;
	q->ttl = pkt_ttl(ctx, pk);
	/* QUICKW to QUICK with a store of the state's byte alone: a SHARED
	 * flag another CPU set meanwhile (in the next byte) stays, and no
	 * locked instruction waits here for the line's stores (x86 keeps
	 * stores in order) */
	asm volatile("" ::: "memory");
	*(volatile __u8 *)mp = XSNI_MARK_QUICK;
	return 0;
}

/* A segment that starts with a TLS handshake record and continues no
 * saved hello: a new ClientHello (or another handshake message). */
static __noinline int hello_new(struct xdp_md *ctx, struct pkt *pk)
{
	struct xsni_settings *set = pk->set;
	struct xsni_counters *cnt = pk->cnt;
	__u64 *mp = pk->mp;
	struct fres *f = &pk->f;
	struct hello *hl = &pk->hl;
	struct xsni_flow *st;
	__u32 zero = 0;
	int r;

	if (!cnt || !set || !mp)
		return XDP_PASS;
	walk_begin(pk);
	r = fast_walk(ctx, pk->pay_off, pk->pay_len, f);
	if (r == FAST_SNI) {
		cnt->c[XSNI_CNT_CLIENTHELLOS]++;
		if (fast_name(ctx, pk))
			return unreadable(pk, 1); /* a name it cannot copy: fail closed */
		hl->segments = 1;
		return GO_DECIDE;
	}

	if (r == FAST_RESUME && f->after >= pk->pay_len) {
		/* nothing of the next extension here: saved at once, from the
		 * walk, in the quick record, else in the ways (save_body
		 * inline): Chromium's first segment */
		cnt->c[XSNI_CNT_CLIENTHELLOS]++;
		if (quick_save(ctx, pk, mp))
			save_body(ctx, pk, NULL, mp, cnt);
		return XDP_PASS;
	}
	st = bpf_map_lookup_elem(&xsni_scratch, &zero);
	if (!st)
		return XDP_PASS;
	state_begin(ctx, pk, st);
	if (r == FAST_RESUME) {
		cnt->c[XSNI_CNT_CLIENTHELLOS]++;
		state_from_walk(f, st);
	} else {
		st->phase = XSNI_PH_REC_HDR;
	}
	r = stream(ctx, st, cnt, pk->pay_off, 0, pk->pay_len);
	return GO_STREAMED | (r & 0xff);
}

/* A ClientHello whose record is wholly in the linear part of this packet,
 * the commonest kind: read, matched and decided in this one call, with the
 * steps of hello_new's one-packet case and then decide()'s, inlined. Where
 * a return costs about 19 ns (the SRSO "safe RET" mitigation, bpf/README),
 * the three calls saved are most of what this path costs. Anything else
 * (no name found in this packet, a name outside the linear part) returns
 * GO_NOT_MINE with nothing counted or changed, and
 * hello_new reads the packet the general way. Called from the fast lane
 * only (flow_path's `lane`): each call site is verified on its own. */
static __noinline int one_hello(struct xdp_md *ctx, struct pkt *pk)
{
	struct xsni_settings *set = pk->set;
	struct xsni_counters *cnt = pk->cnt;
	struct fres *f = &pk->f;
	struct hello *hl = &pk->hl;

	if (!set || !cnt)
		return GO_NOT_MINE;
	walk_begin(pk);
	if (fast_walk(ctx, pk->pay_off, pk->pay_len, f) != FAST_SNI || fast_name(ctx, pk))
		return GO_NOT_MINE;
	cnt->c[XSNI_CNT_CLIENTHELLOS]++;
	hl->segments = 1;
	return decide_body(ctx, pk, hl, 1);
}

/* The straight-line walk resumed in this segment, whose first byte is at
 * stream offset seg_start, from the saved state s, when s stands at an
 * extension header of the same record that lies in this segment (no field
 * cut by the segment's start); FAST_NO otherwise. */
static __always_inline int walk_resume(struct xdp_md *ctx, struct pkt *pk,
				       const struct xsni_flow *s, __u32 seg_start)
{
	struct fres *f = &pk->f;

	if (s->phase != XSNI_PH_EXT_HDR || s->carry_len || s->rh_len || s->exts_end > s->rec_end ||
	    s->exts_end <= s->cur || s->cur + s->xhdr < seg_start ||
	    s->cur + s->xhdr - seg_start >= 0x3ff0)
		return FAST_NO;
	walk_begin(pk);
	f->resume = 1;
	f->after = s->cur + s->xhdr - seg_start;
	f->exts_end = s->exts_end + s->xhdr - seg_start;
	return fast_walk(ctx, pk->pay_off, pk->pay_len, f);
}

/* A segment of a flow whose ClientHello is being read. */
static __noinline int hello_next(struct xdp_md *ctx, struct pkt *pk, __u32 first_byte)
{
	struct xsni_counters *cnt = pk->cnt;
	__u64 *mp = pk->mp;
	struct xsni_flow *st;
	__u32 zero = 0, seg_start, skip, ttl;
	int r;

	if (!cnt || !mp || !pk->set)
		return XDP_PASS;
	st = bpf_map_lookup_elem(&xsni_scratch, &zero);
	if (!st)
		return XDP_PASS;
	if (hello_take(ctx, pk, st))
		return GO_NOT_MINE; /* no record of this flow */
	ttl = pkt_ttl(ctx, pk);
	/* A client sends every segment of a flow with one TTL. One with a
	 * higher TTL than the hello's first: that first was a fake, which
	 * dies before the server; read the hello again from its start, or
	 * judge it unreadable. One with a lower TTL may be a fake that dies
	 * before the server: held like a segment out of order. */
	if (ttl > st->ttl) {
		if (pk->seq == st->isn)
			return GO_RESTART;
		mark_clear(pk, mp);
		return unreadable(pk, st->segments);
	}
	if (pk->seq == st->isn && ttl == st->ttl) /* first segment again: restart */
		return GO_RESTART;
	if ((__s32)(pk->seq - st->isn) < 0 && first_byte == XSNI_TLS_HANDSHAKE)
		return GO_RESTART; /* the hello began earlier: what looked like
		                      its start was a continuation record's
		                      header that overtook it */
	if ((__s32)(pk->seq - st->next_seq) > 0 || ttl < st->ttl) {
		/* ahead of a gap: dropped in block mode, so that the client
		 * sends it again after the missing bytes; the hello is judged
		 * unreadable when that does not happen */
		__u32 now = coarse_s_rare();

		if (!st->holds)
			st->hold_t = now;
		if (pk->set->mode != XSNI_MODE_BLOCK || st->holds >= XSNI_HOLD_MAX ||
		    ((now - st->hold_t) & 0xffff) >= XSNI_HOLD_TIME) {
			mark_clear(pk, mp);
			return unreadable(pk, st->segments);
		}
		st->holds++;
		hello_save(ctx, pk, st, mp, cnt);
		cnt->c[XSNI_CNT_REORDERED]++;
		return XDP_DROP;
	}
	st->holds = 0;
	seg_start = st->next_seq - st->isn; /* stream offset of the new bytes */
	skip = st->next_seq - pk->seq;      /* bytes the segment repeats */
	if (skip >= pk->pay_len) {
		/* wholly a retransmission: pass it, keep the state */
		hello_save(ctx, pk, st, mp, cnt);
		return XDP_PASS;
	}
	if (!skip) {
		struct fres *f = &pk->f;

		r = walk_resume(ctx, pk, st, seg_start);
		if (r == FAST_SNI) {
			mark_clear(pk, mp);
			/* with this CPU's event ring full, the name goes into the
			 * scratch (st holds no name bytes on this path): a lost
			 * event must never become a pass */
			if (fast_name(ctx, pk))
				return unreadable(pk, st->segments + 1);
			pk->hl.segments = st->segments + 1;
			return GO_DECIDE;
		}
		if (r == FAST_RESUME && f->after >= pk->pay_len) {
			st->cur = seg_start + f->after - st->xhdr;
			return GO_STREAMED | RES_MORE;
		}
	}
	/* an overlapping retransmission: its new bytes */
	r = stream(ctx, st, cnt, pk->pay_off + skip, seg_start, pk->pay_len - skip);
	return GO_STREAMED | (r & 0xff);
}

/* The commonest continuation, Chromium's second segment: the bytes that
 * come next, with the hello's TTL, at an extension header of the same
 * record, and the name in this packet. Read, matched and decided in this
 * one call, like one_hello (hello_next and decide would be three calls).
 * The hello is in the slot's quick record, or else in a record of the
 * ways; either is read without its lock, and taken only when the name is
 * found: the compare-and-exchange that takes it also checks that no CPU
 * has written it since its version was read. Anything else returns
 * GO_AGAIN with nothing changed, and hello_next does it all the general
 * way. Called from the fast lane only. */
static __noinline int next_lane(struct xdp_md *ctx, struct pkt *pk)
{
	struct xsni_quick *q = quick_at(pk->slot);
	struct xsni_hello *rec = NULL;
	struct fres *f = &pk->f;
	__u32 next, seg_start, at, ex, ttl, segments = 1;
	__u64 v = 0, m;

	if (!pk->cnt || !pk->mp || !pk->set)
		return XDP_PASS;
	m = *(volatile __u64 *)pk->mp;
	if (XSNI_MARK_STATE(m) == XSNI_MARK_QUICK && XSNI_MARK_TAG(m) == flow_tag(pk)) {
		/* the mark first: the line stays as it is while the mark is
		 * this one (x86 keeps loads in order) */
		asm volatile("" ::: "memory");
		if (!quick_mine(q, pk))
			return GO_AGAIN;
		seg_start = q->len;
		next = q->isn + seg_start;
		at = q->cur;
		ex = q->exts_end;
		ttl = q->ttl;
		if (ex > q->rec_end || ex <= at)
			return GO_AGAIN;
	} else {
		const struct xsni_flow *d;

		if (flow_key(ctx, pk))
			return GO_AGAIN;
		rec = hello_find(pk, NULL);
		if (!rec)
			return GO_AGAIN;
		v = *(volatile __u64 *)&rec->ver;
		if (v & 1)
			return GO_AGAIN;       /* being written */
		asm volatile("" ::: "memory"); /* the version first */
		d = (const struct xsni_flow *)rec->st;
		if (!key_eq(&rec->key, &pk->key) || d->phase != XSNI_PH_EXT_HDR || d->carry_len ||
		    d->rh_len || d->exts_end > d->rec_end || d->exts_end <= d->cur)
			return GO_AGAIN;
		next = d->next_seq;
		seg_start = d->next_seq - d->isn;
		at = d->cur + d->xhdr;
		ex = d->exts_end + d->xhdr;
		ttl = d->ttl;
		segments = d->segments;
	}
	/* hello_next's fast case, with none of its other cases possible (the
	 * checks of walk_resume) */
	if (pk->seq != next || seg_start == 0 || pkt_ttl(ctx, pk) != ttl || at < seg_start ||
	    at - seg_start >= 0x3ff0)
		return GO_AGAIN;
	walk_begin(pk);
	f->resume = 1;
	f->after = at - seg_start;
	f->exts_end = ex - seg_start;
	if (fast_walk(ctx, pk->pay_off, pk->pay_len, f) != FAST_SNI || fast_name(ctx, pk))
		return GO_AGAIN;
	if (!rec) {
		/* the quick record is taken when its mark goes: what the
		 * mark becomes is a live ghost of the slot (in the line just
		 * read), unless hello records may point here (SHARED: their
		 * marks, found by a probe of the ways) */
		pk->alt = 0;
		if (m & XSNI_MARK_SHARED) {
			if (flow_key(ctx, pk))
				return GO_AGAIN;
			hello_find(pk, NULL);
		} else if (q->ghost[0] | q->ghost[1]) {
			ghost_alt(pk, q->ghost[0], q->ghost[1]);
		}
		if (__sync_val_compare_and_swap(pk->mp, m, pk->alt) != m)
			return GO_AGAIN;
	} else {
		/* take the record, unless a CPU wrote it since v was read */
		if (__sync_val_compare_and_swap(&rec->ver, v, v + 1) != v)
			return GO_AGAIN;
		__builtin_memset(&rec->key, 0, sizeof(rec->key));
		rec_unlock(rec);
		mark_clear(pk, pk->mp);
	}
	pk->hl.segments = segments + 1;
	return decide_body(ctx, pk, &pk->hl, 1);
}

/* Does this packet's payload start a TLS record that ends in its linear
 * part? (Chromium's hello, two segments long, does not.) */
static __always_inline int whole_record(struct xdp_md *ctx, struct pkt *pk)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data + (pk->pay_off & 0x3fff);

	if ((void *)(p + 5) > end)
		return 0;
	return (void *)(p + 5 + (((__u32)p[3] << 8) | p[4])) <= end;
}

/* No record of this flow's hello on a busy slot: was its record taken?
 * Then it is unreadable now (a new start of the hello is read as one). */
static __always_inline int ghost_check(struct pkt *pk, __u32 b0)
{
	__u64 *gp = ghost_at(pk->slot, 0);
	__u32 tag = flow_tag(pk);

	if (!*gp || XSNI_MARK_TAG(*gp) != tag) {
		gp = ghost_at(pk->slot, 1);
		if (!*gp || XSNI_MARK_TAG(*gp) != tag)
			return GO_NOT_MINE;
	}
	*gp = 0;
	mark_clear(pk, pk->mp);
	if (b0 == XSNI_TLS_HANDSHAKE)
		return GO_NOT_MINE;
	return unreadable(pk, 0);
}

/* ---- payload to a watched port -------------------------------------------
 * Past the filter: a mark on this slot, or a handshake record. `lane`: from
 * the entry's fast lane (untagged IPv4 without options), the only caller of
 * one_hello. */
static __always_inline int flow_path(struct xdp_md *ctx, struct pkt *pk, __u64 m, __u32 b0,
				     int lane)
{
	struct xsni_counters *cnt;
	__u32 zero = 0;
	int r;

	cnt = bpf_map_lookup_elem(&xsni_counters, &zero);
	if (!cnt || !pk->mp)
		return XDP_PASS;
	cnt->c[XSNI_CNT_PACKETS]++;
	pk->cnt = cnt;
	pk->alt = 0;
	/* a hello mark, whichever flow set it: this flow's own hello may be
	 * in the record set too (two flows in flight on one slot) */
	if (m && mark_in_flight(m)) {
		r = lane ? next_lane(ctx, pk) : GO_AGAIN;
		if (r == GO_AGAIN)
			r = hello_next(ctx, pk, b0);
		if (r == GO_RESTART) {
			mark_clear(pk, pk->mp); /* its record is taken */
			r = hello_new(ctx, pk);
		}
		if (r != GO_NOT_MINE)
			goto next;
		r = ghost_check(pk, b0);
		if (r != GO_NOT_MINE)
			goto next;
	}
	if (m && XSNI_MARK_TAG(m) == flow_tag(pk)) {
		if ((XSNI_MARK_STATE(m) == XSNI_MARK_HELLO ||
		     XSNI_MARK_STATE(m) == XSNI_MARK_UNREAD || mark_quick(m)) &&
		    b0 != XSNI_TLS_HANDSHAKE) {
			/* this flow's hello was being read, and its record was
			 * taken by a newer flow (hello_busy), or aged out: it
			 * cannot be read now, and must not pass unread (a new
			 * start of the hello is read as one) */
			mark_clear(pk, pk->mp);
			r = unreadable(pk, 0);
			goto next;
		}
		if (XSNI_MARK_STATE(m) == XSNI_MARK_BLOCKED) {
			cnt->c[XSNI_CNT_DROPPED_LATER]++;
			if (!(pk->set->flags & XSNI_SET_RST))
				return XDP_DROP;
			r = make_rst(ctx, pk->l3off, pk->l4off, pk->v6 ? RST_V6 : 0, pk->pay_len);
			if (r == XDP_TX)
				cnt->c[XSNI_CNT_RST_SENT]++;
			return r;
		}
	}
	if (b0 != XSNI_TLS_HANDSHAKE)
		return XDP_PASS;
	cnt->c[XSNI_CNT_WATCHED]++;
	if (lane && whole_record(ctx, pk)) {
		r = one_hello(ctx, pk);
		if (r != GO_NOT_MINE)
			return r;
	}
	r = hello_new(ctx, pk);
next:
	/* one level of calls at a time: the stacks of a call chain must fit
	 * in 512 bytes */
	if ((r & GO_STREAMED) == GO_STREAMED)
		r = after_stream(ctx, pk, r & 0xff);
	if (r == GO_DECIDE)
		r = decide(ctx, pk, &pk->hl);
	return r;
}

static __always_inline int payload(struct xdp_md *ctx, struct xsni_settings *set, struct pkt *pk)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 b0;
	__u64 *mp, m;
	__u8 *p;

	mp = mark_at(pk->slot);
	m = *mp;
	p = data + (pk->pay_off & 0x3fff);
	asm volatile("" : "+r"(p)); /* check and read this very register */
	if ((void *)(p + 1) <= end) {
		b0 = p[0];
	} else {
		__u8 one[1];

		if (bpf_xdp_load_bytes(ctx, pk->pay_off, one, 1))
			return XDP_PASS;
		b0 = one[0];
	}
	if (!m && b0 != XSNI_TLS_HANDSHAKE)
		return XDP_PASS; /* the common case: one load */
	pk->set = set;
	pk->mp = mp;
	return flow_path(ctx, pk, m, b0, 0);
}

/* Is the IP packet, ending at frame offset ip_end, wholly in the linear
 * part? The offset is masked in a register right before the addition, so
 * that every verifier (6.12's loses the bound of a spilled u32) sees a
 * bounded one; a packet ending past 16 KB is taken as not linear. */
static __always_inline int linear_to(void *data, void *end, __u32 ip_end)
{
	__u64 e = ip_end;

	if (ip_end > 0x3fff)
		return 0;
	asm volatile("%0 &= 0x3fff" : "+r"(e));
	return data + e <= end;
}

/* Payload offset and length, flow hash; SYN/FIN/RST forget the flow.
 * Returns -1 when there is nothing more to do (pass). */
static __always_inline int segment(struct xdp_md *ctx, struct pkt *pk, struct tcphdr *tcp,
				   __u32 ip_end)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 doff = tcp->doff * 4;

	pk->pay_off = pk->l4off + doff;
	pk->ports = *(__u32 *)tcp;
	pk->slot = xsni_flow_slot(pk->s, pk->ports);
	if (!linear_to(data, end, ip_end)) {
		__u32 buf_len = bpf_xdp_get_buff_len(ctx);

		if (ip_end > buf_len)
			ip_end = buf_len; /* truncated frame */
	}
	if (pk->pay_off >= ip_end || doff < 20) {
		/* no payload; a new connection, or the end of one, on this
		 * 4-tuple forgets whatever was known of it */
		if (((__u8 *)tcp)[13] & 0x07)
			flow_forget(ctx, pk, mark_at(pk->slot));
		return -1;
	}
	pk->pay_len = ip_end - pk->pay_off;
	pk->seq = bpf_ntohl(tcp->seq);
	return 0;
}

/* Everything but untagged IPv4 without options: VLAN/QinQ, IPv4 options,
 * IPv6 with extension headers. Fills *pk and returns 0 for a payload
 * segment to a watched port; -1: pass. */
static __noinline int general(struct xdp_md *ctx, struct pkt *pk)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct xsni_settings *set;
	struct tcphdr *tcp;
	__u32 l3off, l4off, ip_end, l4proto;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -1;
	proto = eth->h_proto;
	l3off = sizeof(*eth);
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
			struct vlanhdr *vh = data + l3off;

			if ((void *)(vh + 1) > data_end)
				return -1;
			proto = vh->proto;
			l3off += sizeof(*vh);
		}
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + l3off;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return -1;
		l4proto = ip->protocol;
		if (l4proto != IPPROTO_TCP && l4proto != IPPROTO_UDP)
			return -1;
		if (ip->frag_off & bpf_htons(0x1fff))
			return -1; /* not the first fragment */
		ihl = ip->ihl * 4;
		if (ihl < 20)
			return -1;
		l4off = l3off + ihl;
		ip_end = l3off + bpf_ntohs(ip->tot_len);
		pk->s = ip->saddr;
		pk->d = ip->daddr;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + l3off;
		__u32 *a;
		__u8 nh;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		nh = ip6->nexthdr;
		l4off = l3off + sizeof(*ip6);
		ip_end = l4off + bpf_ntohs(ip6->payload_len);
		a = (__u32 *)&ip6->saddr;
		pk->s = a[0] ^ a[1] ^ a[2] ^ a[3];
		a = (__u32 *)&ip6->daddr;
		pk->d = a[0] ^ a[1] ^ a[2] ^ a[3];
		pk->v6 = 1;
#pragma unroll
		for (i = 0; i < 4; i++) {
			__u8 *eh;

			if (nh == IPPROTO_TCP || nh == IPPROTO_UDP)
				break;
			if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
			    nh != IPPROTO_DSTOPTS && nh != IPPROTO_FRAGMENT)
				return -1;
			eh = data + (l4off & 0x3ff);
			if ((void *)(eh + 8) > data_end)
				return -1;
			if (nh == IPPROTO_FRAGMENT) {
				if ((eh[2] << 8 | eh[3]) & 0xfff8)
					return -1; /* not first */
				l4off += 8;
			} else {
				l4off += (eh[1] + 1) * 8;
			}
			nh = eh[0];
		}
		if (nh != IPPROTO_TCP && nh != IPPROTO_UDP)
			return -1;
		l4proto = nh;
	} else {
		return -1;
	}

	l4off &= 0x3ff;
	set = &xsni_cfg;
	if (l4proto == IPPROTO_UDP) {
		/* QUIC=filter: a datagram to a watched port */
		struct udphdr *udp = data + l4off;

		if ((void *)(udp + 1) > data_end || !(set->flags & XSNI_SET_QUIC) ||
		    !xsni_port_raw_watched(set, udp->dest))
			return -1;
		if (!linear_to(data, data_end, ip_end)) {
			__u32 buf_len = bpf_xdp_get_buff_len(ctx);

			if (ip_end > buf_len)
				ip_end = buf_len;
		}
		pk->l3off = l3off;
		pk->l4off = l4off;
		pk->set = set;
		pk->udp = 1;
		pk->pay_off = l4off + sizeof(*udp);
		if (pk->pay_off >= ip_end)
			return -1;
		pk->pay_len = ip_end - pk->pay_off;
		return 0;
	}
	tcp = data + l4off;
	if ((void *)(tcp + 1) > data_end)
		return -1;
	if (!xsni_port_raw_watched(set, tcp->dest))
		return -1;
	pk->l3off = l3off;
	pk->l4off = l4off;
	pk->set = set;
	return segment(ctx, pk, tcp, ip_end);
}

/* ---- QUIC (QUIC=filter; layout and rules in xdp_sni.h) ------------------
 * pk: l3off, l4off, v6, pay_off, pay_len of a UDP datagram to a watched
 * port. */
static __noinline int quic_path(struct xdp_md *ctx, struct pkt *pk)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct xsni_qcounters *qc;
	struct xsni_quic *q, nq;
	struct xsni_quic_copy *cp;
	__u32 zero = 0, ver, n, init = 0;
	__u8 h[7] = {};
	__u64 now;

	qc = bpf_map_lookup_elem(&xsni_qcnt, &zero);
	if (!qc || flow_key(ctx, pk))
		return XDP_PASS;
	q = bpf_map_lookup_elem(&xsni_quic, &pk->key);
	/* first byte, version, DCID length: a client's Initial of v1 or v2 */
	if (pk->pay_len >= 7 && !bpf_xdp_load_bytes(ctx, pk->pay_off, h, 7) &&
	    (h[0] & 0xc0) == 0xc0) {
		ver = ((__u32)h[1] << 24) | ((__u32)h[2] << 16) | ((__u32)h[3] << 8) | h[4];
		if ((ver == XSNI_QUIC_V1 && (h[0] & 0x30) == 0x00) ||
		    (ver == XSNI_QUIC_V2 && (h[0] & 0x30) == 0x10)) {
			if (pk->pay_len < XSNI_QUIC_MIN)
				qc->c[XSNI_QC_SHORT]++; /* a server drops it too */
			else
				init = 1;
		}
	}
	if (!q) {
		if (!init)
			return XDP_PASS; /* not a flow we know: untouched */
		__builtin_memset(&nq, 0, sizeof(nq));
		nq.state = XSNI_Q_PENDING;
		bpf_map_update_elem(&xsni_quic, &pk->key, &nq, BPF_NOEXIST);
		q = bpf_map_lookup_elem(&xsni_quic, &pk->key);
		if (!q)
			return XDP_PASS;
	}
	if (q->state == XSNI_Q_BLOCK) {
		qc->c[XSNI_QC_DROPPED]++;
		return XDP_DROP;
	}
	if (q->state != XSNI_Q_PENDING) {
		qc->c[XSNI_QC_PASSED]++;
		return XDP_PASS;
	}
	if (!init) {
		/* its handshake and data wait for the verdict */
		qc->c[XSNI_QC_HELD]++;
		return XDP_DROP;
	}
	qc->c[XSNI_QC_INITIALS]++;
	now = bpf_ktime_get_ns();
	if (!q->first_ns || now - q->first_ns > XSNI_QUIC_RETRY_NS) {
		/* a new flow, or a new attempt: its DCID for the log */
		q->first_ns = now;
		q->copies = 0;
		/* 20 bytes whatever the length (the datagram has 1200) */
		q->dcid_len = 0;
		if (h[5] <= 20 && !bpf_xdp_load_bytes(ctx, pk->pay_off + 6, q->dcid, 20))
			q->dcid_len = h[5];
	}
	if (q->copies >= XSNI_QUIC_COPIES) {
		qc->c[XSNI_QC_CAPPED]++;
	} else {
		cp = bpf_ringbuf_reserve(&xsni_quic_rb, sizeof(*cp), 0);
		if (!cp) {
			qc->c[XSNI_QC_RING_FULL]++;
		} else {
			n = pk->pay_len;
			if (n > XSNI_QUIC_COPY_MAX)
				n = XSNI_QUIC_COPY_MAX;
			if (n < 1 || bpf_xdp_load_bytes(ctx, pk->pay_off, cp->data, n)) {
				bpf_ringbuf_discard(cp, 0);
				return XDP_PASS;
			}
			cp->ts_ns = now;
			cp->first_ns = q->first_ns;
			__builtin_memcpy(&cp->key, &pk->key, sizeof(cp->key));
			__builtin_memset(cp->smac, 0, 6);
			if (data + 12 <= end)
				__builtin_memcpy(cp->smac, data + 6, 6);
			cp->family = pk->v6 ? 6 : 4;
			cp->seq = q->copies;
			cp->ifindex = ctx->ingress_ifindex;
			cp->len = n;
			cp->dgram_len = pk->pay_len;
			cp->pad = 0;
			bpf_ringbuf_submit(cp, 0);
			q->copies++;
			qc->c[XSNI_QC_COPIED]++;
		}
	}
	if (pk->set && (pk->set->flags & XSNI_SET_QUIC_HOLD)) {
		qc->c[XSNI_QC_HELD]++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

/* ---- main ------------------------------------------------------------ */
/* anything the straight IPv4 path below does not cover */
static __noinline int slow_path(struct xdp_md *ctx, struct pkt *pk)
{
	__builtin_memset(pk, 0, sizeof(*pk));
	if (general(ctx, pk) || !pk->set)
		return XDP_PASS;
	if (pk->udp)
		return quic_path(ctx, pk);
	return payload(ctx, pk->set, pk);
}

SEC("xdp.frags")
int xdp_sni(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	struct xsni_settings *set = &xsni_cfg;
	__u32 doff, pay_off, ip_end, slot, ports, b0;
	struct pkt pk;
	__u64 *mp, m;
	__u8 *p;

	/* the commonest frame: untagged IPv4 without options, and in the
	 * linear part a whole TCP segment; everything is kept in registers
	 * until the flow filter says there is more to do */
	if ((void *)(tcp + 1) > end || *(__u16 *)(data + 12) != bpf_htons(ETH_P_IP) ||
	    *(__u8 *)ip != 0x45)
		return slow_path(ctx, &pk);
	if (ip->protocol != IPPROTO_TCP || !xsni_port_raw_watched(set, tcp->dest)) {
		/* QUIC=filter: UDP to a watched port (the port sits where
		 * TCP's does) takes the general path */
		if (ip->protocol == IPPROTO_UDP && (set->flags & XSNI_SET_QUIC) &&
		    xsni_port_raw_watched(set, tcp->dest))
			return slow_path(ctx, &pk);
		return XDP_PASS;
	}
	doff = tcp->doff * 4;
	pay_off = sizeof(*eth) + sizeof(*ip) + doff;
	ip_end = sizeof(*eth) + bpf_ntohs(ip->tot_len);
	if (pay_off >= ip_end) {
		/* no payload: a SYN, FIN or RST may end what is known of
		 * the flow; a pure ACK leaves here */
		if (((__u8 *)tcp)[13] & 0x07)
			return slow_path(ctx, &pk);
		return XDP_PASS;
	}
	if (ip->frag_off & bpf_htons(0x1fff))
		return XDP_PASS; /* not the first fragment */
	if (doff < 20 || !linear_to(data, end, ip_end))
		return slow_path(ctx, &pk); /* cut short or paged */
	ports = *(__u32 *)tcp;
	slot = xsni_flow_slot(ip->saddr, ports);
	mp = mark_at(slot);
	m = *mp;
	p = data + (pay_off & 0x3ff);
	asm volatile("" : "+r"(p)); /* check and read this very register */
	if ((void *)(p + 1) > end)
		return XDP_PASS;
	b0 = *p;
	if (!m && b0 != XSNI_TLS_HANDSHAKE)
		return XDP_PASS; /* the common case: one load */

	pk.l3off = sizeof(*eth);
	pk.l4off = sizeof(*eth) + sizeof(*ip);
	pk.pay_off = pay_off;
	pk.pay_len = ip_end - pay_off;
	pk.seq = bpf_ntohl(tcp->seq);
	pk.slot = slot;
	pk.s = ip->saddr;
	pk.d = ip->daddr;
	pk.ports = ports;
	pk.v6 = 0;
	pk.set = set;
	pk.cnt = NULL;
	pk.mp = mp;
	return flow_path(ctx, &pk, m, b0, 1);
}
