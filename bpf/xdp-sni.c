// SPDX-License-Identifier: GPL-2.0
/*
 * xdp-sni - control tool for the xdp_sni XDP program (libbpf + libxdp).
 * See xdp-sni.8 or `xdp-sni help`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xdp_sni.h"

#define BPF_FS_MAGIC_ 0xcafe4a11
#define DEFAULT_PIN_DIR   "/sys/fs/bpf/xdp-sni"
#define DEFAULT_STATE_DIR "/var/lib/xdp-sni"
#define DEFAULT_SOCKET    "/run/xdp-sni.sock"
#define DEFAULT_SYSLOG    "/dev/log"

static const char *counter_names[] = XSNI_COUNTER_NAMES;
static const char *verdict_names[] = XSNI_VERDICT_NAMES;

/* ---- global options ------------------------------------------------- */
static struct {
	char pin_dir[PATH_MAX];
	char state_dir[PATH_MAX];
	char obj[PATH_MAX];
	char socket[PATH_MAX];
	char syslog[PATH_MAX];
	char dev[IF_NAMESIZE];
	char blocklist[PATH_MAX];
	char mode[16];
	int subdomains;
	int json;
	int repeat;
	int rst;            /* -1 unset */
	int skip_bad;
	int verbose;
	char ports[256];
	char exempt[64];
	int no_drain;
	char timing[16];    /* --repeat: auto, kernel or wall */
} opt;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xdp-sni: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !opt.verbose)
		return 0;
	/* libxdp's own objects carry an xdp_metadata section libbpf 1.1 skips */
	if (!opt.verbose && strstr(fmt, "skipping unrecognized data section"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* ---- domain names --------------------------------------------------- */
static __u64 domain_hash(const char *name, size_t len)
{
	__u64 h = XSNI_HASH_INIT;

	while (len--)
		h = XSNI_HASH_STEP(h, name[len]);
	return h;
}

/* Validate and normalise a domain. "*.example.com" sets *subdomains.
 * Returns 0, or -1 with a message in err. */
static int normalise_domain(const char *in, char *out, int *subdomains,
			    char *err, size_t errlen)
{
	size_t len = strlen(in), i, lab = 0;

	if (len >= 2 && in[0] == '*' && in[1] == '.') {
		in += 2;
		len -= 2;
		if (subdomains)
			*subdomains = 1;
	}
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0) {
		snprintf(err, errlen, "empty domain name");
		return -1;
	}
	if (len > XSNI_NAME_MAX) {
		snprintf(err, errlen, "name is %zu bytes long, the limit is %d",
			 len, XSNI_NAME_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = in[i];

		if (c >= 0x80) {
			snprintf(err, errlen, "non-ASCII character at byte %zu: "
				 "give internationalised names as punycode (xn--...)", i + 1);
			return -1;
		}
		if (c == '.') {
			if (lab == 0) {
				snprintf(err, errlen, "empty label at byte %zu", i + 1);
				return -1;
			}
			if (out[i - 1] == '-') {
				snprintf(err, errlen, "label ends with '-' at byte %zu", i);
				return -1;
			}
			lab = 0;
			out[i] = '.';
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_')) {
			snprintf(err, errlen, "invalid character '%c' at byte %zu "
				 "(allowed: letters, digits, '-', '_', '.')",
				 isprint(c) ? c : '?', i + 1);
			return -1;
		}
		if (c == '-' && lab == 0) {
			snprintf(err, errlen, "label starts with '-' at byte %zu", i + 1);
			return -1;
		}
		if (++lab > 63) {
			snprintf(err, errlen, "label longer than 63 bytes at byte %zu", i + 1);
			return -1;
		}
		out[i] = tolower(c);
	}
	if (out[len - 1] == '-') {
		snprintf(err, errlen, "label ends with '-'");
		return -1;
	}
	out[len] = 0;
	/* a punycode label must have something after the prefix */
	for (i = 0; i < len; i += 0) {
		const char *dot = memchr(out + i, '.', len - i);
		size_t l = dot ? (size_t)(dot - (out + i)) : len - i;

		if (l >= 4 && !strncmp(out + i, "xn--", 4) && l == 4) {
			snprintf(err, errlen, "empty punycode label");
			return -1;
		}
		i += l + 1;
	}
	return 0;
}

/* ---- in-memory domain list (also the state file) ---------------------- */
struct dom {
	__u64 h;
	__u32 flags;
	char *name;
};

struct domlist {
	struct dom *v;
	size_t n, cap;
	size_t *idx;     /* open addressing: index+1, 0 = empty */
	size_t idx_cap;
};

static void dl_reindex(struct domlist *dl, size_t cap)
{
	size_t i;

	free(dl->idx);
	dl->idx_cap = cap;
	dl->idx = calloc(cap, sizeof(size_t));
	if (!dl->idx)
		die("out of memory");
	for (i = 0; i < dl->n; i++) {
		size_t j = dl->v[i].h & (cap - 1);

		if (!dl->v[i].name)
			continue;
		while (dl->idx[j])
			j = (j + 1) & (cap - 1);
		dl->idx[j] = i + 1;
	}
}

static struct dom *dl_find(struct domlist *dl, __u64 h)
{
	size_t j;

	if (!dl->idx_cap)
		return NULL;
	j = h & (dl->idx_cap - 1);
	while (dl->idx[j]) {
		struct dom *d = &dl->v[dl->idx[j] - 1];

		if (d->h == h && d->name)
			return d;
		j = (j + 1) & (dl->idx_cap - 1);
	}
	return NULL;
}

/* returns the entry; *added tells whether it is new */
static struct dom *dl_add(struct domlist *dl, const char *name, __u32 flags, int *added)
{
	__u64 h = domain_hash(name, strlen(name));
	struct dom *d = dl_find(dl, h);
	size_t j;

	if (added)
		*added = !d;
	if (d) {
		d->flags |= flags;
		return d;
	}
	if (dl->n == dl->cap) {
		dl->cap = dl->cap ? dl->cap * 2 : 1024;
		dl->v = realloc(dl->v, dl->cap * sizeof(*dl->v));
		if (!dl->v)
			die("out of memory");
	}
	if ((dl->n + 1) * 2 > dl->idx_cap)
		dl_reindex(dl, dl->idx_cap ? dl->idx_cap * 2 : 2048);
	d = &dl->v[dl->n];
	d->h = h;
	d->flags = flags;
	d->name = strdup(name);
	j = h & (dl->idx_cap - 1);
	while (dl->idx[j])
		j = (j + 1) & (dl->idx_cap - 1);
	dl->idx[j] = ++dl->n;
	return d;
}

static void state_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/domains.list", opt.state_dir);
}

static void dl_load_state(struct domlist *dl)
{
	char path[PATH_MAX], line[512];
	FILE *f;

	state_path(path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t');
		__u32 flags = XSNI_DOM_EXACT;

		line[strcspn(line, "\n")] = 0;
		if (tab) {
			*tab++ = 0;
			flags = 0;
			if (strstr(tab, "exact"))
				flags |= XSNI_DOM_EXACT;
			if (strstr(tab, "subdomains"))
				flags |= XSNI_DOM_SUBDOMAINS;
		}
		if (line[0])
			dl_add(dl, line, flags, NULL);
	}
	fclose(f);
}

static const char *flags_str(__u32 f)
{
	switch (f & 3) {
	case XSNI_DOM_EXACT: return "exact";
	case XSNI_DOM_SUBDOMAINS: return "subdomains";
	case 3: return "exact,subdomains";
	}
	return "none";
}

static void dl_save_state(struct domlist *dl)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t i;
	FILE *f;

	if (mkdir(opt.state_dir, 0755) && errno != EEXIST)
		die("cannot create state directory %s: %s", opt.state_dir, strerror(errno));
	state_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	for (i = 0; i < dl->n; i++)
		if (dl->v[i].name)
			fprintf(f, "%s\t%s\n", dl->v[i].name, flags_str(dl->v[i].flags));
	if (fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

/* ---- list files (plain or hosts format) ------------------------------- */
struct parsed {
	struct domlist dl;
	int bad;
};

static int is_ip_token(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int skip_hosts_name(const char *s)
{
	static const char *skip[] = { "localhost", "localhost.localdomain", "local",
		"broadcasthost", "ip6-localhost", "ip6-loopback", "ip6-localnet",
		"ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "ip6-allhosts",
		"0.0.0.0", NULL };
	int i;

	for (i = 0; skip[i]; i++)
		if (!strcmp(s, skip[i]))
			return 1;
	return 0;
}

/* Parse FILE into p->dl. Every bad line is reported as FILE:LINE. */
static int parse_list_file(const char *file, int subdomains, struct parsed *p)
{
	char *line = NULL, err[160], name[XSNI_NAME_MAX + 2];
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;

	if (!f) {
		fprintf(stderr, "xdp-sni: cannot open %s: %s\n", file, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *tok, *save = NULL;
		int first = 1, hosts = 0, ntok = 0;

		lineno++;
		s[strcspn(s, "#\r\n")] = 0;
		{
			char *toks[64];
			int nt = 0, k, line_sub = subdomains;

			for (tok = strtok_r(s, " \t", &save); tok && nt < 64; tok = strtok_r(NULL, " \t", &save))
				toks[nt++] = tok;
			if (nt == 0)
				continue;
			hosts = is_ip_token(toks[0]);
			if (!hosts && nt == 2 && !strcmp(toks[1], "subdomains")) {
				line_sub = 1;
				nt = 1;
			}
			if (!hosts && nt > 1) {
				fprintf(stderr, "%s:%ld: unexpected text '%s' after the name "
					"(expected 'NAME', 'NAME subdomains' or 'IP NAME...')\n",
					file, lineno, toks[1]);
				p->bad++;
				continue;
			}
			for (k = hosts ? 1 : 0; k < nt; k++) {
				int sub = line_sub;

				tok = toks[k];
				if (hosts && skip_hosts_name(tok))
					continue;
				if (strlen(tok) > XSNI_NAME_MAX + 3 ||
				    normalise_domain(tok, name, &sub, err, sizeof(err))) {
					if (strlen(tok) > XSNI_NAME_MAX + 3)
						snprintf(err, sizeof(err), "name longer than %d bytes",
							 XSNI_NAME_MAX);
					fprintf(stderr, "%s:%ld: bad domain '%.60s%s': %s\n", file,
						lineno, tok, strlen(tok) > 60 ? "..." : "", err);
					p->bad++;
					continue;
				}
				dl_add(&p->dl, name, sub ? XSNI_DOM_SUBDOMAINS : XSNI_DOM_EXACT, NULL);
			}
			(void)first;
			(void)ntok;
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return 0;
}

/* ---- bpffs / pinned maps ---------------------------------------------- */
static int is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && (unsigned long)st.f_type == BPF_FS_MAGIC_;
}

static void ensure_bpffs(void)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", opt.pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	if (is_bpffs(parent) || is_bpffs(opt.pin_dir))
		return;
	if (!strcmp(parent, "/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			die("cannot mount bpffs on /sys/fs/bpf: %s", strerror(errno));
		return;
	}
	die("%s is not on a BPF filesystem (mount -t bpf bpf DIR)", parent);
}

static int pinned_fd(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, name);
	return bpf_obj_get(path);
}

static const char *maps_to_pin[] = {
	XSNI_MAP_SETTINGS, XSNI_MAP_DOMAINS, XSNI_MAP_EXEMPT4, XSNI_MAP_EXEMPT6,
	XSNI_MAP_COUNTERS, XSNI_MAP_FLOWS, XSNI_MAP_EVENTS, NULL,
};

static void find_obj(void)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (opt.obj[0])
		return;
	if (getenv("XDP_SNI_OBJ")) {
		snprintf(opt.obj, sizeof(opt.obj), "%s", getenv("XDP_SNI_OBJ"));
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(opt.obj, sizeof(opt.obj), "%s/xdp_sni.bpf.o", exe);
		if (!access(opt.obj, R_OK))
			return;
	}
	snprintf(opt.obj, sizeof(opt.obj), "/usr/lib/xdp-sni/xdp_sni.bpf.o");
}

static void default_settings(struct xsni_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = XSNI_MODE_BLOCK;
	s->flags = XSNI_SET_RST;
	s->ports[443 >> 3] |= 1 << (443 & 7);
}

/* Open the object and point every shared map at the pin directory. */
static struct bpf_object *open_obj_pinned(void)
{
	struct bpf_object *obj;
	char path[PATH_MAX];
	int i;

	find_obj();
	obj = bpf_object__open_file(opt.obj, NULL);
	if (!obj)
		die("cannot open %s: %s", opt.obj, strerror(errno));
	for (i = 0; maps_to_pin[i]; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, maps_to_pin[i]);

		if (!m)
			die("%s has no map %s", opt.obj, maps_to_pin[i]);
		snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, maps_to_pin[i]);
		if (bpf_map__set_pin_path(m, path))
			die("cannot set pin path %s", path);
	}
	return obj;
}

/* Make sure the pinned maps exist: create them (with default settings) by
 * loading the object once if needed. */
static void map_put_domains(int fd, struct domlist *dl);

/* Create and pin the maps when they are not pinned yet (first start, after a
 * reboot, or after the package was removed and installed again). A new
 * domain map is filled from the state file, so the blocklist survives all
 * three. */
static void ensure_maps(void)
{
	struct domlist dl = {};
	struct bpf_object *obj;
	struct xsni_settings s;
	int fd, created = 0;
	__u32 zero = 0;

	ensure_bpffs();
	fd = pinned_fd(XSNI_MAP_SETTINGS);
	if (fd >= 0) {
		close(fd);
		return;
	}
	if (mkdir(opt.pin_dir, 0700) && errno != EEXIST)
		die("cannot create %s: %s", opt.pin_dir, strerror(errno));
	obj = open_obj_pinned();
	if (bpf_object__load(obj))
		die("cannot load %s (see the verifier log above)", opt.obj);
	created = 1;
	fd = bpf_map__fd(bpf_object__find_map_by_name(obj, XSNI_MAP_SETTINGS));
	default_settings(&s);
	if (created && bpf_map_update_elem(fd, &zero, &s, 0))
		die("cannot write settings: %s", strerror(errno));
	dl_load_state(&dl);
	if (dl.n)
		map_put_domains(bpf_map__fd(bpf_object__find_map_by_name(obj, XSNI_MAP_DOMAINS)), &dl);
	bpf_object__close(obj);
}

static int map_fd_or_die(const char *name)
{
	int fd = pinned_fd(name);

	if (fd < 0)
		die("map %s not found under %s (run `xdp-sni attach` or `xdp-sni init` first): %s",
		    name, opt.pin_dir, strerror(errno));
	return fd;
}

static void read_settings(int fd, struct xsni_settings *s)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, s))
		die("cannot read settings: %s", strerror(errno));
}

