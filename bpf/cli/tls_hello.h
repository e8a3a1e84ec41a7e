/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A complete TLS ClientHello handshake message (RFC 8446 4.1.2) read in
 * user space: the server_name (RFC 6066 3), whether an
 * encrypted_client_hello extension (0xfe0d) is there, and the ALPN list
 * (RFC 7301). For the QUIC Initial decoder, whose CRYPTO stream carries the
 * message without a record layer. The rules are those of the data plane and
 * of its reference parser (test/bpf/fuzz/reference.ts): the name as sent,
 * compared in ASCII lower case without one trailing dot, at most 253 bytes;
 * a second server_name extension or host_name is malformed.
 */
#ifndef XSNI_TLS_HELLO_H
#define XSNI_TLS_HELLO_H

#include <stddef.h>
#include <linux/types.h>
#include "xdp_sni.h"

#define HELLO_ALPN_MAX 128 /* the ALPN list as text, "h3,h3-29" */

enum hello_result {
	HELLO_NAME,      /* a host_name in name */
	HELLO_NO_SNI,    /* no server_name extension (or no host_name in it) */
	HELLO_MALFORMED, /* reason says why */
};

struct hello_info {
	char name[XSNI_NAME_MAX + 1]; /* lower case, no trailing dot, NUL-terminated */
	size_t name_len;
	int ech;                   /* an encrypted_client_hello extension */
	char alpn[HELLO_ALPN_MAX]; /* protocols joined by ',' ("" if none or unreadable) */
	const char *reason;        /* HELLO_MALFORMED: a constant string */
};

/* MSG is the whole handshake message: type (1), 24-bit length, body, and
 * LEN = 4 + that length. */
enum hello_result hello_parse(const __u8 *msg, size_t len, struct hello_info *out);

#endif
