// Admin password (an scrypt hash in a file, never the password), sessions
// (random ids; the server keeps only their SHA-256, in files) and CSRF
// tokens (one random token per session, compared in constant time).
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
    const f = this.file(id);
    writeFileSync(`${f}.tmp`, JSON.stringify(s), { mode: 0o600 });
    renameSync(`${f}.tmp`, f);
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

/**
 * At most 5 failed logins per 10 minutes per client address, so that a
 * guessing LAN host does not lock the admin out from elsewhere.
 */
export class LoginLimiter {
  constructor(private file: string, private max = 5, private windowMs = 600_000) {}

  private read(now: number): Record<string, number[]> {
    let all: Record<string, number[]> = {};
    try {
      all = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, number[]>;
    } catch {
      /* none yet */
    }
    const out: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(all)) {
      const recent = Array.isArray(v) ? v.filter((t) => t > now - this.windowMs) : [];
      if (recent.length) out[k] = recent;
    }
    return out;
  }

  blocked(addr: string, now: number): boolean {
    return (this.read(now)[addr] ?? []).length >= this.max;
  }

  fail(addr: string, now: number): void {
    const all = this.read(now);
    all[addr] = [...(all[addr] ?? []), now];
    writeFileSync(this.file, JSON.stringify(all), { mode: 0o600 });
  }

  reset(addr: string, now: number): void {
    const all = this.read(now);
    delete all[addr];
    writeFileSync(this.file, JSON.stringify(all), { mode: 0o600 });
  }
}
