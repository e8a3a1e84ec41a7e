// The lock file: the exact package set of an image, each package with the
// sha256 of its .deb, and the sha256 of the apt indexes it was resolved
// from. Every build writes one beside the ISO; `xdpfire build --lock FILE`
// installs exactly that set again (apt pins every package to its version)
// and checks every .deb against it. Validated with schemas/xdpfire-lock.schema.json.
//
// Everything here is a pure function of its arguments, except readLock.
import { join } from 'node:path';
import { parseDeb822 } from '../lib/deb822.js';
import { InvalidFileError, readJsonFile, validateData } from '../../lib/json-file.js';

export const LOCK_SCHEMA = join(import.meta.dirname, '..', '..', 'schemas', 'xdpfire-lock.schema.json');

export type LockOrigin = 'debian' | 'xdpfire';

export interface LockPackage {
  name: string;
  version: string;
  architecture: string;
  sha256: string;
  origin: LockOrigin;
}

export interface LockIndex {
  /** Path under dists/, e.g. "trixie/main/binary-amd64/Packages". */
  path: string;
  sha256: string;
}

export interface Lock {
  lockVersion: 1;
  image: { name: string; version: string };
  suite: string;
  architecture: 'amd64';
  sourceDateEpoch?: number;
  packages: LockPackage[];
  indexes: LockIndex[];
}

/** A lock that cannot be honoured: every problem, one per line. */
export class LockError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`the lock ${file} cannot be rebuilt:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LockError';
  }
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Rules the schema cannot say: one entry per package name. */
function checkUnique(lock: Lock, label: string): Lock {
  const seen = new Set<string>();
  const dup = lock.packages.filter((p) => (seen.has(p.name) ? true : (seen.add(p.name), false))).map((p) => p.name);
  if (dup.length) throw new InvalidFileError(label, [`/packages: ${[...new Set(dup)].join(', ')} listed more than once`]);
  return lock;
}

export function validateLock(data: unknown, label: string): Lock {
  return checkUnique(validateData<Lock>(data, LOCK_SCHEMA, label), label);
}

export function readLock(file: string): Lock {
  return checkUnique(readJsonFile<Lock>(file, LOCK_SCHEMA), file);
}

export function makeLock(o: { name: string; version: string; suite: string; sourceDateEpoch: number; packages: LockPackage[]; indexes: LockIndex[] }): Lock {
  const lock: Lock = {
    lockVersion: 1,
    image: { name: o.name, version: o.version },
    suite: o.suite,
    architecture: 'amd64',
    sourceDateEpoch: o.sourceDateEpoch,
    packages: o.packages.map(({ name, version, architecture, sha256, origin }) => ({ name, version, architecture, sha256, origin })).sort(byName),
    indexes: [...o.indexes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  return validateLock(lock, 'the lock being written');
}

export function lockText(lock: Lock): string {
  return `${JSON.stringify(lock, null, 2)}\n`;
}

/** An apt preferences file that makes every locked version the candidate
 * (priority 1001 also allows a version older than the archive's newest). */
export function aptPreferences(lock: Lock): string {
  return lock.packages.map((p) => `Package: ${p.name}\nPin: version ${p.version}\nPin-Priority: 1001\n`).join('\n');
}

export interface IndexEntry {
  version: string;
  architecture: string;
  sha256: string;
}

/**
 * The entries of an apt Packages index for the `wanted` names (all when
 * omitted): name -> versions. Fast on a whole suite's index (tens of MB):
 * only paragraphs of wanted packages are parsed.
 */
export function parsePackagesIndex(text: string, wanted?: Set<string>, into = new Map<string, IndexEntry[]>()): Map<string, IndexEntry[]> {
  for (const chunk of text.split(/\n\s*\n/)) {
    const m = /^Package:\s*(\S+)/m.exec(chunk);
    if (!m || (wanted && !wanted.has(m[1]))) continue;
    const p = parseDeb822(chunk)[0];
    const version = p?.get('version');
    const architecture = p?.get('architecture');
    if (!version || !architecture) continue;
    const list = into.get(m[1]) ?? [];
    list.push({ version, architecture, sha256: p.get('sha256') ?? '' });
    into.set(m[1], list);
  }
  return into;
}

const short = (sha: string) => `${sha.slice(0, 12)}…`;

/**
 * Whether the archive (its Packages indexes, parsed) still has every Debian
 * package of the lock at its version and architecture, with the same .deb
 * (apt checks a download against the index's SHA256, so the same index
 * hash means the same .deb). One line per problem; none means it can be built.
 */
export function checkAvailable(lock: Lock, index: Map<string, IndexEntry[]>): string[] {
  const problems: string[] = [];
  for (const p of lock.packages.filter((x) => x.origin === 'debian')) {
    const known = index.get(p.name) ?? [];
    const same = known.find((k) => k.version === p.version && k.architecture === p.architecture);
    if (!same) {
      const versions = [...new Set(known.map((k) => k.version))];
      problems.push(`lock: ${p.name} ${p.version} is no longer in the archive (apt knows ${versions.length ? versions.join(', ') : 'no version of it'})`);
    } else if (same.sha256 && same.sha256 !== p.sha256) {
      problems.push(`lock: ${p.name} ${p.version} in the archive has sha256 ${short(same.sha256)}, the lock has ${short(p.sha256)}`);
    }
  }
  return problems;
}

/** The installed set against the lock: missing, extra and other versions. */
export function checkInstalled(lock: Lock, installed: { name: string; version: string; architecture: string }[]): string[] {
  const want = new Map(lock.packages.map((p) => [p.name, p]));
  const got = new Map(installed.map((p) => [p.name, p]));
  const problems: string[] = [];
  for (const p of lock.packages) {
    const g = got.get(p.name);
    if (!g) problems.push(`lock: ${p.name} ${p.version} was not installed`);
    else if (g.version !== p.version || g.architecture !== p.architecture) problems.push(`lock: ${p.name} ${g.version} (${g.architecture}) was installed, the lock has ${p.version} (${p.architecture})`);
  }
  for (const g of installed) if (!want.has(g.name)) problems.push(`lock: ${g.name} ${g.version} was installed but is not in the lock (the profile's package list changed?)`);
  return problems;
}

/** Each .deb's sha256 (name -> sha256) against the lock. */
export function checkDebs(lock: Lock, debs: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const p of lock.packages) {
    const sha = debs.get(p.name);
    if (sha !== undefined && sha !== p.sha256) {
      const why = p.origin === 'xdpfire' ? ' (our packages are built from this tree: build from the commit the lock was written at)' : '';
      problems.push(`lock: ${p.name} ${p.version} has sha256 ${short(sha)}, the lock has ${short(p.sha256)}${why}`);
    }
  }
  return problems;
}

/**
 * An apt list file's path under dists/ ("<host>_debian_dists_trixie_main_
 * binary-amd64_Packages.lz4" -> "trixie/main/binary-amd64/Packages"), or
 * undefined for a file that is no suite index (flat repositories included).
 */
export function indexPath(listFile: string): string | undefined {
  const m = /_dists_(.+)$/.exec(listFile);
  if (!m) return undefined;
  const path = m[1].replace(/\.(gz|xz|lz4|zst|bz2|lzma)$/, '').split('_').map((s) => decodeURIComponent(s)).join('/');
  return /(^|\/)(InRelease|Release|Packages)$/.test(path) ? path : undefined;
}
