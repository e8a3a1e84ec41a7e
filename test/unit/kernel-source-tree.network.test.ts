// NEEDS NETWORK on the first run (Debian archive): fetches linux-source from
// the image's suite with the build's private apt, through the same code path
// as the kernel stage, and unpacks it into the build cache
// (<cacheDir>/kernel-src/<version>/, ~1.5 GB, kept across runs; the first run
// takes a minute or two, later ones reuse it). Set XDPFIRE_OFFLINE=1 to skip.
//
// Then runs the real assembly (make x86_64_defconfig, kvm_guest.config, the
// fragments, make olddefconfig) in a throw-away O= dir:
// - a fragment asking for an option whose dependency is off fails with the
//   option, wanted, got and the `depends on` line naming the dependency;
// - the real kernel-config/ fragments all survive.
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuildConfig } from '../../build/config/profile.js';
import { FRAGMENT_ORDER } from '../../build/kernel/index.js';
import { assembleConfig, DroppedOptionsError } from '../../build/kernel/source/assemble.js';
import { makeArgs } from '../../build/kernel/source/compile.js';
import { fetchKernelSource, type KernelSource } from '../../build/kernel/source/fetch.js';
import { fileLog } from '../../lib/exec.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const offline = !!process.env.XDPFIRE_OFFLINE;
const SLOW = 900_000;

describe.skipIf(offline)('source mode against a real linux-source tree (network on first run)', () => {
  let work: string;
  let src: KernelSource;
  let log: ReturnType<typeof fileLog>;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'ksrc-tree-'));
    log = fileLog(path.join(work, 'test.log'));
    const config = loadBuildConfig({ kernelMode: 'source' }, () => 0);
    src = await fetchKernelSource(config, log);
  }, SLOW);
  afterAll(() => rm(work, { recursive: true, force: true }));

  const assemble = async (fragmentsDir: string, order: readonly string[]) => {
    const objDir = path.join(work, `obj-${path.basename(fragmentsDir)}`);
    await mkdir(objDir, { recursive: true });
    return assembleConfig({ tree: src.tree, objDir, fragmentsDir, order, makeArgs: makeArgs(objDir), log });
  };

  it('records the exact version and the .deb hash', () => {
    expect(src.package).toMatch(/^linux-source-6\.12$/);
    expect(src.version).toMatch(/^6\.12\.\d+-\d+/);
    expect(src.debSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('an option whose dependency is off fails, naming the dependency', async () => {
    // XDP sockets depend on the bpf() syscall, which x86_64_defconfig leaves off.
    const dir = path.join(work, 'dropped');
    await mkdir(dir);
    await writeFile(path.join(dir, 'probe.config'), '# AF_XDP, without asking for BPF_SYSCALL\nCONFIG_XDP_SOCKETS=y\nCONFIG_TUN=m\n');
    const err = await assemble(dir, ['probe']).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DroppedOptionsError);
    const e = err as DroppedOptionsError;
    expect(e.mismatches.map((m) => [m.option, m.wanted, m.got ?? 'absent'])).toEqual([['CONFIG_XDP_SOCKETS', 'y', 'absent']]);
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('1 requested kernel option is not satisfied by the resolved .config (make olddefconfig):');
    expect(lines[2]).toMatch(/^ {2}CONFIG_XDP_SOCKETS +y +not set \(dropped\) +probe\.config$/);
    expect(e.message).toMatch(/net\/xdp\/Kconfig:\d+: depends on BPF_SYSCALL \[=n\]/);
  }, SLOW);

  it('the kernel-config/ fragments all survive allnoconfig + kvm_guest.config + olddefconfig', async () => {
    const r = await assemble(path.join(REPO, 'kernel-config'), FRAGMENT_ORDER);
    expect(r.mismatches).toEqual([]);
    expect(r.verdict).toBe('All requested kernel options are satisfied by the resolved .config (make olddefconfig).');
    expect(r.resolved.get('CONFIG_DEBUG_INFO_BTF')).toBe('y');
    expect(r.assembly.order).toEqual(['allnoconfig', 'kvm_guest.config', 'source/base.config', 'source/lean.config', ...FRAGMENT_ORDER.map((n) => `${n}.config`)]);
    // lean: no sound, DRM or wireless, and nothing the fragments did not ask for
    for (const o of ['CONFIG_SOUND', 'CONFIG_DRM', 'CONFIG_DRM_I915', 'CONFIG_CFG80211', 'CONFIG_WLAN']) expect(r.resolved.get(o) ?? 'n').toBe('n');
  }, SLOW);
});
