// The installed packages of a root filesystem, from dpkg's status file
// (/var/lib/dpkg/status): what the SBOM lists and the lock pins.
import { parseDeb822 } from '../lib/deb822.js';

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  /** The source package and its version (they default to the binary's). */
  source: string;
  sourceVersion: string;
  maintainer?: string;
}

/** Packages whose Status is "install ok installed", sorted by name. */
export function parseDpkgStatus(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const p of parseDeb822(text)) {
    const status = (p.get('status') ?? '').split(/\s+/);
    if (status[2] !== 'installed') continue;
    const name = p.get('package');
    const version = p.get('version');
    const architecture = p.get('architecture');
    if (!name || !version || !architecture) throw new Error(`dpkg status: an installed package lacks Package, Version or Architecture (${name ?? '?'})`);
    // "Source: util-linux (2.41.5-0+deb13u1)" or "Source: nftables" or none.
    const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(p.get('source') ?? '');
    out.push({
      name,
      version,
      architecture,
      source: m?.[1] ?? name,
      sourceVersion: m?.[2] ?? version,
      maintainer: p.get('maintainer'),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The file name apt gives a downloaded .deb in /var/cache/apt/archives
 * (the epoch's colon is written %3a). */
export function debFileName(p: Pick<InstalledPackage, 'name' | 'version' | 'architecture'>): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.architecture}.deb`;
}
