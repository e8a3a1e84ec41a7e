import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KconfigTreeError,
  annotateExpression,
  dependsOnLines,
  explainMismatches,
  findDependsOn,
  indexKconfigTree,
} from '../../build/kernel/kconfig-deps.js';
import { checkConfig, formatMismatches, parseKconfig, type KconfigIndex } from '../../build/kernel/index.js';

// A miniature kernel tree shaped like the real one (lib/Kconfig.debug's BTF
// entry, an arch split, help text that looks like syntax).
const files: Record<string, string> = {
  Kconfig: [
    'mainmenu "Linux/$(ARCH) Kernel Configuration"',
    'source "arch/$(SRCARCH)/Kconfig"',
    'source "kernel/bpf/Kconfig"',
    'source "lib/Kconfig.debug"',
    'osource "does/not/exist/Kconfig"',
  ].join('\n'),
  'arch/x86/Kconfig': ['config X86_64', '\tdef_bool y', 'config HAVE_EBPF_JIT', '\tdef_bool y'].join('\n'),
  'arch/arm64/Kconfig': ['config ARM64_ONLY', '\tbool "arm64 only"'].join('\n'),
  'kernel/bpf/Kconfig': [
    'menu "BPF subsystem"',
    '',
    'config BPF_SYSCALL',
    '\tbool "Enable bpf() system call"',
    '\thelp',
    '\t  Enable the bpf() system call. This help mentions',
    '\t  source "nowhere/Kconfig" and',
    '\t  config NOT_A_REAL_ENTRY',
    '\t  if FOO (help text that looks like syntax on purpose)',
    '',
    '\t  A second paragraph.',
    '',
    'config BPF_JIT',
    '\tbool "Enable BPF Just In Time compiler"',
    '\tdepends on BPF_SYSCALL # trailing comment',
    '\tdepends on HAVE_EBPF_JIT',
    '',
    'config BPF_JIT_DEFAULT_ON',
    '\tdef_bool ARCH_WANT_DEFAULT_BPF_JIT || BPF_JIT_ALWAYS_ON',
    '\tdepends on HAVE_EBPF_JIT && BPF_JIT',
    '',
    'rsource "Kconfig.extra"',
    'endmenu',
  ].join('\n'),
  'kernel/bpf/Kconfig.extra': ['config BPF_EXTRA', '\ttristate', '\tprompt "extra"', '\tdepends on BPF_JIT && \\', '\t\tX86_64'].join('\n'),
  'lib/Kconfig.debug': [
    'menu "Compile-time checks"',
    '\tdepends on DEBUG_KERNEL',
    'choice',
    '\tprompt "Debug information"',
    '\tdepends on DEBUG_KERNEL',
    'config DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT',
    '\tbool "Toolchain default DWARF"',
    'endchoice # "Debug information"',
    '',
    'if DEBUG_INFO',
    'config DEBUG_INFO_BTF',
    '\tbool "Generate BTF type information"',
    '\tdepends on !DEBUG_INFO_SPLIT && !DEBUG_INFO_REDUCED',
    '\tdepends on BPF_SYSCALL',
    '\tdepends on PAHOLE_VERSION >= 116',
    'endif # DEBUG_INFO',
    'endmenu',
  ].join('\n'),
};

