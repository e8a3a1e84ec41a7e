/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QUIC Initial packet protection (RFC 9001 section 5; QUIC v2, RFC 9369
 * section 3.3): the client's Initial keys from the Destination Connection
 * ID, header protection (AES-128-ECB on a 16-byte sample) and the payload's
 * AEAD (AES-128-GCM). Libcrypto (OpenSSL 3) underneath; nothing else here.
 */
#ifndef XSNI_QUIC_CRYPTO_H
#define XSNI_QUIC_CRYPTO_H

#include <stddef.h>
#include <linux/types.h>

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu /* RFC 9369 */

#define QUIC_KEY_LEN    16
#define QUIC_IV_LEN     12
#define QUIC_HP_LEN     16
#define QUIC_TAG_LEN    16
#define QUIC_SAMPLE_LEN 16

/* the client's Initial keys, and two cipher contexts keyed once with them */
struct quic_keys {
	__u8 secret[32]; /* client_initial_secret */
	__u8 key[QUIC_KEY_LEN];
	__u8 iv[QUIC_IV_LEN];
	__u8 hp[QUIC_HP_LEN];
	void *gcm; /* EVP_CIPHER_CTX *, AES-128-GCM decryption with key */
	void *ecb; /* EVP_CIPHER_CTX *, AES-128-ECB encryption with hp */
};

/* 1 if VERSION is one whose Initial keys we know (v1, v2) */
int quic_version_known(__u32 version);
/* Derive the client's Initial keys of VERSION from the DCID and key the two
 * contexts. 0, or -1 (unknown version, or libcrypto failed). */
int quic_keys_derive(struct quic_keys *k, __u32 version, const __u8 *dcid, size_t dcid_len);
void quic_keys_free(struct quic_keys *k);
/* the header protection mask: AES-ECB(hp, sample), 5 bytes used. 0 or -1 */
int quic_hp_mask(struct quic_keys *k, const __u8 *sample, __u8 mask[5]);
/* a piece of the associated data */
struct quic_span {
	const __u8 *p;
	size_t len;
};
/* Open the payload of packet number PN: the associated data is the header up
 * to the end of the packet number, unprotected, given in NAD pieces; CT is
 * the ciphertext with its 16-byte tag at the end (ct_len >= 16); the
 * plaintext (ct_len - 16 bytes) goes to OUT. 0, or -1 when the tag does not
 * match. */
int quic_open(struct quic_keys *k, __u64 pn, const struct quic_span *ad, int nad, const __u8 *ct,
	      size_t ct_len, __u8 *out);

#endif
