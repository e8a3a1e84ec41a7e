// SPDX-License-Identifier: GPL-2.0
/* `export policy|lists|history`: the admin's data as JSON or CSV. */
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "cli.h"
#include "domains.h"
#include "log.h"
#include "policy.h"
#include "subscribe.h"

void jstr(FILE *o, const unsigned char *s, size_t n)
{
	size_t i;

	fputc('"', o);
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fprintf(o, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] > 0x7e)
			fprintf(o, "\\u%04x", s[i]);
		else
			fputc(s[i], o);
	}
	fputc('"', o);
}

static void js(FILE *o, const char *s)
{
	jstr(o, (const unsigned char *)s, strlen(s));
}

/* a CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break; a leading = + - @ gets a ' so that no spreadsheet runs it; bytes
 * outside printable ASCII as \xHH */
static void cfield(FILE *o, const unsigned char *s, size_t n)
{
	size_t i;

	fputc('"', o);
	if (n && strchr("=+-@", s[0]))
		fputc('\'', o);
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			fputs("\"\"", o);
		else if (s[i] < 0x20 || s[i] > 0x7e)
			fprintf(o, "\\x%02x", s[i]);
		else
			fputc(s[i], o);
	}
	fputc('"', o);
}

static void cf(FILE *o, const char *s)
{
	cfield(o, (const unsigned char *)s, strlen(s));
}

static void cat_list_json(FILE *o, const struct policy *p, __u32 bits)
{
	int c, first = 1;

	fputc('[', o);
	for (c = 0; c < XSNI_CATS_MAX; c++)
		if (((bits >> c) & 1) && p->cats[c][0]) {
			if (!first)
				fputc(',', o);
			js(o, p->cats[c]);
			first = 0;
		}
	fputc(']', o);
}

static void days_list(__u32 days, char *out, size_t len)
{
	static const char *names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
	size_t n = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < 7; i++)
		if ((days >> i) & 1)
			n += snprintf(out + n, len - n, "%s%s", n ? "," : "", names[i]);
}

static void hhmm(unsigned int m, char *buf, size_t len)
{
	snprintf(buf, len, "%02u:%02u", m / 60, m % 60);
}

static int export_policy(FILE *o, int csv)
{
	struct policy p;
	char a[1024], b[1024], from[8], to[8];
	size_t k;
	int c, i, first;

	if (policy_load(&p, g.state_dir))
		return 1;
	if (csv) {
		fprintf(o, "kind,group,name,value\r\n");
		for (c = 0; c < XSNI_CATS_MAX; c++) {
			if (!p.cats[c][0])
				continue;
			fprintf(o, "category,,");
			cf(o, p.cats[c]);
			fputc(',', o);
			cf(o, p.subs[c].url);
			fprintf(o, "\r\n");
		}
		for (i = 0; i < XSNI_GROUPS_MAX; i++) {
			const struct pol_group *gr = &p.groups[i];

			if (!gr->name[0])
				continue;
			policy_cat_names(&p, gr->block, a, sizeof(a));
			policy_cat_names(&p, gr->allow, b, sizeof(b));
			fprintf(o, "group,%s,mode,%s\r\ngroup,%s,block,", gr->name,
				gr->allow_only ? "allow-only" : "blocklist", gr->name);
			cf(o, gr->block ? a : "");
			fprintf(o, "\r\ngroup,%s,allow,", gr->name);
			cf(o, gr->allow ? b : "");
			fprintf(o, "\r\n");
		}
		for (k = 0; k < p.nclients; k++) {
			policy_client_str(&p.clients[k], a, sizeof(a));
			fprintf(o, "client,%s,,%s\r\n", p.groups[p.clients[k].group].name, a);
		}
		for (k = 0; k < p.nwindows; k++) {
			policy_window_str(&p, &p.windows[k], b, sizeof(b));
			fprintf(o, "window,%s,,", p.groups[p.windows[k].group].name);
			cf(o, strchr(b, ' ') + 1);
			fprintf(o, "\r\n");
		}
		policy_free(&p);
		return 0;
	}
	fprintf(o, "{\"format\":\"xdp-sni-policy\",\"version\":1,\"categories\":[");
	for (c = 0, first = 1; c < XSNI_CATS_MAX; c++) {
		if (!p.cats[c][0])
			continue;
		fprintf(o, "%s{\"name\":", first ? "" : ",");
		js(o, p.cats[c]);
		if (p.subs[c].url[0]) {
			policy_every_str(p.subs[c].every_min, a, sizeof(a));
			fprintf(o, ",\"subscription\":{\"url\":");
			js(o, p.subs[c].url);
			fprintf(o, ",\"every\":\"%s\"}", a);
		}
		fputc('}', o);
		first = 0;
	}
	fprintf(o, "],\"groups\":[");
	for (i = 0, first = 1; i < XSNI_GROUPS_MAX; i++) {
		const struct pol_group *gr = &p.groups[i];
		int f2 = 1;

		if (!gr->name[0])
			continue;
		fprintf(o, "%s{\"name\":", first ? "" : ",");
		js(o, gr->name);
		fprintf(o,
			",\"mode\":\"%s\",\"block\":", gr->allow_only ? "allow-only" : "blocklist");
		cat_list_json(o, &p, gr->block);
		fprintf(o, ",\"allow\":");
		cat_list_json(o, &p, gr->allow);
		fprintf(o, ",\"clients\":[");
		for (k = 0; k < p.nclients; k++)
			if (p.clients[k].group == (__u32)i) {
				policy_client_str(&p.clients[k], a, sizeof(a));
				fprintf(o, "%s\"%s\"", f2 ? "" : ",", a);
				f2 = 0;
			}
		fprintf(o, "],\"windows\":[");
		for (k = 0, f2 = 1; k < p.nwindows; k++) {
			const struct pol_window *w = &p.windows[k];

			if (w->group != (__u32)i)
				continue;
			days_list(w->days, b, sizeof(b));
			hhmm(w->start, from, sizeof(from));
			hhmm(w->end, to, sizeof(to));
			fprintf(o,
				"%s{\"days\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"action\":\"%s\","
				"\"categories\":",
				f2 ? "" : ",", b, from, to, w->allow_only ? "allow-only" : "block");
			cat_list_json(o, &p, w->cats);
			fputc('}', o);
			f2 = 0;
		}
		fprintf(o, "]}");
		first = 0;
	}
	fprintf(o, "]}\n");
	policy_free(&p);
	return 0;
}

