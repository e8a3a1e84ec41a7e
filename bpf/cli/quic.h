/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The QUIC Initial decoder: the server name of a QUIC connection from the
 * client's Initial packets (RFC 9000 17.2.2, RFC 9001 5; v2: RFC 9369).
 *
 * A flow is one client connection attempt; the caller keys flows (the
 * daemon: 4-tuple and the client's first Destination Connection ID) and
 * feeds it each UDP payload the client sends. Per datagram: the long
 * header, the client's Initial keys (derived once, from the DCID of the
 * flow's first Initial), header protection, the AEAD, then the frames
 * (PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE; anything else is
 * malformed). CRYPTO data is reassembled at any offsets, in any order, with
 * overlaps that must repeat the same bytes, up to QUIC_HELLO_MAX bytes; once
 * the ClientHello is covered from offset 0 it is read (tls_hello.h).
 *
 * A datagram under 1200 bytes is dropped by the server (RFC 9000 14.1), so
 * it is not read either (MALFORMED for that datagram).
 *
 * Results: a final one (OK, NO_SNI, MALFORMED from the decrypted content)
 * sticks to the flow and later datagrams are not decrypted. A datagram that
 * cannot be used (NOT_INITIAL, UNSUPPORTED_VERSION, UNDECRYPTABLE, MALFORMED
 * header) changes nothing in the flow and is reported as such. Otherwise
 * NEED_MORE until the ClientHello is whole.
 */
#ifndef XSNI_QUIC_H
#define XSNI_QUIC_H

#include <stddef.h>
#include <linux/types.h>
#include "quic_crypto.h"
#include "tls_hello.h"

#define QUIC_CID_MAX   20
#define QUIC_HELLO_MAX 16384 /* CRYPTO bytes kept: the ClientHello may be this long */
#define QUIC_MIN_DGRAM 1200  /* RFC 9000 14.1: a server drops a client Initial in less */

enum quic_result {
	QUIC_NEED_MORE,           /* usable, the ClientHello is not whole yet */
	QUIC_OK,                  /* final: hello.name */
	QUIC_NO_SNI,              /* final: a ClientHello without a host_name */
	QUIC_MALFORMED,           /* final if the decrypted content is; reason says what */
	QUIC_UNDECRYPTABLE,       /* the AEAD tag did not match (wrong DCID, damaged packet) */
	QUIC_NOT_INITIAL,         /* a short header, or a long header of another type */
	QUIC_UNSUPPORTED_VERSION, /* a version other than 1 and 2 */
};

struct quic_flow {
	/* set by the first Initial that decrypts */
	int have_keys;
	__u32 version;
	__u8 dcid[QUIC_CID_MAX];
	__u8 dcid_len;
	struct quic_keys keys;
	__s64 largest_pn; /* -1: none yet */
	/* the CRYPTO stream */
	__u32 contiguous; /* bytes present from offset 0 */
	__u32 max_end;    /* the highest end of data received */
	__u32 hello_len;  /* 4 + the handshake length, once known; 0 before */
	__u8 have[QUIC_HELLO_MAX / 8];
	__u8 buf[QUIC_HELLO_MAX];
	/* results */
	enum quic_result final; /* QUIC_NEED_MORE while open */
	const char *reason;     /* of the last MALFORMED/UNDECRYPTABLE/..., a constant */
	struct hello_info hello;
	unsigned int initials;  /* Initial packets decrypted and used */
	unsigned int datagrams; /* datagrams fed */
	__u64 first_ns, last_ns;
};

void quic_flow_init(struct quic_flow *f);
void quic_flow_free(struct quic_flow *f);
/* Feed one UDP payload the client sent; NOW is the caller's clock (kept as
 * first_ns/last_ns for ageing out). Never reads outside payload[0..len). */
enum quic_result quic_feed(struct quic_flow *f, const __u8 *payload, size_t len, __u64 now);
/* "OK", "NEED_MORE", ... */
const char *quic_result_name(enum quic_result r);
/* The DCID of a datagram's first packet if it has a long header: its length
 * (0..20), or -1. For callers that key flows. */
int quic_peek_dcid(const __u8 *payload, size_t len, const __u8 **dcid);

#endif
