import { describe, expect, it } from 'vitest';
import {
  KconfigParseError,
  parseKconfig,
  parseKconfigEntries,
  serializeKconfig,
  valueKind,
} from '../../build/kernel/index.js';

describe('parseKconfig', () => {
  it('reads tristates, strings, numbers and "is not set", skipping comments', () => {
    const text = [
      '#',
      '# Automatically generated file; DO NOT EDIT.',
      '# Linux/x86 6.12.117 Kernel Configuration',
      '#',
      'CONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"',
      'CONFIG_BPF_SYSCALL=y',
      '',
      '# why: tc-bpf',
      'CONFIG_NET_CLS_BPF=m',
      '# CONFIG_BPF_JIT_ALWAYS_ON is not set',
      'CONFIG_LOG_BUF_SHIFT=18',
      'CONFIG_PHYSICAL_START=0x1000000',
      'CONFIG_STRING_WITH_QUOTE="a \\"b\\" c"',
      'CONFIG_EMPTY=""',
      'CONFIG_NEG=-1',
    ].join('\n');
    const m = parseKconfig(text);
    expect([...m.entries()]).toEqual([
      ['CONFIG_CC_VERSION_TEXT', '"x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"'],
      ['CONFIG_BPF_SYSCALL', 'y'],
      ['CONFIG_NET_CLS_BPF', 'm'],
      ['CONFIG_BPF_JIT_ALWAYS_ON', 'n'],
      ['CONFIG_LOG_BUF_SHIFT', '18'],
      ['CONFIG_PHYSICAL_START', '0x1000000'],
      ['CONFIG_STRING_WITH_QUOTE', '"a \\"b\\" c"'],
      ['CONFIG_EMPTY', '""'],
      ['CONFIG_NEG', '-1'],
    ]);
  });

  it('does not treat prose comments that mention an option as settings', () => {
    const m = parseKconfig('# CONFIG_FOO is deliberately not requested\n# CONFIG_BAR=y\n');
    expect(m.size).toBe(0);
  });

  it('keeps line numbers and duplicates in parseKconfigEntries; the map keeps the last', () => {
    const text = 'CONFIG_A=y\n# c\nCONFIG_A=m\r\n';
    expect(parseKconfigEntries(text)).toEqual([
      { option: 'CONFIG_A', value: 'y', line: 1 },
      { option: 'CONFIG_A', value: 'm', line: 3 },
    ]);
    expect(parseKconfig(text).get('CONFIG_A')).toBe('m');
  });

  it.each([
    ['CONFIG_A=yes', 'bad value'],
    ['CONFIG_A=y # trailing comment', 'bad value'],
    ['CONFIG_A="unterminated', 'bad value'],
    ['CONFIG_A=', 'bad value'],
    ['BPF_SYSCALL=y', 'not a Kconfig assignment'],
    ['CONFIG_A y', 'not a Kconfig assignment'],
  ])('rejects %j with source and line', (line, reason) => {
    const run = () => parseKconfigEntries(`CONFIG_OK=y\n${line}\n`, 'frag.config');
    expect(run).toThrow(KconfigParseError);
    expect(run).toThrow(`frag.config:2: ${reason}`);
  });

  it('classifies values', () => {
    expect(valueKind('y')).toBe('tristate');
    expect(valueKind('n')).toBe('tristate');
    expect(valueKind('"x"')).toBe('string');
    expect(valueKind('0x1F')).toBe('number');
    expect(valueKind('42')).toBe('number');
    expect(valueKind('Y')).toBeUndefined();
  });
});

describe('serializeKconfig', () => {
  it('writes n as "is not set" and round-trips', () => {
    const m = new Map([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'n'],
      ['CONFIG_C', '"s"'],
      ['CONFIG_D', '0x10'],
    ]);
    const text = serializeKconfig(m);
    expect(text).toBe('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="s"\nCONFIG_D=0x10\n');
    expect(parseKconfig(text)).toEqual(m);
  });

  it('writes nothing for an empty map', () => {
    expect(serializeKconfig(new Map())).toBe('');
  });
});
