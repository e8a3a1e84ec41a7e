// The installer's disk work on the host, against a loop device: GPT layout,
// file systems, the copy of an image, every file the answers write, GRUB for
// BIOS and UEFI, the log on the disk; a failing step wipes the disk; a disk
// with partitions is refused unless the answers allow wiping. No QEMU.
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileLog } from '../../lib/exec.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { verifyPassword } from '../../lib/password.js';
import { parseAnswers, type ResolvedAnswers } from '../../installer/src/answers.js';
import { ALL_STEPS, checkTargetDisk, install, type InstallContext } from '../../installer/src/install.js';
import { LIVE_ONLY } from '../../installer/src/target.js';
import { GPT_BIOS_BOOT, GPT_ESP, GPT_LINUX_ROOT_X86_64 } from '../../installer/src/layout.js';

const work = mkdtempSync(join(tmpdir(), 'xdpfire-installer-'));
const image = join(work, 'disk.img');
const squashfs = join(work, 'filesystem.squashfs');
const liveRepo = join(work, 'repo');
let loop = '';
const PASSWORD = 'Host-Test-Pw-2026';

const answers: ResolvedAnswers = parseAnswers(JSON.stringify({
  disk: '/dev/null-replaced',
  hostname: 'fw-host-test',
  adminPassword: PASSWORD,
  keyboard: 'de',
  timezone: 'Europe/Berlin',
  green: { mac: '52:54:00:AA:00:01', address: '10.1.0.1/24' },
  red: { mac: '52:54:00:aa:00:02', type: 'static', address: '203.0.113.10/24', gateway: '203.0.113.1', dns: ['203.0.113.53'] },
  xdpSni: { mode: 'monitor' },
}), 'host-test');

