// What a build stage is: a named function of declared inputs, whose output
// folder is stored in the cache under a hash of those inputs.
import type { BuildConfig } from '../config/profile.js';
import type { Log } from '../../lib/exec.js';

export const STAGE_NAMES = ['doctor', 'kernel', 'bpf', 'packages', 'rootfs', 'iso', 'qa'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** What a finished stage left in the cache. */
export interface StageResult<T = Record<string, unknown>> {
  stage: StageName;
  key: string;
  /** Hash of the entry's contents: what dependents are keyed on. */
  digest: string;
  /** The cache entry; file names in `data` are relative to it. */
  dir: string;
  data: T;
}

export interface StageContext {
  config: BuildConfig;
  log: Log;
  /** Results of the stages this one depends on. */
  deps: Partial<Record<StageName, StageResult>>;
  /** Where the stage writes its outputs; becomes the cache entry on success. */
  outDir: string;
  /** Scratch space, removed after the stage. */
  tmpDir: string;
}

export interface Stage<T extends Record<string, unknown> = Record<string, unknown>> {
  name: StageName;
  description: string;
  deps: StageName[];
  /**
   * The stage's declared inputs as a JSON value (config slices, file hashes).
   * The cache key is the hash of this, the stage name and the deps' keys.
   */
  inputs(config: BuildConfig): Promise<unknown> | unknown;
  /**
   * Checks that must pass before any stage runs (the runner calls each
   * stage's, in order, first): what would otherwise fail only after long
   * work. Throws to stop the build.
   */
  preflight?(config: BuildConfig, log: Log): Promise<void> | void;
  run(ctx: StageContext): Promise<T>;
}
