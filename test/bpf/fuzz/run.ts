// Differential fuzz of xdp-sni's ClientHello parser: generated cases
// (generate.ts) go through the real program with `xdp-sni replay` (many
// flows per pcap, one source port per case, block mode, RST off, every
// generated name on the blocklist), and each flow's outcome is compared
// with the independent reference parser (reference.ts) run on the stream
// the server receives.
//
// Outcomes per case:
//   crash       replay failed, or a packet of the flow got XDP_ABORTED
//   wrong name  an event named something the reference did not find; when
//               the reference calls the hello malformed, the only name
//               allowed is a host_name it read completely before the
//               malformation. (An event naming the decoy hello of a case,
//               which the server never receives, is counted as
//               decoy-read, not as a wrong name: the decoy name is not on
//               the list, so it is passed, and the real hello is then read.)
//   wrong verdict  the right name, but block/DROP for an unlisted name or
//               pass for a listed one
//   read        the reference found a name and the program read it
//   unreadable  the program sent an "unreadable" event (no name: blocked,
//               as UNREADABLE=block, the replay's default, asks); for a
//               name over 253 bytes, which is no DNS name, that is the
//               right outcome, and for a name the reference reads it is a
//               hello the program could not read but did not let through
//   missed      the reference found a name, and the program neither read it
//               nor blocked the flow as unreadable: the hello walked through
// Names not read are put in one category each, the first that applies of:
// name over 253 bytes, fragmented over records, record version not 3, out
// of order, overlapping retransmission (before the name was complete),
// other.
import { join } from 'node:path';
import { buildBpf, replay, writePcap, tempDir, rmrf, prng, type ReplayPacket } from '../lib.js';
import { generateCase, caseFrames, type FuzzCase, type Segment } from './generate.js';
import { parseClientHello, type RefResult } from './reference.js';

export const MISSED_CATEGORIES = ['nameOver253', 'fragmented', 'recordVersion', 'outOfOrder', 'overlap', 'other'] as const;
export type MissedCategory = (typeof MISSED_CATEGORIES)[number];
export const MISSED_LABELS: Record<MissedCategory, string> = {
  outOfOrder: 'out of order',
  fragmented: 'fragmented over records',
  overlap: 'overlapping retransmission',
  recordVersion: 'record version not 3',
  nameOver253: 'name over 253 bytes',
  other: 'other',
};

export interface FuzzExample {
  id: number;
  source: string;
  tags: string[];
  ref: string;
  events: { sni: string; verdict: string; packet: string }[];
  /** segments in sending order: stream offset, length, decoy */
  segments: string;
  /** the stream the server receives, as hex */
  hex: string;
  note?: string;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  batches: number;
  frames: number;
  ms: number;
  reference: { name: number; nameWithViolations: number; malformed: number; malformedWithName: number; 'no-sni': number; 'not-hello': number };
  outcomes: {
    read: number;
    missed: number;
    wrongName: number;
    wrongVerdict: number;
    crash: number;
    decoyRead: number;
    /** an unreadable event (no name) on the case's flow */
    unreadable: number;
    /** reference: no-sni; the program blocked the hello as unreadable */
    noSniBlocked: number;
    /** reference: malformed; the program sent an event anyway */
    malformedRead: number;
    /** ... of which every event named the host_name read before the malformation */
    malformedReadObeys: number;
  };
  missed: Record<MissedCategory, number>;
  /** reference names the program did not read but blocked as unreadable */
  unreadBlocked: Record<MissedCategory, number>;
  /** reference names per category (the category a miss would get), read or not */
  exposed: Record<MissedCategory, number>;
  examples: Record<string, FuzzExample[]>;
  crashes: string[];
}

export interface FuzzOptions {
  n: number;
  seed: number;
  /** cases per pcap (one replay process each) */
  batch?: number;
  /** examples kept per category */
  examples?: number;
  /** progress lines */
  log?: (line: string) => void;
}

