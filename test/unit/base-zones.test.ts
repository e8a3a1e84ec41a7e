// xdpfire-base: the zone naming script (packages/xdpfire-base/files/xdpfire-setup)
// on the host, against a fake sysfs (dry run) and, as root, against real
// veths in a throwaway network namespace.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';

const SCRIPT = join(REPO_ROOT, 'packages/xdpfire-base/files/xdpfire-setup');
const isRoot = process.getuid?.() === 0;

interface Fake {
  dir: string;
  env: Record<string, string>;
}

/** A fake /sys with NICs [name, mac, pci slot or null for a virtual one]. */
function fakeSys(nics: [string, string, string | null][], cmdline = 'BOOT_IMAGE=/vmlinuz ro', zonesConf?: string): Fake {
  const dir = mkdtempSync(join(tmpdir(), 'xdpfire-zones-'));
  const sys = join(dir, 'sys');
  mkdirSync(join(sys, 'class/net/lo'), { recursive: true });
  writeFileSync(join(sys, 'class/net/lo/address'), '00:00:00:00:00:00\n');
  nics.forEach(([name, mac, slot], i) => {
    const d = join(sys, 'class/net', name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'address'), `${mac}\n`);
    const dev = slot ? join(sys, `devices/pci0000:00/0000:00:${slot}/virtio${i}`) : join(sys, `devices/virtual/net/${name}`);
    mkdirSync(dev, { recursive: true });
    if (slot) symlinkSync(dev, join(d, 'device'));
  });
  writeFileSync(join(dir, 'cmdline'), `${cmdline}\n`);
  mkdirSync(join(dir, 'etc'));
  if (zonesConf !== undefined) writeFileSync(join(dir, 'etc/zones.conf'), zonesConf);
  return {
    dir,
    env: {
      XDPFIRE_SYSFS: sys,
      XDPFIRE_CMDLINE: join(dir, 'cmdline'),
      XDPFIRE_ETC: join(dir, 'etc'),
      XDPFIRE_RUN: join(dir, 'run'),
      XDPFIRE_NETDIR: join(dir, 'network'),
      XDPFIRE_STATE: join(dir, 'state'),
      XDPFIRE_DRYRUN: '1',
      XDPFIRE_WAIT: '1',
    },
  };
}

const setup = (f: Fake, ...args: string[]) => execa('sh', [SCRIPT, ...args], { env: { ...process.env, ...f.env }, reject: false });

async function plan(f: Fake): Promise<string[]> {
  const r = await setup(f, 'plan');
  expect(r.exitCode).toBe(0);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ').slice(0, 3).join(' '));
}

const A = '52:54:00:00:00:0a';
const B = '52:54:00:00:00:0b';
const C = '52:54:00:00:00:0c';

