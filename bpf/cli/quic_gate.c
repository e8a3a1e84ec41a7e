// SPDX-License-Identifier: GPL-2.0
/* QUIC=filter in user space: copies in, verdicts out (quic_gate.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "quic_gate.h"

#define QGATE_BUCKETS 2048

struct gflow {
	struct gflow *next;
	struct xsni_flow_key key;
	struct quic_flow *qf; /* NULL once decided */
	__u64 first_ns;       /* the program's first Initial of the flow */
	__u64 seen_ns;        /* the last copy (our clock) */
	int decided;
};

struct qgate {
	int quic_fd, qstat_fd;
	struct judge *judge;
	qgate_event_fn fn;
	void *ctx;
	struct gflow *b[QGATE_BUCKETS];
	unsigned int nflows;
	__u64 st[XSNI_QS_MAX];
	struct qgate_last last;
};

static __u64 mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (__u64)t.tv_sec * 1000000000ull + (__u64)t.tv_nsec;
}

static unsigned int key_hash(const struct xsni_flow_key *k)
{
	const unsigned char *p = (const void *)k;
	unsigned int h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h % QGATE_BUCKETS;
}

struct qgate *qgate_open(int quic_fd, int qstat_fd, const struct judge_fds *jf, qgate_event_fn fn,
			 void *ctx)
{
	struct qgate *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->judge = judge_open(jf);
	if (!g->judge) {
		int err = errno;

		free(g);
		errno = err;
		return NULL;
	}
	g->quic_fd = quic_fd;
	g->qstat_fd = qstat_fd;
	g->fn = fn;
	g->ctx = ctx;
	return g;
}

static void flow_free(struct qgate *g, struct gflow **pp)
{
	struct gflow *f = *pp;

	*pp = f->next;
	if (f->qf) {
		quic_flow_free(f->qf);
		free(f->qf);
	}
	if (!f->decided)
		g->st[XSNI_QS_EXPIRED]++;
	free(f);
	g->nflows--;
}

static void write_stats(struct qgate *g)
{
	__u32 zero = 0;

	if (g->qstat_fd >= 0)
		bpf_map_update_elem(g->qstat_fd, &zero, g->st, 0);
}

void qgate_expire(struct qgate *g)
{
	__u64 now = mono_ns();
	unsigned int i;

	for (i = 0; i < QGATE_BUCKETS; i++) {
		struct gflow **pp = &g->b[i];

		while (*pp) {
			if (now - (*pp)->seen_ns > QGATE_TTL_NS)
				flow_free(g, pp);
			else
				pp = &(*pp)->next;
		}
	}
	write_stats(g);
}

/* the oldest flow goes when QGATE_FLOWS are open */
static void evict_oldest(struct qgate *g)
{
	struct gflow **old = NULL;
	unsigned int i;

	for (i = 0; i < QGATE_BUCKETS; i++) {
		struct gflow **pp;

		for (pp = &g->b[i]; *pp; pp = &(*pp)->next)
			if (!old || (*pp)->seen_ns < (*old)->seen_ns)
				old = pp;
	}
	if (old)
		flow_free(g, old);
}

/* the verdict into the program's entry (kept: its first_ns and DCID) */
static void write_verdict(struct qgate *g, const struct xsni_flow_key *k, __u32 verdict, __u64 now,
			  struct xsni_quic *q)
{
	if (bpf_map_lookup_elem(g->quic_fd, k, q))
		memset(q, 0, sizeof(*q));
	q->state = (verdict == XSNI_V_BLOCK || verdict == XSNI_V_UNREAD_BLOCK) ? XSNI_Q_BLOCK :
										 XSNI_Q_PASS;
	q->verdict = verdict;
	q->verdict_ns = now;
	if (bpf_map_update_elem(g->quic_fd, k, q, BPF_ANY))
		g->st[XSNI_QS_WRITE_FAILED]++;
}

