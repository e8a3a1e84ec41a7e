// The installer's logic that needs no disk: answer files (schema and the
// rules beyond it), the partition plan, settings edits, the GRUB menu, the
// kernel command line carried over, lsblk parsing and the dialog flow.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidFileError } from '../../lib/json-file.js';
import { parseAnswers, passwordProblem, type ResolvedAnswers } from '../../installer/src/answers.js';
import { parseLsblk } from '../../installer/src/hardware.js';
import { grubConfig, installedCmdline } from '../../installer/src/install.js';
import { askAnswers, type Ui } from '../../installer/src/interactive.js';
import { diskProblem, GiB, LAYOUT, partitionPath, sfdiskScript } from '../../installer/src/layout.js';
import { setKeys } from '../../lib/settings.js';

const example = readFileSync(join(process.cwd(), 'installer', 'example-answers.json'), 'utf8');
const withChange = (f: (a: Record<string, any>) => void) => {
  const a = JSON.parse(example);
  f(a);
  return JSON.stringify(a);
};
const problems = (text: string): string[] => {
  try {
    parseAnswers(text, 'answers.json');
  } catch (e) {
    if (e instanceof InvalidFileError) return e.problems;
    throw e;
  }
  return [];
};

describe('answer file', () => {
  it('the example in the repo is valid and gets its defaults', () => {
    const a = parseAnswers(example, 'example');
    expect(a.disk).toBe('/dev/vda');
    expect(a.xdpSni.mode).toBe('block');
    expect(a.reboot).toBe(true);
    const min = parseAnswers(withChange((x) => { delete x.keyboard; delete x.timezone; delete x.xdpSni; delete x.reboot; delete x.wipeExistingPartitions; }), 'min');
    expect([min.keyboard, min.timezone, min.xdpSni.mode, min.reboot, min.wipeExistingPartitions]).toEqual(['us', 'UTC', 'block', true, false]);
  });

  it('reports every problem with its JSON path', () => {
    const p = problems(withChange((x) => {
      x.disk = 'sda';
      x.hostname = 'Bad_Host';
      x.green.mac = 'zz:00';
      x.green.address = '192.168.1.1/33';
      x.red = { mac: '52:54:00:f1:00:02', type: 'static' };
      x.colour = 'red';
    }));
    expect(p).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\(top level\): .*"colour"/),
      expect.stringMatching(/^\/disk: /),
      expect.stringMatching(/^\/hostname: /),
      expect.stringMatching(/^\/green\/mac: /),
      expect.stringMatching(/^\/green\/address: /),
      expect.stringMatching(/^\/red: must have required property 'address'/),
    ]));
  });

  it('not JSON at all is a clear error', () => {
    expect(problems('{"disk": ')[0]).toMatch(/not valid JSON/);
  });

  it('checks what a schema cannot: password strength, MACs, networks, the time zone', () => {
    expect(problems(withChange((x) => (x.adminPassword = 'short1A')))).toEqual([expect.stringMatching(/^\/adminPassword: too short/)]);
    expect(problems(withChange((x) => (x.adminPassword = 'alllowercaseletters')))).toEqual([]); // 16+ of any kind
    expect(problems(withChange((x) => (x.adminPassword = 'lowercase12')))).toEqual([expect.stringMatching(/^\/adminPassword: needs characters from 3/)]);
    expect(problems(withChange((x) => (x.red.mac = x.green.mac.toUpperCase())))).toEqual(['/red/mac: must differ from /green/mac']);
    expect(problems(withChange((x) => (x.green.address = '192.168.1.0/24')))[0]).toMatch(/^\/green\/address: .*network or broadcast/);
    expect(problems(withChange((x) => (x.red = { mac: '52:54:00:f1:00:02', type: 'static', address: '192.168.1.7/16', gateway: '10.0.0.1' })))).toEqual([
      expect.stringMatching(/^\/red\/address: .*overlaps green/),
      expect.stringMatching(/^\/red\/gateway: 10\.0\.0\.1 is not in red's network/),
    ]);
    expect(problems(withChange((x) => (x.red.gateway = '10.0.0.1')))).toEqual(['/red: address, gateway and dns are only for "type": "static"']);
    expect(problems(withChange((x) => (x.timezone = 'Mars/Olympus_Mons')))[0]).toMatch(/^\/timezone: no zone/);
    const ok = parseAnswers(withChange((x) => (x.red = { mac: '52:54:00:f1:00:02', type: 'static', address: '203.0.113.10/24', gateway: '203.0.113.1', dns: ['9.9.9.9'] })), 'static');
    expect(ok.red).toEqual({ mac: '52:54:00:f1:00:02', type: 'static', address: '203.0.113.10/24', gateway: '203.0.113.1', dns: ['9.9.9.9'] });
  });

  it('password rules', () => {
    expect(passwordProblem('Aa1!Aa1!Aa')).toBeUndefined();
    expect(passwordProblem('Aa1!')).toMatch(/too short/);
  });
});

