// What went into the image: run by mmdebstrap as the rootfs stage's last
// customize hook, when every package is installed and apt's lists and
// downloaded .debs are still in the chroot (mmdebstrap's cleanup removes them
// after the hooks). It reads dpkg's status, the copyright files, the .debs
// and the apt lists of the root filesystem and
//  - checks the installed set and every .deb against the lock, when the
//    build has one (--lock), and fails naming each difference;
//  - writes the SBOM into the image (/usr/share/doc/xdpfire/sbom.spdx.json),
//    so that it is packed with it, and a copy plus the lock file into the
//    stage's output folder.
//
// Run as `node --import tsx build/sbom/rootfs-hook.ts REQUEST.json ROOT`;
// the request is written by build/stages/rootfs.ts. A failure is written to
// the request's errorFile, for the stage to report.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashFileSync, sha256 } from '../lib/hash.js';
import { checkDebs, checkInstalled, indexPath, lockText, makeLock, LockError, type Lock, type LockIndex } from '../lock/lock.js';
import { licenseFromCopyright } from './copyright.js';
import { debFileName, parseDpkgStatus } from './dpkg-status.js';
import { buildSpdx, spdxText, validateSpdx, type SbomPackage } from './spdx.js';

/** Where the image carries its SBOM. */
export const SBOM_IN_IMAGE = 'usr/share/doc/xdpfire/sbom.spdx.json';
/** File names in the rootfs stage's output folder. */
export const SBOM_FILE = 'sbom.spdx.json';
export const LOCK_FILE = 'lock.json';

export interface OwnPackage {
  name: string;
  version: string;
  architecture: string;
  sha256: string;
  /** The .deb's file name in the packages stage's repository. */
  file: string;
  /** SPDX license expression the recipe declares, or NOASSERTION. */
  license: string;
}

export interface HookRequest {
  name: string;
  version: string;
  suite: string;
  sourceDateEpoch: number;
  /** Our packages, as the packages stage built them. */
  own: OwnPackage[];
  /** The kernel built from source (not a dpkg package): kernel.tar. */
  kernel?: { release: string; source: string; sourceVersion: string; sha256: string };
  /** Building from a lock: its content and file name (for messages). */
  lock?: Lock;
  lockFile?: string;
  /** Where the SBOM copy and the lock file go. */
  outDir: string;
  errorFile: string;
}

/** Read `path` inside `root`, following symlinks (absolute ones relative to
 * root: /usr/share/doc/libstdc++6 -> gcc-14-base). undefined if absent. */
export function readInRoot(root: string, path: string): string | undefined {
  let parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  let cur = '/';
  for (let hops = 0; parts.length; ) {
    const next = posix.join(cur, parts.shift()!);
    let st;
    try {
      st = lstatSync(join(root, next));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = readlinkSync(join(root, next));
      parts = [...posix.normalize(target.startsWith('/') ? target : posix.join(cur, target)).split('/').filter(Boolean), ...parts];
      cur = '/';
    } else {
      cur = next;
    }
  }
  try {
    return readFileSync(join(root, cur), 'utf8');
  } catch {
    return undefined;
  }
}

/** sha256 of an apt list file's content (Packages files decompressed, as
 * the Release file lists them), by its path under dists/. */
export function indexHashes(listsDir: string): LockIndex[] {
  if (!existsSync(listsDir)) return [];
  const out: LockIndex[] = [];
  for (const f of readdirSync(listsDir).sort()) {
    const path = indexPath(f);
    if (!path) continue;
    const file = join(listsDir, f);
    const compressed = /\.(gz|xz|lz4|zst|bz2|lzma)$/.test(f);
    const hash = compressed ? sha256(execFileSync('/usr/lib/apt/apt-helper', ['cat-file', file], { maxBuffer: 1 << 30 })) : hashFileSync(file);
    out.push({ path, sha256: hash });
  }
  return out;
}

