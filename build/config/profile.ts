// The one config model every stage reads: an image profile from images/,
// validated against images/profile.schema.json, with CLI overrides and
// defaults applied.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickMirrors, readHostSources, type Mirrors } from '../apt/sources.js';
import { InvalidFileError, readJsonFile, validateData } from '../../lib/json-file.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROFILE_SCHEMA = join(REPO_ROOT, 'images', 'profile.schema.json');
export const DEFAULT_PROFILE = join(REPO_ROOT, 'images', 'xdpfire.json');

export type KernelMode = 'debian' | 'source';

export interface Profile {
  name: string;
  version: string;
  debian: { suite: 'trixie'; mirror?: string; securityMirror?: string; components?: string[]; variant?: string };
  packages: Record<string, string[]>;
  kernel: { mode: KernelMode; package?: string; fragments?: string[]; distcc?: string };
  iso: { label: string; compression?: 'zstd' | 'xz' | 'gzip'; cmdline?: string[]; timeoutSeconds?: number };
  qa?: { memoryMiB?: number; bootTimeoutSeconds?: number; firmware?: ('bios' | 'uefi')[] };
}

/** The profile with every default filled in. */
export interface BuildConfig {
  profileFile: string;
  name: string;
  version: string;
  suite: string;
  components: string[];
  variant: string;
  mirrors: Mirrors;
  packages: string[];
  kernel: { mode: KernelMode; package: string; fragments: string[]; distcc?: string };
  iso: { label: string; compression: 'zstd' | 'xz' | 'gzip'; cmdline: string[]; timeoutSeconds: number };
  qa: { memoryMiB: number; bootTimeoutSeconds: number; firmware: ('bios' | 'uefi')[] };
  repoRoot: string;
  outDir: string;
  cacheDir: string;
  sourceDateEpoch: number;
  /** --lock: build exactly the package set of this lock file (absolute path). */
  lockFile?: string;
  /**
   * The team cache (--remote-cache). No stage puts it in its key: it changes
   * where objects come from, never what is built. The kernel stage gives
   * ccache its ccache/ area.
   */
  remoteCache?: string;
}

export interface Overrides {
  profile?: string;
  out?: string;
  cacheDir?: string;
  mirror?: string;
  securityMirror?: string;
  kernelMode?: string;
  /** DISTCC_HOSTS for the kernel compile (overrides the profile's kernel.distcc). */
  distcc?: string;
  /** Checked URL of the team cache. */
  remoteCache?: string;
  sourceDateEpoch?: string;
  lock?: string;
}

export function defaultCacheDir(): string {
  return process.env.XDPFIRE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xdpfire');
}

/** Read and validate a profile file. Throws InvalidFileError on any problem. */
export function readProfile(file: string): Profile {
  return readJsonFile<Profile>(file, PROFILE_SCHEMA);
}

export function loadBuildConfig(o: Overrides = {}, sourceDateEpochFallback?: () => number): BuildConfig {
  const profileFile = resolve(o.profile ?? DEFAULT_PROFILE);
  if (!existsSync(profileFile)) throw new InvalidFileError(profileFile, ['no such profile file']);
  const raw = readProfile(profileFile);
  // Flag overrides go through the same schema as the file.
  const merged: Profile = structuredClone(raw);
  if (o.mirror) merged.debian.mirror = o.mirror;
  if (o.securityMirror) merged.debian.securityMirror = o.securityMirror;
  if (o.kernelMode) merged.kernel.mode = o.kernelMode as KernelMode;
  if (o.distcc !== undefined) merged.kernel.distcc = o.distcc;
  const p = validateData<Profile>(merged, PROFILE_SCHEMA, `${profileFile} (with command-line overrides)`);

  let mirrors: Mirrors;
  if (p.debian.mirror) {
    mirrors = { mirror: p.debian.mirror, securityMirror: p.debian.securityMirror };
  } else {
    const host = pickMirrors(readHostSources());
    if (!host) {
      throw new InvalidFileError('/etc/apt/sources.list{,.d}', [
        'no Debian archive found in the host apt sources; set "debian.mirror" in the profile or pass --mirror URL',
      ]);
    }
    mirrors = { mirror: host.mirror, securityMirror: p.debian.securityMirror ?? host.securityMirror };
  }

  // The lock's content is read and checked by the rootfs stage (before any
  // stage runs); here only that it is there.
  const lockFile = o.lock ? resolve(o.lock) : undefined;
  if (lockFile && !existsSync(lockFile)) throw new InvalidFileError(lockFile, ['no such lock file']);

  const sde = o.sourceDateEpoch ?? process.env.SOURCE_DATE_EPOCH;
  let sourceDateEpoch: number;
  if (sde !== undefined && sde !== '') {
    if (!/^\d+$/.test(sde)) throw new InvalidFileError('SOURCE_DATE_EPOCH', [`must be a whole number of seconds, got "${sde}"`]);
    sourceDateEpoch = Number(sde);
  } else {
    sourceDateEpoch = sourceDateEpochFallback ? sourceDateEpochFallback() : 0;
  }

  return {
    profileFile,
    name: p.name,
    version: p.version,
    suite: p.debian.suite,
    components: p.debian.components ?? ['main'],
    variant: p.debian.variant ?? 'minbase',
    mirrors,
    packages: [...new Set(Object.values(p.packages).flat())],
    kernel: {
      mode: p.kernel.mode,
      package: p.kernel.package ?? 'linux-image-amd64',
      fragments: p.kernel.fragments ?? ['bpf', 'firewall', 'virtio', 'nic', 'boot'],
      distcc: p.kernel.distcc,
    },
    iso: {
      label: p.iso.label,
      compression: p.iso.compression ?? 'zstd',
      cmdline: p.iso.cmdline ?? [],
      timeoutSeconds: p.iso.timeoutSeconds ?? 3,
    },
    qa: {
      memoryMiB: p.qa?.memoryMiB ?? 2048,
      bootTimeoutSeconds: p.qa?.bootTimeoutSeconds ?? 600,
      firmware: p.qa?.firmware ?? ['bios', 'uefi'],
    },
    repoRoot: REPO_ROOT,
    outDir: resolve(o.out ?? join(REPO_ROOT, 'out')),
    cacheDir: resolve(o.cacheDir ?? defaultCacheDir()),
    sourceDateEpoch,
    ...(lockFile ? { lockFile } : {}),
    remoteCache: o.remoteCache,
  };
}

export function isoFileName(c: Pick<BuildConfig, 'name' | 'version'>): string {
  return `${c.name}-${c.version}-x86_64.iso`;
}

/** The SBOM beside the ISO (the image carries it as /usr/share/doc/xdpfire/sbom.spdx.json). */
export function sbomFileName(c: Pick<BuildConfig, 'name' | 'version'>): string {
  return `${c.name}-${c.version}-x86_64.spdx.json`;
}

/** The lock file beside the ISO: what `--lock` takes to build the same package set. */
export function lockFileName(c: Pick<BuildConfig, 'name' | 'version'>): string {
  return `${c.name}-${c.version}.lock.json`;
}
