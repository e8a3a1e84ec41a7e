// Shared by the qa tests: build the ISO through the real pipeline (cached
// stages make this quick after the first time) and return its path.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSourceDateEpoch } from '../../build/config/epoch.js';
import { isoFileName, loadBuildConfig, REPO_ROOT, type BuildConfig } from '../../build/config/profile.js';
import { bootFirewallLab, type FirewallLab } from '../../build/qemu/firewall-lab.js';
import { runStages, type StageState } from '../../build/runner/runner.js';
import type { StageName } from '../../build/runner/stage.js';
import { PIPELINE } from '../../build/stages/index.js';

export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'qa');

/**
 * The profile the qa tests build. XDPFIRE_QA_KERNEL_MODE=source|debian
 * overrides the profile's kernel mode, so the same scenarios check the
 * kernel built from source.
 */
export function qaConfig(): BuildConfig {
  return loadBuildConfig({ out: join(ARTIFACTS, 'out'), kernelMode: process.env.XDPFIRE_QA_KERNEL_MODE || undefined }, defaultSourceDateEpoch);
}

export interface BuiltIso {
  path: string;
  sha256: string;
  /** The resolved kernel config the kernel stage checked. */
  kernelConfig: string;
  kernelRelease: string;
  /** sha256 of the rootfs tarball the ISO was made from. */
  rootfsSha256: string;
  /** Each stage's state (cached, remote, done...). */
  states: Partial<Record<StageName, StageState>>;
  /** What the runner printed. */
  lines: string[];
}

export async function buildIso(c: BuildConfig, force: StageName[] = [], opts: { remote?: string } = {}): Promise<BuiltIso> {
  const lines: string[] = [];
  const r = await runStages(PIPELINE, c, {
    skip: new Set(['qa']),
    force: new Set(force),
    logDir: join(c.outDir, 'logs'),
    print: (l) => lines.push(l),
    remote: opts.remote ? { url: opts.remote } : undefined,
  });
  if (!r.ok) throw new Error(`the build failed:\n${lines.join('\n')}`);
  const iso = r.results.iso!;
  const k = r.results.kernel!;
  return {
    path: join(iso.dir, isoFileName(c)),
    sha256: String(iso.data.sha256),
    kernelConfig: join(k.dir, String(k.data.config)),
    kernelRelease: String(k.data.release),
    rootfsSha256: String(r.results.rootfs!.data.sha256),
    states: Object.fromEntries(r.reports.map((x) => [x.stage, x.state])),
    lines,
  };
}

/** The MACs the live scenarios give the green and red NICs. */
export const LIVE_MACS = { green: '52:54:00:f1:00:01', red: '52:54:00:f1:00:02' };

/**
 * Boot the live ISO in the QEMU network lab for scenario `name`: serial log
 * test-artifacts/qa/<name>-serial.log, scratch in test-artifacts/qa/work/<name>.
 */
export async function bootLiveLab(c: BuildConfig, iso: string, name: string): Promise<FirewallLab> {
  const workDir = join(ARTIFACTS, 'work', name);
  rmSync(workDir, { recursive: true, force: true });
  return bootFirewallLab({
    iso,
    memoryMiB: c.qa.memoryMiB,
    timeoutMs: c.qa.bootTimeoutSeconds * 1000,
    workDir,
    serialLog: join(ARTIFACTS, `${name}-serial.log`),
    greenMac: LIVE_MACS.green,
    redMac: LIVE_MACS.red,
    log: (l) => console.log(l),
  });
}
