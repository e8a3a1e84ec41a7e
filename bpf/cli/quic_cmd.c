// SPDX-License-Identifier: GPL-2.0
/*
 * `quic-decode FILE.pcap`: the QUIC Initial decoder (quic.h) over a
 * capture. UDP to port 443 (Ethernet, VLAN tags, IPv4 or IPv6 without
 * extension headers) is fed per flow, a flow being the 4-tuple and the DCID
 * of the datagram's first packet; one line per flow. --repeat N decodes the
 * whole file N more times, each time with fresh flows, and prints the cost
 * per Initial decrypted (key derivation and everything after it included).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "log.h"
#include "pcap.h"
#include "quic.h"

#define QUIC_PORT 443

struct fkey {
	__u8 family; /* 4 or 6 */
	__u8 src[16], dst[16];
	__u16 sport, dport;
	__u8 dcid_len; /* 0xff: the datagram had no readable DCID */
	__u8 dcid[QUIC_CID_MAX];
};

/* a flow's summary; its decoder state only while it is open */
struct flow {
	struct fkey k;
	struct quic_flow *q; /* NULL once final */
	enum quic_result result;
	const char *reason;
	struct hello_info hello;
	__u32 version;
	unsigned int initials, datagrams, unusable;
	int used; /* some Initial of it decrypted */
	int done; /* a final result */
	int next; /* hash chain: index + 1, 0 = end */
};

struct dgram {
	int flow;
	const __u8 *p;
	size_t len;
	__u64 now; /* the decoder's clock: the datagram's index in the file */
};

struct table {
	struct flow *v;
	int n, cap;
	int *head; /* 4096 chains */
};

#define NHEAD 4096

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static unsigned int key_hash(const struct fkey *k)
{
	const __u8 *b = (const __u8 *)k;
	unsigned int h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h % NHEAD;
}

static int flow_of(struct table *t, const struct fkey *k)
{
	unsigned int h = key_hash(k);
	int i;

	for (i = t->head[h]; i; i = t->v[i - 1].next)
		if (!memcmp(&t->v[i - 1].k, k, sizeof(*k)))
			return i - 1;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->v = realloc(t->v, t->cap * sizeof(*t->v));
		if (!t->v)
			die("out of memory");
	}
	memset(&t->v[t->n], 0, sizeof(t->v[0]));
	t->v[t->n].k = *k;
	t->v[t->n].next = t->head[h];
	t->head[h] = ++t->n;
	return t->n - 1;
}

/* the UDP payload to port 443 of an Ethernet frame, and its key; 0 or -1 */
static int udp_payload(const __u8 *f, __u32 len, struct fkey *k, const __u8 **pl, size_t *pln)
{
	struct frame_l3 l;
	__u32 off, ulen;

	memset(k, 0, sizeof(*k));
	if (frame_l3(f, len, &l) || l.proto != 17)
		return -1;
	if (l.family == 4) {
		/* a fragment (MF set or an offset) is not a whole datagram */
		if ((f[l.ip] & 15) < 5 || ((f[l.ip + 6] << 8 | f[l.ip + 7]) & 0x3fff))
			return -1;
		memcpy(k->src, f + l.ip + 12, 4);
		memcpy(k->dst, f + l.ip + 16, 4);
	} else {
		memcpy(k->src, f + l.ip + 8, 16);
		memcpy(k->dst, f + l.ip + 24, 16);
	}
	k->family = l.family;
	off = l.l4;
	if (off + 8 > len)
		return -1;
	k->sport = f[off] << 8 | f[off + 1];
	k->dport = f[off + 2] << 8 | f[off + 3];
	ulen = f[off + 4] << 8 | f[off + 5];
	if (k->dport != QUIC_PORT || ulen < 8 || off + ulen > len)
		return -1;
	*pl = f + off + 8;
	*pln = ulen - 8;
	return 0;
}

