// xdpfire: the command line of the build. See README.md.
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, parseCommandLine, usage, UsageError, type Command } from './cli-settings.js';
import { isoFileName, loadBuildConfig, REPO_ROOT, type BuildConfig, type Overrides } from './config/profile.js';
import { defaultSourceDateEpoch } from './config/epoch.js';
import { ensureHostTools, type ToolGroup } from './doctor/doctor.js';
import { fileLog } from '../lib/exec.js';
import { hashFile } from './lib/hash.js';
import { InvalidFileError } from '../lib/json-file.js';
import { checkRemoteUrl, displayUrl } from './runner/remote-cache.js';
import { runStages, summaryTable } from './runner/runner.js';
import { STAGE_NAMES, type StageName } from './runner/stage.js';
import { PIPELINE } from './stages/index.js';
import { Vm } from './qemu/vm.js';

function parseStages(v: string | undefined, flag: string): Set<StageName> {
  if (!v) return new Set();
  if (v === 'all') return new Set(STAGE_NAMES);
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(STAGE_NAMES as readonly string[]).includes(n));
  if (bad.length) throw new InvalidFileError(flag, [`unknown stage(s) ${bad.join(', ')}; stages are ${STAGE_NAMES.join(', ')}`]);
  return new Set(names as StageName[]);
}

/** The remote cache URL, checked, or undefined when there is none. */
function remoteCache(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return checkRemoteUrl(url);
  } catch (err) {
    throw new InvalidFileError('--remote-cache (or XDPFIRE_REMOTE_CACHE)', [(err as Error).message]);
  }
}

async function build(c: BuildConfig, force: Set<StageName>, withQa: boolean, remote: string | undefined): Promise<number> {
  console.log(`xdpfire ${c.version}: profile ${c.profileFile}`);
  console.log(`cache ${c.cacheDir}${remote ? `, remote cache ${displayUrl(remote)}` : ''}, mirror ${c.mirrors.mirror}, SOURCE_DATE_EPOCH ${c.sourceDateEpoch}`);
  const started = Date.now();
  const skip = new Set<StageName>(withQa ? [] : ['qa']);
  const r = await runStages(PIPELINE, c, { force, skip, logDir: join(c.outDir, 'logs'), remote: remote ? { url: remote } : undefined });
  console.log(`\n${summaryTable(r.reports)}`);
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (!r.ok) return 1;
  const iso = r.results.iso!;
  mkdirSync(c.outDir, { recursive: true });
  const dst = join(c.outDir, isoFileName(c));
  const sha = String(iso.data.sha256);
  if (!existsSync(dst) || (await hashFile(dst)) !== sha) copyFileSync(join(iso.dir, isoFileName(c)), dst);
  const mb = (statSync(dst).size / 1024 / 1024).toFixed(1);
  console.log(`\nISO     ${dst}\nsize    ${mb} MiB (${statSync(dst).size} bytes)\nsha256  ${sha}`);
  // The SBOM and the lock file (--lock) beside the ISO.
  for (const [label, f] of [['SBOM', iso.data.sbom], ['lock', iso.data.lock]] as const) {
    copyFileSync(join(iso.dir, String(f)), join(c.outDir, String(f)));
    console.log(`${label.padEnd(8)}${join(c.outDir, String(f))}`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { command: cmd, values } = parseCommandLine(argv);
  if (cmd !== undefined && !(cmd in COMMANDS)) {
    process.stderr.write(`unknown command "${cmd}"\n${usage()}`);
    return 2;
  }
  if (values.help || !cmd) {
    process.stdout.write(usage(cmd as Command | undefined));
    return cmd || values.help ? 0 : 2;
  }
  const overrides: Overrides = {
    profile: values.profile,
    out: values.out,
    cacheDir: values['cache-dir'],
    mirror: values.mirror,
    securityMirror: values['security-mirror'],
    kernelMode: values['kernel-mode'],
    sourceDateEpoch: values['source-date-epoch'],
    lock: values.lock,
    distcc: values.distcc,
    remoteCache: remoteCache(values['remote-cache']),
  };
  switch (cmd) {
    case 'build':
      return build(loadBuildConfig(overrides, defaultSourceDateEpoch), parseStages(values.force, '--force'), !!values.qa, overrides.remoteCache);
    case 'config': {
      // No stage keys on the remote cache (it changes where entries come
      // from, never what a stage builds); its password is never printed.
      const c = loadBuildConfig(overrides, defaultSourceDateEpoch);
      console.log(JSON.stringify(c.remoteCache ? { ...c, remoteCache: displayUrl(c.remoteCache) } : c, null, 2));
      return 0;
    }
    case 'stages':
      for (const s of PIPELINE) console.log(`${s.name.padEnd(9)} ${s.description}`);
      return 0;
    case 'boot': {
      const c = loadBuildConfig(overrides, defaultSourceDateEpoch);
      const fw = values.firmware;
      if (fw !== 'bios' && fw !== 'uefi') throw new InvalidFileError('--firmware', ['must be bios or uefi']);
      const isoPath = values.iso ?? join(c.outDir, isoFileName(c));
      if (!existsSync(isoPath)) throw new InvalidFileError(isoPath, ['no such ISO; run ./make.sh build first']);
      const work = join(c.outDir, 'boot');
      const vm = await Vm.start({ firmware: fw, memoryMiB: c.qa.memoryMiB, iso: isoPath, workDir: work, serialLog: join(work, `serial-${fw}.log`), interactive: true });
      const code = (await vm.waitExit()) ?? 1;
      if (vm.failure) process.stderr.write(`${vm.failure}\n`);
      return code;
    }
    case 'doctor': {
      const groups = values.for!.split(',') as ToolGroup[];
      if (groups.some((g) => g !== 'build' && g !== 'test')) throw new InvalidFileError('--for', ['groups are build and test']);
      const logDir = join(REPO_ROOT, 'out', 'logs');
      mkdirSync(logDir, { recursive: true });
      const versions = await ensureHostTools(groups, fileLog(join(logDir, 'doctor.log')), (s) => console.log(s));
      console.log(`doctor: ${Object.keys(versions).length} host packages present (${groups.join(', ')})`);
      return 0;
    }
    default:
      throw new Error(`command "${cmd}" is in the table but has no code`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    const usageProblem = err instanceof InvalidFileError || err instanceof UsageError;
    if (usageProblem) process.stderr.write(`error: ${err.message}\n`);
    else process.stderr.write(`error: ${err.stack ?? err.message}\n`);
    process.exit(usageProblem ? 2 : 1);
  },
);
