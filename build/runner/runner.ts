// Runs stages in order: a cache hit when the inputs' hash has an entry,
// otherwise the stage runs into a temporary folder that is renamed into
// place only when it succeeded. A run interrupted with Ctrl-C leaves no entry.
// With a remote cache, a local miss is first looked up there (a checked
// download into a temporary folder, renamed into place the same way), and
// entries built here, or found here but not there, are uploaded.
// Runs in one cache folder take turns (build-lock.ts).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildConfig } from '../config/profile.js';
import { fileLog } from '../../lib/exec.js';
import { hashValue } from '../lib/hash.js';
import { acquireBuildLock } from './build-lock.js';
import { DIGEST_FILE, digestOf, isEntry, readEntry, RESULT_FILE } from './cache-entry.js';
import { removeStaleTemps, safeRemove } from './fs-safe.js';
import { RemoteCache, type RemoteCacheOptions } from './remote-cache.js';
import type { Stage, StageName, StageResult } from './stage.js';

export type StageState = 'cached' | 'remote' | 'running' | 'done' | 'failed' | 'skipped';

export interface StageReport {
  stage: StageName;
  state: StageState;
  seconds: number;
  key?: string;
  log?: string;
  error?: string;
}

export interface RunOptions {
  /** Stages to rerun even when cached. */
  force?: Set<StageName>;
  /** Stages not to run at all (their dependents then fail). */
  skip?: Set<StageName>;
  /** Where per-stage logs go. */
  logDir: string;
  /** Progress output (stdout by default). */
  print?: (line: string) => void;
  /** A remote tier shared with other builders (build/runner/remote-cache.ts). */
  remote?: RemoteCacheOptions;
}

export interface PipelineResult {
  ok: boolean;
  reports: StageReport[];
  results: Partial<Record<StageName, StageResult>>;
}

