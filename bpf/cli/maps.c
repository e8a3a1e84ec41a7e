// SPDX-License-Identifier: GPL-2.0
/* The BPF object and its pinned maps. */
#include <errno.h>
#include <sys/mman.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "log.h"
#include "maps.h"
#include "events.h"
#include "domtable.h"
#include "policy_maps.h"
#include "upgrade.h"

#define BPF_FS_MAGIC_ 0xcafe4a11

static const char *counter_names[] = XSNI_COUNTER_NAMES;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !g.verbose)
		return 0;
	/* libxdp's own objects carry an xdp_metadata section libbpf 1.1 skips */
	if (!g.verbose && strstr(fmt, "skipping unrecognized data section"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void maps_log_setup(void)
{
	libbpf_set_print(libbpf_print);
}

const char *obj_path(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n;

	if (g.obj)
		return g.obj;
	g.obj = path;
	if (getenv("XDP_SNI_OBJ")) {
		snprintf(path, sizeof(path), "%s", getenv("XDP_SNI_OBJ"));
		return path;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(path, sizeof(path), "%s/xdp_sni.bpf.o", exe);
		if (!access(path, R_OK))
			return path;
	}
	snprintf(path, sizeof(path), "/usr/lib/xdp-sni/xdp_sni.bpf.o");
	return path;
}

/* ---- bpffs and pins ------------------------------------------------------ */
static int is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && (unsigned long)st.f_type == BPF_FS_MAGIC_;
}

static void ensure_bpffs(void)
{
	char parent[PATH_MAX], *slash;

	snprintf(parent, sizeof(parent), "%s", g.pin_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	if (is_bpffs(parent) || is_bpffs(g.pin_dir))
		return;
	if (!strcmp(parent, "/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			die("cannot mount bpffs on /sys/fs/bpf: %s", strerror(errno));
		return;
	}
	die("%s is not on a BPF filesystem (mount -t bpf bpf DIR)", parent);
}

int pinned_fd(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", g.pin_dir, name);
	return bpf_obj_get(path);
}

int map_fd_or_die(const char *name)
{
	int fd = pinned_fd(name);

	if (fd < 0)
		die("map %s not found under %s (run `xdp-sni attach` or `xdp-sni init` first): %s",
		    name, g.pin_dir, strerror(errno));
	return fd;
}

/* a map of the object by its pin name (the settings and the marks are
 * data sections) */
struct bpf_map *obj_map(struct bpf_object *obj, const char *name)
{
	if (!strcmp(name, XSNI_MAP_SETTINGS))
		name = XSNI_SEC_SETTINGS;
	else if (!strcmp(name, XSNI_MAP_GROUPS))
		name = XSNI_SEC_GROUPS;
	else if (!strcmp(name, XSNI_MAP_MARKS))
		name = XSNI_SEC_MARKS;
	return bpf_object__find_map_by_name(obj, name);
}

int obj_map_fd(struct bpf_object *obj, const char *name)
{
	return bpf_map__fd(obj_map(obj, name));
}

/* every map the tool, the daemon or a reloaded program shares; the
 * program's per-CPU work space is not among them */
static const char *const maps_to_pin[] = {
	XSNI_MAP_SETTINGS,
	XSNI_MAP_DOMAINS,
	XSNI_MAP_DOMCATS,
	XSNI_MAP_BLOOM,
	XSNI_MAP_EXEMPT4,
	XSNI_MAP_EXEMPT6,
	XSNI_MAP_GROUPS,
	XSNI_MAP_CLIENTS4,
	XSNI_MAP_CLIENTS6,
	XSNI_MAP_CLIENTMAC,
	XSNI_MAP_COUNTERS,
	XSNI_MAP_MARKS,
	XSNI_MAP_HELLOS,
	XSNI_MAP_HNAMES,
	XSNI_MAP_EVHDR,
	XSNI_MAP_EVENTS,
	NULL,
};

/* QUIC=filter's: the flows' verdicts, the copies, the counters */
static const char *const quic_maps_to_pin[] = {
	XSNI_MAP_QUIC, XSNI_MAP_QUIC_RB, XSNI_MAP_QCNT, XSNI_MAP_QSTAT, NULL,
};

const char *const *pin_names(int quic)
{
	return quic ? quic_maps_to_pin : maps_to_pin;
}

static void set_pin_paths(struct bpf_object *obj, const char *file, const char *const *names)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; names[i]; i++) {
		struct bpf_map *m = obj_map(obj, names[i]);

		if (!m)
			die("%s has no map %s", file, names[i]);
		snprintf(path, sizeof(path), "%s/%s", g.pin_dir, names[i]);
		if (bpf_map__set_pin_path(m, path))
			die("cannot set pin path %s", path);
	}
}

struct bpf_object *open_obj_pinned(void)
{
	const char *file = obj_path();
	struct bpf_object *obj = bpf_object__open_file(file, NULL);

	if (!obj)
		die("cannot open %s: %s", file, strerror(errno));
	if (events_size_maps(obj))
		die("%s has no event maps", file);
	set_pin_paths(obj, file, maps_to_pin);
	set_pin_paths(obj, file, quic_maps_to_pin);
	return obj;
}

/* Loading the object's maps once creates and pins them (first start, after
 * a reboot, or after the package was removed and installed again). Maps
 * pinned by another version whose layout differs are made again
 * (upgrade.c). */
void ensure_maps(void)
{
	int fd;

	ensure_bpffs();
	fd = pinned_fd(XSNI_MAP_SETTINGS);
	if (fd >= 0) {
		close(fd);
		pins_upgrade();
		return;
	}
	maps_create();
}

void maps_create(void)
{
	struct domlist dl = {};
	struct bpf_object *obj;
	struct xsni_settings s;
	__u32 zero = 0;

	if (mkdir(g.pin_dir, 0700) && errno != EEXIST)
		die("cannot create %s: %s", g.pin_dir, strerror(errno));
	obj = open_obj_pinned();
	{
		struct bpf_program *prog;

		/* only the maps: the program is verified when it is attached,
		 * and its verification is most of a first import's time */
		bpf_object__for_each_program (prog, obj)
			bpf_program__set_autoload(prog, false);
	}
	if (bpf_object__load(obj))
		die("cannot create the maps of %s: %s", obj_path(), strerror(errno));
	default_settings(&s);
	if (bpf_map_update_elem(obj_map_fd(obj, XSNI_MAP_SETTINGS), &zero, &s, 0))
		die("cannot write settings: %s", strerror(errno));
	dl_load_state(&dl, g.state_dir);
	if (dl.n) {
		struct domtable *dt = map_domtable(obj_map_fd(obj, XSNI_MAP_DOMAINS),
						   obj_map_fd(obj, XSNI_MAP_DOMCATS));

		map_put_domains(dt, &dl);
		dt_close(dt);
	}
	map_sync_filter(obj_map_fd(obj, XSNI_MAP_BLOOM), obj_map_fd(obj, XSNI_MAP_SETTINGS), &dl);
	dl_free(&dl);
	{
		struct policy p;

		/* a bad policy file leaves the defaults (and says why) */
		policy_load(&p, g.state_dir);
		policy_write_obj(obj, &p, time(NULL));
		policy_free(&p);
	}
	bpf_object__close(obj);
}

/* ---- settings ------------------------------------------------------------ */
void read_settings(int fd, struct xsni_settings *s)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, s))
		die("cannot read settings: %s", strerror(errno));
}

