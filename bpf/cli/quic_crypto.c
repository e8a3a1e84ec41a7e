// SPDX-License-Identifier: GPL-2.0
/* QUIC Initial packet protection: keys, header protection, AEAD. */
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "quic_crypto.h"

/* RFC 9001 section 5.2 */
static const __u8 salt_v1[20] = { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
				  0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a };
/* RFC 9369 section 3.3.1 */
static const __u8 salt_v2[20] = { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
				  0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9 };

int quic_version_known(__u32 version)
{
	return version == QUIC_V1 || version == QUIC_V2;
}

/* HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context, for
 * outputs of at most one SHA-256 block: T(1) = HMAC(secret, info || 0x01). */
static int expand_label(const __u8 secret[32], const char *label, __u8 *out, size_t len)
{
	__u8 info[2 + 1 + 6 + 32 + 1 + 1], t[32];
	size_t ll = strlen(label), n = 0;
	unsigned int tl = sizeof(t);

	if (len > sizeof(t) || ll > 32)
		return -1;
	info[n++] = len >> 8;
	info[n++] = len;
	info[n++] = 6 + ll;
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0; /* context: empty */
	info[n++] = 1; /* the block counter */
	if (!HMAC(EVP_sha256(), secret, 32, info, n, t, &tl) || tl != sizeof(t))
		return -1;
	memcpy(out, t, len);
	return 0;
}

int quic_keys_derive(struct quic_keys *k, __u32 version, const __u8 *dcid, size_t dcid_len)
{
	static const __u8 none;
	int v2 = version == QUIC_V2;
	__u8 initial[32];
	unsigned int il = sizeof(initial);
	EVP_CIPHER_CTX *gcm, *ecb;

	quic_keys_free(k);
	if (!quic_version_known(version))
		return -1;
	/* HKDF-Extract(salt, DCID) is HMAC(salt, DCID) */
	if (!HMAC(EVP_sha256(), v2 ? salt_v2 : salt_v1, 20, dcid_len ? dcid : &none, dcid_len,
		  initial, &il))
		return -1;
	if (expand_label(initial, "client in", k->secret, 32) ||
	    expand_label(k->secret, v2 ? "quicv2 key" : "quic key", k->key, QUIC_KEY_LEN) ||
	    expand_label(k->secret, v2 ? "quicv2 iv" : "quic iv", k->iv, QUIC_IV_LEN) ||
	    expand_label(k->secret, v2 ? "quicv2 hp" : "quic hp", k->hp, QUIC_HP_LEN))
		return -1;
	gcm = EVP_CIPHER_CTX_new();
	ecb = EVP_CIPHER_CTX_new();
	k->gcm = gcm;
	k->ecb = ecb;
	if (!gcm || !ecb || !EVP_DecryptInit_ex(gcm, EVP_aes_128_gcm(), NULL, k->key, NULL) ||
	    !EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_SET_IVLEN, QUIC_IV_LEN, NULL) ||
	    !EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), NULL, k->hp, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(ecb, 0)) {
		quic_keys_free(k);
		return -1;
	}
	return 0;
}

void quic_keys_free(struct quic_keys *k)
{
	EVP_CIPHER_CTX_free(k->gcm);
	EVP_CIPHER_CTX_free(k->ecb);
	memset(k, 0, sizeof(*k));
}

int quic_hp_mask(struct quic_keys *k, const __u8 *sample, __u8 mask[5])
{
	__u8 out[QUIC_SAMPLE_LEN + 16];
	int n = 0;

	if (!k->ecb || !EVP_EncryptUpdate(k->ecb, out, &n, sample, QUIC_SAMPLE_LEN) ||
	    n != QUIC_SAMPLE_LEN)
		return -1;
	memcpy(mask, out, 5);
	return 0;
}

int quic_open(struct quic_keys *k, __u64 pn, const struct quic_span *ad, int nad, const __u8 *ct,
	      size_t ct_len, __u8 *out)
{
	__u8 nonce[QUIC_IV_LEN];
	size_t pl = ct_len - QUIC_TAG_LEN;
	int i, n = 0, m = 0;

	if (!k->gcm || ct_len < QUIC_TAG_LEN || pl > 0x7fffffff)
		return -1;
	/* the nonce: the IV XOR the packet number, left-padded to 12 bytes */
	memcpy(nonce, k->iv, QUIC_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[QUIC_IV_LEN - 1 - i] ^= (__u8)(pn >> (8 * i));
	if (!EVP_DecryptInit_ex(k->gcm, NULL, NULL, NULL, nonce))
		return -1;
	for (i = 0; i < nad; i++)
		if (ad[i].len > 0x7fffffff ||
		    !EVP_DecryptUpdate(k->gcm, NULL, &n, ad[i].p, (int)ad[i].len))
			return -1;
	if (!EVP_DecryptUpdate(k->gcm, out, &n, ct, (int)pl) ||
	    !EVP_CIPHER_CTX_ctrl(k->gcm, EVP_CTRL_GCM_SET_TAG, QUIC_TAG_LEN, (void *)(ct + pl)) ||
	    EVP_DecryptFinal_ex(k->gcm, out + n, &m) <= 0)
		return -1;
	return 0;
}