/* ---- counters --------------------------------------------------------- */
static void read_counters(int fd, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), i, j;
	struct xsni_counters *pc = calloc(ncpu, sizeof(*pc));
	__u32 zero = 0;

	memset(out, 0, sizeof(__u64) * XSNI_CNT_MAX);
	if (!pc || bpf_map_lookup_elem(fd, &zero, pc))
		die("cannot read counters: %s", strerror(errno));
	for (i = 0; i < ncpu; i++)
		for (j = 0; j < XSNI_CNT_MAX; j++)
			out[j] += pc[i].c[j];
	free(pc);
}

static void print_counters(FILE *o, const __u64 *c, int json)
{
	int j;

	if (json) {
		fprintf(o, "{");
		for (j = 0; j < XSNI_CNT_MAX; j++)
			fprintf(o, "%s\"%s\":%llu", j ? "," : "", counter_names[j],
				(unsigned long long)c[j]);
		fprintf(o, "}");
		return;
	}
	for (j = 0; j < XSNI_CNT_MAX; j++)
		fprintf(o, "%-16s %llu\n", counter_names[j], (unsigned long long)c[j]);
}

/* ---- domain map updates ----------------------------------------------- */
static void map_put_domains(int fd, struct domlist *dl)
{
	size_t i, chunk = 8192, n = 0;
	__u64 *keys = malloc(chunk * sizeof(__u64));
	struct xsni_domain *vals = malloc(chunk * sizeof(*vals));

	for (i = 0; i <= dl->n; i++) {
		if (i < dl->n && dl->v[i].name) {
			keys[n] = dl->v[i].h;
			vals[n].flags = dl->v[i].flags;
			vals[n].reserved = 0;
			n++;
		}
		if (n == chunk || (i == dl->n && n)) {
			__u32 cnt = n;

			if (bpf_map_update_batch(fd, keys, vals, &cnt, NULL)) {
				size_t k;

				/* older kernels: one by one */
				for (k = 0; k < n; k++)
					if (bpf_map_update_elem(fd, &keys[k], &vals[k], 0))
						die("cannot update domain map: %s", strerror(errno));
			}
			n = 0;
		}
	}
	free(keys);
	free(vals);
}

