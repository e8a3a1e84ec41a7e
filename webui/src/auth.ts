// Sessions (random ids; the server keeps only their SHA-256, in files), each
// bound to the password file's fingerprint (passwd.ts: a session made before
// the password changed is refused), and CSRF tokens (one random token per
// session, compared in constant time).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export interface Session {
  created: number;
  expires: number;
  csrf: string;
  /** fingerprint of the password file when the session was made */
  pw: string;
  flash?: string;
}

export const SESSION_TTL_MS = 8 * 3600_000;

export class SessionStore {
  constructor(private dir: string) {}

  private file(id: string): string {
    return join(this.dir, createHash('sha256').update(id).digest('hex'));
  }

  /** A new session under the password whose file has fingerprint `pw`. */
  create(now: number, pw: string): { id: string; s: Session } {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.sweep(now);
    const id = newToken();
    const s: Session = { created: now, expires: now + SESSION_TTL_MS, csrf: newToken(), pw };
    this.save(id, s);
    return { id, s };
  }

  /** The session, if it exists, has not expired and was made under the current password (fingerprint `pw`). */
  get(id: string | undefined, now: number, pw: string | undefined): Session | undefined {
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    try {
      const s = JSON.parse(readFileSync(this.file(id), 'utf8')) as Session;
      if (!(s.expires > now) || pw === undefined || typeof s.pw !== 'string' || !safeEqual(s.pw, pw)) {
        this.destroy(id);
        return undefined;
      }
      return s;
    } catch {
      return undefined;
    }
  }

  save(id: string, s: Session): void {
    writeFileAtomic(this.file(id), JSON.stringify(s), { mode: 0o600 });
  }

  destroy(id: string): void {
    rmSync(this.file(id), { force: true });
  }

  /** Drop expired sessions (by file age: sessions are never extended). */
  sweep(now: number): void {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const n of names) {
      try {
        if (statSync(join(this.dir, n)).mtimeMs + SESSION_TTL_MS < now) rmSync(join(this.dir, n), { force: true });
      } catch {
        /* raced */
      }
    }
  }
}
