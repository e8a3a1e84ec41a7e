// Client groups: list, add, remove; each group's blocked and allowed
// categories and its mode; its clients (add by address, prefix or MAC,
// remove). Every change is the daemon's `group` or `client` command, which
// refuses bad input whole; a change of several commands is undone when one
// is refused, under the web UI's policy lock.
import { DaemonError, must, type Ctl } from '../ctl.js';
import type { Form, Res } from '../http.js';
import { withLock } from '../lock.js';
import { policyDoc, type Group } from '../policy.js';
import { page } from '../render.js';
import { base, failStatus, field, flashTo, NAME_RE, res, unknownFrom, type Ctx, type Unknown } from '../web.js';

/** Changes to the policy from the web UI, one at a time (CGI processes share it). */
export function policyLock<T>(c: Ctx, fn: () => Promise<T>): Promise<T> {
  return withLock(`${c.d.cfg.socket}:policy`, fn, 30_000);
}

/** An address, a prefix or a MAC as typed: one word the daemon checks. */
export function clientAddr(raw: string): string | undefined {
  const a = raw.trim().toLowerCase();
  return /^[0-9a-f:./]{2,60}$/.test(a) ? a : undefined;
}

async function groupsPage(c: Ctx, error?: string, status = 200): Promise<Res> {
  let unknown: Unknown | undefined;
  let gs: Group[] = [];
  let cats: string[] = [];
  let rules: { addr: string; group: string }[] = [];
  try {
    const doc = await policyDoc(c.d.ctl);
    gs = doc.groups.map((g) => ({ ...g, clients: g.clients.length }));
    cats = doc.categories.map((x) => x.name);
    rules = doc.groups.flatMap((g) => g.clients.map((addr) => ({ addr, group: g.name })));
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    unknown = unknownFrom(e);
    error = error ?? e.message;
    status = status === 200 ? failStatus(e) : status;
  }
  const view = gs.map((g) => ({
    ...g,
    allowOnly: g.mode === 'allow-only',
    isDefault: g.name === 'default',
    cats: cats.map((cat) => ({ cat, block: g.block.includes(cat), allow: g.allow.includes(cat) })),
    rules: rules.filter((r) => r.group === g.name),
  }));
  return res(status, page('groups', base(c, 'groups', 'Groups', { error, known: !unknown, unknown, groups: view, hasCats: cats.length > 0 })));
}

const checked = (form: Form, prefix: string, cats: string[]) => cats.filter((cat) => form.fields.get(`${prefix}-${cat}`) === '1');
const list = (cats: string[]) => (cats.length ? cats.join(',') : '-');

/** Run the commands in order; on a refusal run the undo commands of those done (newest first) and throw. */
export async function allOrNothing(ctl: Ctl, steps: { run: string[]; undo?: string[] }[]): Promise<void> {
  const done: string[][] = [];
  try {
    for (const s of steps) {
      await must(ctl, s.run);
      if (s.undo) done.push(s.undo);
    }
  } catch (e) {
    let undone = true;
    for (const u of done.reverse()) await must(ctl, u).catch(() => (undone = false));
    if (e instanceof DaemonError) throw new DaemonError(`${e.message}; ${undone ? 'nothing was changed' : 'undoing the change FAILED too: check the group'}`);
    throw e;
  }
}

async function setGroup(c: Ctx, form: Form): Promise<Res> {
  const name = field(form, 'group', 40);
  const mode = field(form, 'mode', 12);
  if (!NAME_RE.test(name)) return groupsPage(c, 'Not changed: no such group.', 400);
  if (mode !== 'blocklist' && mode !== 'allow-only') return groupsPage(c, `Not changed: bad mode (blocklist or allow-only).`, 400);
  return policyLock(c, async () => {
    const doc = await policyDoc(c.d.ctl);
    const g = doc.groups.find((x) => x.name === name);
    if (!g) return groupsPage(c, `Not changed: there is no group ${name}.`, 404);
    const cats = doc.categories.map((x) => x.name);
    const block = checked(form, 'block', cats);
    const allow = checked(form, 'allow', cats);
    await allOrNothing(c.d.ctl, [
      { run: ['group', 'block', name, list(block)], undo: ['group', 'block', name, list(g.block)] },
      { run: ['group', 'allow', name, list(allow)], undo: ['group', 'allow', name, list(g.allow)] },
      { run: ['group', 'mode', name, mode], undo: ['group', 'mode', name, g.mode] },
    ]);
    return flashTo(c, `Group ${name}: ${mode}, blocks ${list(block)}, allows ${list(allow)}.`, `/groups#group-${name}`);
  });
}

async function addGroup(c: Ctx, form: Form): Promise<Res> {
  const name = field(form, 'group', 40).trim();
  if (!NAME_RE.test(name)) return groupsPage(c, 'Not added: a group name is a lower-case letter, then up to 30 lower-case letters, digits or "-".', 400);
  await policyLock(c, () => must(c.d.ctl, ['group', 'add', name]));
  return flashTo(c, `Added group ${name} (it starts with the default group's policy).`, `/groups#group-${name}`);
}

async function delGroup(c: Ctx, form: Form): Promise<Res> {
  const name = field(form, 'group', 40);
  if (!NAME_RE.test(name)) return groupsPage(c, 'Not removed: no such group.', 400);
  await policyLock(c, () => must(c.d.ctl, ['group', 'del', name]));
  return flashTo(c, `Removed group ${name}.`, '/groups');
}

async function addClient(c: Ctx, form: Form): Promise<Res> {
  const group = field(form, 'group', 40);
  const addr = clientAddr(field(form, 'addr', 80));
  const back = field(form, 'back', 20) === 'clients' ? '/clients' : `/groups#group-${group}`;
  if (!NAME_RE.test(group)) return groupsPage(c, 'Not added: choose a group.', 400);
  if (!addr) return groupsPage(c, 'Not added: a client is an IPv4 or IPv6 address or prefix (192.0.2.0/24, 2001:db8::/64) or a MAC address (aa:bb:cc:dd:ee:ff).', 400);
  const out = await policyLock(c, () => must(c.d.ctl, ['client', 'add', group, addr]));
  return flashTo(c, out.trim() || `${addr} is in group ${group}.`, back);
}

async function delClient(c: Ctx, form: Form): Promise<Res> {
  const addr = clientAddr(field(form, 'addr', 80));
  if (!addr) return groupsPage(c, 'Not removed: bad client address.', 400);
  await policyLock(c, () => must(c.d.ctl, ['client', 'del', addr]));
  return flashTo(c, `${addr} is in no group now (the default group takes it).`, field(form, 'back', 20) === 'clients' ? '/clients' : '/groups');
}

export const GROUP_ACTIONS: Record<string, (c: Ctx, form: Form) => Promise<Res>> = {
  'group-add': addGroup,
  'group-del': delGroup,
  'group-set': setGroup,
  'client-add': addClient,
  'client-del': delClient,
};

export const groupsFailed = (c: Ctx, _form: Form, msg: string, status: number) => groupsPage(c, msg, status);
export { groupsPage };
