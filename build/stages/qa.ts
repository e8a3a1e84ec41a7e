// Stage qa: boot the ISO in QEMU under each firmware of the profile and wait
// for the ready line on the serial console. Serial logs are kept in the
// cache entry. Off by default in `build` (use --qa); the qa test layer runs
// the same lab directly.
import { join } from 'node:path';
import { isoFileName } from '../config/profile.js';
import { stageCode } from '../lib/module-graph.js';
import { bootToReady } from '../qemu/smoke.js';
import type { Stage } from '../runner/stage.js';

export const qa: Stage<{ boots: { firmware: string; seconds: number; accel: string; serialLog: string }[] }> = {
  name: 'qa',
  description: 'QEMU boots the ISO (BIOS and UEFI) to the ready line',
  deps: ['iso'],
  inputs(c) {
    return { qa: c.qa, code: stageCode(c.repoRoot, 'build/stages/qa.ts') };
  },
  async run(ctx) {
    const isoPath = join(ctx.deps.iso!.dir, isoFileName(ctx.config));
    const boots = [];
    for (const firmware of ctx.config.qa.firmware) {
      const serialLog = `serial-${firmware}.log`;
      const r = await bootToReady({
        iso: isoPath,
        firmware,
        memoryMiB: ctx.config.qa.memoryMiB,
        timeoutMs: ctx.config.qa.bootTimeoutSeconds * 1000,
        serialLog: join(ctx.outDir, serialLog),
        workDir: ctx.tmpDir,
        log: ctx.log,
      });
      ctx.log.line(`${firmware}: ready after ${r.seconds.toFixed(1)} s (${r.accel}${r.fallback ? ', after the KVM boot failed' : ''})`);
      boots.push({ firmware, seconds: r.seconds, accel: r.accel, serialLog });
    }
    return { boots };
  },
};
