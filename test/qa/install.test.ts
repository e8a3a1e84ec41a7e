// QA, the full run: install the ISO unattended to a blank qcow2 disk in
// QEMU (TCG) with the example answer file from the repo, then boot the disk
// alone under SeaBIOS and under OVMF in the network lab and check the
// firewall works, and (SeaBIOS boot) that xdp-sni holds against the escape
// routes of real browsers (escape-routes.ts). Also: an invalid answer file
// leaves the disk untouched.
// Serial logs: test-artifacts/qa/install-*.log.
import { execa } from 'execa';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';
import { readyLine } from '../../build/config/ready.js';
import { hashFileSync } from '../../build/lib/hash.js';
import { bootFirewallLab, type FirewallLab } from '../../build/qemu/firewall-lab.js';
import { answersVolume, blankDisk, runInstall } from '../../build/qemu/install.js';
import { NetLab } from '../../build/qemu/net.js';
import { liveCount } from '../../build/qemu/processes.js';
import { verifyPassword } from '../../lib/password.js';
import { ARTIFACTS, buildIso, qaConfig } from './iso.js';
import { settledConnectionLines } from './box.js';
import { escapeRoutes } from './escape-routes.js';

const config = qaConfig();
const EXAMPLE = join(REPO_ROOT, 'installer', 'example-answers.json');
const answers = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
const work = join(ARTIFACTS, 'work', 'install');
const disk = join(work, 'disk.qcow2');
let iso = '';
const timings: Record<string, number> = {};

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  iso = (await buildIso(config)).path;
}, 3_600_000);

afterAll(() => {
  console.log(`installer QA timings (s): ${JSON.stringify(timings)}`);
  expect(liveCount()).toBe(0);
});

describe('unattended install in QEMU', () => {
  it('an invalid answer file stops the install before any disk is touched', async () => {
    const d = await blankDisk(join(work, 'untouched.qcow2'));
    const before = hashFileSync(d);
    const bad = { ...answers, adminPassword: 'short', green: { ...answers.green, mac: 'not-a-mac' }, surprise: true };
    const dir = join(work, 'bad');
    mkdirSync(dir, { recursive: true });
    const run = await runInstall({
      iso, disk: d, answersIso: await answersVolume(dir, JSON.stringify(bad)), workDir: join(dir, 'vm'),
      serialLog: join(ARTIFACTS, 'install-invalid-serial.log'), memoryMiB: config.qa.memoryMiB, timeoutMs: config.qa.bootTimeoutSeconds * 1000,
    });
    timings.invalid = run.seconds;
    expect(run.result).toBe('invalid answer file');
    const log = readFileSync(join(ARTIFACTS, 'install-invalid-serial.log'), 'utf8');
    // every problem, with its JSON path, on the console
    expect(log).toMatch(/\(top level\): must NOT have additional properties \("surprise"\)/);
    expect(log).toMatch(/\/green\/mac: must match pattern/);
    expect(log).toContain('no disk was touched');
    expect(hashFileSync(d)).toBe(before);
  }, 3_600_000);

  it('installs from the example answer file and reboots', async () => {
    await blankDisk(disk);
    const lab = await NetLab.create({ workDir: join(work, 'net-install'), greenMac: answers.green.mac, redMac: answers.red.mac, log: (l) => console.log(l) });
    try {
      const run = await runInstall({
        iso, disk, answersIso: await answersVolume(work, readFileSync(EXAMPLE, 'utf8')), workDir: join(work, 'vm-install'),
        serialLog: join(ARTIFACTS, 'install-serial.log'), memoryMiB: config.qa.memoryMiB, timeoutMs: 2 * 3_600_000,
        extraArgs: lab.qemuArgs(), netns: lab.ns.lab,
      });
      timings.install = run.seconds;
      expect(run.result).toBe('done');
      expect(run.exited).toBe(true); // the installer rebooted (QEMU runs with -no-reboot)
      expect(readFileSync(join(ARTIFACTS, 'install-serial.log'), 'utf8')).toMatch(/\[100%\]/);
    } finally {
      await lab.cleanup();
    }
  }, 3 * 3_600_000);
});