/* ---- commands: domains ------------------------------------------------ */
static int cmd_add(int argc, char **argv, FILE *o)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	struct xsni_domain v = {};
	struct dom *d;
	int sub = opt.subdomains, fd, i;

	if (argc < 1) {
		fprintf(stderr, "usage: xdp-sni add DOMAIN... [--subdomains]\n");
		return 2;
	}
	/* validate everything first: a bad entry changes nothing */
	for (i = 0; i < argc; i++) {
		if (strlen(argv[i]) > XSNI_NAME_MAX + 3) {
			fprintf(stderr, "xdp-sni: bad domain '%.40s...': longer than %d bytes\n",
				argv[i], XSNI_NAME_MAX);
			return 1;
		}
		if (normalise_domain(argv[i], name, &sub, err, sizeof(err))) {
			fprintf(stderr, "xdp-sni: bad domain '%s': %s\n", argv[i], err);
			return 1;
		}
	}
	ensure_maps();
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dl_load_state(&dl);
	for (i = 0; i < argc; i++) {
		sub = opt.subdomains;
		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		d = dl_add(&dl, name, sub ? XSNI_DOM_SUBDOMAINS : XSNI_DOM_EXACT, NULL);
		v.flags = d->flags;
		if (bpf_map_update_elem(fd, &d->h, &v, 0))
			die("cannot update domain map: %s", strerror(errno));
		fprintf(o, "added %s (%s)\n", name, flags_str(d->flags));
	}
	dl_save_state(&dl);
	close(fd);
	return 0;
}

static int cmd_del(int argc, char **argv, FILE *o)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	int fd, i, sub = 0, rc = 0;

	if (argc < 1) {
		fprintf(stderr, "usage: xdp-sni del DOMAIN...\n");
		return 2;
	}
	for (i = 0; i < argc; i++)
		if (strlen(argv[i]) > XSNI_NAME_MAX + 3 ||
		    normalise_domain(argv[i], name, &sub, err, sizeof(err))) {
			fprintf(stderr, "xdp-sni: bad domain '%.60s': %s\n", argv[i], err);
			return 1;
		}
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dl_load_state(&dl);
	for (i = 0; i < argc; i++) {
		struct dom *d;
		__u64 h;

		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		h = domain_hash(name, strlen(name));
		d = dl_find(&dl, h);
		if (bpf_map_delete_elem(fd, &h) && !d) {
			fprintf(stderr, "xdp-sni: %s is not listed\n", name);
			rc = 1;
			continue;
		}
		if (d) {
			free(d->name);
			d->name = NULL;
		}
		fprintf(o, "deleted %s\n", name);
	}
	dl_save_state(&dl);
	close(fd);
	return rc;
}

static int cmd_list(FILE *o)
{
	struct domlist dl = {};
	struct xsni_domain v;
	size_t i;
	int fd = map_fd_or_die(XSNI_MAP_DOMAINS);

	dl_load_state(&dl);
	for (i = 0; i < dl.n; i++) {
		if (!dl.v[i].name)
			continue;
		if (bpf_map_lookup_elem(fd, &dl.v[i].h, &v))
			fprintf(o, "%s\t%s\t(not in the kernel map)\n", dl.v[i].name,
				flags_str(dl.v[i].flags));
		else
			fprintf(o, "%s\t%s\n", dl.v[i].name, flags_str(v.flags));
	}
	close(fd);
	return 0;
}

static size_t count_map_keys(int fd, size_t ksz)
{
	char key[64], next[64];
	size_t n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		n++;
	}
	return n;
}

static int cmd_import(int argc, char **argv, FILE *o)
{
	struct parsed p = {};
	struct domlist dl = {};
	struct timespec t0, t1;
	size_t i, added = 0;
	int fd;

	if (argc != 1) {
		fprintf(stderr, "usage: xdp-sni import FILE [--subdomains] [--skip-bad]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (parse_list_file(argv[0], opt.subdomains, &p))
		return 1;
	if (p.bad && !opt.skip_bad) {
		fprintf(stderr, "xdp-sni: %d bad line(s) in %s; nothing imported "
			"(use --skip-bad to import the valid names)\n", p.bad, argv[0]);
		return 1;
	}
	ensure_maps();
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dl_load_state(&dl);
	for (i = 0; i < p.dl.n; i++) {
		int is_new;
		struct dom *d = dl_add(&dl, p.dl.v[i].name, p.dl.v[i].flags, &is_new);

		p.dl.v[i].flags = d->flags;
		added += is_new;
	}
	map_put_domains(fd, &p.dl);
	dl_save_state(&dl);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(o, "imported %zu names (%zu new, %d bad lines skipped) in %.3f s\n",
		p.dl.n, added, p.bad,
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	close(fd);
	return 0;
}

/* ---- commands: settings ------------------------------------------------ */
static int update_settings(void (*fn)(struct xsni_settings *, void *), void *arg)
{
	struct xsni_settings s;
	__u32 zero = 0;
	int fd;

	ensure_maps();
	fd = map_fd_or_die(XSNI_MAP_SETTINGS);
	read_settings(fd, &s);
	fn(&s, arg);
	if (bpf_map_update_elem(fd, &zero, &s, 0))
		die("cannot write settings: %s", strerror(errno));
	close(fd);
	return 0;
}

static void set_mode_fn(struct xsni_settings *s, void *arg) { s->mode = *(int *)arg; }
/* Turn one flag of the settings on or off. */
struct flag_arg {
	__u32 flag;
	int on;
};

static void set_flag_fn(struct xsni_settings *s, void *arg)
{
	const struct flag_arg *f = arg;

	if (f->on)
		s->flags |= f->flag;
	else
		s->flags &= ~f->flag;
}

static int parse_ports(const char *spec, __u8 *bitmap)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	memset(bitmap, 0, 8192);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		long p = strtol(tok, &end, 10);

		if (*end || p < 1 || p > 65535)
			return -1;
		bitmap[p >> 3] |= 1 << (p & 7);
	}
	return 0;
}

static void set_ports_fn(struct xsni_settings *s, void *arg)
{
	memcpy(s->ports, arg, sizeof(s->ports));
}

static void print_ports(FILE *o, const struct xsni_settings *s)
{
	int p, first = 1;

	for (p = 1; p < 65536; p++)
		if (xsni_port_watched(s, p)) {
			fprintf(o, "%s%d", first ? "" : ",", p);
			first = 0;
		}
	if (first)
		fprintf(o, "none");
}

static int cmd_mode(int argc, char **argv, FILE *o)
{
	int m;

	if (argc != 1 || (strcmp(argv[0], "monitor") && strcmp(argv[0], "block"))) {
		fprintf(stderr, "usage: xdp-sni mode monitor|block\n");
		return 2;
	}
	m = !strcmp(argv[0], "block") ? XSNI_MODE_BLOCK : XSNI_MODE_MONITOR;
	update_settings(set_mode_fn, &m);
	fprintf(o, "mode %s\n", argv[0]);
	return 0;
}

/* "xdp-sni NAME ON|OFF": a settings flag with two spellings. */
static int cmd_flag(int argc, char **argv, FILE *o, const char *name, const char *on_word,
		    const char *off_word, __u32 flag)
{
	struct flag_arg f = { .flag = flag };

	if (argc != 1 || (strcmp(argv[0], on_word) && strcmp(argv[0], off_word))) {
		fprintf(stderr, "usage: xdp-sni %s %s|%s\n", name, on_word, off_word);
		return 2;
	}
	f.on = !strcmp(argv[0], on_word);
	update_settings(set_flag_fn, &f);
	fprintf(o, "%s %s\n", name, argv[0]);
	return 0;
}

static int cmd_ports(int argc, char **argv, FILE *o)
{
	__u8 bm[8192];
	struct xsni_settings s;
	int fd;

	if (argc == 1) {
		if (parse_ports(argv[0], bm)) {
			fprintf(stderr, "xdp-sni: bad port list '%s' (e.g. 443,8443)\n", argv[0]);
			return 1;
		}
		update_settings(set_ports_fn, bm);
	} else if (argc > 1) {
		fprintf(stderr, "usage: xdp-sni ports [PORT[,PORT...]]\n");
		return 2;
	}
	fd = map_fd_or_die(XSNI_MAP_SETTINGS);
	read_settings(fd, &s);
	fprintf(o, "ports ");
	print_ports(o, &s);
	fprintf(o, "\n");
	close(fd);
	return 0;
}

static int parse_prefix(const char *s, int *v6, __u8 *addr, __u32 *plen)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*v6 = 0;
		*plen = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*v6 = 1;
		*plen = 128;
	} else {
		return -1;
	}
	if (slash) {
		char *end;
		long l = strtol(slash, &end, 10);

		if (*end || l < 0 || l > (long)*plen)
			return -1;
		*plen = l;
	}
	return 0;
}

