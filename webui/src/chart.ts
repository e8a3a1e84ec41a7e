// The activity chart: events per time bucket from the history (`history
// summary`), stacked by what happened to them. Numbers and labels only; the
// SVG markup is in templates/activity.hbs.

export type Range = 'hour' | 'day' | 'week';
export const RANGES: Range[] = ['hour', 'day', 'week'];

/** Each range's bucket (seconds) and number of buckets. */
export const RANGE_SPEC: Record<Range, { step: number; buckets: number; title: string; per: string }> = {
  hour: { step: 60, buckets: 60, title: 'last hour', per: 'minute' },
  day: { step: 3600, buckets: 24, title: 'last 24 hours', per: 'hour' },
  week: { step: 3600, buckets: 168, title: 'last 7 days', per: 'hour' },
};

export function readRange(s: string | null): Range {
  return RANGES.includes(s as Range) ? (s as Range) : 'hour';
}

/**
 * The stacked series, bottom up, and the verdicts each one counts. What
 * "pass" means depends on the log setting: with `log all` the data plane
 * logs every name it reads, so a pass is any name that was not blocked;
 * with `log listed` only names in some category are logged, so a pass is a
 * listed name that the client's group does not block (then).
 */
export const SERIES = [
  { key: 'blocked', verdicts: ['block', 'unreadable-block'] },
  { key: 'flagged', verdicts: ['monitor', 'exempt'] },
  { key: 'passed', verdicts: ['pass'] },
  { key: 'unreadable', verdicts: ['unreadable-pass'] },
] as const;

export type SeriesKey = (typeof SERIES)[number]['key'];

export function legend(log: 'all' | 'listed' | undefined): Record<SeriesKey, string> {
  return {
    blocked: 'blocked: dropped by the policy of the client\'s group (verdict block), or a ClientHello without a readable name dropped (unreadable-block)',
    flagged: 'blocked by the policy but let through: monitor mode (monitor) or an exempt client (exempt)',
    passed:
      log === 'all'
        ? 'passed (pass): with "log all", every other server name read, listed or not'
        : log === 'listed'
          ? 'passed (pass): with "log listed", only names in some category that the client\'s group does not block; unlisted names are not logged and not counted'
          : 'passed (pass): with "log all" every other name read; with "log listed" only listed names the group does not block (the setting could not be read)',
    unreadable: 'a ClientHello without a readable name let through (unreadable-pass)',
  };
}

export function hhmm(t: number): string {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** The buckets of RANGE ending with the one that holds NOW, filled from a summary (bucket start ms -> verdict -> n). */
export function buckets(range: Range, now: number, sum: Map<number, Record<string, number>>): { t: number; n: Record<string, number> }[] {
  const { step, buckets: count } = RANGE_SPEC[range];
  const ms = step * 1000;
  const end = Math.floor(now / ms) * ms;
  const out: { t: number; n: Record<string, number> }[] = [];
  for (let i = count - 1; i >= 0; i--) out.push({ t: end - i * ms, n: sum.get(end - i * ms) ?? {} });
  return out;
}

/** The first bucket's start (ms): the --since of the summary. */
export function rangeStart(range: Range, now: number): number {
  const { step, buckets: count } = RANGE_SPEC[range];
  const ms = step * 1000;
  return Math.floor(now / ms) * ms - (count - 1) * ms;
}

export function chartData(range: Range, data: { t: number; n: Record<string, number> }[], log?: 'all' | 'listed') {
  const spec = RANGE_SPEC[range];
  const width = 760, height = 220, left = 44, right = width - 8, top = 16, base = height - 36;
  const slot = (right - left) / data.length;
  const w = Math.max(1, Math.floor(slot) - (slot > 4 ? 2 : 1));
  const sums = data.map((b) => SERIES.map((s) => s.verdicts.reduce((a, v) => a + (b.n[v] ?? 0), 0)));
  const max = niceMax(Math.max(0, ...sums.map((s) => s.reduce((a, x) => a + x, 0))));
  const scale = (base - top) / max;
  const totals = Object.fromEntries(SERIES.map((s) => [s.key, 0])) as Record<SeriesKey, number>;
  const label = (t: number) => (range === 'hour' ? hhmm(t) : `${DAYS[new Date(t).getDay()]} ${hhmm(t)}`);
  const bars = data.map((b, i) => {
    const x = Math.round(left + i * slot + 1);
    let y = base;
    const rects = SERIES.map((s, k) => {
      const n = sums[i][k];
      totals[s.key] += n;
      const h = n ? Math.max(1, Math.round(n * scale)) : 0;
      y -= h;
      return { key: s.key, n, h, y };
    }).filter((r) => r.h);
    const text = SERIES.map((s, k) => `${sums[i][k]} ${s.key}`).join(', ');
    return { x, w, label: `${label(b.t)}: ${text}`, rects };
  });
  const every = range === 'hour' ? 10 : range === 'day' ? 3 : 24;
  const ticks = data
    .map((b, i) => ({ b, i }))
    .filter(({ b, i }) => (range === 'week' ? new Date(b.t).getHours() === 0 : i % every === 0) || (range !== 'week' && i === data.length - 1))
    .map(({ b, i }) => ({ x: Math.round(left + i * slot + slot / 2), label: range === 'week' ? DAYS[new Date(b.t).getDay()] : hhmm(b.t) }));
  const leg = legend(log);
  return {
    range,
    title: spec.title,
    per: spec.per,
    width,
    height,
    left,
    right,
    top,
    base,
    mid: Math.round((top + base) / 2),
    midLabel: max / 2,
    labelY: base + 14,
    axisY: height - 4,
    max,
    bars,
    ticks,
    totals,
    series: SERIES.map((s) => ({ key: s.key, total: totals[s.key], text: leg[s.key] })),
  };
}