describe('disk layout', () => {
  it('is GPT with BIOS boot, ESP and root, 1 MiB aligned', () => {
    expect(LAYOUT.map((p) => p.name)).toEqual(['bios-boot', 'esp', 'root']);
    expect(sfdiskScript()).toBe([
      'label: gpt', 'unit: sectors', '',
      'size=2048, type=21686148-6449-6E6F-744E-656564454649, name="bios-boot"',
      'size=524288, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"',
      'type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"', '',
    ].join('\n'));
  });

  it('names partitions the way the kernel does', () => {
    expect(partitionPath('/dev/vda', 3)).toBe('/dev/vda3');
    expect(partitionPath('/dev/nvme0n1', 1)).toBe('/dev/nvme0n1p1');
    expect(partitionPath('/dev/loop7', 2)).toBe('/dev/loop7p2');
  });

  it('refuses the live medium, small or read-only disks, and partitions unless wiping is allowed', () => {
    const d = { bytes: 8 * GiB, readOnly: false, hasPartitions: false, isLiveMedium: false };
    expect(diskProblem(d, false)).toBeUndefined();
    expect(diskProblem({ ...d, hasPartitions: true }, false)).toMatch(/already holds partitions/);
    expect(diskProblem({ ...d, hasPartitions: true }, true)).toBeUndefined();
    expect(diskProblem({ ...d, bytes: 2 * GiB }, true)).toMatch(/too small/);
    expect(diskProblem({ ...d, readOnly: true }, true)).toMatch(/read-only/);
    expect(diskProblem({ ...d, isLiveMedium: true }, true)).toMatch(/live system/);
  });

  it('reads lsblk', () => {
    const disks = parseLsblk(JSON.stringify({ blockdevices: [
      { name: 'sr0', path: '/dev/sr0', size: 300000000, model: 'QEMU DVD-ROM', type: 'rom', ro: false, rm: true, mountpoints: ['/run/live/medium'] },
      { name: 'vda', path: '/dev/vda', size: 8589934592, model: null, type: 'disk', ro: false, rm: false, mountpoints: [null] },
      { name: 'vdb', path: '/dev/vdb', size: '10737418240', model: 'Disk ', type: 'disk', ro: '0', rm: '0', mountpoints: [null], children: [{ name: 'vdb1', path: '/dev/vdb1', size: 1, model: null, type: 'part', ro: false, rm: false, mountpoints: ['/mnt'] }] },
    ] }));
    expect(disks).toEqual([
      { path: '/dev/vda', bytes: 8589934592, model: 'unknown model', readOnly: false, removable: false, hasPartitions: false, inUse: false },
      { path: '/dev/vdb', bytes: 10737418240, model: 'Disk', readOnly: false, removable: false, hasPartitions: true, inUse: true },
    ]);
  });
});

describe('installed system files', () => {
  it('setKeys replaces keys in place, keeps comments, appends new ones', () => {
    expect(setKeys('# c\nGREEN_ADDRESS=192.168.1.1/24\nRED_TYPE=DHCP\n', { RED_TYPE: 'STATIC', RED_GATEWAY: '203.0.113.1' })).toBe('# c\nGREEN_ADDRESS=192.168.1.1/24\nRED_TYPE=STATIC\nRED_GATEWAY=203.0.113.1\n');
  });

  it('keeps consoles and extras from the live command line, not live-boot or installer words', () => {
    expect(installedCmdline('BOOT_IMAGE=/live/vmlinuz boot=live components console=tty0 console=ttyS0,115200n8 net.ifnames=0 xdpfire.install xdpfire.answers=/x.json\n'))
      .toEqual(['console=tty0', 'console=ttyS0,115200n8', 'net.ifnames=0']);
  });

  it('the GRUB menu finds the root by UUID and boots the installed kernel', () => {
    const cfg = grubConfig('1234-abcd', '6.12.1-amd64', ['console=ttyS0,115200n8'], 'fw');
    expect(cfg).toContain('search --no-floppy --fs-uuid --set=root 1234-abcd');
    expect(cfg).toContain('linux /boot/vmlinuz-6.12.1-amd64 root=UUID=1234-abcd ro console=ttyS0,115200n8');
    expect(cfg).toContain('initrd /boot/initrd.img-6.12.1-amd64');
    expect(cfg).not.toMatch(/boot=live/);
  });
});

