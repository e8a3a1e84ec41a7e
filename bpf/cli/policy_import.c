// SPDX-License-Identifier: GPL-2.0
/* `policy import|check FILE`: a policy export (JSON, the format of
 * `export policy`, schemas/xdp-sni-policy.schema.json) back in. Everything
 * is checked first; then groups, clients, windows and subscriptions are
 * replaced by the file's, categories it names are created, and categories
 * it does not name are kept with their names (remove one with `category
 * del`). Parsed with Debian's json-c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "cli.h"
#include "domains.h"
#include "log.h"
#include "policy.h"
#include "policy_maps.h"
#include "maps.h"

#define POLICY_DOC_MAX (4 << 20)

struct ctx {
	struct policy *p;
	char err[300];
};

static int fail(struct ctx *c, const char *fmt, const char *a, const char *b)
{
	snprintf(c->err, sizeof(c->err), fmt, a ? a : "", b ? b : "");
	return -1;
}

/* an object with only the keys in `keys` (NULL-terminated) */
static int only_keys(struct ctx *c, json_object *o, const char *where, const char *const *keys)
{
	json_object_object_foreach(o, k, v)
	{
		const char *const *q;

		(void)v;
		for (q = keys; *q && strcmp(*q, k); q++)
			;
		if (!*q)
			return fail(c, "%s: unknown key '%.40s'", where, k);
	}
	return 0;
}

static json_object *get(json_object *o, const char *key, json_type t)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

static int cats_from(struct ctx *c, json_object *arr, const char *where, __u32 *bits)
{
	size_t i, n;

	*bits = 0;
	if (!arr)
		return fail(c, "%s: a list of category names is missing", where, NULL);
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		int b;

		if (!json_object_is_type(v, json_type_string))
			return fail(c, "%s: a category name is not a string", where, NULL);
		b = policy_cat(c->p, json_object_get_string(v));
		if (b < 0)
			return fail(c, "%s: no category '%.40s' in the file", where,
				    json_object_get_string(v));
		*bits |= 1u << b;
	}
	return 0;
}

static int load_categories(struct ctx *c, json_object *arr)
{
	static const char *const keys[] = { "name", "subscription", NULL };
	static const char *const skeys[] = { "url", "every", NULL };
	size_t i, n = json_object_array_length(arr);

	for (i = 0; i < XSNI_CATS_MAX; i++)
		c->p->subs[i].url[0] = 0;
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *s;
		const char *name;
		int b;

		if (!json_object_is_type(o, json_type_object) ||
		    only_keys(c, o, "categories", keys))
			return c->err[0] ? -1 : fail(c, "categories: not an object", NULL, NULL);
		name = get_str(o, "name");
		if (!name || !policy_name_ok(name))
			return fail(c, "categories: bad name '%.40s'", name ? name : "(none)",
				    NULL);
		b = policy_cat(c->p, name);
		if (b < 0) {
			for (b = 0; b < XSNI_CATS_MAX && c->p->cats[b][0]; b++)
				;
			if (b == XSNI_CATS_MAX)
				return fail(c, "categories: no room for '%.40s' (at most 32)", name,
					    NULL);
			snprintf(c->p->cats[b], POLICY_NAME_MAX, "%s", name);
		}
		s = get(o, "subscription", json_type_object);
		if (json_object_object_get_ex(o, "subscription", NULL) && !s)
			return fail(c, "category %s: subscription is not an object", name, NULL);
		if (s) {
			const char *url = get_str(s, "url"), *every = get_str(s, "every");
			__u32 m = 1440;

			if (only_keys(c, s, "subscription", skeys))
				return -1;
			if (!url || !policy_url_ok(url))
				return fail(c, "category %s: bad subscription url", name, NULL);
			if (every && policy_parse_every(every, &m))
				return fail(c, "category %s: bad every '%.20s'", name, every);
			if (b == XSNI_CAT_DEFAULT)
				return fail(c,
					    "category %s: the admin's own list has no subscription",
					    name, NULL);
			snprintf(c->p->subs[b].url, POLICY_URL_MAX, "%s", url);
			c->p->subs[b].every_min = m;
		}
	}
	return 0;
}