export interface ImageContents {
  packages: SbomPackage[];
  lock: Lock;
  /** Differences from the requested lock (empty without one). */
  problems: string[];
}

/** Everything the SBOM and the lock say, read from the root filesystem. */
export function collectImage(root: string, req: HookRequest): ImageContents {
  const status = readInRoot(root, 'var/lib/dpkg/status');
  if (status === undefined) throw new Error(`${root}: no /var/lib/dpkg/status`);
  const installed = parseDpkgStatus(status);
  const own = new Map(req.own.map((o) => [o.name, o]));
  const problems: string[] = [];
  const packages: SbomPackage[] = [];
  const debs = new Map<string, string>();
  for (const p of installed) {
    const o = own.get(p.name);
    if (o) {
      if (o.version !== p.version) throw new Error(`${p.name}: ${p.version} was installed, but the packages stage built ${o.version}`);
      debs.set(p.name, o.sha256);
      packages.push({ ...p, origin: 'xdpfire', source: p.name, sourceVersion: p.version, license: o.license, sha256: o.sha256, fileName: o.file });
      continue;
    }
    const file = debFileName(p);
    const deb = join(root, 'var/cache/apt/archives', file);
    if (!existsSync(deb)) throw new Error(`${p.name} ${p.version}: no ${file} in apt's cache (/var/cache/apt/archives) to take its sha256 from`);
    const sha = hashFileSync(deb);
    debs.set(p.name, sha);
    const license = licenseFromCopyright(readInRoot(root, `usr/share/doc/${p.name}/copyright`));
    packages.push({ ...p, origin: 'debian', license, sha256: sha, fileName: file });
  }
  const lock = makeLock({
    name: req.name,
    version: req.version,
    suite: req.suite,
    sourceDateEpoch: req.sourceDateEpoch,
    packages: packages.map((p) => ({ name: p.name, version: p.version, architecture: p.architecture, sha256: p.sha256, origin: p.origin === 'xdpfire' ? 'xdpfire' : 'debian' })),
    indexes: indexHashes(join(root, 'var/lib/apt/lists')),
  });
  if (req.lock) problems.push(...checkInstalled(req.lock, installed), ...checkDebs(req.lock, debs));
  if (req.kernel) {
    const k = req.kernel;
    packages.push({
      name: 'linux',
      version: k.release,
      architecture: 'amd64',
      origin: 'kernel',
      source: k.source,
      sourceVersion: k.sourceVersion,
      maintainer: 'XDPFire developers',
      license: 'GPL-2.0-only',
      sha256: k.sha256,
      fileName: 'kernel.tar',
    });
  }
  return { packages, lock, problems };
}

export function runHook(root: string, req: HookRequest): void {
  const got = collectImage(root, req);
  if (got.problems.length) throw new LockError(req.lockFile ?? 'lock', got.problems);
  const doc = validateSpdx(buildSpdx({ name: req.name, version: req.version, suite: req.suite, sourceDateEpoch: req.sourceDateEpoch, packages: got.packages }), 'the SBOM being written');
  const text = spdxText(doc);
  const inImage = join(root, SBOM_IN_IMAGE);
  mkdirSync(dirname(inImage), { recursive: true });
  chmodSync(dirname(inImage), 0o755);
  writeFileSync(inImage, text);
  chmodSync(inImage, 0o644);
  writeFileSync(join(req.outDir, SBOM_FILE), text);
  writeFileSync(join(req.outDir, LOCK_FILE), lockText(got.lock));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [requestFile, root] = process.argv.slice(2);
  const req = JSON.parse(readFileSync(requestFile, 'utf8')) as HookRequest;
  try {
    runHook(root, req);
  } catch (err) {
    writeFileSync(req.errorFile, (err as Error).message);
    process.stderr.write(`${(err as Error).stack ?? (err as Error).message}\n`);
    process.exit(1);
  }
}
