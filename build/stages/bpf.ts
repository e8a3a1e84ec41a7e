// Stage bpf: compile the XDP program and its control tool (bpf/Makefile)
// against the target release, in the cached trixie build environment; work
// out the tool's shared-library dependencies there (dpkg-shlibdeps); then
// load-check the object against the build host's verifier.
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../lib/exec.js';
import { hashPaths } from '../lib/hash.js';
import { stageCode } from '../lib/module-graph.js';
import { safeRemove } from '../runner/fs-safe.js';
import type { Stage } from '../runner/stage.js';
import { BUILD_PACKAGES, buildEnvKey, ensureBuildEnv, inBuildEnv } from '../target/buildenv.js';

export const SHLIBS_FILE = 'xdp-sni.shlibs';

export const bpf: Stage<{ files: string[]; buildEnv: string }> = {
  name: 'bpf',
  description: 'bpf/ compiled in a trixie chroot (BPF object with BTF, xdp-sni tool), load-checked by the host verifier',
  deps: ['doctor'],
  inputs(c) {
    return {
      src: hashPaths([join(c.repoRoot, 'bpf')], c.repoRoot),
      code: stageCode(c.repoRoot, 'build/stages/bpf.ts'),
      buildEnv: buildEnvKey(c),
      packages: BUILD_PACKAGES,
    };
  },
  async run(ctx) {
    const { config: c, log } = ctx;
    const src = join(c.repoRoot, 'bpf');
    if (!existsSync(join(src, 'Makefile'))) {
      log.line('bpf/Makefile not present: nothing to compile yet');
      return { files: [], buildEnv: '' };
    }
    const env = await ensureBuildEnv(c, log);
    const work = join(env, 'build');
    safeRemove(work);
    mkdirSync(work);
    cpSync(src, join(work, 'src'), { recursive: true, filter: (p) => !p.startsWith(join(src, 'build')) });
    await inBuildEnv(env, log, ['make', '-C', '/build/src', 'OUT=/build/out', '-j2']);
    // dpkg-shlibdeps wants a debian/control beside it; a minimal one will do.
    mkdirSync(join(work, 'pkg', 'debian'), { recursive: true });
    writeFileSync(join(work, 'pkg', 'debian', 'control'), 'Source: xdp-sni\n\nPackage: xdp-sni\nArchitecture: amd64\n');
    const shlibs = await inBuildEnv(env, log, ['dpkg-shlibdeps', '-O', '/build/out/xdp-sni'], '/build/pkg');
    log.line(shlibs);
    cpSync(join(work, 'out'), ctx.outDir, { recursive: true });
    // Man pages ship with the tool.
    for (const f of readdirSync(src).filter((n) => /\.[1-8]$/.test(n))) cpSync(join(src, f), join(ctx.outDir, f));
    writeFileSync(join(ctx.outDir, SHLIBS_FILE), `${shlibs.trim()}\n`);
    safeRemove(work);

    // The host's own build of the tool loads the target-built object through
    // this kernel's verifier.
    const host = join(ctx.tmpDir, 'host');
    await run(log, 'make', ['-C', src, `OUT=${host}`, '-j2', join(host, 'xdp-sni')]);
    for (const obj of readdirSync(ctx.outDir).filter((f) => f.endsWith('.bpf.o'))) {
      await run(log, join(host, 'xdp-sni'), ['verify', join(ctx.outDir, obj)]);
    }
    return { files: readdirSync(ctx.outDir).sort(), buildEnv: buildEnvKey(c) };
  },
};