let tree: string;
let index: KconfigIndex;
beforeAll(async () => {
  tree = await mkdtemp(path.join(tmpdir(), 'xdpfire-ktree-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(tree, rel)), { recursive: true });
    await writeFile(path.join(tree, rel), `${text}\n`);
  }
  index = await indexKconfigTree(tree);
});
afterAll(async () => {
  await rm(tree, { recursive: true, force: true });
});

describe('indexKconfigTree', () => {
  it('follows source/rsource from the top Kconfig for the chosen arch only', () => {
    expect([...index.keys()].sort()).toEqual([
      'CONFIG_BPF_EXTRA',
      'CONFIG_BPF_JIT',
      'CONFIG_BPF_JIT_DEFAULT_ON',
      'CONFIG_BPF_SYSCALL',
      'CONFIG_DEBUG_INFO_BTF',
      'CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT',
      'CONFIG_HAVE_EBPF_JIT',
      'CONFIG_X86_64',
    ]);
  });

  it('reads other architectures when asked', async () => {
    const arm = await indexKconfigTree(tree, { srcarch: 'arm64' });
    expect(arm.has('CONFIG_ARM64_ONLY')).toBe(true);
    expect(arm.has('CONFIG_X86_64')).toBe(false);
  });

  it('records depends on, enclosing blocks, prompts and joined continuation lines', () => {
    const [btf] = index.get('CONFIG_DEBUG_INFO_BTF')!;
    expect(btf).toMatchObject({
      file: 'lib/Kconfig.debug',
      line: 11,
      type: 'bool',
      hasPrompt: true,
      dependsOn: ['!DEBUG_INFO_SPLIT && !DEBUG_INFO_REDUCED', 'BPF_SYSCALL', 'PAHOLE_VERSION >= 116'],
    });
    expect(btf!.enclosing.map((b) => [b.kind, b.conditions, b.line])).toEqual([
      ['menu', ['DEBUG_KERNEL'], 1],
      ['if', ['DEBUG_INFO'], 10],
    ]);
    expect(index.get('CONFIG_BPF_JIT')![0]!.dependsOn).toEqual(['BPF_SYSCALL', 'HAVE_EBPF_JIT']);
    expect(index.get('CONFIG_BPF_JIT_DEFAULT_ON')![0]).toMatchObject({ type: 'bool', hasPrompt: false });
    expect(index.get('CONFIG_BPF_EXTRA')![0]).toMatchObject({
      file: 'kernel/bpf/Kconfig.extra',
      type: 'tristate',
      hasPrompt: true,
      dependsOn: ['BPF_JIT && X86_64'],
    });
    const [dwarf] = index.get('CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT')!;
    expect(dwarf!.enclosing.map((b) => b.kind)).toEqual(['menu', 'choice']);
  });

  it('fails clearly on a missing sourced file and on unbalanced blocks', async () => {
    const bad = await mkdtemp(path.join(tmpdir(), 'xdpfire-ktree-bad-'));
    try {
      await writeFile(path.join(bad, 'Kconfig'), 'source "missing/Kconfig"\n');
      await expect(indexKconfigTree(bad)).rejects.toThrow(KconfigTreeError);
      await expect(indexKconfigTree(bad)).rejects.toThrow('missing/Kconfig');
      await writeFile(path.join(bad, 'Kconfig'), 'if FOO\nconfig BAR\n\tbool "bar"\n');
      await expect(indexKconfigTree(bad)).rejects.toThrow('unbalanced');
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});

describe('dependency lines', () => {
  const resolved = parseKconfig('CONFIG_BPF_SYSCALL=y\nCONFIG_DEBUG_INFO=y\nCONFIG_PAHOLE_VERSION=0\n');

  it('annotates symbols with resolved values, leaving numbers and macros alone', () => {
    expect(annotateExpression('PAHOLE_VERSION >= 116 && !DEBUG_INFO_SPLIT', resolved)).toBe(
      'PAHOLE_VERSION [=0] >= 116 && !DEBUG_INFO_SPLIT [=n]',
    );
    expect(annotateExpression('X86_64 && $(success,$(CC) -v | grep -q gcc) && FOO="y"', resolved)).toBe(
      'X86_64 [=n] && $(success,$(CC) -v | grep -q gcc) && FOO [=n]="y"',
    );
  });

  it('lists depends on, enclosing conditions and the no-prompt note with file:line', () => {
    expect(dependsOnLines(index, 'CONFIG_DEBUG_INFO_BTF', resolved)).toEqual([
      'lib/Kconfig.debug:11: depends on !DEBUG_INFO_SPLIT [=n] && !DEBUG_INFO_REDUCED [=n]',
      'lib/Kconfig.debug:11: depends on BPF_SYSCALL [=y]',
      'lib/Kconfig.debug:11: depends on PAHOLE_VERSION [=0] >= 116',
      'lib/Kconfig.debug:1: inside menu "Compile-time checks" depends on DEBUG_KERNEL [=n]',
      'lib/Kconfig.debug:10: inside if DEBUG_INFO [=y]',
    ]);
    // The BPF menu has no condition of its own, so it adds no line.
    expect(dependsOnLines(index, 'CONFIG_BPF_JIT_DEFAULT_ON')).toEqual([
      'kernel/bpf/Kconfig:18: depends on HAVE_EBPF_JIT && BPF_JIT',
      "kernel/bpf/Kconfig:18: has no prompt: only set by a default or by another option's select",
    ]);
    expect(dependsOnLines(index, 'CONFIG_NOT_A_REAL_ENTRY')).toEqual([
      'no Kconfig entry for CONFIG_NOT_A_REAL_ENTRY in this kernel tree (renamed or removed?)',
    ]);
  });

  it('findDependsOn returns the raw expressions for one option', async () => {
    expect(await findDependsOn(tree, 'CONFIG_BPF_JIT')).toEqual(['BPF_SYSCALL', 'HAVE_EBPF_JIT']);
  });

  it('a dropped option is explained with the dependency that is off', () => {
    const mismatches = checkConfig(new Map([['CONFIG_DEBUG_INFO_BTF', 'y']]), resolved);
    const text = formatMismatches(explainMismatches(mismatches, index, resolved));
    expect(text).toContain('CONFIG_DEBUG_INFO_BTF  y       not set (dropped)');
    expect(text).toContain('      lib/Kconfig.debug:11: depends on PAHOLE_VERSION [=0] >= 116');
  });
});
