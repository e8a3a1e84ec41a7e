// xdp-sni's settings scripts (packages/xdp-sni/files/xdp-sni-apply and
// xdp-sni-stop) on the host, with stand-ins for xdp-sni, ip, nft and
// systemctl that only write down how they were called. The settings file is
// read by xdpfire-base's settings.sh, taken from the source tree
// (XDPFIRE_LIB); the list of encrypted DNS endpoints is the package's
// (XDP_SNI_DATA); dnsmasq's drop-in goes to a temporary XDPFIRE_RUN.
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';

const FILES = join(REPO_ROOT, 'packages/xdp-sni/files');
const DATA = join(REPO_ROOT, 'packages/xdp-sni/data');
const LIB = join(REPO_ROOT, 'packages/xdpfire-base/files');
/** The names of the shipped list of encrypted DNS endpoints, in its order. */
const EDNS: string[] = JSON.parse(readFileSync(join(DATA, 'encrypted-dns.json'), 'utf8')).endpoints.map((e: { name: string }) => e.name);

// Each stand-in appends "name args..." to $CALLS (nft -f - also its input;
// xdp-sni import - the number of names it was given).
// xdp-sni status fails until FAKE_STATUS=ok and prints FAKE_ATTACHED;
// category list prints FAKE_CATS, group list FAKE_GROUPS (default: the
// maps' first state, blocklist and the default group blocking it);
// ip link show dev X succeeds when X is in FAKE_LINKS.
const FAKES: Record<string, string> = {
  'xdp-sni': `#!/bin/sh
echo "xdp-sni $*" >>"$CALLS"
# the tool saves a change into $XDP_SNI_CONF: apply must not write back what it reads
case "$1" in mode|rst|log|unreadable|quic|ports|exempt) [ -z "\${XDP_SNI_CONF-}" ] || echo "(would save into $XDP_SNI_CONF)" >>"$CALLS" ;; esac
case "$1 \${2:-}" in
"status "*)
	[ "\${FAKE_STATUS:-}" = ok ] || exit 1
	printf '%s\\n' "\${FAKE_ATTACHED:-}"
	;;
"category list") printf '%b' "\${FAKE_CATS-blocklist\\t0\\n}" ;;
"group list") printf '%b' "\${FAKE_GROUPS-default\\tmode=blocklist\\tblock=blocklist\\tallow=-\\tclients=0\\n}" ;;
"import -") echo "  $(grep -c .) names" >>"$CALLS" ;;
esac
exit 0
`,
  systemctl: `#!/bin/sh
echo "systemctl $*" >>"$CALLS"
exit 0
`,
  ip: `#!/bin/sh
echo "ip $*" >>"$CALLS"
for l in \${FAKE_LINKS:-}; do [ "$4" = "$l" ] && exit 0; done
exit 1
`,
  nft: `#!/bin/sh
echo "nft $*" >>"$CALLS"
[ "$1" = -f ] && cat >>"$CALLS"
exit 0
`,
};

function setup(conf: string | null, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'xdp-sni-apply-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const [name, text] of Object.entries(FAKES)) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
  const confFile = join(dir, 'xdp-sni.conf');
  if (conf !== null) writeFileSync(confFile, conf);
  const calls = join(dir, 'calls');
  writeFileSync(calls, '');
  const pins = join(dir, 'pins');
  mkdirSync(pins);
  const run_ = join(dir, 'run');
  const fullEnv = {
    ...process.env, PATH: `${bin}:${process.env.PATH}`, CALLS: calls, XDP_SNI_CONF: confFile, XDPFIRE_LIB: LIB, XDP_SNI_PINS: pins,
    XDP_SNI_DATA: DATA, XDPFIRE_RUN: run_, FAKE_LINKS: 'green0', XDP_SNI_ECH_EXTRA: join(dir, 'none.list'), ...env,
  };
  const run = async (script: 'xdp-sni-apply' | 'xdp-sni-stop') => {
    const r = await execa('sh', [join(FILES, script)], { env: fullEnv, reject: false });
    return { ...r, calls: readFileSync(calls, 'utf8') };
  };
  /** xdp-sni's dnsmasq files: the drop-in and the servers file (null when missing). */
  const dns = () => {
    const read = (f: string) => (existsSync(join(run_, 'dnsmasq.d', f)) ? readFileSync(join(run_, 'dnsmasq.d', f), 'utf8') : null);
    return { conf: read('xdp-sni.conf'), servers: read('xdp-sni.servers') };
  };
  const clear = () => writeFileSync(calls, '');
  return { dir, confFile, pins, run, dns, clear, env: fullEnv };
}

