import { defineConfig } from 'vitest/config';

// One vitest project per test layer (see README "Tests"). `npm test` runs
// them all; `npm run test:<layer>` runs one.
//
// Two groups, one after the other (sequence.groupOrder):
// 1. every layer but qa, one file at a time: they share the kernel's XDP
//    hooks, namespaces and 2 CPUs, and some measure live traffic;
// 2. qa, two files at a time (XDPFIRE_QA_PARALLEL): each guest is one
//    single-threaded TCG process in network namespaces of its own
//    (xf-<pid>-..., build/qemu/net.ts), so two use both cores, and the qa
//    files share nothing but the build cache, whose lock makes a second
//    build wait for the first (build/runner/build-lock.ts).
// `./make.sh test` builds the qa ISO in the background during group 1.
const qaParallel = Math.max(1, Number(process.env.XDPFIRE_QA_PARALLEL ?? 2) || 1);

const layer = (name: string, timeoutMs: number) => ({
  extends: true as const,
  test: {
    name,
    include: [`test/${name}/**/*.test.ts`],
    testTimeout: timeoutMs,
    hookTimeout: timeoutMs,
    maxWorkers: name === 'qa' ? qaParallel : 1,
    sequence: { groupOrder: name === 'qa' ? 2 : 1 },
  },
});

export default defineConfig({
  test: {
    projects: [
      layer('unit', 60_000),
      layer('bpf', 300_000),
      layer('netns', 600_000),
      layer('web', 300_000),
      layer('installer', 600_000),
      layer('qa', 3_600_000),
    ],
  },
});