static void flow_feed(struct flow *fl, const struct dgram *d)
{
	enum quic_result r;

	fl->datagrams++;
	if (fl->done)
		return; /* nothing more to read */
	if (!fl->q) {
		fl->q = malloc(sizeof(*fl->q));
		if (!fl->q)
			die("out of memory");
		quic_flow_init(fl->q);
	}
	r = quic_feed(fl->q, d->p, d->len, d->now);
	fl->used = fl->q->have_keys;
	fl->initials = fl->q->initials;
	fl->version = fl->q->version;
	if (r != QUIC_NEED_MORE && fl->q->final == QUIC_NEED_MORE) {
		fl->unusable++;
		if (!fl->used) {
			fl->result = r;
			fl->reason = fl->q->reason;
		}
		return;
	}
	fl->result = r;
	fl->reason = r == QUIC_MALFORMED ? fl->q->reason : NULL;
	if (fl->q->final != QUIC_NEED_MORE) {
		fl->done = 1;
		fl->hello = fl->q->hello;
		quic_flow_free(fl->q);
		free(fl->q);
		fl->q = NULL;
	}
}

static void flows_free(struct table *t)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].q) {
			quic_flow_free(t->v[i].q);
			free(t->v[i].q);
			t->v[i].q = NULL;
		}
}

static void addr_text(const struct fkey *k, const __u8 *a, char *out, size_t len)
{
	inet_ntop(k->family == 4 ? AF_INET : AF_INET6, a, out, len);
}

static void hex(FILE *o, const __u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(o, "%02x", p[i]);
}

static void print_flow(FILE *o, const struct flow *fl, int json)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	const struct fkey *k = &fl->k;
	int named = fl->result == QUIC_OK;

	addr_text(k, k->src, s, sizeof(s));
	addr_text(k, k->dst, d, sizeof(d));
	if (json) {
		fprintf(o, "{\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,\"dcid\":", s,
			k->sport, d, k->dport);
		if (k->dcid_len == 0xff) {
			fputs("null", o);
		} else {
			fputc('"', o);
			hex(o, k->dcid, k->dcid_len);
			fputc('"', o);
		}
		fprintf(o, ",\"version\":%u,\"result\":\"%s\",\"sni\":", fl->version,
			quic_result_name(fl->result));
		if (named)
			jstr(o, (const __u8 *)fl->hello.name, fl->hello.name_len);
		else
			fputs("null", o);
		fprintf(o, ",\"initials\":%u,\"datagrams\":%u,\"unusable\":%u,\"ech\":%s,\"alpn\":",
			fl->initials, fl->datagrams, fl->unusable,
			fl->hello.ech ? "true" : "false");
		jstr(o, (const __u8 *)fl->hello.alpn, strlen(fl->hello.alpn));
		fputs(",\"reason\":", o);
		if (fl->reason)
			jstr(o, (const __u8 *)fl->reason, strlen(fl->reason));
		else
			fputs("null", o);
		fputc('}', o);
		return;
	}
	fprintf(o, k->family == 4 ? "%s:%u > %s:%u dcid=" : "[%s]:%u > [%s]:%u dcid=", s, k->sport,
		d, k->dport);
	if (k->dcid_len == 0xff || !k->dcid_len)
		fputc('-', o);
	else
		hex(o, k->dcid, k->dcid_len);
	fprintf(o, " result=%s sni=", quic_result_name(fl->result));
	if (named)
		text_esc(o, (const __u8 *)fl->hello.name, (int)fl->hello.name_len);
	else
		fputc('-', o);
	fprintf(o, " initials=%u datagrams=%u ech=%s alpn=%s", fl->initials, fl->datagrams,
		fl->hello.ech ? "yes" : "no", fl->hello.alpn[0] ? fl->hello.alpn : "-");
	if (fl->reason)
		fprintf(o, " reason=\"%s\"", fl->reason);
	fputc('\n', o);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* --repeat: ns per Initial decrypted, per round */
