// The lock file (issue 12): written, read back and validated with its
// schema; a malformed one is refused with the JSON path of each problem; and
// a lock is checked against real apt Packages indexes (test/fixtures/apt,
// excerpts of trixie and trixie-security) before any long work, naming each
// version the archive no longer has.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidFileError } from '../../lib/json-file.js';
import { aptPreferences, checkAvailable, checkDebs, checkInstalled, indexPath, lockText, makeLock, parsePackagesIndex, readLock, type Lock, type LockPackage } from '../../build/lock/lock.js';
import { parseDpkgStatus } from '../../build/sbom/dpkg-status.js';
import { sha256 } from '../../build/lib/hash.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const main = readFileSync(join(fixtures, 'apt', 'trixie_main_binary-amd64_Packages'), 'utf8');
const security = readFileSync(join(fixtures, 'apt', 'trixie-security_main_binary-amd64_Packages'), 'utf8');
const installed = parseDpkgStatus(readFileSync(join(fixtures, 'sbom', 'status'), 'utf8'));
const OWN = new Set(['xdp-sni', 'xdpfire-base']);

/** The archive as the preflight check sees it: both indexes, parsed. */
const archive = () => parsePackagesIndex(security, undefined, parsePackagesIndex(main));

/** The lock a build of the fixture packages writes: a Debian .deb's sha256
 * is the one its index names (apt checks every download against it). */
function fixtureLock(): Lock {
  const index = archive();
  const packages: LockPackage[] = installed.map((p) => ({
    name: p.name,
    version: p.version,
    architecture: p.architecture,
    sha256: OWN.has(p.name) ? sha256(p.name) : index.get(p.name)!.find((e) => e.version === p.version)!.sha256,
    origin: OWN.has(p.name) ? 'xdpfire' : 'debian',
  }));
  return makeLock({
    name: 'xdpfire',
    version: '0.1.0',
    suite: 'trixie',
    sourceDateEpoch: 1_750_000_000,
    packages: packages.reverse(),
    indexes: [{ path: 'trixie/main/binary-amd64/Packages', sha256: sha256(main) }, { path: 'trixie/InRelease', sha256: sha256('x') }],
  });
}

