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
  testResults?: { status: string; message?: string; name: string }[];
};
// A file that failed to load counts as a failure even with no test in it.
const brokenFiles = (report.testResults ?? []).filter((f) => f.status === 'failed' && f.message).length;
const failed = report.numFailedTests + brokenFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
if (skipped) console.log(`(${skipped} test(s) skipped)`);
// The last line is exactly the one CI reads.
console.log(`tests: ${report.numPassedTests} passed, ${failed} failed`);
process.exit(failed === 0 && report.numPassedTests > 0 ? 0 : 1);
