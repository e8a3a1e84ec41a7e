// The overview's chart and top-10 lists, and the live log: all from the
// daemon's event history over the control socket (history.ts).
import { buckets, chartData, RANGE_SPEC, RANGES, rangeStart, readRange, type Range } from '../chart.js';
import { DaemonDown, DaemonError } from '../ctl.js';
import { DOOR_LABELS, doorOf, events, filterBytes, summary, top, VERDICTS } from '../history.js';
import { fmtTime, unknownFrom, type Ctx, type Unknown } from '../web.js';

/** The chart and top lists of RANGE; `known: false` with the reason when the daemon does not answer. */
export async function activity(c: Ctx, path: string, log?: 'all' | 'listed') {
  const range: Range = readRange(c.req.query.get('range'));
  const ranges = RANGES.map((r) => {
    const u = new URLSearchParams(c.req.query);
    u.delete('partial');
    u.delete('trail');
    if (r === 'hour') u.delete('range');
    else u.set('range', r);
    const q = u.toString();
    return { title: RANGE_SPEC[r].title, url: `${path}${q ? `?${q}` : ''}`, current: r === range };
  });
  const since = rangeStart(range, c.now);
  try {
    const sum = await summary(c.d.ctl, RANGE_SPEC[range].step, since);
    const [topNames, topClients] = [await top(c.d.ctl, 'names', since, 'block'), await top(c.d.ctl, 'clients', since)];
    return { activityKnown: true, ranges, chart: chartData(range, buckets(range, c.now, sum), log), logSetting: log, topNames, topClients };
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    return { activityKnown: false, ranges, activityError: e.message, chart: chartData(range, buckets(range, c.now, new Map()), log), topNames: [], topClients: [] };
  }
}

/** events per page of the live log */
export const LOG_PAGE = 200;
/** older pages remembered for the "newer" link */
const TRAIL_MAX = 200;

interface Filter {
  name?: string;
  client?: string;
  verdict?: string;
}

function readFilter(q: URLSearchParams): Filter {
  const verdict = q.get('verdict') ?? '';
  return {
    name: (q.get('name') ?? '').trim().slice(0, 100) || undefined,
    client: (q.get('client') ?? '').trim().slice(0, 64) || undefined,
    verdict: VERDICTS.includes(verdict) ? verdict : undefined,
  };
}

/**
 * The live log: the newest LOG_PAGE events (page 1, refreshed by live.js),
 * older pages by the id of the last event shown (`trail`: the cursors of
 * the pages before, dot-separated, so that "newer" goes back one page).
 */
export async function logView(c: Ctx) {
  const f = readFilter(c.req.query);
  const trail = (c.req.query.get('trail') ?? '')
    .split('.')
    .filter((x) => /^\d{1,15}$/.test(x))
    .map(Number)
    .slice(-TRAIL_MAX);
  const before = trail.length ? trail[trail.length - 1] : undefined;
  const url = (t: number[], partial = false) => {
    const u = new URLSearchParams();
    if (f.name) u.set('name', f.name);
    if (f.client) u.set('client', f.client);
    if (f.verdict) u.set('verdict', f.verdict);
    if (t.length) u.set('trail', t.join('.'));
    if (partial) u.set('partial', '1');
    const q = u.toString();
    return `/log${q ? `?${q}` : ''}`;
  };
  let silent: Unknown | undefined;
  let filterError: string | undefined;
  let shown: Awaited<ReturnType<typeof events>> = [];
  let more = false;
  const name = f.name === undefined ? undefined : filterBytes(f.name);
  if (f.name !== undefined && name === undefined) filterError = 'This name filter has a blank, a control character or a byte that is not UTF-8 (\\xHH of 80 to FF alone), which cannot be searched for; search for a printable part of the name.';
  else if (f.client !== undefined && !/^[0-9A-Fa-f.:]+$/.test(f.client)) filterError = 'A client filter is the start of an IPv4 or IPv6 address.';
  else {
    try {
      const got = await events(c.d.ctl, { name, client: f.client, verdict: f.verdict, before, limit: LOG_PAGE + 1 });
      more = got.length > LOG_PAGE;
      shown = got.slice(0, LOG_PAGE);
    } catch (e) {
      if (!(e instanceof DaemonError)) throw e;
      silent = e instanceof DaemonDown ? unknownFrom(e) : { down: false, unloaded: false, message: e.message };
    }
  }
  const page = trail.length + 1;
  return {
    silent,
    filterError,
    filter: f,
    verdicts: VERDICTS,
    events: shown.map((e) => ({ ...e, time: fmtTime(e.t), door: doorOf(e.cats, e.door), doorLabel: DOOR_LABELS[doorOf(e.cats, e.door)] })),
    shown: shown.length,
    page,
    newer: page > 1 ? url(trail.slice(0, -1)) : undefined,
    older: more && shown.length ? url([...trail, shown[shown.length - 1].id]) : undefined,
    newest: page === 1,
    updated: fmtTime(c.now),
    liveUrl: url(trail, true),
  };
}
