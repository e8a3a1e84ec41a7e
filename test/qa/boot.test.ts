// QA smoke: the ISO boots in QEMU under BIOS and under UEFI (OVMF) to the
// ready line on the serial console, and the guest powers off. Serial logs
// are kept in test-artifacts/qa/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyLine } from '../../build/config/ready.js';
import { liveCount } from '../../build/qemu/processes.js';
import { bootToReady } from '../../build/qemu/smoke.js';
import { ARTIFACTS, buildIso, qaConfig } from './iso.js';

const config = qaConfig();
let iso = '';

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  iso = (await buildIso(config)).path;
}, 3_600_000);

afterAll(() => {
  expect(liveCount()).toBe(0);
});

describe.each(['bios', 'uefi'] as const)('live ISO under %s', (firmware) => {
  it('boots to the ready line on ttyS0 and powers off', async () => {
    const serialLog = join(ARTIFACTS, `serial-${firmware}.log`);
    const r = await bootToReady({ iso, firmware, memoryMiB: config.qa.memoryMiB, timeoutMs: config.qa.bootTimeoutSeconds * 1000, serialLog, workDir: join(ARTIFACTS, 'work') });
    const serial = readFileSync(serialLog, 'utf8');
    expect(serial).toContain(readyLine(config));
    // The kernel itself logged to the serial console too (console=ttyS0).
    expect(serial).toMatch(/Linux version 6\.\d+/);
    console.log(`${firmware}: ready after ${r.seconds.toFixed(1)} s (${r.accel}), shutdown ${r.shutdown}`);
    expect(r.shutdown).toBe('clean');
  });
});
