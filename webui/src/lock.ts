// A mutex shared by processes (each CGI request is one): holding it is
// listening on a Linux abstract Unix socket of the lock's name. Binding a
// name that another socket holds fails (EADDRINUSE), and the kernel frees the
// name when the holder closes it or dies, so a crashed or killed holder
// leaves no stale lock behind (a lock file would need stale-lock recovery,
// which races). Abstract names are per network namespace: the CGI processes
// of one lighttpd share one.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';

export class LockTimeout extends Error {}

/** The abstract socket name for a lock on `key` (e.g. a file's path): "\0xdpfire-webui:<sha256>". */
export function lockName(key: string): string {
  return `\0xdpfire-webui:${createHash('sha256').update(key).digest('hex')}`;
}

function bind(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    s.listen(name, () => resolve(s));
  });
}

/** Take the lock once; undefined when another process holds it. */
export async function tryLock(key: string): Promise<(() => Promise<void>) | undefined> {
  const s = await bind(lockName(key));
  return s && (() => new Promise<void>((r) => s.close(() => r())));
}

/** Run `fn` holding the lock on `key`; waits for it at most `timeoutMs`. */
export async function withLock<T>(key: string, fn: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const release = await tryLock(key);
    if (release) {
      try {
        return await fn();
      } finally {
        await release();
      }
    }
    if (Date.now() > end) throw new LockTimeout(`lock busy for ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2 + Math.random() * 8));
  }
}
