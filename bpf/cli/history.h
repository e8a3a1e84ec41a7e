/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Event history in SQLite (Debian's libsqlite3), WAL mode: the recent
 * events one by one, and per-minute counts by group, client, category and
 * verdict, for 7 days, in a file kept under a size cap. The daemon writes
 * (one transaction a second at most, of HIST_FLUSH_EVENTS events at most);
 * `xdp-sni history` reads, alongside.
 * Committed data survive a crash or a power cut (WAL); what was queued and
 * not yet committed is lost, never half-written.
 */
#ifndef XSNI_HISTORY_H
#define XSNI_HISTORY_H

#include <stdio.h>
#include <time.h>

#define HIST_DAYS       7
#define HIST_DEFAULT_MB 50
#define HIST_MAX_MB     100000 /* HISTORY_MB above this is refused */

struct history;

/* Open (creating) the database; NULL after a message on stderr. */
struct history *hist_open(const char *path, long cap_bytes);
void hist_close(struct history *h);
/* A new disk cap, kept from the next trim on. */
void hist_set_cap(struct history *h, long cap_bytes);
/* Queue one event (the strings are copied); door: tls, ech, dns or quic. */
void hist_add(struct history *h, time_t t, const char *client, const char *group, const char *cats,
	      const char *verdict, const char *door, const char *sni, size_t sni_len);
/* Write what is queued in one transaction: 0 or -1 (the queue is kept). */
int hist_flush(struct history *h);
/* Forget what is older than HIST_DAYS; keep the file under its cap. */
void hist_trim(struct history *h, time_t now);
size_t hist_queued(const struct history *h);
/* events a transaction takes at most: the daemon flushes at this many even
 * within the second, so that one transaction never grows the file by much */
#define HIST_FLUSH_EVENTS 1000

/* `xdp-sni history ...` (read only): 0, 1 (bad input) or 2 (usage). */
struct cmd_opts;
int hist_query(const char *path, int argc, char **argv, FILE *o, const struct cmd_opts *co);

#endif