static void timing(FILE *o, const struct table *t0, const struct dgram *dg, int nd, int rounds,
		   int json)
{
	struct table t = { 0 };
	double *ns = calloc(rounds, sizeof(*ns));
	unsigned int initials = 0;
	int it, i;

	if (!ns)
		die("out of memory");
	t.n = t.cap = t0->n;
	t.v = malloc((t.n ? t.n : 1) * sizeof(*t.v));
	if (!t.v)
		die("out of memory");
	for (it = 0; it < rounds; it++) {
		__u64 t1;

		for (i = 0; i < t.n; i++) {
			memset(&t.v[i], 0, sizeof(t.v[i]));
			t.v[i].k = t0->v[i].k;
		}
		t1 = mono_ns();
		for (i = 0; i < nd; i++)
			flow_feed(&t.v[dg[i].flow], &dg[i]);
		flows_free(&t);
		t1 = mono_ns() - t1;
		for (initials = 0, i = 0; i < t.n; i++)
			initials += t.v[i].initials;
		ns[it] = initials ? (double)t1 / initials : 0;
	}
	qsort(ns, rounds, sizeof(*ns), cmp_double);
	if (json)
		fprintf(o,
			",\"timing\":{\"rounds\":%d,\"initials\":%u,\"ns_per_initial\":"
			"{\"median\":%.0f,\"min\":%.0f,\"max\":%.0f}}",
			rounds, initials, ns[rounds / 2], ns[0], ns[rounds - 1]);
	else
		fprintf(o,
			"cost: %d rounds, %u Initials decrypted a round, ns per Initial: "
			"median %.0f, min %.0f, max %.0f\n",
			rounds, initials, ns[rounds / 2], ns[0], ns[rounds - 1]);
	free(ns);
	free(t.v);
}

int cmd_quic_decode(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct pcap_rd pr;
	struct table t = { 0 };
	struct dgram *dg = NULL;
	int nd = 0, dcap = 0, rc, i, skipped = 0;

	if (argc != 1)
		return CMD_USAGE;
	if (co->repeat < 0 || co->repeat > 1000000) {
		warn("--repeat must be 0..1000000");
		return 2;
	}
	if (pcap_rd_open(&pr, argv[0]))
		return 1;
	if (pr.linktype != 1) {
		warn("%s: link type %u, need Ethernet (1)", argv[0], pr.linktype);
		pcap_rd_close(&pr);
		return 1;
	}
	t.head = calloc(NHEAD, sizeof(*t.head));
	if (!t.head)
		die("out of memory");
	while ((rc = pcap_rd_next(&pr)) == 1) {
		struct fkey k;
		const __u8 *pl, *dcid;
		size_t pln;
		__u8 *copy;
		int dl;

		if (udp_payload(pr.buf, pr.caplen, &k, &pl, &pln)) {
			skipped++;
			continue;
		}
		dl = quic_peek_dcid(pl, pln, &dcid);
		k.dcid_len = dl < 0 ? 0xff : dl;
		if (dl > 0)
			memcpy(k.dcid, dcid, dl);
		copy = malloc(pln ? pln : 1);
		if (!copy)
			die("out of memory");
		memcpy(copy, pl, pln);
		if (nd == dcap) {
			dcap = dcap ? dcap * 2 : 256;
			dg = realloc(dg, dcap * sizeof(*dg));
			if (!dg)
				die("out of memory");
		}
		dg[nd] = (struct dgram){ flow_of(&t, &k), copy, pln, (__u64)nd };
		flow_feed(&t.v[dg[nd].flow], &dg[nd]);
		nd++;
	}
	if (rc == -1)
		warn("%s: truncated or corrupt pcap", argv[0]);
	pcap_rd_close(&pr);
	flows_free(&t);

	if (co->json) {
		fprintf(o, "{\"file\":");
		jstr(o, (const __u8 *)argv[0], strlen(argv[0]));
		fprintf(o, ",\"datagrams\":%d,\"skipped\":%d,\"flows\":[", nd, skipped);
	}
	for (i = 0; i < t.n; i++) {
		if (co->json && i)
			fputc(',', o);
		print_flow(o, &t.v[i], co->json);
	}
	if (co->json)
		fputc(']', o);
	if (co->repeat > 0)
		timing(o, &t, dg, nd, co->repeat, co->json);
	if (co->json)
		fprintf(o, "}\n");
	for (i = 0; i < nd; i++)
		free((void *)dg[i].p);
	free(dg);
	free(t.v);
	free(t.head);
	return rc == -1 ? 1 : 0;
}
