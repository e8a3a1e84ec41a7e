// Stage iso: a live, hybrid (CD or USB disk), BIOS + UEFI bootable ISO:
// squashfs root + kernel + initrd + GRUB. Every date, the GPT disk GUID and
// the EFI image's FAT serial come from SOURCE_DATE_EPOCH, so the same inputs
// give a byte-identical image.
import { copyFileSync, cpSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isoFileName, lockFileName, sbomFileName, type BuildConfig } from '../config/profile.js';
import { GRUB_SERIAL_LINES, INSTALL_ARG, LIVE_BOOT_ARGS, LIVE_CONSOLE_ARGS, ON_MEDIUM } from '../../lib/live-medium.js';
import { hashFile } from '../lib/hash.js';
import { stageCode } from '../lib/module-graph.js';
import { sh, type Sh } from '../lib/sh.js';
import { renderTemplate } from '../lib/template.js';
import type { Stage } from '../runner/stage.js';

const GRUB_LIB = '/usr/lib/grub';
// Modules built into both GRUB core images; the rest load from /boot/grub.
const CORE_MODULES = ['iso9660', 'part_gpt', 'part_msdos', 'fat', 'search', 'search_label', 'configfile', 'normal', 'linux', 'echo', 'test', 'serial', 'terminal', 'gzio'];

/** The kernel command line of the live system. */
export function liveCmdline(c: BuildConfig): string[] {
  return [...LIVE_BOOT_ARGS, ...LIVE_CONSOLE_ARGS, ...c.iso.cmdline];
}

/** What grub.cfg.hbs and grub-early.cfg.hbs are rendered with. */
export function grubData(c: BuildConfig) {
  return {
    name: c.name,
    version: c.version,
    title: `${c.name} ${c.version} live`,
    label: c.iso.label,
    timeoutSeconds: c.iso.timeoutSeconds,
    cmdline: liveCmdline(c),
    serialLines: GRUB_SERIAL_LINES,
    kernel: `/${ON_MEDIUM.kernel}`,
    initrd: `/${ON_MEDIUM.initrd}`,
    installArg: INSTALL_ARG,
  };
}

