// The rootfs stage's SBOM hook (build/sbom/rootfs-hook.ts), run over a
// root directory laid out like mmdebstrap's chroot when its customize hooks
// run: dpkg's status and copyright files from a real trixie image
// (test/fixtures/sbom), apt's cache and lists. It writes the SBOM into the
// image and beside it, and the lock file; with a lock it names every
// difference.
import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../../build/lib/hash.js';
import { readLock } from '../../build/lock/lock.js';
import { NOASSERTION } from '../../build/sbom/copyright.js';
import { debFileName, parseDpkgStatus } from '../../build/sbom/dpkg-status.js';
import { collectImage, readInRoot, runHook, SBOM_IN_IMAGE, type HookRequest } from '../../build/sbom/rootfs-hook.js';
import { validateSpdx } from '../../build/sbom/spdx.js';
import { sbomHookCommand } from '../../build/stages/rootfs.js';
import { execa } from 'execa';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'sbom');
const status = readFileSync(join(fixtures, 'status'), 'utf8');
const copyright = (pkg: string) => readFileSync(join(fixtures, 'copyright', pkg), 'utf8');
const OWN = new Set(['xdp-sni', 'xdpfire-base']);
const EPOCH = 1_750_000_000;

describe('the rootfs hook over a root directory', () => {
  /** A root laid out like mmdebstrap's chroot when its customize hooks run. */
  function makeRoot() {
    const root = mkdtempSync(join(tmpdir(), 'xdpfire-sbom-root-'));
    const put = (p: string, text: string | Buffer) => {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), text);
    };
    put('var/lib/dpkg/status', status);
    const pkgs = parseDpkgStatus(status);
    for (const p of pkgs.filter((x) => !OWN.has(x.name))) put(`var/cache/apt/archives/${debFileName(p)}`, `deb of ${p.name}`);
    for (const name of ['nftables', 'libbsd0', 'dbus', 'busybox']) put(`usr/share/doc/${name}/copyright`, copyright(name));
    // like /usr/share/doc/libstdc++6 -> gcc-14-base in the real image
    put('usr/share/doc/gcc-14-base/copyright', copyright('nftables'));
    symlinkSync('gcc-14-base', join(root, 'usr/share/doc/libstdc++6'));
    // and an absolute link, read inside the root
    symlinkSync('/usr/share/doc/nftables', join(root, 'usr/share/doc/libnftables1'));
    const lists = 'var/lib/apt/lists';
    put(`${lists}/mirror.invalid_debian_dists_trixie_InRelease`, 'InRelease text');
    put(`${lists}/mirror.invalid_debian_dists_trixie_main_binary-amd64_Packages`, readFileSync(join(fixtures, '..', 'apt', 'trixie_main_binary-amd64_Packages')));
    put(`${lists}/_srv_repo_._Packages`, 'a flat repository: no suite index');
    const out = join(root, 'out');
    mkdirSync(out);
    const req: HookRequest = {
      name: 'xdpfire',
      version: '0.1.0',
      suite: 'trixie',
      sourceDateEpoch: EPOCH,
      own: [
        { name: 'xdp-sni', version: '0.1.0', architecture: 'amd64', sha256: sha256('xdp-sni deb'), file: 'xdp-sni_0.1.0_amd64.deb', license: 'GPL-2.0-only' },
        { name: 'xdpfire-base', version: '0.1.0', architecture: 'all', sha256: sha256('base deb'), file: 'xdpfire-base_0.1.0_all.deb', license: NOASSERTION },
      ],
      kernel: { release: '6.12.118-xdpfire', source: 'linux-source-6.12', sourceVersion: '6.12.118-1', sha256: sha256('kernel.tar') },
      outDir: out,
      errorFile: join(root, 'error'),
    };
    return { root, out, req, done: () => rmSync(root, { recursive: true, force: true }) };
  }

  it('reads files through symlinks inside the root', () => {
    const t = makeRoot();
    try {
      expect(readInRoot(t.root, 'usr/share/doc/libstdc++6/copyright')).toBe(copyright('nftables'));
      expect(readInRoot(t.root, '/usr/share/doc/libnftables1/copyright')).toBe(copyright('nftables'));
      expect(readInRoot(t.root, 'usr/share/doc/missing/copyright')).toBeUndefined();
    } finally {
      t.done();
    }
  });

  it('writes a valid SBOM into the image and beside it, and the lock', () => {
    const t = makeRoot();
    try {
      runHook(t.root, t.req);
      const inImage = readFileSync(join(t.root, SBOM_IN_IMAGE), 'utf8');
      expect(readFileSync(join(t.out, 'sbom.spdx.json'), 'utf8')).toBe(inImage);
      const doc = validateSpdx(JSON.parse(inImage), 'sbom');
      const by = new Map(doc.packages.map((p) => [p.name, p]));
      expect(by.get('nftables')!.checksums![0].checksumValue).toBe(sha256('deb of nftables'));
      expect(by.get('libstdc++6')!.licenseDeclared).toBe('GPL-2.0-only');
      expect(by.get('bash')!.licenseDeclared).toBe(NOASSERTION); // no copyright file in this root
      expect(by.get('xdp-sni')!.checksums![0].checksumValue).toBe(sha256('xdp-sni deb'));
      expect(by.get('linux')).toMatchObject({ versionInfo: '6.12.118-xdpfire', licenseDeclared: 'GPL-2.0-only', packageFileName: 'kernel.tar' });
      const lock = readLock(join(t.out, 'lock.json'));
      expect(lock.packages).toHaveLength(11); // dpkg packages only: not the kernel
      expect(lock.packages.find((p) => p.name === 'xdpfire-base')).toEqual({ name: 'xdpfire-base', version: '0.1.0', architecture: 'all', sha256: sha256('base deb'), origin: 'xdpfire' });
      expect(lock.indexes).toEqual([
        { path: 'trixie/InRelease', sha256: sha256('InRelease text') },
        { path: 'trixie/main/binary-amd64/Packages', sha256: sha256(readFileSync(join(fixtures, '..', 'apt', 'trixie_main_binary-amd64_Packages'))) },
      ]);
    } finally {
      t.done();
    }
  });

  it('fails when a Debian package has no .deb to take its checksum from', () => {
    const t = makeRoot();
    try {
      rmSync(join(t.root, 'var/cache/apt/archives/nftables_1.1.3-1_amd64.deb'));
      expect(() => collectImage(t.root, t.req)).toThrow(/nftables 1\.1\.3-1: no nftables_1\.1\.3-1_amd64\.deb in apt's cache/);
    } finally {
      t.done();
    }
  });

  it('with a lock: names each package that differs from it', () => {
    const t = makeRoot();
    try {
      runHook(t.root, t.req);
      const lock = readLock(join(t.out, 'lock.json'));
      // The same root against its own lock: nothing differs.
      expect(collectImage(t.root, { ...t.req, lock }).problems).toEqual([]);
      // Another .deb, another version, one package missing from the lock.
      writeFileSync(join(t.root, 'var/cache/apt/archives/dbus_1.16.2-2_amd64.deb'), 'another dbus');
      const other = { ...lock, packages: lock.packages.filter((p) => p.name !== 'busybox').map((p) => (p.name === 'nftables' ? { ...p, version: '1.1.1-1' } : p)) };
      const problems = collectImage(t.root, { ...t.req, lock: other }).problems;
      expect(problems).toEqual([
        'lock: nftables 1.1.3-1 (amd64) was installed, the lock has 1.1.1-1 (amd64)',
        'lock: busybox 1:1.37.0-6+b9 was installed but is not in the lock (the profile\'s package list changed?)',
        expect.stringMatching(/^lock: dbus 1\.16\.2-2 has sha256 [0-9a-f]{12}…, the lock has [0-9a-f]{12}…$/),
      ]);
      expect(() => runHook(t.root, { ...t.req, lock: other, lockFile: 'my.lock.json' })).toThrow(/the lock my\.lock\.json cannot be rebuilt:\n {2}- lock: nftables/);
    } finally {
      t.done();
    }
  });

  it('runs as mmdebstrap runs a customize hook (sh -c with the root as $1), and reports a failure in the error file', async () => {
    const t = makeRoot();
    try {
      const request = join(t.root, 'request.json');
      writeFileSync(request, JSON.stringify(t.req));
      const ok = await execa('sh', ['-c', sbomHookCommand(request), 'exec', t.root], { reject: false });
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(readFileSync(join(t.out, 'sbom.spdx.json'), 'utf8')).toBe(readFileSync(join(t.root, SBOM_IN_IMAGE), 'utf8'));
      rmSync(join(t.root, 'var/cache/apt/archives/nftables_1.1.3-1_amd64.deb'));
      const bad = await execa('sh', ['-c', sbomHookCommand(request), 'exec', t.root], { reject: false });
      expect(bad.exitCode).toBe(1);
      expect(readFileSync(t.req.errorFile, 'utf8')).toMatch(/^nftables 1\.1\.3-1: no nftables_1\.1\.3-1_amd64\.deb/);
    } finally {
      t.done();
    }
  });
});
