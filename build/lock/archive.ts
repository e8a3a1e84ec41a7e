// What the archive has now, for a lock's check before any long work: the
// Packages indexes of the image's suite (the private apt setup's lists, the
// same sources the rootfs is built from), parsed for the locked names.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { privateApt } from '../apt/private-apt.js';
import type { BuildConfig } from '../config/profile.js';
import { run, type Log } from '../../lib/exec.js';
import { checkAvailable, parsePackagesIndex, type IndexEntry, type Lock } from './lock.js';

/** apt stores lists compressed or not, depending on its configuration;
 * apt-helper cat-file reads each of its formats. */
export async function readListFile(file: string, log: Log): Promise<string> {
  return run(log, '/usr/lib/apt/apt-helper', ['cat-file', file], { capture: true });
}

export async function archiveIndex(c: BuildConfig, log: Log, wanted: Set<string>): Promise<Map<string, IndexEntry[]>> {
  const apt = await privateApt(c, log);
  const lists = join(apt.dir, 'lists');
  const index = new Map<string, IndexEntry[]>();
  for (const f of readdirSync(lists).filter((n) => /_Packages(\.\w+)?$/.test(n)).sort()) {
    parsePackagesIndex(await readListFile(join(lists, f), log), wanted, index);
  }
  return index;
}

/** Problems with building `lock` from today's archive (none: it can be). */
export async function lockAvailability(c: BuildConfig, log: Log, lock: Lock): Promise<string[]> {
  const wanted = new Set(lock.packages.filter((p) => p.origin === 'debian').map((p) => p.name));
  return checkAvailable(lock, await archiveIndex(c, log, wanted));
}
