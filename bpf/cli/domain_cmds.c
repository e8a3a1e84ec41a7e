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
#include "name_page.h"
#include "policy.h"

/* the bit of --category (default "blocklist"), or -1 after a message */
static int category_bit(const struct cmd_opts *co)
{
	struct policy p;
	int c;

	if (!co->category)
		return XSNI_CAT_DEFAULT;
	if (policy_load(&p, g.state_dir))
		return -1;
	c = policy_cat(&p, co->category);
	policy_free(&p);
	if (c < 0)
		warn("no category '%.40s' (see `xdp-sni category list`)", co->category);
	return c;
}

/* The end of a change to the list: the filter and the state file follow
 * the table, then everything is let go, the lock last. */
static void list_done(struct domlist *dl, struct domtable *dt, int lock)
{
	sync_filter_pinned(dl);
	dl_save_state(dl, g.state_dir);
	dt_close(dt);
	dl_free(dl);
	dl_unlock(lock);
}

int cmd_add(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	struct domtable *dt;
	struct dom *d;
	int sub = co->subdomains, i, lock, cat;

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
	cat = category_bit(co);
	if (cat < 0)
		return 1;
	ensure_maps();
	lock = dl_lock(g.state_dir);
	dt = pinned_domtable();
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < argc; i++) {
		int is_new;

		sub = co->subdomains;
		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		d = dl_add(&dl, name, cat_bits(cat, sub), &is_new);
		if (is_new && dl_live(&dl) > XSNI_DOMAINS_MAX)
			die("the list is full (%d names)", XSNI_DOMAINS_MAX);
		if (dt_put(dt, d->h, d->cats))
			die("the domain table is full");
		fprintf(o, "added %s (%s)\n", name, flags_str(cat_flags(d->cats, cat)));
	}
	list_done(&dl, dt, lock);
	return 0;
}

int cmd_del(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char name[XSNI_NAME_MAX + 8], err[160];
	struct domlist dl = {};
	struct domtable *dt;
	int i, sub = 0, rc = 0, lock, cat;
	__u64 mask;

	if (argc < 1)
		return CMD_USAGE;
	for (i = 0; i < argc; i++)
		if (normalise_arg(argv[i], name, &sub, err, sizeof(err)) == -1) {
			warn("bad domain '%.60s': %s", argv[i], err);
			return 1;
		}
	cat = category_bit(co);
	if (cat < 0)
		return 1;
	mask = XSNI_CATS(1u << cat, 1u << cat);
	lock = dl_lock(g.state_dir);
	dt = pinned_domtable();
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < argc; i++) {
		struct dom *d;
		__u64 h;

		normalise_domain(argv[i], name, &sub, err, sizeof(err));
		h = domain_hash(name, strlen(name));
		d = dl_find(&dl, h);
		if (!d || !(d->cats & mask)) {
			warn("%s is not listed%s%s", name, co->category ? " in " : "",
			     co->category ? co->category : "");
			rc = 1;
			continue;
		}
		/* out of this category; out of the table when in none */
		d->cats &= ~mask;
		if (d->cats) {
			if (dt_put(dt, h, d->cats))
				die("the domain table is full");
		} else {
			dt_del(dt, h);
			dl_del(d);
		}
		fprintf(o, "deleted %s\n", name);
	}
	list_done(&dl, dt, lock);
	return rc;
}

/* A name of category cat as `list` prints it: the kernel's flags, or the
 * saved ones when the kernel's table lacks it. */
static void list_row(FILE *o, const struct domtable *dt, const char *name, int len, __u64 h,
		     __u64 cats, unsigned int cat)
{
	__u32 f = cat_flags(dt_get(dt, h), cat);

	if (!f)
		fprintf(o, "%.*s\t%s\t(not in the kernel map)\n", len, name,
			flags_str(cat_flags(cats, cat)));
	else
		fprintf(o, "%.*s\t%s\n", len, name, flags_str(f));
}

_Static_assert(LIST_MAX == XSNI_DOMAINS_MAX, "list pages as far as a list goes");

/* --offset, --limit: 0 when both are in range (or not given), else 2 after a message */
static int page_opts_ok(const struct cmd_opts *co)
{
	if (co->offset > LIST_MAX) {
		warn("list: --offset must be 0 to %d, not %ld", LIST_MAX, co->offset);
		return 2;
	}
	if (co->count == 0 || co->count > LIST_MAX) {
		warn("list: --limit must be 1 to %d, not %ld", LIST_MAX, co->count);
		return 2;
	}
	return 0;
}

/* `list --offset --limit --match`: the counts, then the page in name order */
static int list_page(FILE *o, const struct cmd_opts *co, unsigned int cat)
{
	struct state_file sf;
	struct name_page np;
	struct domtable *dt;
	size_t i;

	if (state_read(g.state_dir, &sf)) {
		warn("cannot read the list in %s: %s", g.state_dir, strerror(errno));
		return 1;
	}
	dt = pinned_domtable();
	name_page(&sf, cat, co->match, co->offset < 0 ? 0 : co->offset,
		  co->count < 0 ? LIST_MAX : co->count, &np);
	fprintf(o, "# total %zu matching %zu\n", np.total, np.matching);
	for (i = 0; i < np.n; i++) {
		const struct state_entry *e = &np.v[i];

		list_row(o, dt, e->name, e->len, domain_hash(e->name, e->len), e->cats, cat);
	}
	name_page_free(&np);
	dt_close(dt);
	state_free(&sf);
	return 0;
}