static int cmd_exempt(int argc, char **argv, FILE *o)
{
	int v6, fd4, fd6, add;
	__u8 addr[16] = {}, one = 1;
	__u32 plen;

	if (argc >= 1 && !strcmp(argv[0], "list")) {
		struct xsni_lpm4 k4, n4;
		struct xsni_lpm6 k6, n6;
		char s[INET6_ADDRSTRLEN];
		void *prev = NULL;

		fd4 = map_fd_or_die(XSNI_MAP_EXEMPT4);
		fd6 = map_fd_or_die(XSNI_MAP_EXEMPT6);
		while (!bpf_map_get_next_key(fd4, prev, &n4)) {
			k4 = n4;
			prev = &k4;
			fprintf(o, "%s/%u\n", inet_ntop(AF_INET, k4.addr, s, sizeof(s)), k4.prefixlen);
		}
		prev = NULL;
		while (!bpf_map_get_next_key(fd6, prev, &n6)) {
			k6 = n6;
			prev = &k6;
			fprintf(o, "%s/%u\n", inet_ntop(AF_INET6, k6.addr, s, sizeof(s)), k6.prefixlen);
		}
		return 0;
	}
	if (argc != 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "del"))) {
		fprintf(stderr, "usage: xdp-sni exempt add|del PREFIX | exempt list\n");
		return 2;
	}
	add = !strcmp(argv[0], "add");
	if (parse_prefix(argv[1], &v6, addr, &plen)) {
		fprintf(stderr, "xdp-sni: bad prefix '%s' (e.g. 192.0.2.0/24, 2001:db8::/32)\n", argv[1]);
		return 1;
	}
	ensure_maps();
	if (v6) {
		struct xsni_lpm6 k = { .prefixlen = plen };

		memcpy(k.addr, addr, 16);
		fd6 = map_fd_or_die(XSNI_MAP_EXEMPT6);
		if (add ? bpf_map_update_elem(fd6, &k, &one, 0) : bpf_map_delete_elem(fd6, &k))
			die("cannot %s %s: %s", argv[0], argv[1], strerror(errno));
	} else {
		struct xsni_lpm4 k = { .prefixlen = plen };

		memcpy(k.addr, addr, 4);
		fd4 = map_fd_or_die(XSNI_MAP_EXEMPT4);
		if (add ? bpf_map_update_elem(fd4, &k, &one, 0) : bpf_map_delete_elem(fd4, &k))
			die("cannot %s %s: %s", argv[0], argv[1], strerror(errno));
	}
	fprintf(o, "exempt %s %s\n", argv[0], argv[1]);
	return 0;
}

static int cmd_stats(FILE *o)
{
	__u64 c[XSNI_CNT_MAX];
	int fd = map_fd_or_die(XSNI_MAP_COUNTERS);

	read_counters(fd, c);
	print_counters(o, c, opt.json);
	if (opt.json)
		fprintf(o, "\n");
	close(fd);
	return 0;
}

/* The xdp_sni program among those attached through mp, or NULL. */
static struct xdp_program *find_sni_prog(struct xdp_multiprog *mp)
{
	struct xdp_program *p = NULL;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && !strcmp(xdp_program__name(p), XSNI_PROG_NAME) ? p : NULL;
	}
	while ((p = xdp_multiprog__next_prog(p, mp)))
		if (!strcmp(xdp_program__name(p), XSNI_PROG_NAME))
			return p;
	return NULL;
}

/* interfaces that run xdp_sni */
static void attached_ifaces(FILE *o, int json)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int first = 1;

	for (i = ifs; i && i->if_index; i++) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(i->if_index);
		struct xdp_program *p = NULL;
		const char *mode = "?";

		if (!mp || libxdp_get_error(mp))
			continue;
		switch (xdp_multiprog__attach_mode(mp)) {
		case XDP_MODE_NATIVE: mode = "native"; break;
		case XDP_MODE_SKB: mode = "generic"; break;
		case XDP_MODE_HW: mode = "hw"; break;
		default: break;
		}
		p = find_sni_prog(mp);
		if (p) {
			if (json)
				fprintf(o, "%s{\"dev\":\"%s\",\"mode\":\"%s\"}", first ? "" : ",",
					i->if_name, mode);
			else
				fprintf(o, "attached         %s (%s)\n", i->if_name, mode);
			first = 0;
		}
		xdp_multiprog__close(mp);
	}
	if (first && !json)
		fprintf(o, "attached         none\n");
	if (ifs)
		if_freenameindex(ifs);
}

static int cmd_status(FILE *o)
{
	struct xsni_settings s;
	__u64 c[XSNI_CNT_MAX];
	int fd = pinned_fd(XSNI_MAP_SETTINGS), fdd, fdc;
	size_t ndom;

	if (fd < 0) {
		if (opt.json)
			fprintf(o, "{\"loaded\":false,\"pin_dir\":\"%s\"}\n", opt.pin_dir);
		else
			fprintf(o, "not loaded (no maps under %s)\n", opt.pin_dir);
		return 3;
	}
	read_settings(fd, &s);
	fdd = map_fd_or_die(XSNI_MAP_DOMAINS);
	fdc = map_fd_or_die(XSNI_MAP_COUNTERS);
	ndom = count_map_keys(fdd, sizeof(__u64));
	read_counters(fdc, c);
	if (opt.json) {
		fprintf(o, "{\"loaded\":true,\"pin_dir\":\"%s\",\"mode\":\"%s\",\"rst\":%s,"
			"\"ports\":\"", opt.pin_dir,
			s.mode == XSNI_MODE_BLOCK ? "block" : "monitor",
			s.flags & XSNI_SET_RST ? "true" : "false");
		print_ports(o, &s);
		fprintf(o, "\",\"domains\":%zu,\"attached\":[", ndom);
		attached_ifaces(o, 1);
		fprintf(o, "],\"counters\":");
		print_counters(o, c, 1);
		fprintf(o, "}\n");
	} else {
		fprintf(o, "pin dir          %s\n", opt.pin_dir);
		fprintf(o, "mode             %s\n", s.mode == XSNI_MODE_BLOCK ? "block" : "monitor");
		fprintf(o, "rst              %s\n", s.flags & XSNI_SET_RST ? "on" : "off");
		fprintf(o, "log              %s\n", s.flags & XSNI_SET_LOG_ALL ? "all" : "listed");
		fprintf(o, "ports            ");
		print_ports(o, &s);
		fprintf(o, "\ndomains          %zu\n", ndom);
		attached_ifaces(o, 0);
		print_counters(o, c, 0);
	}
	close(fd);
	close(fdd);
	close(fdc);
	return 0;
}

/* ---- attach / detach --------------------------------------------------- */
static struct xdp_program *open_prog(void)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .prog_name = XSNI_PROG_NAME);
	struct xdp_program *prog;
	int err;

	xopts.obj = open_obj_pinned();
	prog = xdp_program__create(&xopts);
	err = libxdp_get_error(prog);
	if (err)
		die("cannot create XDP program from %s: %s", opt.obj, strerror(-err));
	return prog;
}

/*
 * Attach in one mode through libxdp's multi-program dispatcher, so that
 * xdp-sni coexists with other XDP programs. Some kernels (6.12 stable among
 * them) refuse a packet-modifying program (ours writes the RST) as an
 * extension of a dispatcher that does not modify packets; then attach it on
 * its own, and say so. *progp is re-opened after a failed try.
 */
static int attach_mode(struct xdp_program **progp, int ifindex, enum xdp_attach_mode m, FILE *o)
{
	int err = xdp_program__attach(*progp, ifindex, m, 0);

	if (!err || getenv("LIBXDP_SKIP_DISPATCHER"))
		return err;
	xdp_program__close(*progp);
	*progp = open_prog();
	fprintf(o, "the XDP dispatcher refused the program (%s); attaching it as the only XDP program on %s\n",
		strerror(-err), opt.dev);
	setenv("LIBXDP_SKIP_DISPATCHER", "1", 1);
	err = xdp_program__attach(*progp, ifindex, m, 0);
	if (err) {
		unsetenv("LIBXDP_SKIP_DISPATCHER");
		xdp_program__close(*progp);
		*progp = open_prog();
	}
	return err;
}

