// SPDX-License-Identifier: GPL-2.0
/* The policy: categories, groups, clients, schedule windows; its file. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "settings.h"

static const char *day_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

void policy_init(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->cats[XSNI_CAT_DEFAULT], POLICY_NAME_MAX, "blocklist");
	snprintf(p->groups[0].name, POLICY_NAME_MAX, "default");
	p->groups[0].block = 1u << XSNI_CAT_DEFAULT;
}

void policy_free(struct policy *p)
{
	free(p->clients);
	p->clients = NULL;
	p->nclients = 0;
}

int policy_name_ok(const char *n)
{
	size_t i, len = strlen(n);

	if (len < 1 || len >= POLICY_NAME_MAX || n[0] < 'a' || n[0] > 'z')
		return 0;
	for (i = 0; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '-'))
			return 0;
	return 1;
}

int policy_cat(const struct policy *p, const char *name)
{
	int i;

	for (i = 0; i < XSNI_CATS_MAX; i++)
		if (p->cats[i][0] && !strcmp(p->cats[i], name))
			return i;
	return -1;
}

int policy_group(const struct policy *p, const char *name)
{
	int i;

	for (i = 0; i < XSNI_GROUPS_MAX; i++)
		if (p->groups[i].name[0] && !strcmp(p->groups[i].name, name))
			return i;
	return -1;
}

int policy_cat_list(const struct policy *p, const char *list, __u32 *bits)
{
	char buf[1024], *tok, *save = NULL;

	*bits = 0;
	if (!strcmp(list, "-") || !list[0])
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int c = policy_cat(p, tok);

		if (c < 0) {
			fprintf(stderr,
				"xdp-sni: no category '%.40s' (see `xdp-sni category list`)\n",
				tok);
			return -1;
		}
		*bits |= 1u << c;
	}
	return 0;
}

void policy_cat_names(const struct policy *p, __u32 bits, char *out, size_t len)
{
	size_t n = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < XSNI_CATS_MAX; i++)
		if ((bits >> i) & 1) {
			int w = snprintf(out + n, len - n, "%s%s", n ? "," : "",
					 p->cats[i][0] ? p->cats[i] : "?");
			if (w < 0 || (size_t)w >= len - n)
				break;
			n += w;
		}
	if (!n)
		snprintf(out, len, "-");
}

/* ---- clients ------------------------------------------------------------- */
int policy_parse_client(const char *s, struct pol_client *c)
{
	unsigned int m[6];
	char tail;
	struct prefix px;
	__u32 i;

	memset(c, 0, sizeof(*c));
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		   &tail) == 6 &&
	    strlen(s) == 17) {
		c->mac = 1;
		for (i = 0; i < 6; i++)
			c->addr[i] = m[i];
		if (c->addr[0] & 1)
			return -1; /* a group address never sends */
		return 0;
	}
	if (parse_prefix(s, &px))
		return -1;
	c->v6 = px.v6;
	c->plen = px.plen;
	memcpy(c->addr, px.addr, 16);
	/* the host bits go: 10.0.0.7/24 is 10.0.0.0/24 */
	for (i = c->plen; i < (c->v6 ? 128u : 32u); i++)
		c->addr[i / 8] &= ~(0x80 >> (i % 8));
	return 0;
}

void policy_client_str(const struct pol_client *c, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (c->mac) {
		snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", c->addr[0], c->addr[1],
			 c->addr[2], c->addr[3], c->addr[4], c->addr[5]);
		return;
	}
	inet_ntop(c->v6 ? AF_INET6 : AF_INET, c->addr, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, c->plen);
}

/* ---- subscriptions ------------------------------------------------------- */
int policy_url_ok(const char *url)
{
	size_t i, n = strlen(url);

	if (n >= POLICY_URL_MAX || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return 0;
	for (i = 0; i < n; i++)
		if (url[i] <= ' ' || url[i] >= 0x7f)
			return 0;
	return n > 8;
}

int policy_parse_every(const char *s, __u32 *min)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || !end[0] || end[1])
		return -1;
	switch (*end) {
	case 'm': break;
	case 'h': v *= 60; break;
	case 'd': v *= 1440; break;
	default: return -1;
	}
	if (v < 30 || v > 30 * 1440)
		return -1;
	*min = v;
	return 0;
}

