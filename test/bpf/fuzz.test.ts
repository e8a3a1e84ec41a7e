// Differential fuzz of the data plane's ClientHello parser: 10,000 seeded
// cases (real and synthetic hellos, mutated, re-segmented, reordered) run
// through xdp_sni with `xdp-sni replay` and compared with an independent
// RFC 8446/6066 reference parser (test/bpf/fuzz/). The program must never
// report a name the client did not send, never crash, and never decide the
// verdict of a listed name wrongly, and no hello the reference reads may
// walk through unread: the program reads it, or blocks it as unreadable
// (UNREADABLE=block, the replay's default). The cases it blocks unread are
// counted per category: a name over 253 bytes (no DNS name) always, and
// the hellos whose bytes the server got while the data plane could not see
// them in order (the first segment late, a restart on a copy of the first
// segment after later ones, more than 8 segments ahead of a gap).
import { describe, it, expect, beforeAll } from 'vitest';
import { runFuzz, formatSummary, formatExamples, MISSED_CATEGORIES, type FuzzSummary, type MissedCategory } from './fuzz/run.js';

const CASES = 10_000;
const SEED = 1;
/** Names that may pass unread, per category: none. */
const MISSED_MAX: Record<MissedCategory, number> = {
  nameOver253: 0, fragmented: 0, recordVersion: 0, outOfOrder: 0, overlap: 0, other: 0,
};
/** Most names blocked unread per category, as a share of the category's
 * reference names (seed 1: 12/728, 6/326, 83/282, 36/190, 0/4533). */
const UNREAD_SHARE_MAX: Partial<Record<MissedCategory, number>> = {
  fragmented: 0.03, recordVersion: 0.03, outOfOrder: 0.35, overlap: 0.25, other: 0.001,
};

let s: FuzzSummary;
beforeAll(async () => {
  s = await runFuzz({ n: CASES, seed: SEED });
  console.log(formatSummary(s));
  if (s.outcomes.wrongName || s.outcomes.crash || s.outcomes.wrongVerdict) console.log(formatExamples(s, 4000));
});

describe(`differential fuzz of the ClientHello parser (${CASES} cases, seed ${SEED})`, () => {
  it('ran every case, in batches of many flows per pcap', () => {
    expect(s.cases).toBe(CASES);
    expect(s.batches).toBeLessThanOrEqual(Math.ceil(CASES / 500));
  });

  it('reports no name the reference did not find', () => {
    expect(s.outcomes.wrongName, formatExamples(s)).toBe(0);
  });

  it('never crashes (replay errors, XDP_ABORTED)', () => {
    expect(s.crashes).toEqual([]);
    expect(s.outcomes.crash, formatExamples(s)).toBe(0);
  });

  it('names it reads from malformed hellos are only ones sent completely before the fault', () => {
    expect(s.outcomes.malformedRead).toBeGreaterThan(0);
    expect(s.outcomes.malformedReadObeys).toBe(s.outcomes.malformedRead);
  });

  it('blocks a listed name it reads and passes an unlisted one', () => {
    expect(s.outcomes.wrongVerdict, formatExamples(s)).toBe(0);
  });

  it('the cases cover every outcome and every category of hello', () => {
    for (const k of ['name', 'malformed', 'malformedWithName', 'no-sni', 'not-hello', 'nameWithViolations'] as const)
      expect(s.reference[k], k).toBeGreaterThan(0);
    for (const k of MISSED_CATEGORIES) expect(s.exposed[k], k).toBeGreaterThan(0);
    expect(s.outcomes.decoyRead).toBeGreaterThan(0);
    expect(s.outcomes.read).toBeGreaterThan(s.reference.name / 2);
  });

  it('no name the reference reads passes unread, in any category', () => {
    for (const [k, max] of Object.entries(MISSED_MAX)) expect(s.missed[k as MissedCategory], k).toBeLessThanOrEqual(max);
    expect(s.outcomes.missed).toBe(0);
  });

  it('a name over 253 bytes is always blocked as unreadable; other names rarely are', () => {
    expect(s.unreadBlocked.nameOver253).toBe(s.exposed.nameOver253);
    for (const [k, share] of Object.entries(UNREAD_SHARE_MAX))
      expect(s.unreadBlocked[k as MissedCategory], k).toBeLessThanOrEqual(Math.ceil(share! * s.exposed[k as MissedCategory]));
  });

  it('a ClientHello without server_name is blocked as unreadable (nearly always: a decoy may come first)', () => {
    expect(s.outcomes.noSniBlocked).toBeGreaterThanOrEqual(Math.floor(0.99 * s.reference['no-sni']));
  });
});
