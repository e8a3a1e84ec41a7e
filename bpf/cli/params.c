// SPDX-License-Identifier: GPL-2.0
/* Options from declarations (see params.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

static const struct opt_def *find_long(const struct opt_set *s, const char *name, size_t len)
{
	const struct opt_def *d;

	for (d = s ? s->defs : NULL; d && d->name; d++)
		if (strlen(d->name) == len && !strncmp(d->name, name, len))
			return d;
	return NULL;
}

static const struct opt_def *find_short(const struct opt_set *s, char c)
{
	const struct opt_def *d;

	for (d = s ? s->defs : NULL; d && d->name; d++)
		if (d->short_name && d->short_name == c)
			return d;
	return NULL;
}

/* OPT_NUM: digits only (no sign, no blank), up to LONG_MAX */
static int whole_number(const char *val, long *n)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*val))
		return -1;
	errno = 0;
	v = strtoull(val, &end, 10);
	if (*end || errno || v > LONG_MAX)
		return -1;
	*n = v;
	return 0;
}

/* 0, or -1 for a value the option's kind refuses */
static int store(const struct opt_def *d, void *base, const char *val)
{
	char *field = (char *)base + d->off;

	switch (d->kind) {
	case OPT_FLAG: *(int *)field = 1; break;
	case OPT_STR: *(const char **)field = val; break;
	case OPT_INT: *(int *)field = atoi(val); break;
	case OPT_ONOFF: *(int *)field = !strcmp(val, "on") || !strcmp(val, "1"); break;
	case OPT_NUM: return whole_number(val, (long *)field);
	}
	return 0;
}

/* "xdp-sni: CMD: MESSAGE" (or "xdp-sni: MESSAGE" before the command) */
static int fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xdp-sni: %s%s", what, *what ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int unknown(const char *what, const char *dashes, const char *name, size_t len)
{
	return fail(what, "unknown option %s%.*s (see `xdp-sni %s%s--help`)", dashes, (int)len,
		    name, what, *what ? " " : "");
}

/* (named by its long name, however it was given) */
static int bad_value(const char *what, const struct opt_def *d, const char *val)
{
	return fail(what, "--%s takes a whole number (%s), not '%.40s'", d->name, d->arg, val);
}

/* argv[*i] is a long option: store it (and its value), advance *i. */
static int take_long(const char *what, const struct opt_set *cmd, const struct opt_set *globals,
		     int argc, char **argv, int *i, int *help)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct opt_set *set = cmd;
	const struct opt_def *d = find_long(cmd, name, len);
	const char *val = NULL;

	if (!d) {
		set = globals;
		d = find_long(globals, name, len);
	}
	if (!d) {
		if (len == 4 && !strncmp(name, "help", 4) && !eq) {
			*help = 1;
			return 0;
		}
		return unknown(what, "--", name, len);
	}
	if (d->kind == OPT_FLAG) {
		if (eq)
			return fail(what, "--%s takes no value", d->name);
	} else if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		return fail(what, "--%s needs a value (%s)", d->name, d->arg);
	}
	if (store(d, set->base, val))
		return bad_value(what, d, val);
	return 0;
}

/* argv[*i] is "-xyz": flags only, or the last one takes the next word. */
static int take_short(const char *what, const struct opt_set *cmd, const struct opt_set *globals,
		      int argc, char **argv, int *i, int *help)
{
	const char *p, *val;

	for (p = argv[*i] + 1; *p; p++) {
		const struct opt_set *set = cmd;
		const struct opt_def *d = find_short(cmd, *p);

		if (!d) {
			set = globals;
			d = find_short(globals, *p);
		}
		if (!d && *p == 'h') {
			*help = 1;
			continue;
		}
		if (!d)
			return unknown(what, "-", p, 1);
		if (d->kind == OPT_FLAG) {
			store(d, set->base, NULL);
			continue;
		}
		if (p[1])
			val = p + 1;
		else if (*i + 1 < argc)
			val = argv[++*i];
		else
			return fail(what, "-%c needs a value (%s)", *p, d->arg);
		if (store(d, set->base, val))
			return bad_value(what, d, val);
		break;
	}
	return 0;
}

int params_parse(const char *what, const struct opt_set *cmd, const struct opt_set *globals,
		 int argc, char **argv, int *help, int stop_at_word)
{
	int i, npos = 0, rc;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			if (stop_at_word)
				return i + 1;
			while (++i < argc)
				argv[npos++] = argv[i];
			break;
		}
		if (a[0] != '-' || !a[1]) {
			if (stop_at_word)
				return i;
			argv[npos++] = argv[i];
			continue;
		}
		rc = a[1] == '-' ? take_long(what, cmd, globals, argc, argv, &i, help) :
				   take_short(what, cmd, globals, argc, argv, &i, help);
		if (rc)
			return -1;
	}
	return stop_at_word ? argc : npos;
}

/* ---- help from the declarations ---------------------------------------- */
static int shown(const struct opt_def *d)
{
	return !(d->flags & OPT_HIDDEN);
}

void params_usage(FILE *o, const char *head, const struct opt_def *defs, size_t indent)
{
	const struct opt_def *d;
	size_t col = strlen(head);

	fputs(head, o);
	for (d = defs; d && d->name; d++) {
		char w[128];
		int req = d->flags & OPT_REQUIRED;

		if (!shown(d))
			continue;
		if (d->kind == OPT_FLAG)
			snprintf(w, sizeof(w), "%s--%s%s", req ? "" : "[", d->name, req ? "" : "]");
		else
			snprintf(w, sizeof(w), "%s--%s %s%s", req ? "" : "[", d->name, d->arg,
				 req ? "" : "]");
		if (col + 1 + strlen(w) > 90) {
			fprintf(o, "\n%*s", (int)indent, "");
			col = indent;
		} else {
			fputc(' ', o);
			col++;
		}
		fputs(w, o);
		col += strlen(w);
	}
	fputc('\n', o);
}

#define HELP_COL 29

void params_help(FILE *o, const struct opt_def *defs)
{
	const struct opt_def *d;

	for (d = defs; d && d->name; d++) {
		const char *h, *nl;
		char left[128];
		int n;

		if (!shown(d))
			continue;
		if (d->short_name)
			n = snprintf(left, sizeof(left), "  -%c, --%s", d->short_name, d->name);
		else
			n = snprintf(left, sizeof(left), "  --%s", d->name);
		if (d->kind != OPT_FLAG)
			n += snprintf(left + n, sizeof(left) - n, " %s", d->arg);
		fputs(left, o);
		if (n < HELP_COL - 1)
			fprintf(o, "%*s", HELP_COL - n, "");
		else
			fprintf(o, "\n%*s", HELP_COL, "");
		/* a help text of several lines: each under the first */
		for (h = d->help; (nl = strchr(h, '\n')); h = nl + 1)
			fprintf(o, "%.*s\n%*s", (int)(nl - h), h, HELP_COL, "");
		fprintf(o, "%s\n", h);
	}
}

void params_list(FILE *o, const struct opt_def *defs)
{
	const struct opt_def *d;

	for (d = defs; d && d->name; d++)
		if (shown(d))
			fprintf(o, " --%s", d->name);
}
