// SPDX-License-Identifier: GPL-2.0
/* `category`, `group`, `client`, `schedule`: the policy file and the maps.
 * Each change is checked whole first, then saved, then written to the
 * maps: bad input changes nothing. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "domains.h"
#include "domtable.h"
#include "log.h"
#include "maps.h"
#include "policy.h"
#include "policy_maps.h"

/* load under the state lock; -1 (lock released) if the file is bad */
static int begin(struct policy *p, int *lock)
{
	*lock = dl_lock(g.state_dir);
	if (policy_load(p, g.state_dir)) {
		dl_unlock(*lock);
		return -1;
	}
	return 0;
}

/* save, write the maps, let go */
static int commit(struct policy *p, int lock)
{
	int rc = 0;

	if (policy_save(p, g.state_dir)) {
		warn("cannot write %s/policy", g.state_dir);
		rc = 1;
	} else {
		ensure_maps();
		policy_write_pinned(p, time(NULL));
	}
	policy_free(p);
	dl_unlock(lock);
	return rc;
}

static int give_up(struct policy *p, int lock, const char *fmt, const char *arg)
{
	warn(fmt, arg);
	policy_free(p);
	dl_unlock(lock);
	return 1;
}

/* names per category, from the list (read as it is: no index is built) */
static int count_names(__u32 counts[XSNI_CATS_MAX])
{
	struct state_file sf;
	struct state_entry e;
	size_t pos = 0;
	int c;

	memset(counts, 0, sizeof(__u32) * XSNI_CATS_MAX);
	if (state_read(g.state_dir, &sf)) {
		warn("cannot read the list in %s: %s", g.state_dir, strerror(errno));
		return -1;
	}
	while (state_next(&sf, &pos, &e)) {
		__u32 m = XSNI_CATS_EXACT(e.cats) | XSNI_CATS_SUB(e.cats);

		for (c = 0; m; c++, m >>= 1)
			counts[c] += m & 1;
	}
	state_free(&sf);
	return 0;
}

/* every name loses category bit c: entries left with none go */
static void drop_category_names(int c)
{
	struct domlist dl = {};
	struct domtable *dt;
	__u64 mask = XSNI_CATS(1u << c, 1u << c);
	size_t i;

	ensure_maps();
	dt = pinned_domtable();
	dl_load_state(&dl, g.state_dir);
	for (i = 0; i < dl.n; i++) {
		struct dom *d = &dl.v[i];

		if (!d->name || !(d->cats & mask))
			continue;
		d->cats &= ~mask;
		if (d->cats) {
			dt_put(dt, d->h, d->cats);
		} else {
			dt_del(dt, d->h);
			dl_del(d);
		}
	}
	sync_filter_pinned(&dl);
	dl_save_state(&dl, g.state_dir);
	dt_close(dt);
	dl_free(&dl);
}

int cmd_category(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct policy p;
	int lock, c;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		__u32 counts[XSNI_CATS_MAX];

		if (policy_load(&p, g.state_dir))
			return 1;
		if (count_names(counts)) {
			policy_free(&p);
			return 1;
		}
		for (c = 0; c < XSNI_CATS_MAX; c++)
			if (p.cats[c][0])
				fprintf(o, "%s\t%u\n", p.cats[c], counts[c]);
		policy_free(&p);
		return 0;
	}
	if (argc != 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "del")))
		return CMD_USAGE;
	if (!policy_name_ok(argv[1])) {
		warn("bad category name '%.40s': 1 to 31 lower-case letters, digits or '-', "
		     "starting with a letter",
		     argv[1]);
		return 1;
	}
	if (begin(&p, &lock))
		return 1;
	c = policy_cat(&p, argv[1]);
	if (!strcmp(argv[0], "add")) {
		if (c >= 0)
			return give_up(&p, lock, "category %s exists", argv[1]);
		for (c = 0; c < XSNI_CATS_MAX && p.cats[c][0]; c++)
			;
		if (c == XSNI_CATS_MAX)
			return give_up(&p, lock, "no room for category %s (at most 32)", argv[1]);
		snprintf(p.cats[c], POLICY_NAME_MAX, "%s", argv[1]);
		fprintf(o, "added category %s\n", argv[1]);
		return commit(&p, lock);
	}
	if (c < 0)
		return give_up(&p, lock, "no category %s", argv[1]);
	if (c == XSNI_CAT_DEFAULT)
		return give_up(&p, lock, "category %s cannot be removed", argv[1]);
	{
		size_t i, k = 0;

		for (i = 0; i < XSNI_GROUPS_MAX; i++) {
			p.groups[i].block &= ~(1u << c);
			p.groups[i].allow &= ~(1u << c);
		}
		/* windows of that category alone go; the others lose it */
		for (i = 0; i < p.nwindows; i++) {
			p.windows[i].cats &= ~(1u << c);
			if (p.windows[i].cats)
				p.windows[k++] = p.windows[i];
		}
		p.nwindows = k;
	}
	p.cats[c][0] = 0;
	p.subs[c].url[0] = 0;
	/* the policy first (no group blocks it any more), then its names */
	if (commit(&p, lock))
		return 1;
	lock = dl_lock(g.state_dir);
	drop_category_names(c);
	dl_unlock(lock);
	fprintf(o, "removed category %s\n", argv[1]);
	return 0;
}