void policy_every_str(unsigned int m, char *buf, size_t len)
{
	if (m % 1440 == 0)
		snprintf(buf, len, "%ud", m / 1440);
	else if (m % 60 == 0)
		snprintf(buf, len, "%uh", m / 60);
	else
		snprintf(buf, len, "%um", m);
}

int policy_client_eq(const struct pol_client *a, const struct pol_client *b)
{
	return a->mac == b->mac && a->v6 == b->v6 && a->plen == b->plen &&
	       !memcmp(a->addr, b->addr, 16);
}

/* ---- windows ------------------------------------------------------------- */
static int day_index(const char *s, size_t n)
{
	int i;

	for (i = 0; i < 7; i++)
		if (n == 3 && !strncmp(s, day_names[i], 3))
			return i;
	return -1;
}

int policy_parse_days(const char *s, __u32 *days)
{
	const char *p = s;

	*days = 0;
	if (!strcmp(s, "daily")) {
		*days = 0x7f;
		return 0;
	}
	if (!strcmp(s, "weekdays")) {
		*days = 0x1f;
		return 0;
	}
	if (!strcmp(s, "weekend")) {
		*days = 0x60;
		return 0;
	}
	while (*p) {
		size_t n = strcspn(p, ",");
		int a, b;

		if (n == 7 && p[3] == '-') {
			a = day_index(p, 3);
			b = day_index(p + 4, 3);
		} else {
			a = b = day_index(p, n);
		}
		if (a < 0 || b < 0)
			return -1;
		for (;;) {
			*days |= 1u << a;
			if (a == b)
				break;
			a = (a + 1) % 7; /* sat-mon wraps */
		}
		p += n;
		if (*p == ',' && *++p == 0)
			return -1;
	}
	return *days ? 0 : -1;
}

static int parse_hhmm(const char *s, __u32 *min)
{
	unsigned int h, m;
	char tail;

	if (strlen(s) != 5 || sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || h > 24 || m > 59 ||
	    (h == 24 && m))
		return -1;
	*min = h * 60 + m;
	return 0;
}

int policy_parse_span(const char *s, __u32 *start, __u32 *end)
{
	char a[8], b[8];

	if (strlen(s) != 11 || s[5] != '-')
		return -1;
	memcpy(a, s, 5);
	a[5] = 0;
	memcpy(b, s + 6, 5);
	b[5] = 0;
	if (parse_hhmm(a, start) || parse_hhmm(b, end) || *start == *end || *start >= 1440)
		return -1;
	return 0;
}

static void days_str(__u32 days, char *out, size_t len)
{
	size_t n = 0;
	int i;

	out[0] = 0;
	if (days == 0x7f) {
		snprintf(out, len, "daily");
		return;
	}
	for (i = 0; i < 7; i++)
		if ((days >> i) & 1)
			n += snprintf(out + n, len - n, "%s%s", n ? "," : "", day_names[i]);
}

void policy_window_str(const struct policy *p, const struct pol_window *w, char *out, size_t len)
{
	char days[40], cats[1024];

	days_str(w->days, days, sizeof(days));
	policy_cat_names(p, w->cats, cats, sizeof(cats));
	snprintf(out, len, "%s %s %02u:%02u-%02u:%02u %s %s",
		 p->groups[w->group % XSNI_GROUPS_MAX].name, days, w->start / 60, w->start % 60,
		 w->end / 60, w->end % 60, w->allow_only ? "allow-only" : "block", cats);
}

int policy_window_open(const struct pol_window *w, const struct tm *tm)
{
	__u32 today = (tm->tm_wday + 6) % 7, yesterday = (today + 6) % 7;
	__u32 m = tm->tm_hour * 60 + tm->tm_min;

	if (w->start < w->end)
		return ((w->days >> today) & 1) && m >= w->start && m < w->end;
	/* over midnight: from start today, or until end on the day after */
	return (((w->days >> today) & 1) && m >= w->start) ||
	       (((w->days >> yesterday) & 1) && m < w->end);
}

