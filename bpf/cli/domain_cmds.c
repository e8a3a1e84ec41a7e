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

int cmd_add(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	struct xsni_domain v = {};
	struct dom *d;
	int sub = co->subdomains, fd, i;

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
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < argc; i++) {
		sub = co->subdomains;
		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		d = dl_add(&dl, name, sub ? XSNI_DOM_SUBDOMAINS : XSNI_DOM_EXACT, NULL);
		v.flags = d->flags;
		if (bpf_map_update_elem(fd, &d->h, &v, 0))
			die("cannot update domain map: %s", strerror(errno));
		fprintf(o, "added %s (%s)\n", name, flags_str(d->flags));
	}
	sync_filter_pinned(&dl);
	dl_save_state(&dl, g.state_dir);
	close(fd);
	return 0;
}

int cmd_del(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	int fd, i, sub = 0, rc = 0;

	if (argc < 1)
		return CMD_USAGE;
	for (i = 0; i < argc; i++)
		if (normalise_arg(argv[i], name, &sub, err, sizeof(err))) {
			warn("bad domain '%.60s': %s", argv[i], err);
			return 1;
		}
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < argc; i++) {
		struct dom *d;
		__u64 h;

		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		h = domain_hash(name, strlen(name));
		d = dl_find(&dl, h);
		if (bpf_map_delete_elem(fd, &h) && !d) {
			warn("%s is not listed", name);
			rc = 1;
			continue;
		}
		if (d) {
			free(d->name);
			d->name = NULL;
		}
		fprintf(o, "deleted %s\n", name);
	}
	sync_filter_pinned(&dl);
	dl_save_state(&dl, g.state_dir);
	close(fd);
	return rc;
}

int cmd_list(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct domlist dl = {};
	struct xsni_domain v;
	size_t i;
	int fd = map_fd_or_die(XSNI_MAP_DOMAINS);

	dl_load_state(&dl, g.state_dir);
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

int cmd_import(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct parsed p = {};
	struct domlist dl = {};
	struct timespec t0, t1;
	size_t i, added = 0;
	int fd;

	if (argc != 1)
		return CMD_USAGE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (parse_list_file(argv[0], co->subdomains, &p))
		return 1;
	if (p.bad && !co->skip_bad) {
		warn("%d bad line(s) in %s; nothing imported "
		     "(use --skip-bad to import the valid names)", p.bad, argv[0]);
		return 1;
	}
	ensure_maps();
	fd = map_fd_or_die(XSNI_MAP_DOMAINS);
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < p.dl.n; i++) {
		int is_new;
		struct dom *d = dl_add(&dl, p.dl.v[i].name, p.dl.v[i].flags, &is_new);

		p.dl.v[i].flags = d->flags;
		added += is_new;
	}
	map_put_domains(fd, &p.dl);
	sync_filter_pinned(&dl);
	dl_save_state(&dl, g.state_dir);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(o, "imported %zu names (%zu new, %d bad lines skipped) in %.3f s\n",
		p.dl.n, added, p.bad,
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	close(fd);
	return 0;
}
