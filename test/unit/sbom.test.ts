// The SBOM (issue 12, "What went into the image"): dpkg's status and the
// DEP-5 copyright files of a real trixie root filesystem (test/fixtures/sbom,
// see its README) turned into an SPDX 2.3 document that our SPDX 2.3 schema
// (schemas/spdx-2.3.schema.json, a transcription of the spec's constraints,
// not the official schema file) accepts, and documents it must refuse.
// sbom-hook.test.ts runs the same code the way the rootfs stage's hook does.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../../build/lib/hash.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { dep5License, licenseFromCopyright, NOASSERTION, spdxLicense, unknownLicenseIds } from '../../build/sbom/copyright.js';
import { debFileName, parseDpkgStatus } from '../../build/sbom/dpkg-status.js';
import { buildSpdx, packageSpdxId, purl, spdxActor, spdxText, validateSpdx, type SbomPackage } from '../../build/sbom/spdx.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'sbom');
const status = readFileSync(join(fixtures, 'status'), 'utf8');
const copyright = (pkg: string) => readFileSync(join(fixtures, 'copyright', pkg), 'utf8');
const OWN = new Set(['xdp-sni', 'xdpfire-base']);
const EPOCH = 1_750_000_000;

/** The SBOM's input for the fixture packages, as the rootfs hook makes it
 * (the .deb checksums stand in: they are the hash of the package's name). */
function fixturePackages(): SbomPackage[] {
  return parseDpkgStatus(status).map((p) => ({
    ...p,
    origin: OWN.has(p.name) ? 'xdpfire' : 'debian',
    license: OWN.has(p.name) ? (p.name === 'xdp-sni' ? 'GPL-2.0-only' : NOASSERTION) : (() => {
      try {
        return licenseFromCopyright(copyright(p.name));
      } catch {
        return NOASSERTION;
      }
    })(),
    sha256: sha256(p.name),
    fileName: debFileName(p),
  }));
}

const input = () => ({ name: 'xdpfire', version: '0.1.0', suite: 'trixie', sourceDateEpoch: EPOCH, packages: fixturePackages() });

describe('DEP-5 licenses', () => {
  it('reads the License: of "Files: *" from real copyright files and maps it to SPDX', () => {
    expect(dep5License(copyright('nftables'))).toBe('GPL-2');
    expect(licenseFromCopyright(copyright('nftables'))).toBe('GPL-2.0-only');
    // "Files:" with "*" on a continuation line
    expect(dep5License(copyright('libbsd0'))).toBe('BSD-3-clause');
    expect(licenseFromCopyright(copyright('libbsd0'))).toBe('BSD-3-Clause');
    // a name with no SPDX id (Tcl-BSDish) makes the whole expression unknown
    expect(dep5License(copyright('dbus'))).toBe('GPL-2+ or AFL-2.1, and Expat and Tcl-BSDish');
    expect(licenseFromCopyright(copyright('dbus'))).toBe(NOASSERTION);
    // not machine-readable
    expect(dep5License(copyright('busybox'))).toBeUndefined();
    expect(licenseFromCopyright(copyright('busybox'))).toBe(NOASSERTION);
    expect(licenseFromCopyright(undefined)).toBe(NOASSERTION);
  });

  it('maps Debian short names and expressions to SPDX, or NOASSERTION', () => {
    const cases: [string, string][] = [
      ['GPL-2+', 'GPL-2.0-or-later'],
      ['GPL-2.0+', 'GPL-2.0-or-later'],
      ['GPL-2.0-only', 'GPL-2.0-only'],
      ['LGPL-2.1+', 'LGPL-2.1-or-later'],
      ['LGPL-2', 'LGPL-2.0-only'],
      ['AGPL-3+', 'AGPL-3.0-or-later'],
      ['GFDL-NIV-1.3+', 'GFDL-1.3-no-invariants-or-later'],
      ['Expat', 'MIT'],
      ['expat', 'MIT'],
      ['zlib', 'Zlib'],
      ['libpng', 'Libpng'],
      ['Sleepycat and BSD-3-clause', 'Sleepycat AND BSD-3-Clause'],
      ['  LGPL-2.1 or BSD-2-Clause', 'LGPL-2.1-only OR BSD-2-Clause'],
      ['GPL-2+ or AFL-2.1, and Expat', '(GPL-2.0-or-later OR AFL-2.1) AND MIT'],
      ['GPL-1+ or Artistic', NOASSERTION],
      ['public-domain', NOASSERTION],
      ['MIT/X11', NOASSERTION],
      ['GPL', NOASSERTION],
      ['BSD-3-clause-Cambridge with BINARY LIBRARY-LIKE PACKAGES exception', NOASSERTION],
      ['GPL-2 or', NOASSERTION],
      ['', NOASSERTION],
    ];
    for (const [dep5, want] of cases) expect(spdxLicense(dep5), dep5).toBe(want);
  });

  it('checks the SPDX ids a recipe declares', () => {
    expect(unknownLicenseIds('GPL-2.0-only')).toEqual([]);
    expect(unknownLicenseIds('(MIT OR Apache-2.0) AND GPL-2.0-or-later')).toEqual([]);
    expect(unknownLicenseIds('GPL-2+ OR Expat')).toEqual(['GPL-2+', 'Expat']);
    expect(unknownLicenseIds('MPL-2.0+ OR MIT')).toEqual([]);
  });
});

