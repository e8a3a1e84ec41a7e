// The install itself: partition, format, copy the live image, configure,
// make it bootable (BIOS and UEFI). Each step is a function of the context;
// `hostSteps` are the ones the host tests run against a loop device.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { run, type Log } from '../../lib/exec.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { ANSWERS_ARG, GRUB_SERIAL_LINES, INSTALL_ARG, LIVE_BOOT_ARGS } from '../../lib/live-medium.js';
import type { ResolvedAnswers } from './answers.js';
import { findDisk, listDisks } from './hardware.js';
import { diskProblem, LAYOUT, partitionPath, sfdiskScript } from './layout.js';
import { runSteps, type Progress, type Step, type StepsResult } from './steps.js';
import { configureTarget, writeFstab, writeTargetFile } from './target.js';

export interface InstallContext {
  answers: ResolvedAnswers;
  /** the target disk's device node (symlinks resolved) */
  disk: string;
  /** where the new root is mounted while installing */
  target: string;
  /** the image to copy (the live medium's squashfs) */
  squashfs: string;
  /** the medium's package repository, copied to the disk for offline apt */
  liveRepo?: string;
  /** kernel command-line words the installed system boots with, besides root= */
  cmdline: string[];
  log: Log;
  /** set once the disk has been written to */
  touched?: boolean;
  mounted: string[];
}

const part = (c: InstallContext, name: string) => partitionPath(c.disk, LAYOUT.findIndex((p) => p.name === name) + 1);

async function blkid(dev: string, tag: string): Promise<string> {
  const r = await execa('blkid', ['-s', tag, '-o', 'value', dev], { reject: false });
  const v = String(r.stdout).trim();
  if (!v) throw new Error(`no ${tag} on ${dev}`);
  return v;
}

async function waitForNodes(paths: string[], ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (paths.every((p) => existsSync(p))) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`partitions did not appear: ${paths.filter((p) => !existsSync(p)).join(', ')}`);
}

export const partition: Step<InstallContext> = {
  id: 'partition',
  title: 'Partitioning the disk (GPT: BIOS boot, EFI, root)',
  weight: 2,
  async run(c) {
    c.touched = true;
    await run(c.log, 'wipefs', ['--all', '--force', c.disk]);
    await run(c.log, 'sfdisk', ['--wipe', 'always', '--wipe-partitions', 'always', c.disk], { input: sfdiskScript() });
    await execa('udevadm', ['settle'], { reject: false });
    await execa('partx', ['-u', c.disk], { reject: false });
    await waitForNodes(LAYOUT.map((_, i) => partitionPath(c.disk, i + 1)));
  },
};

export const format: Step<InstallContext> = {
  id: 'format',
  title: 'Making the file systems',
  weight: 3,
  async run(c) {
    for (const [i, p] of LAYOUT.entries()) {
      const dev = partitionPath(c.disk, i + 1);
      if (p.fs === 'vfat') await run(c.log, 'mkfs.vfat', ['-F', '32', '-n', p.label ?? 'EFI', dev]);
      if (p.fs === 'ext4') await run(c.log, 'mkfs.ext4', ['-F', '-q', '-L', p.label ?? 'root', dev]);
    }
  },
};

export const mount: Step<InstallContext> = {
  id: 'mount',
  title: 'Mounting the new system',
  weight: 1,
  async run(c) {
    mkdirSync(c.target, { recursive: true });
    await run(c.log, 'mount', [part(c, 'root'), c.target]);
    c.mounted.push(c.target);
    // The ESP is written with mtools (bootloader step), not mounted: the
    // installer needs no FAT driver in the running kernel.
    mkdirSync(join(c.target, 'boot/efi'), { recursive: true });
  },
};

export const copy: Step<InstallContext> = {
  id: 'copy',
  title: 'Copying the system',
  weight: 50,
  async run(c, progress) {
    // -percentage (squashfs-tools 4.6, trixie) prints a number per line for the gauge
    const help = await execa('unsquashfs', ['-help'], { reject: false, all: true });
    const pct = /-percentage/.test(String(help.all));
    const args = ['-f', pct ? '-percentage' : '-no-progress', '-d', c.target, c.squashfs];
    c.log.line(`$ unsquashfs ${args.join(' ')}`);
    const p = execa('unsquashfs', args, { reject: false, stdin: 'ignore', stderr: 'pipe', stdout: 'pipe', buffer: false });
    let errTail = '';
    p.stdout?.on('data', (b: Buffer) => {
      const m = /(\d+)\s*$/.exec(b.toString().trim());
      if (pct && m) progress(Number(m[1]) / 100);
    });
    p.stderr?.on('data', (b: Buffer) => {
      errTail = (errTail + b.toString()).slice(-2000);
      c.log.line(b.toString().trimEnd());
    });
    const r = await p;
    if (r.exitCode !== 0) throw new Error(`unsquashfs failed (exit ${r.exitCode}): ${errTail.trim().split('\n').pop() ?? ''}`);
  },
};

