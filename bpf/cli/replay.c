// SPDX-License-Identifier: GPL-2.0
/*
 * `xdp-sni replay`: every packet of a pcap through the program with
 * BPF_PROG_TEST_RUN, one loaded object and one set of maps for the file,
 * so flow state carries across packets; optionally timed (--repeat).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "event_text.h"
#include "events.h"
#include "log.h"
#include "maps.h"
#include "pcap.h"
#include "domtable.h"
#include "quic_gate.h"
#include "replay.h"

/* kernel timing of a packet that sends an event: chunks that fit a ring */
#define REPLAY_CHUNK (XSNI_EV_SLOTS / 2)

struct replay {
	const struct cmd_opts *co;
	struct bpf_object *obj;
	int prog_fd, set_fd, cnt_fd;
	int is_sni_prog;
	struct xsni_settings s;
	struct events *ev;
	int nev;                /* events of the current packet */
	struct xsni_event last; /* and the last of them */
	/* --quic: the daemon's part, on this replay's maps */
	struct qgate *qg;
	struct qcopies *qc;
	int qcopies;             /* copies of the current packet */
	struct qgate_last qlast; /* what the last of them did */
	__u64 qwait_ns;
};

static void on_quic_event(void *ctx, const struct xsni_event *e, __u64 wait_ns, __u64 decide_ns,
			  const __u8 *dcid, unsigned int dcid_len)
{
	struct replay *r = ctx;

	r->last = *e;
	r->nev++;
}

static void on_quic_copy(void *ctx, const struct xsni_quic_copy *c)
{
	struct replay *r = ctx;

	qgate_copy(r->qg, c);
	r->qlast = *qgate_last(r->qg);
	r->qcopies++;
}

static void on_event(void *ctx, const struct xsni_event *e)
{
	struct replay *r = ctx;

	r->last = *e;
	r->nev++;
}

static void test_run_or_die(int prog_fd, struct bpf_test_run_opts *t, int idx)
{
	if (bpf_prog_test_run_opts(prog_fd, t))
		die("BPF_PROG_TEST_RUN failed on packet %d: %s", idx, strerror(errno));
}

