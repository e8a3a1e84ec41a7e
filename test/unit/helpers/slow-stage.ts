// Child process for the interrupt test: one stage that writes part of its
// output, announces it, then waits to be interrupted.
import { writeFileSync } from 'node:fs';
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
    return { ok: true };
  },
};
const c = loadBuildConfig({ cacheDir, out: cacheDir, mirror: 'http://mirror.invalid/debian' });
const r = await runStages([stage], c, { logDir: join(cacheDir, 'logs'), print: () => {} });
process.exit(r.ok ? 0 : 1);
