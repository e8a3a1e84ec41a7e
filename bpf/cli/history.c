// SPDX-License-Identifier: GPL-2.0
/* The event history in SQLite: writing (the daemon) and queries. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "cli.h"
#include "history.h"
#include "log.h"

struct hev {
	time_t t;
	char *client, *group, *cats, *verdict, *sni;
	size_t sni_len;
	char door[8];
};

#define HIST_QUEUE_MAX 200000 /* more waiting than this: the newest are dropped */

struct history {
	sqlite3 *db;
	char *path;
	long cap;
	struct hev *q;
	size_t n, cap_q, dropped;
	sqlite3_stmt *ins_ev, *ins_min;
};

static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS events("
	" id INTEGER PRIMARY KEY, t INTEGER NOT NULL, client TEXT NOT NULL,"
	" grp TEXT NOT NULL, cats TEXT NOT NULL, verdict TEXT NOT NULL, sni BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_t ON events(t);"
	/* per minute: one row per event with cat '*' (the totals), and one
	 * per category of the event (the breakdown) */
	"CREATE TABLE IF NOT EXISTS minutes("
	" m INTEGER NOT NULL, grp TEXT NOT NULL, client TEXT NOT NULL, cat TEXT NOT NULL,"
	" verdict TEXT NOT NULL, n INTEGER NOT NULL,"
	" PRIMARY KEY(m, cat, grp, client, verdict)) WITHOUT ROWID;";

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK)
		return 0;
	warn("history: %s: %s", sql, err ? err : "?");
	sqlite3_free(err);
	return -1;
}

void hist_set_cap(struct history *h, long cap_bytes)
{
	if (h)
		h->cap = cap_bytes;
}

/* The door of each event (tls, ech, dns, quic), a column that files made
 * before it lack: added to them, their old events counted as tls. */
static int add_door_column(sqlite3 *db)
{
	sqlite3_stmt *s;
	int has = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('events') WHERE name = 'door'",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	has = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return has ? 0 : exec(db, "ALTER TABLE events ADD COLUMN door TEXT NOT NULL DEFAULT 'tls'");
}

struct history *hist_open(const char *path, long cap_bytes)
{
	struct history *h = calloc(1, sizeof(*h));

	if (!h)
		die("out of memory");
	h->cap = cap_bytes;
	h->path = strdup(path);
	if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		warn("history: cannot open %s: %s", path, sqlite3_errmsg(h->db));
		goto fail;
	}
	sqlite3_busy_timeout(h->db, 5000);
	/* auto_vacuum only takes on a new file, before its first table */
	if (exec(h->db, "PRAGMA auto_vacuum=INCREMENTAL") ||
	    exec(h->db, "PRAGMA journal_mode=WAL") || exec(h->db, "PRAGMA synchronous=NORMAL") ||
	    exec(h->db, SCHEMA) || add_door_column(h->db))
		goto fail;
	chmod(path, 0640);
	if (sqlite3_prepare_v2(h->db,
			       "INSERT INTO events(t, client, grp, cats, verdict, sni, door)"
			       " VALUES(?, ?, ?, ?, ?, ?, ?)",
			       -1, &h->ins_ev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(h->db,
			       "INSERT INTO minutes VALUES(?, ?, ?, ?, ?, 1)"
			       " ON CONFLICT(m, cat, grp, client, verdict) DO UPDATE SET n = n + 1",
			       -1, &h->ins_min, NULL) != SQLITE_OK) {
		warn("history: %s", sqlite3_errmsg(h->db));
		goto fail;
	}
	return h;
fail:
	hist_close(h);
	return NULL;
}

static void free_ev(struct hev *e)
{
	free(e->client);
	free(e->group);
	free(e->cats);
	free(e->verdict);
	free(e->sni);
}

void hist_close(struct history *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		free_ev(&h->q[i]);
	free(h->q);
	sqlite3_finalize(h->ins_ev);
	sqlite3_finalize(h->ins_min);
	sqlite3_close(h->db);
	free(h->path);
	free(h);
}

size_t hist_queued(const struct history *h)
{
	return h ? h->n : 0;
}

