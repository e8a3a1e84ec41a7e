// Issue 14's escape routes with real browsers (headless Chromium and Firefox
// ESR) in the ECH lab (ech-lab.ts): a site whose DNS publishes an HTTPS
// record with ech= is reached with an encrypted ClientHello whose outer SNI
// is the ECH config's public name, so xdp-sni sees only that name; the box
// resolver's filter-rr=SVCB,HTTPS takes the record away and the real name
// goes in clear again. And the blanket UDP/443 drop against a record that
// advertises h3: Chromium falls back to TCP at once, Firefox does not
// (measured here as the baseline for the QUIC=filter work).
//
// Every test that loads a page asserts where it was served (the server's
// own log: ECH accepted or not, inner name, protocol) and what xdp-sni
// logged for each of the browser's connections to that server (exactly one
// event per connection, with the name it saw).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildBpf } from '../bpf/lib.js';
import { nsExec, waitFor } from './topology.js';
import { xsni, startDaemon, type Daemon } from './tool.js';
import { chromium, firefox, firefoxProfile, type BrowserRun } from './browsers.js';
import { setupLab, ECH_IP, H3_IP, PUBLIC_NAME, CHROMIUM_FLAGS, FIREFOX_PREFS, parseEvents, type Lab, type Ev, type XEvent } from './ech-lab.js';

const LISTED = 'blocked.example';
const ALLOWED = 'allowed.example';
const H3 = 'h3.example';
let lab: Lab;
let daemon: Daemon;
/** measured numbers, printed at the end */
const measured: Record<string, unknown> = {};

const xEvents = (fromChar: number): XEvent[] => parseEvents(daemon.out().slice(fromChar));
/** xdp-sni's events since `from` for connections to `dst`: wait for one, let late ones come, check one per connection */
async function eventsTo(from: number, dst: string): Promise<XEvent[]> {
  await waitFor(() => xEvents(from).some((e) => e.dst === dst), 5000, `an xdp-sni event for ${dst}`);
  await new Promise((r) => setTimeout(r, 500));
  const evs = xEvents(from).filter((e) => e.dst === dst);
  const ports = evs.map((e) => e.port);
  expect(new Set(ports).size, `one event per connection: ${JSON.stringify(evs)}`).toBe(ports.length);
  return evs;
}

interface Load {
  run: BrowserRun;
  /** the server's request events for `name` during the run */
  requests: Ev[];
  /** from launch to the server's first request for the name, ms */
  launchToRequest?: number;
  /** from the browser's first DNS query for the name (box resolver) to that request, ms */
  queryToRequest?: number;
}

async function load(browser: 'chromium' | 'firefox', name: string, timeoutMs: number): Promise<Load> {
  const log = name === H3 || name === 'blocked-h3.example' ? lab.caddyLog : lab.echLog;
  const hostOf = (e: Ev) => String(name === H3 || name === 'blocked-h3.example' ? (e.request as { host?: string } | undefined)?.host : e.host);
  const from = log().length;
  const dnsFrom = lab.boxDnsLog().length;
  const t0 = Date.now();
  const run = browser === 'chromium'
    ? await chromium(lab.t.c, `https://${name}/`, { dir: lab.t.dir, procs: lab.t.procs, timeoutMs, flags: CHROMIUM_FLAGS })
    : await firefox(lab.t.c, `https://${name}/`, { profile: await firefoxProfile(lab.t.dir, lab.t.ca, FIREFOX_PREFS), procs: lab.t.procs, timeoutMs });
  const requests = log().slice(from).filter((e) => (name === H3 || name === 'blocked-h3.example' ? true : e.ev === 'request') && hostOf(e) === name);
  const q = lab.boxDnsLog().slice(dnsFrom).find((l) => new RegExp(`query\\[\\w+\\] ${name.replace(/\./g, '\\.')} `).test(l.line));
  return {
    run, requests,
    launchToRequest: requests[0] ? requests[0].t - t0 : undefined,
    queryToRequest: requests[0] && q ? requests[0].t - q.t : undefined,
  };
}

function echRecords(alpn: string[]) {
  const ech = { alpn, ech: lab.echConfigList };
  return {
    [LISTED]: { ip: ECH_IP, https: ech },
    [ALLOWED]: { ip: ECH_IP, https: ech },
    [H3]: { ip: H3_IP, https: { alpn: ['h3', 'h2'] } },
    'blocked-h3.example': { ip: H3_IP, https: { alpn: ['h3', 'h2'] } },
  };
}

async function scenario(o: { filterRR: boolean; drop: boolean }) {
  await lab.setBoxResolver({ filterRR: o.filterRR });
  await lab.quicDrop(o.drop);
}

