// SPDX-License-Identifier: GPL-2.0
/*
 * `xdp-sni replay --cpus N`: the same program and maps driven from N CPUs
 * at the same moment, one thread pinned to each, with BPF_PROG_TEST_RUN
 * (which runs the program on the calling CPU). What one CPU does to the
 * shared flow state (the hello records above all) must never change what
 * another CPU's flows get.
 *
 * The flows: CPU t sends from 10.(100+t).x.y, and each round's source
 * address and port are picked so that the flow's slot is t * 1024 + set,
 * for set = round % CPU_SETS. Hello records come in sets by slot % 1024:
 * every CPU's flows land in the same CPU_SETS sets, whose ways they fight
 * over, while the marks (one per slot) of different CPUs stay apart. With
 * --same-slots every CPU's flows take slots 0..CPU_SETS-1: the CPUs share
 * the marks and the quick hello records (one per slot) as well.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "log.h"
#include "maps.h"
#include "replay.h"
#include "../xdp_sni.h"

#define CPU_SETS  4 /* record sets all the CPUs' flows share */
#define CPUS_MAX  (XSNI_FLOWS_MAX / XSNI_HELLO_SETS)
#define N_ACTIONS 5 /* XDP_ABORTED .. XDP_REDIRECT */

struct tuple {
	__u32 saddr; /* as in the packet */
	__u16 sport; /* as in the packet */
};

struct worker {
	pthread_t th;
	int cpu;   /* the CPU it is pinned to */
	int index; /* 0..ncpus-1: its slots are index * 1024 + set */
	int same;  /* --same-slots: its slots are set, like every CPU's */
	int prog_fd;
	int rounds;
	const struct pfile *f;
	struct tuple *flows;     /* one per round */
	__u64 (*act)[N_ACTIONS]; /* per packet of the file */
	pthread_barrier_t *start;
	int err;
};

static const char *action_names[N_ACTIONS] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

/* The file's destination port bytes (its first packet with a port), as in
 * the packet; -1 if it has none, or a packet that is not IPv4. */
static int file_dport(const struct pfile *f, __u16 *dport)
{
	int k, have = 0;

	for (k = 0; k < f->n; k++) {
		const struct packet *p = &f->pk[k];

		if (p->sport_off < 0 || p->saddr_off < 0) {
			warn("--cpus: %s packet %d is not IPv4 TCP or UDP", f->path, k + 1);
			return -1;
		}
		if (!have) {
			memcpy(dport, p->data + p->sport_off + 2, 2);
			have = 1;
		}
	}
	if (!have)
		warn("--cpus: %s has no packets", f->path);
	return have ? 0 : -1;
}

/* rounds flows for worker index i: round r's flow has slot i * 1024 + r %
 * CPU_SETS (--same-slots: r % CPU_SETS), each flow a 4-tuple of its own */
static int pick_flows(struct worker *w, __u16 dport)
{
	int per = (w->rounds + CPU_SETS - 1) / CPU_SETS, got[CPU_SETS] = { 0 }, done = 0;
	struct tuple *q = calloc((size_t)per * CPU_SETS, sizeof(*q));
	__u32 a, port;

	if (!q)
		die("out of memory");
	for (a = 1; a < 65536 && done < CPU_SETS; a++) {
		__u8 b[4] = { 10, (__u8)(100 + w->index), (__u8)(a >> 8), (__u8)a };
		__u32 s;

		memcpy(&s, b, 4);
		for (port = 1024; port < 65536 && done < CPU_SETS; port++) {
			__u8 pb[4] = { (__u8)(port >> 8), (__u8)port };
			__u32 ports, slot, set;

			memcpy(&pb[2], &dport, 2);
			memcpy(&ports, pb, 4);
			slot = xsni_flow_slot(s, ports);
			set = slot % XSNI_HELLO_SETS;
			if ((int)(slot / XSNI_HELLO_SETS) != (w->same ? 0 : w->index) ||
			    set >= CPU_SETS || got[set] >= per)
				continue;
			q[set * per + got[set]].saddr = s;
			memcpy(&q[set * per + got[set]].sport, pb, 2);
			if (++got[set] == per)
				done++;
		}
	}
	if (done < CPU_SETS) {
		free(q);
		warn("--cpus: not enough flows for %d rounds", w->rounds);
		return -1;
	}
	w->flows = calloc(w->rounds, sizeof(*w->flows));
	if (!w->flows)
		die("out of memory");
	for (int r = 0; r < w->rounds; r++)
		w->flows[r] = q[(r % CPU_SETS) * per + r / CPU_SETS];
	free(q);
	return 0;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	unsigned char *buf = malloc(65536 + 4096), *out = malloc(65536 + 4096);
	cpu_set_t set;
	int r, k;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (!buf || !out || pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		w->err = buf && out ? errno : ENOMEM;
		pthread_barrier_wait(w->start);
		goto end;
	}
	pthread_barrier_wait(w->start);
	for (r = 0; r < w->rounds; r++) {
		for (k = 0; k < w->f->n; k++) {
			const struct packet *p = &w->f->pk[k];
			LIBBPF_OPTS(bpf_test_run_opts, t);

			memcpy(buf, p->data, p->len);
			memcpy(buf + p->saddr_off, &w->flows[r].saddr, 4);
			memcpy(buf + p->sport_off, &w->flows[r].sport, 2);
			t.data_in = buf;
			t.data_size_in = p->len;
			t.data_out = out;
			t.data_size_out = 65536 + 4096;
			t.repeat = 1;
			if (bpf_prog_test_run_opts(w->prog_fd, &t)) {
				w->err = errno;
				goto end;
			}
			w->act[k][t.retval < N_ACTIONS ? t.retval : XDP_ABORTED]++;
		}
	}
end:
	free(buf);
	free(out);
	return NULL;
}

