// The admin password's hash: scrypt, stored as "scrypt$N$r$p$salt$hash".
// Shared by the web UI (login, password change), the installer (sets it) and
// the build (the live image's default).
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

// N=2^14, r=8, p=1: about 16 MB and 50 ms on a PC; the login is rate limited.
const SCRYPT = { N: 16384, r: 8, p: 1 };

/** "scrypt$N$r$p$salt_b64$hash_b64" */
export function hashPassword(password: string, salt: Buffer = randomBytes(16)): string {
  const h = scryptSync(password.normalize('NFC'), salt, 32, { ...SCRYPT, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${h.toString('base64')}`;
}

export function verifyPassword(password: string, stored: string): boolean {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored.trim());
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N > 1 << 20 || r > 32 || p > 16) return false;
  const want = Buffer.from(m[5], 'base64');
  const got = scryptSync(password.normalize('NFC'), Buffer.from(m[4], 'base64'), want.length, { N, r, p, maxmem: 256 * 1024 * 1024 });
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Why a new admin password is too weak, or undefined when it is strong enough (the installer's and the web UI's rule). */
export function passwordProblem(pw: string): string | undefined {
  if (pw.length >= 16) return undefined;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(pw)).length;
  if (pw.length < 10) return `too short (${pw.length} characters; at least 10, or 16 of any kind)`;
  if (classes < 3) return 'needs characters from 3 of: lower case, upper case, digits, others (or 16 characters of any kind)';
  return undefined;
}