export const configure: Step<InstallContext> = {
  id: 'configure',
  title: 'Writing the settings (zones, addresses, password, host name)',
  weight: 3,
  async run(c) {
    writeFstab(c.target, await blkid(part(c, 'root'), 'UUID'), await blkid(part(c, 'esp'), 'UUID'));
    await configureTarget(c.target, c.answers, c.liveRepo);
    c.log.line(`configured ${c.answers.hostname}: green ${c.answers.green.mac} ${c.answers.green.address}, red ${c.answers.red.mac} ${c.answers.red.type}, xdp-sni ${c.answers.xdpSni.mode}`);
  },
};

/** Run a command inside the target, with /dev, /proc, /sys and /run bound in. */
async function inTarget(c: InstallContext, cmd: string, args: string[]): Promise<void> {
  const binds: string[] = [];
  try {
    for (const d of ['dev', 'proc', 'sys', 'run']) {
      const at = join(c.target, d);
      mkdirSync(at, { recursive: true });
      await run(c.log, 'mount', ['--rbind', `/${d}`, at]);
      await run(c.log, 'mount', ['--make-rslave', at]);
      binds.unshift(at);
    }
    await run(c.log, 'chroot', [c.target, cmd, ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  } finally {
    for (const at of binds) await execa('umount', ['-R', '-l', at], { reject: false });
  }
}

export const system: Step<InstallContext> = {
  id: 'system',
  title: 'Removing the live-only parts and making the initramfs',
  weight: 15,
  async run(c) {
    const installed = (p: string) => existsSync(join(c.target, 'var/lib/dpkg/info', `${p}.list`));
    const live = ['live-boot', 'live-boot-initramfs-tools', 'live-tools', 'live-config', 'live-config-systemd'].filter(installed);
    if (live.length) await inTarget(c, 'dpkg', ['--purge', ...live]);
    if (existsSync(join(c.target, 'usr/sbin/update-initramfs'))) await inTarget(c, 'update-initramfs', ['-u', '-k', 'all']);
    if (installed('live-boot')) throw new Error('live-boot is still installed in the target');
  },
};

/** The installed system's kernel release (the only /boot/vmlinuz-*). */
export function kernelRelease(target: string): string {
  const k = readdirSync(join(target, 'boot')).filter((f) => f.startsWith('vmlinuz-')).sort();
  if (!k.length) throw new Error(`no kernel in ${join(target, 'boot')}`);
  return k[k.length - 1].slice('vmlinuz-'.length);
}

/** GRUB's menu for the installed system (BIOS and UEFI share it). */
export function grubConfig(rootUuid: string, release: string, cmdline: string[], hostname: string): string {
  const args = [`root=UUID=${rootUuid}`, 'ro', ...cmdline].join(' ');
  return [
    `# GRUB menu of ${hostname}, written by the XDPFire installer`,
    'set default=0',
    'set timeout=3',
    ...GRUB_SERIAL_LINES,
    'insmod part_gpt',
    'insmod ext2',
    'insmod gzio',
    `search --no-floppy --fs-uuid --set=root ${rootUuid}`,
    `menuentry "XDPFire (${release})" {`,
    `    linux /boot/vmlinuz-${release} ${args}`,
    `    initrd /boot/initrd.img-${release}`,
    '}',
    '',
  ].join('\n');
}

/** GRUB's modules that go into the UEFI core image; the rest load from /boot/grub/x86_64-efi. */
export const EFI_CORE_MODULES = ['efi_gop', 'part_gpt', 'part_msdos', 'ext2', 'fat', 'search', 'search_fs_uuid', 'configfile', 'normal', 'linux', 'echo', 'test', 'serial', 'terminal', 'gzio'];
const GRUB_LIB = process.env.XDPFIRE_GRUB_LIB ?? '/usr/lib/grub';

export const bootloader: Step<InstallContext> = {
  id: 'bootloader',
  title: 'Installing GRUB for BIOS and UEFI',
  weight: 6,
  async run(c) {
    const boot = join(c.target, 'boot');
    const rootUuid = await blkid(part(c, 'root'), 'UUID');
    // BIOS: core image into the BIOS boot partition, modules to /boot/grub/i386-pc.
    await run(c.log, 'grub-install', ['--target=i386-pc', `--boot-directory=${boot}`, '--modules=part_gpt ext2', c.disk]);
    // UEFI: a core image that finds the root by UUID and reads the same
    // /boot/grub/grub.cfg, at our own path and at the removable path that
    // firmware without NVRAM entries boots (EFI/BOOT/BOOTX64.EFI).
    const mods = join(boot, 'grub/x86_64-efi');
    mkdirSync(mods, { recursive: true });
    for (const f of readdirSync(join(GRUB_LIB, 'x86_64-efi'))) if (/\.(mod|lst)$/.test(f)) copyFileSync(join(GRUB_LIB, 'x86_64-efi', f), join(mods, f));
    const tmp = mkdtempSync(join(tmpdir(), 'xdpfire-efi-'));
    try {
      const early = join(tmp, 'early.cfg');
      writeFileSync(early, `search --no-floppy --fs-uuid --set=root ${rootUuid}\nset prefix=($root)/boot/grub\nconfigfile ($root)/boot/grub/grub.cfg\n`);
      const efi = join(tmp, 'grubx64.efi');
      await run(c.log, 'grub-mkimage', ['-O', 'x86_64-efi', '-d', join(GRUB_LIB, 'x86_64-efi'), '-p', '/boot/grub', '-c', early, '-o', efi, ...EFI_CORE_MODULES]);
      const esp = part(c, 'esp');
      await run(c.log, 'mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT', '::/EFI/xdpfire']);
      await run(c.log, 'mcopy', ['-i', esp, efi, '::/EFI/BOOT/BOOTX64.EFI']);
      await run(c.log, 'mcopy', ['-i', esp, efi, '::/EFI/xdpfire/grubx64.efi']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const rel = kernelRelease(c.target);
    writeTargetFile(join(boot, 'grub/grub.cfg'), grubConfig(rootUuid, rel, c.cmdline, c.answers.hostname));
  },
};

export const finish: Step<InstallContext> = {
  id: 'finish',
  title: 'Saving the log and unmounting',
  weight: 1,
  async run(c) {
    c.log.line('install complete');
    const logDir = join(c.target, 'var/log');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, 'xdpfire-install.log'), readFileSync(c.log.file));
    await unmountAll(c);
    await execa('sync', [], { reject: false });
  },
};

export async function unmountAll(c: InstallContext): Promise<void> {
  while (c.mounted.length) {
    const m = c.mounted.pop()!;
    const r = await execa('umount', ['-R', m], { reject: false });
    if (r.exitCode !== 0) await execa('umount', ['-R', '-l', m], { reject: false });
  }
}

export const ALL_STEPS: Step<InstallContext>[] = [partition, format, mount, copy, configure, system, bootloader, finish];

/**
 * Run the steps. On failure: unmount, and if the disk was written to, wipe
 * its partition table and signatures, so that it is clearly empty rather
 * than half-installed. The log stays where it is.
 */
export async function install(c: InstallContext, progress: Progress, steps = ALL_STEPS): Promise<StepsResult> {
  c.log.line(`xdpfire-install: ${new Date().toISOString()}, disk ${c.disk}, image ${c.squashfs}`);
  const r = await runSteps(steps, c, c.log, progress);
  if (!r.ok) {
    await unmountAll(c);
    if (c.touched) {
      const w = await execa('wipefs', ['--all', '--force', c.disk], { reject: false });
      c.log.line(w.exitCode === 0 ? `wiped ${c.disk}: it holds no partition table now` : `could not wipe ${c.disk}: ${w.stderr}`);
    }
  }
  return r;
}

/** Live kernel command-line words the installed system keeps (consoles, extras), without live-boot's. */
export function installedCmdline(live: string): string[] {
  const ours = (w: string) => LIVE_BOOT_ARGS.includes(w) || w.startsWith(INSTALL_ARG) || w.startsWith(ANSWERS_ARG);
  const drop = /^(BOOT_IMAGE=|initrd=|boot=|root=|ro$|rw$|quiet$|splash$|live-|fetch=|toram)/;
  return live.trim().split(/\s+/).filter((w) => w && !ours(w) && !drop.test(w));
}

/**
 * The checks of /disk that need the machine: it exists, is not the install
 * medium, is big enough, and holds no partitions unless wiping was allowed.
 * Returns the device node (symlinks resolved); throws InvalidFileError.
 */
export async function checkTargetDisk(a: ResolvedAnswers, label = 'answers'): Promise<string> {
  const d = await findDisk(a.disk);
  if (!d) throw new InvalidFileError(label, [`/disk: ${a.disk} is not a disk on this machine (found: ${(await listDisks()).map((x) => x.path).join(', ') || 'none'})`]);
  const why = diskProblem({ bytes: d.bytes, readOnly: d.readOnly, hasPartitions: d.hasPartitions, isLiveMedium: d.inUse }, a.wipeExistingPartitions);
  if (why) throw new InvalidFileError(label, [`/disk: ${a.disk} cannot be used: ${why}`]);
  return realpathSync(a.disk);
}