function tmpFile(text: string): { file: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xdpfire-lock-'));
  const file = join(dir, 'xdpfire-0.1.0.lock.json');
  writeFileSync(file, text);
  return { file, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('lock file', () => {
  it('round-trips through its file and its schema, sorted', () => {
    const lock = fixtureLock();
    expect(lock.packages.map((p) => p.name)).toEqual(installed.map((p) => p.name));
    expect(lock.indexes.map((i) => i.path)).toEqual(['trixie/InRelease', 'trixie/main/binary-amd64/Packages']);
    const t = tmpFile(lockText(lock));
    try {
      expect(readLock(t.file)).toEqual(lock);
      expect(lockText(readLock(t.file))).toBe(readFileSync(t.file, 'utf8'));
    } finally {
      t.done();
    }
  });

  it('refuses a malformed lock, saying where and what', () => {
    const bad = JSON.parse(lockText(fixtureLock()));
    bad.packages[2].sha256 = 'abc';
    delete bad.packages[4].version;
    bad.packages[5].origin = 'ubuntu';
    bad.extra = true;
    const t = tmpFile(JSON.stringify(bad));
    try {
      let err: InvalidFileError | undefined;
      try {
        readLock(t.file);
      } catch (e) {
        err = e as InvalidFileError;
      }
      expect(err).toBeInstanceOf(InvalidFileError);
      expect(err!.file).toBe(t.file);
      expect(err!.problems).toEqual(expect.arrayContaining([
        '(top level): must NOT have additional properties ("extra")',
        '/packages/2/sha256: must match pattern "^[0-9a-f]{64}$"',
        "/packages/4: must have required property 'version'",
        '/packages/5/origin: must be equal to one of the allowed values ("debian", "xdpfire")',
      ]));
      expect(err!.message).toMatch(/xdpfire-0\.1\.0\.lock\.json is not valid:\n {2}- /);
    } finally {
      t.done();
    }
  });

  it('refuses a lock that names a package twice, and one that is not JSON', () => {
    const twice = JSON.parse(lockText(fixtureLock()));
    twice.packages.push(twice.packages[0]);
    const t = tmpFile(JSON.stringify(twice));
    const u = tmpFile('{"lockVersion": 1,');
    try {
      expect(() => readLock(t.file)).toThrow(/\/packages: bash listed more than once/);
      expect(() => readLock(u.file)).toThrow(/not valid JSON/);
    } finally {
      t.done();
      u.done();
    }
  });

  it('pins every package to its version for apt', () => {
    const pref = aptPreferences(fixtureLock());
    expect(pref).toContain('Package: bsdutils\nPin: version 1:2.41.5-0+deb13u1\nPin-Priority: 1001\n');
    expect(pref.match(/^Package: /gm)).toHaveLength(installed.length);
  });
});

describe('a lock against the archive', () => {
  it('parses a real Packages index: every version of a name, with its sha256', () => {
    const index = archive();
    expect(index.get('dnsmasq-base')!.map((e) => e.version)).toEqual(['2.91-1+deb13u2', '2.91-1+deb13u1']);
    expect(index.get('nftables')).toEqual([{ version: '1.1.3-1', architecture: 'amd64', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(parsePackagesIndex(main, new Set(['bash'])).size).toBe(1);
  });

  it('finds every locked package of a fresh lock', () => {
    expect(checkAvailable(fixtureLock(), archive())).toEqual([]);
  });

  it('names a version the archive no longer has, and the versions it has', () => {
    const lock = fixtureLock();
    const old = (name: string, version: string) => lock.packages.find((p) => p.name === name)!.version = version;
    old('nftables', '1.1.1-1');
    old('dnsmasq-base', '2.90-4');
    lock.packages.push({ name: 'iptables', version: '1.8.11-2', architecture: 'amd64', sha256: '0'.repeat(64), origin: 'debian' });
    // ours are not looked up in the archive
    old('xdp-sni', '0.0.9');
    expect(checkAvailable(lock, archive())).toEqual([
      'lock: dnsmasq-base 2.90-4 is no longer in the archive (apt knows 2.91-1+deb13u2, 2.91-1+deb13u1)',
      'lock: nftables 1.1.1-1 is no longer in the archive (apt knows 1.1.3-1)',
      'lock: iptables 1.8.11-2 is no longer in the archive (apt knows no version of it)',
    ]);
  });

  it('names a version whose .deb in the archive is not the locked one', () => {
    const lock = fixtureLock();
    lock.packages.find((p) => p.name === 'bash')!.sha256 = 'f'.repeat(64);
    expect(checkAvailable(lock, archive())).toEqual([expect.stringMatching(/^lock: bash 5\.2\.37-2\+b10 in the archive has sha256 [0-9a-f]{12}…, the lock has ffffffffffff…$/)]);
  });

  it('compares the installed set and the .debs with the lock', () => {
    const lock = fixtureLock();
    expect(checkInstalled(lock, installed)).toEqual([]);
    expect(checkInstalled(lock, installed.filter((p) => p.name !== 'dbus'))).toEqual(['lock: dbus 1.16.2-2 was not installed']);
    expect(checkDebs(lock, new Map([['xdp-sni', sha256('changed')]]))).toEqual([
      expect.stringMatching(/^lock: xdp-sni 0\.1\.0 has sha256 .*\(our packages are built from this tree: build from the commit the lock was written at\)$/),
    ]);
  });

  it('names apt list files by their path under dists/', () => {
    expect(indexPath('mirror.invalid_debian_dists_trixie_main_binary-amd64_Packages.lz4')).toBe('trixie/main/binary-amd64/Packages');
    expect(indexPath('mirror.invalid_debian-security_dists_trixie-security_InRelease')).toBe('trixie-security/InRelease');
    expect(indexPath('mirror.invalid_debian_dists_trixie_main_i18n_Translation-en')).toBeUndefined();
    expect(indexPath('_srv_cache_stages_packages_abc_._Packages')).toBeUndefined();
  });
});
