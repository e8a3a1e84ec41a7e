// Stage bpf: compile the XDP program and its control tool (bpf/Makefile),
// then load-check the object against the build host's verifier.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../lib/exec.js';
import { hashPaths } from '../lib/hash.js';
import type { Stage } from '../runner/stage.js';

export const bpf: Stage<{ files: string[] }> = {
  name: 'bpf',
  description: 'bpf/*.bpf.c compiled with BTF, load-checked by the host verifier; xdp-sni tool built',
  deps: ['doctor'],
  inputs(c) {
    return { src: hashPaths([join(c.repoRoot, 'bpf'), join(c.repoRoot, 'build', 'stages', 'bpf.ts')], c.repoRoot) };
  },
  async run(ctx) {
    const dir = join(ctx.config.repoRoot, 'bpf');
    if (!existsSync(join(dir, 'Makefile'))) {
      ctx.log.line('bpf/Makefile not present: nothing to compile yet');
      return { files: [] };
    }
    await run(ctx.log, 'make', ['-C', dir, `OUT=${ctx.outDir}`, `-j${2}`]);
    await run(ctx.log, 'make', ['-C', dir, `OUT=${ctx.outDir}`, 'check']);
    return { files: readdirSync(ctx.outDir).filter((f) => f !== 'result.json').sort() };
  },
};
