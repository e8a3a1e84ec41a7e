import { defineConfig } from 'vitest/config';

// One vitest project per test layer (see README "Tests"). `npm test` runs
// them all; `npm run test:<layer>` runs one.
const layer = (name: string, timeoutMs: number) => ({
  extends: true as const,
  test: {
    name,
    include: [`test/${name}/**/*.test.ts`],
    testTimeout: timeoutMs,
    hookTimeout: timeoutMs,
  },
});

export default defineConfig({
  test: {
    // Layers that touch the kernel, namespaces or QEMU must not run at the
    // same time as each other: they share /sys/fs/bpf and 2 CPUs.
    fileParallelism: false,
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
