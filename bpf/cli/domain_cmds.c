// SPDX-License-Identifier: GPL-2.0
/* `add`, `del`, `list`, `import`: the kernel's domain map and the state file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "domains.h"
#include "log.h"
#include "maps.h"
#include "domtable.h"

/* The end of a change to the list: the filter and the state file follow
 * the table, then everything is let go, the lock last. */
static void list_done(struct domlist *dl, struct domtable *dt, int fd, int lock)
{
	sync_filter_pinned(dl);
	dl_save_state(dl, g.state_dir);
	dt_close(dt);
	dl_free(dl);
	close(fd);
	dl_unlock(lock);
}

int cmd_add(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	struct domtable *dt;
	struct dom *d;
	int sub = co->subdomains, fd, i, lock;

	if (argc < 1)
		return CMD_USAGE;
	/* validate everything first: a bad entry changes nothing */
	for (i = 0; i < argc; i++) {
		if (strlen(argv[i]) > XSNI_NAME_MAX + 3) {
			warn("bad domain '%.40s...': longer than %d bytes", argv[i], XSNI_NAME_MAX);
			return 1;
		}
		if (normalise_domain(argv[i], name, &sub, err, sizeof(err))) {
			warn("bad domain '%s': %s", argv[i], err);
			return 1;
		}
	}
	ensure_maps();
	lock = dl_lock(g.state_dir);
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dt = map_domtable(fd);
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < argc; i++) {
		int is_new;

		sub = co->subdomains;
		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		d = dl_add(&dl, name, sub ? XSNI_DOM_SUBDOMAINS : XSNI_DOM_EXACT, &is_new);
		if (is_new && dl_live(&dl) > XSNI_DOMAINS_MAX)
			die("the list is full (%d names)", XSNI_DOMAINS_MAX);
		if (dt_put(dt, d->h, d->flags))
			die("the domain table is full");
		fprintf(o, "added %s (%s)\n", name, flags_str(d->flags));
	}
	list_done(&dl, dt, fd, lock);
	return 0;
}

int cmd_del(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	struct domtable *dt;
	int fd, i, sub = 0, rc = 0, lock;

	if (argc < 1)
		return CMD_USAGE;
	for (i = 0; i < argc; i++)
		if (normalise_arg(argv[i], name, &sub, err, sizeof(err)) == -1) {
			warn("bad domain '%.60s': %s", argv[i], err);
			return 1;
		}
	lock = dl_lock(g.state_dir);
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dt = map_domtable(fd);
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < argc; i++) {
		struct dom *d;
		__u64 h;

		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		h = domain_hash(name, strlen(name));
		d = dl_find(&dl, h);
		if (!dt_del(dt, h) && !d) {
			warn("%s is not listed", name);
			rc = 1;
			continue;
		}
		if (d)
			dl_del(d);
		fprintf(o, "deleted %s\n", name);
	}
	list_done(&dl, dt, fd, lock);
	return rc;
}

int cmd_list(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct domlist dl = {};
	struct domtable *dt;
	size_t i;
	int fd = map_fd_or_die(XSNI_MAP_DOMAINS);

	dt = map_domtable(fd);
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < dl.n; i++) {
		if (!dl.v[i].name)
			continue;
		__u32 f = dt_get(dt, dl.v[i].h);

		if (!f)
			fprintf(o, "%s\t%s\t(not in the kernel map)\n", dl.v[i].name,
				flags_str(dl.v[i].flags));
		else
			fprintf(o, "%s\t%s\n", dl.v[i].name, flags_str(f));
	}
	dt_close(dt);
	dl_free(&dl);
	close(fd);
	return 0;
}

int cmd_import(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct parsed p = {};
	struct timespec t0, t1;
	int fd, lock;

	if (argc != 1)
		return CMD_USAGE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ensure_maps();
	/* the file's names go straight into the saved list, in memory; the
	 * kernel and the state file are written only if every line is good */
	lock = dl_lock(g.state_dir);
	dl_load_state(&p.dl, g.state_dir);
	if (parse_list_file(argv[0], co->subdomains, &p)) {
		dl_unlock(lock);
		return 1;
	}
	if (p.bad && !co->skip_bad) {
		warn("%d bad line(s) in %s; nothing imported "
		     "(use --skip-bad to import the valid names)",
		     p.bad, argv[0]);
		dl_unlock(lock);
		return 1;
	}
	if (dl_live(&p.dl) > XSNI_DOMAINS_MAX) {
		warn("%s: the list would hold %zu names, more than %d; nothing imported", argv[0],
		     dl_live(&p.dl), XSNI_DOMAINS_MAX);
		dl_unlock(lock);
		return 1;
	}
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	if (p.changed)
		map_put_domains(fd, &p.dl);
	sync_filter_pinned(&p.dl);
	dl_save_state(&p.dl, g.state_dir);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(o, "imported %zu names (%zu new, %d bad lines skipped) in %.3f s\n", p.names,
		p.added, p.bad, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	close(fd);
	dl_free(&p.dl);
	dl_unlock(lock);
	return 0;
}
