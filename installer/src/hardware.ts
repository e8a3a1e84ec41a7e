// What the machine has: disks (lsblk) and network cards (sysfs).
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export interface Disk {
  path: string;
  bytes: number;
  model: string;
  readOnly: boolean;
  removable: boolean;
  hasPartitions: boolean;
  /** holds a mounted filesystem (e.g. the live medium) */
  inUse: boolean;
  /** a loop device (never offered in the dialogs) */
  loop?: boolean;
}

interface LsblkDev {
  name: string;
  path: string;
  size: number | string;
  model: string | null;
  type: string;
  ro: boolean | string;
  rm: boolean | string;
  mountpoints?: (string | null)[];
  fstype?: string | null;
  children?: LsblkDev[];
}

const truthy = (v: boolean | string) => v === true || v === '1' || v === 'true';

/** Parse `lsblk -J -b -o NAME,PATH,SIZE,MODEL,TYPE,RO,RM,MOUNTPOINTS,FSTYPE`. */
export function parseLsblk(json: string): Disk[] {
  const devs = (JSON.parse(json) as { blockdevices: LsblkDev[] }).blockdevices ?? [];
  const mounted = (d: LsblkDev): boolean => (d.mountpoints ?? []).some((m) => !!m) || (d.children ?? []).some(mounted);
  return devs
    // loop devices only when named in an answer file (the host tests use them)
    .filter((d) => d.type === 'disk' || (d.type === 'loop' && Number(d.size) > 0))
    .map((d) => ({
      path: d.path,
      bytes: Number(d.size),
      model: (d.model ?? '').trim() || 'unknown model',
      readOnly: truthy(d.ro),
      removable: truthy(d.rm),
      hasPartitions: (d.children ?? []).some((c) => c.type === 'part') || !!d.fstype,
      inUse: mounted(d),
      ...(d.type === 'loop' ? { loop: true } : {}),
    }));
}

export async function listDisks(): Promise<Disk[]> {
  const r = await execa('lsblk', ['-J', '-b', '-o', 'NAME,PATH,SIZE,MODEL,TYPE,RO,RM,MOUNTPOINTS,FSTYPE'], { reject: false });
  if (r.exitCode !== 0) throw new Error(`lsblk failed: ${r.stderr}`);
  return parseLsblk(String(r.stdout));
}

/** The disk named by a path (symlinks such as /dev/disk/by-id/... resolved). */
export async function findDisk(path: string): Promise<Disk | undefined> {
  if (!existsSync(path)) return undefined;
  const real = realpathSync(path);
  return (await listDisks()).find((d) => d.path === real);
}

export interface Nic {
  name: string;
  mac: string;
  /** "up", "down" or "no carrier" */
  link: string;
  driver: string;
}

/** Physical network cards (those with a device in sysfs), in name order. */
export function listNics(sysfs = '/sys'): Nic[] {
  const base = join(sysfs, 'class', 'net');
  if (!existsSync(base)) return [];
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return readdirSync(base)
    .filter((n) => existsSync(join(base, n, 'device')))
    .sort()
    .map((n) => {
      const carrier = read(join(base, n, 'carrier'));
      const state = read(join(base, n, 'operstate'));
      let driver = '';
      try {
        driver = realpathSync(join(base, n, 'device', 'driver')).split('/').pop() ?? '';
      } catch {
        /* no driver bound */
      }
      return { name: n, mac: read(join(base, n, 'address')).toLowerCase(), link: carrier === '1' ? 'up' : state === 'down' ? 'down' : 'no carrier', driver };
    });
}