static void decide(struct qgate *g, struct gflow *f, const struct xsni_quic_copy *c)
{
	struct quic_flow *qf = f->qf;
	struct judgement j;
	struct xsni_quic q;
	__u64 now, wait;
	int named = qf->final == QUIC_OK;

	judge_name(g->judge, named ? qf->hello.name : NULL, named ? qf->hello.name_len : 0,
		   c->key.saddr, c->family == 6, c->smac, &j);
	now = mono_ns();
	write_verdict(g, &c->key, j.verdict, now, &q);
	wait = now > f->first_ns ? now - f->first_ns : 0;
	if (!g->st[XSNI_QS_WAIT_MIN_NS] || wait < g->st[XSNI_QS_WAIT_MIN_NS])
		g->st[XSNI_QS_WAIT_MIN_NS] = wait;
	if (wait > g->st[XSNI_QS_WAIT_MAX_NS])
		g->st[XSNI_QS_WAIT_MAX_NS] = wait;
	g->st[XSNI_QS_WAIT_SUM_NS] += wait;
	g->st[q.state == XSNI_Q_BLOCK ? XSNI_QS_BLOCKED : XSNI_QS_PASSED]++;
	g->st[named                    ? XSNI_QS_NAMES :
	      qf->final == QUIC_NO_SNI ? XSNI_QS_NO_SNI :
					 XSNI_QS_MALFORMED]++;
	g->last.decided = 1;
	g->last.verdict = j.verdict;
	g->last.wait_ns = wait;
	if (named)
		memcpy(g->last.name, qf->hello.name, qf->hello.name_len + 1);
	if (j.log && g->fn) {
		struct xsni_event e;

		memset(&e, 0, sizeof(e));
		memcpy(e.saddr, c->key.saddr, 16);
		memcpy(e.daddr, c->key.daddr, 16);
		e.sport = ntohs(c->key.sport);
		e.dport = ntohs(c->key.dport);
		e.family = c->family;
		e.verdict = j.verdict;
		e.segments = qf->initials;
		e.ech = qf->hello.ech ? 1 : 0;
		e.group = j.group;
		e.ifindex = c->ifindex;
		e.cats = j.cats;
		e.door = XSNI_DOOR_QUIC;
		if (named) {
			e.sni_len = qf->hello.name_len;
			memcpy(e.sni, qf->hello.name, qf->hello.name_len);
		}
		g->fn(g->ctx, &e, wait, now > c->ts_ns ? now - c->ts_ns : 0, q.dcid,
		      q.dcid_len <= 20 ? q.dcid_len : 0);
	}
	quic_flow_free(qf);
	free(qf);
	f->qf = NULL;
	f->decided = 1;
}

static __u64 cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (__u64)t.tv_sec * 1000000000ull + (__u64)t.tv_nsec;
}

static void copy_one(struct qgate *g, const struct xsni_quic_copy *c);

void qgate_copy(struct qgate *g, const struct xsni_quic_copy *c)
{
	__u64 t0 = cpu_ns();

	copy_one(g, c);
	g->st[XSNI_QS_CPU_NS] += cpu_ns() - t0;
	write_stats(g);
}

static void copy_one(struct qgate *g, const struct xsni_quic_copy *c)
{
	unsigned int h = key_hash(&c->key);
	struct gflow **pp, *f = NULL;
	enum quic_result r;
	size_t len = c->len <= XSNI_QUIC_COPY_MAX ? c->len : XSNI_QUIC_COPY_MAX;

	memset(&g->last, 0, sizeof(g->last));
	g->st[XSNI_QS_COPIES]++;
	for (pp = &g->b[h]; *pp; pp = &(*pp)->next)
		if (!memcmp(&(*pp)->key, &c->key, sizeof(c->key))) {
			f = *pp;
			break;
		}
	if (f && c->seq == 0 && c->first_ns != f->first_ns) {
		flow_free(g, pp); /* a new attempt on the 4-tuple */
		f = NULL;
	}
	if (!f) {
		if (g->nflows >= QGATE_FLOWS)
			evict_oldest(g);
		f = calloc(1, sizeof(*f));
		if (f)
			f->qf = malloc(sizeof(*f->qf));
		if (!f || !f->qf) {
			free(f);
			return;
		}
		quic_flow_init(f->qf);
		f->key = c->key;
		f->first_ns = c->first_ns;
		f->next = g->b[h];
		g->b[h] = f;
		g->nflows++;
		g->st[XSNI_QS_FLOWS]++;
	}
	f->seen_ns = mono_ns();
	if (f->decided) {
		g->last.decided = 1;
		return; /* a copy in flight when the verdict came */
	}
	r = quic_feed(f->qf, c->data, len, f->seen_ns);
	g->last.result = r;
	if (f->qf->final != QUIC_NEED_MORE) {
		g->last.result = f->qf->final;
		decide(g, f, c);
	} else if (r == QUIC_UNDECRYPTABLE) {
		g->st[XSNI_QS_UNDECRYPTABLE]++;
	} else if (r != QUIC_NEED_MORE) {
		g->st[XSNI_QS_BAD_HEADER]++;
	}
}

const struct qgate_last *qgate_last(const struct qgate *g)
{
	return &g->last;
}

const __u64 *qgate_stats(const struct qgate *g)
{
	return g->st;
}

void qgate_close(struct qgate *g)
{
	unsigned int i;

	if (!g)
		return;
	for (i = 0; i < QGATE_BUCKETS; i++)
		while (g->b[i])
			flow_free(g, &g->b[i]);
	judge_close(g->judge);
	free(g);
}