function refText(r: RefResult): string {
  const f = r.features;
  const feat = `records=${f.records} versions=${f.recordVersions.map((v) => v.toString(16)).join(',')}${f.nameOver253 ? ' over253' : ''}` +
    (f.violations.length ? ` violations=${f.violations.join('; ')}` : '');
  switch (r.kind) {
    case 'name': return `name ${JSON.stringify(r.lower)} end=${r.nameEndOffset} ${feat}`;
    case 'malformed': return `malformed "${r.reason}" at ${r.offset}${r.lower !== undefined ? ` after name ${JSON.stringify(r.lower)} end=${r.nameEndOffset}` : ''} ${feat}`;
    case 'not-hello': return `not-hello (${r.reason})`;
    default: return `no-sni ${feat}`;
  }
}

/** Before the name was complete, did a segment arrive ahead of bytes not
 * yet sent (out of order), or carry bytes already sent (a retransmission,
 * partial or whole)? */
export function arrival(segs: Segment[], nameEnd: number): { outOfOrder: boolean; overlap: boolean } {
  let next = 0, outOfOrder = false, overlap = false;
  for (const s of segs) {
    if (s.decoy) continue;
    if (next >= nameEnd) break;
    const end = s.off + s.data.length;
    if (s.off === next) next = end;
    else if (s.off > next) outOfOrder = true;
    else {
      overlap = true;
      next = Math.max(next, end);
    }
  }
  return { outOfOrder, overlap };
}

function missedCategory(c: FuzzCase, ref: RefResult & { kind: 'name' }): MissedCategory {
  const f = ref.features;
  if (f.nameOver253) return 'nameOver253';
  if (f.records > 1) return 'fragmented';
  if (f.recordVersionNot3) return 'recordVersion';
  const a = arrival(c.segments, ref.nameEndOffset);
  if (a.outOfOrder) return 'outOfOrder';
  if (a.overlap) return 'overlap';
  return 'other';
}

function stripNul(s: string): string {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
}

interface Batch {
  cases: FuzzCase[];
  frames: Buffer[];
  owner: number[];        // frame index -> case index in the batch
  list: Set<string>;
}

