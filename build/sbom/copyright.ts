// The license of a Debian package, for the SBOM: the "License:" of the
// "Files: *" paragraph of its machine-readable (DEP-5) copyright file,
// turned into an SPDX license expression when every name in it maps to an
// SPDX license id; otherwise NOASSERTION (the SPDX word for "not known").
//
// The SPDX ids come from build/sbom/spdx-license-ids.json, a copy of the
// npm package spdx-license-ids 3.0.24 (index.json, CC0-1.0).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstLine, parseDeb822 } from '../lib/deb822.js';

export const NOASSERTION = 'NOASSERTION';
export const LICENSE_IDS_FILE = join(import.meta.dirname, 'spdx-license-ids.json');

let ids: Map<string, string> | undefined;

/** SPDX ids by their lower-cased form (SPDX ids match case-insensitively). */
function licenseIds(): Map<string, string> {
  ids ??= new Map((JSON.parse(readFileSync(LICENSE_IDS_FILE, 'utf8')) as string[]).map((id) => [id.toLowerCase(), id]));
  return ids;
}

export function isSpdxId(id: string): boolean {
  return licenseIds().get(id.toLowerCase()) === id;
}

/**
 * The DEP-5 short name of the license of `Files: *` (the header paragraph's
 * License: when there is no such paragraph), or undefined when the file is
 * not machine-readable or names none.
 */
export function dep5License(copyright: string): string | undefined {
  const paras = parseDeb822(copyright);
  const header = paras[0];
  if (!header || !/copyright-format|dep-?5/i.test(header.get('format') ?? '')) return undefined;
  const all = paras.find((p) => (p.get('files') ?? '').split(/\s+/).includes('*'));
  const name = firstLine(all?.get('license')) || firstLine(header.get('license'));
  return name || undefined;
}

/** A single DEP-5 license name as an SPDX id (or id+), or undefined. */
export function spdxIdFor(name: string): string | undefined {
  // The GNU family: Debian writes GPL-2, GPL-2+, LGPL-2.1+, GPL-2.0+; SPDX
  // has GPL-2.0-only and GPL-2.0-or-later (the bare ids are deprecated).
  let m = /^(A|L)?GPL-(\d)(?:\.(\d))?(\+|-only|-or-later)?$/i.exec(name);
  if (m) {
    const id = `${(m[1] ?? '').toUpperCase()}GPL-${m[2]}.${m[3] ?? '0'}-${m[4] === '+' || m[4]?.toLowerCase() === '-or-later' ? 'or-later' : 'only'}`;
    return isSpdxId(id) ? id : undefined;
  }
  m = /^GFDL-(NIV-)?(\d\.\d)(\+)?$/i.exec(name);
  if (m) {
    const id = `GFDL-${m[2]}${m[1] ? '-no-invariants' : ''}-${m[3] ? 'or-later' : 'only'}`;
    return isSpdxId(id) ? id : undefined;
  }
  if (/^expat$/i.test(name)) return 'MIT';
  const plus = name.endsWith('+');
  const id = licenseIds().get((plus ? name.slice(0, -1) : name).toLowerCase());
  if (!id) return undefined;
  return plus ? `${id}+` : id;
}

/**
 * A DEP-5 license expression ("GPL-2+ or Artistic", "A or B, and C") as an
 * SPDX expression, or NOASSERTION when any part has no SPDX id (exceptions
 * written "with ... exception" included). DEP-5 gives "and" precedence over
 * "or" as SPDX does; a comma closes a group, so "A or B, and C" is
 * "(A OR B) AND C".
 */
export function spdxLicense(dep5: string | undefined): string {
  if (!dep5) return NOASSERTION;
  const groups = dep5.trim().split(/\s*,\s*/);
  const out: string[] = [];
  for (const [i, g] of groups.entries()) {
    const words = g.split(/\s+/).filter(Boolean);
    let joiner = '';
    if (i > 0) {
      const op = words.shift()?.toLowerCase();
      if (op !== 'and' && op !== 'or') return NOASSERTION;
      joiner = op.toUpperCase();
    }
    if (!words.length || words.length % 2 === 0) return NOASSERTION;
    const parts: string[] = [];
    for (const [j, w] of words.entries()) {
      if (j % 2 === 1) {
        if (!/^(and|or)$/i.test(w)) return NOASSERTION;
        parts.push(w.toUpperCase());
      } else {
        const id = spdxIdFor(w);
        if (!id) return NOASSERTION;
        parts.push(id);
      }
    }
    const expr = parts.join(' ');
    const wrapped = groups.length > 1 && parts.length > 1 ? `(${expr})` : expr;
    out.push(joiner ? `${joiner} ${wrapped}` : wrapped);
  }
  return out.join(' ');
}

/** The SPDX license of a package from the text of its copyright file. */
export function licenseFromCopyright(copyright: string | undefined): string {
  return copyright === undefined ? NOASSERTION : spdxLicense(dep5License(copyright));
}

/** The words of an SPDX expression (a recipe's "license") that are no SPDX
 * license id or operator; empty when it is a valid one. Exceptions after
 * WITH are not checked. */
export function unknownLicenseIds(expr: string): string[] {
  const words = expr.replace(/[()]/g, ' ').split(/\s+/).filter(Boolean);
  return words.filter((w, i) => !/^(AND|OR|WITH)$/.test(w) && words[i - 1] !== 'WITH' && !isSpdxId(w.replace(/\+$/, '')) && w !== NOASSERTION);
}
