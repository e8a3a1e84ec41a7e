// QA scenario: the live ISO as a firewall between a client namespace (green)
// and an upstream namespace (red) -- see build/qemu/net.ts for the topology.
// Zones from MACs, addresses, DHCP to the client, DNS and NAT through the box
// to a TLS server upstream, inbound from red dropped. Artefacts:
// test-artifacts/qa/firewall-serial.log and firewall-messages.log (the
// guest's /var/log/messages).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirewallLab } from '../../build/qemu/firewall-lab.js';
import { RED_ADDRESS, SERVER_ADDRESS, UPSTREAM_GATEWAY } from '../../build/qemu/net.js';
import { liveCount } from '../../build/qemu/processes.js';
import { ARTIFACTS, bootLiveLab, buildIso, LIVE_MACS, qaConfig } from './iso.js';

const config = qaConfig();
const GREEN_MAC = LIVE_MACS.green;
const RED_MAC = LIVE_MACS.red;
const GREEN_IP = '192.168.1.1';
let fw: FirewallLab;
const t0 = Date.now();
const timings: Record<string, number> = {};

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const built = await buildIso(config);
  timings.buildSeconds = (Date.now() - t0) / 1000;
  fw = await bootLiveLab(config, built.path, 'firewall');
  console.log(`firewall lab: ready line after ${fw.readySeconds.toFixed(1)} s, red and green addressed after ${fw.networkSeconds.toFixed(1)} s (${fw.vm.accel})`);
}, 3_600_000);

afterAll(async () => {
  if (fw) {
    try {
      const n = await fw.copyFromGuest('/var/log/messages', join(ARTIFACTS, 'firewall-messages.log'));
      console.log(`kept the guest's /var/log/messages (${n} bytes) in ${join(ARTIFACTS, 'firewall-messages.log')}`);
    } catch (e) {
      console.log(`could not copy /var/log/messages: ${String(e)}`);
    }
    const shutdown = await fw.stop();
    console.log(`firewall lab: shutdown ${shutdown}; scenario ${((Date.now() - t0) / 1000 - (timings.buildSeconds ?? 0)).toFixed(0)} s after the build (build ${timings.buildSeconds?.toFixed(0)} s)`);
  }
  expect(liveCount()).toBe(0);
}, 300_000);