export function makeBatch(seed: number, first: number, count: number): Batch {
  const cases: FuzzCase[] = [];
  const list = new Set<string>();
  const perCase: Buffer[][] = [];
  for (let k = 0; k < count; k++) {
    const c = generateCase(seed, first + k);
    cases.push(c);
    c.listed.forEach((n) => list.add(n));
    perCase.push(caseFrames(c, 1024 + k));
  }
  // interleave the flows at random, each keeping its own order
  const r = prng((seed ^ Math.imul(first + 1, 0x27d4eb2d)) >>> 0);
  const frames: Buffer[] = [];
  const owner: number[] = [];
  const active = perCase.map((_, k) => k).filter((k) => perCase[k].length > 0);
  const pos = new Array(count).fill(0);
  while (active.length) {
    const j = Math.floor(r() * active.length);
    const k = active[j];
    frames.push(perCase[k][pos[k]++]);
    owner.push(k);
    if (pos[k] === perCase[k].length) {
      active[j] = active[active.length - 1];
      active.pop();
    }
  }
  return { cases, frames, owner, list };
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const batchSize = Math.min(o.batch ?? 1000, 60000);
  const keep = o.examples ?? 3;
  const t0 = Date.now();
  await buildBpf();
  const dir = tempDir('xsni-fuzz-');
  const s: FuzzSummary = {
    seed: o.seed, cases: 0, batches: 0, frames: 0, ms: 0,
    reference: { name: 0, nameWithViolations: 0, malformed: 0, malformedWithName: 0, 'no-sni': 0, 'not-hello': 0 },
    outcomes: { read: 0, missed: 0, wrongName: 0, wrongVerdict: 0, crash: 0, decoyRead: 0, unreadable: 0, noSniBlocked: 0, malformedRead: 0, malformedReadObeys: 0 },
    missed: Object.fromEntries(MISSED_CATEGORIES.map((k) => [k, 0])) as Record<MissedCategory, number>,
    unreadBlocked: Object.fromEntries(MISSED_CATEGORIES.map((k) => [k, 0])) as Record<MissedCategory, number>,
    exposed: Object.fromEntries(MISSED_CATEGORIES.map((k) => [k, 0])) as Record<MissedCategory, number>,
    examples: {},
    crashes: [],
  };
  const example = (cat: string, c: FuzzCase, ref: RefResult, pk: ReplayPacket[], note?: string) => {
    const xs = (s.examples[cat] ??= []);
    if (xs.length >= keep) return;
    xs.push({
      id: c.id, source: c.source, tags: c.tags, ref: refText(ref),
      events: pk.filter((p) => p.event).map((p) => ({ sni: p.sni ?? '', verdict: p.event!.verdict, packet: p.verdict })),
      segments: c.segments.map((g) => `${g.off}+${g.data.length}${g.decoy ? 'd' : ''}`).join(' '),
      hex: c.stream.toString('hex'),
      note,
    });
  };

  const evaluate = (b: Batch, packets: ReplayPacket[] | undefined, err: string | undefined) => {
    const per: ReplayPacket[][] = b.cases.map(() => []);
    if (packets) packets.forEach((p, i) => per[b.owner[i]].push(p));
    b.cases.forEach((c, k) => {
      const ref = parseClientHello(c.stream);
      s.cases++;
      if (ref.kind === 'malformed') {
        s.reference.malformed++;
        if (ref.lower !== undefined) s.reference.malformedWithName++;
      } else s.reference[ref.kind]++;
      if (ref.kind === 'name' && ref.features.violations.length) s.reference.nameWithViolations++;
      const pk = per[k];
      if (err || pk.some((p) => p.verdict === 'ABORTED')) {
        s.outcomes.crash++;
        example('crash', c, ref, pk, err);
        return;
      }
      const allowed = ref.kind === 'name' || ref.kind === 'malformed' ? ref.lower : undefined;
      let wrong = false, wrongVerdict = false, read = false, decoy = false, events = 0, unreadBlock = false, unread = false;
      for (const p of pk) {
        if (!p.event) continue;
        if (p.event.verdict.startsWith('unreadable')) {
          unread = true;
          if (p.event.verdict === 'unreadable-block' && p.verdict === 'DROP') unreadBlock = true;
          continue;
        }
        const got = p.sni ?? '';
        if (c.decoyName !== undefined && got === c.decoyName) {
          decoy = true;
          continue;
        }
        events++;
        if (allowed === undefined || got !== stripNul(allowed)) {
          wrong = true;
          continue;
        }
        read = true;
        // the event's name stops at a NUL byte (json_str); the list lookup
        // is of the whole name
        const listed = b.list.has(allowed);
        if (p.event.verdict !== (listed ? 'block' : 'pass') || p.verdict !== (listed ? 'DROP' : 'PASS')) wrongVerdict = true;
      }
      if (decoy) s.outcomes.decoyRead++;
      if (unread) s.outcomes.unreadable++;
      if (ref.kind === 'no-sni' && unreadBlock) s.outcomes.noSniBlocked++;
      if (ref.kind === 'malformed' && events > 0) {
        s.outcomes.malformedRead++;
        if (!wrong) s.outcomes.malformedReadObeys++;
      }
      if (wrong) {
        s.outcomes.wrongName++;
        example(ref.kind === 'malformed' ? 'wrongName:malformed' : 'wrongName', c, ref, pk);
        return;
      }
      if (wrongVerdict) {
        s.outcomes.wrongVerdict++;
        example('wrongVerdict', c, ref, pk);
      }
      if (ref.kind !== 'name') return;
      const cat = missedCategory(c, ref);
      s.exposed[cat]++;
      if (read) {
        s.outcomes.read++;
        return;
      }
      if (unreadBlock) {
        s.unreadBlocked[cat]++;
        if (cat !== 'nameOver253') example(`unreadable:${cat}`, c, ref, pk);
        return;
      }
      s.outcomes.missed++;
      s.missed[cat]++;
      example(`missed:${cat}`, c, ref, pk);
    });
  };

  const run = async (b: Batch, idx: number) => {
    const pcap = join(dir, `b${idx}.pcap`);
    writePcap(pcap, b.frames);
    try {
      const r = await replay(pcap, { blocklist: [...b.list], mode: 'block', rst: false });
      if (r.packets.length !== b.frames.length)
        return { err: `replay returned ${r.packets.length} packets for ${b.frames.length} frames` };
      return { packets: r.packets };
    } catch (e) {
      const msg = String((e as Error).message ?? e).slice(0, 2000);
      s.crashes.push(`batch ${idx}: ${msg}`);
      return { err: msg };
    } finally {
      rmrf(pcap);
    }
  };

  try {
    const nb = Math.ceil(o.n / batchSize);
    let next: Batch | undefined = nb > 0 ? makeBatch(o.seed, 0, Math.min(batchSize, o.n)) : undefined;
    for (let i = 0; i < nb; i++) {
      const b = next!;
      const pending = run(b, i);
      // make the next batch while this one replays
      next = i + 1 < nb ? makeBatch(o.seed, (i + 1) * batchSize, Math.min(batchSize, o.n - (i + 1) * batchSize)) : undefined;
      const res = await pending;
      evaluate(b, res.packets, res.err);
      s.batches++;
      s.frames += b.frames.length;
      o.log?.(`batch ${i + 1}/${nb}: ${s.cases} cases, ${s.frames} frames, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    rmrf(dir);
  }
  s.ms = Date.now() - t0;
  return s;
}

/** The summary as a table for the console. */
export function formatSummary(s: FuzzSummary): string {
  const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : '-');
  const row = (k: string, n: number, d = s.cases) => `  ${k.padEnd(52)} ${String(n).padStart(8)}  ${pct(n, d).padStart(6)}`;
  const lines = [
    `xdp-sni differential fuzz: ${s.cases} cases, seed ${s.seed}, ${s.batches} pcaps, ${s.frames} frames, ${(s.ms / 1000).toFixed(1)} s`,
    'reference (RFC 8446/6066) on the stream the server receives:',
    row('name', s.reference.name),
    row('  of which the hello breaks a rule, not the encoding', s.reference.nameWithViolations),
    row('malformed', s.reference.malformed),
    row('  of which a host_name was complete before', s.reference.malformedWithName),
    row('no-sni', s.reference['no-sni']),
    row('not-hello', s.reference['not-hello']),
    'program (xdp-sni replay) against the reference:',
    row('wrong name', s.outcomes.wrongName),
    row('crash', s.outcomes.crash),
    row('wrong verdict', s.outcomes.wrongVerdict),
    row('malformed, but a name was reported', s.outcomes.malformedRead),
    row('  of which the name read before the fault', s.outcomes.malformedReadObeys, s.outcomes.malformedRead),
    row('decoy hello read (passed, then the real one)', s.outcomes.decoyRead),
    row('an unreadable event (no name)', s.outcomes.unreadable),
    row('no-sni hellos blocked as unreadable', s.outcomes.noSniBlocked, s.reference['no-sni']),
    row('name read (of reference names)', s.outcomes.read, s.reference.name),
    row('missed: passed unread (of reference names)', s.outcomes.missed, s.reference.name),
    '  names not read, by category (a case goes to the first that applies: over 253, fragmented,',
    '  version, out of order, overlap, other)           passed unread / blocked unread / reference names',
    ...MISSED_CATEGORIES.map((k) => `    ${MISSED_LABELS[k].padEnd(44)} ${String(s.missed[k]).padStart(8)} / ${String(s.unreadBlocked[k]).padStart(8)} / ${s.exposed[k]}`),
  ];
  return lines.join('\n');
}

/** A few examples per category, for debugging (hex streams). */
export function formatExamples(s: FuzzSummary, maxHex = 400): string {
  const out: string[] = [];
  for (const [cat, xs] of Object.entries(s.examples)) {
    for (const x of xs) {
      out.push(`[${cat}] case ${x.id} (seed ${s.seed}) ${x.source} ${x.tags.join(' ')}`);
      out.push(`  reference: ${x.ref}`);
      out.push(`  events: ${JSON.stringify(x.events)}${x.note ? ` note: ${x.note}` : ''}`);
      out.push(`  segments: ${x.segments.length > 300 ? x.segments.slice(0, 300) + '...' : x.segments}`);
      out.push(`  stream: ${x.hex.length > maxHex ? `${x.hex.slice(0, maxHex)}... (${x.hex.length / 2} bytes)` : x.hex}`);
    }
  }
  return out.join('\n');
}

