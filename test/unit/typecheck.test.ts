// The tsc gate: the whole tree (tsconfig.json's "include") type-checks with
// `tsc --noEmit`. vitest only strips types, so without this test a type error
// would pass `./make.sh test`. Being a test, it counts in the report CI reads.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

describe('typecheck', () => {
  // tsc over the whole tree takes ~15 s on an idle 2-core host; allow for a
  // busy one.
  it('tsc --noEmit -p . reports no errors', { timeout: 300_000 }, async () => {
    const r = await execa(process.execPath, [tsc, '--noEmit', '--pretty', 'false', '-p', repo], { cwd: repo, reject: false, stdin: 'ignore', all: true });
    const out = String(r.all ?? '').trim();
    // On failure the message is tsc's own output, one error per line.
    expect(r.exitCode === 0 ? '' : out || `tsc exited ${r.exitCode ?? r.signal} with no output`).toBe('');
  });
});
