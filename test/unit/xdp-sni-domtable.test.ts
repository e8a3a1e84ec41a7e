// bpf/cli/domtable.c, the tool's writer of the kernel's domain table, on a
// table in plain memory (test/unit/c/domtable_driver.c, compiled with gcc;
// libbpf is linked for dt_open, which the driver never calls):
// where a key lands in its bucket. The program's lookup starts at the
// key's first slot (xsni_dom_first: the hash's top 3 bits) and goes round
// the bucket, so a key must sit there when the slot is free, else in the
// first free one after it.
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'bpf', 'cli');
let dir: string;
let driver: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'xsni-domtable-'));
  driver = join(dir, 'domtable-driver');
  await execa('gcc', ['-O1', '-g', '-Wall', '-Wextra', '-Werror', '-I', join(repo, 'bpf'), '-I', cli, '-o', driver,
    join(repo, 'test', 'unit', 'c', 'domtable_driver.c'), join(cli, 'domtable.c'), '-lbpf']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = async (...args: string[]) => String((await execa(driver, args)).stdout).split('\n').filter(Boolean);
// a key with bucket b1 = b (bits 2-19), first slot f (bits 61-63), and
// bits 32-60 = k, which move only its second bucket
const key = (b: number, f: number, k: number) => ((BigInt(f) << 61n) | (BigInt(k) << 32n) | (BigInt(b) << 2n)).toString(16);

describe('domain table placement', () => {
  it('a key alone in its bucket sits at its first slot', async () => {
    const keys = [key(5, 0, 1), key(6, 3, 1), key(7, 7, 1)];
    expect(await lines('place', ...keys)).toEqual(['5 0 0', '6 3 3', '7 7 7']);
  });

  it('keys with one first slot fill the bucket from it, round past slot 7; a ninth goes to its other bucket', async () => {
    const keys = Array.from({ length: 9 }, (_, i) => key(100, 6, i + 1));
    const out = (await lines('place', ...keys)).map((l) => l.split(' ').map(Number));
    expect(out.slice(0, 8).map(([b, s]) => [b, s])).toEqual([6, 7, 0, 1, 2, 3, 4, 5].map((s) => [100, s]));
    const [b9, s9, f9] = out[8];
    expect(b9).not.toBe(100);
    expect(s9).toBe(f9);
  });

  it('half full (1,048,576 random keys): every key is found, most at the first compare', async () => {
    const out = await lines('fill', '1048576', '7');
    expect(out[0]).toBe('put 1048576 found 1048576');
    const dist = out.slice(1).map((l) => Number(l.split(' ')[2]));
    expect(dist.reduce((a, b) => a + b, 0)).toBe(1048576);
    // placed in insertion order, a key's slot would not depend on its
    // first: 1/8 at each distance. From the first on: 61 % at the first
    // compare, 85 % within three (the rest moved by cuckoo kicks or in
    // crowded buckets)
    expect(dist[0] / 1048576).toBeGreaterThan(0.55);
    expect((dist[0] + dist[1] + dist[2]) / 1048576).toBeGreaterThan(0.8);
  });
});
