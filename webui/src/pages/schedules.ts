// Schedules: a weekly grid per group (7 days x 24 hours) that the admin edits
// by clicking cells. The daemon stores weekly windows (`schedule add GROUP
// DAYS HH:MM-HH:MM block|allow-only CATS`, `schedule del N`), so a click is
// turned into windows: a cell that any window of the group covers is cleared
// (each such window is replaced by what is left of it), an empty cell gets
// the chosen action and categories (merged with the same action's windows of
// that day that touch it). New windows are added first, then the old ones
// deleted by number after checking that the number still holds the same
// window; a refusal undoes what was added. All under the web UI's policy
// lock, so two clicks at once never delete each other's windows.
import { DaemonError, must } from '../ctl.js';
import type { Form, Res } from '../http.js';
import { daysText, DAY_NAMES, fmtHm, policyDoc, windows, type Window } from '../policy.js';
import { page } from '../render.js';
import { base, failStatus, field, flashTo, NAME_RE, res, unknownFrom, type Ctx, type Unknown } from '../web.js';
import { policyLock } from './groups.js';

type Span = [number, number]; // minutes of the week, [start, end), Monday 00:00 = 0

/** The minutes of the week a window covers (a window over midnight goes on into the next day). */
export function spans(w: Pick<Window, 'days' | 'start' | 'end'>): Span[] {
  const out: Span[] = [];
  for (let d = 0; d < 7; d++) {
    if (!((w.days >> d) & 1)) continue;
    const s = d * 1440 + w.start;
    if (w.end > w.start) out.push([s, d * 1440 + w.end]);
    else {
      out.push([s, (d + 1) * 1440]);
      if (w.end > 0) out.push([((d + 1) % 7) * 1440, ((d + 1) % 7) * 1440 + w.end]);
    }
  }
  return out;
}

function subtract(a: Span[], cut: Span): Span[] {
  const out: Span[] = [];
  for (const [s, e] of a) {
    if (e <= cut[0] || s >= cut[1]) out.push([s, e]);
    else {
      if (s < cut[0]) out.push([s, cut[0]]);
      if (e > cut[1]) out.push([cut[1], e]);
    }
  }
  return out;
}

/** Spans as windows of one day each, days with the same hours together: "DAYS HH:MM-HH:MM". */
export function asWindows(a: Span[]): { days: number; start: number; end: number }[] {
  const byHours = new Map<string, { days: number; start: number; end: number }>();
  for (const [s, e] of a) {
    // split at midnight: a window of the grid never runs over it
    for (let x = s; x < e; ) {
      const d = Math.floor(x / 1440) % 7;
      const dayEnd = (Math.floor(x / 1440) + 1) * 1440;
      const y = Math.min(e, dayEnd);
      const start = x % 1440;
      const end = y - Math.floor(x / 1440) * 1440;
      const k = `${start}-${end}`;
      const w = byHours.get(k) ?? { days: 0, start, end };
      w.days |= 1 << d;
      byHours.set(k, w);
      x = y;
    }
  }
  return [...byHours.values()].sort((p, q) => p.start - q.start || p.days - q.days);
}

const winArgs = (group: string, w: { days: number; start: number; end: number }, action: string, cats: string[]) => [
  'schedule', 'add', group, daysText(w.days), `${fmtHm(w.start)}-${fmtHm(w.end)}`, action, cats.join(','),
];

function overlap(a: Span[], b: Span): number {
  let n = 0;
  for (const [s, e] of a) n += Math.max(0, Math.min(e, b[1]) - Math.max(s, b[0]));
  return n;
}

/** Monday = 0 in the box's local time; the minute of the week. */
function weekMinute(t: number): number {
  const d = new Date(t);
  return ((d.getDay() + 6) % 7) * 1440 + d.getHours() * 60 + d.getMinutes();
}

