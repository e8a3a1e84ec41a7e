// At most `max` password checks per client address in a sliding window
// (5 per 10 minutes), so that a guessing LAN host does not lock the admin out
// from elsewhere. Each CGI request is a process of its own, so the count is
// kept in files and changed under a lock shared by processes (lock.ts):
//
//   - one file per address (named by the address's SHA-256): a burst from one
//     address never reads or writes another address's record;
//   - attempt(): under the address's lock, read its recent attempts, refuse
//     when there are `max`, else record this one. The attempt counts as a
//     failure from then on, before the password is even looked at; only a
//     right password (succeeded()) clears it. So of N concurrent attempts at
//     most `max` reach the password check, and every checked one is counted.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { tryLock, withLock } from './lock.js';

interface Attempts {
  addr: string;
  /** times of the attempts not yet cleared by a right password */
  t: number[];
}

export class LoginLimiter {
  constructor(private dir: string, private max = 5, private windowMs = 600_000) {}

  /** The address's record file. */
  file(addr: string): string {
    return join(this.dir, createHash('sha256').update(addr).digest('hex'));
  }

  private recent(file: string, now: number): number[] {
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as Attempts;
      return Array.isArray(r.t) ? r.t.filter((t) => typeof t === 'number' && t > now - this.windowMs) : [];
    } catch {
      return []; // none yet
    }
  }

  /**
   * Record one password attempt for `addr`, counted as failed until
   * succeeded() clears it. False (nothing recorded) when `addr` already has
   * `max` attempts in the window: the password must not be checked.
   */
  async attempt(addr: string, now: number): Promise<boolean> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const f = this.file(addr);
    return withLock(f, () => {
      const t = this.recent(f, now);
      if (t.length >= this.max) return false;
      writeFileAtomic(f, JSON.stringify({ addr, t: [...t, now] } satisfies Attempts), { mode: 0o600 });
      return true;
    });
  }

  /** The password was right: forget the address's attempts, and drop other addresses' expired records. */
  async succeeded(addr: string, now: number): Promise<void> {
    const f = this.file(addr);
    await withLock(f, () => rmSync(f, { force: true }));
    await this.sweep(now);
  }

  /** Remove records with no attempt left in the window (each under its lock; a busy one is left for later). */
  async sweep(now: number): Promise<void> {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return;
    }
    for (const n of names) {
      const f = join(this.dir, n);
      const release = await tryLock(f);
      if (!release) continue;
      try {
        if (!this.recent(f, now).length) rmSync(f, { force: true });
      } finally {
        await release();
      }
    }
  }
}