int replay_cpus(int prog_fd, int cnt_fd, const struct pfile *files, int nfiles, int ncpus,
		int rounds, int same_slots, FILE *o, int json)
{
	int online = (int)sysconf(_SC_NPROCESSORS_ONLN), i, k, j, rc = 0;
	struct worker *w = calloc(ncpus, sizeof(*w));
	__u64(*before)[XSNI_CNT_MAX] = calloc(ncpus, sizeof(*before));
	__u64(*after)[XSNI_CNT_MAX] = calloc(ncpus, sizeof(*after));
	pthread_barrier_t start;

	if (!w || !before || !after)
		die("out of memory");
	if (ncpus < 1 || ncpus > CPUS_MAX || ncpus > online) {
		warn("--cpus must be 1 to %d, and at most the %d CPUs online", CPUS_MAX, online);
		return -1;
	}
	for (i = 0; i < ncpus; i++) {
		__u16 dport;

		w[i].cpu = i;
		w[i].index = i;
		w[i].same = same_slots;
		w[i].prog_fd = prog_fd;
		w[i].rounds = rounds;
		w[i].f = &files[i % nfiles];
		w[i].start = &start;
		if (file_dport(w[i].f, &dport) || pick_flows(&w[i], dport))
			return -1;
		w[i].act = calloc(w[i].f->n, sizeof(*w[i].act));
		if (!w[i].act)
			die("out of memory");
		read_counters_of(cnt_fd, i, before[i]);
	}
	pthread_barrier_init(&start, NULL, ncpus);
	for (i = 0; i < ncpus; i++)
		if (pthread_create(&w[i].th, NULL, work, &w[i]))
			die("cannot start a thread");
	for (i = 0; i < ncpus; i++)
		pthread_join(w[i].th, NULL);
	pthread_barrier_destroy(&start);

	if (json)
		fprintf(o, "{\"cpus\":[");
	for (i = 0; i < ncpus; i++) {
		if (w[i].err) {
			warn("--cpus: CPU %d: %s", w[i].cpu, strerror(w[i].err));
			rc = -1;
		}
		read_counters_of(cnt_fd, i, after[i]);
		for (j = 0; j < XSNI_CNT_MAX; j++)
			after[i][j] -= before[i][j];
		if (json) {
			fprintf(o, "%s{\"cpu\":%d,\"file\":", i ? "," : "", w[i].cpu);
			jstr(o, (const unsigned char *)w[i].f->path, strlen(w[i].f->path));
			fprintf(o, ",\"rounds\":%d,\"verdicts\":[", rounds);
			for (k = 0; k < w[i].f->n; k++) {
				fprintf(o, "%s{", k ? "," : "");
				for (j = 0; j < N_ACTIONS; j++)
					fprintf(o, "%s\"%s\":%llu", j ? "," : "", action_names[j],
						(unsigned long long)w[i].act[k][j]);
				fprintf(o, "}");
			}
			fprintf(o, "],\"counters\":");
			print_counters(o, after[i], 1);
			fprintf(o, "}");
		} else {
			fprintf(o, "CPU %d: %s, %d rounds\n", w[i].cpu, w[i].f->path, rounds);
			for (k = 0; k < w[i].f->n; k++) {
				fprintf(o, "  packet %d:", k + 1);
				for (j = 0; j < N_ACTIONS; j++)
					if (w[i].act[k][j])
						fprintf(o, " %s %llu", action_names[j],
							(unsigned long long)w[i].act[k][j]);
				fprintf(o, "\n");
			}
			fprintf(o, "  counters:\n");
			print_counters(o, after[i], 0);
		}
		free(w[i].act);
		free(w[i].flows);
	}
	if (json)
		fprintf(o, "]}\n");
	free(w);
	free(before);
	free(after);
	return rc;
}
