// Waits on the box under test (a FirewallLab: the guest behind the serial
// console and its network lab), shared by the QA scenarios.
import { execa } from 'execa';
import type { FirewallLab } from '../../build/qemu/firewall-lab.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until xdp-sni.service is active again (a restart under TCG takes a while). */
export async function waitActive(fw: FirewallLab): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await fw.con.run('systemctl is-active xdp-sni')).output.trim() === 'active') return;
    await sleep(2000);
  }
  throw new Error('xdp-sni.service did not become active again');
}

/**
 * After a reload, a removal or `xdp-sni doors` that switches the DNS doors, xdp-sni-apply
 * restarts green's dnsmasq without waiting (systemctl --no-block): wait until systemd has no
 * job left and dnsmasq is active, then until `name` resolves for the client. A client meets
 * "a moment without DNS" and retries; a check must not take that moment for a block or a pass.
 */
export async function dnsSettled(fw: FirewallLab, name: string): Promise<void> {
  // bounded by time, not by tries: under TCG on a loaded host each systemctl call takes a while
  const r = await fw.con.run(`timeout 60 sh -c 'until [ -z "$(systemctl list-jobs --no-legend)" ]; do sleep 0.2; done'; systemctl is-active xdpfire-dnsmasq`, 120_000);
  if (!/^active/m.test(r.output)) throw new Error(`green's dnsmasq is not active: ${r.output}`);
  for (let i = 0; i < 20; i++) {
    const q = await execa('ip', ['netns', 'exec', fw.lab.ns.client, 'getent', 'hosts', name], { reject: false });
    if (q.exitCode === 0) return;
    await sleep(500);
  }
  throw new Error(`${name} does not resolve for the client 10 s after dnsmasq's restart`);
}

/** The size of the guest's /var/log/messages now: a mark for xdpSniLinesSince(). */
export async function messagesMark(fw: FirewallLab): Promise<number> {
  return Number((await fw.con.run('stat -c %s /var/log/messages')).output.trim());
}

/** xdp-sni's lines in the guest's /var/log/messages after byte `mark`, without the syslog prefix. */
export async function xdpSniLinesSince(fw: FirewallLab, mark: number): Promise<string[]> {
  const r = await fw.con.run(`tail -c +${mark + 1} /var/log/messages | grep -a 'xdp-sni\\[' | sed 's/^.*xdp-sni\\[[0-9]*\\]: //' || true`, 120_000);
  return r.output.replace(/\r/g, '').split('\n').filter(Boolean);
}

/** One connection's xdp-sni lines on the box, whole (time and daemon PID kept). */
export interface ConnectionLines {
  /** Lines in the guest's /var/log/messages. */
  messages: string[];
  /** Entries in its journal (empty when not asked for). */
  journal: string[];
}

/**
 * The xdp-sni lines of the connection from `from`:`port` (every connection a
 * scenario makes has a source port of its own): in /var/log/messages and,
 * with `journal`, in the journal of this boot.
 */
export async function connectionLines(fw: FirewallLab, from: string, port: number, journal = true): Promise<ConnectionLines> {
  const src = ` src=${from}:${port} `;
  const pick = (out: string) => out.replace(/\r/g, '').split('\n').filter((l) => l.includes(src));
  const messages = pick((await fw.con.run(`grep -a 'xdp-sni\\[' /var/log/messages | grep -aF -- '${src}' || true`)).output);
  if (!journal) return { messages, journal: [] };
  return { messages, journal: pick((await fw.con.run(`journalctl -b --no-pager -o short-precise -t xdp-sni | grep -aF -- '${src}' || true`)).output) };
}

/**
 * Wait (up to `timeoutMs`) until each of the connections from `from` has a
 * line in /var/log/messages, then `settleMs` more, time for a second copy to
 * arrive, and return each one's lines: a check can then count them.
 */
export async function settledConnectionLines(
  fw: FirewallLab,
  from: string,
  ports: number[],
  opts: { timeoutMs?: number; settleMs?: number; journal?: boolean } = {},
): Promise<ConnectionLines[]> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    let all = true;
    for (const p of ports) if ((await connectionLines(fw, from, p, false)).messages.length === 0) all = false;
    if (all) break;
    await sleep(2000);
  }
  await sleep(opts.settleMs ?? 3000);
  const out: ConnectionLines[] = [];
  for (const p of ports) out.push(await connectionLines(fw, from, p, opts.journal ?? true));
  return out;
}
