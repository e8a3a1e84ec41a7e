// Source-mode config assembly without a kernel tree: the merge order
// (defconfig -> kvm_guest.config -> our fragments in FRAGMENT_ORDER), the
// override report, which options are "requested", and the progress helpers.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAGMENT_ORDER, loadFragments, parseKconfigEntries, type Fragment } from '../../build/kernel/index.js';
import { overrideReport, planAssembly } from '../../build/kernel/source/assemble.js';
import { reproducibleEnv } from '../../build/kernel/source/compile.js';
import { countObjects, estimateFromKbuild, fmtDuration, parseAssignments, progressLine, suffixOn } from '../../build/kernel/source/progress.js';

const frag = (name: string, text: string): Fragment => ({ name, entries: parseKconfigEntries(text, name) });
const REPO = path.resolve(import.meta.dirname, '../..');

describe('planAssembly', () => {
  const base = frag('x86_64_defconfig', 'CONFIG_EXT4_FS=y\n# CONFIG_BPF_SYSCALL is not set\nCONFIG_VIRTIO_NET=y\nCONFIG_SMP=y\n');
  const kvm = frag('kvm_guest.config', 'CONFIG_VIRTIO_NET=y\nCONFIG_KVM_GUEST=y\n');

  it('applies base, then the kernel fragments, then ours in order; the later one wins', () => {
    const ours = [
      frag('bpf.config', 'CONFIG_BPF_SYSCALL=y\nCONFIG_NET_CLS_BPF=m\n'),
      frag('virtio.config', 'CONFIG_VIRTIO_NET=m\n'),
      frag('boot.config', 'CONFIG_EXT4_FS=m\n# CONFIG_NET_CLS_BPF is not set\n'),
    ];
    const a = planAssembly(base, [kvm], ours);
    expect(a.order).toEqual(['x86_64_defconfig', 'kvm_guest.config', 'bpf.config', 'virtio.config', 'boot.config']);
    expect(Object.fromEntries(a.merge.merged)).toEqual({
      CONFIG_EXT4_FS: 'm',
      CONFIG_BPF_SYSCALL: 'y',
      CONFIG_VIRTIO_NET: 'm',
      CONFIG_SMP: 'y',
      CONFIG_KVM_GUEST: 'y',
      CONFIG_NET_CLS_BPF: 'n',
    });
    // Only our fragments' options are checked afterwards; the winner is recorded.
    expect(Object.fromEntries([...a.requested].map(([k, v]) => [k, `${v.value}@${v.fragment}:${v.line}`]))).toEqual({
      CONFIG_BPF_SYSCALL: 'y@bpf.config:1',
      CONFIG_NET_CLS_BPF: 'n@boot.config:2',
      CONFIG_VIRTIO_NET: 'm@virtio.config:1',
      CONFIG_EXT4_FS: 'm@boot.config:1',
    });
  });

  it('reports every override with old and new value and who set them', () => {
    const ours = [frag('bpf.config', 'CONFIG_NET_CLS_BPF=m\n'), frag('boot.config', '# CONFIG_NET_CLS_BPF is not set\nCONFIG_EXT4_FS=m\n')];
    const report = overrideReport(planAssembly(base, [kvm], ours));
    expect(report.split('\n')).toEqual([
      'merge order: x86_64_defconfig -> kvm_guest.config -> bpf.config -> boot.config (a later one wins)',
      '2 override(s):',
      'CONFIG_NET_CLS_BPF: m (bpf.config) overridden by n (boot.config:1)',
      'CONFIG_EXT4_FS: y (x86_64_defconfig) overridden by m (boot.config:2)',
    ]);
    // kvm_guest.config repeating the defconfig's value is not an override.
    expect(report).not.toContain('VIRTIO_NET');
  });

  it('says so when nothing was overridden', () => {
    // "# CONFIG_X is not set" in the defconfig's .config is an n that a fragment overrides.
    expect(overrideReport(planAssembly(base, [], [frag('bpf.config', 'CONFIG_BPF_SYSCALL=y\n')]))).toContain('CONFIG_BPF_SYSCALL: n (x86_64_defconfig) overridden by y (bpf.config:1)');
    expect(overrideReport(planAssembly(frag('x86_64_defconfig', ''), [], [frag('bpf.config', 'CONFIG_A=y\n')]))).toMatch(/no overrides$/);
  });

  it('the real kernel-config/ fragments load in FRAGMENT_ORDER and do not override each other', async () => {
    const ours = await loadFragments(path.join(REPO, 'kernel-config'));
    expect(ours.map((f) => f.name)).toEqual(FRAGMENT_ORDER.map((n) => `${n}.config`));
    const a = planAssembly(frag('x86_64_defconfig', ''), [], ours);
    expect(a.merge.overrides).toEqual([]);
    expect(a.order.slice(1)).toEqual(FRAGMENT_ORDER.map((n) => `${n}.config`));
  });
});

