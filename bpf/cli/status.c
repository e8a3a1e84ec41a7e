// SPDX-License-Identifier: GPL-2.0
/* `stats` and `status`. */
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "attach.h"
#include "cli.h"
#include "maps.h"
#include "domtable.h"

/* QUIC=filter's counters, the program's (summed over CPUs) and the daemon's,
 * in the text output, when their maps are pinned */
static void print_quic_counters(FILE *o)
{
	static const char *cn[] = XSNI_QCOUNTER_NAMES, *sn[] = XSNI_QSTAT_NAMES;
	int fc = pinned_fd(XSNI_MAP_QCNT), fs = pinned_fd(XSNI_MAP_QSTAT), ncpu, i, j;
	struct xsni_qcounters *pc;
	struct xsni_qstats st = {};
	__u64 sum[XSNI_QC_MAX] = {};
	__u32 zero = 0;

	if (fc < 0 || fs < 0)
		goto out;
	ncpu = libbpf_num_possible_cpus();
	pc = calloc(ncpu > 0 ? ncpu : 1, sizeof(*pc));
	if (pc && !bpf_map_lookup_elem(fc, &zero, pc))
		for (i = 0; i < ncpu; i++)
			for (j = 0; j < XSNI_QC_MAX; j++)
				sum[j] += pc[i].c[j];
	free(pc);
	bpf_map_lookup_elem(fs, &zero, &st);
	for (j = 0; j < XSNI_QC_MAX; j++)
		fprintf(o, "%-16s %llu\n", cn[j], (unsigned long long)sum[j]);
	for (j = 0; j < XSNI_QS_MAX; j++)
		fprintf(o, "quic_daemon_%-12s %llu\n", sn[j], (unsigned long long)st.c[j]);
out:
	if (fc >= 0)
		close(fc);
	if (fs >= 0)
		close(fs);
}

int cmd_stats(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	__u64 c[XSNI_CNT_MAX];
	int fd = map_fd_or_die(XSNI_MAP_COUNTERS);

	read_counters(fd, c);
	print_counters(o, c, co->json);
	if (co->json)
		fprintf(o, "\n");
	else
		print_quic_counters(o);
	close(fd);
	return 0;
}

static void status_json(FILE *o, const struct xsni_settings *s, size_t ndom, const __u64 *c)
{
	fprintf(o,
		"{\"loaded\":true,\"pin_dir\":\"%s\",\"mode\":\"%s\",\"rst\":%s,"
		"\"log\":\"%s\",\"unreadable\":\"%s\",\"ports\":\"",
		g.pin_dir, s->mode == XSNI_MODE_BLOCK ? "block" : "monitor",
		s->flags & XSNI_SET_RST ? "true" : "false",
		s->flags & XSNI_SET_LOG_ALL ? "all" : "listed",
		s->flags & XSNI_SET_UNREADABLE ? "block" : "pass");
	print_ports(o, s);
	fprintf(o, "\",\"domains\":%zu,\"attached\":[", ndom);
	attached_ifaces(o, 1);
	fprintf(o, "],");
	if (g.daemon_since)
		fprintf(o, "\"daemon_since\":%lld,", g.daemon_since);
	fprintf(o, "\"counters\":");
	print_counters(o, c, 1);
	fprintf(o, "}\n");
}

static void status_text(FILE *o, const struct xsni_settings *s, size_t ndom, const __u64 *c)
{
	fprintf(o, "pin dir          %s\n", g.pin_dir);
	fprintf(o, "mode             %s\n", s->mode == XSNI_MODE_BLOCK ? "block" : "monitor");
	fprintf(o, "rst              %s\n", s->flags & XSNI_SET_RST ? "on" : "off");
	fprintf(o, "log              %s\n", s->flags & XSNI_SET_LOG_ALL ? "all" : "listed");
	fprintf(o, "unreadable       %s\n", s->flags & XSNI_SET_UNREADABLE ? "block" : "pass");
	fprintf(o, "ports            ");
	print_ports(o, s);
	fprintf(o, "\ndomains          %zu\n", ndom);
	attached_ifaces(o, 0);
	if (g.daemon_since)
		fprintf(o, "daemon since     %lld\n", g.daemon_since);
	print_counters(o, c, 0);
}

int cmd_status(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct xsni_settings s;
	__u64 c[XSNI_CNT_MAX];
	int fd = pinned_fd(XSNI_MAP_SETTINGS), fdc;
	size_t ndom;

	if (fd < 0) {
		if (co->json)
			fprintf(o, "{\"loaded\":false,\"pin_dir\":\"%s\"}\n", g.pin_dir);
		else
			fprintf(o, "not loaded (no maps under %s)\n", g.pin_dir);
		return 3;
	}
	read_settings(fd, &s);
	fdc = map_fd_or_die(XSNI_MAP_COUNTERS);
	{
		struct domtable *dt = pinned_domtable();

		ndom = dt_count(dt);
		dt_close(dt);
	}
	read_counters(fdc, c);
	if (co->json)
		status_json(o, &s, ndom, c);
	else
		status_text(o, &s, ndom, c);
	close(fd);
	close(fdc);
	return 0;
}
