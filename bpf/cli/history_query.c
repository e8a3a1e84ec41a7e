// SPDX-License-Identifier: GPL-2.0
/* `xdp-sni history`: the event history, read only. Output is one record a
 * line, fields tab-separated; a server name is printed as sent, with every
 * byte outside printable ASCII (and '\') as \xHH, so any line parses. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sqlite3.h>

#include "cli.h"
#include "history.h"
#include "log.h"

void text_esc(FILE *o, const unsigned char *s, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '\\')
			fprintf(o, "\\x%02x", s[i]);
		else
			fputc(s[i], o);
	}
}

static void col(FILE *o, sqlite3_stmt *s, int i)
{
	text_esc(o, sqlite3_column_blob(s, i), sqlite3_column_bytes(s, i));
}

static const char *const VERDICTS[] = { "pass",   "monitor",         "block",
					"exempt", "unreadable-pass", "unreadable-block",
					NULL };

static int verdict_ok(const char *v)
{
	int i;

	for (i = 0; VERDICTS[i]; i++)
		if (!strcmp(v, VERDICTS[i]))
			return 1;
	return 0;
}

static int parse_time(const char *s, long long *t)
{
	char *end;
	long long v;

	if (!s)
		return 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || v < 0)
		return -1;
	*t = v;
	return 0;
}

/* bind a text value, or NULL */
static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}

