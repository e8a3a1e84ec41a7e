import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE, isoFileName, loadBuildConfig, readProfile } from '../../build/config/profile.js';
import { InvalidFileError } from '../../lib/json-file.js';

const dir = mkdtempSync(join(tmpdir(), 'xdpfire-profile-'));
const base = JSON.parse(readFileSync(DEFAULT_PROFILE, 'utf8'));

function profileWith(mutate: (p: any) => void): string {
  const p = structuredClone(base);
  p.$schema = undefined;
  mutate(p);
  const f = join(dir, `p-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(p));
  return f;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidFileError);
    return (err as InvalidFileError).problems;
  }
  throw new Error('expected the profile to be rejected');
}

describe('image profile', () => {
  it('the default profile is valid and builds trixie', () => {
    const p = readProfile(DEFAULT_PROFILE);
    expect(p.debian.suite).toBe('trixie');
    const c = loadBuildConfig({ mirror: 'http://mirror.invalid/debian', securityMirror: 'http://mirror.invalid/security' });
    expect(c.suite).toBe('trixie');
    expect(c.packages).toContain('systemd');
    expect(c.kernel.fragments).toEqual(['bpf', 'firewall', 'virtio', 'nic', 'boot']);
    expect(isoFileName(c)).toBe(`xdpfire-${base.version}-x86_64.iso`);
  });

  it('names the JSON path and the allowed values of a bad enum', () => {
    const f = profileWith((p) => (p.kernel.mode = 'custom'));
    expect(problems(() => readProfile(f))).toEqual(['/kernel/mode: must be equal to one of the allowed values ("debian", "source")']);
  });

  it('rejects a wrong suite, a bad label, an unknown key and a missing section together', () => {
    const f = profileWith((p) => {
      p.debian.suite = 'bookworm';
      p.iso.label = 'has spaces';
      p.colour = 'red';
      delete p.kernel;
    });
    const msgs = problems(() => readProfile(f)).join('\n');
    expect(msgs).toMatch(/\/debian\/suite: must be equal to one of the allowed values \("trixie"\)/);
    expect(msgs).toMatch(/\/iso\/label: must match pattern/);
    expect(msgs).toMatch(/\(top level\): must NOT have additional properties \("colour"\)/);
    expect(msgs).toMatch(/\(top level\): must have required property 'kernel'/);
  });

  it('reports broken JSON with the file name', () => {
    const f = join(dir, 'broken.json');
    writeFileSync(f, '{ "name": "x", ');
    const msgs = problems(() => readProfile(f));
    expect(msgs[0]).toMatch(/^not valid JSON/);
  });

  it('validates flag overrides with the same schema', () => {
    const msgs = problems(() => loadBuildConfig({ kernelMode: 'mainline', mirror: 'http://mirror.invalid/debian' }));
    expect(msgs[0]).toMatch(/^\/kernel\/mode:/);
    expect(() => loadBuildConfig({ mirror: 'not a url' })).toThrow(/\/debian\/mirror: must match pattern/);
  });

  it('applies --out, --cache-dir, --mirror and SOURCE_DATE_EPOCH overrides', () => {
    const c = loadBuildConfig({ out: '/tmp/o', cacheDir: '/tmp/c', mirror: 'http://mirror.invalid/debian', sourceDateEpoch: '1700000000' });
    expect(c.outDir).toBe('/tmp/o');
    expect(c.cacheDir).toBe('/tmp/c');
    expect(c.mirrors.mirror).toBe('http://mirror.invalid/debian');
    expect(c.sourceDateEpoch).toBe(1700000000);
    expect(() => loadBuildConfig({ mirror: 'http://mirror.invalid/debian', sourceDateEpoch: 'yesterday' })).toThrow(/SOURCE_DATE_EPOCH/);
  });

  it('uses the profile mirror when set, and falls back to the epoch callback', () => {
    const f = profileWith((p) => (p.debian.mirror = 'https://profile.invalid/debian'));
    const old = process.env.SOURCE_DATE_EPOCH;
    delete process.env.SOURCE_DATE_EPOCH;
    try {
      const c = loadBuildConfig({ profile: f }, () => 1234);
      expect(c.mirrors.mirror).toBe('https://profile.invalid/debian');
      expect(c.sourceDateEpoch).toBe(1234);
    } finally {
      if (old !== undefined) process.env.SOURCE_DATE_EPOCH = old;
    }
  });
});
