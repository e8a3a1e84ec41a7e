// The web UI in the built ISO, under QEMU (TCG without /dev/kvm), from the
// green client namespace of the QEMU lab, through the box: the page loads
// over HTTPS, login works (build-time default password), a name added in
// the page is blocked; the render cost is measured inside the guest and
// from the client. Runs only when XDPFIRE_WEBUI_ISO names an ISO (build one
// with ./make.sh build); the QA layer owns booting it in CI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetLab } from '../../build/qemu/net.js';
import { Vm } from '../../build/qemu/vm.js';
import { SerialConsole } from '../../build/qemu/console.js';
import { READY_PREFIX } from '../../build/config/ready.js';
import { repoRoot } from '../bpf/lib.js';
import { defaultAdminPassword } from '../../webui/bundle.js';

const iso = process.env.XDPFIRE_WEBUI_ISO;
const ART = join(repoRoot, 'test-artifacts', 'web');
const GREEN = '192.168.1.1';
const BASE = `https://${GREEN}:444`;

let lab: NetLab | undefined;
let vm: Vm | undefined;
let con: SerialConsole | undefined;
let work: string;

/** curl in the client namespace; returns body, http code and total time (s). */
async function curl(args: string[]) {
  const r = await lab!.exec('client', 'curl', ['-sk', '--max-time', '120', '-w', '\n@@%{http_code} %{time_total}', ...args], { timeoutMs: 150_000 });
  const out = String(r.stdout);
  const m = /\n@@(\d+) ([\d.]+)$/.exec(out);
  return { code: r.exitCode, status: m ? Number(m[1]) : 0, secs: m ? Number(m[2]) : NaN, body: out.replace(/\n@@.*$/, '') };
}

describe.skipIf(!iso || !existsSync(iso))('web UI in the ISO (QEMU lab, green client)', () => {
  beforeAll(async () => {
    mkdirSync(ART, { recursive: true });
    work = mkdtempSync(join(tmpdir(), 'xdpfire-webui-iso-'));
    lab = await NetLab.create({ workDir: join(work, 'lab') });
    vm = await Vm.start({ firmware: 'bios', memoryMiB: 2048, iso: iso!, workDir: join(work, 'vm'), serialLog: join(ART, 'iso-serial.log'), extraArgs: lab.qemuArgs(), netns: lab.ns.lab });
    await vm.waitForSerial(new RegExp(READY_PREFIX), 1_200_000);
    con = await SerialConsole.connect(vm.serialSocket);
    await con.waitForShell(180_000);
    await lab.clientLease(120_000);
  }, 1_500_000);

  afterAll(async () => {
    con?.close();
    await vm?.stop();
    await lab?.cleanup();
  }, 120_000);

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
    const lines: string[] = [`web UI render cost under ${vm!.accel} (${new Date().toISOString()})`];
    for (const path of ['/login', '/', '/log']) {
      const t: number[] = [];
      for (let i = 0; i < 3; i++) t.push((await curl(['-b', jar, `${BASE}${path}`])).secs); // (/ answers 503 without a daemon: still a full render)
      t.sort((a, b) => a - b);
      lines.push(`client ${path.padEnd(6)} median ${(t[1] * 1000).toFixed(0)} ms`);
    }
    const g = await con!.run('TIMEFORMAT=%R; for i in 1 2 3; do time (env REQUEST_METHOD=GET REQUEST_URI=/login XDPFIRE_WEBUI_STATE=/tmp node /usr/lib/xdpfire-webui/htdocs/index.cgi >/dev/null); done 2>&1 | tr "\\n" " "', 120_000);
    lines.push(`guest CGI /login alone (s): ${g.output.trim()}`);
    const sock = await con!.run('stat -c "%U:%G %a" /run/xdp-sni.sock', 30_000);
    lines.push(`guest control socket: ${sock.output.trim()}`);
    writeFileSync(join(ART, 'render-cost-iso.txt'), `${lines.join('\n')}\n`);
    console.log(lines.join('\n'));

    const home = await curl(['-b', jar, `${BASE}/`]);
    expect(home.status, home.body).toBe(200);
    expect(home.body).toContain('green0 (');
    const csrf = /name="csrf" value="([^"]+)"/.exec(home.body)![1];

    expect((await lab!.curlFromClient(lab!.names.blocked)).exitCode).toBe(0);
    const add = await curl(['-b', jar, '-H', `Origin: ${BASE}`, '--data-urlencode', `csrf=${csrf}`, '--data-urlencode', 'do=add', '--data-urlencode', `name=${lab!.names.blocked}`, `${BASE}/action`]);
    expect(add.status, add.body).toBe(303);
    const blocked = await lab!.curlFromClient(lab!.names.blocked, [], 10);
    expect(blocked.exitCode).not.toBe(0);
    expect((await lab!.curlFromClient(lab!.names.allowed)).exitCode).toBe(0);
  }, 900_000);
});