describe('live ISO as a firewall in the QEMU network lab', () => {
  it('names the zones from the MACs and addresses them (green static, red by DHCP from upstream)', async () => {
    expect(fw.networkSeconds, 'red0 got its DHCP address and green0 its static one').toBeGreaterThan(0);
    // Boot to network up, on the guest's clock (seconds since the kernel started).
    const mono = (await fw.con.run(`journalctl -b -o short-monotonic --no-pager | grep -E 'red0: DHCPv4 address|Started xdpfire-dnsmasq|XDPFIRE-READY' | cut -c1-120`)).output;
    const at = (re: RegExp) => Number(new RegExp(`\\[\\s*([\\d.]+)\\][^\\n]*${re.source}`).exec(mono)?.[1] ?? NaN);
    console.log(`guest clock: red0 DHCP address at ${at(/red0: DHCPv4 address/)} s, dnsmasq on green at ${at(/Started xdpfire-dnsmasq/)} s, ready line at ${at(/XDPFIRE-READY/)} s after the kernel started (${fw.vm.accel})`);
    expect(at(/red0: DHCPv4 address/)).toBeGreaterThan(0);
    const mac = async (dev: string) => (await fw.con.run(`cat /sys/class/net/${dev}/address`)).output.trim();
    expect(await mac('green0')).toBe(GREEN_MAC);
    expect(await mac('red0')).toBe(RED_MAC);
    const green = await fw.con.run('ip -color=never -4 -o addr show dev green0');
    expect(green.output).toContain(`inet ${GREEN_IP}/24`);
    const red = await fw.con.run('ip -color=never -4 -o addr show dev red0');
    expect(red.output).toContain(`inet ${RED_ADDRESS}/24`);
    const route = await fw.con.run('ip -color=never -4 route show default');
    expect(route.output).toMatch(new RegExp(`default via ${UPSTREAM_GATEWAY.replace(/\./g, '\\.')} dev red0`));
    // The zones unit named both itself, without errors (its failure would not fail the boot).
    const zonesLog = (await fw.con.run('journalctl -b -u xdpfire-zones --no-pager -o cat')).output;
    expect(zonesLog).toMatch(new RegExp(`xdpfire: green: (\\S+ -> )?green0 \\(${GREEN_MAC}`));
    expect(zonesLog).toMatch(new RegExp(`xdpfire: red: (\\S+ -> )?red0 \\(${RED_MAC}`));
    expect(zonesLog).not.toMatch(/could not name/);
    // .link files keep the names on hotplug.
    const link = await fw.con.run('cat /run/systemd/network/10-xdpfire-green0.link');
    expect(link.output).toContain(`MACAddress=${GREEN_MAC}`);
    // Forwarding on, our units up, the table loaded.
    expect((await fw.con.run('sysctl -n net.ipv4.ip_forward')).output.trim()).toBe('1');
    const units = await fw.con.run('systemctl is-active xdpfire-zones xdpfire-firewall xdpfire-dnsmasq systemd-networkd');
    expect(units.output.trim().split(/\s+/)).toEqual(['active', 'active', 'active', 'active']);
    expect((await fw.con.run('nft list chain inet xdpfire input')).output).toMatch(/policy drop/);
  });

  it('the client gets a DHCP lease from the box on green', async () => {
    const lease = await fw.lab.clientLease(90_000);
    expect(lease.serverid).toBe(GREEN_IP);
    expect(lease.router).toBe(GREEN_IP);
    expect(lease.dns.split(/\s+/)).toContain(GREEN_IP);
    expect(lease.mask).toBe('24');
    const last = Number(lease.ip.split('.')[3]);
    expect(lease.ip.startsWith('192.168.1.')).toBe(true);
    expect(last).toBeGreaterThanOrEqual(100);
    expect(last).toBeLessThanOrEqual(199);
    // The box logged the lease (dnsmasq on green).
    const log = await fw.con.run(`journalctl -u xdpfire-dnsmasq --no-pager | grep -c 'DHCPACK(green0) ${lease.ip}'`);
    expect(Number(log.output.trim())).toBeGreaterThan(0);
  });

  it('the client reaches https://allowed.test through the box: DNS via its dnsmasq, NAT on red', async () => {
    expect(fw.lab.lease, 'needs the lease of the previous test').toBeDefined();
    const r = await fw.lab.curlFromClient(fw.lab.names.allowed);
    expect(r.exitCode, r.stderr).toBe(0);
    // The server saw the box's red address: masqueraded.
    expect(r.stdout.trim()).toBe(`hello ${fw.lab.names.allowed} from ${RED_ADDRESS}`);
    const seen = fw.lab.serverEvents().filter((e) => e.ev === 'request');
    expect(seen.at(-1)).toMatchObject({ sni: fw.lab.names.allowed, from: RED_ADDRESS });
    // The name was resolved by the box, which asked upstream from red.
    expect(fw.lab.upstreamLogText()).toMatch(new RegExp(`query\\[A\\] ${fw.lab.names.allowed.replace('.', '\\.')} from ${RED_ADDRESS.replace(/\./g, '\\.')}`));
    console.log(`curl https://${fw.lab.names.allowed} from the client: ${r.seconds.toFixed(2)} s`);
  });

  it('inbound to the box: port 444 open from green, dropped (not refused) from red', async () => {
    // Something must listen on 444 for the test to mean anything: the web UI
    // when it is installed, else a throwaway listener.
    const listening = await fw.con.run(`ss -Hltn 'sport = :444' | grep -c LISTEN`);
    if (Number(listening.output.trim()) === 0) {
      const s = await fw.con.run('systemd-run --unit=xf-listen444 /usr/bin/systemd-socket-activate -l 444 -a --inetd /bin/echo xdpfire-444 && sleep 1');
      expect(s.status, s.output).toBe(0);
    }
    const before = await droppedInbound();
    const green = await fw.lab.tcpProbe('client', GREEN_IP, 444, 10);
    expect([0, 1, 52, 56], `curl from green: ${green.stderr}`).toContain(green.exitCode);
    const red = await fw.lab.tcpProbe('upstream', RED_ADDRESS, 444, 4);
    // 28: the connection attempt timed out: dropped, no RST.
    expect(red.exitCode, `curl from red: ${red.stderr}`).toBe(28);
    expect(await droppedInbound()).toBeGreaterThan(before);
    // Port 22 (SSH is off by default) is dropped from green too.
    const ssh = await fw.lab.tcpProbe('client', GREEN_IP, 22, 3);
    expect(ssh.exitCode).toBe(28);
  });

  it('red cannot open connections into green (forward policy drop)', async () => {
    const client = fw.lab.lease!.ip;
    // A route upstream that points at the box, as an attacker next to red would set.
    const add = await fw.lab.exec('upstream', 'ip', ['route', 'replace', '192.168.1.0/24', 'via', RED_ADDRESS]);
    expect(add.exitCode, add.stderr).toBe(0);
    const fromRed = await fw.lab.exec('upstream', 'busybox', ['ping', '-c', '2', '-W', '2', client]);
    expect(fromRed.exitCode).not.toBe(0);
    // The other way is open: green to an upstream address.
    const fromGreen = await fw.lab.exec('client', 'busybox', ['ping', '-c', '2', '-W', '5', SERVER_ADDRESS]);
    expect(fromGreen.exitCode, fromGreen.stdout).toBe(0);
  });

  it('the first-boot unit wrote zones.conf and logged the zones to /var/log/messages', async () => {
    const zones = await fw.con.run('cat /etc/xdpfire/zones.conf');
    expect(zones.output).toContain(`GREEN_MACADDR=${GREEN_MAC}`);
    expect(zones.output).toContain(`RED_MACADDR=${RED_MAC}`);
    const msgs = await fw.con.run(`grep -E 'xdpfire: (zone (green|red) is|green: |red: )' /var/log/messages`);
    expect(msgs.output).toMatch(new RegExp(`zone green is green0, MAC ${GREEN_MAC}`));
    expect(msgs.output).toMatch(new RegExp(`zone red is red0, MAC ${RED_MAC}`));
  });
});

async function droppedInbound(): Promise<number> {
  const r = await fw.con.run('nft list chain inet xdpfire input');
  const m = /counter packets (\d+) bytes \d+ comment "dropped inbound"/.exec(r.output);
  if (!m) throw new Error(`no drop counter in:\n${r.output}`);
  return Number(m[1]);
}
