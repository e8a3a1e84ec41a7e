// Geometry of the connections-per-minute chart (numbers only; the SVG
// markup is in templates/activity.hbs).
import type { Minute } from './events.js';

export function hhmm(t: number): string {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function niceMax(n: number): number {
  if (n <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

export function chartData(minutes: Minute[]) {
  const width = 760, height = 200, left = 36, right = width - 8, top = 16, base = height - 22;
  const slot = (right - left) / minutes.length;
  const w = Math.max(1, Math.floor(slot) - 2);
  const max = niceMax(Math.max(0, ...minutes.map((m) => m.allowed + m.blocked)));
  const scale = (base - top) / max;
  let totalBlocked = 0, totalAllowed = 0;
  const bars = minutes.map((m, i) => {
    totalBlocked += m.blocked;
    totalAllowed += m.allowed;
    const x = Math.round(left + i * slot + 1);
    const bh = m.blocked ? Math.max(1, Math.round(m.blocked * scale)) : 0;
    const ah = m.allowed ? Math.max(1, Math.round(m.allowed * scale)) : 0;
    return { x, w, label: hhmm(m.t), blocked: m.blocked, allowed: m.allowed, bh, by: base - bh, ah, ay: base - bh - ah };
  });
  const ticks = minutes
    .map((m, i) => ({ m, i }))
    .filter(({ i }) => i % 10 === 0 || i === minutes.length - 1)
    .map(({ m, i }) => ({ x: Math.round(left + i * slot + slot / 2), label: hhmm(m.t) }));
  return { width, height, left, right, top, base, labelY: height - 6, max, bars, ticks, totalBlocked, totalAllowed };
}
