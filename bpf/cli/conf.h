/* SPDX-License-Identifier: GPL-2.0 */
/* The settings file (/etc/xdpfire/xdp-sni.conf): KEY=value lines in the format
 * of xdpfire-base's settings.sh, which stays the one reader that applies them.
 * Here: look up one key, and replace keys in place, atomically. */
#ifndef XSNI_CONF_H
#define XSNI_CONF_H

#include <stddef.h>

/* The value of KEY (the last line that sets it, outer quotes dropped) into
 * val: 1 found, 0 not set or no file, -1 error (errno). */
int conf_get(const char *path, const char *key, char *val, size_t n);

/* Set n keys: a key's last line is replaced in place, a missing key is
 * appended; every other line stays as it was. The new text goes to a
 * temporary file in the same folder, fsynced, then renamed over the old one,
 * so a reader sees the old file or the new one, whole. The file keeps its
 * owner and mode. 0, or -1 (errno) with the old file untouched. */
int conf_set(const char *path, const char *const *keys, const char *const *vals, int n);
/* The same, the result written to dst (through dst.tmp and a rename) and
 * path left as it is. */
int conf_write(const char *path, const char *dst, const char *const *keys, const char *const *vals,
	       int n);

/* Changes to the settings file one at a time: an exclusive lock on
 * STATE_DIR/.settings.lock. The fd to close, or -1 (errno). */
int conf_lock(const char *state_dir);

#endif