for (const firmware of ['bios', 'uefi'] as const) {
  describe(`the installed disk booted alone with ${firmware === 'bios' ? 'SeaBIOS' : 'OVMF (UEFI)'}`, () => {
    let fw: FirewallLab | undefined;
    let t0 = 0;
    beforeAll(async () => {
      t0 = Date.now();
      fw = await bootFirewallLab({
        disks: [disk],
        login: { user: 'root', password: answers.adminPassword },
        firmware,
        memoryMiB: config.qa.memoryMiB,
        timeoutMs: config.qa.bootTimeoutSeconds * 1000,
        workDir: join(work, `boot-${firmware}`),
        serialLog: join(ARTIFACTS, `install-boot-${firmware}-serial.log`),
        greenMac: answers.green.mac,
        redMac: answers.red.mac,
        log: (l) => console.log(l),
      });
      timings[`boot-${firmware}`] = fw.readySeconds;
    }, 3_600_000);
    afterAll(async () => {
      if (fw) {
        await fw.copyFromGuest('/var/log/messages', join(ARTIFACTS, `install-boot-${firmware}-messages.log`)).catch(() => undefined);
        await fw.stop();
      }
      timings[`scenario-${firmware}`] = (Date.now() - t0) / 1000;
    }, 300_000);

    const g = () => fw!;

    it('is the installed system, not live-boot: ext4 root by UUID, no live-boot package', async () => {
      expect(g().vm.serialText()).toContain(readyLine(config, 'installed'));
      expect((await g().con.run('findmnt -n -o FSTYPE /')).output.trim()).toBe('ext4');
      const cmdline = (await g().con.run('cat /proc/cmdline')).output;
      expect(cmdline).toMatch(/root=UUID=/);
      expect(cmdline).not.toMatch(/boot=live/);
      expect((await g().con.run('test -e /run/live')).status).not.toBe(0);
      expect((await g().con.run('dpkg-query -W -f=\'${Status}\' live-boot 2>/dev/null | grep -q "install ok"')).status).not.toBe(0);
      expect((await g().con.run(firmware === 'uefi' ? 'test -d /sys/firmware/efi' : '! test -d /sys/firmware/efi')).status).toBe(0);
    });

    it('has the answer file\'s host name, admin password and a machine-id of its own', async () => {
      expect((await g().con.run('hostname')).output.trim()).toBe(answers.hostname);
      expect((await g().con.run('cat /etc/machine-id')).output.trim()).toMatch(/^[0-9a-f]{32}$/);
      // root's password: the serial login above used it. The web UI's hash:
      const dest = join(work, `webui-${firmware}.passwd`);
      await g().copyFromGuest('/etc/xdpfire/webui.passwd', dest);
      expect(verifyPassword(answers.adminPassword, readFileSync(dest, 'utf8'))).toBe(true);
      expect((await g().con.run('grep -c "install complete" /var/log/xdpfire-install.log')).output.trim()).toBe('1');
    });

    it('names green0 and red0 from their MACs, with native XDP on green0', async () => {
      expect((await g().con.run('ip -color=never -o link show dev green0')).output).toContain(`link/ether ${answers.green.mac}`);
      expect((await g().con.run('ip -color=never -o link show dev red0')).output).toContain(`link/ether ${answers.red.mac}`);
      const link = (await g().con.run('ip -color=never link show dev green0')).output;
      expect(link).toMatch(/ xdp /);
      expect(link).not.toMatch(/xdpgeneric/);
    });

    it('the client gets DHCP; the allowed name works and the blocked one is blocked, and both are logged', async () => {
      const { allowed, blocked } = g().lab.names;
      const lease = await g().lab.clientLease(120_000);
      expect(lease.router).toBe(answers.green.address.split('/')[0]);
      expect((await g().con.run(`xdp-sni add ${blocked}`)).status).toBe(0);
      // source ports of their own (the disk keeps /var/log/messages from boot to boot)
      const okPort = firmware === 'bios' ? 41001 : 42001, badPort = okPort + 1;
      const ok = await g().lab.curlFromClient(allowed, ['--local-port', String(okPort)]);
      expect(ok.exitCode, ok.stderr).toBe(0);
      const bad = await g().lab.curlFromClient(blocked, ['--local-port', String(badPort)], 20);
      expect(bad.exitCode).not.toBe(0);
      expect(g().lab.serverEvents().some((e) => e.sni === blocked)).toBe(false);
      if (firmware === 'bios') {
        const chromium = async (name: string) => execa('ip', ['netns', 'exec', g().lab.ns.client, '/usr/bin/chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--ignore-certificate-errors', `--user-data-dir=${join(work, `chromium-${name}`)}`, '--timeout=20000', '--dump-dom', `https://${name}/`], { reject: false, timeout: 120_000 });
        expect(String((await chromium(allowed)).stdout)).toContain(`hello ${allowed}`);
        expect(String((await chromium(blocked)).stdout)).not.toContain(`hello ${blocked}`);
      }
      // each connection's line: in /var/log/messages once, in the journal once
      const [okLines, badLines] = await settledConnectionLines(g(), lease.ip, [okPort, badPort]);
      console.log(`${firmware}: lines of the allowed connection ${JSON.stringify(okLines)}, of the blocked one ${JSON.stringify(badLines)}`);
      expect(badLines.messages).toHaveLength(1);
      expect(badLines.messages[0]).toContain(`sni=${blocked} verdict=block `);
      expect(badLines.journal).toHaveLength(1);
      expect(okLines.messages).toHaveLength(1);
      expect(okLines.messages[0]).toContain(`sni=${allowed} verdict=pass `);
      expect(okLines.journal).toHaveLength(1);
    });

    if (firmware === 'bios') {
      it('policies on the box: a group with a schedule window around now blocks a name for one client address and not for another', async () => {
        const { allowed } = g().lab.names;
        const lease = g().lab.lease!;
        // a second address on the client's link, outside the DHCP range
        const kid = lease.ip.replace(/\.\d+$/, '.250');
        expect(kid).not.toBe(lease.ip);
        const add = await execa('ip', ['-n', g().lab.ns.client, 'addr', 'add', `${kid}/${lease.mask}`, 'dev', 'c0'], { reject: false });
        expect(add.exitCode, String(add.stderr)).toBe(0);
        // the window: from two minutes ago to an hour from now, in the box's local time
        const clock = (await g().con.run(`date -d '-2 min' '+%a %H:%M'; date -d '+60 min' +%H:%M`)).output.trim().split(/\s+/);
        const [day, from, to] = [clock[0].toLowerCase(), clock[1], clock[2]];
        for (const cmd of [
          'xdp-sni category add social',
          `xdp-sni add --category social ${allowed}`,
          'xdp-sni group add kids',
          `xdp-sni client add kids ${kid}`,
          `xdp-sni schedule add kids ${day} ${from}-${to} block social`,
        ])
          expect((await g().con.run(cmd)).status, cmd).toBe(0);
        expect((await g().con.run('xdp-sni schedule list')).output).toMatch(/kids .* block social\topen/);
        // (the commands above ran in a shell, not through the daemon's socket:
        // the daemon sees the new policy file and names the events with it)
        const ok = await g().lab.curlFromClient(allowed, ['--interface', lease.ip]);
        expect(ok.exitCode, ok.stderr).toBe(0);
        const bad = await g().lab.curlFromClient(allowed, ['--interface', kid], 20);
        expect(bad.exitCode).not.toBe(0);
        // the event history has both, each once, with the group
        const deadline = Date.now() + 60_000;
        let ev: string[][] = [];
        while (Date.now() < deadline) {
          ev = (await g().con.run(`xdp-sni history events --name ${allowed}`)).output.replace(/\r/g, '').trim().split('\n').map((l) => l.split('\t'));
          if (ev.some((r) => r[2] === kid)) break;
          await new Promise((r) => setTimeout(r, 2000));
        }
        const mine = ev.filter((r) => r[2] === kid || r[2] === lease.ip).filter((r) => r[4] === 'social');
        expect(mine.filter((r) => r[2] === kid).map((r) => [r[3], r[5]])).toEqual([['kids', 'block']]);
        expect(mine.filter((r) => r[2] === lease.ip).map((r) => [r[3], r[5]])).toEqual([['default', 'pass']]);
      });

      escapeRoutes(g, work);
    } else {
      it('after a reboot (this is the second boot of the disk): the policy and the first boot\'s event history are still there', async () => {
        const { allowed } = g().lab.names;
        // the group's own policy (xdp-sni-apply puts the built-in categories encrypted-dns and
        // ech-public into every group at each start), and its window (which blocks social while open)
        expect((await g().con.run('xdp-sni group list')).output.replace(/\r/g, '')).toMatch(/^kids\tmode=blocklist\tblock=blocklist,encrypted-dns,ech-public\tallow=-\tclients=1$/m);
        expect((await g().con.run('xdp-sni schedule list')).output.replace(/\r/g, '')).toMatch(/^1\tkids \w+ \d\d:\d\d-\d\d:\d\d block social\t(open|closed)$/m);
        const ev = (await g().con.run(`xdp-sni history events --name ${allowed} --group kids`)).output.replace(/\r/g, '').trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
        expect(ev.map((r) => r[5])).toEqual(['block']);
        expect(Number((await g().con.run('xdp-sni history info')).output.replace(/\r/g, '').trim().split('\n')[1].split('\t')[0])).toBeGreaterThan(1);
      });
    }
  });
}
