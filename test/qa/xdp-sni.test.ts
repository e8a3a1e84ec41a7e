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
import { connectionLines, dnsSettled, settledConnectionLines, waitActive } from './box.js';

const config = qaConfig();
let fw: FirewallLab;
const t0 = Date.now();

// Every connection the scenario makes has a source port of its own
// (curl --local-port), so that its event line can be found and counted.
let nextPort = 40001;
function newPort(): number {
  return nextPort++;
}
const fromPort = (port: number) => ['--local-port', String(port)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The xdp-sni lines of the connection from source port `port`: in the guest's /var/log/messages and in its journal. */
const connLines = (port: number) => connectionLines(fw, fw.lab.lease!.ip, port);

/** Every connection's counts, printed at the end (the report's before/after figures). */
const counted: { port: number; sni: string; messages: number; journal: number }[] = [];

/**
 * Wait for the event of the connection from `port` in /var/log/messages,
 * then check that it is there exactly once, and in the journal exactly once,
 * with the verdict. Soft: every connection's count is checked and printed.
 */
async function loggedOnce(port: number, sni: string, verdict: string): Promise<string> {
  // a second copy would leave the daemon with the first: settled gives it time to arrive
  const [l] = await settledConnectionLines(fw, fw.lab.lease!.ip, [port]);
  counted.push({ port, sni, messages: l.messages.length, journal: l.journal.length });
  // the lines themselves in the message: their timestamps and daemon PIDs tell who wrote a second copy
  expect.soft(l.messages, `sni=${sni} from port ${port}: lines in /var/log/messages: ${JSON.stringify(l.messages)}`).toHaveLength(1);
  expect.soft(l.journal, `sni=${sni} from port ${port}: entries in the journal: ${JSON.stringify(l.journal)}`).toHaveLength(1);
  expect(l.messages[0] ?? '', `no "sni=${sni} ... src=...:${port}" line in the guest's /var/log/messages`).toContain(`sni=${sni} verdict=${verdict} `);
  return l.messages[0];
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
    expect((await fw.con.run(`xdp-sni add ${blocked}`)).status).toBe(0);
    const okPort = newPort(), badPort = newPort();
    const ok = await fw.lab.curlFromClient(allowed, fromPort(okPort));
    expect(ok.exitCode, ok.stderr).toBe(0);
    const bad = await fw.lab.curlFromClient(blocked, fromPort(badPort), 20);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/reset|SSL_ERROR_SYSCALL|Connection reset/i);
    expect(bad.seconds).toBeLessThan(5);
    // The upstream server never saw the blocked name's hello.
    expect(fw.lab.serverEvents().some((e) => e.sni === blocked)).toBe(false);
    // each connection's line is in /var/log/messages once, and in the journal once
    expect(await loggedOnce(badPort, blocked, 'block')).toMatch(/src=192\.168\.1\.\d+:\d+/);
    expect(await loggedOnce(okPort, allowed, 'pass')).toMatch(/verdict=pass/);
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
    const ports: number[] = [];
    for (let i = 0; i < 5; i++) {
      ports.push(newPort());
      const r = await fw.lab.curlFromClient(blocked, fromPort(ports[i]), 10);
      expect(r.exitCode).not.toBe(0);
    }
    expect(fw.lab.serverEvents().some((e) => e.sni === blocked)).toBe(false);
    await waitActive(fw);
    // And still blocked once the new daemon has adopted the pinned state.
    const after = newPort();
    expect((await fw.lab.curlFromClient(blocked, fromPort(after), 10)).exitCode).not.toBe(0);
    expect(fw.lab.serverEvents().some((e) => e.sni === blocked)).toBe(false);
    // Every one of them logged once: by the old daemon, or from the pinned
    // rings by the new one, never by both.
    for (const p of [...ports, after]) await loggedOnce(p, blocked, 'block');
  });

  it('monitor mode logs a listed name without blocking it', async () => {
    const { blocked } = fw.lab.names;
    await waitActive(fw);
    expect((await fw.con.run('sed -i s/^MODE=.*/MODE=monitor/ /etc/xdpfire/xdp-sni.conf && systemctl reload xdp-sni')).status).toBe(0);
    expect((await fw.con.run('xdp-sni status')).output).toMatch(/^mode +monitor$/m);
    await dnsSettled(fw, blocked);
    const port = newPort();
    const r = await fw.lab.curlFromClient(blocked, fromPort(port));
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`hello ${blocked}`);
    // A listed name in monitor mode is logged with the verdict "monitor", once.
    expect(await loggedOnce(port, blocked, 'monitor')).toMatch(/verdict=monitor/);
  });

  it('apt remove and apt install xdp-sni work offline from the ISO repository', async () => {
    const { blocked } = fw.lab.names;
    await fw.con.run('sed -i s/^MODE=.*/MODE=block/ /etc/xdpfire/xdp-sni.conf && systemctl reload xdp-sni');
    await waitActive(fw);
    await dnsSettled(fw, blocked);
    expect((await fw.lab.curlFromClient(blocked, [], 10)).exitCode).not.toBe(0);

    const rm = await fw.con.run('DEBIAN_FRONTEND=noninteractive apt-get remove -y xdp-sni 2>&1', 300_000);
    expect(rm.status, rm.output).toBe(0);
    // removed: detached from green0, pins gone, the listed name passes
    expect((await fw.con.run('ip -color=never link show dev green0')).output).not.toMatch(/ xdp/);
    expect((await fw.con.run('test -e /sys/fs/bpf/xdp-sni')).status).not.toBe(0);
    await dnsSettled(fw, blocked);
    const openPort = newPort();
    const open = await fw.lab.curlFromClient(blocked, fromPort(openPort));
    expect(open.exitCode, open.stderr).toBe(0);

    // The box has no route to Debian's archive: only the ISO's repository
    // (file:/run/live/medium/repo in sources.list) can answer.
    const upd = await fw.con.run('apt-get update 2>&1; apt-cache policy xdp-sni', 300_000);
    expect(upd.output).toMatch(/file:\/run\/live\/medium\/repo/);
    const inst = await fw.con.run('DEBIAN_FRONTEND=noninteractive apt-get install -y xdp-sni 2>&1', 300_000);
    expect(inst.status, inst.output).toBe(0);
    await waitActive(fw);
    const link = (await fw.con.run('ip -color=never link show dev green0')).output;
    expect(link).toMatch(/ xdp /);
    // the blocklist came back from the state file (remove is not purge)
    expect((await fw.con.run('xdp-sni list')).output).toContain(blocked);
    const port = newPort();
    const r = await fw.lab.curlFromClient(blocked, fromPort(port), 10);
    expect(r.exitCode).not.toBe(0);
    // the reinstalled daemon logs it once; nothing logged the connection made without xdp-sni
    await loggedOnce(port, blocked, 'block');
    expect(await connLines(openPort)).toEqual({ messages: [], journal: [] });
  });

  it('no event line is in /var/log/messages or in the journal twice', async () => {
    // every connection's line differs (its source port), Chromium's included
    const lines = async (cmd: string) => (await fw.con.run(`${cmd} | grep -a ' sni=' | sed 's/^.*xdp-sni\\[[0-9]*\\]: //' || true`, 120_000)).output.split('\n').filter((l) => l.startsWith('sni='));
    const messages = await lines(`grep -a 'xdp-sni\\[' /var/log/messages`);
    const journal = await lines('journalctl -b --no-pager -o short -t xdp-sni');
    const figures = `/var/log/messages: ${messages.length} event lines, ${new Set(messages).size} events; journal: ${journal.length} entries, ${new Set(journal).size} events; counted connections: ${JSON.stringify(counted)}`;
    console.log(`xdp-sni events: ${figures}`);
    expect(new Set(messages).size, figures).toBeGreaterThanOrEqual(counted.length);
    expect(messages.length, figures).toBe(new Set(messages).size);
    expect(journal.length, figures).toBe(new Set(journal).size);
    expect(new Set(journal), figures).toEqual(new Set(messages));
  });
});
