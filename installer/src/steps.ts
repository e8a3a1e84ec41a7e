// Run the install as named steps with weights: progress is reported as a
// percentage, every step is logged, and a failure names its step.
import type { Log } from '../../lib/exec.js';

export interface Step<C> {
  id: string;
  /** shown on the gauge and in the log */
  title: string;
  /** share of the progress bar */
  weight: number;
  run(ctx: C, progress: (fraction: number) => void): Promise<void>;
}

export type Progress = (percent: number, text: string) => void;

export type StepsResult = { ok: true } | { ok: false; step: string; title: string; error: Error };

export async function runSteps<C>(steps: Step<C>[], ctx: C, log: Log, progress: Progress): Promise<StepsResult> {
  const total = steps.reduce((n, s) => n + s.weight, 0);
  let done = 0;
  for (const s of steps) {
    const base = done;
    let last = -1;
    const report = (f: number) => {
      const pct = Math.min(100, Math.floor(((base + s.weight * Math.max(0, Math.min(1, f))) * 100) / total));
      if (pct !== last) {
        last = pct;
        progress(pct, s.title);
      }
    };
    log.line(`== step ${s.id}: ${s.title}`);
    report(0);
    const t0 = Date.now();
    try {
      await s.run(ctx, report);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      log.line(`!! step ${s.id} failed after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${error.message}`);
      return { ok: false, step: s.id, title: s.title, error };
    }
    log.line(`== step ${s.id} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    done += s.weight;
    report(1);
  }
  return { ok: true };
}
