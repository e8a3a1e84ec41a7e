// The web UI in the live ISO under QEMU, from the green client namespace of
// the network lab, through the box: the page loads over HTTPS (plain HTTP is
// closed), login works with the build-time default password, and a name
// added in the page is blocked. The render cost is measured from the client
// and inside the guest (test-artifacts/qa/webui-render-cost.txt). Then an
// admin's whole policy, set up in the pages and enforced (admin-policy.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirewallLab } from '../../build/qemu/firewall-lab.js';
import { liveCount } from '../../build/qemu/processes.js';
import { defaultAdminPassword } from '../../webui/bundle.js';
import { ARTIFACTS, bootLiveLab, buildIso, qaConfig } from './iso.js';
import { adminPolicy } from './admin-policy.js';
import { connectionLines } from './box.js';

const config = qaConfig();
const GREEN = '192.168.1.1';
const BASE = `https://${GREEN}:444`;
let fw: FirewallLab;
let work: string;

/** curl in the client namespace; returns body, http code and total time (s). */
async function curl(args: string[]) {
  const r = await fw.lab.exec('client', 'curl', ['-sk', '--max-time', '120', '-w', '\n@@%{http_code} %{time_total}', ...args], { timeoutMs: 150_000 });
  const out = String(r.stdout);
  const m = /\n@@(\d+) ([\d.]+)$/.exec(out);
  return { code: r.exitCode, status: m ? Number(m[1]) : 0, secs: m ? Number(m[2]) : NaN, body: out.replace(/\n@@.*$/, '') };
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const built = await buildIso(config);
  fw = await bootLiveLab(config, built.path, 'webui');
  work = join(ARTIFACTS, 'work', 'webui');
  await fw.lab.clientLease(120_000);
}, 3_600_000);

afterAll(async () => {
  await fw?.stop();
  expect(liveCount()).toBe(0);
}, 300_000);

describe('web UI on the live box (QEMU lab, green client)', () => {
  it('serves the login page over HTTPS to green, logs in, and blocks a name added in the page', async () => {
    const jar = join(work, 'jar');
    // lighttpd may still be starting behind the first-boot certificate
    const end = Date.now() + 300_000;
    let login = await curl(['-c', jar, `${BASE}/login`]);
    while (login.status !== 200 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 5000));
      login = await curl(['-c', jar, `${BASE}/login`]);
    }
    expect(login.status, login.body).toBe(200);
    expect((await curl([`http://${GREEN}/`])).status).toBe(0); // no plain HTTP
    const tok = /name="csrf" value="([^"]+)"/.exec(login.body)![1];
    const post = await curl(['-b', jar, '-c', jar, '-H', `Origin: ${BASE}`, '--data-urlencode', `csrf=${tok}`, '--data-urlencode', 'user=admin', '--data-urlencode', `password=${defaultAdminPassword()}`, `${BASE}/login`]);
    expect(post.status).toBe(303);
    // render cost: from the client through the box, and inside the guest (CGI alone)
    const lines: string[] = [`web UI render cost under ${fw.vm.accel} (${new Date().toISOString()})`];
    for (const path of ['/login', '/', '/log']) {
      const t: number[] = [];
      for (let i = 0; i < 3; i++) t.push((await curl(['-b', jar, `${BASE}${path}`])).secs); // (/ answers 503 without a daemon: still a full render)
      t.sort((a, b) => a - b);
      lines.push(`client ${path.padEnd(6)} median ${(t[1] * 1000).toFixed(0)} ms`);
    }
    const g = await fw.con.run('TIMEFORMAT=%R; for i in 1 2 3; do time (env REQUEST_METHOD=GET REQUEST_URI=/login XDPFIRE_WEBUI_STATE=/tmp node /usr/lib/xdpfire-webui/htdocs/index.cgi >/dev/null); done 2>&1 | tr "\\n" " "', 120_000);
    lines.push(`guest CGI /login alone (s): ${g.output.trim()}`);
    const sock = await fw.con.run('stat -c "%U:%G %a" /run/xdp-sni.sock', 30_000);
    lines.push(`guest control socket: ${sock.output.trim()}`);
    writeFileSync(join(ARTIFACTS, 'webui-render-cost.txt'), `${lines.join('\n')}\n`);
    console.log(lines.join('\n'));

    const home = await curl(['-b', jar, `${BASE}/`]);
    expect(home.status, home.body).toBe(200);
    expect(home.body).toContain('green0 (');
    const csrf = /name="csrf" value="([^"]+)"/.exec(home.body)![1];

    const { allowed, blocked: name } = fw.lab.names;
    // source ports of their own: each connection's line can be counted
    const passPort = 40101, blockPort = 40102, allowedPort = 40103;
    expect((await fw.lab.curlFromClient(name, ['--local-port', String(passPort)])).exitCode).toBe(0);
    const add = await curl(['-b', jar, '-H', `Origin: ${BASE}`, '--data-urlencode', `csrf=${csrf}`, '--data-urlencode', 'do=add', '--data-urlencode', `name=${fw.lab.names.blocked}`, `${BASE}/action`]);
    expect(add.status, add.body).toBe(303);
    const blocked = await fw.lab.curlFromClient(name, ['--local-port', String(blockPort)], 10);
    expect(blocked.exitCode).not.toBe(0);
    expect((await fw.lab.curlFromClient(allowed, ['--local-port', String(allowedPort)])).exitCode).toBe(0);

    // Each of the three connections is one line in /var/log/messages and
    // one event in the page's live log (which reads the daemon's history).
    const ip = fw.lab.lease!.ip;
    const inMessages = async (port: number) => String((await connectionLines(fw, ip, port, false)).messages.length);
    const matching = async (q: string) => {
      const r = await curl(['-b', jar, `${BASE}/log?partial=1&${q}`]);
      expect(r.status, r.body).toBe(200);
      // the page's count of the events that match (at most 200 a page)
      return /(\d+) events on page 1 /.exec(r.body)?.[1] ?? `no count in: ${r.body.slice(0, 200)}`;
    };
    const want = [
      { port: passPort, q: `name=${name}&verdict=pass` },
      { port: blockPort, q: `name=${name}&verdict=block` },
      { port: allowedPort, q: `name=${allowed}&verdict=pass` },
    ];
    const seen = async () => Promise.all(want.map(async (w) => ({ port: w.port, messages: await inMessages(w.port), page: await matching(w.q) })));
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && (await seen()).some((s) => s.messages === '0' || s.page === '0')) await new Promise((r) => setTimeout(r, 3000));
    await new Promise((r) => setTimeout(r, 3000)); // a second copy would be here by now
    const counts = await seen();
    console.log(`web UI: lines and page events per connection: ${JSON.stringify(counts)}`);
    expect(counts).toEqual(want.map((w) => ({ port: w.port, messages: '1', page: '1' })));
    // the page's top blocked names count the one blocked connection once
    const log = await curl(['-b', jar, `${BASE}/log`]);
    expect(log.body).toMatch(new RegExp(`<td class="name">${name.replace('.', '\\.')}</td><td>1</td>`));
  }, 900_000);
});

adminPolicy(() => fw, join(ARTIFACTS, 'work', 'webui'), BASE);