static int load_window(struct ctx *c, json_object *o, const char *g, __u32 gi)
{
	static const char *const keys[] = { "days", "from", "to", "action", "categories", NULL };
	const char *days = get_str(o, "days"), *from = get_str(o, "from"), *to = get_str(o, "to"),
		   *action = get_str(o, "action");
	struct pol_window *w;
	char span[16];

	if (only_keys(c, o, "window", keys))
		return -1;
	if (c->p->nwindows >= POLICY_WINDOWS_MAX)
		return fail(c, "group %s: too many windows (at most 256 in all)", g, NULL);
	w = &c->p->windows[c->p->nwindows];
	memset(w, 0, sizeof(*w));
	w->group = gi;
	snprintf(span, sizeof(span), "%.5s-%.5s", from ? from : "", to ? to : "");
	if (!days || policy_parse_days(days, &w->days))
		return fail(c, "group %s: bad window days '%.40s'", g, days ? days : "(none)");
	if (!from || !to || strlen(from) != 5 || strlen(to) != 5 ||
	    policy_parse_span(span, &w->start, &w->end))
		return fail(c, "group %s: bad window time '%.20s'", g, span);
	if (!action || (strcmp(action, "block") && strcmp(action, "allow-only")))
		return fail(c, "group %s: bad window action '%.20s'", g,
			    action ? action : "(none)");
	w->allow_only = !strcmp(action, "allow-only");
	if (cats_from(c, get(o, "categories", json_type_array), "window", &w->cats))
		return -1;
	if (!w->cats)
		return fail(c, "group %s: a window names no category", g, NULL);
	c->p->nwindows++;
	return 0;
}

static int load_groups(struct ctx *c, json_object *arr)
{
	static const char *const keys[] = { "name",    "mode",    "block", "allow",
					    "clients", "windows", NULL };
	size_t i, j, n = json_object_array_length(arr);

	/* the file's groups replace them all; default stays at 0 */
	memset(c->p->groups, 0, sizeof(c->p->groups));
	free(c->p->clients);
	c->p->clients = NULL;
	c->p->nclients = 0;
	c->p->nwindows = 0;
	snprintf(c->p->groups[0].name, POLICY_NAME_MAX, "default");
	c->p->groups[0].block = 1u << XSNI_CAT_DEFAULT;
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *cl, *wi;
		const char *name, *mode;
		struct pol_group *gr;
		int gi;

		if (!json_object_is_type(o, json_type_object))
			return fail(c, "groups: not an object", NULL, NULL);
		if (only_keys(c, o, "group", keys))
			return -1;
		name = get_str(o, "name");
		mode = get_str(o, "mode");
		if (!name || !policy_name_ok(name))
			return fail(c, "groups: bad name '%.40s'", name ? name : "(none)", NULL);
		gi = strcmp(name, "default") ? policy_group(c->p, name) : 0;
		if (gi > 0)
			return fail(c, "groups: '%.40s' twice", name, NULL);
		if (gi < 0) {
			for (gi = 1; gi < XSNI_GROUPS_MAX && c->p->groups[gi].name[0]; gi++)
				;
			if (gi == XSNI_GROUPS_MAX)
				return fail(c, "groups: no room for '%.40s' (at most 64)", name,
					    NULL);
		}
		gr = &c->p->groups[gi];
		snprintf(gr->name, POLICY_NAME_MAX, "%s", name);
		if (!mode || (strcmp(mode, "blocklist") && strcmp(mode, "allow-only")))
			return fail(c, "group %s: bad mode '%.20s'", name, mode ? mode : "(none)");
		gr->allow_only = !strcmp(mode, "allow-only");
		if (cats_from(c, get(o, "block", json_type_array), "block", &gr->block) ||
		    cats_from(c, get(o, "allow", json_type_array), "allow", &gr->allow))
			return -1;
		cl = get(o, "clients", json_type_array);
		wi = get(o, "windows", json_type_array);
		if (!cl || !wi)
			return fail(c, "group %s: clients and windows must be lists", name, NULL);
		for (j = 0; j < json_object_array_length(cl); j++) {
			json_object *v = json_object_array_get_idx(cl, j);
			struct pol_client pc, *nv;
			size_t k;

			if (!json_object_is_type(v, json_type_string) ||
			    policy_parse_client(json_object_get_string(v), &pc))
				return fail(c, "group %s: bad client '%.60s'", name,
					    json_object_get_string(v));
			for (k = 0; k < c->p->nclients; k++)
				if (policy_client_eq(&c->p->clients[k], &pc))
					return fail(c, "client '%.60s' is in two groups",
						    json_object_get_string(v), NULL);
			if (c->p->nclients >= XSNI_CLIENTS_MAX)
				return fail(c, "too many clients (at most 4096)", NULL, NULL);
			nv = realloc(c->p->clients, (c->p->nclients + 1) * sizeof(*nv));
			if (!nv)
				die("out of memory");
			c->p->clients = nv;
			pc.group = gi;
			nv[c->p->nclients++] = pc;
		}
		for (j = 0; j < json_object_array_length(wi); j++) {
			json_object *v = json_object_array_get_idx(wi, j);

			if (!json_object_is_type(v, json_type_object))
				return fail(c, "group %s: a window is not an object", name, NULL);
			if (load_window(c, v, name, gi))
				return -1;
		}
	}
	return 0;
}

/* the whole document into p (a copy of the policy in force); 0 or -1 with
 * the reason in c->err */
