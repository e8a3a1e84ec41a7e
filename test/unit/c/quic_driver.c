// SPDX-License-Identifier: GPL-2.0
/*
 * Drives bpf/cli/quic_crypto.c for test/bpf/quic.test.ts, without the rest
 * of the tool:
 *   keys VERSION DCID          the client's Initial secret, key, iv and hp (hex)
 *   mask VERSION DCID SAMPLE   the header protection mask of a sample (hex)
 * VERSION in hex (1, 6b3343cf); DCID and SAMPLE in hex ("-": empty).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quic_crypto.h"

static size_t unhex(const char *s, __u8 *out, size_t cap)
{
	size_t n = 0;
	unsigned int b;

	if (!strcmp(s, "-"))
		return 0;
	while (s[0] && s[1] && n < cap && sscanf(s, "%2x", &b) == 1) {
		out[n++] = b;
		s += 2;
	}
	return n;
}

static void hex(const char *label, const __u8 *p, size_t n)
{
	size_t i;

	printf("%s ", label);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct quic_keys k = { 0 };
	__u8 dcid[64], sample[QUIC_SAMPLE_LEN], mask[5];
	size_t dl;
	__u32 version;

	if (argc < 4)
		return 2;
	version = strtoul(argv[2], NULL, 16);
	dl = unhex(argv[3], dcid, sizeof(dcid));
	if (quic_keys_derive(&k, version, dcid, dl)) {
		printf("error\n");
		return 1;
	}
	if (!strcmp(argv[1], "keys")) {
		hex("secret", k.secret, sizeof(k.secret));
		hex("key", k.key, sizeof(k.key));
		hex("iv", k.iv, sizeof(k.iv));
		hex("hp", k.hp, sizeof(k.hp));
	} else if (!strcmp(argv[1], "mask") && argc == 5 &&
		   unhex(argv[4], sample, sizeof(sample)) == sizeof(sample) &&
		   !quic_hp_mask(&k, sample, mask)) {
		hex("mask", mask, sizeof(mask));
	} else {
		quic_keys_free(&k);
		return 2;
	}
	quic_keys_free(&k);
	return 0;
}
