import { describe, expect, it } from 'vitest';
import {
  DROPPED,
  checkConfig,
  formatMismatches,
  mergeFragments,
  parseKconfigEntries,
  satisfies,
} from '../../build/kernel/index.js';

const req = (text: string) =>
  mergeFragments([{ name: 'test.config', entries: parseKconfigEntries(text, 'test.config') }]).requested;

describe('satisfies', () => {
  it.each([
    // wanted, got, ok
    ['y', 'y', true],
    ['y', 'm', false], // a module is not built in
    ['y', 'n', false],
    ['y', undefined, false],
    ['m', 'm', true],
    ['m', 'y', true], // built-in is a superset of a module
    ['m', 'n', false],
    ['m', undefined, false],
    ['n', undefined, true],
    ['n', 'n', true],
    ['n', 'm', false],
    ['n', 'y', false],
    ['"abc"', '"abc"', true],
    ['"abc"', '"abd"', false],
    ['"abc"', undefined, false],
    ['18', '18', true],
    ['18', '17', false],
    ['0x10', '16', true],
    ['0x10', '0x0010', true],
    ['-1', '-1', true],
    ['-1', '1', false],
  ] as const)('wanted %s, got %s -> %s', (wanted, got, ok) => {
    expect(satisfies(wanted, got)).toBe(ok);
  });
});

describe('checkConfig', () => {
  // A resolved config as `make olddefconfig` leaves it: DEBUG_INFO_BTF is gone
  // entirely because no DWARF version was chosen (its dependency chain failed).
  const resolved = [
    'CONFIG_BPF_SYSCALL=y',
    'CONFIG_BPF_JIT=y',
    '# CONFIG_DEBUG_INFO_NONE is not set',
    'CONFIG_IGC=m',
    'CONFIG_NET_CLS_BPF=y',
    'CONFIG_NF_TABLES=m',
    '# CONFIG_XDP_SOCKETS is not set',
    'CONFIG_SOUND=y',
    'CONFIG_CMDLINE="console=ttyS0"',
    'CONFIG_LOG_BUF_SHIFT=17',
  ].join('\n');

  it('returns nothing when every request is met', () => {
    const r = req(
      'CONFIG_BPF_SYSCALL=y\nCONFIG_NET_CLS_BPF=m\nCONFIG_NF_TABLES=m\n# CONFIG_XDP_SOCKETS is not set\n# CONFIG_ABSENT is not set\nCONFIG_CMDLINE="console=ttyS0"\nCONFIG_LOG_BUF_SHIFT=17\n',
    );
    expect(checkConfig(r, resolved)).toEqual([]);
  });

  it('reports an option olddefconfig dropped (requested y, absent) as not set (dropped)', () => {
    const m = checkConfig(req('CONFIG_BPF_SYSCALL=y\nCONFIG_DEBUG_INFO_BTF=y\n'), resolved);
    expect(m).toEqual([
      { option: 'CONFIG_DEBUG_INFO_BTF', wanted: 'y', got: undefined, fragment: 'test.config' },
    ]);
    expect(formatMismatches(m)).toContain(DROPPED);
  });

  it('reports =m where =y is required', () => {
    expect(checkConfig(req('CONFIG_IGC=y\n'), resolved)).toEqual([
      { option: 'CONFIG_IGC', wanted: 'y', got: 'm', fragment: 'test.config' },
    ]);
  });

  it('accepts y where m was requested', () => {
    expect(checkConfig(req('CONFIG_NET_CLS_BPF=m\n'), resolved)).toEqual([]);
  });

  it('"is not set" requested: absent or n passes, y or m fails', () => {
    const m = checkConfig(
      req('# CONFIG_SOUND is not set\n# CONFIG_IGC is not set\n# CONFIG_XDP_SOCKETS is not set\n# CONFIG_NOPE is not set\n'),
      resolved,
    );
    expect(m).toEqual([
      { option: 'CONFIG_SOUND', wanted: 'n', got: 'y', fragment: 'test.config' },
      { option: 'CONFIG_IGC', wanted: 'n', got: 'm', fragment: 'test.config' },
    ]);
  });

  it('y requested but explicitly "is not set" in the resolved config', () => {
    expect(checkConfig(req('CONFIG_XDP_SOCKETS=y\n'), resolved)).toEqual([
      { option: 'CONFIG_XDP_SOCKETS', wanted: 'y', got: 'n', fragment: 'test.config' },
    ]);
  });

  it('compares strings exactly and numbers by value', () => {
    const m = checkConfig(req('CONFIG_CMDLINE="console=tty0"\nCONFIG_LOG_BUF_SHIFT=0x11\nCONFIG_NR_CPUS=64\n'), resolved);
    expect(m).toEqual([
      { option: 'CONFIG_CMDLINE', wanted: '"console=tty0"', got: '"console=ttyS0"', fragment: 'test.config' },
      { option: 'CONFIG_NR_CPUS', wanted: '64', got: undefined, fragment: 'test.config' },
    ]);
  });

  it('accepts a plain option -> value map and a parsed resolved map', () => {
    const m = checkConfig(new Map([['CONFIG_A', 'y']]), new Map([['CONFIG_A', 'm']]));
    expect(m).toEqual([{ option: 'CONFIG_A', wanted: 'y', got: 'm' }]);
  });
});

describe('formatMismatches', () => {
  it('prints an aligned table with option, wanted, got and fragment', () => {
    const text = formatMismatches(
      [
        { option: 'CONFIG_DEBUG_INFO_BTF', wanted: 'y', got: undefined, fragment: 'bpf.config' },
        { option: 'CONFIG_IGC', wanted: 'y', got: 'm', fragment: 'nic.config' },
        { option: 'CONFIG_SOUND', wanted: 'n', got: 'y' },
      ],
      'config-6.12.117+deb13-amd64',
    );
    expect(text).toBe(
      [
        '3 requested kernel options are not satisfied by config-6.12.117+deb13-amd64:',
        '  OPTION                 WANTED          GOT                FRAGMENT',
        '  CONFIG_DEBUG_INFO_BTF  y               not set (dropped)  bpf.config',
        '  CONFIG_IGC             y               m                  nic.config',
        '  CONFIG_SOUND           n (is not set)  y                  -',
        'Rules: =y needs y; =m is satisfied by m or y; "is not set" needs n or absent.',
      ].join('\n'),
    );
  });

  it('prints hints (e.g. depends on lines) under their row', () => {
    const text = formatMismatches([
      { option: 'CONFIG_X', wanted: 'y', got: undefined, hints: ['depends on FOO && BAR'] },
    ]);
    expect(text.split('\n')).toEqual([
      '1 requested kernel option is not satisfied by the resolved config:',
      '  OPTION    WANTED  GOT                FRAGMENT',
      '  CONFIG_X  y       not set (dropped)  -',
      '      depends on FOO && BAR',
      'Rules: =y needs y; =m is satisfied by m or y; "is not set" needs n or absent.',
    ]);
  });

  it('says so when there is nothing to report', () => {
    expect(formatMismatches([])).toBe('All requested kernel options are satisfied by the resolved config.');
  });
});