static int cmd_attach(FILE *o)
{
	struct xdp_program *prog;
	int ifindex, err;
	const char *mode = opt.mode[0] ? opt.mode : "auto";

	if (!opt.dev[0])
		die("attach needs --dev IFACE");
	ifindex = if_nametoindex(opt.dev);
	if (!ifindex)
		die("no such interface %s", opt.dev);
	if (strcmp(mode, "native") && strcmp(mode, "auto") && strcmp(mode, "generic") && strcmp(mode, "skb"))
		die("bad --mode %s (native|generic|auto)", mode);
	ensure_maps();
	prog = open_prog();
	if (!strcmp(mode, "native") || !strcmp(mode, "auto")) {
		err = attach_mode(&prog, ifindex, XDP_MODE_NATIVE, o);
		if (!err) {
			fprintf(o, "attached to %s in native mode\n", opt.dev);
			return 0;
		}
		if (!strcmp(mode, "native"))
			die("native attach to %s failed: %s", opt.dev, strerror(-err));
		fprintf(o, "native attach to %s failed (%s); falling back to generic mode\n",
			opt.dev, strerror(-err));
		/* the object may be half-loaded: start again */
		xdp_program__close(prog);
		prog = open_prog();
	}
	err = attach_mode(&prog, ifindex, XDP_MODE_SKB, o);
	if (err)
		die("generic attach to %s failed: %s", opt.dev, strerror(-err));
	fprintf(o, "attached to %s in generic mode\n", opt.dev);
	return 0;
}

static int cmd_detach(FILE *o)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	int ifindex, err;

	if (!opt.dev[0])
		die("detach needs --dev IFACE");
	ifindex = if_nametoindex(opt.dev);
	if (!ifindex)
		die("no such interface %s", opt.dev);
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		die("no XDP program on %s", opt.dev);
	p = find_sni_prog(mp);
	if (!p)
		die("xdp_sni is not attached to %s", opt.dev);
	err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err)
		die("detach from %s failed: %s", opt.dev, strerror(-err));
	fprintf(o, "detached from %s\n", opt.dev);
	xdp_multiprog__close(mp);
	return 0;
}

/* ---- events ------------------------------------------------------------ */
static void format_event(const struct xsni_event *e, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = e->family == 6 ? AF_INET6 : AF_INET;
	const void *sa = e->family == 6 ? e->saddr : e->saddr + 12;
	const void *da = e->family == 6 ? e->daddr : e->daddr + 12;
	const char *v = e->verdict < 4 ? verdict_names[e->verdict] : "?";

	inet_ntop(af, sa, s, sizeof(s));
	inet_ntop(af, da, d, sizeof(d));
	snprintf(buf, len, "sni=%.*s verdict=%s src=%s%s%s:%u dst=%s%s%s:%u segments=%u ech=%u rst=%u",
		 (int)(e->sni_len < XSNI_EVENT_NAME ? e->sni_len : XSNI_EVENT_NAME), e->sni, v,
		 af == AF_INET6 ? "[" : "", s, af == AF_INET6 ? "]" : "", e->sport,
		 af == AF_INET6 ? "[" : "", d, af == AF_INET6 ? "]" : "", e->dport,
		 e->segments, e->ech, e->rst);
}

static int syslog_fd = -1;

static void send_syslog(const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[1024], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (syslog_fd < 0) {
		syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (syslog_fd < 0)
			return;
	}
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	/* <PRI> = facility daemon (3) * 8 + info (6) */
	n = snprintf(buf, sizeof(buf), "<30>%s xdp-sni[%d]: %s", ts, getpid(), msg);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.syslog);
	if (sendto(syslog_fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		static int warned;

		if (!warned++)
			fprintf(stderr, "xdp-sni: cannot send to syslog socket %s: %s\n",
				opt.syslog, strerror(errno));
	}
}

static int daemon_event(void *ctx, void *data, size_t len)
{
	char line[512];

	if (len < sizeof(struct xsni_event))
		return 0;
	format_event(data, line, sizeof(line));
	send_syslog(line);
	printf("%s\n", line);
	fflush(stdout);
	return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = 1; }

static int dispatch(int argc, char **argv, FILE *o);

/* One command per connection. Everything but ping runs in a child process
 * whose stdout and stderr are the connection: errors reach the client, a
 * fatal error cannot take the daemon down, and nothing leaks. */
static void serve_client(int cfd)
{
	char buf[1024], *args[32], *save = NULL, *tok;
	int n, argc = 0, rc, status, i, j = 0, sub = 0;
	pid_t pid;

	n = read(cfd, buf, sizeof(buf) - 1);
	if (n <= 0) {
		close(cfd);
		return;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	for (tok = strtok_r(buf, " \t", &save); tok && argc < 31; tok = strtok_r(NULL, " \t", &save))
		args[argc++] = tok;
	args[argc] = NULL;
	if (argc == 0 || !strcmp(args[0], "ping")) {
		dprintf(cfd, "pong\nrc=0\n");
		close(cfd);
		return;
	}
	if (strcmp(args[0], "add") && strcmp(args[0], "del") && strcmp(args[0], "list") &&
	    strcmp(args[0], "stats") && strcmp(args[0], "status") && strcmp(args[0], "mode") &&
	    strcmp(args[0], "rst") && strcmp(args[0], "exempt") && strcmp(args[0], "ports") &&
	    strcmp(args[0], "log")) {
		dprintf(cfd, "error unknown command %s\nrc=2\n", args[0]);
		close(cfd);
		return;
	}
	/* "add NAME subdomains" / "--subdomains", "stats --json" */
	for (i = 0; i < argc; i++) {
		if (!strcmp(args[i], "subdomains") || !strcmp(args[i], "--subdomains"))
			sub = 1;
		else if (!strcmp(args[i], "--json"))
			opt.json = 1;
		else
			args[j++] = args[i];
	}
	argc = j;
	args[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		dup2(cfd, 1);
		dup2(cfd, 2);
		opt.subdomains = sub;
		rc = dispatch(argc, args, stdout);
		fflush(stdout);
		fflush(stderr);
		_exit(rc & 0xff);
	}
	opt.json = 0;
	rc = 1;
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	dprintf(cfd, "rc=%d\n", rc);
	close(cfd);
}

static int cmd_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ring_buffer *rb;
	struct pollfd pfd[2];
	int evfd, lfd;

	ensure_maps();
	evfd = map_fd_or_die(XSNI_MAP_EVENTS);
	rb = ring_buffer__new(evfd, daemon_event, NULL, NULL);
	if (!rb)
		die("cannot open the event ring buffer: %s", strerror(errno));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.socket);
	unlink(opt.socket);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8))
		die("cannot listen on %s: %s", opt.socket, strerror(errno));
	chmod(opt.socket, 0600);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "xdp-sni daemon: pin dir %s, socket %s, syslog %s\n",
		opt.pin_dir, opt.socket, opt.syslog);
	send_syslog("daemon started");
	pfd[0].fd = ring_buffer__epoll_fd(rb);
	pfd[0].events = POLLIN;
	pfd[1].fd = lfd;
	pfd[1].events = POLLIN;
	while (!stop) {
		int n = poll(pfd, 2, 1000);

		if (n < 0 && errno != EINTR)
			break;
		ring_buffer__consume(rb);
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (cfd >= 0)
				serve_client(cfd);
		}
	}
	ring_buffer__consume(rb);
	ring_buffer__free(rb);
	close(lfd);
	unlink(opt.socket);
	return 0;
}

/* ---- verify ------------------------------------------------------------ */
static int cmd_verify(int argc, char **argv, FILE *o)
{
	const char *path;
	struct bpf_object *obj;
	struct bpf_program *p;

	find_obj();
	path = argc >= 1 ? argv[0] : opt.obj;
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "xdp-sni: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "xdp-sni: %s: rejected by the kernel (verifier log above)\n", path);
		bpf_object__close(obj);
		return 1;
	}
	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len);
		fprintf(o, "%s: program %s (%s) loaded: %u verified insns, %u xlated bytes\n",
			path, bpf_program__name(p), bpf_program__section_name(p),
			info.verified_insns, info.xlated_prog_len);
	}
	bpf_object__close(obj);
	return 0;
}

/* ---- replay ------------------------------------------------------------ */
/* Minimal classic-pcap reader (libpcap's pcap/bpf.h clashes with
 * linux/bpf.h). Both byte orders, micro- and nanosecond variants. */
struct pcap_rd {
	FILE *f;
	int swap;
	__u32 linktype;
	unsigned char *buf;
	__u32 caplen;
};

