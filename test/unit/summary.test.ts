// The line CI reads: counted from vitest's JSON report, and a file that
// failed outside its tests (a hook threw) is never "0 failed".
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'xdpfire-summary-'));
async function summary(report: unknown) {
  const f = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(report));
  const r = await execa('npx', ['tsx', 'test/summary.ts', f], { reject: false });
  return { code: r.exitCode, last: String(r.stdout).trim().split('\n').pop() };
}

describe('test summary line', () => {
  it('counts passed and failed tests', async () => {
    expect(await summary({ numPassedTests: 3, numFailedTests: 0, testResults: [{ name: 'a', status: 'passed', assertionResults: [] }] })).toEqual({ code: 0, last: 'tests: 3 passed, 0 failed' });
    expect(await summary({ numPassedTests: 3, numFailedTests: 1, testResults: [{ name: 'a', status: 'failed', assertionResults: [{ status: 'failed' }] }] })).toEqual({ code: 1, last: 'tests: 3 passed, 1 failed' });
  });

  it('counts the tests a failed hook skipped as failed', async () => {
    const r = await summary({ numPassedTests: 6, numFailedTests: 0, numPendingTests: 4, testResults: [{ name: 'q', status: 'failed', message: '', assertionResults: [{ status: 'passed' }, { status: 'skipped' }, { status: 'skipped' }, { status: 'skipped' }, { status: 'skipped' }] }] });
    expect(r).toEqual({ code: 1, last: 'tests: 6 passed, 4 failed' });
  });

  it('no tests at all, or no report, is a failure', async () => {
    expect((await summary({ numPassedTests: 0, numFailedTests: 0, testResults: [] })).code).toBe(1);
    const r = await execa('npx', ['tsx', 'test/summary.ts', join(dir, 'missing.json')], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(String(r.stdout)).toMatch(/^tests: 0 passed, 0 failed/m);
  });
});