describe('xdpfire-setup zones', () => {
  it('falls back to PCI path order: first physical NIC green, second red; virtual ones never', async () => {
    // Listed out of order on purpose; the virtual one sorts first by name.
    const f = fakeSys([['enp0s10', C, '10.0'], ['enp0s3', B, '03.0'], ['aa-dummy', '02:00:00:00:00:01', null], ['enp0s2', A, '02.0']]);
    expect(await plan(f)).toEqual([`green enp0s2 ${A}`, `red enp0s3 ${B}`]);
  });

  it('takes the MACs from zones.conf, and the kernel command line over it (any case)', async () => {
    const nics: [string, string, string][] = [['enp0s2', A, '02.0'], ['enp0s3', B, '03.0'], ['enp0s4', C, '04.0']];
    expect(await plan(fakeSys(nics, 'ro', `# installer\nGREEN_MACADDR="${C.toUpperCase()}"\nRED_MACADDR=${A}\n`))).toEqual([`green enp0s4 ${C}`, `red enp0s2 ${A}`]);
    expect(await plan(fakeSys(nics, `ro xdpfire.green=${B} xdpfire.red=${C}`, `GREEN_MACADDR=${C}\nRED_MACADDR=${A}\n`))).toEqual([`green enp0s3 ${B}`, `red enp0s4 ${C}`]);
    // Only red given: green falls back to the first NIC that is not red's.
    expect(await plan(fakeSys(nics, `ro xdpfire.red=${A}`))).toEqual([`green enp0s3 ${B}`, `red enp0s2 ${A}`]);
  });

  it('leaves a zone out when its MAC is absent or malformed, and says so', async () => {
    const f = fakeSys([['enp0s2', A, '02.0'], ['enp0s3', B, '03.0']], `xdpfire.green=52:54:00:99:99:99 xdpfire.red=not-a-mac`);
    const r = await setup(f, 'plan');
    expect(r.stderr).toMatch(/green: no NIC has the MAC 52:54:00:99:99:99; green is not configured/);
    expect(r.stderr).toMatch(/ignoring red MAC 'not-a-mac' from cmdline/);
    // red falls back to the first NIC (green's wanted MAC is reserved but absent).
    expect(r.stdout.trim().split('\n').map((l) => l.split(' ')[0])).toEqual(['red']);
  });

  it('one NIC: only green', async () => {
    expect(await plan(fakeSys([['ens3', A, '03.0']]))).toEqual([`green ens3 ${A}`]);
  });

  it('writes a .link file per zone and renames in two steps (so that zones can swap)', async () => {
    const f = fakeSys([['red0', A, '02.0'], ['green0', B, '03.0']]);
    const r = await setup(f, 'zones');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'ip link set dev red0 down', 'ip link set dev red0 name xfz-green',
      'ip link set dev green0 down', 'ip link set dev green0 name xfz-red',
      'ip link set dev xfz-green name green0', 'ip link set dev xfz-red name red0',
    ]);
    expect(readdirSync(join(f.dir, 'network')).sort()).toEqual(['10-xdpfire-green0.link', '10-xdpfire-red0.link']);
    const link = readFileSync(join(f.dir, 'network/10-xdpfire-green0.link'), 'utf8');
    expect(link).toMatch(new RegExp(`^\\[Match\\]\\nMACAddress=${A}\\n\\n\\[Link\\]\\nName=green0$`, 'm'));
    // Already named: nothing to do.
    const g = fakeSys([['green0', A, '02.0'], ['red0', B, '03.0']]);
    expect((await setup(g, 'zones')).stdout).toBe('');
  });

  it.skipIf(!isRoot)('renames real links in a network namespace, keeping their MACs, and swaps them back', async () => {
    const ns = `xf-${process.pid}-zt`;
    const f = fakeSys([], 'ro', `GREEN_MACADDR=${B}\nRED_MACADDR=${A}\n`);
    const inNs = (cmd: string, args: string[], env: Record<string, string> = {}) => execa('ip', ['netns', 'exec', ns, cmd, ...args], { env: { ...process.env, ...env }, reject: false });
    await execa('ip', ['netns', 'add', ns]);
    try {
      await execa('ip', ['-n', ns, 'link', 'add', 'eth7', 'address', A, 'type', 'veth', 'peer', 'name', 'eth8', 'address', B]);
      await execa('ip', ['-n', ns, 'link', 'set', 'eth7', 'up']);
      // The namespace's own /sys (ip netns exec mounts it), real ip commands.
      const env = { ...f.env, XDPFIRE_SYSFS: '/sys', XDPFIRE_DRYRUN: '0' };
      const r = await inNs('sh', [SCRIPT, 'zones'], env);
      expect(r.exitCode, r.stderr).toBe(0);
      const links = async () => (await inNs('ip', ['-br', 'link'])).stdout;
      expect(await links()).toMatch(new RegExp(`^green0@red0\\s+\\S+\\s+${B}`, 'm'));
      expect(await links()).toMatch(new RegExp(`^red0@green0\\s+\\S+\\s+${A}`, 'm'));
      // The other way round (a swap through the temporary names).
      writeFileSync(join(f.dir, 'etc/zones.conf'), `GREEN_MACADDR=${A}\nRED_MACADDR=${B}\n`);
      expect((await inNs('sh', [SCRIPT, 'zones'], env)).exitCode).toBe(0);
      expect(await links()).toMatch(new RegExp(`^green0@red0\\s+\\S+\\s+${A}`, 'm'));
      // A NIC left with a temporary name (an interrupted run) is found by its MAC.
      await inNs('ip', ['link', 'set', 'dev', 'red0', 'name', 'xfz-red']);
      const again = await inNs('sh', [SCRIPT, 'zones'], env);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stderr).toMatch(new RegExp(`red: .* -> red0 \\(${B}`));
      expect((await inNs('sh', [SCRIPT, 'show'], env)).stdout.split('\n').map((l) => l.split(' ').slice(0, 3).join(' ')).sort()).toEqual([`green green0 ${A}`, `red red0 ${B}`]);
    } finally {
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
  });

  it('first boot writes zones.conf from the mapping and a missing settings.conf, and logs the zones', async () => {
    const f = fakeSys([['green0', A, '02.0'], ['red0', B, '03.0']]);
    const defaults = join(f.dir, 'defaults');
    mkdirSync(defaults);
    writeFileSync(join(defaults, 'settings.conf'), 'GREEN_ADDRESS=10.1.2.1/24\n');
    const r = await execa('sh', [SCRIPT, 'firstboot'], { env: { ...process.env, ...f.env, XDPFIRE_DEFAULTS: defaults } });
    expect(readFileSync(join(f.dir, 'etc/zones.conf'), 'utf8')).toMatch(new RegExp(`^GREEN_MACADDR=${A}\\nRED_MACADDR=${B}\\n$`, 'm'));
    expect(readFileSync(join(f.dir, 'etc/settings.conf'), 'utf8')).toBe('GREEN_ADDRESS=10.1.2.1/24\n');
    expect(r.stderr).toMatch(new RegExp(`zone green is green0, MAC ${A}, device pci0000:00/0000:00:02.0/virtio0`));
    expect(readFileSync(join(f.dir, 'state/firstboot.done'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT/);
    // An existing zones.conf is the installer's: left alone.
    writeFileSync(join(f.dir, 'etc/zones.conf'), 'GREEN_MACADDR=52:54:00:00:00:99\n');
    await execa('sh', [SCRIPT, 'firstboot'], { env: { ...process.env, ...f.env, XDPFIRE_DEFAULTS: defaults } });
    expect(readFileSync(join(f.dir, 'etc/zones.conf'), 'utf8')).toBe('GREEN_MACADDR=52:54:00:00:00:99\n');
  });
});