void hist_add(struct history *h, time_t t, const char *client, const char *group, const char *cats,
	      const char *verdict, const char *door, const char *sni, size_t sni_len)
{
	struct hev *e;

	if (!h)
		return;
	if (h->n >= HIST_QUEUE_MAX) {
		h->dropped++;
		return;
	}
	if (h->n == h->cap_q) {
		h->cap_q = h->cap_q ? h->cap_q * 2 : 256;
		h->q = realloc(h->q, h->cap_q * sizeof(*h->q));
		if (!h->q)
			die("out of memory");
	}
	e = &h->q[h->n++];
	e->t = t;
	e->client = strdup(client);
	e->group = strdup(group);
	e->cats = strdup(cats);
	e->verdict = strdup(verdict);
	e->sni = malloc(sni_len + 1);
	if (!e->client || !e->group || !e->cats || !e->verdict || !e->sni)
		die("out of memory");
	memcpy(e->sni, sni, sni_len);
	e->sni[sni_len] = 0;
	e->sni_len = sni_len;
	snprintf(e->door, sizeof(e->door), "%s", door);
}

static long disk_bytes(const struct history *h);

static int step(sqlite3 *db, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	warn("history: %s", sqlite3_errmsg(db));
	return -1;
}

static int add_minute(struct history *h, const struct hev *e, const char *cat)
{
	sqlite3_stmt *s = h->ins_min;

	sqlite3_bind_int64(s, 1, e->t / 60);
	sqlite3_bind_text(s, 2, e->group, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, e->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, cat, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 5, e->verdict, -1, SQLITE_STATIC);
	return step(h->db, s);
}

int hist_flush(struct history *h)
{
	size_t i;
	int rc = 0;

	if (!h || !h->n)
		return 0;
	if (exec(h->db, "BEGIN"))
		return -1;
	for (i = 0; i < h->n && !rc; i++) {
		const struct hev *e = &h->q[i];
		sqlite3_stmt *s = h->ins_ev;
		char cats[512], *tok, *save = NULL;

		sqlite3_bind_int64(s, 1, e->t);
		sqlite3_bind_text(s, 2, e->client, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, e->group, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, e->cats, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, e->verdict, -1, SQLITE_STATIC);
		sqlite3_bind_blob(s, 6, e->sni, (int)e->sni_len, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, e->door, -1, SQLITE_STATIC);
		rc = step(h->db, s) || add_minute(h, e, "*");
		snprintf(cats, sizeof(cats), "%s", e->cats);
		for (tok = strtok_r(cats, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
			if (strcmp(tok, "-"))
				rc = add_minute(h, e, tok);
	}
	if (rc || exec(h->db, "COMMIT")) {
		exec(h->db, "ROLLBACK");
		return -1;
	}
	for (i = 0; i < h->n; i++)
		free_ev(&h->q[i]);
	h->n = 0;
	/* a flood may fill the cap between two minutes: one stat() a flush */
	if (disk_bytes(h) > h->cap)
		hist_trim(h, time(NULL));
	return 0;
}

static long long one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long long v = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* the file and its write-ahead log */
static long disk_bytes(const struct history *h)
{
	char wal[4096];
	struct stat st;
	long n = 0;

	if (!stat(h->path, &st))
		n += st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", h->path);
	if (!stat(wal, &st))
		n += st.st_size;
	return n;
}

void hist_trim(struct history *h, time_t now)
{
	char sql[200];
	int rounds;

	if (!h)
		return;
	snprintf(sql, sizeof(sql), "DELETE FROM events WHERE t < %lld",
		 (long long)(now - HIST_DAYS * 86400));
	exec(h->db, sql);
	snprintf(sql, sizeof(sql), "DELETE FROM minutes WHERE m < %lld",
		 (long long)((now - HIST_DAYS * 86400) / 60));
	exec(h->db, sql);
	exec(h->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	exec(h->db, "PRAGMA incremental_vacuum");
	/* over 90% of the cap: the oldest events go, a tenth at a time, then
	 * (if that is not enough) the oldest minutes */
	for (rounds = 0; rounds < 40 && disk_bytes(h) > h->cap / 10 * 9; rounds++) {
		long long ev = one_int(h->db, "SELECT count(*) FROM events");

		if (ev > 0)
			snprintf(sql, sizeof(sql),
				 "DELETE FROM events WHERE id IN"
				 " (SELECT id FROM events ORDER BY id LIMIT %lld)",
				 ev / 10 + 1);
		else
			snprintf(sql, sizeof(sql),
				 "DELETE FROM minutes WHERE m <= (SELECT min(m) FROM minutes)");
		if (exec(h->db, sql))
			break;
		exec(h->db, "PRAGMA wal_checkpoint(TRUNCATE)");
		exec(h->db, "PRAGMA incremental_vacuum");
		exec(h->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	}
}