static __u32 sw32(struct pcap_rd *r, __u32 v) { return r->swap ? __builtin_bswap32(v) : v; }

static int pcap_rd_open(struct pcap_rd *r, const char *path)
{
	__u32 h[6];

	memset(r, 0, sizeof(*r));
	r->f = fopen(path, "rb");
	if (!r->f) {
		fprintf(stderr, "xdp-sni: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fread(h, 4, 6, r->f) != 6) {
		fprintf(stderr, "xdp-sni: %s: not a pcap file (too short)\n", path);
		return -1;
	}
	if (h[0] == 0xa1b2c3d4 || h[0] == 0xa1b23c4d) {
		r->swap = 0;
	} else if (h[0] == 0xd4c3b2a1 || h[0] == 0x4d3cb2a1) {
		r->swap = 1;
	} else {
		fprintf(stderr, "xdp-sni: %s: not a classic pcap file (pcapng? convert with "
			"`tcpdump -r in -w out`)\n", path);
		return -1;
	}
	r->linktype = sw32(r, h[5]) & 0xffff;
	r->buf = malloc(262144);
	return r->buf ? 0 : -1;
}

/* 1 = packet, 0 = end, -1 = error */
static int pcap_rd_next(struct pcap_rd *r)
{
	__u32 h[4], len;

	if (fread(h, 4, 4, r->f) != 4)
		return 0;
	len = sw32(r, h[2]);
	if (len > 262144)
		return -1;
	if (fread(r->buf, 1, len, r->f) != len)
		return -1;
	r->caplen = len;
	return 1;
}

#define REPLAY_RING  (1u << 20)
#define REPLAY_CHUNK 3000

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
 *   the ring (rb), drained in between, so every event takes the real,
 *   successful path and the ring stays cache-sized, as with a daemon.
 * wall: the wall clock of N runs minus that of N/10, in one call each.
 *   The difference cancels the fixed cost of a call (about 1 ms here, most
 *   of it switching the kernel's XDP dispatcher to the program and back)
 *   and keeps fractions of a ns. Events beyond the ring's size are lost
 *   (cheaper than a real event), so it suits packets that emit none. */
static double time_kernel(int prog_fd, struct bpf_test_run_opts *t, int idx,
			  struct ring_buffer *rb)
{
	int left = opt.repeat;
	double tot = 0;

	while (left > 0) {
		int chunk = rb && left > REPLAY_CHUNK ? REPLAY_CHUNK : left;

		t->repeat = chunk;
		test_run_or_die(prog_fd, t, idx);
		tot += (double)t->duration * chunk;
		left -= chunk;
		if (rb)
			ring_buffer__consume(rb);
	}
	return tot / opt.repeat;
}

static double time_wall(int prog_fd, struct bpf_test_run_opts *t, int idx)
{
	int n1 = opt.repeat / 10;
	double t1, t2;

	if (n1 < 1)
		return time_kernel(prog_fd, t, idx, NULL);
	t->repeat = n1;
	t1 = mono_ns();
	test_run_or_die(prog_fd, t, idx);
	t1 = mono_ns() - t1;
	t->repeat = opt.repeat;
	t2 = mono_ns();
	test_run_or_die(prog_fd, t, idx);
	t2 = mono_ns() - t2;
	if (t2 <= t1)   /* disturbed: fall back to the kernel's figure */
		return (double)t->duration;
	return (t2 - t1) / (opt.repeat - n1);
}

struct replay_ev {
	int n;
	struct xsni_event ev;
};

static int replay_event(void *ctx, void *data, size_t len)
{
	struct replay_ev *r = ctx;

	if (len >= sizeof(struct xsni_event)) {
		r->ev = *(struct xsni_event *)data;
		r->n++;
	}
	return 0;
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

static int cmd_replay(int argc, char **argv, FILE *o)
{
	struct pcap_rd pr;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *m;
	struct xsni_settings s;
	struct replay_ev rev = {};
	struct ring_buffer *rb = NULL;
	__u64 before[XSNI_CNT_MAX], after[XSNI_CNT_MAX], total[XSNI_CNT_MAX] = {};
	unsigned char out[65536 + 4096];
	double ns_sum = 0;
	int prog_fd, set_fd = -1, cnt_fd = -1, idx = 0, rc, first = 1, j, is_sni_prog;
	__u32 zero = 0;

	if (argc != 1) {
		fprintf(stderr, "usage: xdp-sni replay FILE.pcap [--repeat N] [--json] "
			"[--blocklist FILE] [--mode monitor|block] [--rst on|off] [--ports LIST] [--exempt PREFIX] [--obj OBJ] [--timing auto|kernel|wall]\n");
		return 2;
	}
	if (strcmp(opt.timing, "auto") && strcmp(opt.timing, "kernel") &&
	    strcmp(opt.timing, "wall")) {
		fprintf(stderr, "xdp-sni: --timing must be auto, kernel or wall, not \"%s\"\n",
			opt.timing);
		return 2;
	}
	if (pcap_rd_open(&pr, argv[0]))
		return 1;
	if (pr.linktype != 1) {
		fprintf(stderr, "xdp-sni: %s: link type %u, need Ethernet (1)\n", argv[0],
			pr.linktype);
		return 1;
	}
	find_obj();
	obj = bpf_object__open_file(opt.obj, NULL);
	if (!obj)
		die("cannot open %s: %s", opt.obj, strerror(errno));
	m = bpf_object__find_map_by_name(obj, XSNI_MAP_SETTINGS);
	is_sni_prog = m != NULL;
	if (is_sni_prog) {
		struct bpf_map *ev = bpf_object__find_map_by_name(obj, XSNI_MAP_EVENTS);
		/* with --repeat every timed run emits an event; the timed runs are
		 * done in chunks that fit a 1 MB ring buffer, drained in between,
		 * so every event takes the real (successful) path and the ring
		 * stays cache-sized, as it does with a daemon reading it */
		if (opt.repeat > 0)
			bpf_map__set_max_entries(ev, REPLAY_RING);
		/* --no-drain: a one-page ring that is never read, to show that
		 * a full ring buffer loses events, not verdicts */
		if (opt.no_drain)
			bpf_map__set_max_entries(ev, getpagesize());
		/* the current blocklist, unless one was given */
		if (!opt.blocklist[0]) {
			int dfd = pinned_fd(XSNI_MAP_DOMAINS);

			if (dfd >= 0 && bpf_map__reuse_fd(bpf_object__find_map_by_name(obj,
						XSNI_MAP_DOMAINS), dfd))
				die("cannot reuse the pinned domain map");
		}
	}
	if (bpf_object__load(obj))
		die("cannot load %s (verifier log above)", opt.obj);
	prog = bpf_object__next_program(obj, NULL);
	prog_fd = bpf_program__fd(prog);

	if (is_sni_prog) {
		set_fd = bpf_map__fd(m);
		cnt_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, XSNI_MAP_COUNTERS));
		default_settings(&s);
		s.flags = XSNI_SET_LOG_ALL;
		if (opt.rst == 1)
			s.flags |= XSNI_SET_RST;
		if (opt.mode[0])
			s.mode = !strcmp(opt.mode, "monitor") ? XSNI_MODE_MONITOR : XSNI_MODE_BLOCK;
		if (opt.ports[0] && parse_ports(opt.ports, s.ports))
			die("bad --ports %s", opt.ports);
		if (bpf_map_update_elem(set_fd, &zero, &s, 0))
			die("cannot write settings");
		if (opt.blocklist[0]) {
			struct parsed p = {};

			if (parse_list_file(opt.blocklist, opt.subdomains, &p))
				return 1;
			if (p.bad && !opt.skip_bad) {
				fprintf(stderr, "xdp-sni: %d bad line(s) in %s\n", p.bad, opt.blocklist);
				return 1;
			}
			map_put_domains(bpf_map__fd(bpf_object__find_map_by_name(obj,
						XSNI_MAP_DOMAINS)), &p.dl);
		}
		if (opt.exempt[0]) {
			__u8 addr[16] = {}, one = 1;
			__u32 plen;
			int v6;

			if (parse_prefix(opt.exempt, &v6, addr, &plen))
				die("bad --exempt %s", opt.exempt);
			if (v6) {
				struct xsni_lpm6 k = { .prefixlen = plen };

				memcpy(k.addr, addr, 16);
				bpf_map_update_elem(bpf_map__fd(bpf_object__find_map_by_name(obj,
							XSNI_MAP_EXEMPT6)), &k, &one, 0);
			} else {
				struct xsni_lpm4 k = { .prefixlen = plen };

				memcpy(k.addr, addr, 4);
				bpf_map_update_elem(bpf_map__fd(bpf_object__find_map_by_name(obj,
							XSNI_MAP_EXEMPT4)), &k, &one, 0);
			}
		}
		rb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj,
					XSNI_MAP_EVENTS)), replay_event, &rev, NULL);
		if (!rb)
			die("cannot open ring buffer");
	}

	if (opt.json)
		fprintf(o, "{\"file\":");
	if (opt.json) {
		json_str(o, argv[0], strlen(argv[0]));
		fprintf(o, ",\"packets\":[");
	}
	while ((rc = pcap_rd_next(&pr)) == 1) {
		LIBBPF_OPTS(bpf_test_run_opts, t);
		double ns = -1;
		const char *timing = "";

		idx++;
		if (opt.repeat > 0) {
			/* timed run first, with flow-state writes disabled so the
			 * real run below sees the same state */
			LIBBPF_OPTS(bpf_test_run_opts, tt);

			if (is_sni_prog) {
				s.flags |= XSNI_SET_DRY;
				bpf_map_update_elem(set_fd, &zero, &s, 0);
			}
			{
				int emits = 0;

				tt.data_in = pr.buf;
				tt.data_size_in = pr.caplen;
				/* one untimed run: does this packet emit an event? */
				tt.repeat = 1;
				test_run_or_die(prog_fd, &tt, idx);
				if (rb && ring_buffer__consume(rb) > 0)
					emits = 1;
				if (!strcmp(opt.timing, "wall") ||
				    (!emits && strcmp(opt.timing, "kernel"))) {
					ns = time_wall(prog_fd, &tt, idx);
					timing = "wall";
				} else {
					ns = time_kernel(prog_fd, &tt, idx, emits ? rb : NULL);
					timing = "kernel";
				}
			}
			ns_sum += ns;
			if (is_sni_prog) {
				s.flags &= ~XSNI_SET_DRY;
				bpf_map_update_elem(set_fd, &zero, &s, 0);
				ring_buffer__consume(rb);
			}
		}
		rev.n = 0;
		if (cnt_fd >= 0)
			read_counters(cnt_fd, before);
		t.data_in = pr.buf;
		t.data_size_in = pr.caplen;
		t.data_out = out;
		t.data_size_out = sizeof(out);
		if (bpf_prog_test_run_opts(prog_fd, &t))
			die("BPF_PROG_TEST_RUN failed on packet %d (%u bytes): %s", idx,
			    pr.caplen, strerror(errno));
		if (rb && !opt.no_drain)
			ring_buffer__consume(rb);
		if (cnt_fd >= 0) {
			read_counters(cnt_fd, after);
			for (j = 0; j < XSNI_CNT_MAX; j++)
				total[j] += after[j] - before[j];
		}
		if (opt.json) {
			fprintf(o, "%s{\"index\":%d,\"len\":%u,\"verdict\":\"%s\"", first ? "" : ",",
				idx, pr.caplen, xdp_action_name(t.retval));
			if (ns >= 0)
				fprintf(o, ",\"ns\":%.2f,\"timing\":\"%s\"", ns, timing);
			if (t.retval == XDP_TX)
				fprintf(o, ",\"out_len\":%u", t.data_size_out);
			if (rev.n) {
				char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
				int af = rev.ev.family == 6 ? AF_INET6 : AF_INET;

				inet_ntop(af, rev.ev.family == 6 ? rev.ev.saddr : rev.ev.saddr + 12, src, sizeof(src));
				inet_ntop(af, rev.ev.family == 6 ? rev.ev.daddr : rev.ev.daddr + 12, dst, sizeof(dst));
				fprintf(o, ",\"sni\":");
				json_str(o, rev.ev.sni, rev.ev.sni_len);
				fprintf(o, ",\"event\":{\"verdict\":\"%s\",\"segments\":%u,\"ech\":%s,"
					"\"rst\":%s,\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,\"family\":%u}",
					verdict_names[rev.ev.verdict & 3], rev.ev.segments,
					rev.ev.ech ? "true" : "false", rev.ev.rst ? "true" : "false",
					src, rev.ev.sport, dst, rev.ev.dport, rev.ev.family);
			}
			if (t.retval == XDP_TX) {
				__u32 k;

				fprintf(o, ",\"out\":\"");
				for (k = 0; k < t.data_size_out && k < 128; k++)
					fprintf(o, "%02x", out[k]);
				fprintf(o, "\"");
			}
			fprintf(o, "}");
		} else {
			fprintf(o, "%d\t%s\t%u", idx, xdp_action_name(t.retval), pr.caplen);
			if (ns >= 0)
				fprintf(o, "\t%.1fns (%s)", ns, timing);
			if (rev.n) {
				char line[512];

				format_event(&rev.ev, line, sizeof(line));
				fprintf(o, "\t%s", line);
			}
			fprintf(o, "\n");
		}
		first = 0;
	}
	if (rc == -1)
		fprintf(stderr, "xdp-sni: %s: truncated or corrupt pcap\n", argv[0]);
	if (opt.json) {
		fprintf(o, "],\"count\":%d", idx);
		if (opt.repeat > 0)
			fprintf(o, ",\"repeat\":%d,\"mean_ns\":%.2f", opt.repeat, idx ? ns_sum / idx : 0);
		if (cnt_fd >= 0) {
			fprintf(o, ",\"counters\":");
			print_counters(o, total, 1);
		}
		fprintf(o, "}\n");
	} else {
		if (opt.repeat > 0)
			fprintf(o, "mean %.2f ns per packet over %d packets x %d runs\n",
				idx ? ns_sum / idx : 0, idx, opt.repeat);
		if (cnt_fd >= 0) {
			fprintf(o, "counters:\n");
			print_counters(o, total, 0);
		}
	}
	if (rb)
		ring_buffer__free(rb);
	bpf_object__close(obj);
	fclose(pr.f);
	free(pr.buf);
	return 0;
}