const fmtSeconds = (s: number) => (s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`);

export function progressLine(index: number, total: number, r: StageReport): string {
  const mark = { cached: '=', remote: '<', running: '>', done: '+', failed: '!', skipped: '-' }[r.state];
  const time = r.state === 'running' ? '' : fmtSeconds(r.seconds);
  return `${mark} [${index}/${total}] ${r.stage.padEnd(9)} ${r.state.padEnd(8)} ${time}`.trimEnd();
}

export function summaryTable(reports: StageReport[]): string {
  const rows = [['stage', 'state', 'time', 'key'], ...reports.map((r) => [r.stage, r.state, r.state === 'skipped' ? '' : fmtSeconds(r.seconds), r.key?.slice(0, 12) ?? ''])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/**
 * The cache key of a stage, given the output digests of the stages it
 * depends on. Keying on what a dependency produced (not on its own key) means
 * a dependency that reran but produced the same bytes does not invalidate
 * the stages after it.
 */
export async function stageKey(stage: Stage, config: BuildConfig, depDigests: string[]): Promise<string> {
  return hashValue({ stage: stage.name, inputs: await stage.inputs(config), deps: depDigests });
}

export async function runStages(stages: Stage[], config: BuildConfig, opts: RunOptions): Promise<PipelineResult> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const reports: StageReport[] = [];
  const results: Partial<Record<StageName, StageResult>> = {};
  mkdirSync(opts.logDir, { recursive: true });
  const remote = opts.remote ? new RemoteCache(opts.remote, print) : undefined;
  // Uploads run in the background while the next stages run; the run waits
  // for them before it returns. They never throw.
  const uploads: Promise<void>[] = [];
  // One build per cache folder at a time (build-lock.ts); a second run waits
  // here and then takes the first one's entries from the cache.
  const lock = await acquireBuildLock(config.cacheDir, print);

  // Ctrl-C: the current stage's temporary folder is removed before exit.
  let currentTmp: string[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    for (const d of currentTmp) {
      try {
        safeRemove(d);
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
      }
    }
    process.stderr.write(`\ninterrupted (${sig}); no partial cache entry was kept\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // Preflight checks of the stages that will run, before any of them does.
    const checked = stages.filter((s) => s.preflight && !opts.skip?.has(s.name));
    if (checked.length) {
      const logFile = join(opts.logDir, 'preflight.log');
      writeFileSync(logFile, `# preflight checks (${checked.map((s) => s.name).join(', ')}), started ${new Date().toISOString()}\n`);
      const log = fileLog(logFile);
      for (const stage of checked) {
        const started = Date.now();
        try {
          await stage.preflight!(config, log);
        } catch (err) {
          const msg = (err as Error).message;
          log.line(`# ${stage.name} FAILED: ${(err as Error).stack ?? msg}`);
          const r: StageReport = { stage: stage.name, state: 'failed', seconds: (Date.now() - started) / 1000, log: logFile, error: msg };
          reports.push(r);
          print(progressLine(stages.indexOf(stage) + 1, stages.length, r));
          print(`\nstage "${stage.name}" failed its check before the build: ${msg}\nfull log: ${logFile}`);
          return { ok: false, reports, results };
        }
      }
    }
    for (const [i, stage] of stages.entries()) {
      const n = i + 1;
      const started = Date.now();
      if (opts.skip?.has(stage.name)) {
        reports.push({ stage: stage.name, state: 'skipped', seconds: 0 });
        print(progressLine(n, stages.length, reports.at(-1)!));
        continue;
      }
      const missing = stage.deps.filter((d) => !results[d]);
      if (missing.length) {
        const r: StageReport = { stage: stage.name, state: 'failed', seconds: 0, error: `needs the ${missing.join(', ')} stage(s), which did not run` };
        reports.push(r);
        print(`${progressLine(n, stages.length, r)}  ${r.error}`);
        return { ok: false, reports, results };
      }
      const logFile = join(opts.logDir, `${stage.name}.log`);
      let key: string;
      try {
        key = await stageKey(stage, config, stage.deps.map((d) => results[d]!.digest));
      } catch (err) {
        const r: StageReport = { stage: stage.name, state: 'failed', seconds: 0, error: (err as Error).message };
        reports.push(r);
        print(`${progressLine(n, stages.length, r)}  ${r.error}`);
        return { ok: false, reports, results };
      }
      const stageDir = join(config.cacheDir, 'stages', stage.name);
      const entry = join(stageDir, key);
      mkdirSync(stageDir, { recursive: true });
      removeStaleTemps(stageDir);

      const hit = (state: 'cached' | 'remote') => {
        results[stage.name] = { stage: stage.name, key, dir: entry, ...readEntry(entry) };
        const r: StageReport = { stage: stage.name, state, seconds: (Date.now() - started) / 1000, key, log: logFile };
        reports.push(r);
        print(progressLine(n, stages.length, r));
      };
      const forced = opts.force?.has(stage.name);
      if (!forced && isEntry(entry)) {
        hit('cached');
        if (remote) uploads.push(remote.uploadIfMissing(stage.name, key, entry));
        continue;
      }

      const tmpOut = join(stageDir, `.tmp-${key.slice(0, 16)}-${process.pid}`);
      if (!forced && remote) {
        // Downloaded and checked into tmpOut, then renamed into place.
        currentTmp = [tmpOut];
        safeRemove(tmpOut);
        if (await remote.fetch(stage.name, key, tmpOut)) {
          safeRemove(entry);
          renameSync(tmpOut, entry);
          currentTmp = [];
          hit('remote');
          continue;
        }
        currentTmp = [];
      }

      const tmpScratch = join(config.cacheDir, 'tmp', `${stage.name}-${process.pid}`);
      currentTmp = [tmpOut, tmpScratch];
      safeRemove(tmpOut);
      safeRemove(tmpScratch);
      mkdirSync(tmpOut, { recursive: true });
      mkdirSync(tmpScratch, { recursive: true });
      writeFileSync(logFile, `# stage ${stage.name}, key ${key}, started ${new Date().toISOString()}\n`);
      const log = fileLog(logFile);
      print(progressLine(n, stages.length, { stage: stage.name, state: 'running', seconds: 0 }));
      try {
        const data = await stage.run({ config, log, deps: results, outDir: tmpOut, tmpDir: tmpScratch });
        writeFileSync(join(tmpOut, RESULT_FILE), `${JSON.stringify(data, null, 2)}\n`);
        const digest = digestOf(tmpOut);
        // The digest file is written last: an entry without it is incomplete.
        writeFileSync(join(tmpOut, DIGEST_FILE), `${digest}\n`);
        safeRemove(entry);
        renameSync(tmpOut, entry);
        safeRemove(tmpScratch);
        currentTmp = [];
        results[stage.name] = { stage: stage.name, key, digest, dir: entry, data };
        if (remote) uploads.push(remote.upload(stage.name, key, entry));
        const r: StageReport = { stage: stage.name, state: 'done', seconds: (Date.now() - started) / 1000, key, log: logFile };
        reports.push(r);
        log.line(`# done in ${fmtSeconds(r.seconds)}`);
        print(progressLine(n, stages.length, r));
      } catch (err) {
        const msg = (err as Error).message;
        log.line(`# FAILED: ${(err as Error).stack ?? msg}`);
        for (const d of currentTmp) {
          try {
            safeRemove(d);
          } catch (e) {
            log.line(`# ${(e as Error).message}`);
          }
        }
        currentTmp = [];
        const r: StageReport = { stage: stage.name, state: 'failed', seconds: (Date.now() - started) / 1000, key, log: logFile, error: msg };
        reports.push(r);
        print(progressLine(n, stages.length, r));
        print(`\nstage "${stage.name}" failed: ${msg}\nfull log: ${logFile}`);
        return { ok: false, reports, results };
      }
    }
    return { ok: true, reports, results };
  } finally {
    if (uploads.length) await Promise.all(uploads);
    if (remote?.stats.uploaded) print(`remote cache: uploaded ${remote.stats.uploaded} entries (${(remote.stats.uploadedBytes / 1024 / 1024).toFixed(1)} MiB) to ${remote.url}`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await lock.release();
  }
}
