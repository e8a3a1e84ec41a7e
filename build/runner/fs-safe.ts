// Removing a stage's scratch or half-written output safely: never follow a
// path into a mount point (a chroot's /proc or /dev), never leave a
// half-written cache entry behind.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Mount points at or below `dir`, from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mnt = line.split(' ')[4];
    if (!mnt) continue;
    const path = mnt.replace(/\\040/g, ' ');
    if (path === dir || path.startsWith(prefix)) out.push(path);
  }
  return out;
}

export function safeRemove(dir: string): void {
  if (!existsSync(dir)) return;
  const mounts = mountsUnder(dir);
  if (mounts.length) throw new Error(`refusing to delete ${dir}: still mounted: ${mounts.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Remove ".tmp-<key>-<pid>" folders left by runs that were interrupted. */
export function removeStaleTemps(stageDir: string): string[] {
  if (!existsSync(stageDir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(stageDir)) {
    const m = /^\.tmp-[0-9a-f]+-(\d+)$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && pidAlive(pid)) continue;
    safeRemove(join(stageDir, name));
    removed.push(name);
  }
  return removed;
}