describe('xdp-sni-apply', () => {
  it('applies the shipped settings: maps, mode, attach to green0, the encrypted-dns category in every group, the nft table, dnsmasq', async () => {
    const s = setup(readFileSync(join(FILES, 'xdp-sni.conf'), 'utf8'), {
      FAKE_GROUPS: 'default\tmode=blocklist\tblock=blocklist\tallow=-\tclients=0\nkids\tmode=allow-only\tblock=-\tallow=school\tclients=2\n',
    });
    const r = await s.run('xdp-sni-apply');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.calls).toBe(
      [
        'xdp-sni status',
        'xdp-sni init',
        'xdp-sni exempt set',
        'xdp-sni ports 443',
        'xdp-sni rst on',
        'xdp-sni log all',
        'xdp-sni unreadable block',
        'xdp-sni quic filter',
        'xdp-sni mode block',
        'xdp-sni status',
        'ip link show dev green0',
        'xdp-sni attach --dev green0 --mode auto',
        'xdp-sni category list',
        'xdp-sni category add encrypted-dns',
        'xdp-sni import - --category encrypted-dns --subdomains --replace',
        `  ${EDNS.length} names`,
        'xdp-sni group list',
        'xdp-sni group block default blocklist,encrypted-dns',
        'xdp-sni group block kids encrypted-dns',
        'xdp-sni category list',
        'xdp-sni category add ech-public',
        'xdp-sni import - --category ech-public --replace',
        '  1 names',
        'xdp-sni group list',
        'xdp-sni group block default blocklist,ech-public',
        'xdp-sni group block kids ech-public',
        'nft -f -',
        'table inet xdp_sni',
        'delete table inet xdp_sni',
        'table inet xdp_sni {',
        '\tchain forward {',
        '\t\ttype filter hook forward priority -10; policy accept;',
        '\t\tiifname { "green0" } meta l4proto { tcp, udp } th dport 853 drop',
        '\t}',
        '\tchain input {',
        '\t\ttype filter hook input priority -10; policy accept;',
        '\t}',
        '}',
        'systemctl --no-block try-restart xdpfire-dnsmasq.service',
        '',
      ].join('\n'),
    );
    const d = s.dns();
    expect(d.conf).toMatch(/^filter-rr=SVCB,HTTPS$/m);
    expect(d.conf).toContain(`\nservers-file=${s.env.XDPFIRE_RUN}/dnsmasq.d/xdp-sni.servers\n`);
    const servers = d.servers!.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(servers).toEqual(['server=/use-application-dns.net/', ...EDNS.map((n) => `server=/${n}/`)]);
    expect(servers.join('\n')).not.toMatch(/firefox\.com|mozilla\.org/);
  });

  it('takes quoted lists, skips missing and attached interfaces; in monitor mode no nft table and no DNS doors', async () => {
    const s = setup('MODE=monitor\nINTERFACES="green0 blue0 orange0"\nPORTS=443, 8443\nEXEMPT="10.0.0.0/8 192.168.1.5"\nRST=off\nLOG=listed\nUNREADABLE=pass\nATTACH_MODE=native\n', {
      FAKE_STATUS: 'ok',
      FAKE_ATTACHED: 'attached: green0 (native)',
      FAKE_LINKS: 'green0 orange0',
      FAKE_CATS: 'blocklist\t3\nencrypted-dns\t52\n',
      FAKE_GROUPS: 'default\tmode=blocklist\tblock=encrypted-dns,blocklist\tallow=-\tclients=0\n',
    });
    const r = await s.run('xdp-sni-apply');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe('xdp-sni-apply: interface blue0 does not exist; skipped');
    expect(r.calls.split('\n')).toEqual([
      'xdp-sni status',
      'xdp-sni exempt set 10.0.0.0/8 192.168.1.5',
      'xdp-sni ports 443, 8443',
      'xdp-sni rst off',
      'xdp-sni log listed',
      'xdp-sni unreadable pass',
      'xdp-sni quic filter',
      'xdp-sni mode monitor',
      'xdp-sni status',
      'ip link show dev green0',
      'ip link show dev blue0',
      'ip link show dev orange0',
      'xdp-sni attach --dev orange0 --mode native',
      'xdp-sni category list',
      'xdp-sni import - --category encrypted-dns --subdomains --replace',
      `  ${EDNS.length} names`,
      'xdp-sni group list',
      'xdp-sni category list',
      'xdp-sni category add ech-public',
      'xdp-sni import - --category ech-public --replace',
      '  1 names',
      'xdp-sni group list',
      'xdp-sni group block default encrypted-dns,blocklist,ech-public',
      'nft delete table inet xdp_sni',
      'systemctl --no-block try-restart xdpfire-dnsmasq.service',
      '',
    ]);
    // dnsmasq reads the (empty) servers file, and filters nothing
    expect(s.dns().conf).not.toMatch(/filter-rr/);
    expect(s.dns().servers!.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([]);
  });

  it('QUIC=filter|hold|drop|pass goes to the tool; only drop writes the UDP rule; BLOCK_QUIC still works without QUIC; a bad value stops', async () => {
    for (const [conf, word, rule] of [
      ['QUIC=filter\n', 'filter', false], ['QUIC=hold\n', 'hold', false], ['QUIC=drop\n', 'drop', true], ['QUIC=pass\n', 'pass', false],
      ['BLOCK_QUIC=yes\n', 'drop', true], ['BLOCK_QUIC=no\n', 'pass', false], ['BLOCK_QUIC=no\nQUIC=filter\n', 'filter', false], ['', 'filter', false],
    ] as const) {
      const r = await setup(conf).run('xdp-sni-apply');
      expect(r.exitCode, `${conf}: ${r.stderr}`).toBe(0);
      expect(r.calls).toContain(`xdp-sni unreadable block\nxdp-sni quic ${word}\n`);
      expect(r.calls.includes('udp dport { 443 } drop'), conf).toBe(rule);
      // the DoT/DoQ rule stays whatever QUIC is
      expect(r.calls).toContain('th dport 853 drop');
    }
    const bad = await setup('QUIC=yes\n').run('xdp-sni-apply');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toBe("xdp-sni-apply: QUIC must be drop, filter, hold or pass, not 'yes'");
    expect(bad.calls).toBe('');
  });

  it('writes every listed interface and port into the QUIC table, whatever separates the ports', async () => {
    const s = setup('INTERFACES=green0 blue0\nPORTS=443 8443,10443\nQUIC=drop\n', { FAKE_LINKS: 'green0 blue0' });
    const r = await s.run('xdp-sni-apply');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.calls).toContain('\t\tiifname { "green0", "blue0" } udp dport { 443, 8443, 10443 } drop\n');
  });

  it('never runs what a value says: $(...), backticks and ; are text, and bad values stop before any change', async () => {
    const marker = join(tmpdir(), `pwned-xdp-sni-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    const hostile = [
      [`MODE=$(touch ${marker})`, `MODE must be monitor or block, not '$(touch ${marker})'`],
      [`RST=\`touch ${marker}\``, `RST must be on or off, not '\`touch ${marker}\`'`],
      [`LOG=all; touch ${marker}`, `LOG must be all or listed, not 'all; touch ${marker}'`],
      [`INTERFACES="green0\\" } ; flush ruleset ; {\\""`, `INTERFACES: 'green0\\"' is not an interface name`],
      [`INTERFACES=green0;touch${marker}`, `INTERFACES: 'green0;touch${marker}' is not an interface name`],
      [`PORTS=443 } ; flush ruleset`, `PORTS must be port numbers separated by commas, or none, not '443 } ; flush ruleset'`],
      [`EXEMPT=$(touch ${marker}) \`touch ${marker}\``, `EXEMPT: '$(touch' is not an address or prefix`],
      ['HISTORY_MB=0', `HISTORY_MB must be a number of megabytes from 1 to 100000, not '0'`],
      ['HISTORY_MB=100001', `HISTORY_MB must be a number of megabytes from 1 to 100000, not '100001'`],
      ['HISTORY_MB=5 MB', `HISTORY_MB must be a number of megabytes from 1 to 100000, not '5 MB'`],
      ['DNS_FILTER_HTTPS=on', `DNS_FILTER_HTTPS must be yes or no, not 'on'`],
      ['DNS_CANARY=', `DNS_CANARY must be yes or no, not ''`],
      ['ENCRYPTED_DNS=deny', `ENCRYPTED_DNS must be block or allow, not 'deny'`],
      ['ECH=drop', `ECH must be allow, log or block, not 'drop'`],
    ];
    for (const [line, message] of hostile) {
      const s = setup(`${line}\n`);
      const r = await s.run('xdp-sni-apply');
      expect(existsSync(marker), `${line}: a value was executed`).toBe(false);
      expect(r.exitCode, line).toBe(2);
      expect(r.stderr.split('\n'), line).toContain(`xdp-sni-apply: ${message}`);
      expect(r.calls, line).toBe('');
      expect(s.dns(), line).toEqual({ conf: null, servers: null });
    }
    // Values that are only passed on reach xdp-sni as one literal argument each.
    const s = setup('EXEMPT=192.0.2.0/24 *\nHISTORY_MB=7\n');
    const r = await s.run('xdp-sni-apply');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`EXEMPT: '*' is not an address or prefix`);
    const t = setup('EXEMPT=192.0.2.0/24   2001:db8::/32\nHISTORY_MB=7\n');
    const q = await t.run('xdp-sni-apply');
    expect(q.exitCode, q.stderr).toBe(0);
    expect(q.calls).toContain('xdp-sni exempt set 192.0.2.0/24 2001:db8::/32\nxdp-sni ports 443\n');
  });

  it('a malformed line or an unknown key names the file and line, and nothing is applied', async () => {
    for (const [conf, message] of [
      ['MODE=block\nthis is not a setting\n', ':2: not KEY=value'],
      ['MDOE=monitor\n', ':1: unknown key MDOE (known: MODE INTERFACES ATTACH_MODE PORTS RST LOG UNREADABLE EXEMPT BLOCK_QUIC HISTORY_MB DNS_FILTER_HTTPS DNS_CANARY ENCRYPTED_DNS ECH QUIC)'],
      ['PATH=/tmp\n', ':1: unknown key PATH'],
      ['MODE="monitor\n', `:1: MODE: the value's opening quote is not closed`],
    ]) {
      const s = setup(conf);
      const r = await s.run('xdp-sni-apply');
      expect(r.exitCode, conf).toBe(2);
      expect(r.stderr, conf).toContain(`xdp-sni-apply: ${s.confFile}${message}`);
      expect(r.calls, conf).toBe('');
    }
  });

  it('without a settings file, applies the defaults (not variables from the environment)', async () => {
    const s = setup(null, { MODE: 'monitor', INTERFACES: 'blue0', RST: 'off' });
    const r = await s.run('xdp-sni-apply');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.calls).toContain('xdp-sni mode block\n');
    expect(r.calls).toContain('xdp-sni rst on\n');
    expect(r.calls).toContain('xdp-sni attach --dev green0 --mode auto\n');
    // a key set to nothing stays empty: no interfaces, so no attach and no QUIC table
    const e = setup('INTERFACES=\n');
    const q = await e.run('xdp-sni-apply');
    expect(q.exitCode, q.stderr).toBe(0);
    expect(q.calls).not.toMatch(/attach|nft -f/);
  });

  it('signals dnsmasq only for what changed: nothing, a SIGHUP for the names, a restart for filter-rr', async () => {
    const s = setup('');
    const dnsCalls = (calls: string) => calls.split('\n').filter((l) => l.startsWith('systemctl'));
    expect(dnsCalls((await s.run('xdp-sni-apply')).calls)).toEqual(['systemctl --no-block try-restart xdpfire-dnsmasq.service']);
    // the same settings again: the files are the same, dnsmasq is left alone
    s.clear();
    expect(dnsCalls((await s.run('xdp-sni-apply')).calls)).toEqual([]);
    // encrypted DNS allowed: the servers file changes (a reload), the drop-in does not;
    // the category leaves the groups; the nft table keeps QUIC only
    writeFileSync(s.confFile, 'ENCRYPTED_DNS=allow\n');
    s.clear();
    const allow = await s.run('xdp-sni-apply');
    expect(allow.exitCode, allow.stderr).toBe(0);
    expect(dnsCalls(allow.calls)).toEqual(['systemctl --no-block try-reload-or-restart xdpfire-dnsmasq.service']);
    expect(s.dns().servers!.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['server=/use-application-dns.net/']);
    expect(s.dns().conf).toMatch(/^filter-rr=SVCB,HTTPS$/m);
    expect(allow.calls).not.toContain('853');
    expect(allow.calls).not.toContain('udp dport { 443 } drop'); // QUIC=filter, the default
    // the fake's default group does not block encrypted-dns: nothing to take out (it gets ech-public, ECH=block)
    expect(allow.calls.split('\n').filter((l) => l.includes('group block'))).toEqual(['xdp-sni group block default blocklist,ech-public']);
    const out = setup('ENCRYPTED_DNS=allow\nBLOCK_QUIC=no\n', {
      FAKE_GROUPS: 'default\tmode=blocklist\tblock=blocklist,encrypted-dns\tallow=-\tclients=0\nkids\tmode=blocklist\tblock=encrypted-dns\tallow=-\tclients=1\n',
    });
    const o = await out.run('xdp-sni-apply');
    expect(o.calls).toContain('xdp-sni group block default blocklist\nxdp-sni group block kids -\n');
    expect(o.calls).toContain('nft delete table inet xdp_sni\n');
    expect(o.calls).not.toContain('nft -f');
    // HTTPS records let through: the drop-in changes, dnsmasq restarts
    writeFileSync(s.confFile, 'ENCRYPTED_DNS=allow\nDNS_FILTER_HTTPS=no\nDNS_CANARY=no\n');
    s.clear();
    const pass = await s.run('xdp-sni-apply');
    expect(dnsCalls(pass.calls)).toEqual(['systemctl --no-block try-restart xdpfire-dnsmasq.service']);
    expect(s.dns().conf).not.toMatch(/filter-rr/);
    expect(s.dns().servers!.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([]);
  });

  it("ECH: the shipped and the admin's public names in ech-public, blocked in every group (block), only marked (log), or the category taken away (allow)", async () => {
    const s = setup('ECH=block\n', {
      FAKE_CATS: 'blocklist\t3\nencrypted-dns\t52\nech-public\t1\n',
      FAKE_GROUPS: 'default\tmode=blocklist\tblock=blocklist,encrypted-dns\tallow=-\tclients=0\nkids\tmode=blocklist\tblock=encrypted-dns,ech-public\tallow=-\tclients=1\n',
    });
    writeFileSync(join(s.dir, 'ech.list'), '# our own\nPublic.Example   # the lab\n\n  ech.corp.example\n');
    s.env.XDP_SNI_ECH_EXTRA = join(s.dir, 'ech.list');
    const ech = (calls: string) => calls.split('\n').filter((l) => /ech-public|^ {2}\d+ names|group block/.test(l) && !l.includes('encrypted-dns --sub'));
    const block = await s.run('xdp-sni-apply');
    expect(block.exitCode, block.stderr).toBe(0);
    // 1 shipped + 2 of the admin's (lower-cased, comments and blanks dropped); kids already blocks it
    expect(ech(block.calls)).toEqual([`  ${EDNS.length} names`, 'xdp-sni import - --category ech-public --replace', '  3 names', 'xdp-sni group block default blocklist,encrypted-dns,ech-public']);
    writeFileSync(s.confFile, 'ECH=log\n');
    s.clear();
    const log = await s.run('xdp-sni-apply');
    expect(ech(log.calls)).toEqual([`  ${EDNS.length} names`, 'xdp-sni import - --category ech-public --replace', '  3 names', 'xdp-sni group block kids encrypted-dns']);
    writeFileSync(s.confFile, 'ECH=allow\n');
    s.clear();
    const allow = await s.run('xdp-sni-apply');
    expect(ech(allow.calls)).toEqual([`  ${EDNS.length} names`, 'xdp-sni category del ech-public']);
  });

  it('a broken shipped name list (encrypted DNS, ECH public names) or admin list stops before anything changes (exit 1)', async () => {
    const good = readFileSync(join(DATA, 'encrypted-dns.json'), 'utf8');
    const ech = readFileSync(join(DATA, 'ech-public-names.json'), 'utf8');
    for (const [what, file, text, message] of [
      ['missing', 'encrypted-dns.json', null, 'cannot read the shipped name list'],
      ['not in the layout', 'encrypted-dns.json', JSON.stringify(JSON.parse(good)), 'no category or no names'],
      ['a name that is no host name', 'encrypted-dns.json', good.replace('"name": "dns.google"', '"name": "dns.google/#/1.2.3.4"'), `'dns.google/#/1.2.3.4' is not a host name`],
      ['a bad category', 'encrypted-dns.json', good.replace('"category": "encrypted-dns"', '"category": "Encrypted DNS"'), 'no category or no names'],
      ['ECH list missing', 'ech-public-names.json', null, 'cannot read the shipped name list'],
      ['ECH name that is no host name', 'ech-public-names.json', ech.replace('"name": "cloudflare-ech.com"', '"name": "cloudflare-ech.com;reboot"'), `'cloudflare-ech.com;reboot' is not a host name`],
      ["the admin's ECH list", 'ech-extra', '# mine\npublic.example\n*.evil\n', `'*.evil' is not a host name`],
    ] as const) {
      const s = setup('');
      const data = join(s.dir, 'data');
      mkdirSync(data);
      for (const f of ['encrypted-dns.json', 'ech-public-names.json']) if (f !== file) writeFileSync(join(data, f), f === 'ech-public-names.json' ? ech : good);
      if (file === 'ech-extra') {
        writeFileSync(join(data, 'encrypted-dns.json'), good);
        writeFileSync(join(s.dir, 'ech.list'), text);
        s.env.XDP_SNI_ECH_EXTRA = join(s.dir, 'ech.list');
      } else if (text !== null) writeFileSync(join(data, file), text);
      s.env.XDP_SNI_DATA = data;
      const r = await s.run('xdp-sni-apply');
      expect(r.exitCode, what).toBe(1);
      expect(r.stderr, what).toContain(message);
      expect(r.calls, what).toBe('');
      expect(s.dns(), what).toEqual({ conf: null, servers: null });
    }
  });
});