async function schedulesPage(c: Ctx, error?: string, status = 200, groupName?: string): Promise<Res> {
  let unknown: Unknown | undefined;
  let gs: string[] = [];
  let cats: string[] = [];
  let ws: Window[] = [];
  try {
    const doc = await policyDoc(c.d.ctl);
    gs = doc.groups.map((g) => g.name);
    cats = doc.categories.map((x) => x.name);
    ws = await windows(c.d.ctl);
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    unknown = unknownFrom(e);
    error = error ?? e.message;
    status = status === 200 ? failStatus(e) : status;
  }
  const want = groupName ?? c.req.query.get('group') ?? '';
  const group = gs.includes(want) ? want : (gs.find((g) => g !== 'default') ?? gs[0] ?? 'default');
  const mine = ws.filter((w) => w.group === group).map((w) => ({ ...w, spans: spans(w) }));
  const nowM = weekMinute(c.now);
  const rows = DAY_NAMES.map((day, d) => ({
    day,
    cells: Array.from({ length: 24 }, (_, h) => {
      const cell: Span = [d * 1440 + h * 60, d * 1440 + h * 60 + 60];
      const hits = mine.map((w) => ({ w, n: overlap(w.spans, cell) })).filter((x) => x.n > 0);
      const full = hits.filter((x) => x.n === 60);
      const cls = full.length ? (full.some((x) => x.w.action === 'block') ? 'block' : 'allow-only') : hits.length ? 'part' : '';
      const what = hits.map((x) => `${x.w.action} ${x.w.cats.join(',')} (window ${x.w.n}${x.w.open ? ', open now' : ''}${x.n < 60 ? `, ${x.n} of 60 minutes` : ''})`).join('; ');
      return { id: `${d}-${h}`, cls, now: nowM >= cell[0] && nowM < cell[1], title: `${day} ${fmtHm(h * 60)}-${fmtHm(h * 60 + 60)}: ${what || 'no window (the group policy)'}` };
    }),
  }));
  const brushCats = new Set((c.req.query.get('cats') ?? '').split(',').filter(Boolean));
  return res(
    status,
    page('schedules', base(c, 'schedules', 'Schedules', {
      error,
      known: !unknown,
      unknown,
      group,
      groups: gs.map((g) => ({ name: g, current: g === group })),
      cats: cats.map((cat) => ({ cat, checked: brushCats.has(cat) })),
      action: c.req.query.get('action') === 'allow-only' ? 'allow-only' : 'block',
      hours: Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0')),
      rows,
      windows: mine,
      openNow: mine.filter((w) => w.open).length,
      now: `${DAY_NAMES[Math.floor(nowM / 1440)]} ${fmtHm(nowM % 1440)}`,
      dayNames: DAY_NAMES,
    })),
  );
}

/** Check that window N is still TEXT, then delete it. */
async function delWindow(c: Ctx, n: number, text: string): Promise<void> {
  const cur = (await windows(c.d.ctl)).find((w) => w.n === n);
  if (!cur || cur.text !== text) throw new DaemonError(`the schedule changed meanwhile (window ${n} is no longer '${text}'); reload the page`);
  await must(c.d.ctl, ['schedule', 'del', String(n)]);
}

/** Add ADDS, then delete DELS (by number, checked); on a refusal delete what was added. */
async function replaceWindows(c: Ctx, adds: string[][], dels: Window[]): Promise<void> {
  const before = (await windows(c.d.ctl)).length;
  let added = 0;
  try {
    for (const a of adds) {
      await must(c.d.ctl, a);
      added++;
    }
    // highest number first: the lower ones keep their numbers
    for (const w of [...dels].sort((p, q) => q.n - p.n)) await delWindow(c, w.n, w.text);
  } catch (e) {
    // the added windows are the last ones (new windows are appended), unless a del went through
    let undone = true;
    const now = await windows(c.d.ctl).catch(() => undefined);
    if (!now || now.length !== before + added) undone = false;
    else for (let i = added; i > 0; i--) await must(c.d.ctl, ['schedule', 'del', String(before + i)]).catch(() => (undone = false));
    if (e instanceof DaemonError) throw new DaemonError(`${e.message}; ${undone ? 'nothing was changed' : 'undoing it FAILED: check the schedule'}`);
    throw e;
  }
}

/** The categories ticked in a form (cat-NAME=1), in the policy's order. */
function tickedCats(doc: Awaited<ReturnType<typeof policyDoc>>, form: Form): string[] {
  return doc.categories.map((x) => x.name).filter((cat) => form.fields.get(`cat-${cat}`) === '1');
}