static double mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* --repeat timing runs on a second copy of the program and its maps, which
 * has seen the same packets before, so the reported run's state is never
 * touched. Three ways (--timing; auto takes "flows" for a packet that
 * sends an event and "wall" for any other):
 *
 * flows: N rounds over the whole file, every packet one call, each round a
 *   new flow (the TCP or UDP source port changed), so a ClientHello takes its
 *   real path with every state write: a blocked flow's mark, a hello
 *   record saved by one segment and read by the next. The kernel's figure
 *   of each call (whole ns, its timer included), averaged.
 * kernel: the kernel's own figure for N runs of the packet in one call
 *   (events drained between chunks that fit a ring).
 * wall: the wall clock of N runs minus that of N/10, in one call each.
 *   The difference cancels the fixed cost of a call (about 1 ms here, most
 *   of it switching the kernel's XDP dispatcher to the program and back)
 *   and keeps fractions of a ns. For packets that leave no state. */
static double time_kernel(struct replay *r, struct bpf_test_run_opts *t, int idx, int repeat)
{
	int left = repeat;
	double tot = 0;

	while (left > 0) {
		int chunk = r->ev && left > REPLAY_CHUNK ? REPLAY_CHUNK : left;

		t->repeat = chunk;
		test_run_or_die(r->prog_fd, t, idx);
		tot += (double)t->duration * chunk;
		left -= chunk;
		if (r->ev)
			events_consume(r->ev);
	}
	return tot / repeat;
}

static double time_wall(struct replay *r, struct bpf_test_run_opts *t, int idx, int repeat)
{
	int n1 = repeat / 10;
	double t1, t2;

	if (n1 < 1)
		return time_kernel(r, t, idx, repeat);
	t->repeat = n1;
	t1 = mono_ns();
	test_run_or_die(r->prog_fd, t, idx);
	t1 = mono_ns() - t1;
	t->repeat = repeat;
	t2 = mono_ns();
	test_run_or_die(r->prog_fd, t, idx);
	t2 = mono_ns() - t2;
	if (t2 <= t1) /* disturbed: fall back to the kernel's figure */
		return (double)t->duration;
	if (r->ev)
		events_consume(r->ev);
	return (t2 - t1) / (repeat - n1);
}

/* the TCP or UDP source port's offset in an Ethernet frame (VLAN tags, IPv4,
 * IPv6 without extension headers), or -1; *saddr_off: the IPv4 source
 * address's, or -1 */
static int sport_offset(const unsigned char *f, __u32 len, int *saddr_off)
{
	struct frame_l3 l;

	*saddr_off = -1;
	if (frame_l3(f, len, &l) || (l.proto != 6 && l.proto != 17))
		return -1;
	if (l.family == 4)
		*saddr_off = (int)l.ip + 12;
	return l.l4 + 4 <= len ? (int)l.l4 : -1;
}

/* --timing flows: ns[k] for every packet k of the file */
static void time_flows(struct replay *tr, struct packet *pk, int n, double *ns)
{
	int rounds = tr->co->repeat, it, k;
	unsigned char *buf = malloc(65536 + 4096);

	if (!buf)
		die("out of memory");
	for (k = 0; k < n; k++)
		ns[k] = 0;
	for (it = 0; it < rounds; it++) {
		__u16 port = htons(20000 + it % 40000);

		for (k = 0; k < n; k++) {
			LIBBPF_OPTS(bpf_test_run_opts, tt);

			memcpy(buf, pk[k].data, pk[k].len);
			if (pk[k].sport_off >= 0)
				memcpy(buf + pk[k].sport_off, &port, 2);
			tt.data_in = buf;
			tt.data_size_in = pk[k].len;
			tt.repeat = 1;
			test_run_or_die(tr->prog_fd, &tt, k + 1);
			ns[k] += tt.duration;
		}
		if (tr->ev)
			events_consume(tr->ev);
		if (tr->qc)
			qcopies_consume(tr->qc);
	}
	for (k = 0; k < n; k++)
		ns[k] /= rounds;
	free(buf);
}

static double time_flows1(struct replay *tr, const struct packet *pk)
{
	struct packet one = *pk;
	double ns;

	time_flows(tr, &one, 1, &ns);
	return ns;
}

/* Time one packet on the timing copy tr. *how names the clock. */
static double time_packet(struct replay *tr, const struct packet *pk, int idx, const char **how)
{
	const char *timing = tr->co->timing;
	LIBBPF_OPTS(bpf_test_run_opts, tt);
	int emits = 0;

	tt.data_in = pk->data;
	tt.data_size_in = pk->len;
	/* one untimed run: does this packet send an event? */
	tt.repeat = 1;
	test_run_or_die(tr->prog_fd, &tt, idx);
	if (tr->ev && events_consume(tr->ev) > 0)
		emits = 1;
	if (!strcmp(timing, "wall") || (!emits && !strcmp(timing, "auto"))) {
		*how = "wall";
		return time_wall(tr, &tt, idx, tr->co->repeat);
	}
	if (!strcmp(timing, "kernel")) {
		*how = "kernel";
		return time_kernel(tr, &tt, idx, tr->co->repeat);
	}
	*how = "flows";
	return time_flows1(tr, pk);
}

static const char *xdp_action_name(__u32 a)
{
	switch (a) {
	case XDP_ABORTED: return "ABORTED";
	case XDP_DROP: return "DROP";
	case XDP_PASS: return "PASS";
	case XDP_TX: return "TX";
	case XDP_REDIRECT: return "REDIRECT";
	}
	return "?";
}

static void json_str(FILE *o, const char *s, size_t n)
{
	size_t i;

	fputc('"', o);
	for (i = 0; i < n && s[i]; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(o, "\\u%04x", c);
		else
			fputc(c, o);
	}
	fputc('"', o);
}

static void print_packet_json(FILE *o, const struct replay *r, int idx, int first, __u32 len,
			      const struct bpf_test_run_opts *t, const unsigned char *out,
			      double ns, const char *timing, int changed)
{
	fprintf(o, "%s{\"index\":%d,\"len\":%u,\"verdict\":\"%s\"", first ? "" : ",", idx, len,
		xdp_action_name(t->retval));
	if (ns >= 0)
		fprintf(o, ",\"ns\":%.2f,\"timing\":\"%s\"", ns, timing);
	if (changed)
		fprintf(o, ",\"out_len\":%u", t->data_size_out);
	if (r->nev) {
		const struct xsni_event *e = &r->last;
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		event_addrs(e, src, dst, sizeof(src));
		fprintf(o, ",\"sni\":");
		json_str(o, e->sni, e->sni_len);
		fprintf(o,
			",\"event\":{\"verdict\":\"%s\",\"segments\":%u,"
			"\"rst\":%s,\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,\"family\":%u,"
			"\"group\":%u,\"cats\":%u,\"door\":\"%s\"",
			verdict_name(e->verdict), e->segments, e->rst ? "true" : "false", src,
			e->sport, dst, e->dport, e->family, e->group, e->cats,
			e->door == XSNI_DOOR_QUIC ? "quic" : "tls");
		/* the ECH flag: only the daemon's QUIC reader sees the whole hello */
		if (e->door == XSNI_DOOR_QUIC)
			fprintf(o, ",\"ech\":%s", e->ech ? "true" : "false");
		fputc('}', o);
	}
	if (r->qc && r->qcopies) {
		const struct qgate_last *q = &r->qlast;

		fprintf(o, ",\"quic\":{\"copies\":%d,\"result\":\"%s\",\"decided\":%s", r->qcopies,
			quic_result_name(q->result), q->decided ? "true" : "false");
		if (q->decided)
			fprintf(o, ",\"verdict\":\"%s\",\"wait_ns\":%llu", verdict_name(q->verdict),
				(unsigned long long)q->wait_ns);
		if (q->name[0]) {
			fprintf(o, ",\"name\":");
			json_str(o, q->name, strlen(q->name));
		}
		fprintf(o, "}");
	}
	if (changed) {
		__u32 k;

		fprintf(o, ",\"out\":\"");
		for (k = 0; k < t->data_size_out && k < 128; k++)
			fprintf(o, "%02x", out[k]);
		fprintf(o, "\"");
	}
	fprintf(o, "}");
}

static void print_packet_text(FILE *o, const struct replay *r, int idx, __u32 len,
			      const struct bpf_test_run_opts *t, double ns, const char *timing)
{
	fprintf(o, "%d\t%s\t%u", idx, xdp_action_name(t->retval), len);
	if (ns >= 0)
		fprintf(o, "\t%.1fns (%s)", ns, timing);
	if (r->nev) {
		char line[512];

		format_event(&r->last, NULL, line, sizeof(line));
		fprintf(o, "\t%s", line);
	}
	fprintf(o, "\n");
}

/* --quic, JSON: the program's QUIC counters and the gate's */
static void print_quic_counters(FILE *o, struct replay *r)
{
	static const char *cn[] = XSNI_QCOUNTER_NAMES, *sn[] = XSNI_QSTAT_NAMES;
	int ncpu = libbpf_num_possible_cpus(), i, j;
	struct xsni_qcounters *pc = calloc(ncpu, sizeof(*pc));
	const __u64 *st = qgate_stats(r->qg);
	__u64 sum[XSNI_QC_MAX] = {};
	__u32 zero = 0;

	if (pc && !bpf_map_lookup_elem(obj_map_fd(r->obj, XSNI_MAP_QCNT), &zero, pc))
		for (i = 0; i < ncpu; i++)
			for (j = 0; j < XSNI_QC_MAX; j++)
				sum[j] += pc[i].c[j];
	free(pc);
	fprintf(o, ",\"quic_counters\":{");
	for (j = 0; j < XSNI_QC_MAX; j++)
		fprintf(o, "%s\"%s\":%llu", j ? "," : "", cn[j], (unsigned long long)sum[j]);
	fprintf(o, "},\"quic_stats\":{");
	for (j = 0; j < XSNI_QS_MAX; j++)
		fprintf(o, "%s\"%s\":%llu", j ? "," : "", sn[j], (unsigned long long)st[j]);
	fprintf(o, "}");
}

/* The minimal reader of the bench (bench/bpf/minimal_sni.bpf.o): its names
 * as sent, zero-padded to 64 bytes. */
static int setup_minimal(struct replay *r)
{
	struct bpf_map *m = bpf_object__find_map_by_name(r->obj, "minimal_names");
	struct parsed p = {};
	size_t i;

	if (!m || !r->co->blocklist)
		return 0;
	if (parse_list_file(r->co->blocklist, 0, &p))
		return 1;
	for (i = 0; i < p.dl.n; i++) {
		char key[64] = {};
		__u8 one = 1;

		if (!p.dl.v[i].name || strlen(p.dl.v[i].name) >= sizeof(key))
			continue;
		memcpy(key, p.dl.v[i].name, strlen(p.dl.v[i].name));
		if (bpf_map_update_elem(bpf_map__fd(m), key, &one, 0))
			die("cannot fill minimal_names: %s", strerror(errno));
	}
	dl_free(&p.dl);
	return 0;
}

/* The replay's own settings, blocklist and exemption in the fresh maps. 0 or 1. */
static int setup_maps(struct replay *r, int pinned_list)
{
	const struct cmd_opts *co = r->co;
	struct bpf_object *obj = r->obj;
	__u32 zero = 0;

	r->set_fd = obj_map_fd(obj, XSNI_MAP_SETTINGS);
	r->cnt_fd = bpf_object__find_map_by_name(obj, XSNI_MAP_COUNTERS) ?
			    obj_map_fd(obj, XSNI_MAP_COUNTERS) :
			    -1;
	default_settings(&r->s);
	r->s.flags = XSNI_SET_LOG_ALL | XSNI_SET_UNREADABLE;
	if (co->unreadable && !strcmp(co->unreadable, "pass"))
		r->s.flags &= ~XSNI_SET_UNREADABLE;
	if (co->rst == 1)
		r->s.flags |= XSNI_SET_RST;
	if (co->mode)
		r->s.mode = !strcmp(co->mode, "monitor") ? XSNI_MODE_MONITOR : XSNI_MODE_BLOCK;
	if (co->ports && parse_ports(co->ports, r->s.ports))
		die("bad --ports %s", co->ports);
	if (co->quic && (!strcmp(co->quic, "filter") || !strcmp(co->quic, "daemon")))
		r->s.flags |= XSNI_SET_QUIC;
	if (co->quic && !strcmp(co->quic, "hold"))
		r->s.flags |= XSNI_SET_QUIC | XSNI_SET_QUIC_HOLD;
	if (pinned_list) {
		/* the pinned list's label counts come with it */
		struct xsni_settings ps;
		int fd = pinned_fd(XSNI_MAP_SETTINGS);

		/* ... and the policy's client maps */
		if (fd >= 0 && !bpf_map_lookup_elem(fd, &zero, &ps)) {
			r->s.sub_labels = ps.sub_labels;
			r->s.flags |= ps.flags &
				      (XSNI_SET_CLIENTS4 | XSNI_SET_CLIENTS6 | XSNI_SET_CLIENTMAC);
		}
		if (fd >= 0)
			close(fd);
	}
	if (bpf_map_update_elem(r->set_fd, &zero, &r->s, 0))
		die("cannot write settings");
	if (co->blocklist && bpf_object__find_map_by_name(obj, XSNI_MAP_DOMAINS)) {
		struct parsed p = {};

		if (parse_list_file(co->blocklist, co->subdomains, &p))
			return 1;
		if (p.bad && !co->skip_bad) {
			warn("%d bad line(s) in %s", p.bad, co->blocklist);
			return 1;
		}
		{
			struct domtable *dt = map_domtable(obj_map_fd(obj, XSNI_MAP_DOMAINS),
							   obj_map_fd(obj, XSNI_MAP_DOMCATS));

			map_put_domains(dt, &p.dl);
			dt_close(dt);
		}
		map_sync_filter(obj_map_fd(obj, XSNI_MAP_BLOOM), r->set_fd, &p.dl);
		dl_free(&p.dl);
	}
	if (co->exempt && bpf_object__find_map_by_name(obj, XSNI_MAP_EXEMPT4)) {
		struct prefix px;

		if (parse_prefix(co->exempt, &px))
			die("bad --exempt %s", co->exempt);
		map_exempt(obj_map_fd(obj, XSNI_MAP_EXEMPT4), obj_map_fd(obj, XSNI_MAP_EXEMPT6),
			   &px, 1);
		map_sync_exempt_flags(r->set_fd, obj_map_fd(obj, XSNI_MAP_EXEMPT4),
				      obj_map_fd(obj, XSNI_MAP_EXEMPT6));
	}
	r->ev = events_open(obj_map_fd(obj, XSNI_MAP_EVHDR), obj_map_fd(obj, XSNI_MAP_EVENTS),
			    on_event, r);
	if (!r->ev)
		die("cannot open the event rings: %s", strerror(errno));
	/* --no-drain: rings that look full and are never read, to show that a
	 * full channel loses events, not verdicts */
	if (co->no_drain)
		events_block(r->ev);
	if ((r->s.flags & XSNI_SET_QUIC) && strcmp(co->quic, "daemon")) {
		struct judge_fds jf;

		judge_fds_obj(obj, &jf);
		r->qg = qgate_open(obj_map_fd(obj, XSNI_MAP_QUIC), obj_map_fd(obj, XSNI_MAP_QSTAT),
				   &jf, on_quic_event, r);
		if (r->qg)
			r->qc = qcopies_open(obj_map_fd(obj, XSNI_MAP_QUIC_RB), on_quic_copy, r);
		if (!r->qg || !r->qc)
			die("cannot open the QUIC copies: %s", strerror(errno));
	}
	return 0;
}

/* Open and load the object (--obj may be any XDP program). 0 or 1. */
static int load(struct replay *r)
{
	const struct cmd_opts *co = r->co;
	const char *file = obj_path();
	int pinned_list = 0;

	r->set_fd = r->cnt_fd = -1;
	r->obj = bpf_object__open_file(file, NULL);
	if (!r->obj)
		die("cannot open %s: %s", file, strerror(errno));
	r->is_sni_prog = obj_map(r->obj, XSNI_MAP_SETTINGS) != NULL;
	if (r->is_sni_prog) {
		struct bpf_map *dm = bpf_object__find_map_by_name(r->obj, XSNI_MAP_DOMAINS);
		struct bpf_map *bm = bpf_object__find_map_by_name(r->obj, XSNI_MAP_BLOOM);

		if (events_size_maps(r->obj))
			die("%s has no event maps", file);
		/* the current list and policy, unless a list was given */
		if (!co->blocklist && dm && bm) {
			static const char *const shared[] = {
				XSNI_MAP_DOMAINS,   XSNI_MAP_DOMCATS,  XSNI_MAP_BLOOM,
				XSNI_MAP_GROUPS,    XSNI_MAP_CLIENTS4, XSNI_MAP_CLIENTS6,
				XSNI_MAP_CLIENTMAC,
			};
			int fds[7], i, all = 1;

			for (i = 0; i < 7; i++) {
				fds[i] = pinned_fd(shared[i]);
				all &= fds[i] >= 0;
			}
			for (i = 0; i < 7 && all; i++)
				if (bpf_map__reuse_fd(obj_map(r->obj, shared[i]), fds[i]))
					die("cannot reuse the pinned map %s", shared[i]);
			for (i = 0; i < 7; i++)
				if (fds[i] >= 0)
					close(fds[i]);
			pinned_list = all;
		}
	}
	if (r->is_sni_prog && co->quic && !strcmp(co->quic, "daemon")) {
		/* the pinned QUIC maps: the running daemon reads the copies
		 * and writes the verdicts this replay meets */
		static const char *const qm[] = { XSNI_MAP_QUIC, XSNI_MAP_QUIC_RB, XSNI_MAP_QCNT };
		int i;

		for (i = 0; i < 3; i++) {
			int fd = pinned_fd(qm[i]);

			if (fd < 0 || bpf_map__reuse_fd(obj_map(r->obj, qm[i]), fd))
				die("--quic daemon: no pinned map %s", qm[i]);
			close(fd);
		}
	}
	if (bpf_object__load(r->obj))
		die("cannot load %s (verifier log above)", file);
	r->prog_fd = bpf_program__fd(bpf_object__next_program(r->obj, NULL));
	return r->is_sni_prog ? setup_maps(r, pinned_list) : setup_minimal(r);
}

/* the whole file in memory (captures for replay are small) */
static int read_all(const char *path, struct packet **out, int *n)
{
	struct pcap_rd pr;
	struct packet *v = NULL;
	int rc, cap = 0;

	*n = 0;
	if (pcap_rd_open(&pr, path))
		return -1;
	if (pr.linktype != 1) {
		warn("%s: link type %u, need Ethernet (1)", path, pr.linktype);
		pcap_rd_close(&pr);
		return -1;
	}
	while ((rc = pcap_rd_next(&pr)) == 1) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("out of memory");
		}
		v[*n].data = malloc(pr.caplen ? pr.caplen : 1);
		if (!v[*n].data)
			die("out of memory");
		memcpy(v[*n].data, pr.buf, pr.caplen);
		v[*n].len = pr.caplen;
		v[*n].sport_off = sport_offset(pr.buf, pr.caplen, &v[*n].saddr_off);
		(*n)++;
	}
	if (rc == -1)
		warn("%s: truncated or corrupt pcap", path);
	pcap_rd_close(&pr);
	*out = v;
	return 0;
}