describe('xdp-sni-stop', () => {
  it('takes its files out of dnsmasq and restarts it, when they were there', async () => {
    const s = setup('');
    await s.run('xdp-sni-apply');
    expect(s.dns().conf).not.toBe(null);
    s.clear();
    const r = await s.run('xdp-sni-stop');
    expect(r.exitCode).toBe(0);
    expect(s.dns()).toEqual({ conf: null, servers: null });
    expect(r.calls.split('\n').filter((l) => l.startsWith('systemctl'))).toEqual(['systemctl --no-block try-restart xdpfire-dnsmasq.service']);
  });

  it('detaches from the listed interfaces, drops the QUIC table and the pins', async () => {
    const s = setup('MODE=block\nINTERFACES="green0 blue0"\n');
    const r = await s.run('xdp-sni-stop');
    expect(r.exitCode).toBe(0);
    expect(r.calls.split('\n')).toEqual(['xdp-sni detach --dev green0', 'xdp-sni detach --dev blue0', 'nft delete table inet xdp_sni', '']);
    expect(existsSync(s.pins)).toBe(false);
  });

  it('still gets to the end with a broken settings file, or without the reader', async () => {
    const marker = join(tmpdir(), `pwned-xdp-sni-stop-${process.pid}`);
    const s = setup(`junk\nINTERFACES=$(touch ${marker})\n`);
    const r = await s.run('xdp-sni-stop');
    expect(r.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).toContain(`${s.confFile}:1: not KEY=value`);
    expect(r.calls).toContain(`xdp-sni detach --dev $(touch\nxdp-sni detach --dev ${marker})\n`);
    expect(r.calls).toContain('nft delete table inet xdp_sni\n');
    const t = setup('INTERFACES=blue0\n', { XDPFIRE_LIB: join(s.dir, 'nowhere') });
    const u = await t.run('xdp-sni-stop');
    expect(u.exitCode).toBe(0);
    expect(u.calls.split('\n')[0]).toBe('xdp-sni detach --dev green0');
    expect(existsSync(t.pins)).toBe(false);
  });
});
