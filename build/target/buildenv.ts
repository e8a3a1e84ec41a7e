// A cached trixie build environment (a chroot made by mmdebstrap), so that
// the C parts we ship are compiled against the target release's libraries,
// not the host's. Made once per (sources, package list), atomically.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { debCacheArgs } from '../apt/deb-cache.js';
import { sourcesFor } from '../apt/private-apt.js';
import type { BuildConfig } from '../config/profile.js';
import { run, type Log } from '../../lib/exec.js';
import { hashValue } from '../lib/hash.js';
import { safeRemove } from '../runner/fs-safe.js';

export const BUILD_PACKAGES = ['build-essential', 'clang', 'llvm', 'libbpf-dev', 'libxdp-dev', 'libelf-dev', 'libsqlite3-dev', 'libjson-c-dev', 'libssl-dev', 'zlib1g-dev', 'pkg-config', 'dpkg-dev', 'linux-libc-dev'];

export function buildEnvKey(c: BuildConfig): string {
  return chrootKey(c, BUILD_PACKAGES);
}

/** The key of a cached trixie chroot with `packages`: its sources and package list. */
export function chrootKey(c: BuildConfig, packages: string[]): string {
  return hashValue({ suite: c.suite, sources: sourcesFor(c), packages }).slice(0, 16);
}

/** The chroot folder, created if missing. */
export async function ensureBuildEnv(c: BuildConfig, log: Log): Promise<string> {
  return ensureChroot(c, log, 'buildenv', BUILD_PACKAGES);
}

/**
 * A trixie chroot with `packages` under <cache>/<kind>/<key>, made once by
 * mmdebstrap with the build's sources and .deb cache; made in a temporary
 * folder and renamed, so an interrupted creation leaves no entry behind.
 */
export async function ensureChroot(c: BuildConfig, log: Log, kind: string, packages: string[]): Promise<string> {
  const base = join(c.cacheDir, kind);
  const dir = join(base, chrootKey(c, packages));
  if (existsSync(join(dir, '.complete'))) return dir;
  mkdirSync(base, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  safeRemove(tmp);
  try {
    await run(log, 'mmdebstrap', [
      '--variant=apt', '--mode=root', '--format=directory', '--architectures=amd64',
      `--include=${packages.join(',')}`,
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      ...debCacheArgs(c),
      c.suite, tmp, ...sourcesFor(c).trim().split('\n'),
    ]);
  } catch (e) {
    safeRemove(tmp); // refuses (and says so) while mmdebstrap's mounts are still there
    throw e;
  }
  writeFileSync(join(tmp, '.complete'), '');
  safeRemove(dir);
  renameSync(tmp, dir);
  return dir;
}

/** Run a command inside the build environment (no shell). */
export async function inBuildEnv(env: string, log: Log, cmd: string[], cwd = '/'): Promise<string> {
  return run(log, 'chroot', [env, '/usr/bin/env', '-C', cwd, 'LC_ALL=C.UTF-8', ...cmd], { capture: true });
}
