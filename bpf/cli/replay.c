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

#define REPLAY_RING  (1u << 20)
#define REPLAY_CHUNK 3000

struct replay {
	const struct cmd_opts *co;
	struct bpf_object *obj;
	int prog_fd, set_fd, cnt_fd;
	int is_sni_prog;
	struct xsni_settings s;
	struct events *ev;
	int nev;                        /* events of the current packet */
	struct xsni_event last;         /* and the last of them */
};

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

/* --repeat timing, two ways (--timing; auto takes "kernel" for a packet
 * that emits an event and "wall" for any other):
 *
 * kernel: the kernel's own figure. It is a whole number of ns per run, so
 *   it is coarse for a program of a few ns, but it leaves out the fixed
 *   cost of a call. A packet that emits an event runs in chunks that fit
 *   the channel (ev), drained in between, so every event takes the real,
 *   successful path and the buffer stays cache-sized, as with a daemon.
 * wall: the wall clock of N runs minus that of N/10, in one call each.
 *   The difference cancels the fixed cost of a call (about 1 ms here, most
 *   of it switching the kernel's XDP dispatcher to the program and back)
 *   and keeps fractions of a ns. Events beyond the buffer's size are lost
 *   (cheaper than a real event), so it suits packets that emit none. */
static double time_kernel(int prog_fd, struct bpf_test_run_opts *t, int idx, int repeat,
			  struct events *ev)
{
	int left = repeat;
	double tot = 0;

	while (left > 0) {
		int chunk = ev && left > REPLAY_CHUNK ? REPLAY_CHUNK : left;

		t->repeat = chunk;
		test_run_or_die(prog_fd, t, idx);
		tot += (double)t->duration * chunk;
		left -= chunk;
		if (ev)
			events_consume(ev);
	}
	return tot / repeat;
}

static double time_wall(int prog_fd, struct bpf_test_run_opts *t, int idx, int repeat)
{
	int n1 = repeat / 10;
	double t1, t2;

	if (n1 < 1)
		return time_kernel(prog_fd, t, idx, repeat, NULL);
	t->repeat = n1;
	t1 = mono_ns();
	test_run_or_die(prog_fd, t, idx);
	t1 = mono_ns() - t1;
	t->repeat = repeat;
	t2 = mono_ns();
	test_run_or_die(prog_fd, t, idx);
	t2 = mono_ns() - t2;
	if (t2 <= t1)   /* disturbed: fall back to the kernel's figure */
		return (double)t->duration;
	return (t2 - t1) / (repeat - n1);
}

static void set_dry(struct replay *r, int dry)
{
	__u32 zero = 0;

	if (dry)
		r->s.flags |= XSNI_SET_DRY;
	else
		r->s.flags &= ~XSNI_SET_DRY;
	bpf_map_update_elem(r->set_fd, &zero, &r->s, 0);
}

/* Time one packet (--repeat) with flow-state writes disabled, so the real
 * run that follows sees the same state. *how is "kernel" or "wall". */
static double time_packet(struct replay *r, const struct pcap_rd *pr, int idx, const char **how)
{
	const char *timing = r->co->timing;
	LIBBPF_OPTS(bpf_test_run_opts, tt);
	int emits = 0;
	double ns;

	if (r->is_sni_prog)
		set_dry(r, 1);
	tt.data_in = pr->buf;
	tt.data_size_in = pr->caplen;
	/* one untimed run: does this packet emit an event? */
	tt.repeat = 1;
	test_run_or_die(r->prog_fd, &tt, idx);
	if (r->ev && events_consume(r->ev) > 0)
		emits = 1;
	if (!strcmp(timing, "wall") || (!emits && strcmp(timing, "kernel"))) {
		ns = time_wall(r->prog_fd, &tt, idx, r->co->repeat);
		*how = "wall";
	} else {
		ns = time_kernel(r->prog_fd, &tt, idx, r->co->repeat, emits ? r->ev : NULL);
		*how = "kernel";
	}
	if (r->is_sni_prog) {
		set_dry(r, 0);
		events_consume(r->ev);
	}
	return ns;
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
			      double ns, const char *timing)
{
	fprintf(o, "%s{\"index\":%d,\"len\":%u,\"verdict\":\"%s\"", first ? "" : ",",
		idx, len, xdp_action_name(t->retval));
	if (ns >= 0)
		fprintf(o, ",\"ns\":%.2f,\"timing\":\"%s\"", ns, timing);
	if (t->retval == XDP_TX)
		fprintf(o, ",\"out_len\":%u", t->data_size_out);
	if (r->nev) {
		const struct xsni_event *e = &r->last;
		char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

		event_addrs(e, src, dst, sizeof(src));
		fprintf(o, ",\"sni\":");
		json_str(o, e->sni, e->sni_len);
		fprintf(o, ",\"event\":{\"verdict\":\"%s\",\"segments\":%u,\"ech\":%s,"
			"\"rst\":%s,\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,\"family\":%u}",
			verdict_name(e->verdict & 3), e->segments,
			e->ech ? "true" : "false", e->rst ? "true" : "false",
			src, e->sport, dst, e->dport, e->family);
	}
	if (t->retval == XDP_TX) {
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

		format_event(&r->last, line, sizeof(line));
		fprintf(o, "\t%s", line);
	}
	fprintf(o, "\n");
}

