// The image's software bill of materials as an SPDX 2.3 JSON document, made
// from plain data (what the rootfs stage found installed) so that it can be
// tested without a build. Deterministic: packages and relationships are
// sorted, "created" is SOURCE_DATE_EPOCH and the document namespace is
// derived from the content, so the same image gives the same bytes.
//
// Checked before it is written against schemas/spdx-2.3.schema.json, our own
// transcription of the SPDX 2.3 spec's constraints on the fields we write
// (not the official spdx-spec schema file; schemas/README.md).
import { join } from 'node:path';
import { sha256, stableJson } from '../lib/hash.js';
import { validateData } from '../../lib/json-file.js';
import { NOASSERTION } from './copyright.js';

/** XDPFire's SPDX 2.3 schema (tracked in the repository). */
export const SPDX_SCHEMA = join(import.meta.dirname, '..', '..', 'schemas', 'spdx-2.3.schema.json');

/** Where a package in the image comes from. */
export type Origin = 'debian' | 'xdpfire' | 'kernel';

export interface SbomPackage {
  name: string;
  version: string;
  architecture: string;
  origin: Origin;
  /** Source package and version (Debian), or what it was built from. */
  source: string;
  sourceVersion: string;
  /** The Maintainer field, "Name <email>". */
  maintainer?: string;
  /** SPDX license expression, or NOASSERTION. */
  license: string;
  /** sha256 of the .deb (of kernel.tar for a kernel built from source). */
  sha256: string;
  /** The file the checksum is of. */
  fileName: string;
}

export interface SbomInput {
  /** The image: profile name and version. */
  name: string;
  version: string;
  suite: string;
  sourceDateEpoch: number;
  packages: SbomPackage[];
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo: string;
  packageFileName?: string;
  supplier?: string;
  originator?: string;
  downloadLocation: string;
  filesAnalyzed: boolean;
  checksums?: { algorithm: 'SHA256'; checksumValue: string }[];
  sourceInfo?: string;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  description?: string;
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
  primaryPackagePurpose?: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[]; comment?: string };
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: 'DESCRIBES' | 'CONTAINS'; relatedSpdxElement: string }[];
}

export const IMAGE_SPDXID = 'SPDXRef-Image';

/** purl's percent-encoding of a version (packageurl-js's: ':' stays). */
const purlEncode = (s: string) => encodeURIComponent(s).replace(/%3A/gi, ':');

export function purl(p: Pick<SbomPackage, 'name' | 'version' | 'architecture' | 'origin'>): string {
  if (p.origin === 'kernel') return `pkg:generic/${purlEncode(p.name)}@${purlEncode(p.version)}?arch=${p.architecture}`;
  const ns = p.origin === 'debian' ? 'debian' : 'xdpfire';
  return `pkg:deb/${ns}/${purlEncode(p.name)}@${purlEncode(p.version)}?arch=${p.architecture}`;
}

/** An SPDX element id for a package: letters, digits, '.' and '-' only
 * (Debian names may also hold '+', written "-plus-"). */
export function packageSpdxId(name: string): string {
  return `SPDXRef-Package-${name.replace(/\+/g, '-plus-').replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

/** "Name <email>" as an SPDX actor: teams and lists are organizations. */
export function spdxActor(maintainer: string | undefined): string | undefined {
  if (!maintainer) return undefined;
  const m = /^\s*(.*?)\s*<([^>]*)>\s*$/.exec(maintainer);
  const name = (m ? m[1] : maintainer).replace(/[()]/g, '').trim();
  const email = m?.[2];
  const kind = /\b(team|maintainers|group|project|developers|debian|list)\b/i.test(name) ? 'Organization' : 'Person';
  return `${kind}: ${name}${email ? ` (${email})` : ''}`;
}

function sourceInfo(p: SbomPackage): string {
  switch (p.origin) {
    case 'debian':
      return `built from the Debian source package ${p.source} ${p.sourceVersion}`;
    case 'xdpfire':
      return `built by the XDPFire packages stage from packages/${p.source}/recipe.json`;
    case 'kernel':
      return `compiled by the XDPFire kernel stage from Debian's ${p.source} ${p.sourceVersion} with the kernel-config/ fragments`;
  }
}

function spdxPackage(p: SbomPackage): SpdxPackage {
  const supplier = spdxActor(p.maintainer);
  return {
    SPDXID: packageSpdxId(p.name),
    name: p.name,
    versionInfo: p.version,
    packageFileName: p.fileName,
    ...(supplier ? { supplier } : {}),
    ...(p.origin !== 'debian' && supplier ? { originator: supplier } : {}),
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }],
    sourceInfo: sourceInfo(p),
    licenseConcluded: NOASSERTION,
    licenseDeclared: p.license,
    copyrightText: NOASSERTION,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl(p) }],
  };
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** "2024-05-01T12:00:00Z" */
export function spdxDate(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildSpdx(input: SbomInput): SpdxDocument {
  const docName = `${input.name}-${input.version}-x86_64`;
  const pkgs = [...input.packages].sort((a, b) => byString(a.name, b.name));
  const ids = new Map<string, string>();
  for (const p of pkgs) {
    const id = packageSpdxId(p.name);
    if (ids.has(id)) throw new Error(`SBOM: packages ${ids.get(id)} and ${p.name} would share the SPDX id ${id}`);
    ids.set(id, p.name);
  }
  const image: SpdxPackage = {
    SPDXID: IMAGE_SPDXID,
    name: input.name,
    versionInfo: input.version,
    supplier: 'Organization: XDPFire',
    originator: 'Organization: XDPFire',
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    description: `${input.name} ${input.version}: firewall live image (x86_64) on Debian ${input.suite}`,
    primaryPackagePurpose: 'OPERATING_SYSTEM',
  };
  const packages = [image, ...pkgs.map(spdxPackage)];
  const relationships = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES' as const, relatedSpdxElement: IMAGE_SPDXID },
    ...packages.slice(1).map((p) => ({ spdxElementId: IMAGE_SPDXID, relationshipType: 'CONTAINS' as const, relatedSpdxElement: p.SPDXID })),
  ];
  const body = {
    spdxVersion: 'SPDX-2.3' as const,
    dataLicense: 'CC0-1.0' as const,
    SPDXID: 'SPDXRef-DOCUMENT' as const,
    name: docName,
    creationInfo: {
      created: spdxDate(input.sourceDateEpoch),
      creators: ['Organization: XDPFire', 'Tool: xdpfire-build'],
      comment: 'Every dpkg package installed in the image, with the sha256 of the .deb it was installed from. Debian licenses are read from the machine-readable /usr/share/doc/<package>/copyright (License: of "Files: *"); NOASSERTION where that is not an SPDX license expression.',
    },
    packages,
    relationships,
  };
  // Derived from the content: the same packages give the same namespace,
  // any difference gives another.
  const documentNamespace = `https://xdpfire.invalid/spdx/${docName}-${sha256(stableJson(body))}`;
  const { spdxVersion, dataLicense, SPDXID, name, creationInfo } = body;
  return { spdxVersion, dataLicense, SPDXID, name, documentNamespace, creationInfo, packages, relationships };
}

/** Validate `doc` against our SPDX 2.3 schema (schemas/spdx-2.3.schema.json). */
export function validateSpdx(doc: unknown, label: string, schemaFile = SPDX_SCHEMA): SpdxDocument {
  return validateData<SpdxDocument>(doc, schemaFile, label);
}

/** The document as written: two-space JSON with a final newline. */
export function spdxText(doc: SpdxDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