static int export_lists(FILE *o, int csv)
{
	struct domlist dl = {};
	struct policy p;
	size_t i;
	int c, first = 1;

	if (policy_load(&p, g.state_dir))
		return 1;
	dl_load_state(&dl, g.state_dir);
	if (csv)
		fprintf(o, "name,category,subdomains\r\n");
	else
		fprintf(o, "{\"format\":\"xdp-sni-lists\",\"version\":1,\"names\":[");
	for (i = 0; i < dl.n; i++) {
		const struct dom *d = &dl.v[i];

		if (!d->name)
			continue;
		for (c = 0; c < XSNI_CATS_MAX; c++) {
			__u32 f = cat_flags(d->cats, c);

			if (!f)
				continue;
			if (csv) {
				cf(o, d->name);
				fputc(',', o);
				cf(o, p.cats[c][0] ? p.cats[c] : "?");
				fprintf(o, ",%s\r\n", f & XSNI_DOM_SUBDOMAINS ? "yes" : "no");
			} else {
				fprintf(o, "%s{\"name\":", first ? "" : ",");
				js(o, d->name);
				fprintf(o, ",\"category\":");
				js(o, p.cats[c][0] ? p.cats[c] : "?");
				fprintf(o, ",\"subdomains\":%s}",
					f & XSNI_DOM_SUBDOMAINS ? "true" : "false");
				first = 0;
			}
		}
	}
	if (!csv)
		fprintf(o, "]}\n");
	dl_free(&dl);
	policy_free(&p);
	return 0;
}

static int export_history(FILE *o, int csv, const struct cmd_opts *co)
{
	char path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long since = co->since ? strtoll(co->since, NULL, 10) : 0;
	int rc, first = 1;

	snprintf(path, sizeof(path), "%s/history.db", g.state_dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT id, t, client, grp, cats, verdict, sni FROM events"
			       " WHERE t >= ? ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK) {
		warn("history: cannot read %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	sqlite3_bind_int64(s, 1, since);
	if (csv)
		fprintf(o, "id,time,client,group,categories,verdict,name\r\n");
	else
		fprintf(o, "{\"format\":\"xdp-sni-history\",\"version\":1,\"events\":[");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *sni = sqlite3_column_blob(s, 6);
		size_t n = sqlite3_column_bytes(s, 6);
		const char *client = (const char *)sqlite3_column_text(s, 2),
			   *grp = (const char *)sqlite3_column_text(s, 3),
			   *cats = (const char *)sqlite3_column_text(s, 4),
			   *verdict = (const char *)sqlite3_column_text(s, 5);

		if (csv) {
			fprintf(o, "%lld,%lld,", (long long)sqlite3_column_int64(s, 0),
				(long long)sqlite3_column_int64(s, 1));
			cf(o, client);
			fputc(',', o);
			cf(o, grp);
			fputc(',', o);
			cf(o, cats);
			fputc(',', o);
			cf(o, verdict);
			fputc(',', o);
			cfield(o, sni, n);
			fprintf(o, "\r\n");
		} else {
			fprintf(o, "%s{\"id\":%lld,\"time\":%lld,\"client\":", first ? "" : ",",
				(long long)sqlite3_column_int64(s, 0),
				(long long)sqlite3_column_int64(s, 1));
			js(o, client);
			fprintf(o, ",\"group\":");
			js(o, grp);
			fprintf(o, ",\"categories\":");
			js(o, cats);
			fprintf(o, ",\"verdict\":");
			js(o, verdict);
			fprintf(o, ",\"name\":");
			jstr(o, sni, n);
			fputc('}', o);
			first = 0;
		}
	}
	if (!csv)
		fprintf(o, "]}\n");
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (rc != SQLITE_DONE) {
		warn("history: %s", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}

int cmd_export(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	int csv;

	if (argc != 1)
		return CMD_USAGE;
	if (co->format && strcmp(co->format, "json") && strcmp(co->format, "csv")) {
		warn("bad --format '%.20s' (json or csv)", co->format);
		return 1;
	}
	csv = co->format && !strcmp(co->format, "csv");
	if (!strcmp(argv[0], "policy"))
		return export_policy(o, csv);
	if (!strcmp(argv[0], "lists"))
		return export_lists(o, csv);
	if (!strcmp(argv[0], "history"))
		return export_history(o, csv, co);
	return CMD_USAGE;
}