describe('dpkg status', () => {
  it('lists the installed packages with version, architecture and source', () => {
    const pkgs = parseDpkgStatus(status);
    expect(pkgs.map((p) => p.name)).toEqual(['bash', 'bsdutils', 'busybox', 'dbus', 'dnsmasq-base', 'libbsd0', 'libnftables1', 'libstdc++6', 'nftables', 'xdp-sni', 'xdpfire-base']);
    const by = new Map(pkgs.map((p) => [p.name, p]));
    expect(by.get('nftables')).toMatchObject({ version: '1.1.3-1', architecture: 'amd64', source: 'nftables', sourceVersion: '1.1.3-1' });
    // a binNMU: the source version differs from the binary's
    expect(by.get('bash')).toMatchObject({ version: '5.2.37-2+b10', source: 'bash', sourceVersion: '5.2.37-2' });
    // an epoch, and a source of another name
    expect(by.get('bsdutils')).toMatchObject({ version: '1:2.41.5-0+deb13u1', source: 'util-linux', sourceVersion: '2.41.5-0+deb13u1' });
    expect(by.get('xdp-sni')!.maintainer).toBe('XDPFire developers <xdpfire@localhost>');
    expect(debFileName(by.get('bsdutils')!)).toBe('bsdutils_1%3a2.41.5-0+deb13u1_amd64.deb');
  });

  it('leaves out packages that are not installed', () => {
    const more = `${status}\nPackage: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n`;
    expect(parseDpkgStatus(more).map((p) => p.name)).not.toContain('gone');
  });
});

