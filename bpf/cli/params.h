/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Options from declarations: each command (and the global level) lists the
 * options it takes; the parser fills a struct from the list, refuses every
 * other option, and prints usage lines and help from the same list.
 */
#ifndef XSNI_PARAMS_H
#define XSNI_PARAMS_H

#include <stddef.h>
#include <stdio.h>

enum opt_kind {
	OPT_FLAG,  /* int, set to 1 */
	OPT_STR,   /* const char *, the argument */
	OPT_INT,   /* int, atoi of the argument */
	OPT_ONOFF, /* int, 1 for "on" or "1", else 0 */
	OPT_NUM,   /* long, a whole number in decimal digits; anything else is refused */
};

#define OPT_REQUIRED (1u << 0) /* shown without brackets in the usage line */
#define OPT_HIDDEN   (1u << 1) /* left out of help and of `help --list` */

struct opt_def {
	const char *name; /* long name; NULL ends a list */
	char short_name;  /* 0 for none */
	enum opt_kind kind;
	size_t off;      /* offset of the field in the struct being filled */
	const char *arg; /* the argument's placeholder in help (not OPT_FLAG) */
	const char *help;
	unsigned flags;
};

/* clang-format off */
#define OPT_DEF(st, lname, sname, k, field, a, h, f) \
	{ .name = lname, .short_name = sname, .kind = k, .off = offsetof(st, field), \
	  .arg = a, .help = h, .flags = f }
/* clang-format on */

/* One level of options: its list and the struct it fills. */
struct opt_set {
	const struct opt_def *defs;
	void *base;
};

/*
 * Parse argv[0..argc): options of `cmd` (and of `globals` when not NULL),
 * -h/--help (sets *help), "--" (ends the options), the rest are positional
 * and are moved, in order, to the front of argv. Options may come before,
 * between or after the positionals. With stop_at_word, stop at the first
 * positional instead (the command name) and return its index.
 * Returns the number of positionals (or the index), or -1 after a message
 * on stderr naming `what` (the command).
 */
int params_parse(const char *what, const struct opt_set *cmd, const struct opt_set *globals,
		 int argc, char **argv, int *help, int stop_at_word);

/* " [--mode native|generic|auto] --dev IFACE" ... wrapped after `indent` */
void params_usage(FILE *o, const char *head, const struct opt_def *defs, size_t indent);
/* "  --dev IFACE   interface" lines */
void params_help(FILE *o, const struct opt_def *defs);
/* " --dev --mode" (hidden ones left out) */
void params_list(FILE *o, const struct opt_def *defs);

#endif