/* The replay's own settings, blocklist and exemption in the fresh maps. 0 or 1. */
static int setup_maps(struct replay *r)
{
	const struct cmd_opts *co = r->co;
	struct bpf_object *obj = r->obj;
	__u32 zero = 0;

	r->set_fd = obj_map_fd(obj, XSNI_MAP_SETTINGS);
	r->cnt_fd = obj_map_fd(obj, XSNI_MAP_COUNTERS);
	default_settings(&r->s);
	r->s.flags = XSNI_SET_LOG_ALL;
	if (co->rst == 1)
		r->s.flags |= XSNI_SET_RST;
	if (co->mode)
		r->s.mode = !strcmp(co->mode, "monitor") ? XSNI_MODE_MONITOR : XSNI_MODE_BLOCK;
	if (co->ports && parse_ports(co->ports, r->s.ports))
		die("bad --ports %s", co->ports);
	if (bpf_map_update_elem(r->set_fd, &zero, &r->s, 0))
		die("cannot write settings");
	if (co->blocklist) {
		struct parsed p = {};

		if (parse_list_file(co->blocklist, co->subdomains, &p))
			return 1;
		if (p.bad && !co->skip_bad) {
			warn("%d bad line(s) in %s", p.bad, co->blocklist);
			return 1;
		}
		map_put_domains(obj_map_fd(obj, XSNI_MAP_DOMAINS), &p.dl);
		dl_free(&p.dl);
	}
	if (co->exempt) {
		struct prefix px;

		if (parse_prefix(co->exempt, &px))
			die("bad --exempt %s", co->exempt);
		map_exempt(obj_map_fd(obj, XSNI_MAP_EXEMPT4), obj_map_fd(obj, XSNI_MAP_EXEMPT6), &px, 1);
	}
	r->ev = events_open(obj_map_fd(obj, XSNI_MAP_EVENTS), on_event, r);
	if (!r->ev)
		die("cannot open ring buffer");
	return 0;
}

/* Open and load the object (--obj may be any XDP program). 0 or 1. */
static int load(struct replay *r)
{
	const struct cmd_opts *co = r->co;
	const char *file = obj_path();
	struct bpf_map *ev;

	r->set_fd = r->cnt_fd = -1;
	r->obj = bpf_object__open_file(file, NULL);
	if (!r->obj)
		die("cannot open %s: %s", file, strerror(errno));
	r->is_sni_prog = bpf_object__find_map_by_name(r->obj, XSNI_MAP_SETTINGS) != NULL;
	if (r->is_sni_prog) {
		ev = bpf_object__find_map_by_name(r->obj, XSNI_MAP_EVENTS);
		/* with --repeat every timed run emits an event; the timed runs are
		 * done in chunks that fit 1 MB of events, drained in between,
		 * so every event takes the real (successful) path and the buffer
		 * stays cache-sized, as it does with a daemon reading it */
		if (co->repeat > 0)
			events_set_size(ev, REPLAY_RING);
		/* --no-drain: the smallest buffer, never read, to show that a
		 * full one loses events, not verdicts */
		if (co->no_drain)
			events_set_size(ev, getpagesize());
		/* the current blocklist, unless one was given */
		if (!co->blocklist) {
			int dfd = pinned_fd(XSNI_MAP_DOMAINS);

			if (dfd >= 0 && bpf_map__reuse_fd(bpf_object__find_map_by_name(r->obj,
						XSNI_MAP_DOMAINS), dfd))
				die("cannot reuse the pinned domain map");
		}
	}
	if (bpf_object__load(r->obj))
		die("cannot load %s (verifier log above)", file);
	r->prog_fd = bpf_program__fd(bpf_object__next_program(r->obj, NULL));
	return r->is_sni_prog ? setup_maps(r) : 0;
}