int cmd_list(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct domlist dl = {};
	struct domtable *dt;
	size_t i;
	int cat, rc = page_opts_ok(co);

	if (rc)
		return rc;
	cat = category_bit(co);
	if (cat < 0)
		return 1;
	if (co->offset >= 0 || co->count >= 0 || co->match)
		return list_page(o, co, cat);
	dt = pinned_domtable();
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < dl.n; i++)
		if (dl.v[i].name && cat_flags(dl.v[i].cats, cat))
			list_row(o, dt, dl.v[i].name, strlen(dl.v[i].name), dl.v[i].h, dl.v[i].cats,
				 cat);
	dt_close(dt);
	dl_free(&dl);
	return 0;
}

/* --replace: the category loses every name first (old[i] keeps entry i's
 * categories); the file's names get it back */
static __u64 *take_category(struct domlist *dl, unsigned int cat)
{
	__u64 mask = XSNI_CATS(1u << cat, 1u << cat), *old = calloc(dl->n + 1, sizeof(*old));
	size_t i;

	if (!old)
		die("out of memory");
	for (i = 0; i < dl->n; i++) {
		old[i] = dl->v[i].cats;
		dl->v[i].cats &= ~mask;
	}
	return old;
}

int import_list(const struct import_req *q, struct import_res *res)
{
	struct parsed p = {};
	struct timespec t0, t1;
	size_t n_old = 0, removed = 0, i;
	__u64 *old = NULL, mask = XSNI_CATS(1u << q->cat, 1u << q->cat);
	int lock;

	memset(res, 0, sizeof(*res));
	p.cat = q->cat;
	p.need_end = q->need_end;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ensure_maps();
	/* the file's names go straight into the saved list, in memory; the
	 * kernel and the state file are written only if the file is good */
	lock = dl_lock(g.state_dir);
	dl_load_state(&p.dl, g.state_dir);
	if (q->replace) {
		n_old = p.dl.n;
		old = take_category(&p.dl, q->cat);
	}
	if (parse_list_file(q->file, q->subdomains, &p))
		goto refused;
	res->names = p.names;
	res->bad = p.bad;
	if (p.need_end && !p.ended) {
		warn("the list stopped before its end line '.'; nothing imported");
		goto refused;
	}
	if (p.bad && q->max_bad_pct < 0) {
		warn("%d bad line(s) in %s; nothing imported "
		     "(use --skip-bad to import the valid names)",
		     p.bad, q->file);
		goto refused;
	}
	if (!p.names) {
		warn("no names in %s (only comments, blank or bad lines); nothing imported",
		     q->file);
		goto refused;
	}
	if (q->max_bad_pct >= 0 && p.bad * 100.0 > q->max_bad_pct * (double)(p.bad + p.names)) {
		warn("%s: %d of %zu lines are bad (more than %d%%): not a list; nothing imported",
		     q->file, p.bad, p.bad + p.names, q->max_bad_pct);
		goto refused;
	}
	if (dl_live(&p.dl) > XSNI_DOMAINS_MAX) {
		warn("%s: the list would hold %zu names, more than %d; nothing imported", q->file,
		     dl_live(&p.dl), XSNI_DOMAINS_MAX);
		goto refused;
	}
	for (i = 0; i < n_old; i++)
		if (p.dl.v[i].name && (old[i] & mask) && !(p.dl.v[i].cats & mask))
			removed++;
	if (q->replace) {
		/* new to the category: the parser saw it emptied */
		p.added = 0;
		for (i = 0; i < p.dl.n; i++)
			if (p.dl.v[i].name && (p.dl.v[i].cats & mask) &&
			    (i >= n_old || !(old[i] & mask)))
				p.added++;
	}
	if (p.changed || removed) {
		struct domtable *dt = pinned_domtable();

		/* the new and changed entries first, then those the file
		 * dropped: a name in the list before and after is never absent */
		map_put_domains(dt, &p.dl);
		for (i = 0; i < n_old; i++) {
			struct dom *d = &p.dl.v[i];

			if (!d->name || d->cats)
				continue;
			dt_del(dt, d->h);
			dl_del(d);
		}
		dt_close(dt);
	}
	sync_filter_pinned(&p.dl);
	dl_save_state(&p.dl, g.state_dir);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->added = p.added;
	res->removed = removed;
	res->seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(old);
	dl_free(&p.dl);
	dl_unlock(lock);
	return 0;
refused:
	free(old);
	dl_free(&p.dl);
	dl_unlock(lock);
	return 1;
}

int cmd_import(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct import_req q = { .subdomains = co->subdomains, .replace = co->replace };
	struct import_res r;
	int cat = category_bit(co);

	if (argc != 1)
		return CMD_USAGE;
	if (cat < 0)
		return 1;
	/* over the socket the names come on the connection, never from a file
	 * the daemon would open as root */
	if (co->from_socket && strcmp(argv[0], "-")) {
		warn("over the control socket, import takes '-' (the names follow on the "
		     "connection, ending with a line '.')");
		return 2;
	}
	q.file = argv[0];
	q.cat = cat;
	q.need_end = co->from_socket;
	q.max_bad_pct = co->skip_bad ? 100 : -1;
	if (import_list(&q, &r))
		return 1;
	fprintf(o, "imported %zu names (%zu new, %zu removed, %d bad lines skipped) in %.3f s\n",
		r.names, r.added, r.removed, r.bad, r.seconds);
	return 0;
}
