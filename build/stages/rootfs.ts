// Stage rootfs: mmdebstrap builds the live root filesystem from the suite's
// packages (plus the kernel the kernel stage checked) as a tarball. With the
// same SOURCE_DATE_EPOCH and package versions the tarball is bit-identical.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { debCacheArgs } from '../apt/deb-cache.js';
import { sourcesFor } from '../apt/private-apt.js';
import type { BuildConfig } from '../config/profile.js';
import { readyLine } from '../config/ready.js';
import { LIVE_ONLY_FILES, LIVE_REPO_PATH } from '../../lib/live-medium.js';
import { hashFile } from '../lib/hash.js';
import { stageCode } from '../lib/module-graph.js';
import { sh } from '../lib/sh.js';
import { renderTemplate } from '../lib/template.js';
import type { Stage } from '../runner/stage.js';
import type { KernelOutput } from './kernel.js';

/** Files laid over the freshly bootstrapped system, from templates. */
export function writeOverlay(c: BuildConfig, root: string): void {
  const put = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const data = { name: c.name, version: c.version, suite: c.suite, prettyName: `XDPFire ${c.version}`, readyLine: readyLine(c), readyInstalled: readyLine(c, 'installed') };
  put('etc/hostname', `${c.name}\n`);
  put('etc/apt/sources.list', renderTemplate('rootfs/sources.list.hbs', { suite: c.suite, debian: sourcesFor(c).trim(), liveRepo: LIVE_REPO_PATH }));
  put('etc/hosts', `127.0.0.1\tlocalhost\n127.0.1.1\t${c.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  put('etc/xdpfire/os-release', renderTemplate('rootfs/os-release.hbs', data));
  put('usr/lib/xdpfire/make-initrd', renderTemplate('rootfs/make-initrd.hbs', data));
  chmodSync(join(root, 'usr/lib/xdpfire/make-initrd'), 0o755);
  put('etc/systemd/system/xdpfire-ready.service', renderTemplate('rootfs/xdpfire-ready.service.hbs', data));
  // Live-only files: the installer removes them (installer/src/target.ts, removeLiveOnly).
  put(LIVE_ONLY_FILES.serialAutologin, renderTemplate('rootfs/serial-autologin.conf.hbs', data));
  put(LIVE_ONLY_FILES.tty1Autologin, renderTemplate('rootfs/tty1-autologin.conf.hbs', data));
  mkdirSync(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  symlinkSync('/etc/systemd/system/xdpfire-ready.service', join(root, 'etc/systemd/system/multi-user.target.wants/xdpfire-ready.service'));
}

export const rootfs: Stage<{ tarball: string; sha256: string; kernelRelease: string }> = {
  name: 'rootfs',
  description: 'mmdebstrap (suite + kernel + our repo) to a reproducible rootfs tarball',
  deps: ['doctor', 'kernel', 'packages'],
  inputs(c) {
    return {
      suite: c.suite,
      variant: c.variant,
      sources: sourcesFor(c),
      packages: c.packages,
      name: c.name,
      version: c.version,
      sourceDateEpoch: c.sourceDateEpoch,
      code: stageCode(c.repoRoot, 'build/stages/rootfs.ts'),
      readyLine: readyLine(c),
      readyInstalled: readyLine(c, 'installed'),
    };
  },
  async run(ctx) {
    const { config: c, log } = ctx;
    const k = ctx.deps.kernel!.data as KernelOutput;
    const overlay = join(ctx.tmpDir, 'overlay');
    writeOverlay(c, overlay);
    const tarball = join(ctx.outDir, 'rootfs.tar');
    // debian mode installs the checked kernel package; source mode unpacks
    // the kernel stage's tarball and makes its initramfs in the image.
    const include = k.mode === 'debian' ? [...c.packages, k.package] : c.packages;
    const kernelHooks = k.mode === 'source'
      ? [`--customize-hook=tar-in ${join(ctx.deps.kernel!.dir, String(k.tarball))} /`, '--customize-hook=chroot "$1" /usr/lib/xdpfire/make-initrd']
      : [];
    const sources = sourcesFor(c).trim().split('\n');
    // Our own packages, from the packages stage's flat repository. The
    // file-mirror-automount hook makes it visible inside the chroot.
    const repo = ctx.deps.packages!;
    const hasDebs = (repo.data.debs as unknown[]).length > 0;
    if (hasDebs) sources.push(`deb [trusted=yes] file://${repo.dir} ./`);
    // One array, each element one argument (zx quotes each: the spaces,
    // quotes and globs below reach mmdebstrap as they are written).
    const args = [
      `--variant=${c.variant}`,
      '--mode=root',
      '--format=tar',
      '--architectures=amd64',
      `--include=${include.join(',')}`,
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      ...(hasDebs ? ['--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount'] : []),
      '--aptopt=Acquire::Retries "3"',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-include=/usr/share/locale/locale.alias',
      // Downloaded .debs are kept outside the image, for the next build.
      ...debCacheArgs(c),
      `--customize-hook=sync-in ${overlay} /`,
      ...kernelHooks,
      c.suite,
      tarball,
      ...sources,
    ];
    await sh(log, { env: { SOURCE_DATE_EPOCH: String(c.sourceDateEpoch), TMPDIR: ctx.tmpDir } })`mmdebstrap ${args}`;
    return { tarball: 'rootfs.tar', sha256: await hashFile(tarball), kernelRelease: k.release };
  },
};
