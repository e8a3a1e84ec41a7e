// Child process for the runner's interrupt and lock tests: one stage that
// writes part of its output, announces it, then (mode "slow") waits to be
// interrupted, or (mode "counted") notes its run in <marker>.runs and takes
// a moment, or (mode "fast") just finishes. Prints the runner's lines and,
// last, the stage's state.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadBuildConfig } from '../../../build/config/profile.js';
import { runStages } from '../../../build/runner/runner.js';
import type { Stage } from '../../../build/runner/stage.js';

const [cacheDir, marker, mode] = process.argv.slice(2);
const stage: Stage = {
  name: 'rootfs',
  description: 'slow test stage',
  deps: [],
  inputs: () => ({ fixed: 1 }),
  async run(ctx) {
    writeFileSync(join(ctx.outDir, 'half-written'), 'x');
    if (mode === 'slow') {
      writeFileSync(marker, ctx.outDir);
      await sleep(60_000);
    }
    if (mode === 'counted') {
      appendFileSync(`${marker}.runs`, `${process.pid}\n`);
      writeFileSync(marker, ctx.outDir);
      await sleep(1500);
    }
    return { ok: true };
  },
};
const c = loadBuildConfig({ cacheDir, out: cacheDir, mirror: 'http://mirror.invalid/debian' });
const r = await runStages([stage], c, { logDir: join(cacheDir, 'logs'), print: (l) => process.stdout.write(`${l}\n`) });
process.stdout.write(`state=${r.reports[0]?.state}\n`);
process.exit(r.ok ? 0 : 1);
