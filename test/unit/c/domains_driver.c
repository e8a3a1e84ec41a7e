// SPDX-License-Identifier: GPL-2.0
/*
 * Drives bpf/cli/domains.c for test/unit/xdp-sni-domains.test.ts, without
 * libbpf or root:
 *   norm NAME...            "ok NAME sub=0|1" or "err MESSAGE", a line each
 *   hash NAME...            the domain hash of each (already normal) name, hex
 *   parse FILE [sub]        "NAME<TAB>FLAGS" per entry, then "bad N"
 *   state DIR NAME[:sub]... add to DIR's state file, read it back, print it
 *   page DIR CAT OFFSET LIMIT [MATCH]
 *                           name_page over DIR's state file: "# total N
 *                           matching M", then "NAME<TAB>CATS" (hex) a line
 *   entries DIR             each entry of DIR's state file read as it is
 *                           (state_next): "NAME<TAB>CATS" (hex), then "end"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domains.h"
#include "name_page.h"

static void print_list(struct domlist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++)
		if (dl->v[i].name)
			printf("%s\t%s\n", dl->v[i].name, flags_str(xsni_cats_flags(dl->v[i].cats)));
}

int main(int argc, char **argv)
{
	char out[XSNI_NAME_MAX + 8], err[160];
	int i;

	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "norm")) {
		for (i = 2; i < argc; i++) {
			int sub = 0;

			if (normalise_arg(argv[i], out, &sub, err, sizeof(err)))
				printf("err %s\n", err);
			else
				printf("ok %s sub=%d\n", out, sub);
		}
		return 0;
	}
	if (!strcmp(argv[1], "hash")) {
		for (i = 2; i < argc; i++)
			printf("%016llx\n", (unsigned long long)domain_hash(argv[i], strlen(argv[i])));
		return 0;
	}
	if (!strcmp(argv[1], "parse") && argc >= 3) {
		struct parsed p = {};

		if (parse_list_file(argv[2], argc > 3 && !strcmp(argv[3], "sub"), &p))
			return 1;
		print_list(&p.dl);
		printf("bad %d\n", p.bad);
		dl_free(&p.dl);
		return 0;
	}
	if (!strcmp(argv[1], "state") && argc >= 3) {
		struct domlist dl = {}, back = {};

		dl_load_state(&dl, argv[2]);
		for (i = 3; i < argc; i++) {
			char *colon = strchr(argv[i], ':');

			if (colon)
				*colon = 0;
			dl_add(&dl, argv[i], cat_bits(XSNI_CAT_DEFAULT, colon != NULL), NULL);
		}
		dl_save_state(&dl, argv[2]);
		dl_load_state(&back, argv[2]);
		print_list(&back);
		dl_free(&dl);
		dl_free(&back);
		return 0;
	}
	if (!strcmp(argv[1], "page") && argc >= 6) {
		struct state_file sf;
		struct name_page np;
		size_t k;

		if (state_read(argv[2], &sf))
			return 1;
		name_page(&sf, atoi(argv[3]), argc > 6 ? argv[6] : NULL, strtoul(argv[4], NULL, 10),
			  strtoul(argv[5], NULL, 10), &np);
		printf("# total %zu matching %zu\n", np.total, np.matching);
		for (k = 0; k < np.n; k++)
			printf("%.*s\t%llx\n", (int)np.v[k].len, np.v[k].name,
			       (unsigned long long)np.v[k].cats);
		name_page_free(&np);
		state_free(&sf);
		return 0;
	}
	if (!strcmp(argv[1], "entries") && argc == 3) {
		struct state_file sf;
		struct state_entry e;
		size_t pos = 0;

		if (state_read(argv[2], &sf))
			return 1;
		while (state_next(&sf, &pos, &e))
			printf("%.*s\t%llx\n", (int)e.len, e.name, (unsigned long long)e.cats);
		printf("end\n");
		state_free(&sf);
		return 0;
	}
	return 2;
}
