// The differential fuzz of xdp-sni's ClientHello parser (test/bpf/fuzz/) at
// bench size: 250,000 cases by default. bench/run.ts calls fuzzBench();
// alone: npx tsx bench/fuzz.ts [N] [SEED]
import { pathToFileURL } from 'node:url';
import { runFuzz, formatSummary, formatExamples, type FuzzSummary } from '../test/bpf/fuzz/run.js';

export async function fuzzBench(n = 250_000, seed = 20251130): Promise<FuzzSummary> {
  let last = 0;
  const s = await runFuzz({
    n, seed, batch: 2000,
    log: (line) => {
      // a progress line every 30 s
      if (Date.now() - last > 30_000) {
        last = Date.now();
        console.log(`  fuzz: ${line}`);
      }
    },
  });
  console.log(formatSummary(s));
  console.log(`goal: 0 wrong names, 0 crashes, no name that passes unread: ${s.outcomes.wrongName + s.outcomes.crash + s.outcomes.missed === 0 ? 'met' : 'MISSED'}`);
  if (s.outcomes.wrongName || s.outcomes.crash || s.outcomes.wrongVerdict || s.outcomes.missed) {
    console.log('\nexamples (reproduce one with generateCase(seed, id) from test/bpf/fuzz/generate.ts):');
    console.log(formatExamples(s));
  }
  return s;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = process.argv[2] ? Number(process.argv[2]) : undefined;
  const seed = process.argv[3] ? Number(process.argv[3]) : undefined;
  fuzzBench(n, seed).then(
    (s) => process.exit(s.outcomes.wrongName || s.outcomes.crash ? 1 : 0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
