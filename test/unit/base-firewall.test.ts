// xdpfire-base: settings.conf rendered into systemd-networkd, nftables and
// dnsmasq files (xdpfire-setup render), checked by the real tools: Debian's
// nft parses and loads the ruleset in a throwaway network namespace, and
// dnsmasq --test accepts its configuration.
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';

const PKG = join(REPO_ROOT, 'packages/xdpfire-base');
const SCRIPT = join(PKG, 'files/xdpfire-setup');
const RULESET = join(PKG, 'files/firewall.nft');
const isRoot = process.getuid?.() === 0;

async function render(settings: string | null) {
  const dir = mkdtempSync(join(tmpdir(), 'xdpfire-render-'));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/settings.conf'), settings ?? readFileSync(join(PKG, 'files/settings.conf'), 'utf8'));
  const env = { ...process.env, XDPFIRE_ETC: join(dir, 'etc'), XDPFIRE_RUN: join(dir, 'run'), XDPFIRE_NETDIR: join(dir, 'network') };
  const r = await execa('sh', [SCRIPT, 'render'], { env, reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  const read = (p: string) => readFileSync(join(dir, p), 'utf8');
  return { dir, stderr: r.stderr, green: read('network/10-xdpfire-green0.network'), red: read('network/10-xdpfire-red0.network'), nft: read('run/xdpfire-settings.nft'), dnsmasq: read('run/dnsmasq.conf') };
}

/** nft in a network namespace of its own, so that nothing touches the host's ruleset. */
async function nftInNs(args: string[]) {
  const ns = `xf-${process.pid}-nft${Math.random().toString(36).slice(2, 6)}`;
  await execa('ip', ['netns', 'add', ns]);
  try {
    return await execa('ip', ['netns', 'exec', ns, 'sh', '-c', 'nft "$@" && nft list ruleset', 'sh', ...args], { reject: false });
  } finally {
    await execa('ip', ['netns', 'del', ns], { reject: false });
  }
}

describe('xdpfire-setup render', () => {
  it('defaults: green 192.168.1.1/24 static, red DHCP, DHCP .100-.199, no SSH', async () => {
    const r = await render(null);
    expect(r.green).toMatch(/^\[Match\]\nName=green0$/m);
    expect(r.green).toMatch(/^Address=192\.168\.1\.1\/24$/m);
    expect(r.green).toMatch(/^ConfigureWithoutCarrier=yes$/m);
    expect(r.red).toMatch(/^Name=red0$/m);
    expect(r.red).toMatch(/^DHCP=ipv4$/m);
    expect(r.nft).toMatch(/^define green_tcp = \{ 444, 53 \}$/m);
    expect(r.nft).toMatch(/^define green_net = 192\.168\.1\.0\/24$/m);
    expect(r.dnsmasq).toMatch(/^interface=green0$/m);
    expect(r.dnsmasq).toMatch(/^dhcp-range=green0,192\.168\.1\.100,192\.168\.1\.199,255\.255\.255\.0,12h$/m);
    expect(r.dnsmasq).toMatch(/^dhcp-option=green0,option:router,192\.168\.1\.1$/m);
    expect(r.dnsmasq).toMatch(/^dhcp-option=green0,option:dns-server,192\.168\.1\.1$/m);
  });

  it('derives the DHCP range from green, honours SSH, a static red and explicit ranges', async () => {
    const a = await render('GREEN_ADDRESS=10.20.30.129/26\nSSH_ENABLED=on\nRED_TYPE=static\nRED_ADDRESS=203.0.113.5/29\nRED_GATEWAY=203.0.113.1\nRED_DNS=9.9.9.9, 1.1.1.1\n');
    expect(a.dnsmasq).toMatch(/^dhcp-range=green0,10\.20\.30\.160,10\.20\.30\.190,255\.255\.255\.192,12h$/m);
    expect(a.nft).toMatch(/^define green_tcp = \{ 444, 53, 22 \}$/m);
    expect(a.nft).toMatch(/^define green_net = 10\.20\.30\.128\/26$/m);
    expect(a.red).toMatch(/^Address=203\.0\.113\.5\/29\nGateway=203\.0\.113\.1\nDNS=9\.9\.9\.9\nDNS=1\.1\.1\.1$/m);
    expect(a.red).not.toMatch(/DHCP=/);
    const b = await render('GREEN_ADDRESS=172.16.0.1/16\nDHCP_RANGE_START=172.16.5.10\nDHCP_RANGE_END=172.16.5.20\nDHCP_LEASE=1h\n');
    expect(b.dnsmasq).toMatch(/^dhcp-range=green0,172\.16\.5\.10,172\.16\.5\.20,255\.255\.0\.0,1h$/m);
    const c = await render('GREEN_ADDRESS=10.0.0.1/24\nDHCP_ENABLED=off\n');
    expect(c.dnsmasq).not.toMatch(/dhcp-range/);
  });

  it('rejects bad values with a log line and uses the defaults (no injection into the files)', async () => {
    const marker = join(tmpdir(), `xdpfire-injected-${process.pid}`);
    const r = await render(`GREEN_ADDRESS=10.0.0.1/24; rm -rf /\nDHCP_RANGE_START=192.168.7.1\nRED_TYPE=pppoe\nDOMAIN=a b\nDHCP_LEASE=$(touch ${marker})\nSSH_ENABLED=\`touch ${marker}\`\n`);
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).toMatch(/DHCP_LEASE '\$\(touch .*\)' is not N, Nm, Nh, Nd or infinite; using 12h/);
    expect(r.stderr).toMatch(/GREEN_ADDRESS '10\.0\.0\.1\/24; rm -rf \/' is not an IPv4 address\/prefix/);
    expect(r.stderr).toMatch(/DHCP range address '192\.168\.7\.1' is not in 192\.168\.1\.0\/24/);
    expect(r.stderr).toMatch(/RED_TYPE 'pppoe' is neither DHCP nor STATIC; using DHCP/);
    expect(r.green).toMatch(/^Address=192\.168\.1\.1\/24$/m);
    expect(r.dnsmasq).toMatch(/^domain=localdomain$/m);
    expect(r.dnsmasq).toMatch(/^dhcp-range=green0,192\.168\.1\.100,192\.168\.1\.199,/m);
  });

  it('dnsmasq --test accepts the rendered configuration', async () => {
    for (const s of [null, 'GREEN_ADDRESS=10.20.30.129/26\nSSH_ENABLED=on\n']) {
      const r = await render(s);
      const t = await execa('dnsmasq', ['--test', `--conf-file=${join(r.dir, 'run/dnsmasq.conf')}`], { reject: false });
      expect(t.stderr, t.stderr).toMatch(/syntax check OK/);
    }
  });

  it('dnsmasq reads the drop-ins of other packages from $RUN/dnsmasq.d (*.conf only), and rendering again keeps them', async () => {
    const r = await render(null);
    const dropins = join(r.dir, 'run/dnsmasq.d');
    expect(r.dnsmasq).toContain(`\nconf-dir=${dropins},*.conf\n`);
    // what xdp-sni-apply writes there: a servers file and filter-rr
    writeFileSync(join(dropins, 'xdp-sni.conf'), `servers-file=${join(dropins, 'xdp-sni.servers')}\nfilter-rr=SVCB,HTTPS\n`);
    writeFileSync(join(dropins, 'xdp-sni.servers'), '# a comment\nserver=/use-application-dns.net/\n');
    const t = await execa('dnsmasq', ['--test', `--conf-file=${join(r.dir, 'run/dnsmasq.conf')}`], { reject: false });
    expect(t.stderr, t.stderr).toMatch(/syntax check OK/);
    // a file not named *.conf is not read as configuration (a bad line in it would fail the check)
    writeFileSync(join(dropins, 'notes.txt'), 'no-such-option\n');
    const u = await execa('dnsmasq', ['--test', `--conf-file=${join(r.dir, 'run/dnsmasq.conf')}`], { reject: false });
    expect(u.stderr, u.stderr).toMatch(/syntax check OK/);
    writeFileSync(join(dropins, 'bad.conf'), 'no-such-option\n');
    const v = await execa('dnsmasq', ['--test', `--conf-file=${join(r.dir, 'run/dnsmasq.conf')}`], { reject: false });
    expect(v.exitCode).not.toBe(0);
    const env = { ...process.env, XDPFIRE_ETC: join(r.dir, 'etc'), XDPFIRE_RUN: join(r.dir, 'run'), XDPFIRE_NETDIR: join(r.dir, 'network') };
    expect((await execa('sh', [SCRIPT, 'render'], { env, reject: false })).exitCode).toBe(0);
    expect(existsSync(join(dropins, 'xdp-sni.conf'))).toBe(true);
  });

  it.skipIf(!isRoot)('nft -c accepts the ruleset, and it loads (twice, atomically replacing its table) with the rendered settings', async () => {
    for (const s of [null, 'SSH_ENABLED=on\nGREEN_ADDRESS=10.9.8.1/24\n']) {
      const r = await render(s);
      const check = await execa('nft', ['-c', '-I', join(r.dir, 'run'), '-f', RULESET], { reject: false });
      expect(check.exitCode, check.stderr).toBe(0);
      const load = await nftInNs(['-I', join(r.dir, 'run'), '-f', RULESET, '-f', RULESET]);
      expect(load.exitCode, load.stderr).toBe(0);
      const rules = load.stdout;
      expect(rules.match(/table inet xdpfire/g)).toHaveLength(1);
      expect(rules).toMatch(/chain input \{\n\s+type filter hook input priority filter; policy drop;/);
      expect(rules).toMatch(/chain forward \{\n\s+type filter hook forward priority filter; policy drop;/);
      expect(rules).toMatch(/ct state established,related accept/);
      expect(rules).toMatch(/iifname "green0" oifname "red0" accept/);
      expect(rules).toMatch(/type nat hook postrouting priority srcnat; policy accept;\n\s+oifname "red0" masquerade/);
      expect(rules).toMatch(s ? /tcp dport \{ 22, 53, 444 \} accept/ : /tcp dport \{ 53, 444 \} accept/);
      expect(rules).toMatch(/udp dport \{ 53, 67 \} accept/);
    }
  });

  it.skipIf(!isRoot)('nft -c rejects a broken ruleset (the check can fail)', async () => {
    const r = await render(null);
    const bad = join(r.dir, 'bad.nft');
    writeFileSync(bad, readFileSync(RULESET, 'utf8').replace('oifname $red_if masquerade', 'oifname $no_such_var masquerade'));
    const check = await execa('nft', ['-c', '-I', join(r.dir, 'run'), '-f', bad], { reject: false });
    expect(check.exitCode).not.toBe(0);
    expect(check.stderr).toMatch(/no_such_var/);
  });
});
