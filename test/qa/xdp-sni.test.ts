// QA scenario for the headline add-on: the live ISO in the QEMU network lab,
// xdp-sni on green0 in native mode on virtio-net, a real client (curl, and
// headless Chromium when it is installed) in the green namespace reaching
// TLS servers upstream through the box. Verdicts are read from the guest's
// /var/log/messages, not inferred from exit codes. Artefacts:
// test-artifacts/qa/xdp-sni-serial.log and xdp-sni-messages.log.
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirewallLab } from '../../build/qemu/firewall-lab.js';
import { liveCount } from '../../build/qemu/processes.js';
import { ARTIFACTS, bootLiveLab, buildIso, qaConfig } from './iso.js';

const config = qaConfig();
let fw: FirewallLab;
const t0 = Date.now();

/** Lines of the guest's /var/log/messages from xdp-sni that name `sni`. */
async function sniLines(sni: string): Promise<string[]> {
  const r = await fw.con.run(`grep -a 'xdp-sni' /var/log/messages | grep -a 'sni=${sni} ' || true`);
  return r.output.split('\n').filter((l) => l.includes(`sni=${sni} `));
}

async function waitForLine(sni: string, verdict: string, after: number): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const lines = await sniLines(sni);
    const hit = lines.slice(after).find((l) => l.includes(`verdict=${verdict}`));
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`no "sni=${sni} ... verdict=${verdict}" line in the guest's /var/log/messages`);
}

/** Wait until the unit is active again (a restart under TCG takes a while). */
async function waitActive(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await fw.con.run('systemctl is-active xdp-sni')).output.trim() === 'active') return;
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error('xdp-sni.service did not become active again');
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const built = await buildIso(config);
  fw = await bootLiveLab(config, built.path, 'xdp-sni');
  await fw.lab.clientLease(90_000);
  const attached = await fw.con.run(`journalctl -b -u xdp-sni --no-pager -o short-monotonic | grep -m1 -a 'attached to green0' || true`);
  console.log(`xdp-sni lab: ready after ${fw.readySeconds.toFixed(0)} s; attach: ${attached.output.trim()}`);
}, 3_600_000);

afterAll(async () => {
  if (fw) {
    await fw.copyFromGuest('/var/log/messages', join(ARTIFACTS, 'xdp-sni-messages.log')).catch((e) => console.log(`could not copy messages: ${String(e)}`));
    await fw.stop();
    console.log(`xdp-sni scenario: ${((Date.now() - t0) / 1000).toFixed(0)} s including the build`);
  }
  expect(liveCount()).toBe(0);
}, 300_000);