void update_settings(void (*fn)(struct xsni_settings *, const void *), const void *arg)
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
}

/* ---- counters ------------------------------------------------------------ */
void read_counters_of(int fd, int cpu, __u64 *out)
{
	int ncpu = libbpf_num_possible_cpus(), i, j;
	struct xsni_counters *pc = calloc(ncpu, sizeof(*pc));
	__u32 zero = 0;

	memset(out, 0, sizeof(__u64) * XSNI_CNT_MAX);
	if (!pc || bpf_map_lookup_elem(fd, &zero, pc))
		die("cannot read counters: %s", strerror(errno));
	for (i = 0; i < ncpu; i++)
		if (cpu < 0 || i == cpu)
			for (j = 0; j < XSNI_CNT_MAX; j++)
				out[j] += pc[i].c[j];
	free(pc);
}

void read_counters(int fd, __u64 *out)
{
	read_counters_of(fd, -1, out);
}

void print_counters(FILE *o, const __u64 *c, int json)
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

/* ---- domains and exemptions ---------------------------------------------- */
struct domtable *map_domtable(int fd, int cats_fd)
{
	struct domtable *dt = dt_open(fd, cats_fd);

	if (!dt)
		die("cannot map the domain table: %s", strerror(errno));
	return dt;
}

struct domtable *pinned_domtable(void)
{
	int fd = map_fd_or_die(XSNI_MAP_DOMAINS), cfd = map_fd_or_die(XSNI_MAP_DOMCATS);
	struct domtable *dt = map_domtable(fd, cfd);

	/* the mappings keep the maps */
	close(fd);
	close(cfd);
	return dt;
}

/* every live entry of dl into the domain table */
void map_put_domains(struct domtable *dt, struct domlist *dl)
{
	size_t i;

	/* (an entry with no category left is on its way out: the caller
	 * deletes it) */
	for (i = 0; i < dl->n; i++)
		if (dl->v[i].name && dl->v[i].cats && dt_put(dt, dl->v[i].h, dl->v[i].cats))
			die("the domain table is full");
}

