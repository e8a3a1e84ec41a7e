// The Debian mirror comes from the host's own apt sources, in one-line
// ("deb URI suite comp...") or deb822 (".sources") format, unless the profile
// or a flag names one. No host name is written in the repo.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
  from: string;
}

/** Release names and aliases a Debian archive serves (not host names). */
const DEBIAN_SUITES = new Set([
  'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke', 'sid',
  'oldoldstable', 'oldstable', 'stable', 'testing', 'unstable',
]);

export function parseOneLine(text: string, from: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    // Options in brackets: deb [arch=amd64 signed-by=...] URI suite comps
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ types: [m[1]], uris: [m[2]], suites: [m[3]], components: m[4].split(/\s+/).filter(Boolean), enabled: true, from });
  }
  return out;
}

export function parseDeb822(text: string, from: string): AptSource[] {
  const out: AptSource[] = [];
  // Stanzas are separated by blank lines; comment lines are dropped first.
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const stanzas = lines.join('\n').split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let key = '';
    for (const l of stanza.split('\n')) {
      if (/^\s/.test(l) && key) {
        fields.set(key, `${fields.get(key)} ${l.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(l);
      if (m) {
        key = m[1].toLowerCase();
        fields.set(key, m[2]);
      }
    }
    const list = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!fields.has('uris')) continue;
    out.push({
      types: list('types'),
      uris: list('uris'),
      suites: list('suites'),
      components: list('components'),
      enabled: !/^no$/i.test(fields.get('enabled') ?? 'yes'),
      from,
    });
  }
  return out;
}

export function readHostSources(etcApt = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  const main = join(etcApt, 'sources.list');
  if (existsSync(main)) out.push(...parseOneLine(readFileSync(main, 'utf8'), main));
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (name.endsWith('.list')) out.push(...parseOneLine(readFileSync(p, 'utf8'), p));
      else if (name.endsWith('.sources')) out.push(...parseDeb822(readFileSync(p, 'utf8'), p));
    }
  }
  return out;
}

export interface Mirrors {
  mirror: string;
  securityMirror?: string;
}

/**
 * The host's Debian archive: the first enabled binary source for a Debian
 * release with the main component. The security archive is the one serving
 * "<release>-security", if the host has it.
 */
export function pickMirrors(sources: AptSource[]): Mirrors | undefined {
  const usable = sources.filter((s) => s.enabled && s.types.includes('deb') && s.components.includes('main'));
  const archive = usable.find((s) => s.suites.some((x) => DEBIAN_SUITES.has(x)));
  if (!archive) return undefined;
  const security = usable.find((s) => s.suites.some((x) => /-security$/.test(x) && DEBIAN_SUITES.has(x.replace(/-security$/, ''))));
  return { mirror: archive.uris[0], securityMirror: security?.uris[0] };
}

/** The one-line sources.list the image (and our own apt calls) use. */
export function renderSourcesList(m: Mirrors, suite: string, components: string[]): string {
  const comps = components.join(' ');
  const lines = [`deb ${m.mirror} ${suite} ${comps}`, `deb ${m.mirror} ${suite}-updates ${comps}`];
  if (m.securityMirror) lines.push(`deb ${m.securityMirror} ${suite}-security ${comps}`);
  return `${lines.join('\n')}\n`;
}
