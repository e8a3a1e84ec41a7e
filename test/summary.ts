// Prints the one line CI reads, "tests: N passed, M failed", counted from
// vitest's JSON report. A missing or empty report is a failure, so that a
// run that executed no tests never looks green.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-artifacts/vitest-report.json';
if (!existsSync(file)) {
  console.log(`tests: 0 passed, 0 failed (no report at ${file})`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: { status: string; message?: string; name: string; assertionResults?: { status: string }[] }[];
};
// A file can fail with no failed test in it: it did not load, or a
// beforeAll/afterAll hook threw and its tests were skipped. Such a file
// counts its skipped tests as failed (at least one), so that a broken
// hook never shows as "0 failed".
let hookFailures = 0;
for (const f of report.testResults ?? []) {
  if (f.status !== 'failed') continue;
  const results = f.assertionResults ?? [];
  if (results.some((a) => a.status === 'failed')) continue;
  const notRun = results.filter((a) => a.status === 'skipped' || a.status === 'pending').length;
  hookFailures += Math.max(1, notRun);
  console.log(`${f.name}: failed outside its tests (load error or hook)${f.message ? `: ${f.message.split('\n')[0]}` : ''}; ${Math.max(1, notRun)} counted as failed`);
}
const failed = report.numFailedTests + hookFailures;
const skipped = Math.max(0, (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0) - hookFailures);
if (skipped) console.log(`(${skipped} test(s) skipped)`);
// The last line is exactly the one CI reads.
console.log(`tests: ${report.numPassedTests} passed, ${failed} failed`);
process.exit(failed === 0 && report.numPassedTests > 0 ? 0 : 1);
