// Policies live: xdp_sni native on the firewall's client-facing veth, real
// curl clients at two source addresses in different groups, the real daemon
// (which applies schedule windows at every minute) and a private rsyslogd.
// The same name is blocked for one client and passes for the other; a
// window that opens during traffic blocks from its first minute, and the
// daemon logs the change of the group's policy once. (The window's other
// edge, days and midnight are in test/bpf/policy.test.ts, at chosen times.)
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildBpf } from '../bpf/lib.js';
import { setup, syslog, nsExec, CLIENT4, type Topo } from './topology.js';
import { ask, curl, startDaemon, xsni } from './tool.js';

const KID = '10.77.1.3'; // a second address on the client's link

let t: Topo;

async function must(args: string[]) {
  const r = await xsni(t, args);
  if (r.code !== 0) throw new Error(`xdp-sni ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Event lines of the private syslog for one name and source. */
function events(name: string, src: string): string[] {
  return syslog(t)
    .split('\n')
    .filter((l) => l.includes(`sni=${name} `) && l.includes(` src=${src}:`));
}

beforeAll(async () => {
  await buildBpf();
  t = await setup();
  const a = await xsni(t, ['attach', '--dev', 'f0', '--mode', 'native'], t.f);
  if (a.code !== 0) throw new Error(`attach failed: ${a.stderr}`);
  const r = await nsExec(t.c, 'ip', ['addr', 'add', `${KID}/24`, 'dev', 'c0']);
  if (r.exitCode !== 0) throw new Error(String(r.stderr));
  await must(['category', 'add', 'social']);
  await must(['add', '--category', 'social', 'live.example']);
  await must(['group', 'add', 'kids']);
  await must(['group', 'block', 'kids', 'blocklist,social']);
  await must(['client', 'add', 'kids', KID]);
  await startDaemon(t);
}, 120_000);

afterAll(async () => {
  if (t) {
    await xsni(t, ['detach', '--dev', 'f0'], t.f).catch(() => undefined);
    await t.cleanup();
  }
}, 60_000);

describe('policies, live (netns, native XDP, the daemon)', () => {
  it('one name, two clients: blocked for the client in kids, passed for the default client, one event each', async () => {
    const ok = await curl(t, 'live.example', { from: CLIENT4 });
    expect(ok.code, ok.err).toBe(0);
    const kid = await curl(t, 'live.example', { from: KID, maxTime: 3 });
    expect(kid.code).not.toBe(0);
    const hellos = t.serverLog().filter((e) => e.ev === 'hello' && e.sni === 'live.example').length;
    expect(hellos).toBe(1);
    await new Promise((r) => setTimeout(r, 500)); // the daemon polls the rings every 100 ms
    const pass = events('live.example', CLIENT4);
    expect(pass.length).toBe(1);
    expect(pass[0]).toMatch(/verdict=pass .* group=default cats=social$/);
    // the kid's client retries the blocked hello: the first is blocked and
    // logged, its retransmissions meet the flow's mark (dropped, no event)
    const block = events('live.example', KID);
    expect(block.length).toBe(1);
    expect(block[0]).toMatch(/verdict=block .* group=kids cats=social$/);
  });

  it('the control socket takes the policy commands (the web UI\'s path), with the same checks', async () => {
    expect(await ask(t, 'group list')).toMatch(/^default\tmode=blocklist\tblock=blocklist\t.*\nkids\tmode=blocklist\tblock=blocklist,social\tallow=-\tclients=1\nrc=0\n$/);
    expect(await ask(t, 'client add kids 10.77.1.300')).toMatch(/bad client '10.77.1.300'.*\nrc=1\n$/s);
    expect(await ask(t, 'client list')).toBe(`${KID}/32\tkids\nrc=0\n`);
  });

  it('commands run from a shell, not through the socket: the daemon names the next events with the new policy', async () => {
    await must(['category', 'add', 'video']);
    await must(['add', '--category', 'video', 'monitor.example']);
    await must(['group', 'add', 'teens']);
    await must(['group', 'block', 'teens', 'video']);
    await must(['client', 'add', 'teens', KID]); // moves from kids
    const r = await curl(t, 'monitor.example', { from: KID, maxTime: 3 });
    expect(r.code).not.toBe(0);
    await new Promise((res) => setTimeout(res, 500));
    const lines = events('monitor.example', KID);
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/verdict=block .* group=teens cats=video$/);
    await must(['client', 'add', 'kids', KID]); // back, for the next test
  });

  it('a schedule window that opens during traffic blocks from its first minute', async () => {
    await must(['category', 'add', 'games']);
    await must(['add', '--category', 'games', 'allowed.example']);
    // a one-minute window starting at the next minute (the one after, if
    // this one is nearly over), on the day it starts, in local time
    const now = new Date();
    const start = new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours(), now.getMinutes() + (now.getSeconds() > 50 ? 2 : 1));
    const end = new Date(start.getTime() + 60_000);
    const hhmm = (d: Date) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][start.getDay()];
    expect(await ask(t, `schedule add kids ${day} ${hhmm(start)}-${hhmm(end)} block games`)).toMatch(/added window 1: .*\nrc=0\n$/);
    const policyLines = () => syslog(t).split('\n').filter((l) => l.includes('xdp-sni') && / policy group=kids /.test(l));
    const before = policyLines().length;

    // traffic from both clients, once a second, until 8 s after the start
    const tries: { t: number; kid: number; other: number }[] = [];
    while (Date.now() < start.getTime() + 8000) {
      const t0 = Date.now();
      const [kid, other] = await Promise.all([curl(t, 'allowed.example', { from: KID, maxTime: 2 }), curl(t, 'allowed.example', { from: CLIENT4, maxTime: 2 })]);
      tries.push({ t: t0, kid: kid.code, other: other.code });
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))));
    }
    // a try that started within 1.5 s of the edge may see either side
    // (the daemon looks at the clock every 100 ms; curl takes its time)
    const settled = (x: { t: number }) => Math.abs(x.t - start.getTime()) > 1500;
    const inside = tries.filter((x) => settled(x) && x.t > start.getTime());
    const before_ = tries.filter((x) => settled(x) && x.t < start.getTime());
    expect(inside.length).toBeGreaterThan(3);
    expect(before_.length).toBeGreaterThan(3);
    expect(inside.filter((x) => x.kid === 0)).toEqual([]);
    expect(before_.filter((x) => x.kid !== 0)).toEqual([]);
    expect(tries.filter((x) => x.other !== 0)).toEqual([]);
    // the daemon said so, once
    const lines = policyLines().slice(before);
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/policy group=kids mode=blocklist block=blocklist,social,games allow=-$/);
  }, 200_000);
});