int cmd_replay(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct replay r = { .co = co };
	struct pcap_rd pr;
	__u64 before[XSNI_CNT_MAX], after[XSNI_CNT_MAX], total[XSNI_CNT_MAX] = {};
	unsigned char out[65536 + 4096];
	double ns_sum = 0;
	int idx = 0, rc, j;

	if (co->mode && strcmp(co->mode, "monitor") && strcmp(co->mode, "block"))
		die("bad --mode %s", co->mode);
	if (argc != 1)
		return CMD_USAGE;
	if (strcmp(co->timing, "auto") && strcmp(co->timing, "kernel") && strcmp(co->timing, "wall")) {
		warn("--timing must be auto, kernel or wall, not \"%s\"", co->timing);
		return 2;
	}
	if (pcap_rd_open(&pr, argv[0]))
		return 1;
	if (pr.linktype != 1) {
		warn("%s: link type %u, need Ethernet (1)", argv[0], pr.linktype);
		return 1;
	}
	if (load(&r))
		return 1;

	if (co->json) {
		fprintf(o, "{\"file\":");
		json_str(o, argv[0], strlen(argv[0]));
		fprintf(o, ",\"packets\":[");
	}
	while ((rc = pcap_rd_next(&pr)) == 1) {
		LIBBPF_OPTS(bpf_test_run_opts, t);
		double ns = -1;
		const char *timing = "";

		idx++;
		if (co->repeat > 0) {
			ns = time_packet(&r, &pr, idx, &timing);
			ns_sum += ns;
		}
		r.nev = 0;
		if (r.cnt_fd >= 0)
			read_counters(r.cnt_fd, before);
		t.data_in = pr.buf;
		t.data_size_in = pr.caplen;
		t.data_out = out;
		t.data_size_out = sizeof(out);
		if (bpf_prog_test_run_opts(r.prog_fd, &t))
			die("BPF_PROG_TEST_RUN failed on packet %d (%u bytes): %s", idx,
			    pr.caplen, strerror(errno));
		if (r.ev && !co->no_drain)
			events_consume(r.ev);
		if (r.cnt_fd >= 0) {
			read_counters(r.cnt_fd, after);
			for (j = 0; j < XSNI_CNT_MAX; j++)
				total[j] += after[j] - before[j];
		}
		if (co->json)
			print_packet_json(o, &r, idx, idx == 1, pr.caplen, &t, out, ns, timing);
		else
			print_packet_text(o, &r, idx, pr.caplen, &t, ns, timing);
	}
	if (rc == -1)
		warn("%s: truncated or corrupt pcap", argv[0]);
	if (co->json) {
		fprintf(o, "],\"count\":%d", idx);
		if (co->repeat > 0)
			fprintf(o, ",\"repeat\":%d,\"mean_ns\":%.2f", co->repeat, idx ? ns_sum / idx : 0);
		if (r.cnt_fd >= 0) {
			fprintf(o, ",\"counters\":");
			print_counters(o, total, 1);
		}
		fprintf(o, "}\n");
	} else {
		if (co->repeat > 0)
			fprintf(o, "mean %.2f ns per packet over %d packets x %d runs\n",
				idx ? ns_sum / idx : 0, idx, co->repeat);
		if (r.cnt_fd >= 0) {
			fprintf(o, "counters:\n");
			print_counters(o, total, 0);
		}
	}
	events_close(r.ev);
	bpf_object__close(r.obj);
	pcap_rd_close(&pr);
	return 0;
}