static int load_doc(struct ctx *c, const char *text, size_t len)
{
	static const char *const keys[] = { "format", "version", "categories", "groups", NULL };
	struct json_tokener *tok = json_tokener_new();
	json_object *doc, *v, *cats, *groups;
	int rc = -1;

	doc = json_tokener_parse_ex(tok, text, (int)len);
	if (!doc || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset < (int)len) {
		/* trailing text after the document is refused too */
		size_t off = tok->char_offset;

		while (doc && off < len && strchr(" \t\r\n", text[off]))
			off++;
		if (!doc || off < len) {
			fail(c, "not JSON: %s",
			     doc ? "text after the document" :
				   json_tokener_error_desc(json_tokener_get_error(tok)),
			     NULL);
			goto out;
		}
	}
	if (!json_object_is_type(doc, json_type_object) || only_keys(c, doc, "document", keys))
		goto out_err;
	v = get(doc, "format", json_type_string);
	if (!v || strcmp(json_object_get_string(v), "xdp-sni-policy")) {
		fail(c, "not an xdp-sni policy export (format is not \"xdp-sni-policy\")", NULL,
		     NULL);
		goto out;
	}
	v = get(doc, "version", json_type_int);
	if (!v || json_object_get_int(v) != 1) {
		fail(c, "version is not 1", NULL, NULL);
		goto out;
	}
	cats = get(doc, "categories", json_type_array);
	groups = get(doc, "groups", json_type_array);
	if (!cats || !groups) {
		fail(c, "categories and groups must be lists", NULL, NULL);
		goto out;
	}
	if (load_categories(c, cats) || load_groups(c, groups))
		goto out;
	rc = 0;
	goto out;
out_err:
	if (!c->err[0])
		fail(c, "the document is not an object", NULL, NULL);
out:
	json_object_put(doc);
	json_tokener_free(tok);
	return rc;
}

/* the file, or the stream (to a line "." when need_end) */
static char *read_doc(const char *file, int need_end, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	char *buf = malloc(POLICY_DOC_MAX + 1), *line = NULL;
	size_t n = 0, cap = 0;
	ssize_t r;
	int ended = 0;

	if (!buf)
		die("out of memory");
	if (!f) {
		warn("cannot open %s: %s", file, strerror(errno));
		free(buf);
		return NULL;
	}
	while ((r = getline(&line, &cap, f)) >= 0) {
		if (need_end && !strcmp(line, ".\n")) {
			ended = 1;
			break;
		}
		if (n + r > POLICY_DOC_MAX) {
			warn("%s: larger than %d bytes", file, POLICY_DOC_MAX);
			goto bad;
		}
		memcpy(buf + n, line, r);
		n += r;
	}
	if (need_end && !ended) {
		warn("the policy stopped before its end line '.'; nothing changed");
		goto bad;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
bad:
	free(line);
	if (f != stdin)
		fclose(f);
	free(buf);
	return NULL;
}

int cmd_policy(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct ctx c = { 0 };
	struct policy p;
	size_t len, i;
	char *doc;
	int lock, rc = 1, ncat = 0, ngrp = 0;

	if (argc != 2 || (strcmp(argv[0], "import") && strcmp(argv[0], "check")))
		return CMD_USAGE;
	if (co->from_socket && strcmp(argv[1], "-")) {
		warn("over the control socket, policy takes '-' (the document follows on the "
		     "connection, ending with a line '.')");
		return 2;
	}
	doc = read_doc(argv[1], co->from_socket, &len);
	if (!doc)
		return 1;
	lock = dl_lock(g.state_dir);
	if (policy_load(&p, g.state_dir))
		goto out;
	c.p = &p;
	if (load_doc(&c, doc, len)) {
		warn("%s: %s; nothing changed", argv[1], c.err);
		policy_free(&p);
		goto out;
	}
	for (i = 0; i < XSNI_CATS_MAX; i++)
		ncat += p.cats[i][0] != 0;
	for (i = 0; i < XSNI_GROUPS_MAX; i++)
		ngrp += p.groups[i].name[0] != 0;
	if (!strcmp(argv[0], "check")) {
		fprintf(o,
			"%s: a good policy (%d categories, %d groups, %zu clients, %zu windows)\n",
			argv[1], ncat, ngrp, p.nclients, p.nwindows);
		rc = 0;
	} else if (policy_save(&p, g.state_dir)) {
		warn("cannot write %s/policy", g.state_dir);
	} else {
		ensure_maps();
		policy_write_pinned(&p, time(NULL));
		fprintf(o,
			"imported the policy: %d categories, %d groups, %zu clients, %zu windows\n",
			ncat, ngrp, p.nclients, p.nwindows);
		rc = 0;
	}
	policy_free(&p);
out:
	dl_unlock(lock);
	free(doc);
	return rc;
}