describe('xdp-sni on the live box', () => {
  it('runs in native XDP mode on green0 (not generic)', async () => {
    expect((await fw.con.run('systemctl is-active xdp-sni')).output.trim()).toBe('active');
    const link = (await fw.con.run('ip -color=never link show dev green0')).output;
    expect(link).toMatch(/ xdp /);
    expect(link).not.toMatch(/xdpgeneric/);
    expect((await fw.con.run('xdp-sni status')).output).toMatch(/green0/);
  });

  it('blocks a listed name fast with a reset, lets the other through, and logs both verdicts', async () => {
    const { allowed, blocked } = fw.lab.names;
    const seenBefore = (await sniLines(blocked)).length;
    expect((await fw.con.run(`xdp-sni add ${blocked}`)).status).toBe(0);
    const ok = await fw.lab.curlFromClient(allowed);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await fw.lab.curlFromClient(blocked, [], 20);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/reset|SSL_ERROR_SYSCALL|Connection reset/i);
    expect(bad.seconds).toBeLessThan(5);
    // The upstream server never saw the blocked name's hello.
    expect(fw.lab.serverEvents().some((e) => e.sni === blocked)).toBe(false);
    expect(await waitForLine(blocked, 'block', seenBefore)).toMatch(/src=192\.168\.1\.\d+:\d+/);
    expect(await waitForLine(allowed, 'pass', 0)).toMatch(/verdict=pass/);
  });

  it('headless Chromium from the client namespace: allowed loads, blocked fails', async () => {
    if (!existsSync('/usr/bin/chromium')) throw new Error('chromium is not installed (host-tools.json lists it for the tests)');
    const { allowed, blocked } = fw.lab.names;
    const dom = async (name: string) => {
      const profile = mkdtempSync(join(tmpdir(), 'xf-chromium-'));
      try {
        return await execa('ip', ['netns', 'exec', fw.lab.ns.client, '/usr/bin/chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors', `--user-data-dir=${profile}`,
          '--timeout=20000', '--dump-dom', `https://${name}/`], { reject: false, timeout: 90_000 });
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    };
    const good = await dom(allowed);
    expect(good.stdout).toContain(`hello ${allowed}`);
    const bad = await dom(blocked);
    expect(bad.stdout).not.toContain(`hello ${blocked}`);
  });

  it('restarting the service during traffic lets no blocked name through', async () => {
    const { blocked } = fw.lab.names;
    await fw.con.run('systemctl restart --no-block xdp-sni');
    for (let i = 0; i < 5; i++) {
      const r = await fw.lab.curlFromClient(blocked, [], 10);
      expect(r.exitCode).not.toBe(0);
    }
    expect(fw.lab.serverEvents().some((e) => e.sni === blocked)).toBe(false);
    await waitActive();
    // And still blocked once the new daemon has adopted the pinned state.
    expect((await fw.lab.curlFromClient(blocked, [], 10)).exitCode).not.toBe(0);
    expect(fw.lab.serverEvents().some((e) => e.sni === blocked)).toBe(false);
  });

  it('monitor mode logs a listed name without blocking it', async () => {
    const { blocked } = fw.lab.names;
    const before = (await sniLines(blocked)).length;
    await waitActive();
    expect((await fw.con.run('sed -i s/^MODE=.*/MODE=monitor/ /etc/xdpfire/xdp-sni.conf && systemctl reload xdp-sni')).status).toBe(0);
    expect((await fw.con.run('xdp-sni status')).output).toMatch(/^mode +monitor$/m);
    const r = await fw.lab.curlFromClient(blocked);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`hello ${blocked}`);
    // A listed name in monitor mode is logged with the verdict "monitor".
    expect(await waitForLine(blocked, 'monitor', before)).toMatch(/verdict=monitor/);
  });

  it('apt remove and apt install xdp-sni work offline from the ISO repository', async () => {
    const { blocked } = fw.lab.names;
    await fw.con.run('sed -i s/^MODE=.*/MODE=block/ /etc/xdpfire/xdp-sni.conf && systemctl reload xdp-sni');
    await waitActive();
    expect((await fw.lab.curlFromClient(blocked, [], 10)).exitCode).not.toBe(0);

    const rm = await fw.con.run('DEBIAN_FRONTEND=noninteractive apt-get remove -y xdp-sni 2>&1', 300_000);
    expect(rm.status, rm.output).toBe(0);
    // removed: detached from green0, pins gone, the listed name passes
    expect((await fw.con.run('ip -color=never link show dev green0')).output).not.toMatch(/ xdp/);
    expect((await fw.con.run('test -e /sys/fs/bpf/xdp-sni')).status).not.toBe(0);
    const open = await fw.lab.curlFromClient(blocked);
    expect(open.exitCode, open.stderr).toBe(0);

    // The box has no route to Debian's archive: only the ISO's repository
    // (file:/run/live/medium/repo in sources.list) can answer.
    const upd = await fw.con.run('apt-get update 2>&1; apt-cache policy xdp-sni', 300_000);
    expect(upd.output).toMatch(/file:\/run\/live\/medium\/repo/);
    const inst = await fw.con.run('DEBIAN_FRONTEND=noninteractive apt-get install -y xdp-sni 2>&1', 300_000);
    expect(inst.status, inst.output).toBe(0);
    await waitActive();
    const link = (await fw.con.run('ip -color=never link show dev green0')).output;
    expect(link).toMatch(/ xdp /);
    // the blocklist came back from the state file (remove is not purge)
    expect((await fw.con.run('xdp-sni list')).output).toContain(blocked);
    const r = await fw.lab.curlFromClient(blocked, [], 10);
    expect(r.exitCode).not.toBe(0);
  });
});