async function toggleCell(c: Ctx, form: Form): Promise<Res> {
  const group = field(form, 'group', 40);
  const m = /^([0-6])-(\d{1,2})$/.exec(field(form, 'cell', 8));
  const action = field(form, 'action', 12);
  const back = (msg?: string, st = 400) => schedulesPage(c, msg, st, group);
  if (!NAME_RE.test(group)) return back('Not changed: no such group.');
  if (!m || Number(m[2]) > 23) return back('Not changed: no such cell.');
  if (action !== 'block' && action !== 'allow-only') return back('Not changed: the action is block or allow-only.');
  const d = Number(m[1]), h = Number(m[2]);
  const cell: Span = [d * 1440 + h * 60, d * 1440 + h * 60 + 60];
  const label = `${DAY_NAMES[d]} ${fmtHm(h * 60)}-${fmtHm(h * 60 + 60)}`;
  return policyLock(c, async () => {
    const doc = await policyDoc(c.d.ctl);
    const cats = tickedCats(doc, form);
    if (!doc.groups.some((g) => g.name === group)) return back(`Not changed: there is no group ${group}.`, 404);
    const mine = (await windows(c.d.ctl)).filter((w) => w.group === group);
    const hits = mine.filter((w) => overlap(spans(w), cell) > 0);
    const keep = `/schedules?group=${group}&action=${action}&cats=${cats.join(',')}`;
    if (hits.length) {
      // clear the cell: each window that covers it loses this hour
      const adds = hits.flatMap((w) => asWindows(subtract(spans(w), cell)).map((x) => winArgs(group, x, w.action, w.cats)));
      await replaceWindows(c, adds, hits);
      return flashTo(c, `Cleared ${label} for ${group}.`, keep);
    }
    if (!cats.length) return back('Not changed: tick at least one category for the window.');
    // fill it, merged with this action's windows of that day that touch it
    const same = mine.filter((w) => w.action === action && w.cats.join(',') === cats.join(',') && w.days === 1 << d && w.end > w.start && (w.end === h * 60 || w.start === h * 60 + 60));
    const start = Math.min(h * 60, ...same.map((w) => w.start));
    const end = Math.max(h * 60 + 60, ...same.map((w) => w.end));
    await replaceWindows(c, [winArgs(group, { days: 1 << d, start, end }, action, cats)], same);
    return flashTo(c, `${group}: ${DAY_NAMES[d]} ${fmtHm(start)}-${fmtHm(end)} ${action} ${cats.join(',')}.`, keep);
  });
}

/** A window from the form: the days ticked, from-to, the action and the categories; the daemon checks the times. */
async function addWindow(c: Ctx, form: Form): Promise<Res> {
  const group = field(form, 'group', 40);
  const from = field(form, 'from', 5), to = field(form, 'to', 5);
  const action = field(form, 'action', 12);
  const back = (msg: string, st = 400) => schedulesPage(c, msg, st, group);
  if (!NAME_RE.test(group)) return back('Not added: no such group.');
  const days = DAY_NAMES.reduce((bits, d, i) => (form.fields.get(`day-${d}`) === '1' ? bits | (1 << i) : bits), 0);
  if (!days) return back('Not added: tick at least one day.');
  if (!/^\d\d:\d\d$/.test(from) || !/^\d\d:\d\d$/.test(to)) return back('Not added: the times are HH:MM, such as 08:00 and 16:00.');
  if (action !== 'block' && action !== 'allow-only') return back('Not added: the action is block or allow-only.');
  return policyLock(c, async () => {
    const doc = await policyDoc(c.d.ctl);
    if (!doc.groups.some((g) => g.name === group)) return back(`Not added: there is no group ${group}.`, 404);
    const cats = tickedCats(doc, form);
    if (!cats.length) return back('Not added: tick at least one category for the window.');
    const args = ['schedule', 'add', group, daysText(days), `${from}-${to}`, action, cats.join(',')];
    await must(c.d.ctl, args);
    return flashTo(c, `${group}: added ${args.slice(3).join(' ')}.`, `/schedules?group=${group}`);
  });
}

async function deleteWindow(c: Ctx, form: Form): Promise<Res> {
  const group = field(form, 'group', 40);
  const n = Number(field(form, 'n', 6));
  const text = field(form, 'text', 1100);
  if (!Number.isInteger(n) || n < 1) return schedulesPage(c, 'Not removed: no such window.', 400, group);
  await policyLock(c, () => delWindow(c, n, text));
  return flashTo(c, `Removed window ${text}.`, `/schedules?group=${NAME_RE.test(group) ? group : ''}`);
}

export const SCHEDULE_ACTIONS: Record<string, (c: Ctx, form: Form) => Promise<Res>> = {
  'sched-cell': toggleCell,
  'sched-add': addWindow,
  'sched-del': deleteWindow,
};

export const schedulesFailed = (c: Ctx, form: Form, msg: string, status: number) => schedulesPage(c, msg, status, field(form, 'group', 40));
export { schedulesPage };
