import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FRAGMENT_ORDER,
  FragmentSetError,
  formatOverrides,
  loadFragments,
  mergeFragments,
  parseKconfigEntries,
  serializeKconfig,
  type Fragment,
} from '../../build/kernel/index.js';

const frag = (name: string, text: string): Fragment => ({
  name,
  entries: parseKconfigEntries(text, name),
});

describe('mergeFragments', () => {
  it('later fragment wins and each override names old/new value and fragment', () => {
    const a = frag('a.config', 'CONFIG_X=y\nCONFIG_Y=m\n');
    const b = frag('b.config', '# CONFIG_X is not set\nCONFIG_Z=y\n');
    const c = frag('c.config', 'CONFIG_X=m\n');
    const r = mergeFragments([a, b, c]);

    expect(Object.fromEntries([...r.requested].map(([k, v]) => [k, `${v.value}@${v.fragment}`])))
      .toEqual({ CONFIG_X: 'm@c.config', CONFIG_Y: 'm@a.config', CONFIG_Z: 'y@b.config' });
    expect(r.overrides).toEqual([
      { option: 'CONFIG_X', oldValue: 'y', oldFragment: 'a.config', newValue: 'n', newFragment: 'b.config', newLine: 1 },
      { option: 'CONFIG_X', oldValue: 'n', oldFragment: 'b.config', newValue: 'm', newFragment: 'c.config', newLine: 1 },
    ]);
    expect(r.redundant).toEqual([]);
  });

  it('the order of the list decides the winner', () => {
    const a = frag('a.config', 'CONFIG_X=y\n');
    const b = frag('b.config', 'CONFIG_X=m\n');
    expect(mergeFragments([a, b]).requested.get('CONFIG_X')?.value).toBe('m');
    expect(mergeFragments([b, a]).requested.get('CONFIG_X')?.value).toBe('y');
  });

  it('merges over a base: base values are in merged but not requested; overriding the base is reported', () => {
    const base = frag('x86_64_defconfig', 'CONFIG_EXT4_FS=y\nCONFIG_SOUND=y\n# CONFIG_XDP_SOCKETS is not set\n');
    const bpf = frag('bpf.config', 'CONFIG_XDP_SOCKETS=y\nCONFIG_EXT4_FS=y\n');
    const r = mergeFragments([bpf], { base });

    expect(serializeKconfig(r.merged)).toBe('CONFIG_EXT4_FS=y\nCONFIG_SOUND=y\nCONFIG_XDP_SOCKETS=y\n');
    expect([...r.requested.keys()]).toEqual(['CONFIG_XDP_SOCKETS', 'CONFIG_EXT4_FS']);
    expect(r.overrides).toEqual([
      {
        option: 'CONFIG_XDP_SOCKETS',
        oldValue: 'n',
        oldFragment: 'x86_64_defconfig',
        newValue: 'y',
        newFragment: 'bpf.config',
        newLine: 1,
      },
    ]);
    expect(r.redundant).toEqual([
      { option: 'CONFIG_EXT4_FS', value: 'y', firstFragment: 'x86_64_defconfig', againFragment: 'bpf.config', againLine: 2 },
    ]);
  });

  it('reports a repeat inside one fragment as well', () => {
    const r = mergeFragments([frag('a.config', 'CONFIG_X=y\nCONFIG_X=m\n')]);
    expect(r.overrides).toHaveLength(1);
    expect(r.overrides[0]).toMatchObject({ oldFragment: 'a.config', newFragment: 'a.config', newLine: 2 });
  });

  it('formats overrides one per line', () => {
    const r = mergeFragments([frag('a.config', 'CONFIG_X=y\n'), frag('b.config', 'CONFIG_X=m\n')]);
    expect(formatOverrides(r.overrides)).toBe('CONFIG_X: y (a.config) overridden by m (b.config:1)');
  });
});

describe('loadFragments', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'xdpfire-kfrag-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the documented order is bpf, firewall, virtio, nic, boot', () => {
    expect(FRAGMENT_ORDER).toEqual(['bpf', 'firewall', 'virtio', 'nic', 'boot']);
  });

  it('loads in the given order, not directory order', async () => {
    await writeFile(path.join(dir, 'zeta.config'), 'CONFIG_X=y\n');
    await writeFile(path.join(dir, 'alpha.config'), 'CONFIG_X=m\n');
    await writeFile(path.join(dir, 'README.md'), 'not a fragment\n');
    const frags = await loadFragments(dir, ['zeta', 'alpha']);
    expect(frags.map((f) => f.name)).toEqual(['zeta.config', 'alpha.config']);
    expect(mergeFragments(frags).requested.get('CONFIG_X')?.value).toBe('m');
  });

  it('refuses a fragment that is not in the order', async () => {
    await writeFile(path.join(dir, 'bpf.config'), 'CONFIG_X=y\n');
    await writeFile(path.join(dir, 'extra.config'), 'CONFIG_Y=y\n');
    await expect(loadFragments(dir, ['bpf'])).rejects.toThrow(FragmentSetError);
    await expect(loadFragments(dir, ['bpf'])).rejects.toThrow('not in the merge order: extra.config');
  });

  it('refuses a missing fragment', async () => {
    await writeFile(path.join(dir, 'bpf.config'), 'CONFIG_X=y\n');
    await expect(loadFragments(dir, ['bpf', 'nic'])).rejects.toThrow('missing fragment(s): nic.config');
  });

  it('a syntax error names the file and line', async () => {
    await writeFile(path.join(dir, 'bpf.config'), '# ok\nCONFIG_X=yes\n');
    await expect(loadFragments(dir, ['bpf'])).rejects.toThrow(`${path.join(dir, 'bpf.config')}:2: bad value`);
  });
});