/* what load() opened */
static void unload(struct replay *r)
{
	events_close(r->ev);
	qcopies_close(r->qc);
	qgate_close(r->qg);
	if (r->obj)
		bpf_object__close(r->obj);
}

/* what read_all() read */
static void free_packets(struct packet *pk, int n)
{
	int j;

	for (j = 0; j < n; j++)
		free(pk[j].data);
	free(pk);
}

/* --cpus N: the files on N CPUs at once (replay_cpus.c), --repeat rounds
 * each (default 10,000), on one loaded program and its maps */
static int replay_on_cpus(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct replay r = { .co = co };
	struct pfile *f = calloc(argc, sizeof(*f));
	int i, rc;

	if (!f)
		die("out of memory");
	for (i = 0; i < argc; i++) {
		f[i].path = argv[i];
		if (read_all(argv[i], &f[i].pk, &f[i].n))
			return 1;
	}
	if (load(&r))
		return 1;
	if (r.cnt_fd < 0) {
		warn("--cpus: the object has no xdp_sni counters");
		return 1;
	}
	rc = replay_cpus(r.prog_fd, r.cnt_fd, f, argc, (int)(co->cpus > 64 ? 64 : co->cpus),
			 co->repeat > 0 ? co->repeat : 10000, co->same_slots, o, co->json);
	unload(&r);
	for (i = 0; i < argc; i++)
		free_packets(f[i].pk, f[i].n);
	free(f);
	return rc ? 1 : 0;
}