/** "YYYYMMDDhhmmss00" for xorriso, in UTC. */
export function isoDate(epoch: number): string {
  const d = new Date(epoch * 1000).toISOString();
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}00`;
}

/** A FAT volume serial derived from the epoch (8 hex digits). */
export function fatSerial(epoch: number): string {
  return (epoch >>> 0).toString(16).padStart(8, '0');
}

/** `$` carries SOURCE_DATE_EPOCH. */
async function makeEfiImage($: Sh, efiBinary: string, image: string, epoch: number, tmp: string): Promise<void> {
  const kib = Math.ceil(statSync(efiBinary).size / 1024 / 1024 + 1) * 1024;
  await $`mkfs.fat --invariant -i ${fatSerial(epoch)} -n EFIBOOT -C ${image} ${kib}`;
  const tree = join(tmp, 'efi-tree');
  mkdirSync(join(tree, 'EFI', 'BOOT'), { recursive: true });
  copyFileSync(efiBinary, join(tree, 'EFI', 'BOOT', 'BOOTX64.EFI'));
  for (const p of [join(tree, 'EFI', 'BOOT', 'BOOTX64.EFI'), join(tree, 'EFI', 'BOOT'), join(tree, 'EFI')]) utimesSync(p, epoch, epoch);
  await $`mcopy -s -m -i ${image} ${join(tree, 'EFI')} ::/`;
}

export const iso: Stage<{ iso: string; sha256: string; bytes: number; sbom: string; lock: string }> = {
  name: 'iso',
  description: 'squashfs + kernel + initrd + GRUB (BIOS + UEFI, hybrid) to the ISO',
  deps: ['doctor', 'packages', 'rootfs'],
  inputs(c) {
    return {
      name: c.name,
      version: c.version,
      iso: c.iso,
      sourceDateEpoch: c.sourceDateEpoch,
      code: stageCode(c.repoRoot, 'build/stages/iso.ts'),
    };
  },
  async run(ctx) {
    const { config: c, log } = ctx;
    const epoch = c.sourceDateEpoch;
    const $ = sh(log);
    const $sde = $({ env: { SOURCE_DATE_EPOCH: String(epoch) } });
    const rootDir = join(ctx.tmpDir, 'root');
    const stage = join(ctx.tmpDir, 'iso');
    const onMedium = (p: string) => join(stage, p);
    mkdirSync(rootDir, { recursive: true });
    for (const p of [ON_MEDIUM.kernel, ON_MEDIUM.initrd, ON_MEDIUM.squashfs]) mkdirSync(dirname(onMedium(p)), { recursive: true });
    mkdirSync(join(stage, 'boot', 'grub'), { recursive: true });

    // Our packages' repository rides along, for offline apt on the box.
    const repo = onMedium(ON_MEDIUM.repo);
    mkdirSync(repo);
    for (const f of readdirSync(ctx.deps.packages!.dir)) if (/\.deb$|^Packages|^Release$/.test(f)) copyFileSync(join(ctx.deps.packages!.dir, f), join(repo, f));

    const rootfs = ctx.deps.rootfs!;
    // The whole tree, for mksquashfs, with its xattrs (file capabilities):
    // GNU tar, since the `tar` package does not restore xattrs.
    await $`tar -x -p --numeric-owner --xattrs ${'--xattrs-include=*'} -f ${join(rootfs.dir, 'rootfs.tar')} -C ${rootDir}`;
    const rel = String(rootfs.data.kernelRelease);
    copyFileSync(join(rootDir, 'boot', `vmlinuz-${rel}`), onMedium(ON_MEDIUM.kernel));
    copyFileSync(join(rootDir, 'boot', `initrd.img-${rel}`), onMedium(ON_MEDIUM.initrd));

    // mksquashfs takes the filesystem and file times from SOURCE_DATE_EPOCH.
    const comp = c.iso.compression === 'zstd' ? ['-comp', 'zstd', '-Xcompression-level', '6'] : ['-comp', c.iso.compression];
    await $sde`mksquashfs ${rootDir} ${onMedium(ON_MEDIUM.squashfs)} -noappend -no-progress -b 1M ${comp}`;

    // GRUB: one menu for both firmwares, found through the volume label.
    const data = grubData(c);
    writeFileSync(join(stage, 'boot', 'grub', 'grub.cfg'), renderTemplate('grub.cfg.hbs', data));
    const early = join(ctx.tmpDir, 'early.cfg');
    writeFileSync(early, renderTemplate('grub-early.cfg.hbs', data));
    for (const platform of ['i386-pc', 'x86_64-efi']) {
      const dst = join(stage, 'boot', 'grub', platform);
      mkdirSync(dst, { recursive: true });
      for (const f of readdirSync(join(GRUB_LIB, platform))) if (/\.(mod|lst)$/.test(f)) copyFileSync(join(GRUB_LIB, platform, f), join(dst, f));
    }
    await $`grub-mkimage -O i386-pc-eltorito -p /boot/grub -c ${early} -o ${join(stage, 'boot', 'grub', 'i386-pc', 'eltorito.img')} biosdisk ${CORE_MODULES}`;
    const efiBinary = join(ctx.tmpDir, 'BOOTX64.EFI');
    await $`grub-mkimage -O x86_64-efi -p /boot/grub -c ${early} -o ${efiBinary} efi_gop ${CORE_MODULES}`;
    await makeEfiImage($sde, efiBinary, join(stage, 'efi.img'), epoch, ctx.tmpDir);
    cpSync(join(ctx.tmpDir, 'efi-tree', 'EFI'), join(stage, 'EFI'), { recursive: true });

    const out = join(ctx.outDir, isoFileName(c));
    const date = isoDate(epoch);
    await $sde`xorriso ${[
      '-as', 'mkisofs', '-graft-points',
      `--modification-date=${date}`,
      '-V', c.iso.label,
      '-b', 'boot/grub/i386-pc/eltorito.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table',
      '--grub2-boot-info', '--grub2-mbr', join(GRUB_LIB, 'i386-pc', 'boot_hybrid.img'),
      '--efi-boot', 'efi.img', '-efi-boot-part', '--efi-boot-image', '--protective-msdos-label',
      '-o', out, '-r', stage,
      '--sort-weight', '0', '/', '--sort-weight', '1', '/boot',
      // Native xorriso commands: pin every remaining date and the GPT GUID.
      '--',
      '-volume_date', 'all_file_dates', `=${epoch}`,
      '-volume_date', 'uuid', date,
      '-boot_image', 'any', 'gpt_disk_guid=volume_date_uuid',
    ]}`;
    const sha256 = await hashFile(out);
    // What went into it, beside it: the SBOM (the same file the image
    // carries) and the lock file, both from the rootfs stage.
    copyFileSync(join(rootfs.dir, String(rootfs.data.sbom)), join(ctx.outDir, sbomFileName(c)));
    copyFileSync(join(rootfs.dir, String(rootfs.data.lock)), join(ctx.outDir, lockFileName(c)));
    return { iso: isoFileName(c), sha256, bytes: statSync(out).size, sbom: sbomFileName(c), lock: lockFileName(c) };
  },
};