beforeAll(async () => {
  await buildBpf();
  const t0 = Date.now();
  lab = await setupLab();
  measured.labSetupSeconds = { ...lab.servers.seconds, total: (Date.now() - t0) / 1000 };
  try {
    const a = await xsni(lab.t, ['attach', '--dev', 'f0', '--mode', 'native'], lab.t.f);
    if (a.code !== 0) throw new Error(`attach failed: ${a.stderr}`);
    for (const args of [['add', LISTED], ['add', 'blocked-h3.example'], ['log', 'all']]) {
      const r = await xsni(lab.t, args);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    }
    daemon = await startDaemon(lab.t);
    // ECH names: h2 only, so that the ECH tests do not meet the QUIC drop (tested on its own below)
    await lab.setRecords(echRecords(['h2']));
  } catch (e) {
    await lab.cleanup();
    throw e;
  }
}, 300_000);

afterAll(async () => {
  console.log(`ECH lab measurements: ${JSON.stringify(measured, null, 1)}`);
  if (lab) {
    await xsni(lab.t, ['detach', '--dev', 'f0'], lab.t.f).catch(() => undefined);
    await lab.cleanup();
  }
}, 60_000);

describe('ECH lab: DNS with HTTPS records (netns)', () => {
  it('the upstream publishes alpn and ech; the box resolver passes them on, and with filter-rr answers an empty NOERROR', async () => {
    await scenario({ filterRR: false, drop: true });
    const dig = async (type: string, name: string) => nsExec(lab.t.c, 'dig', ['+tries=1', '+time=2', type, name]);
    const on = await dig('HTTPS', LISTED);
    expect(String(on.stdout)).toMatch(/status: NOERROR/);
    expect(String(on.stdout)).toContain(`HTTPS\t1 . alpn="h2" ech=${lab.echConfigList}`);
    expect(String((await dig('HTTPS', H3)).stdout)).toContain('HTTPS\t1 . alpn="h3,h2"');
    await scenario({ filterRR: true, drop: true });
    const off = String((await dig('HTTPS', LISTED)).stdout);
    expect(off).toMatch(/status: NOERROR/);
    expect(off).toMatch(/ANSWER: 0,/);
    expect(String((await dig('A', LISTED)).stdout)).toMatch(new RegExp(`${LISTED}\\.\\s+\\d+\\s+IN\\s+A\\s+${ECH_IP.replace(/\./g, '\\.')}`));
  });
});

describe('ECH bypass: without filter-rr the listed name is reached and xdp-sni sees only the public name', () => {
  for (const browser of ['chromium', 'firefox'] as const) {
    it(`${browser}: ECH accepted with the inner name ${LISTED}, outer SNI ${PUBLIC_NAME}`, async () => {
      await scenario({ filterRR: false, drop: true });
      const from = daemon.out().length;
      const r = await load(browser, LISTED, 30_000);
      measured[`bypass.${browser}`] = { launchToRequest: r.launchToRequest, queryToRequest: r.queryToRequest, ech: r.requests.map((e) => e.ech) };
      expect(r.requests.length, `${browser} loaded the listed name: ${r.run.stderr.slice(-400)}`).toBeGreaterThanOrEqual(1);
      for (const e of r.requests) {
        expect(e.ech).toBe(true);
        expect(e.sni).toBe(LISTED);
      }
      if (browser === 'chromium') expect(r.run.stdout).toContain(`xsni-ok ${LISTED} ech=true`);
      const evs = await eventsTo(from, ECH_IP);
      // the public name is in no category here: nothing says ECH (the bypass)
      expect(evs.map((e) => `${e.sni} ${e.verdict} ${e.door}`)).toEqual(evs.map(() => `${PUBLIC_NAME} pass tls`));
      measured[`bypass.${browser}`] = { ...(measured[`bypass.${browser}`] as object), xdpSniEvents: evs };
    }, 60_000);
  }
});

describe('ECH=block: the public name in ech-public, blocked in every group, stops the encrypted hello (no filter-rr)', () => {
  for (const browser of ['chromium', 'firefox'] as const) {
    it(`${browser}: the ECH connection to ${LISTED} is reset, logged as door=ech via ${PUBLIC_NAME}; the server never sees it`, async () => {
      await scenario({ filterRR: false, drop: true });
      // what xdp-sni-apply does with ECH=block and the admin's ech-public-names.list holding the lab's public name
      for (const args of [['category', 'add', 'ech-public'], ['add', '--category', 'ech-public', PUBLIC_NAME], ['group', 'block', 'default', 'blocklist,ech-public']]) {
        const c = await xsni(lab.t, args);
        expect(c.code, `${args.join(' ')}: ${c.stderr}`).toBe(0);
      }
      try {
        const fromHello = lab.echLog().length;
        const from = daemon.out().length;
        const r = await load(browser, LISTED, 15_000);
        expect(r.requests, `${browser} loaded ${LISTED} through ECH`).toHaveLength(0);
        expect(lab.echLog().slice(fromHello).filter((e) => e.ev === 'secure')).toHaveLength(0);
        const evs = await eventsTo(from, ECH_IP);
        for (const e of evs) expect(`${e.sni} ${e.verdict} door=${e.door} rst=${e.rst}`).toBe(`${PUBLIC_NAME} block door=ech rst=1`);
        measured[`ech-block.${browser}`] = { connections: evs.length, runMs: r.run.ms };
      } finally {
        await xsni(lab.t, ['group', 'block', 'default', 'blocklist']);
        await xsni(lab.t, ['category', 'del', 'ech-public']);
      }
    }, 60_000);
  }
});

