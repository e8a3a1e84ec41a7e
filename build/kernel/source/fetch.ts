// Source mode, step 1: fetch Debian's linux-source-<ver> with the build's
// private apt (signature checked by apt against the archive keyring) and keep
// an unpacked tree in the cache, outside any stage entry:
//   <cacheDir>/kernel-src/<package version>/linux-source-<ver>/
// It is written to a temporary folder and renamed into place when complete,
// so an interrupted unpack leaves nothing that looks finished, and a rerun
// does not unpack 1.5 GB again.
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildConfig } from '../../config/profile.js';
import { download, privateApt, showField, type PrivateApt } from '../../apt/private-apt.js';
import type { Log } from '../../../lib/exec.js';
import { hashFile } from '../../lib/hash.js';
import { sh } from '../../lib/sh.js';
import { safeRemove } from '../../runner/fs-safe.js';

/** The kernel series whose linux-source package we build (trixie: 6.12). */
export const DEFAULT_SOURCE_PACKAGE = 'linux-source';

export interface KernelSource {
  /** Binary package name, e.g. linux-source-6.12. */
  package: string;
  /** Exact Debian version, e.g. 6.12.117-1. */
  version: string;
  /** sha256 of the .deb apt fetched (and verified). */
  debSha256: string;
  /** The unpacked tree (contains the top-level Makefile and Kconfig). */
  tree: string;
  /** True when the tree was already in the cache. */
  cached: boolean;
}

interface SourceStamp {
  package: string;
  version: string;
  debSha256: string;
  deb: string;
}

/** linux-source is a metapackage: its Depends names the versioned one. */
export async function resolveSourcePackage(apt: PrivateApt, log: Log, meta = DEFAULT_SOURCE_PACKAGE): Promise<{ package: string; version: string }> {
  let pkg = meta;
  const depends = await showField(apt, log, meta, 'Depends').catch(() => '');
  const real = /(linux-source-\d[^\s,(]*)/.exec(depends);
  if (real) pkg = real[1];
  const version = await showField(apt, log, pkg, 'Version');
  return { package: pkg, version };
}

export function sourceCacheDir(cacheDir: string, version: string): string {
  return join(cacheDir, 'kernel-src', version);
}

/**
 * Resolve, fetch and unpack linux-source. When `<cacheDir>/kernel-src/<ver>/`
 * exists the .deb is not fetched again; its recorded hash is logged.
 */
export async function fetchKernelSource(config: BuildConfig, log: Log, opts: { meta?: string; apt?: PrivateApt } = {}): Promise<KernelSource> {
  const apt = opts.apt ?? (await privateApt(config, log));
  const { package: pkg, version } = await resolveSourcePackage(apt, log, opts.meta);
  const dest = sourceCacheDir(config.cacheDir, version);
  const stampFile = join(dest, 'source.json');
  if (existsSync(stampFile)) {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as SourceStamp;
    const tree = findTree(dest);
    log.line(`kernel source: ${stamp.package} ${stamp.version} (cached unpacked tree ${tree})`);
    log.line(`sha256 ${stamp.deb} ${stamp.debSha256}`);
    return { package: stamp.package, version: stamp.version, debSha256: stamp.debSha256, tree, cached: true };
  }

  mkdirSync(join(config.cacheDir, 'kernel-src'), { recursive: true });
  const tmp = join(config.cacheDir, 'kernel-src', `.tmp-${version}-${process.pid}`);
  safeRemove(tmp);
  mkdirSync(join(tmp, 'deb'), { recursive: true });
  try {
    await download(apt, log, pkg, join(tmp, 'deb'));
    const deb = readdirSync(join(tmp, 'deb')).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    const debSha256 = await hashFile(join(tmp, 'deb', deb));
    log.line(`kernel source: ${pkg} ${version}`);
    log.line(`sha256 ${deb} ${debSha256}`);
    const $ = sh(log);
    await $`dpkg-deb -x ${join(tmp, 'deb', deb)} ${join(tmp, 'pkg')}`;
    const usrSrc = join(tmp, 'pkg', 'usr', 'src');
    const tarball = readdirSync(usrSrc).find((f) => /^linux-source-.*\.tar\.(xz|bz2|gz)$/.test(f));
    if (!tarball) throw new Error(`${deb} holds no /usr/src/linux-source-*.tar.*`);
    log.line(`unpacking ${tarball} into ${dest}`);
    // GNU tar: the `tar` package cannot read .tar.xz.
    await $`tar -xf ${join(usrSrc, tarball)} -C ${tmp}`;
    safeRemove(join(tmp, 'pkg'));
    safeRemove(join(tmp, 'deb'));
    const stamp: SourceStamp = { package: pkg, version, debSha256, deb };
    writeFileSync(join(tmp, 'source.json'), `${JSON.stringify(stamp, null, 2)}\n`);
    findTree(tmp);
    try {
      renameSync(tmp, dest);
    } catch (err) {
      // Another build (or the tests) unpacked the same version meanwhile: use theirs.
      if (!existsSync(stampFile)) throw err;
      log.line(`${dest} appeared meanwhile; using it`);
      safeRemove(tmp);
    }
    return { package: pkg, version, debSha256, tree: findTree(dest), cached: false };
  } catch (err) {
    safeRemove(tmp);
    throw err;
  }
}

/** The single linux-source-* directory inside a kernel-src entry. */
export function findTree(dir: string): string {
  const names = readdirSync(dir).filter((n) => n.startsWith('linux-source-') && existsSync(join(dir, n, 'Makefile')));
  if (names.length !== 1) throw new Error(`${dir}: expected one unpacked linux-source-* tree, found ${names.length}`);
  return join(dir, names[0]);
}