int cmd_replay(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct replay r = { .co = co }, tr = { .co = co };
	struct packet *pk = NULL;
	__u64 before[XSNI_CNT_MAX], after[XSNI_CNT_MAX], total[XSNI_CNT_MAX] = {};
	unsigned char out[65536 + 4096];
	double ns_sum = 0, *flow_ns = NULL;
	int idx, n = 0, j;

	if (co->mode && strcmp(co->mode, "monitor") && strcmp(co->mode, "block"))
		die("bad --mode %s", co->mode);
	if (co->unreadable && strcmp(co->unreadable, "pass") && strcmp(co->unreadable, "block"))
		die("bad --unreadable %s", co->unreadable);
	if (co->quic && strcmp(co->quic, "off") && strcmp(co->quic, "filter") &&
	    strcmp(co->quic, "hold") && strcmp(co->quic, "daemon"))
		die("bad --quic %s", co->quic);
	if (argc < 1 || (argc > 1 && co->cpus < 0))
		return CMD_USAGE;
	if (strcmp(co->timing, "auto") && strcmp(co->timing, "kernel") &&
	    strcmp(co->timing, "wall") && strcmp(co->timing, "flows")) {
		warn("--timing must be auto, kernel, wall or flows, not \"%s\"", co->timing);
		return 2;
	}
	if (co->same_slots && co->cpus < 0) {
		warn("--same-slots goes with --cpus");
		return 2;
	}
	if (co->cpus >= 0)
		return replay_on_cpus(argc, argv, o, co);
	if (read_all(argv[0], &pk, &n))
		return 1;
	if (load(&r))
		return 1;
	if (co->repeat > 0) {
		if (load(&tr))
			return 1;
		if (!strcmp(co->timing, "flows")) {
			flow_ns = calloc(n ? n : 1, sizeof(*flow_ns));
			if (!flow_ns)
				die("out of memory");
			time_flows(&tr, pk, n, flow_ns);
		}
	}

	if (co->json) {
		fprintf(o, "{\"file\":");
		json_str(o, argv[0], strlen(argv[0]));
		fprintf(o, ",\"packets\":[");
	}
	for (idx = 1; idx <= n; idx++) {
		LIBBPF_OPTS(bpf_test_run_opts, t);
		const struct packet *p = &pk[idx - 1];
		double ns = -1;
		const char *timing = "";

		if (flow_ns) {
			ns = flow_ns[idx - 1];
			timing = "flows";
		} else if (co->repeat > 0) {
			ns = time_packet(&tr, p, idx, &timing);
		}
		if (ns >= 0)
			ns_sum += ns;
		r.nev = 0;
		r.qcopies = 0;
		memset(&r.qlast, 0, sizeof(r.qlast));
		if (r.cnt_fd >= 0)
			read_counters(r.cnt_fd, before);
		t.data_in = p->data;
		t.data_size_in = p->len;
		t.data_out = out;
		t.data_size_out = sizeof(out);
		if (bpf_prog_test_run_opts(r.prog_fd, &t))
			die("BPF_PROG_TEST_RUN failed on packet %d (%u bytes): %s", idx, p->len,
			    strerror(errno));
		if (r.ev && !co->no_drain)
			events_consume(r.ev);
		if (r.qc)
			qcopies_consume(r.qc);
		if (r.cnt_fd >= 0) {
			read_counters(r.cnt_fd, after);
			for (j = 0; j < XSNI_CNT_MAX; j++)
				total[j] += after[j] - before[j];
		}
		if (co->json)
			print_packet_json(o, &r, idx, idx == 1, p->len, &t, out, ns, timing,
					  t.retval == XDP_TX || t.data_size_out != p->len ||
						  memcmp(out, p->data, p->len));
		else
			print_packet_text(o, &r, idx, p->len, &t, ns, timing);
	}
	if (co->json) {
		fprintf(o, "],\"count\":%d", n);
		if (co->repeat > 0)
			fprintf(o, ",\"repeat\":%d,\"mean_ns\":%.2f", co->repeat,
				n ? ns_sum / n : 0);
		if (r.cnt_fd >= 0) {
			fprintf(o, ",\"counters\":");
			print_counters(o, total, 1);
		}
		if (r.ev)
			fprintf(o, ",\"ring_lost\":%llu", (unsigned long long)events_lost(r.ev));
		if (r.qg)
			print_quic_counters(o, &r);
		fprintf(o, "}\n");
	} else {
		if (co->repeat > 0)
			fprintf(o, "mean %.2f ns per packet over %d packets x %d runs\n",
				n ? ns_sum / n : 0, n, co->repeat);
		if (r.cnt_fd >= 0) {
			fprintf(o, "counters:\n");
			print_counters(o, total, 0);
		}
	}
	unload(&r);
	unload(&tr);
	free_packets(pk, n);
	free(flow_ns);
	return 0;
}