describe('interactive dialogs', () => {
  /** A Ui that answers from a script and records what was shown. */
  function scripted(replies: (string | boolean)[]) {
    const shown: string[] = [];
    const next = (what: string) => {
      shown.push(what);
      if (!replies.length) throw new Error(`no scripted reply for: ${what}`);
      return replies.shift()!;
    };
    const u: Ui = {
      message: async (t) => void shown.push(`msg: ${t}`),
      yesNo: async (t) => next(`yesno: ${t}`) as boolean,
      input: async (t) => next(`input: ${t}`) as string,
      password: async (t) => next(`password: ${t}`) as string,
      menu: async (t) => next(`menu: ${t}`) as string,
    };
    return { u, shown };
  }
  const machine = {
    disks: [
      { path: '/dev/sr0', bytes: 3e8, model: 'DVD', readOnly: true, removable: true, hasPartitions: false, inUse: true },
      { path: '/dev/sda', bytes: 64 * GiB, model: 'SSD 64', readOnly: false, removable: false, hasPartitions: true, inUse: false },
    ],
    nics: [
      { name: 'enp1s0', mac: '52:54:00:00:00:01', link: 'up', driver: 'igc' },
      { name: 'enp2s0', mac: '52:54:00:00:00:02', link: 'no carrier', driver: 'igc' },
    ],
  };

  it('asks everything, re-asks a weak or mistyped password, and confirms before wiping', async () => {
    const { u, shown } = scripted([
      '/dev/sda', 'de', 'UTC', 'gw',
      'weak', // too short: asked again
      'Str0ng-Passw0rd', 'Str0ng-Passw0rd-typo', // differ: asked again
      'Str0ng-Passw0rd', 'Str0ng-Passw0rd',
      '52:54:00:00:00:02', '52:54:00:00:00:01', '10.0.0.1/24', 'dhcp', 'monitor',
      true,
    ]);
    const a = (await askAnswers(u, machine)) as ResolvedAnswers;
    expect(a).toMatchObject({ disk: '/dev/sda', keyboard: 'de', hostname: 'gw', adminPassword: 'Str0ng-Passw0rd', green: { mac: '52:54:00:00:00:02', address: '10.0.0.1/24' }, red: { mac: '52:54:00:00:00:01', type: 'dhcp' }, xdpSni: { mode: 'monitor' }, wipeExistingPartitions: true });
    expect(shown.filter((s) => s.startsWith('msg: That password is too short'))).toHaveLength(1);
    expect(shown.filter((s) => s.startsWith('msg: The two passwords differ'))).toHaveLength(1);
    expect(shown.find((s) => s.startsWith('yesno:'))).toMatch(/ALL DATA ON \/dev\/sda \(64\.0 GiB, SSD 64\) WILL BE ERASED/);
    // the medium is never offered
    expect(shown.find((s) => s.startsWith('menu: Install to which disk'))).toBeDefined();
  });

  it('installs nothing when the wipe is not confirmed', async () => {
    const { u } = scripted(['/dev/sda', 'us', 'UTC', 'gw', 'Str0ng-Passw0rd', 'Str0ng-Passw0rd', '52:54:00:00:00:01', '52:54:00:00:00:02', '192.168.1.1/24', 'dhcp', 'block', false]);
    expect(await askAnswers(u, machine)).toBeUndefined();
  });

  it('stops when there are not two network cards', async () => {
    const { u, shown } = scripted([]);
    expect(await askAnswers(u, { ...machine, nics: machine.nics.slice(0, 1) })).toBeUndefined();
    expect(shown.join('\n')).toMatch(/needs two network cards/);
  });
});
