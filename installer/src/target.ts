// Writing the installed system's configuration into a mounted root. Each
// function takes the root directory, so the tests run them against a loop
// device or a plain folder on the host.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { writeFileAtomic, type AtomicWriteOptions } from '../../lib/atomic-write.js';
import { LIVE_ONLY_FILES, LIVE_REPO_PATH } from '../../lib/live-medium.js';
import { hashPassword } from '../../lib/password.js';
import type { ResolvedAnswers } from './answers.js';

/** Write a file of the installed system in one step (lib/atomic-write.ts), creating its folder. */
export function writeTargetFile(path: string, text: string, opts: AtomicWriteOptions = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text, opts);
}

/**
 * Set KEY=value lines in an IPFire-style settings text: an existing line of
 * the key is replaced in place, a missing key is appended. Comments stay.
 */
export function setKeys(text: string, values: Record<string, string>): string {
  const left = new Map(Object.entries(values));
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((line) => {
    const m = /^\s*([A-Z0-9_]+)\s*=/.exec(line);
    if (m && left.has(m[1])) {
      const v = left.get(m[1])!;
      left.delete(m[1]);
      return `${m[1]}=${v}`;
    }
    return line;
  });
  for (const [k, v] of left) out.push(`${k}=${v}`);
  return `${out.join('\n')}\n`;
}

function editKeys(path: string, values: Record<string, string>): void {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  writeTargetFile(path, setKeys(text, values));
}

export function writeFstab(root: string, rootUuid: string, espUuid: string): void {
  writeTargetFile(join(root, 'etc/fstab'), [
    '# /etc/fstab: written by the XDPFire installer',
    '# <file system>  <mount point>  <type>  <options>  <dump>  <pass>',
    `UUID=${rootUuid}  /  ext4  errors=remount-ro  0  1`,
    `UUID=${espUuid}  /boot/efi  vfat  umask=0077  0  2`,
    '',
  ].join('\n'));
}

export function writeHostname(root: string, hostname: string): void {
  writeTargetFile(join(root, 'etc/hostname'), `${hostname}\n`);
  writeTargetFile(join(root, 'etc/hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
}

/** A new, unique machine-id (the image's is empty, so no two boxes share one). */
export function writeMachineId(root: string): string {
  const id = randomBytes(16).toString('hex');
  writeTargetFile(join(root, 'etc/machine-id'), `${id}\n`, { mode: 0o444 });
  rmSync(join(root, 'var/lib/dbus/machine-id'), { force: true });
  return id;
}

export function writeKeyboard(root: string, layout: string): void {
  writeTargetFile(join(root, 'etc/default/keyboard'), `# written by the XDPFire installer\nXKBMODEL="pc105"\nXKBLAYOUT="${layout}"\nXKBVARIANT=""\nXKBOPTIONS=""\nBACKSPACE="guess"\n`);
}

export function writeTimezone(root: string, zone: string): void {
  const lt = join(root, 'etc/localtime');
  rmSync(lt, { force: true });
  symlinkSync(`/usr/share/zoneinfo/${zone}`, lt);
  writeTargetFile(join(root, 'etc/timezone'), `${zone}\n`);
}

/** Zones and addresses, in the files xdpfire-base reads. */
export function writeNetwork(root: string, a: ResolvedAnswers): void {
  writeTargetFile(join(root, 'etc/xdpfire/zones.conf'), `# written by the XDPFire installer\nGREEN_MACADDR=${a.green.mac}\nRED_MACADDR=${a.red.mac}\n`);
  const settings: Record<string, string> = { GREEN_ADDRESS: a.green.address, RED_TYPE: a.red.type === 'static' ? 'STATIC' : 'DHCP' };
  settings.RED_ADDRESS = a.red.type === 'static' ? a.red.address ?? '' : '';
  settings.RED_GATEWAY = a.red.type === 'static' ? a.red.gateway ?? '' : '';
  settings.RED_DNS = a.red.type === 'static' ? (a.red.dns ?? []).join(' ') : '';
  editKeys(join(root, 'etc/xdpfire/settings.conf'), settings);
}

export function writeXdpSniMode(root: string, mode: 'monitor' | 'block'): void {
  const conf = join(root, 'etc/xdpfire/xdp-sni.conf');
  if (existsSync(conf)) editKeys(conf, { MODE: mode });
}

/** A group's gid from the target's /etc/group (0 when absent). */
export function groupId(root: string, group: string): number {
  try {
    for (const line of readFileSync(join(root, 'etc/group'), 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === group) return Number(f[2]);
    }
  } catch {
    /* no group file */
  }
  return 0;
}

/** SHA-512 crypt of a password, by openssl (the password goes through stdin). */
export async function cryptPassword(password: string): Promise<string> {
  const r = await execa('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n`, reject: false });
  const h = String(r.stdout).trim();
  if (r.exitCode !== 0 || !h.startsWith('$6$')) throw new Error(`openssl passwd failed: ${r.stderr}`);
  return h;
}

/** Set root's password hash in the target's /etc/shadow. */
export function setRootHash(root: string, hash: string): void {
  const path = join(root, 'etc/shadow');
  const lines = readFileSync(path, 'utf8').split('\n');
  const days = Math.floor(Date.now() / 86_400_000);
  let found = false;
  const out = lines.map((l) => {
    const f = l.split(':');
    if (f[0] !== 'root') return l;
    found = true;
    f[1] = hash;
    f[2] = String(days);
    return f.join(':');
  });
  if (!found) throw new Error(`no root entry in ${path}`);
  writeTargetFile(path, out.join('\n'), { mode: 0o640, uid: 0, gid: groupId(root, 'shadow') });
}

/** The admin password: root's login and the web UI's hash. */
export async function writeAdminPassword(root: string, password: string): Promise<void> {
  setRootHash(root, await cryptPassword(password));
  const web = join(root, 'etc/xdpfire/webui.passwd');
  writeTargetFile(web, `${hashPassword(password)}\n`, { mode: 0o640, uid: 0, gid: groupId(root, 'www-data') });
}

/** Files only the live system has (build/stages/rootfs.ts writes them). */
export const LIVE_ONLY: readonly string[] = Object.values(LIVE_ONLY_FILES);

/**
 * Remove what only the live system wants: the root autologins on the serial
 * console and tty1, and the apt source on the live medium (the medium's
 * repository is copied to the disk and the source points there instead).
 */
export function removeLiveOnly(root: string, liveRepo?: string): void {
  for (const f of LIVE_ONLY) rmSync(join(root, f), { force: true });
  const diskRepo = '/var/lib/xdpfire/repo';
  if (liveRepo && existsSync(liveRepo)) cpSync(liveRepo, join(root, diskRepo), { recursive: true });
  const sources = join(root, 'etc/apt/sources.list');
  if (existsSync(sources)) {
    const text = readFileSync(sources, 'utf8').replaceAll(`file:${LIVE_REPO_PATH}`, `file:${diskRepo}`).replace(/from the live medium \(offline\)/g, 'copied from the install medium (offline)');
    writeTargetFile(sources, text);
  }
}

/** Everything the answers say about the installed system's files. */
export async function configureTarget(root: string, a: ResolvedAnswers, liveRepo?: string): Promise<void> {
  writeHostname(root, a.hostname);
  writeMachineId(root);
  writeKeyboard(root, a.keyboard);
  writeTimezone(root, a.timezone);
  writeNetwork(root, a);
  writeXdpSniMode(root, a.xdpSni.mode);
  await writeAdminPassword(root, a.adminPassword);
  removeLiveOnly(root, liveRepo);
}
