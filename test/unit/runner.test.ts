import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { loadBuildConfig } from '../../build/config/profile.js';
import { progressLine, runStages, summaryTable } from '../../build/runner/runner.js';
import type { Stage } from '../../build/runner/stage.js';

function setup() {
  const cacheDir = mkdtempSync(join(tmpdir(), 'xdpfire-cache-'));
  const config = loadBuildConfig({ cacheDir, out: cacheDir, mirror: 'http://mirror.invalid/debian' });
  const lines: string[] = [];
  return { cacheDir, config, lines, opts: { logDir: join(cacheDir, 'logs'), print: (l: string) => lines.push(l) } };
}

function counterStage(name: 'doctor' | 'kernel', input: { v: number }, deps: ('doctor' | 'kernel')[] = [], runs = { n: 0 }): Stage {
  return {
    name,
    description: 'test',
    deps,
    inputs: () => ({ v: input.v }),
    async run(ctx) {
      runs.n++;
      writeFileSync(join(ctx.outDir, 'out.txt'), `v${input.v}`);
      ctx.log.line(`ran ${name}`);
      return { v: input.v };
    },
  };
}

describe('stage runner', () => {
  it('runs a stage once, then serves it from the cache until an input changes', async () => {
    const { config, opts, lines } = setup();
    const input = { v: 1 };
    const runsA = { n: 0 };
    const runsB = { n: 0 };
    const stages = () => [counterStage('doctor', input, [], runsA), counterStage('kernel', { v: 7 }, ['doctor'], runsB)];
    const r1 = await runStages(stages(), config, opts);
    expect(r1.ok).toBe(true);
    expect(r1.reports.map((r) => r.state)).toEqual(['done', 'done']);
    const r2 = await runStages(stages(), config, opts);
    expect(r2.reports.map((r) => r.state)).toEqual(['cached', 'cached']);
    expect(runsA.n).toBe(1);
    expect(readFileSync(join(r2.results.doctor!.dir, 'out.txt'), 'utf8')).toBe('v1');
    // A changed input reruns the stage and, through its key, every dependent.
    input.v = 2;
    const r3 = await runStages(stages(), config, opts);
    expect(r3.reports.map((r) => r.state)).toEqual(['done', 'done']);
    expect(runsB.n).toBe(2);
    expect(lines.some((l) => /\[1\/2\] doctor\s+cached/.test(l))).toBe(true);
  });

  it('--force reruns a cached stage', async () => {
    const { config, opts } = setup();
    const runs = { n: 0 };
    await runStages([counterStage('doctor', { v: 1 }, [], runs)], config, opts);
    const r = await runStages([counterStage('doctor', { v: 1 }, [], runs)], config, { ...opts, force: new Set(['doctor'] as const) });
    expect(r.reports[0].state).toBe('done');
    expect(runs.n).toBe(2);
  });

  it('a failing stage names itself and its log, keeps no cache entry and stops the run', async () => {
    const { config, opts, lines, cacheDir } = setup();
    const failing: Stage = {
      name: 'kernel',
      description: 'fails',
      deps: [],
      inputs: () => ({}),
      async run(ctx) {
        writeFileSync(join(ctx.outDir, 'partial'), 'x');
        ctx.log.line('about to fail');
        throw new Error('option CONFIG_FOO dropped');
      },
    };
    const after = counterStage('doctor', { v: 1 });
    const r = await runStages([failing, after], config, opts);
    expect(r.ok).toBe(false);
    expect(r.reports.map((x) => x.state)).toEqual(['failed']);
    expect(lines.join('\n')).toMatch(/stage "kernel" failed: option CONFIG_FOO dropped\nfull log: .*kernel\.log/);
    const log = readFileSync(join(cacheDir, 'logs', 'kernel.log'), 'utf8');
    expect(log).toMatch(/about to fail/);
    expect(log).toMatch(/FAILED/);
    expect(readdirSync(join(cacheDir, 'stages', 'kernel'))).toEqual([]);
  });

  it('preflight checks run before any stage; a failing one stops the build before the first stage runs', async () => {
    const { config, opts, lines, cacheDir } = setup();
    const runs = { n: 0 };
    const order: string[] = [];
    const checked = (name: 'kernel', fail: boolean): Stage => ({
      ...counterStage(name, { v: 1 }, ['doctor'], runs),
      preflight(_c, log) {
        order.push(`preflight ${name}`);
        log.line('checking the lock');
        if (fail) throw new Error('lock: nftables 1.1.1-1 is no longer in the archive (apt knows 1.1.3-1)');
      },
    });
    const first = counterStage('doctor', { v: 1 }, [], runs);
    const r = await runStages([first, checked('kernel', true)], config, opts);
    expect(r.ok).toBe(false);
    expect(runs.n).toBe(0);
    expect(r.reports).toEqual([expect.objectContaining({ stage: 'kernel', state: 'failed', error: expect.stringMatching(/nftables 1\.1\.1-1 is no longer/) })]);
    expect(lines.join('\n')).toMatch(/stage "kernel" failed its check before the build: lock: nftables .*\nfull log: .*preflight\.log/);
    expect(readFileSync(join(cacheDir, 'logs', 'preflight.log'), 'utf8')).toMatch(/checking the lock\n# kernel FAILED/);
    // A passing check lets the stages run; a skipped stage's check is not made.
    const ok = await runStages([first, checked('kernel', false)], config, opts);
    expect(ok.reports.map((x) => x.state)).toEqual(['done', 'done']);
    order.length = 0;
    await runStages([first, checked('kernel', true)], config, { ...opts, skip: new Set(['kernel'] as const) });
    expect(order).toEqual([]);
  });

  it('a stage whose dependency was skipped fails with a clear reason', async () => {
    const { config, opts } = setup();
    const r = await runStages([counterStage('doctor', { v: 1 }), counterStage('kernel', { v: 1 }, ['doctor'])], config, { ...opts, skip: new Set(['doctor'] as const) });
    expect(r.reports.map((x) => x.state)).toEqual(['skipped', 'failed']);
    expect(r.reports[1].error).toMatch(/needs the doctor stage/);
  });

  it('Ctrl-C leaves no half-written entry, and the next run redoes the stage', async () => {
    const { cacheDir } = setup();
    const marker = join(cacheDir, 'started');
    const child = execa('npx', ['tsx', join(import.meta.dirname, 'helpers', 'slow-stage.ts'), cacheDir, marker, 'slow'], { reject: false });
    const deadline = Date.now() + 30_000;
    while (!existsSync(marker) && Date.now() < deadline) await sleep(100);
    const tmpOut = readFileSync(marker, 'utf8');
    expect(existsSync(join(tmpOut, 'half-written'))).toBe(true);
    // Signal the node process itself (npx's child), found by its parent pid.
    const { stdout } = await execa('pgrep', ['-f', `slow-stage.ts ${cacheDir}`]);
    for (const pid of stdout.split('\n').map(Number)) if (pid !== child.pid) process.kill(pid, 'SIGINT');
    const r = await child;
    expect(r.exitCode).not.toBe(0);
    expect(existsSync(tmpOut)).toBe(false);
    const entries = readdirSync(join(cacheDir, 'stages', 'rootfs'));
    expect(entries).toEqual([]);
    const again = await execa('npx', ['tsx', join(import.meta.dirname, 'helpers', 'slow-stage.ts'), cacheDir, marker, 'fast'], { reject: false });
    expect(again.exitCode).toBe(0);
    const done = readdirSync(join(cacheDir, 'stages', 'rootfs'));
    expect(done).toHaveLength(1);
    expect(existsSync(join(cacheDir, 'stages', 'rootfs', done[0], 'result.json'))).toBe(true);
  });

  const helper = (cacheDir: string, marker: string, mode: 'slow' | 'fast' | 'counted') =>
    execa('npx', ['tsx', join(import.meta.dirname, 'helpers', 'slow-stage.ts'), cacheDir, marker, mode], { reject: false });

  it('two builds in one cache folder at once: the stage runs once, the second waits for the lock and takes the entry from the cache', async () => {
    const { cacheDir } = setup();
    const marker = join(cacheDir, 'started');
    const [a, b] = await Promise.all([helper(cacheDir, marker, 'counted'), helper(cacheDir, marker, 'counted')]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    // One run of the stage, counted by the stage itself.
    expect(readFileSync(`${marker}.runs`, 'utf8').trim().split('\n')).toHaveLength(1);
    const states = [a, b].map((r) => /state=(\w+)/.exec(r.stdout)?.[1]).sort();
    expect(states).toEqual(['cached', 'done']);
    const waiter = [a, b].find((r) => r.stdout.includes('state=cached'))!;
    expect(waiter.stdout.match(/another build holds .*build\.lock; waiting/g)).toHaveLength(1);
    expect(readdirSync(join(cacheDir, 'stages', 'rootfs'))).toHaveLength(1);
  });

  it('a build killed while holding the lock (SIGKILL, no cleanup) lets the next one in at once', async () => {
    const { cacheDir } = setup();
    const marker = join(cacheDir, 'started');
    const holder = helper(cacheDir, marker, 'slow');
    const deadline = Date.now() + 30_000;
    while (!existsSync(marker) && Date.now() < deadline) await sleep(100);
    expect(existsSync(marker)).toBe(true);
    const { stdout } = await execa('pgrep', ['-f', `slow-stage.ts ${cacheDir}`]);
    for (const pid of stdout.split('\n').map(Number)) if (pid !== holder.pid) process.kill(pid, 'SIGKILL');
    await holder;
    const t0 = Date.now();
    const next = await helper(cacheDir, marker, 'fast');
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toContain('state=done');
    expect(next.stdout).not.toContain('another build holds');
    // Well under the 60 s the killed stage would have slept.
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('formats progress lines and the summary table', () => {
    expect(progressLine(2, 7, { stage: 'kernel', state: 'done', seconds: 75 })).toBe('+ [2/7] kernel    done     1m15s');
    const t = summaryTable([
      { stage: 'doctor', state: 'cached', seconds: 0.04, key: 'abcdef0123456789' },
      { stage: 'qa', state: 'skipped', seconds: 0 },
    ]);
    expect(t.split('\n')).toEqual(['stage   state    time  key', 'doctor  cached   0.0s  abcdef012345', 'qa      skipped']);
  });
});

describe('stage runner keys on what dependencies produced', () => {
  it('a dependency that reran with the same output leaves its dependents cached', async () => {
    const { config, opts } = setup();
    const up = { v: 1 };
    const downRuns = { n: 0 };
    // The upstream stage's input changes, but its output does not.
    const upstream = (): Stage => ({ name: 'doctor', description: 'x', deps: [], inputs: () => ({ v: up.v }), async run(ctx) { writeFileSync(join(ctx.outDir, 'same'), 'same'); return {}; } });
    const down = (): Stage => counterStage('kernel', { v: 5 }, ['doctor'], downRuns);
    await runStages([upstream(), down()], config, opts);
    up.v = 2;
    const r = await runStages([upstream(), down()], config, opts);
    expect(r.reports.map((x) => x.state)).toEqual(['done', 'cached']);
    expect(downRuns.n).toBe(1);
  });
});
