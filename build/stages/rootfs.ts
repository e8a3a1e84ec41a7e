// Stage rootfs: mmdebstrap builds the live root filesystem from the suite's
// packages (plus the kernel the kernel stage checked) as a tarball. With the
// same SOURCE_DATE_EPOCH and package versions the tarball is bit-identical.
// Its last hook writes what went into it (build/sbom/rootfs-hook.ts): the
// SBOM, inside the image and beside the tarball, and the lock file. With
// --lock it installs exactly the lock's package set.
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { debCacheArgs } from '../apt/deb-cache.js';
import { sourcesFor } from '../apt/private-apt.js';
import type { BuildConfig } from '../config/profile.js';
import { readyLine } from '../config/ready.js';
import { type Log } from '../../lib/exec.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { LIVE_ONLY_FILES, LIVE_REPO_PATH } from '../../lib/live-medium.js';
import { hashFile } from '../lib/hash.js';
import { stageCode } from '../lib/module-graph.js';
import { sh } from '../lib/sh.js';
import { renderTemplate } from '../lib/template.js';
import { lockAvailability } from '../lock/archive.js';
import { aptPreferences, checkDebs, LockError, readLock } from '../lock/lock.js';
import type { BuiltDeb } from '../packages/deb.js';
import { loadRecipes } from '../packages/recipe.js';
import type { Stage } from '../runner/stage.js';
import { NOASSERTION, unknownLicenseIds } from '../sbom/copyright.js';
import { LOCK_FILE, SBOM_FILE, type HookRequest } from '../sbom/rootfs-hook.js';
import type { KernelOutput } from './kernel.js';

const HOOK_SCRIPT = fileURLToPath(new URL('../sbom/rootfs-hook.ts', import.meta.url));
/** apt reads preferences.d files without an extension or ending in .pref. */
const LOCK_PREFERENCES = 'xdpfire-lock.pref';

/** The license each of our packages' recipe declares (SPDX), by package name. */
export function ownLicenses(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { dir, recipe } of loadRecipes()) {
    const bad = recipe.license ? unknownLicenseIds(recipe.license) : [];
    if (bad.length) throw new InvalidFileError(join(dir, 'recipe.json'), [`/license: ${bad.join(', ')} is no SPDX license id`]);
    out[recipe.name] = recipe.license ?? NOASSERTION;
  }
  return out;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The customize hook that runs build/sbom/rootfs-hook.ts on the chroot
 * ("$1"): this Node with the tsx loader, as make.sh runs the build. */
export function sbomHookCommand(requestFile: string): string {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return `${[process.execPath, '--import', tsx, HOOK_SCRIPT, requestFile].map(shellQuote).join(' ')} "$1"`;
}

/** Before any stage runs: our recipes' licenses are SPDX ids, and with
 * --lock, every locked package can still be had at its version. */
async function preflight(c: BuildConfig, log: Log): Promise<void> {
  const licenses = ownLicenses();
  if (!c.lockFile) return;
  const lock = readLock(c.lockFile);
  const problems: string[] = [];
  if (lock.suite !== c.suite) problems.push(`lock: it is for Debian ${lock.suite}, the profile builds ${c.suite}`);
  const recipes = new Map(loadRecipes().map((l) => [l.recipe.name, l.recipe]));
  for (const p of lock.packages.filter((x) => x.origin === 'xdpfire')) {
    const r = recipes.get(p.name);
    if (!r) problems.push(`lock: ${p.name} ${p.version} is one of our packages, but there is no packages/${p.name}/recipe.json`);
    else if (r.version !== p.version) problems.push(`lock: ${p.name} ${p.version} is built from packages/${p.name}/recipe.json, which now says ${r.version}`);
  }
  problems.push(...(await lockAvailability(c, log, lock)));
  if (problems.length) throw new LockError(c.lockFile, problems);
  log.line(`lock ${c.lockFile}: the archive has all ${lock.packages.filter((p) => p.origin === 'debian').length} Debian packages at their versions; our ${Object.keys(licenses).length} recipes match`);
}


/**
 * Last hooks: remove what the build machine left in the image, so that two
 * builders with other cache folders make the same rootfs.tar.
 *  - file-mirror-automount unmounts our package repository but leaves the
 *    folders it mounted it on, i.e. the builder's cache path (for example
 *    /root/.cache/xdpfire/stages/packages/<key>/); rmdir -p removes that chain
 *    up to the first folder that holds anything else.
 *  - apt's lock files and partial/ folders carry the times of the builder's
 *    .deb cache; apt makes them again when it needs them (mmdebstrap's own
 *    cleanup does, right after these hooks; see the TMPDIR note below for
 *    their owner).
 */
