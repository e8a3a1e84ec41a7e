// Admin password (an scrypt hash in a file, never the password), sessions
// (random ids; the server keeps only their SHA-256, in files) and CSRF
// tokens (one random token per session, compared in constant time).
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
  flash?: string;
}

export const SESSION_TTL_MS = 8 * 3600_000;

export class SessionStore {
  constructor(private dir: string) {}

  private file(id: string): string {
    return join(this.dir, createHash('sha256').update(id).digest('hex'));
  }

  create(now: number): { id: string; s: Session } {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.sweep(now);
    const id = newToken();
    const s: Session = { created: now, expires: now + SESSION_TTL_MS, csrf: newToken() };
    this.save(id, s);
    return { id, s };
  }

  get(id: string | undefined, now: number): Session | undefined {
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    try {
      const s = JSON.parse(readFileSync(this.file(id), 'utf8')) as Session;
      if (!(s.expires > now)) {
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
