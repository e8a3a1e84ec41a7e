// packages/xdp-sni/data/encrypted-dns.json, the list of encrypted DNS
// endpoints: valid against its schema (ajv), in the layout xdp-sni-apply
// reads line by line, with no name twice or under another listed name, and
// none that would break what must keep resolving; and the package ships it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';
import { InvalidFileError, readJsonFile, validateData } from '../../lib/json-file.js';

const DIR = join(REPO_ROOT, 'packages/xdp-sni/data');
const FILE = join(DIR, 'encrypted-dns.json');
const SCHEMA = join(DIR, 'encrypted-dns.schema.json');

interface List {
  category: string;
  label: string;
  source: string;
  date: string;
  endpoints: { name: string; provider: string; protocols: string[]; note?: string }[];
}

/** True when name is parent or one of its subdomains. */
const under = (name: string, parent: string) => name === parent || name.endsWith(`.${parent}`);

describe('encrypted-dns.json', () => {
  const list = readJsonFile<List>(FILE, SCHEMA);
  const names = list.endpoints.map((e) => e.name);

  it('is valid against its schema, and says where it comes from and when', () => {
    expect(list.category).toBe('encrypted-dns');
    expect(list.label).toBe('encrypted DNS');
    expect(list.source.length).toBeGreaterThan(20);
    expect(Number.isNaN(Date.parse(list.date))).toBe(false);
    expect(names.length).toBeGreaterThanOrEqual(20);
  });

  it('the schema refuses what the shell could not take: a name with other characters, a bad category, an unknown key', () => {
    const bad = (f: (l: List) => void) => {
      const l = structuredClone(list);
      f(l);
      return () => validateData(l, SCHEMA, 'test');
    };
    expect(bad((l) => (l.endpoints[0].name = 'dns.google/#'))).toThrow(InvalidFileError);
    expect(bad((l) => (l.endpoints[0].name = 'DNS.Google'))).toThrow(InvalidFileError);
    expect(bad((l) => (l.endpoints[0].name = 'dns.google.'))).toThrow(InvalidFileError);
    expect(bad((l) => (l.endpoints[0].name = 'localhost'))).toThrow(InvalidFileError);
    expect(bad((l) => (l.category = 'Encrypted DNS'))).toThrow(InvalidFileError);
    expect(bad((l) => (l.endpoints[0].protocols = ['dnscrypt']))).toThrow(InvalidFileError);
    expect(bad((l) => Object.assign(l.endpoints[0], { url: 'https://dns.google/dns-query' }))).toThrow(InvalidFileError);
    expect(bad(() => undefined)).not.toThrow();
  });

  it('is in the layout of JSON.stringify(data, null, 2), which xdp-sni-apply reads line by line', () => {
    const text = readFileSync(FILE, 'utf8');
    expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2) + '\n');
    // what the shell's sed expressions find: the category and each name once
    expect(text.match(/^ {2}"category": "(.*)",$/gm)).toEqual([`  "category": "${list.category}",`]);
    expect([...text.matchAll(/^ {6}"name": "(.*)",$/gm)].map((m) => m[1])).toEqual(names);
  });

  it('lists no name twice, none under another listed name, and nothing that must keep resolving', () => {
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) for (const p of names) if (n !== p) expect(under(n, p), `${n} is under ${p}`).toBe(false);
    // Firefox turns DNS over HTTPS on when these fail; the canary has its own setting
    for (const keep of ['firefox.com', 'www.firefox.com', 'mozilla.org', 'www.mozilla.org', 'use-application-dns.net', 'google.com', 'www.google.com', 'cloudflare.com'])
      expect(names.filter((n) => under(keep, n)), keep).toEqual([]);
    // and the names browsers ship as their default resolvers are covered
    for (const want of ['dns.google', 'mozilla.cloudflare-dns.com', 'chrome.cloudflare-dns.com', 'dns.quad9.net', 'doh.opendns.com', 'firefox.dns.nextdns.io', 'dns.adguard-dns.com', 'doh.xfinity.com'])
      expect(names.some((n) => under(want, n)), want).toBe(true);
  });

  it('the xdp-sni package ships it where xdp-sni-apply looks for it', () => {
    const recipe = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/xdp-sni/recipe.json'), 'utf8'));
    expect(recipe.files).toContainEqual({ src: 'data/encrypted-dns.json', dest: '/usr/share/xdp-sni/encrypted-dns.json', mode: '0644' });
    expect(readFileSync(join(REPO_ROOT, 'packages/xdp-sni/files/xdp-sni-apply'), 'utf8')).toContain('${XDP_SNI_DATA:-/usr/share/xdp-sni}/encrypted-dns.json');
  });
});

// packages/xdp-sni/data/ech-public-names.json, the ECH public names: the same
// checks of form, layout and shipping, and no name a site of its own.
describe('ech-public-names.json', () => {
  const file = join(DIR, 'ech-public-names.json');
  const schema = join(DIR, 'ech-public-names.schema.json');
  const list = readJsonFile<{ category: string; label: string; source: string; date: string; names: { name: string; provider: string }[] }>(file, schema);
  const names = list.names.map((e) => e.name);

  it('is valid against its schema, says where it comes from and when, and holds the public name in wide use', () => {
    expect(list.category).toBe('ech-public');
    expect(list.source.length).toBeGreaterThan(20);
    expect(Number.isNaN(Date.parse(list.date))).toBe(false);
    expect(names).toContain('cloudflare-ech.com');
    expect(new Set(names).size).toBe(names.length);
    expect(() => validateData({ ...list, names: [{ name: 'Cloudflare-ECH.com', provider: 'x' }] }, schema, 'test')).toThrow(InvalidFileError);
    expect(() => validateData({ ...list, names: [{ name: 'a.example', provider: 'x', protocols: ['doh'] }] }, schema, 'test')).toThrow(InvalidFileError);
  });

  it('is in the layout xdp-sni-apply reads, and the package ships it', () => {
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2) + '\n');
    expect([...text.matchAll(/^ {6}"name": "(.*)",$/gm)].map((m) => m[1])).toEqual(names);
    const recipe = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/xdp-sni/recipe.json'), 'utf8'));
    expect(recipe.files).toContainEqual({ src: 'data/ech-public-names.json', dest: '/usr/share/xdp-sni/ech-public-names.json', mode: '0644' });
  });
});