/** A small stand-in for the live image: the files the installer edits, and a "kernel". */
async function makeImage(): Promise<void> {
  const root = join(work, 'root');
  const put = (p: string, text: string) => {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  put('etc/shadow', 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n');
  put('etc/group', 'root:x:0:\nshadow:x:42:\nwww-data:x:33:\n');
  put('etc/hostname', 'xdpfire\n');
  put('etc/machine-id', '');
  put('etc/xdpfire/settings.conf', '# settings\nGREEN_ADDRESS=192.168.1.1/24\nDHCP_ENABLED=on\nRED_TYPE=DHCP\nRED_ADDRESS=\nRED_GATEWAY=\nRED_DNS=\n');
  put('etc/xdpfire/xdp-sni.conf', '# xdp-sni\nMODE=block\nINTERFACES=green0\n');
  put('etc/apt/sources.list', 'deb http://deb.debian.org/debian trixie main\n# XDPFire add-ons, from the live medium (offline)\ndeb [trusted=yes] file:/run/live/medium/repo ./\n');
  for (const f of LIVE_ONLY) put(f, '[Service]\n');
  put('boot/vmlinuz-6.12.0-test', 'not really a kernel\n');
  put('boot/initrd.img-6.12.0-test', 'not really an initrd\n');
  put('usr/share/zoneinfo/Europe/Berlin', 'TZif');
  await execa('mksquashfs', [root, squashfs, '-noappend', '-no-progress', '-quiet']);
  mkdirSync(liveRepo);
  writeFileSync(join(liveRepo, 'Packages'), 'Package: xdp-sni\n');
}

async function newLoop(bytes: number): Promise<string> {
  rmSync(image, { force: true });
  writeFileSync(image, '');
  await execa('truncate', ['-s', String(bytes), image]);
  return String((await execa('losetup', ['--show', '-f', '-P', image])).stdout).trim();
}

function context(over: Partial<InstallContext> = {}): InstallContext {
  return {
    answers: { ...answers, disk: loop },
    disk: loop,
    target: join(work, 'target'),
    squashfs,
    liveRepo,
    cmdline: ['console=tty0', 'console=ttyS0,115200n8'],
    log: fileLog(join(work, `install-${Date.now()}.log`)),
    mounted: [],
    ...over,
  };
}

beforeAll(async () => {
  await makeImage();
  loop = await newLoop(4.5 * 1024 ** 3);
}, 120_000);

afterAll(async () => {
  await execa('umount', ['-R', join(work, 'target')], { reject: false });
  await execa('umount', ['-R', join(work, 'check')], { reject: false });
  if (loop) await execa('losetup', ['-d', loop], { reject: false });
  rmSync(work, { recursive: true, force: true });
});

describe('install to a loop device', () => {
  const steps = ALL_STEPS.filter((s) => s.id !== 'system'); // dpkg and update-initramfs need the real image
  let result: Awaited<ReturnType<typeof install>>;
  let ctx: InstallContext;
  const seen: number[] = [];
  const mnt = join(work, 'check');

  beforeAll(async () => {
    ctx = context();
    result = await install(ctx, (pct) => seen.push(pct), steps);
    if (!result.ok) console.log(readFileSync(ctx.log.file, 'utf8'));
    mkdirSync(mnt, { recursive: true });
  }, 300_000);

  it('succeeds, reports rising progress to 100 %, and leaves nothing mounted', async () => {
    expect(result).toEqual({ ok: true });
    expect(seen[seen.length - 1]).toBe(100);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(ctx.target);
  });

  it('writes a GPT with BIOS boot, ESP (FAT32) and an ext4 root', async () => {
    const t = JSON.parse(String((await execa('sfdisk', ['-J', loop])).stdout)).partitiontable;
    expect(t.label).toBe('gpt');
    expect(t.partitions.map((p: { type: string }) => p.type.toUpperCase())).toEqual([GPT_BIOS_BOOT, GPT_ESP, GPT_LINUX_ROOT_X86_64]);
    expect(t.partitions[0].size * 512).toBe(1024 * 1024);
    expect(String((await execa('blkid', ['-s', 'TYPE', '-o', 'value', `${loop}p2`])).stdout)).toBe('vfat');
    expect(String((await execa('blkid', ['-s', 'TYPE', '-o', 'value', `${loop}p3`])).stdout)).toBe('ext4');
    // GRUB's core image went into the BIOS boot partition
    const core = readFileSync(`${loop}p1`);
    expect(core.subarray(0, 512).some((b) => b !== 0)).toBe(true);
  });

  it('configures the installed system from the answers', async () => {
    await execa('mount', [`${loop}p3`, mnt]);
    try {
      const f = (p: string) => readFileSync(join(mnt, p), 'utf8');
      const uuid = async (dev: string) => String((await execa('blkid', ['-s', 'UUID', '-o', 'value', dev])).stdout);
      const rootUuid = await uuid(`${loop}p3`);
      expect(f('etc/fstab')).toContain(`UUID=${rootUuid}  /  ext4`);
      expect(f('etc/fstab')).toContain(`UUID=${await uuid(`${loop}p2`)}  /boot/efi  vfat`);
      expect(f('etc/hostname')).toBe('fw-host-test\n');
      expect(f('etc/hosts')).toContain('127.0.1.1\tfw-host-test');
      expect(f('etc/machine-id')).toMatch(/^[0-9a-f]{32}\n$/);
      expect(f('etc/default/keyboard')).toContain('XKBLAYOUT="de"');
      expect(readlinkSync(join(mnt, 'etc/localtime'))).toBe('/usr/share/zoneinfo/Europe/Berlin');
      expect(f('etc/xdpfire/zones.conf')).toContain('GREEN_MACADDR=52:54:00:aa:00:01\nRED_MACADDR=52:54:00:aa:00:02');
      const settings = f('etc/xdpfire/settings.conf');
      expect(settings).toContain('# settings\nGREEN_ADDRESS=10.1.0.1/24\nDHCP_ENABLED=on\nRED_TYPE=STATIC\nRED_ADDRESS=203.0.113.10/24\nRED_GATEWAY=203.0.113.1\nRED_DNS=203.0.113.53\n');
      expect(f('etc/xdpfire/xdp-sni.conf')).toContain('MODE=monitor');
      // root's password: SHA-512 crypt that openssl reproduces from the password
      const hash = f('etc/shadow').split('\n').find((l) => l.startsWith('root:'))!.split(':')[1];
      const salt = hash.split('$')[2];
      expect(String((await execa('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: PASSWORD })).stdout).trim()).toBe(hash);
      expect(statSync(join(mnt, 'etc/shadow')).gid).toBe(42);
      expect(verifyPassword(PASSWORD, f('etc/xdpfire/webui.passwd'))).toBe(true);
      expect(verifyPassword('wrong', f('etc/xdpfire/webui.passwd'))).toBe(false);
      expect(statSync(join(mnt, 'etc/xdpfire/webui.passwd')).gid).toBe(33);
      // live-only parts gone; add-ons installable offline from the copied repository
      for (const f of LIVE_ONLY) expect(existsSync(join(mnt, f)), f).toBe(false);
      expect(f('etc/apt/sources.list')).toContain('file:/var/lib/xdpfire/repo ./');
      expect(f('etc/apt/sources.list')).not.toContain('/run/live/medium');
      expect(f('var/lib/xdpfire/repo/Packages')).toContain('xdp-sni');
      // GRUB for both firmwares, one menu
      const cfg = f('boot/grub/grub.cfg');
      expect(cfg).toContain(`linux /boot/vmlinuz-6.12.0-test root=UUID=${rootUuid} ro console=tty0 console=ttyS0,115200n8`);
      expect(existsSync(join(mnt, 'boot/grub/i386-pc/normal.mod'))).toBe(true);
      expect(existsSync(join(mnt, 'boot/grub/x86_64-efi/normal.mod'))).toBe(true);
      // the ESP, read with mtools (no FAT driver needed on the host)
      const efi = async (p: string) => String((await execa('mdir', ['-b', '-i', `${loop}p2`, p], { reject: false })).stdout);
      expect(await efi('::/EFI/BOOT')).toMatch(/BOOTX64\.EFI/i);
      expect(await efi('::/EFI/xdpfire')).toMatch(/grubx64\.efi/i);
      const bin = join(work, 'BOOTX64.EFI');
      await execa('mcopy', ['-n', '-i', `${loop}p2`, '::/EFI/BOOT/BOOTX64.EFI', bin]);
      expect(readFileSync(bin).subarray(0, 2).toString()).toBe('MZ'); // a PE image
      expect(readFileSync(bin).includes(Buffer.from(`search --no-floppy --fs-uuid --set=root ${rootUuid}`))).toBe(true);
      expect(f('var/log/xdpfire-install.log')).toMatch(/== step bootloader done/);
    } finally {
      await execa('umount', ['-R', mnt], { reject: false });
    }
  });

  it('a disk with partitions is refused unless the answers allow wiping', async () => {
    const err = await checkTargetDisk({ ...answers, disk: loop, wipeExistingPartitions: false }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidFileError);
    expect((err as InvalidFileError).problems[0]).toMatch(/^\/disk: .* already holds partitions/);
    expect(await checkTargetDisk({ ...answers, disk: loop, wipeExistingPartitions: true })).toBe(loop);
    const missing = await checkTargetDisk({ ...answers, disk: '/dev/does-not-exist' }).catch((e) => e);
    expect((missing as InvalidFileError).problems[0]).toMatch(/^\/disk: \/dev\/does-not-exist is not a disk/);
  });

  it('a failing step is named, the log kept, nothing left mounted, and the disk wiped', async () => {
    const c = context({ squashfs: join(work, 'missing.squashfs') });
    const r = await install(c, () => undefined, steps);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.step).toBe('copy');
    expect(readFileSync(c.log.file, 'utf8')).toMatch(/!! step copy failed/);
    expect(readFileSync(c.log.file, 'utf8')).toMatch(/wiped .*: it holds no partition table now/);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(c.target);
    const pt = await execa('blkid', ['-p', '-s', 'PTTYPE', '-o', 'value', loop], { reject: false });
    expect(String(pt.stdout).trim()).toBe('');
    expect((await execa('sfdisk', ['-d', loop], { reject: false })).exitCode).not.toBe(0);
  }, 300_000);
});
