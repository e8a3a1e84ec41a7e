// Clients: each one seen in the event history (the last 7 days) with its
// DHCP host name and MAC (dnsmasq's leases), its group and the rule that puts
// it there, its events and blocked events, and its recent names; a form puts
// it in a group by its address or its MAC.
import { DaemonError } from '../ctl.js';
import { clients as seenClients, events, type SeenClient } from '../history.js';
import type { Res } from '../http.js';
import { readLeases } from '../leases.js';
import { policyDoc } from '../policy.js';
import { page } from '../render.js';
import { base, failStatus, fmtTime, res, unknownFrom, type Ctx, type Unknown } from '../web.js';

/** clients whose recent names are listed (one history query each) */
const WITH_NAMES = 25;
const RECENT = 8;

export async function clientsPage(c: Ctx, error?: string, status = 200): Promise<Res> {
  let unknown: Unknown | undefined;
  let seen: SeenClient[] = [];
  let gs: string[] = [];
  let rules: { addr: string; group: string }[] = [];
  const recent = new Map<string, string[]>();
  try {
    const doc = await policyDoc(c.d.ctl);
    gs = doc.groups.map((g) => g.name);
    rules = doc.groups.flatMap((g) => g.clients.map((addr) => ({ addr, group: g.name })));
    seen = await seenClients(c.d.ctl, c.now - 7 * 86400_000);
    for (const s of seen.slice(0, WITH_NAMES)) {
      const ev = await events(c.d.ctl, { client: s.client, limit: 50 });
      recent.set(s.client, [...new Set(ev.map((e) => e.sni).filter(Boolean))].slice(0, RECENT));
    }
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    unknown = unknownFrom(e);
    error = error ?? e.message;
    status = status === 200 ? failStatus(e) : status;
  }
  const leases = readLeases(c.d.cfg.leasesFile);
  const rows = seen.map((s) => {
    const lease = leases.get(s.client);
    const rule = rules.find((r) => r.addr === s.client || r.addr === `${s.client}/32` || r.addr === `${s.client}/128` || (lease?.mac && r.addr === lease.mac));
    return {
      ...s,
      id: s.client.replace(/[^0-9a-fA-F]/g, '-'),
      hostname: lease?.hostname,
      mac: lease?.mac,
      rule: rule?.addr,
      last: fmtTime(s.last),
      names: recent.get(s.client),
      groups: gs.map((g) => ({ name: g, current: g === s.group })),
    };
  });
  return res(status, page('clients', base(c, 'clients', 'Clients', { error, known: !unknown, unknown, clients: rows, leasesFile: c.d.cfg.leasesFile, withNames: WITH_NAMES })));
}