void policy_effective(const struct policy *p, const struct tm *tm,
		      struct xsni_group out[XSNI_GROUPS_MAX])
{
	size_t i;

	memset(out, 0, sizeof(struct xsni_group) * XSNI_GROUPS_MAX);
	for (i = 0; i < XSNI_GROUPS_MAX; i++) {
		const struct pol_group *g = &p->groups[i];

		if (!g->name[0])
			continue;
		out[i].block = g->block;
		out[i].allow = g->allow;
		out[i].flags = g->allow_only ? XSNI_GRP_ALLOW_ONLY : 0;
	}
	for (i = 0; i < p->nwindows; i++) {
		const struct pol_window *w = &p->windows[i];
		struct xsni_group *e = &out[w->group % XSNI_GROUPS_MAX];

		if (!p->groups[w->group % XSNI_GROUPS_MAX].name[0] || !policy_window_open(w, tm))
			continue;
		if (w->allow_only) {
			/* an allow-list window: only its categories (and the
			 * group's own allowed ones) pass */
			if (!(e->flags & XSNI_GRP_ALLOW_ONLY))
				e->allow = 0;
			e->flags |= XSNI_GRP_ALLOW_ONLY;
			e->allow |= w->cats;
		} else {
			e->block |= w->cats;
		}
	}
}

/* ---- the file ------------------------------------------------------------ */
static void file_path(char *buf, size_t len, const char *state_dir)
{
	snprintf(buf, len, "%s/policy", state_dir);
}

static int bad(const char *path, int lineno, const char *what)
{
	fprintf(stderr, "xdp-sni: %s:%d: %s\n", path, lineno, what);
	return -1;
}

static int load_line(struct policy *p, char **t, int nt, const char *path, int ln)
{
	char *end;
	unsigned long id;

	if (nt < 3)
		return bad(path, ln, "too few fields");
	id = strtoul(t[1], &end, 10);
	if (*end)
		return bad(path, ln, "bad number");
	if (!strcmp(t[0], "category")) {
		if (nt != 3 || id >= XSNI_CATS_MAX || !policy_name_ok(t[2]))
			return bad(path, ln, "bad category line");
		snprintf(p->cats[id], POLICY_NAME_MAX, "%s", t[2]);
		return 0;
	}
	if (!strcmp(t[0], "subscription")) {
		struct pol_sub *s;
		unsigned long every;

		if (nt != 4 || id >= XSNI_CATS_MAX || !p->cats[id][0] || !policy_url_ok(t[3]))
			return bad(path, ln, "bad subscription line");
		every = strtoul(t[2], &end, 10);
		if (*end || every < 30 || every > 30 * 1440)
			return bad(path, ln, "bad subscription interval");
		s = &p->subs[id];
		snprintf(s->url, POLICY_URL_MAX, "%s", t[3]);
		s->every_min = every;
		return 0;
	}
	if (!strcmp(t[0], "group")) {
		struct pol_group *g;

		if (nt != 6 || id >= XSNI_GROUPS_MAX || !policy_name_ok(t[2]) ||
		    strncmp(t[3], "block=", 6) || strncmp(t[4], "allow=", 6) ||
		    (strcmp(t[5], "mode=blocklist") && strcmp(t[5], "mode=allow-only")))
			return bad(path, ln, "bad group line");
		g = &p->groups[id];
		snprintf(g->name, POLICY_NAME_MAX, "%s", t[2]);
		if (policy_cat_list(p, t[3] + 6, &g->block) ||
		    policy_cat_list(p, t[4] + 6, &g->allow))
			return bad(path, ln, "unknown category");
		g->allow_only = !strcmp(t[5], "mode=allow-only");
		return 0;
	}
	if (id >= XSNI_GROUPS_MAX || !p->groups[id].name[0])
		return bad(path, ln, "no such group");
	if (!strcmp(t[0], "client")) {
		struct pol_client c, *v;

		if (nt != 3 || policy_parse_client(t[2], &c))
			return bad(path, ln, "bad client line");
		c.group = id;
		v = realloc(p->clients, (p->nclients + 1) * sizeof(*v));
		if (!v)
			return bad(path, ln, "out of memory");
		p->clients = v;
		v[p->nclients++] = c;
		return 0;
	}
	if (!strcmp(t[0], "window")) {
		struct pol_window *w;

		if (nt != 6 || p->nwindows >= POLICY_WINDOWS_MAX)
			return bad(path, ln, "bad window line (or too many windows)");
		w = &p->windows[p->nwindows];
		w->group = id;
		if (policy_parse_days(t[2], &w->days) ||
		    policy_parse_span(t[3], &w->start, &w->end) ||
		    (strcmp(t[4], "block") && strcmp(t[4], "allow-only")) ||
		    policy_cat_list(p, t[5], &w->cats))
			return bad(path, ln, "bad window line");
		w->allow_only = !strcmp(t[4], "allow-only");
		p->nwindows++;
		return 0;
	}
	return bad(path, ln, "unknown line");
}

