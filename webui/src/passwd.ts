// The admin password file (/etc/xdpfire/webui.passwd, one scrypt hash):
// its fingerprint, which every session carries so that any change of the
// file ends the sessions made before it (through the UI, `webui.cjs passwd`,
// the installer or an editor alike); writing a new hash; and a checked
// change (current password right, new one strong enough), one at a time.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { hashPassword, passwordProblem, verifyPassword } from '../../lib/password.js';
import { withLock } from './lock.js';

/** A stored hash's fingerprint (SHA-256): it changes with every new hash, even of the same password (new salt). */
export function fingerprint(stored: string): string {
  return createHash('sha256').update(stored.trim()).digest('base64url');
}

/** The password file's fingerprint; undefined when it cannot be read (then no session is valid). */
export function passwdFingerprint(file: string): string | undefined {
  try {
    return fingerprint(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A group's id from /etc/group. */
export function groupId(name: string, groupFile = '/etc/group'): number | undefined {
  for (const l of readFileSync(groupFile, 'utf8').split('\n')) {
    const f = l.split(':');
    if (f[0] === name) return Number(f[2]);
  }
  return undefined;
}

/**
 * Replace the file with `password`'s hash (temp file, sync, rename): mode
 * 0640, owner root:www-data when run as root (lighttpd's CGI reads it as
 * www-data), otherwise the caller's. Returns the new file's fingerprint.
 */
export function writePasswdFile(file: string, password: string): string {
  const owner = process.getuid?.() === 0 ? { uid: 0, gid: groupId('www-data') ?? 0 } : {};
  const stored = `${hashPassword(password)}\n`;
  writeFileAtomic(file, stored, { mode: 0o640, ...owner });
  return fingerprint(stored);
}

/** Set the password (`webui.cjs passwd`), under the file's lock like changePassword. */
export async function setPassword(file: string, password: string): Promise<void> {
  await withLock(resolve(file), () => writePasswdFile(file, password));
}

/** ok: with the fingerprint of the file written (the changing browser's new session carries it). */
export type ChangeResult = { ok: true; fingerprint: string } | { ok: false; why: 'wrong-current' | 'weak' | 'no-file'; message: string };

/** Set `next` as the password if `current` is the password now and `next` is strong enough. */
export async function changePassword(file: string, current: string, next: string): Promise<ChangeResult> {
  const weak = passwordProblem(next);
  if (weak) return { ok: false, why: 'weak', message: `the new password is ${weak}` };
  // under the file's lock: two changes at once cannot both pass the check of the same old password
  return withLock(resolve(file), (): ChangeResult => {
    let stored: string;
    try {
      stored = readFileSync(file, 'utf8');
    } catch {
      return { ok: false, why: 'no-file', message: `no admin password is set (${file} is missing)` };
    }
    if (!verifyPassword(current, stored)) return { ok: false, why: 'wrong-current', message: 'the current password is wrong' };
    return { ok: true, fingerprint: writePasswdFile(file, next) };
  });
}