describe('progress helpers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ksrc-'));
    const put = async (p: string, text: string) => {
      await mkdir(path.dirname(path.join(dir, p)), { recursive: true });
      await writeFile(path.join(dir, p), text);
    };
    await put('Kbuild', 'obj-y += kernel/\nobj-$(CONFIG_NET) += net/\nobj-y += arch/$(SRCARCH)/\n');
    await put('kernel/Makefile', 'obj-y = fork.o exit.o \\\n\tsched.o\nobj-$(CONFIG_BPF) += bpf.o\n');
    await put('net/Makefile', 'obj-$(CONFIG_NET) += core.o\n');
    await put('arch/x86/Kbuild', 'obj-$(CONFIG_FOO) += foo.o\nfoo-y := a.o b.o\nfoo-$(CONFIG_BAR) += c.o\nobj-$(subst m,y,$(CONFIG_HV)) += hv/\n');
    await put('arch/x86/hv/Makefile', 'obj-y += hv.o\n');
    await put('obj/kernel/fork.o', '');
    await put('obj/kernel/fork.mod.o', '');
    await put('obj/.tmp/x.o', '');
    await put('obj/a.c', '');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('parses Makefile assignments with continuation lines', () => {
    expect(parseAssignments('obj-y = a.o \\\n  b.o # c.o\nx := 1\n')).toEqual([
      { lhs: 'obj-y', rhs: ['a.o', 'b.o'] },
      { lhs: 'x', rhs: ['1'] },
    ]);
  });

  it('evaluates Kbuild suffixes against the resolved config', () => {
    const r = new Map([['CONFIG_A', 'm'], ['CONFIG_B', 'n']]);
    expect(suffixOn('y', r)).toBe(true);
    expect(suffixOn('$(CONFIG_A)', r)).toBe(true);
    expect(suffixOn('$(CONFIG_B)', r)).toBe(false);
    expect(suffixOn('$(CONFIG_C)', r)).toBe(false);
    expect(suffixOn('$(subst m,y,$(CONFIG_A))', r)).toBe(true);
  });

  it('estimates the object count from the Kbuild makefiles', () => {
    // kernel: 3 (+bpf when on); net: 1 when on; foo composite: a, b (+c) and foo itself; hv: 1
    expect(estimateFromKbuild(dir, new Map())).toBe(3);
    expect(estimateFromKbuild(dir, new Map([['CONFIG_NET', 'y'], ['CONFIG_BPF', 'y']]))).toBe(5);
    expect(estimateFromKbuild(dir, new Map([['CONFIG_FOO', 'm'], ['CONFIG_BAR', 'y'], ['CONFIG_HV', 'm']]))).toBe(3 + 4 + 1);
  });

  it('counts built objects, not .mod.o or dot-directories', () => {
    expect(countObjects(path.join(dir, 'obj'))).toBe(1);
    expect(countObjects(path.join(dir, 'absent'))).toBe(0);
  });

  it('formats the progress line honestly as an estimate', () => {
    expect(fmtDuration(330_000)).toBe('5m30s');
    expect(fmtDuration(3_723_000)).toBe('1h02m03s');
    expect(progressLine(1234, { total: 2922, source: 'previous build' }, 330_000)).toBe(
      'kernel: 1234/~2922 objects (total estimated from previous build), 5m30s',
    );
    expect(progressLine(3000, { total: 2725, source: 'Kbuild makefiles' }, 60_000)).toBe(
      'kernel: 3000 objects (more than the ~2725 estimated from Kbuild makefiles), 1m00s',
    );
  });
});

describe('reproducibleEnv', () => {
  it('pins timestamp, user and host from SOURCE_DATE_EPOCH', () => {
    expect(reproducibleEnv(1_700_000_000)).toMatchObject({
      KBUILD_BUILD_TIMESTAMP: 'Tue, 14 Nov 2023 22:13:20 GMT',
      KBUILD_BUILD_USER: 'xdpfire',
      KBUILD_BUILD_HOST: 'xdpfire',
    });
  });
});