/* ---- help ---------------------------------------------------------------- */
static const struct {
	const char *name, *usage, *help;
} cmds[] = {
	{ "attach", "attach --dev IFACE [--mode native|generic|auto]",
	  "Load xdp_sni.bpf.o (maps pinned under the pin directory, reused if they\n"
	  "exist) and attach it to IFACE with libxdp. auto (the default) tries native\n"
	  "mode and falls back to generic mode, saying so." },
	{ "detach", "detach --dev IFACE",
	  "Detach xdp_sni from IFACE. The pinned maps (blocklist, settings) stay." },
	{ "init", "init", "Create the pinned maps with default settings (block mode, RST on,\nport 443) without attaching anything." },
	{ "daemon", "daemon [--socket PATH] [--syslog-socket PATH]",
	  "Read events from the pinned ring buffer and write one syslog line per\n"
	  "event (ident xdp-sni, facility daemon) and to stdout. Serve a control\n"
	  "socket (default " DEFAULT_SOCKET ") that takes one command per connection:\n"
	  "ping, stats, status, list, add NAME [subdomains], del NAME, mode X, rst X,\n"
	  "ports X, exempt ...; the reply ends with a line rc=N. The data plane keeps\n"
	  "enforcing if the daemon dies; a new daemon adopts the pinned state." },
	{ "add", "add DOMAIN... [--subdomains]",
	  "Add names. --subdomains (or a leading '*.') also matches every name below.\n"
	  "Names are validated (length <= 253, labels <= 63, letters, digits, '-',\n"
	  "'_'); IDNs must be given as punycode (xn--...). A bad name changes nothing." },
	{ "del", "del DOMAIN...", "Remove names." },
	{ "list", "list", "Print the listed names and their flags." },
	{ "import", "import FILE [--subdomains] [--skip-bad]",
	  "Add every name of FILE: one name per line ('name' or 'name subdomains'\n"
	  "or '*.name'), or hosts-file lines ('0.0.0.0 name [name...]'). '#' starts a\n"
	  "comment. Bad lines are reported as FILE:LINE; unless --skip-bad is given,\n"
	  "nothing is imported when a line is bad. FILE may be '-' for stdin." },
	{ "stats", "stats [--json]", "Print the per-CPU counters, summed." },
	{ "status", "status [--json]",
	  "Print mode, RST, ports, number of names, the interfaces running xdp_sni and\n"
	  "the counters. Exit status 3 if the maps are not pinned." },
	{ "mode", "mode monitor|block", "monitor: listed names pass and are logged. block: they are dropped." },
	{ "rst", "rst on|off", "Answer a blocked ClientHello with a TCP RST (XDP_TX)." },
	{ "log", "log all|listed", "Send an event (a syslog line) for every server name seen, or only for listed ones." },
	{ "ports", "ports [PORT[,PORT...]]", "Show or set the watched TCP destination ports." },
	{ "exempt", "exempt add|del PREFIX | exempt list",
	  "Source addresses or prefixes (IPv4 or IPv6) that are never blocked." },
	{ "replay", "replay FILE.pcap [--repeat N] [--json] [--blocklist FILE] [--mode monitor|block]\n"
	  "              [--rst on|off] [--ports LIST] [--exempt PREFIX] [--obj OBJ]\n"
	  "              [--timing auto|kernel|wall] [--no-drain]",
	  "Run every packet of an Ethernet pcap through the program with\n"
	  "BPF_PROG_TEST_RUN, in order, with one loaded program and one set of maps, so\n"
	  "flow state carries from packet to packet. Prints each packet's XDP verdict\n"
	  "and, when an SNI was read, the event. The blocklist is --blocklist FILE, or\n"
	  "the pinned one if it exists. Default mode block, RST off. --repeat N also\n"
	  "times each packet N times in the kernel (flow state is read but not written\n"
	  "during the timed runs) and prints the mean ns per packet: the kernel's\n"
	  "figure (whole ns) for a packet that emits an event, timed in ring-sized\n"
	  "chunks, else the wall clock of N runs minus N/10 runs (--timing forces one\n"
	  "way). --obj may name another XDP object (e.g. xdp_pass.bpf.o as a\n"
	  "baseline). --no-drain uses a one-page ring buffer that is never read\n"
	  "(events are then lost, verdicts not)." },
	{ "verify", "verify [OBJ]", "Load OBJ into the kernel through the verifier, then unload it." },
	{ "help", "help [COMMAND]", "Show help." },
};

