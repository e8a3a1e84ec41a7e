// SPDX-License-Identifier: GPL-2.0
/*
 * flood-gen - the flood benchmark's traffic generator (bench/flood.ts), not
 * shipped. Loads flood_gen.bpf.o and runs it with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES, so that the kernel transmits every frame the
 * program redirects (to --dev), as fast as it can, from one thread per CPU
 * for --seconds. Prints one JSON line: frames built, wall time, calls.
 *
 *   flood-gen --obj flood_gen.bpf.o --dev IFACE --frame HEX --seconds S
 *             [--cpus 0,1] [--batch N] [--repeat N]
 *   flood-gen --obj flood_gen.bpf.o --dev IFACE --frame HEX --dump N
 *       (no live frames: print the first N frames the program makes, hex)
 *
 * The frame must be Ethernet / IPv4 (no options) / TCP. Run it inside the
 * generator's network namespace (ifindex and redirect are per namespace).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

#define MAX_CPUS 64

static volatile sig_atomic_t stop;
static unsigned char frame[2048];
static size_t frame_len;
static int prog_fd;
static double deadline;
static unsigned int batch = 64, repeat = 1 << 16;

struct worker {
	pthread_t t;
	int cpu;
	unsigned long calls;
	int err;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "flood-gen: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static int parse_hex(const char *s)
{
	size_t n = strlen(s), i;

	if (n % 2 || n / 2 > sizeof(frame))
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		frame[i] = b;
	}
	frame_len = n / 2;
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		w->err = EINVAL;
		return NULL;
	}
	/* bounded: stops at the deadline, on a signal, or on an error */
	for (i = 0; !stop && now() < deadline && i < 1000000; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o,
			    .data_in = frame,
			    .data_size_in = frame_len,
			    .repeat = repeat,
			    .batch_size = batch,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			if (errno != EINTR)
				w->err = errno;
			break;
		}
		w->calls++;
	}
	return NULL;
}

static __u64 count_sum(int map_fd)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u64 v[MAX_CPUS * 4] = { 0 }, sum = 0;
	__u32 zero = 0;

	if (ncpu <= 0 || ncpu > MAX_CPUS * 4 || bpf_map_lookup_elem(map_fd, &zero, v))
		return 0;
	for (i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

int main(int argc, char **argv)
{
	const char *objpath = NULL, *dev = NULL, *hex = NULL, *cpus = NULL;
	static struct option lo[] = {
		{ "obj", required_argument, NULL, 'o' },
		{ "dev", required_argument, NULL, 'd' },
		{ "frame", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 's' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "dump", required_argument, NULL, 'D' },
		{ 0 }
	};
	struct worker w[MAX_CPUS];
	int nw = 0, dump = 0, c, i, err = 0, map_fd;
	double seconds = 1, t0, t1;
	unsigned long calls = 0;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *ro;
	unsigned int ifindex;
	__u64 before, after;
	size_t rosz;
	char *rodata;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': objpath = optarg; break;
		case 'd': dev = optarg; break;
		case 'f': hex = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'c': cpus = optarg; break;
		case 'b': batch = atoi(optarg); break;
		case 'r': repeat = atoi(optarg); break;
		case 'D': dump = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!objpath || !dev || !hex)
		die("%s", "usage: flood-gen --obj OBJ --dev IFACE --frame HEX (--seconds S [--cpus LIST] | --dump N)");
	if (seconds <= 0 || seconds > 600)
		die("%s", "--seconds must be in (0, 600]");
	if (batch < 1 || batch > 256 || repeat < 1 || dump < 0 || dump > 16)
		die("%s", "bad --batch (1..256), --repeat or --dump (0..16)");
	if (parse_hex(hex) || frame_len < 54 || frame[12] != 0x08 || frame[13] != 0 ||
	    frame[14] != 0x45 || frame[23] != 6)
		die("%s", "--frame must be hex of an Ethernet/IPv4 (no options)/TCP frame");
	ifindex = if_nametoindex(dev);
	if (!ifindex)
		die("no such interface %s", dev);

	obj = bpf_object__open_file(objpath, NULL);
	if (libbpf_get_error(obj))
		die("cannot open %s", objpath);
	ro = NULL;
	bpf_object__for_each_map(ro, obj)
		if (strstr(bpf_map__name(ro), ".rodata"))
			break;
	rodata = ro ? (char *)bpf_map__initial_value(ro, &rosz) : NULL;
	if (!rodata || rosz < 12)
		die("%s: no .rodata", objpath);
	/* the layout of flood_gen.bpf.c's cfg */
	{
		struct { __u32 ifindex; __u16 ip, tcp, saddr_lo, sport; } cfg = {
			.ifindex = ifindex,
		};
		memcpy(&cfg.ip, frame + 24, 2);
		memcpy(&cfg.tcp, frame + 34 + 16, 2);
		memcpy(&cfg.saddr_lo, frame + 28, 2);
		memcpy(&cfg.sport, frame + 34, 2);
		memcpy(rodata, &cfg, sizeof(cfg) < rosz ? sizeof(cfg) : rosz);
	}
	if (bpf_object__load(obj))
		die("cannot load %s", objpath);
	prog = bpf_object__find_program_by_name(obj, "flood_gen");
	map_fd = bpf_object__find_map_fd_by_name(obj, "gen_count");
	if (!prog || map_fd < 0)
		die("%s: no flood_gen program or gen_count map", objpath);
	prog_fd = bpf_program__fd(prog);

	if (dump) {
		unsigned char out[2048];
		size_t j;

		for (i = 0; i < dump; i++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = frame_len,
				    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
			if (bpf_prog_test_run_opts(prog_fd, &o))
				die("test run failed: %s", strerror(errno));
			printf("%u ", o.retval);
			for (j = 0; j < o.data_size_out; j++)
				printf("%02x", out[j]);
			printf("\n");
		}
		return 0;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (cpus) {
		char *dup = strdup(cpus), *tok, *save = NULL;

		for (tok = strtok_r(dup, ",", &save); tok && nw < MAX_CPUS; tok = strtok_r(NULL, ",", &save))
			w[nw++] = (struct worker){ .cpu = atoi(tok) };
		free(dup);
	} else {
		cpu_set_t set;

		sched_getaffinity(0, sizeof(set), &set);
		for (i = 0; i < CPU_SETSIZE && nw < MAX_CPUS; i++)
			if (CPU_ISSET(i, &set))
				w[nw++] = (struct worker){ .cpu = i };
	}
	before = count_sum(map_fd);
	t0 = now();
	deadline = t0 + seconds;
	for (i = 0; i < nw; i++)
		if (pthread_create(&w[i].t, NULL, run, &w[i]))
			die("%s", "pthread_create failed");
	for (i = 0; i < nw; i++) {
		pthread_join(w[i].t, NULL);
		calls += w[i].calls;
		if (w[i].err)
			err = w[i].err;
	}
	t1 = now();
	after = count_sum(map_fd);
	printf("{\"frames\":%llu,\"seconds\":%.6f,\"threads\":%d,\"calls\":%lu,\"interrupted\":%s,\"error\":\"%s\"}\n",
	       (unsigned long long)(after - before), t1 - t0, nw, calls, stop ? "true" : "false",
	       err ? strerror(err) : "");
	bpf_object__close(obj);
	return err ? 1 : 0;
}