int policy_load(struct policy *p, const char *state_dir)
{
	char path[PATH_MAX], line[POLICY_URL_MAX + 64];
	int ln = 0, rc = 0;
	FILE *f;

	policy_init(p);
	file_path(path, sizeof(path), state_dir);
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "xdp-sni: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* a file replaces the defaults whole */
	memset(p->cats, 0, sizeof(p->cats));
	memset(p->groups, 0, sizeof(p->groups));
	while (!rc && fgets(line, sizeof(line), f)) {
		char *t[8], *save = NULL, *tok;
		int nt = 0;

		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = bad(path, ln, "line too long");
			break;
		}
		line[strcspn(line, "#\n")] = 0;
		for (tok = strtok_r(line, " \t", &save); tok && nt < 8;
		     tok = strtok_r(NULL, " \t", &save))
			t[nt++] = tok;
		if (nt)
			rc = load_line(p, t, nt, path, ln);
	}
	fclose(f);
	if (!rc && (strcmp(p->cats[XSNI_CAT_DEFAULT], "blocklist") || !p->groups[0].name[0]))
		rc = bad(path, ln, "category 0 must be \"blocklist\" and group 0 must exist");
	if (rc) {
		policy_free(p);
		policy_init(p);
	}
	return rc;
}

int policy_save(const struct policy *p, const char *state_dir)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], a[1024], b[1024];
	size_t i;
	FILE *f;

	if (mkdir(state_dir, 0755) && errno != EEXIST)
		return -1;
	file_path(path, sizeof(path), state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "# xdp-sni policy: written by xdp-sni (category, group, client, schedule)\n");
	for (i = 0; i < XSNI_CATS_MAX; i++)
		if (p->cats[i][0])
			fprintf(f, "category %zu %s\n", i, p->cats[i]);
	for (i = 0; i < XSNI_GROUPS_MAX; i++) {
		const struct pol_group *g = &p->groups[i];

		if (!g->name[0])
			continue;
		policy_cat_names(p, g->block, a, sizeof(a));
		policy_cat_names(p, g->allow, b, sizeof(b));
		fprintf(f, "group %zu %s block=%s allow=%s mode=%s\n", i, g->name, a, b,
			g->allow_only ? "allow-only" : "blocklist");
	}
	for (i = 0; i < XSNI_CATS_MAX; i++)
		if (p->cats[i][0] && p->subs[i].url[0])
			fprintf(f, "subscription %zu %u %s\n", i, p->subs[i].every_min,
				p->subs[i].url);
	for (i = 0; i < p->nclients; i++) {
		policy_client_str(&p->clients[i], a, sizeof(a));
		fprintf(f, "client %u %s\n", p->clients[i].group, a);
	}
	for (i = 0; i < p->nwindows; i++) {
		const struct pol_window *w = &p->windows[i];

		days_str(w->days, a, sizeof(a));
		policy_cat_names(p, w->cats, b, sizeof(b));
		fprintf(f, "window %u %s %02u:%02u-%02u:%02u %s %s\n", w->group, a, w->start / 60,
			w->start % 60, w->end / 60, w->end % 60,
			w->allow_only ? "allow-only" : "block", b);
	}
	if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, path);
}
