// Started in the background by `./make.sh test` when the qa layer is in the
// run: builds the qa tests' ISO (the same config as test/qa/iso.ts) while
// the layers that need no ISO run, so that a cold kernel compile overlaps
// them instead of following them. The qa tests' own buildIso() then waits
// for this build's lock and takes its stages from the cache. A failure here
// fails nothing by itself: the qa tests build again and report it.
import { buildIso, qaConfig } from './iso.js';

const t0 = Date.now();
try {
  const built = await buildIso(qaConfig());
  for (const l of built.lines) console.log(l);
  console.log(`qa ISO ready after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${built.path}`);
} catch (err) {
  console.log(`qa ISO build failed after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${(err as Error).message}`);
  process.exitCode = 1;
}
