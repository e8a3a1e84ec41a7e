// One build at a time per cache folder. Two runs in the same folder would
// compile the same kernel twice into one build tree and race on the bpf
// chroot; with the lock, the second waits and then finds the first one's
// entries in the cache.
//
// The lock is flock(2) on <cacheDir>/build.lock, held by a small `flock`
// child (util-linux) for as long as its stdin stays open. The kernel drops
// it when that child exits, which it does when this process closes the pipe
// or dies for any reason: a killed build never leaves a stale lock behind,
// and there is no PID file to second-guess.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'build.lock';

export interface BuildLock {
  /** Let the next build in. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Start the `flock` child and resolve once it says it holds the lock;
 * with `wait` false, resolve undefined when another process holds it.
 */
function hold(lockFile: string, wait: boolean): Promise<BuildLock | undefined> {
  // The script is a constant: nothing is interpolated into it.
  const args = [...(wait ? [] : ['--nonblock']), '--exclusive', lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'];
  const child = spawn('flock', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += String(d);
      if (!out.includes('locked\n')) return;
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
      // Not kept alive by the lock itself: a process that is otherwise done
      // may exit, and its exit releases the lock.
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      let released = false;
      resolve({
        release: async () => {
          if (released) return;
          released = true;
          child.ref();
          child.stdin.end();
          await exited;
        },
      });
    };
    const onExit = (code: number | null) => {
      child.stdout.off('data', onData);
      // flock --nonblock exits 1 when another process holds the lock.
      if (!wait && code === 1) resolve(undefined);
      else reject(new Error(`could not take the build lock ${lockFile}: flock exited ${code}${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (err) => reject(new Error(`could not take the build lock ${lockFile}: ${err.message}`)));
  });
}

/**
 * Take the build lock of `cacheDir`, waiting while another build holds it
 * (`print` says so once).
 */
export async function acquireBuildLock(cacheDir: string, print: (line: string) => void): Promise<BuildLock> {
  mkdirSync(cacheDir, { recursive: true });
  const lockFile = join(cacheDir, LOCK_FILE);
  const now = await hold(lockFile, false);
  if (now) return now;
  const t0 = Date.now();
  print(`another build holds ${lockFile}; waiting for it (its stages will then come from the cache)`);
  const later = await hold(lockFile, true);
  print(`got the build lock after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return later!;
}