/* The Bloom filter in front of the domain map and the label counts of the
 * "subdomains" entries (xdp_sni.h), rebuilt from the whole list. The
 * filter is written through a mapping of the array, one 8-byte word at a
 * time: a word is always either its old or its new value, and a name that
 * is listed before and after has its bit in both. */
void map_sync_filter(int bloom_fd, int set_fd, const struct domlist *dl)
{
	size_t len = (size_t)XSNI_BLOOM_WORDS * 8, i;
	__u64 *bits = calloc(XSNI_BLOOM_WORDS, 8), *m, labels = 0;
	struct xsni_settings s;
	__u32 zero = 0;

	if (!bits)
		die("out of memory");
	for (i = 0; i < dl->n; i++) {
		const struct dom *d = &dl->v[i];
		__u32 b;

		if (!d->name)
			continue;
		b = xsni_bloom_bit(d->h);
		bits[b >> 6] |= 1ull << (b & 63);
		if (XSNI_CATS_SUB(d->cats)) {
			const char *c;
			unsigned int k = 1;

			for (c = d->name; *c; c++)
				k += *c == '.';
			labels |= 1ull << (k & 63);
		}
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bloom_fd, 0);
	if (m == MAP_FAILED)
		die("cannot map the domain filter: %s", strerror(errno));
	for (i = 0; i < XSNI_BLOOM_WORDS; i++)
		if (m[i] != bits[i])
			__atomic_store_n(&m[i], bits[i], __ATOMIC_RELEASE);
	munmap(m, len);
	free(bits);
	if (bpf_map_lookup_elem(set_fd, &zero, &s))
		die("cannot read settings: %s", strerror(errno));
	if (s.sub_labels != labels) {
		s.sub_labels = labels;
		if (bpf_map_update_elem(set_fd, &zero, &s, 0))
			die("cannot write settings: %s", strerror(errno));
	}
}

void sync_filter_pinned(const struct domlist *dl)
{
	int b = map_fd_or_die(XSNI_MAP_BLOOM), s = map_fd_or_die(XSNI_MAP_SETTINGS);

	map_sync_filter(b, s, dl);
	close(b);
	close(s);
}

size_t resync_domains_pinned(void)
{
	struct domlist dl = {};
	struct domtable *dt;
	size_t i, n = 0, removed;
	__u64 *keys;
	int lock = dl_lock(g.state_dir);

	dt = pinned_domtable();
	dl_load_state(&dl, g.state_dir);
	keys = malloc((dl.n + 1) * sizeof(*keys));
	if (!keys)
		die("out of memory");
	map_put_domains(dt, &dl);
	for (i = 0; i < dl.n; i++)
		if (dl.v[i].name)
			keys[n++] = dl.v[i].h & ~XSNI_DOM_FLAGS;
	removed = dt_retain(dt, keys, n);
	sync_filter_pinned(&dl);
	free(keys);
	dt_close(dt);
	dl_free(&dl);
	dl_unlock(lock);
	return removed;
}

/* settings.flags tells the program which exemption tries hold anything,
 * so that a blocked hello costs no trie lookup when there is none */
void map_sync_exempt_flags(int set_fd, int fd4, int fd6)
{
	struct xsni_lpm6 k6;
	struct xsni_lpm4 k4;
	struct xsni_settings s;
	__u32 zero = 0, f;

	if (bpf_map_lookup_elem(set_fd, &zero, &s))
		die("cannot read settings: %s", strerror(errno));
	f = s.flags & ~(XSNI_SET_EXEMPT4 | XSNI_SET_EXEMPT6);
	if (!bpf_map_get_next_key(fd4, NULL, &k4))
		f |= XSNI_SET_EXEMPT4;
	if (!bpf_map_get_next_key(fd6, NULL, &k6))
		f |= XSNI_SET_EXEMPT6;
	if (f != s.flags) {
		s.flags = f;
		if (bpf_map_update_elem(set_fd, &zero, &s, 0))
			die("cannot write settings: %s", strerror(errno));
	}
}

int map_exempt(int fd4, int fd6, const struct prefix *p, int add)
{
	__u8 one = 1;

	if (p->v6) {
		struct xsni_lpm6 k = { .prefixlen = p->plen };

		memcpy(k.addr, p->addr, 16);
		return add ? bpf_map_update_elem(fd6, &k, &one, 0) : bpf_map_delete_elem(fd6, &k);
	} else {
		struct xsni_lpm4 k = { .prefixlen = p->plen };

		memcpy(k.addr, p->addr, 4);
		return add ? bpf_map_update_elem(fd4, &k, &one, 0) : bpf_map_delete_elem(fd4, &k);
	}
}