static int run_rows(sqlite3 *db, sqlite3_stmt *s, FILE *o, int ncol)
{
	int rc, i;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < ncol; i++) {
			if (i)
				fputc('\t', o);
			if (sqlite3_column_type(s, i) == SQLITE_INTEGER)
				fprintf(o, "%lld", (long long)sqlite3_column_int64(s, i));
			else if (sqlite3_column_type(s, i) == SQLITE_NULL)
				fputc('-', o);
			else
				col(o, s, i);
		}
		fputc('\n', o);
	}
	if (rc != SQLITE_DONE) {
		warn("history: %s", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		warn("history: %s", sqlite3_errmsg(db));
	return s;
}

int hist_query(const char *path, int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	long long since = 0, before = 0, step = 60;
	int limit = co->limit > 0 ? co->limit : 200, rc = 1;
	const char *what = argc ? argv[0] : "";
	sqlite3_stmt *s = NULL;
	sqlite3 *db = NULL;
	char name[256] = "";

	if (argc < 1 || argc > 2)
		return 2;
	if (parse_time(co->since, &since) || parse_time(co->before, &before)) {
		warn("bad --since or --before (seconds since the epoch, or an event id)");
		return 1;
	}
	if (co->step &&
	    (parse_time(co->step, &step) || (step != 60 && step != 3600 && step != 86400))) {
		warn("bad --step '%.20s' (60, 3600 or 86400)", co->step);
		return 1;
	}
	if (co->verdict && !verdict_ok(co->verdict)) {
		warn("bad --verdict '%.30s'", co->verdict);
		return 1;
	}
	if (limit > 100000)
		limit = 100000;
	if (co->name) {
		size_t i;

		snprintf(name, sizeof(name), "%s", co->name);
		for (i = 0; name[i]; i++)
			name[i] = tolower((unsigned char)name[i]);
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		warn("history: cannot open %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	sqlite3_busy_timeout(db, 5000);
	if (!strcmp(what, "events") && argc == 1) {
		/* newest first; --before ID pages back */
		s = prep(db, "SELECT id, t, client, grp, cats, verdict, sni, door FROM events"
			     " WHERE (?1 = 0 OR id < ?1) AND (?2 = 0 OR t >= ?2)"
			     " AND (?3 IS NULL OR instr(CAST(sni AS BLOB), CAST(?3 AS BLOB)) > 0)"
			     " AND (?4 IS NULL OR substr(client, 1, length(?4)) = ?4)"
			     " AND (?5 IS NULL OR verdict = ?5) AND (?6 IS NULL OR grp = ?6)"
			     " ORDER BY id DESC LIMIT ?7");
		if (s) {
			sqlite3_bind_int64(s, 1, before);
			sqlite3_bind_int64(s, 2, since);
			bind_opt(s, 3, co->name ? name : NULL);
			bind_opt(s, 4, co->client);
			bind_opt(s, 5, co->verdict);
			bind_opt(s, 6, co->group);
			sqlite3_bind_int(s, 7, limit);
			rc = run_rows(db, s, o, 8);
		}
	} else if (!strcmp(what, "summary") && argc == 1) {
		/* events per time bucket and verdict (--category: that one's) */
		s = prep(db, "SELECT (m * 60 / ?1) * ?1 AS b, verdict, sum(n) FROM minutes"
			     " WHERE cat = ?2 AND m >= ?3 / 60"
			     " AND (?4 IS NULL OR grp = ?4) AND (?5 IS NULL OR client = ?5)"
			     " GROUP BY b, verdict ORDER BY b, verdict");
		if (s) {
			sqlite3_bind_int64(s, 1, step);
			sqlite3_bind_text(s, 2, co->category ? co->category : "*", -1,
					  SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 3, since);
			bind_opt(s, 4, co->group);
			bind_opt(s, 5, co->client);
			rc = run_rows(db, s, o, 3);
		}
	} else if (!strcmp(what, "top") && argc == 2) {
		const char *sql = NULL;

		if (!strcmp(argv[1], "names"))
			sql = "SELECT sni, count(*) AS c FROM events WHERE t >= ?1"
			      " AND (?2 IS NULL OR verdict = ?2) GROUP BY sni ORDER BY c DESC, sni"
			      " LIMIT ?3";
		else if (!strcmp(argv[1], "clients"))
			sql = "SELECT client, sum(n) AS c FROM minutes WHERE cat = '*' AND m >= ?1 / 60"
			      " AND (?2 IS NULL OR verdict = ?2) GROUP BY client ORDER BY c DESC,"
			      " client LIMIT ?3";
		else if (!strcmp(argv[1], "categories"))
			sql = "SELECT cat, sum(n) AS c FROM minutes WHERE cat != '*' AND m >= ?1 / 60"
			      " AND (?2 IS NULL OR verdict = ?2) GROUP BY cat ORDER BY c DESC, cat"
			      " LIMIT ?3";
		if (!sql) {
			warn("history top: names, clients or categories");
			rc = 2;
		} else if ((s = prep(db, sql))) {
			sqlite3_bind_int64(s, 1, since);
			bind_opt(s, 2, co->verdict);
			sqlite3_bind_int(s, 3, co->limit > 0 ? limit : 10);
			rc = run_rows(db, s, o, 2);
		}
	} else if (!strcmp(what, "clients") && argc == 1) {
		/* each client: its group (latest), events, blocked, last seen */
		s = prep(
			db,
			"SELECT client, grp, sum(n),"
			" sum(CASE WHEN verdict IN ('block', 'unreadable-block') THEN n ELSE 0 END),"
			" max(m) * 60 FROM minutes WHERE cat = '*' AND m >= ?1 / 60"
			" GROUP BY client ORDER BY max(m) DESC, client LIMIT ?2");
		if (s) {
			sqlite3_bind_int64(s, 1, since);
			sqlite3_bind_int(s, 2, limit);
			rc = run_rows(db, s, o, 5);
		}
	} else if (!strcmp(what, "info") && argc == 1) {
		s = prep(db, "SELECT (SELECT count(*) FROM events), (SELECT min(t) FROM events),"
			     " (SELECT count(*) FROM minutes), (SELECT min(m) * 60 FROM minutes)");
		if (s) {
			fprintf(o, "events\toldest_event\tminute_rows\toldest_minute\n");
			rc = run_rows(db, s, o, 4);
		}
	} else {
		rc = 2;
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

int cmd_history(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/history.db", g.state_dir);
	rc = hist_query(path, argc, argv, o, co);
	return rc == 2 ? CMD_USAGE : rc;
}
