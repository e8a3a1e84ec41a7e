// Reproducibility and the lock file in one rebuild: a build writes a lock
// file; a second build from that lock, in a cache folder of its own that
// starts empty, gives the same rootfs.tar and the same ISO byte for byte.
// The second cache folder downloads every .deb again (each is checked
// against the lock) and runs every stage again.
//
// Except the compiled kernel. A cold kernel compile takes 20 minutes and
// more on the CI machine, so the fresh cache folder is given the compiled
// kernels of the default one (kernel-out/<key>/, keyed by the kernel
// source, the resolved .config and the toolchain: a hit is the same kernel)
// as symlinks; the kernel stage still runs there (fetches and unpacks
// linux-source, resolves the config, packs kernel.tar). Without a matching
// entry it compiles, and the test takes that much longer. Once the build
// can take kernel-out from a shared place, this should use that instead.
//
// Also checks that the SBOM the image carries is the one beside the ISO.
import { describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadBuildConfig, type BuildConfig } from '../../build/config/profile.js';
import { defaultSourceDateEpoch } from '../../build/config/epoch.js';
import { readLock } from '../../build/lock/lock.js';
import { runStages } from '../../build/runner/runner.js';
import { PIPELINE } from '../../build/stages/index.js';
import { ARTIFACTS, qaConfig } from './iso.js';

const WORK = join(ARTIFACTS, 'lock');

interface Built {
  iso: string;
  sha256: string;
  sbom: string;
  lock: string;
  rootfsSha256: string;
}

async function build(c: BuildConfig): Promise<Built> {
  const lines: string[] = [];
  const r = await runStages(PIPELINE, c, { skip: new Set(['qa']), logDir: join(c.outDir, 'logs'), print: (l) => lines.push(l) });
  if (!r.ok) throw new Error(`the build failed:\n${lines.join('\n')}`);
  const iso = r.results.iso!;
  return {
    iso: join(iso.dir, String(iso.data.iso)),
    sha256: String(iso.data.sha256),
    sbom: join(iso.dir, String(iso.data.sbom)),
    lock: join(iso.dir, String(iso.data.lock)),
    rootfsSha256: String(r.results.rootfs!.data.sha256),
  };
}

/** A build config like qaConfig()'s, with another cache folder and a lock. */
function lockedConfig(name: string, cacheDir: string | undefined, lockFile: string): BuildConfig {
  return loadBuildConfig({ out: join(WORK, name, 'out'), cacheDir, lock: lockFile, kernelMode: process.env.XDPFIRE_QA_KERNEL_MODE || undefined }, defaultSourceDateEpoch);
}

/** An empty cache folder that shares only the compiled kernels of `from`. */
function freshCacheSharingKernels(dir: string, from: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'kernel-out'), { recursive: true });
  const src = join(from, 'kernel-out');
  if (!existsSync(src)) return;
  for (const e of readdirSync(src).filter((n) => !n.startsWith('.'))) symlinkSync(join(src, e), join(dir, 'kernel-out', e));
}

describe('reproducible ISO, rebuilt from its lock file in another cache folder', () => {
  it('a fresh cache folder and the lock give the same rootfs.tar and the same ISO bytes', async () => {
    // The build that writes the lock (the default cache folder, as the other qa tests).
    const first = await build(qaConfig());
    mkdirSync(WORK, { recursive: true });
    const lockFile = join(WORK, 'xdpfire.lock.json');
    copyFileSync(first.lock, lockFile);
    const lock = readLock(lockFile);
    expect(lock.packages.length).toBeGreaterThan(100);

    // From the lock in a new cache folder: every stage runs again, every
    // .deb is downloaded again and checked against the lock.
    const cacheB = join(WORK, 'b', 'cache');
    freshCacheSharingKernels(cacheB, qaConfig().cacheDir);
    const b = await build(lockedConfig('b', cacheB, lockFile));

    // Which stage broke it: the rootfs tarball first, then the ISO around it.
    expect(b.rootfsSha256, 'rootfs.tar differs between the two cache folders').toBe(first.rootfsSha256);
    expect(b.sha256, 'the ISO built from the lock differs from the one that wrote it').toBe(first.sha256);
    // It wrote the same package set back.
    expect(readLock(b.lock).packages).toEqual(lock.packages);

    // The SBOM in the image is the one beside the ISO.
    const inIso = await execa('xorriso', ['-osirrox', 'on', '-indev', b.iso, '-extract', '/live/filesystem.squashfs', join(WORK, 'b', 'filesystem.squashfs')], { reject: false });
    expect(inIso.exitCode, inIso.stderr).toBe(0);
    const unpacked = join(WORK, 'b', 'sbom');
    rmSync(unpacked, { recursive: true, force: true });
    await execa('unsquashfs', ['-d', unpacked, join(WORK, 'b', 'filesystem.squashfs'), '/usr/share/doc/xdpfire/sbom.spdx.json']);
    expect(readFileSync(join(unpacked, 'usr/share/doc/xdpfire/sbom.spdx.json'), 'utf8')).toBe(readFileSync(b.sbom, 'utf8'));
    rmSync(join(WORK, 'b'), { recursive: true, force: true });
  });
});