static void print_group(FILE *o, const struct policy *p, int i)
{
	const struct pol_group *gr = &p->groups[i];
	char b[1024], a[1024];
	size_t k, n = 0;

	for (k = 0; k < p->nclients; k++)
		n += p->clients[k].group == (__u32)i;
	policy_cat_names(p, gr->block, b, sizeof(b));
	policy_cat_names(p, gr->allow, a, sizeof(a));
	fprintf(o, "%s\tmode=%s\tblock=%s\tallow=%s\tclients=%zu\n", gr->name,
		gr->allow_only ? "allow-only" : "blocklist", b, a, n);
}

int cmd_group(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct policy p;
	int lock, i;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		if (policy_load(&p, g.state_dir))
			return 1;
		for (i = 0; i < XSNI_GROUPS_MAX; i++)
			if (p.groups[i].name[0])
				print_group(o, &p, i);
		policy_free(&p);
		return 0;
	}
	if (argc < 2)
		return CMD_USAGE;
	if (!policy_name_ok(argv[1])) {
		warn("bad group name '%.40s': 1 to 31 lower-case letters, digits or '-', "
		     "starting with a letter",
		     argv[1]);
		return 1;
	}
	if (!strcmp(argv[0], "add") && argc == 2) {
		if (begin(&p, &lock))
			return 1;
		if (policy_group(&p, argv[1]) >= 0)
			return give_up(&p, lock, "group %s exists", argv[1]);
		for (i = 1; i < XSNI_GROUPS_MAX && p.groups[i].name[0]; i++)
			;
		if (i == XSNI_GROUPS_MAX)
			return give_up(&p, lock, "no room for group %s (at most 64)", argv[1]);
		/* a new group starts as the default group's policy */
		p.groups[i] = p.groups[0];
		snprintf(p.groups[i].name, POLICY_NAME_MAX, "%s", argv[1]);
		fprintf(o, "added group %s\n", argv[1]);
		return commit(&p, lock);
	}
	if (!strcmp(argv[0], "del") && argc == 2) {
		size_t k, n = 0;

		if (begin(&p, &lock))
			return 1;
		i = policy_group(&p, argv[1]);
		if (i < 0)
			return give_up(&p, lock, "no group %s", argv[1]);
		if (i == 0)
			return give_up(&p, lock, "group %s cannot be removed", argv[1]);
		/* its clients fall back to the default group; its windows go */
		for (k = 0; k < p.nclients; k++)
			if (p.clients[k].group != (__u32)i)
				p.clients[n++] = p.clients[k];
		p.nclients = n;
		for (k = 0, n = 0; k < p.nwindows; k++)
			if (p.windows[k].group != (__u32)i)
				p.windows[n++] = p.windows[k];
		p.nwindows = n;
		memset(&p.groups[i], 0, sizeof(p.groups[i]));
		fprintf(o, "removed group %s\n", argv[1]);
		return commit(&p, lock);
	}
	if ((!strcmp(argv[0], "block") || !strcmp(argv[0], "allow")) && argc == 3) {
		__u32 bits;

		if (begin(&p, &lock))
			return 1;
		i = policy_group(&p, argv[1]);
		if (i < 0)
			return give_up(&p, lock, "no group %s", argv[1]);
		if (policy_cat_list(&p, argv[2], &bits))
			return give_up(&p, lock, "group %s not changed", argv[1]);
		if (!strcmp(argv[0], "block"))
			p.groups[i].block = bits;
		else
			p.groups[i].allow = bits;
		print_group(o, &p, i);
		return commit(&p, lock);
	}
	if (!strcmp(argv[0], "mode") && argc == 3) {
		if (strcmp(argv[2], "blocklist") && strcmp(argv[2], "allow-only")) {
			warn("bad mode '%.40s' (blocklist or allow-only)", argv[2]);
			return 1;
		}
		if (begin(&p, &lock))
			return 1;
		i = policy_group(&p, argv[1]);
		if (i < 0)
			return give_up(&p, lock, "no group %s", argv[1]);
		p.groups[i].allow_only = !strcmp(argv[2], "allow-only");
		print_group(o, &p, i);
		return commit(&p, lock);
	}
	return CMD_USAGE;
}

