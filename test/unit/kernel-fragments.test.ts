// The repo's fragments against Debian trixie's shipped kernel config: the
// same check the debian-mode kernel stage runs at build time.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FRAGMENT_ORDER,
  checkFragments,
  formatMismatches,
  loadFragments,
  mergeFragments,
  parseKconfig,
} from '../../build/kernel/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fragmentsDir = path.join(repo, 'kernel-config');
const DEBIAN_KERNEL = '6.12.117+deb13-amd64';
const fixture = path.join(repo, 'test/fixtures/kernel', `debian-trixie-config-${DEBIAN_KERNEL}.gz`);

let debianConfig: string;
beforeAll(async () => {
  debianConfig = gunzipSync(await readFile(fixture)).toString('utf8');
});

describe('Debian trixie config fixture', () => {
  it('is the real 6.12.117 amd64 config', () => {
    expect(debianConfig).toContain('# Linux/x86 6.12.117 Kernel Configuration');
    const m = parseKconfig(debianConfig, fixture);
    expect(m.size).toBeGreaterThan(8000);
    expect(m.get('CONFIG_BPF_SYSCALL')).toBe('y');
    expect(m.get('CONFIG_IGC')).toBe('m');
    expect(m.get('CONFIG_BPF_JIT_ALWAYS_ON')).toBe('n');
  });
});

describe('kernel-config/ fragments', () => {
  it('exist for exactly FRAGMENT_ORDER, merge without conflicts, and each option has a comment', async () => {
    const frags = await loadFragments(fragmentsDir);
    expect(frags.map((f) => f.name)).toEqual(FRAGMENT_ORDER.map((n) => `${n}.config`));
    const merge = mergeFragments(frags);
    expect(merge.overrides).toEqual([]);
    expect(merge.redundant).toEqual([]);
    expect(merge.requested.size).toBeGreaterThan(80);
    // Every setting sits under a comment block that says why.
    for (const n of FRAGMENT_ORDER) {
      const lines = (await readFile(path.join(fragmentsDir, `${n}.config`), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (!/^CONFIG_|^# CONFIG_\w+ is not set$/.test(line)) return;
        let j = i - 1;
        while (j >= 0 && /^CONFIG_|^# CONFIG_\w+ is not set$/.test(lines[j]!)) j--;
        expect(lines[j], `${n}.config:${i + 1} ${line} has no comment above it`).toMatch(/^# /);
      });
    }
  });

  it('ask for the core things the architecture names', async () => {
    const { requested } = mergeFragments(await loadFragments(fragmentsDir));
    const want = (o: string) => requested.get(o)?.value;
    expect(want('CONFIG_BPF_SYSCALL')).toBe('y');
    expect(want('CONFIG_BPF_JIT')).toBe('y');
    expect(want('CONFIG_DEBUG_INFO_BTF')).toBe('y');
    expect(want('CONFIG_XDP_SOCKETS')).toBe('y');
    expect(want('CONFIG_NET_CLS_BPF')).toBe('m');
    expect(want('CONFIG_NET_ACT_BPF')).toBe('m');
    expect(want('CONFIG_NF_TABLES')).toBe('m');
    expect(want('CONFIG_NFT_NAT')).toBe('m');
    expect(want('CONFIG_VIRTIO_NET')).toBe('m');
    for (const o of ['IGB', 'IGC', 'IXGBE', 'I40E', 'ICE', 'MLX5_CORE', 'E1000E', 'R8169']) {
      expect(want(`CONFIG_${o}`), o).toBe('m');
    }
    expect(want('CONFIG_EFI_STUB')).toBe('y');
    expect(want('CONFIG_SQUASHFS')).toBe('m');
    expect(want('CONFIG_OVERLAY_FS')).toBe('m');
  });

  it(`are all satisfied by Debian trixie's ${DEBIAN_KERNEL} config`, async () => {
    const { mismatches } = await checkFragments(fragmentsDir, debianConfig);
    expect(formatMismatches(mismatches, `config-${DEBIAN_KERNEL}`)).toBe(
      `All requested kernel options are satisfied by config-${DEBIAN_KERNEL}.`,
    );
    expect(mismatches).toEqual([]);
  });
});

describe('a deliberately broken fragment set', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'xdpfire-kbroken-'));
    await cp(fragmentsDir, dir, { recursive: true });
    // Debian builds igc as a module and ships the JIT with its interpreter
    // fallback; a fragment that insists on built-in igc and JIT_ALWAYS_ON,
    // plus an option that does not exist in 6.12, must fail.
    const nic = await readFile(path.join(dir, 'nic.config'), 'utf8');
    await writeFile(path.join(dir, 'nic.config'), nic.replace('CONFIG_IGC=m', 'CONFIG_IGC=y'));
    const bpf = await readFile(path.join(dir, 'bpf.config'), 'utf8');
    await writeFile(
      path.join(dir, 'bpf.config'),
      `${bpf}# broken on purpose\nCONFIG_BPF_JIT_ALWAYS_ON=y\nCONFIG_XDPFIRE_NO_SUCH_OPTION=m\n# CONFIG_BPF_SYSCALL is not set\n`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('produces mismatches naming option, wanted and got', async () => {
    const { mismatches, merge } = await checkFragments(dir, debianConfig);
    expect(mismatches).toEqual([
      { option: 'CONFIG_BPF_SYSCALL', wanted: 'n', got: 'y', fragment: 'bpf.config' },
      { option: 'CONFIG_BPF_JIT_ALWAYS_ON', wanted: 'y', got: 'n', fragment: 'bpf.config' },
      { option: 'CONFIG_XDPFIRE_NO_SUCH_OPTION', wanted: 'm', got: undefined, fragment: 'bpf.config' },
      { option: 'CONFIG_IGC', wanted: 'y', got: 'm', fragment: 'nic.config' },
    ]);
    expect(merge.overrides.map((o) => `${o.option} ${o.oldValue}->${o.newValue}`)).toEqual([
      'CONFIG_BPF_SYSCALL y->n',
    ]);
    const text = formatMismatches(mismatches, `config-${DEBIAN_KERNEL}`);
    expect(text).toMatch(/^4 requested kernel options are not satisfied by config-6\.12\.117\+deb13-amd64:/);
    expect(text).toMatch(/CONFIG_IGC +y +m +nic\.config/);
    expect(text).toMatch(/CONFIG_XDPFIRE_NO_SUCH_OPTION +m +not set \(dropped\) +bpf\.config/);
    expect(text).toMatch(/CONFIG_BPF_JIT_ALWAYS_ON +y +n \(is not set\) +bpf\.config/);
  });
});