export function leftoverHooks(repoDir: string | undefined): string[] {
  const hooks = [
    '--customize-hook=rm -rf "$1/var/cache/apt/archives/partial" "$1/var/cache/apt/archives/lock" "$1/var/lib/apt/lists/partial" "$1/var/lib/apt/lists/lock"',
  ];
  if (repoDir) hooks.push(`--customize-hook=rmdir -p --ignore-fail-on-non-empty "$1"${shellQuote(repoDir)}`);
  return hooks;
}

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

export const rootfs: Stage<{ tarball: string; sha256: string; kernelRelease: string; sbom: string; lock: string; packages: number }> = {
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
      // the SBOM's licenses of our packages (not in their .debs)
      ownLicenses: ownLicenses(),
      // --lock: the exact set to install (its content, not where it lies)
      lock: c.lockFile ? (({ suite, packages }) => ({ suite, packages }))(readLock(c.lockFile)) : null,
    };
  },
  preflight,
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
    const built = repo.data.debs as BuiltDeb[];
    const hasDebs = built.length > 0;
    if (hasDebs) sources.push(`deb [trusted=yes] file://${repo.dir} ./`);

    // --lock: our .debs must be the locked ones; apt pins every package to
    // its locked version while the image is built (the pin file is removed
    // before the image is packed).
    const lock = c.lockFile ? readLock(c.lockFile) : undefined;
    const lockHooks: string[] = [];
    if (lock) {
      const problems = checkDebs(lock, new Map(built.map((d) => [d.name, d.sha256])));
      if (problems.length) throw new LockError(c.lockFile!, problems);
      const pref = join(ctx.tmpDir, LOCK_PREFERENCES);
      writeFileSync(pref, aptPreferences(lock));
      lockHooks.push(`--setup-hook=copy-in ${pref} /etc/apt/preferences.d/`, `--customize-hook=rm -f "$1/etc/apt/preferences.d/${LOCK_PREFERENCES}"`);
    }

    // What went into the image: the last hook, while apt's lists and .debs
    // are still in the chroot.
    const licenses = ownLicenses();
    const kernelBuild = join(ctx.deps.kernel!.dir, 'build.json');
    const request: HookRequest = {
      name: c.name,
      version: c.version,
      suite: c.suite,
      sourceDateEpoch: c.sourceDateEpoch,
      own: built.map((d) => ({ name: d.name, version: d.version, architecture: d.architecture, sha256: d.sha256, file: d.file, license: licenses[d.name] ?? NOASSERTION })),
      kernel: k.mode === 'source'
        ? {
            release: k.release,
            source: existsSync(kernelBuild) ? String(JSON.parse(readFileSync(kernelBuild, 'utf8')).package) : 'linux-source',
            sourceVersion: k.version,
            sha256: await hashFile(join(ctx.deps.kernel!.dir, String(k.tarball))),
          }
        : undefined,
      lock,
      lockFile: c.lockFile,
      outDir: ctx.outDir,
      errorFile: join(ctx.tmpDir, 'sbom-hook.error'),
    };
    const requestFile = join(ctx.tmpDir, 'sbom-hook.json');
    writeFileSync(requestFile, JSON.stringify(request));
    const hook = sbomHookCommand(requestFile);

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
      ...lockHooks,
      `--customize-hook=sync-in ${overlay} /`,
      ...kernelHooks,
      `--customize-hook=${hook}`,
      ...leftoverHooks(hasDebs ? repo.dir : undefined),
      c.suite,
      tarball,
      ...sources,
    ];
    try {
      // The chroot is made under TMPDIR. apt downloads as user _apt only if
      // _apt can reach the chroot, and the owner of apt's partial/ folders
      // in the image follows (root or _apt): a cache folder under /root gave
      // root, one under a world-readable path gave _apt. Keep TMPDIR private
      // so that every builder gets the same (root), wherever its cache is.
      chmodSync(ctx.tmpDir, 0o700);
      await sh(log, { env: { SOURCE_DATE_EPOCH: String(c.sourceDateEpoch), TMPDIR: ctx.tmpDir } })`mmdebstrap ${args}`;
    } catch (err) {
      // The hook's own words (a lock difference, a missing .deb) say more than "mmdebstrap failed".
      if (existsSync(request.errorFile)) throw new Error(`${readFileSync(request.errorFile, 'utf8')}\n(${(err as Error).message})`);
      throw err;
    }
    for (const f of [SBOM_FILE, LOCK_FILE]) if (!existsSync(join(ctx.outDir, f))) throw new Error(`the SBOM hook wrote no ${f}; see the log`);
    const packages = (JSON.parse(readFileSync(join(ctx.outDir, LOCK_FILE), 'utf8')) as { packages: unknown[] }).packages.length;
    log.line(`${SBOM_FILE} and ${LOCK_FILE}: ${packages} packages`);
    return { tarball: 'rootfs.tar', sha256: await hashFile(tarball), kernelRelease: k.release, sbom: SBOM_FILE, lock: LOCK_FILE, packages };
  },
};