static void usage(FILE *o)
{
	size_t i;

	fprintf(o, "usage: xdp-sni [global options] COMMAND [options]\n\n"
		"global options:\n"
		"  --pin-dir DIR     pinned maps (env XDP_SNI_PIN_DIR, default " DEFAULT_PIN_DIR ")\n"
		"  --state-dir DIR   name list (env XDP_SNI_STATE_DIR, default " DEFAULT_STATE_DIR ")\n"
		"  --obj FILE        BPF object (env XDP_SNI_OBJ, default next to the binary,\n"
		"                    then /usr/lib/xdp-sni/xdp_sni.bpf.o)\n"
		"  -v, --verbose     libbpf debug output\n\ncommands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(o, "  %s\n", cmds[i].usage);
	fprintf(o, "\n`xdp-sni help COMMAND` or `xdp-sni COMMAND --help` for details.\n");
}

static int cmd_help(const char *name, FILE *o)
{
	size_t i;

	if (!name) {
		usage(o);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name)) {
			fprintf(o, "usage: xdp-sni %s\n\n%s\n", cmds[i].usage, cmds[i].help);
			return 0;
		}
	fprintf(stderr, "xdp-sni: no such command %s\n", name);
	return 2;
}

static int dispatch(int argc, char **argv, FILE *o)
{
	const char *c = argv[0];

	if (!strcmp(c, "add")) return cmd_add(argc - 1, argv + 1, o);
	if (!strcmp(c, "del")) return cmd_del(argc - 1, argv + 1, o);
	if (!strcmp(c, "list")) return cmd_list(o);
	if (!strcmp(c, "import")) return cmd_import(argc - 1, argv + 1, o);
	if (!strcmp(c, "stats")) return cmd_stats(o);
	if (!strcmp(c, "status")) return cmd_status(o);
	if (!strcmp(c, "mode")) return cmd_mode(argc - 1, argv + 1, o);
	if (!strcmp(c, "rst")) return cmd_flag(argc - 1, argv + 1, o, "rst", "on", "off", XSNI_SET_RST);
	if (!strcmp(c, "log")) return cmd_flag(argc - 1, argv + 1, o, "log", "all", "listed", XSNI_SET_LOG_ALL);
	if (!strcmp(c, "ports")) return cmd_ports(argc - 1, argv + 1, o);
	if (!strcmp(c, "exempt")) return cmd_exempt(argc - 1, argv + 1, o);
	if (!strcmp(c, "attach")) return cmd_attach(o);
	if (!strcmp(c, "detach")) return cmd_detach(o);
	if (!strcmp(c, "init")) { ensure_maps(); fprintf(o, "maps under %s\n", opt.pin_dir); return 0; }
	if (!strcmp(c, "daemon")) return cmd_daemon();
	if (!strcmp(c, "replay")) return cmd_replay(argc - 1, argv + 1, o);
	if (!strcmp(c, "verify")) return cmd_verify(argc - 1, argv + 1, o);
	if (!strcmp(c, "help")) return cmd_help(argc > 1 ? argv[1] : NULL, o);
	fprintf(stderr, "xdp-sni: unknown command '%s'\n", c);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "obj", required_argument, NULL, 'O' },
		{ "dev", required_argument, NULL, 'd' },
		{ "mode", required_argument, NULL, 'm' },
		{ "subdomains", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "blocklist", required_argument, NULL, 'b' },
		{ "rst", required_argument, NULL, 'R' },
		{ "ports", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 'k' },
		{ "syslog-socket", required_argument, NULL, 'l' },
		{ "skip-bad", no_argument, NULL, 'B' },
		{ "exempt", required_argument, NULL, 'E' },
		{ "no-drain", no_argument, NULL, 'N' },
		{ "timing", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, want_help = 0;

	snprintf(opt.pin_dir, sizeof(opt.pin_dir), "%s",
		 getenv("XDP_SNI_PIN_DIR") ? getenv("XDP_SNI_PIN_DIR") : DEFAULT_PIN_DIR);
	snprintf(opt.state_dir, sizeof(opt.state_dir), "%s",
		 getenv("XDP_SNI_STATE_DIR") ? getenv("XDP_SNI_STATE_DIR") : DEFAULT_STATE_DIR);
	snprintf(opt.socket, sizeof(opt.socket), "%s",
		 getenv("XDP_SNI_SOCKET") ? getenv("XDP_SNI_SOCKET") : DEFAULT_SOCKET);
	snprintf(opt.syslog, sizeof(opt.syslog), "%s", DEFAULT_SYSLOG);
	opt.rst = -1;
	snprintf(opt.timing, sizeof(opt.timing), "auto");

	/* "--" ends options; permute so options may follow the command */
	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case 'P': snprintf(opt.pin_dir, sizeof(opt.pin_dir), "%s", optarg); break;
		case 'S': snprintf(opt.state_dir, sizeof(opt.state_dir), "%s", optarg); break;
		case 'O': snprintf(opt.obj, sizeof(opt.obj), "%s", optarg); break;
		case 'd': snprintf(opt.dev, sizeof(opt.dev), "%s", optarg); break;
		case 'm': snprintf(opt.mode, sizeof(opt.mode), "%s", optarg); break;
		case 's': opt.subdomains = 1; break;
		case 'j': opt.json = 1; break;
		case 'r': opt.repeat = atoi(optarg); break;
		case 'b': snprintf(opt.blocklist, sizeof(opt.blocklist), "%s", optarg); break;
		case 'R': opt.rst = !strcmp(optarg, "on") || !strcmp(optarg, "1"); break;
		case 'p': snprintf(opt.ports, sizeof(opt.ports), "%s", optarg); break;
		case 'k': snprintf(opt.socket, sizeof(opt.socket), "%s", optarg); break;
		case 'l': snprintf(opt.syslog, sizeof(opt.syslog), "%s", optarg); break;
		case 'B': opt.skip_bad = 1; break;
		case 'N': opt.no_drain = 1; break;
		case 'T': snprintf(opt.timing, sizeof(opt.timing), "%s", optarg); break;
		case 'E': snprintf(opt.exempt, sizeof(opt.exempt), "%s", optarg); break;
		case 'v': opt.verbose = 1; break;
		case 'h': want_help = 1; break;
		default: usage(stderr); return 2;
		}
	}
	libbpf_set_print(libbpf_print);
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(want_help ? stdout : stderr);
		return want_help ? 0 : 2;
	}
	if (want_help)
		return cmd_help(argv[0], stdout);
	if (opt.mode[0] && strcmp(argv[0], "attach") && strcmp(opt.mode, "monitor") &&
	    strcmp(opt.mode, "block"))
		die("bad --mode %s", opt.mode);
	return dispatch(argc, argv, stdout);
}