describe('countermeasure: with filter-rr=SVCB,HTTPS the real name goes in clear', () => {
  for (const browser of ['chromium', 'firefox'] as const) {
    it(`${browser}: ${LISTED} is reset and logged with its real name once per connection; ${ALLOWED} loads within 5 s`, async () => {
      await scenario({ filterRR: true, drop: true });
      const fromHello = lab.echLog().length;
      let from = daemon.out().length;
      const bad = await load(browser, LISTED, 15_000);
      expect(bad.requests).toHaveLength(0);
      expect(lab.echLog().slice(fromHello).filter((e) => e.ev === 'hello' || e.ev === 'secure')).toHaveLength(0);
      if (browser === 'chromium') expect(bad.run.stderr).toMatch(/ERR_CONNECTION_RESET/);
      const badEvs = await eventsTo(from, ECH_IP);
      for (const e of badEvs) expect(`${e.sni} ${e.verdict} rst=${e.rst}`).toBe(`${LISTED} block rst=1`);

      from = daemon.out().length;
      const good = await load(browser, ALLOWED, 30_000);
      expect(good.requests.length, `${browser} loaded ${ALLOWED}`).toBeGreaterThanOrEqual(1);
      expect(good.requests[0].ech).toBe(false);
      expect(good.queryToRequest).toBeDefined();
      expect(good.queryToRequest!).toBeLessThan(5000);
      const goodEvs = await eventsTo(from, ECH_IP);
      for (const e of goodEvs) expect(`${e.sni} ${e.verdict}`).toBe(`${ALLOWED} pass`);
      measured[`countermeasure.${browser}`] = {
        blockedConnections: badEvs.length, blockedRunMs: bad.run.ms,
        allowed: { launchToRequest: good.launchToRequest, queryToRequest: good.queryToRequest, connections: goodEvs.length },
      };
    }, 90_000);
  }
});

describe(`QUIC: an HTTPS record with alpn="h3,h2" against the blanket UDP/443 drop (${H3} on Caddy)`, () => {
  it('Firefox, drop on, no filter-rr: the known hang, measured (bounded at 15 s)', async () => {
    await scenario({ filterRR: false, drop: true });
    const r = await load('firefox', H3, 15_000);
    measured['quic.firefox.drop'] = { loaded: r.requests.length > 0, launchToRequest: r.launchToRequest, runMs: r.run.ms, timedOut: r.run.timedOut };
    // Known failure (issue 14): Firefox keeps resending QUIC Initials and
    // never tries TCP. This asserts today's behaviour as the baseline; when
    // it loads, the QUIC work has changed it and this line must change too.
    expect(r.requests, 'Firefox loaded the h3 site through the drop: the known hang is gone, update the baseline').toHaveLength(0);
    expect(r.run.timedOut).toBe(true);
  }, 60_000);

  it('Chromium, drop on, no filter-rr: falls back to TCP (h2) within 5 s', async () => {
    await scenario({ filterRR: false, drop: true });
    const r = await load('chromium', H3, 30_000);
    const protos = r.requests.map((e) => (e.request as { proto: string }).proto);
    measured['quic.chromium.drop'] = { launchToRequest: r.launchToRequest, queryToRequest: r.queryToRequest, protos };
    expect(protos[0]).toBe('HTTP/2.0');
    expect(r.queryToRequest!).toBeLessThan(5000);
  }, 60_000);

  it('Firefox, drop on, filter-rr on: loads over h2 within 5 s', async () => {
    await scenario({ filterRR: true, drop: true });
    const r = await load('firefox', H3, 30_000);
    const protos = r.requests.map((e) => (e.request as { proto: string }).proto);
    measured['quic.firefox.drop+filter'] = { launchToRequest: r.launchToRequest, queryToRequest: r.queryToRequest, protos };
    expect(protos[0]).toBe('HTTP/2.0');
    expect(r.queryToRequest!).toBeLessThan(5000);
  }, 60_000);

  it('Firefox, drop off, no filter-rr: loads over h3 (the baseline for QUIC=filter)', async () => {
    await scenario({ filterRR: false, drop: false });
    const r = await load('firefox', H3, 30_000);
    const protos = r.requests.map((e) => (e.request as { proto: string }).proto);
    measured['quic.firefox.nodrop'] = { launchToRequest: r.launchToRequest, queryToRequest: r.queryToRequest, protos };
    expect(protos[0]).toBe('HTTP/3.0');
    expect(r.queryToRequest!).toBeLessThan(5000);
  }, 60_000);
});