describe('SPDX 2.3 document', () => {
  it('validates against the SPDX 2.3 JSON schema and has the fields', () => {
    const doc = validateSpdx(buildSpdx(input()), 'sbom');
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.creationInfo.created).toBe('2025-06-15T15:06:40Z');
    expect(doc.documentNamespace).toMatch(/^https:\/\/xdpfire\.invalid\/spdx\/xdpfire-0\.1\.0-x86_64-[0-9a-f]{64}$/);
    expect(doc.packages).toHaveLength(12);
    const nft = doc.packages.find((p) => p.name === 'nftables')!;
    expect(nft).toMatchObject({
      SPDXID: 'SPDXRef-Package-nftables',
      versionInfo: '1.1.3-1',
      packageFileName: 'nftables_1.1.3-1_amd64.deb',
      supplier: 'Organization: Debian Netfilter Packaging Team (team+pkg-netfilter-team@tracker.debian.org)',
      sourceInfo: 'built from the Debian source package nftables 1.1.3-1',
      licenseDeclared: 'GPL-2.0-only',
      checksums: [{ algorithm: 'SHA256', checksumValue: sha256('nftables') }],
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:deb/debian/nftables@1.1.3-1?arch=amd64' }],
    });
    expect(nft.originator).toBeUndefined();
    const bsd = doc.packages.find((p) => p.name === 'bsdutils')!;
    expect(bsd.externalRefs![0].referenceLocator).toBe('pkg:deb/debian/bsdutils@1:2.41.5-0%2Bdeb13u1?arch=amd64');
    expect(bsd.sourceInfo).toBe('built from the Debian source package util-linux 2.41.5-0+deb13u1');
    const own = doc.packages.find((p) => p.name === 'xdp-sni')!;
    expect(own).toMatchObject({ licenseDeclared: 'GPL-2.0-only', supplier: 'Organization: XDPFire developers (xdpfire@localhost)', originator: 'Organization: XDPFire developers (xdpfire@localhost)' });
    expect(own.externalRefs![0].referenceLocator).toBe('pkg:deb/xdpfire/xdp-sni@0.1.0?arch=amd64');
    expect(doc.packages.find((p) => p.name === 'libstdc++6')!.SPDXID).toBe('SPDXRef-Package-libstdc-plus--plus-6');
    // The document describes the image; the image contains every package.
    expect(doc.relationships[0]).toEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' });
    expect(doc.relationships.slice(1).map((r) => r.relatedSpdxElement)).toEqual(doc.packages.slice(1).map((p) => p.SPDXID));
    expect(doc.relationships.slice(1).every((r) => r.relationshipType === 'CONTAINS' && r.spdxElementId === 'SPDXRef-Image')).toBe(true);
  });

  it('fails validation when a required field is dropped', () => {
    const doc = JSON.parse(spdxText(buildSpdx(input())));
    delete doc.packages[3].downloadLocation;
    expect(() => validateSpdx(doc, 'sbom')).toThrow(InvalidFileError);
    expect(() => validateSpdx(doc, 'sbom')).toThrow(/\/packages\/3: must have required property 'downloadLocation'/);
    const noCreation = JSON.parse(spdxText(buildSpdx(input())));
    delete noCreation.creationInfo;
    expect(() => validateSpdx(noCreation, 'sbom')).toThrow(/must have required property 'creationInfo'/);
  });

  it('fails validation on a checksum algorithm or relationship type the spec does not list', () => {
    const fresh = () => JSON.parse(spdxText(buildSpdx(input())));
    const badAlgorithm = fresh();
    badAlgorithm.packages[2].checksums[0].algorithm = 'SHA-256';
    expect(() => validateSpdx(badAlgorithm, 'sbom')).toThrow(/\/packages\/2\/checksums\/0\/algorithm: must be equal to one of the allowed values/);
    const shortSum = fresh();
    shortSum.packages[2].checksums[0].checksumValue = 'abc123';
    expect(() => validateSpdx(shortSum, 'sbom')).toThrow(/\/packages\/2\/checksums\/0\/checksumValue: must match pattern/);
    const badType = fresh();
    badType.relationships[1].relationshipType = 'INCLUDES';
    expect(() => validateSpdx(badType, 'sbom')).toThrow(/\/relationships\/1\/relationshipType: must be equal to one of the allowed values/);
  });

  it('fails validation on fields the schema does not know and on malformed values', () => {
    const fresh = () => JSON.parse(spdxText(buildSpdx(input())));
    const typo = fresh();
    typo.packages[1].licenceDeclared = typo.packages[1].licenseDeclared;
    expect(() => validateSpdx(typo, 'sbom')).toThrow(/\/packages\/1: must NOT have additional properties \("licenceDeclared"\)/);
    const badCreator = fresh();
    badCreator.creationInfo.creators.push('xdpfire-build');
    expect(() => validateSpdx(badCreator, 'sbom')).toThrow(/\/creationInfo\/creators\/2: must match pattern/);
    const localTime = fresh();
    localTime.creationInfo.created = '2025-06-15T17:06:40+02:00';
    expect(() => validateSpdx(localTime, 'sbom')).toThrow(/\/creationInfo\/created: must match pattern/);
    const fragment = fresh();
    fragment.documentNamespace += '#x';
    expect(() => validateSpdx(fragment, 'sbom')).toThrow(/\/documentNamespace: must match pattern/);
    const version = fresh();
    version.spdxVersion = 'SPDX-2.2';
    expect(() => validateSpdx(version, 'sbom')).toThrow(/\/spdxVersion: must be equal to constant/);
    const badId = fresh();
    badId.packages[1].SPDXID = 'SPDXRef-Package-libstdc++6';
    expect(() => validateSpdx(badId, 'sbom')).toThrow(/\/packages\/1\/SPDXID: must match pattern/);
    const badCategory = fresh();
    badCategory.packages[1].externalRefs[0].referenceCategory = 'PACKAGE_MANAGERS';
    expect(() => validateSpdx(badCategory, 'sbom')).toThrow(/\/packages\/1\/externalRefs\/0\/referenceCategory: must be equal to one of the allowed values/);
    const badSupplier = fresh();
    badSupplier.packages[1].supplier = 'Debian';
    expect(() => validateSpdx(badSupplier, 'sbom')).toThrow(/\/packages\/1\/supplier: must match pattern/);
    const badLicense = fresh();
    badLicense.packages[1].licenseDeclared = 'GPL-2+, and Expat';
    expect(() => validateSpdx(badLicense, 'sbom')).toThrow(/\/packages\/1\/licenseDeclared: must match pattern/);
    const undescribed = fresh();
    undescribed.relationships.shift();
    expect(() => validateSpdx(undescribed, 'sbom')).toThrow(/must match a schema in anyOf/);
    // what the spec allows and we do not write yet is accepted
    const more = fresh();
    more.documentDescribes = ['SPDXRef-Image'];
    more.packages[0].annotations = [{ annotator: 'Tool: xdpfire-build', annotationDate: '2025-06-15T15:06:40Z', annotationType: 'OTHER', comment: 'x' }];
    more.packages[1].checksums.push({ algorithm: 'MD5', checksumValue: '0'.repeat(32) });
    more.packages[1].licenseConcluded = '(GPL-2.0-or-later OR AFL-2.1) AND MIT';
    expect(() => validateSpdx(more, 'sbom')).not.toThrow();
  });

  it('is deterministic: package order does not matter, the namespace follows the content', () => {
    const a = spdxText(buildSpdx(input()));
    const shuffled = { ...input(), packages: input().packages.reverse() };
    expect(spdxText(buildSpdx(shuffled))).toBe(a);
    const changed = input();
    changed.packages[0] = { ...changed.packages[0], sha256: sha256('other') };
    const b = buildSpdx(changed);
    expect(b.documentNamespace).not.toBe(buildSpdx(input()).documentNamespace);
    expect(b.creationInfo.created).toBe(buildSpdx(input()).creationInfo.created);
  });

  it('makes purls, ids and actors', () => {
    expect(purl({ name: 'libstdc++6', version: '14.2.0-19', architecture: 'amd64', origin: 'debian' })).toBe('pkg:deb/debian/libstdc%2B%2B6@14.2.0-19?arch=amd64');
    expect(purl({ name: 'linux', version: '6.12.118-xdpfire', architecture: 'amd64', origin: 'kernel' })).toBe('pkg:generic/linux@6.12.118-xdpfire?arch=amd64');
    expect(packageSpdxId('a.b-c')).toBe('SPDXRef-Package-a.b-c');
    expect(spdxActor('Guillem Jover <guillem@debian.org>')).toBe('Person: Guillem Jover (guillem@debian.org)');
    expect(spdxActor('Debian QA Group <packages@qa.debian.org>')).toBe('Organization: Debian QA Group (packages@qa.debian.org)');
    expect(spdxActor(undefined)).toBeUndefined();
  });
});
