/* SPDX-License-Identifier: GPL-2.0 */
/*
 * List subscriptions: a category follows a plain or hosts-format list on
 * the web. An update fetches it with curl into a temporary file (size and
 * time capped), checks it as a list, and only then replaces the category
 * with it (import --replace: all or nothing) and keeps it as the last good
 * copy. Each attempt is recorded in STATE_DIR/subscriptions/CAT.status.
 */
#ifndef XSNI_SUBSCRIBE_H
#define XSNI_SUBSCRIBE_H

#include <stddef.h>
#include <time.h>

#define SUB_MAX_BYTES   (64L << 20) /* a bigger download is refused */
#define SUB_MAX_SECONDS 300
#define SUB_MAX_BAD_PCT 10 /* more bad lines than this: not a list */
#define SUB_RETRY_MIN   60 /* after a failure, try again this soon (or every) */

struct sub_status {
	time_t tried, ok; /* 0: never */
	size_t names;
	int bad;
	char error[256]; /* the last attempt's, "" if it worked */
	char source[16]; /* "download" or "file" */
};

/* CAT's status (all zero if none) */
void sub_status_read(const char *cat, struct sub_status *s);
/* Is CAT's update due at `now`, with updates every `every_min`? */
int sub_due(const char *cat, unsigned int every_min, time_t now);

#endif