int cmd_client(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct pol_client c;
	struct policy p;
	char s[64];
	size_t k;
	int lock, i;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		if (policy_load(&p, g.state_dir))
			return 1;
		for (k = 0; k < p.nclients; k++) {
			policy_client_str(&p.clients[k], s, sizeof(s));
			fprintf(o, "%s\t%s\n", s, p.groups[p.clients[k].group].name);
		}
		policy_free(&p);
		return 0;
	}
	if (!((argc == 3 && !strcmp(argv[0], "add")) || (argc == 2 && !strcmp(argv[0], "del"))))
		return CMD_USAGE;
	if (policy_parse_client(argv[argc - 1], &c)) {
		warn("bad client '%.60s': an address, a prefix (192.0.2.0/24, 2001:db8::/64) or "
		     "a MAC address (aa:bb:cc:dd:ee:ff)",
		     argv[argc - 1]);
		return 1;
	}
	if (begin(&p, &lock))
		return 1;
	for (k = 0; k < p.nclients && !policy_client_eq(&p.clients[k], &c); k++)
		;
	policy_client_str(&c, s, sizeof(s));
	if (!strcmp(argv[0], "del")) {
		if (k == p.nclients)
			return give_up(&p, lock, "%s is in no group", s);
		p.clients[k] = p.clients[--p.nclients];
		fprintf(o, "%s is in the default group again\n", s);
		return commit(&p, lock);
	}
	i = policy_group(&p, argv[1]);
	if (i < 0)
		return give_up(&p, lock, "no group %s", argv[1]);
	if (k == p.nclients) {
		struct pol_client *v;

		if (p.nclients >= XSNI_CLIENTS_MAX)
			return give_up(&p, lock, "no room for %s (at most 4096 clients)", s);
		v = realloc(p.clients, (p.nclients + 1) * sizeof(*v));
		if (!v)
			die("out of memory");
		p.clients = v;
		p.nclients++;
	}
	c.group = i;
	p.clients[k] = c;
	fprintf(o, "%s is in group %s\n", s, argv[1]);
	return commit(&p, lock);
}

/* "2026-11-30 08:00" (local time) or "@SECONDS" since the epoch */
static int parse_at(const char *s, time_t *t)
{
	struct tm tm = {};
	const char *end;

	if (s[0] == '@') {
		char *e;
		long long v = strtoll(s + 1, &e, 10);

		if (e == s + 1 || *e || v < 0)
			return -1;
		*t = (time_t)v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%d %H:%M", &tm);
	if (!end || *end)
		return -1;
	tm.tm_isdst = -1;
	*t = mktime(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

int cmd_schedule(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct pol_window w = {};
	struct policy p;
	char s[1200];
	size_t k;
	int lock, i;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		if (policy_load(&p, g.state_dir))
			return 1;
		for (k = 0; k < p.nwindows; k++) {
			policy_window_str(&p, &p.windows[k], s, sizeof(s));
			fprintf(o, "%zu\t%s\t%s\n", k + 1, s,
				policy_window_open(&p.windows[k], &tm) ? "open" : "closed");
		}
		policy_free(&p);
		return 0;
	}
	if (argc == 1 && !strcmp(argv[0], "apply")) {
		/* the groups as they are at --at (a test's clock) or now; the
		 * daemon does this at every minute */
		time_t t = time(NULL);

		if (co->at && parse_at(co->at, &t)) {
			warn("bad --at '%.40s' (YYYY-MM-DD HH:MM, local time, or @SECONDS)",
			     co->at);
			return 1;
		}
		if (begin(&p, &lock))
			return 1;
		ensure_maps();
		i = policy_write_pinned(&p, t);
		fprintf(o, "%s\n", i ? "applied: a group's policy changed" : "applied: no change");
		policy_free(&p);
		dl_unlock(lock);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[0], "del")) {
		char *end;
		unsigned long n = strtoul(argv[1], &end, 10);

		if (begin(&p, &lock))
			return 1;
		if (*end || n < 1 || n > p.nwindows)
			return give_up(&p, lock, "no window %s (see `xdp-sni schedule list`)",
				       argv[1]);
		memmove(&p.windows[n - 1], &p.windows[n], (p.nwindows - n) * sizeof(w));
		p.nwindows--;
		fprintf(o, "removed window %lu\n", n);
		return commit(&p, lock);
	}
	if (argc != 6 || strcmp(argv[0], "add"))
		return CMD_USAGE;
	if (policy_parse_days(argv[2], &w.days)) {
		warn("bad days '%.40s' (mon-fri, sat,sun, daily, weekdays, weekend)", argv[2]);
		return 1;
	}
	if (policy_parse_span(argv[3], &w.start, &w.end)) {
		warn("bad time span '%.40s' (HH:MM-HH:MM; over midnight is fine)", argv[3]);
		return 1;
	}
	if (strcmp(argv[4], "block") && strcmp(argv[4], "allow-only")) {
		warn("bad action '%.40s' (block or allow-only)", argv[4]);
		return 1;
	}
	w.allow_only = !strcmp(argv[4], "allow-only");
	if (begin(&p, &lock))
		return 1;
	i = policy_group(&p, argv[1]);
	if (i < 0)
		return give_up(&p, lock, "no group %s", argv[1]);
	if (policy_cat_list(&p, argv[5], &w.cats) || !w.cats)
		return give_up(&p, lock, "window not added: name one or more categories (%s)",
			       argv[5]);
	if (p.nwindows >= POLICY_WINDOWS_MAX)
		return give_up(&p, lock, "no room for another window (at most %s)", "256");
	w.group = i;
	p.windows[p.nwindows++] = w;
	policy_window_str(&p, &w, s, sizeof(s));
	fprintf(o, "added window %zu: %s\n", p.nwindows, s);
	return commit(&p, lock);
}
