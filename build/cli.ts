// xdpfire: the command line of the build. See README.md.
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isoFileName, loadBuildConfig, REPO_ROOT, type BuildConfig, type Overrides } from './config/profile.js';
import { defaultSourceDateEpoch } from './config/epoch.js';
import { ensureHostTools, type ToolGroup } from './doctor/doctor.js';
import { fileLog } from '../lib/exec.js';
import { hashFile } from './lib/hash.js';
import { InvalidFileError } from '../lib/json-file.js';
import { runStages, summaryTable } from './runner/runner.js';
import { STAGE_NAMES, type StageName } from './runner/stage.js';
import { PIPELINE } from './stages/index.js';
import { Vm } from './qemu/vm.js';

const USAGE = `usage: xdpfire <command> [options]

commands:
  build            run the stages and write the ISO (qa only with --qa)
  doctor           check host packages, install missing ones as root
  config           print the resolved build configuration
  stages           list the stages
  boot             boot the built ISO in QEMU with its serial console on this
                   terminal (Ctrl-A X quits): --firmware bios|uefi, --iso FILE

options (build, config):
  --profile FILE           image profile (default images/xdpfire.json)
  --out DIR                where the ISO and logs go (default ./out)
  --cache-dir DIR          stage cache (default ~/.cache/xdpfire, or $XDPFIRE_CACHE_DIR)
  --mirror URL             Debian archive (default: from the host's apt sources)
  --security-mirror URL    Debian security archive (default: from the host's apt sources)
  --kernel-mode MODE       debian | source
  --source-date-epoch N    timestamp for reproducible output (default: $SOURCE_DATE_EPOCH, else the time of the last commit that changed the image's inputs)
  --force STAGES           rerun these stages even if cached (comma-separated, or "all")
  --qa                     also run the qa stage (QEMU boots of the ISO)
  --lock FILE              install exactly the package set of this lock file (a build's out/<name>-<ver>.lock.json)
options (doctor):
  --for GROUPS             build,test (default build)
`;

function parseStages(v: string | undefined, flag: string): Set<StageName> {
  if (!v) return new Set();
  if (v === 'all') return new Set(STAGE_NAMES);
  const names = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(STAGE_NAMES as readonly string[]).includes(n));
  if (bad.length) throw new InvalidFileError(flag, [`unknown stage(s) ${bad.join(', ')}; stages are ${STAGE_NAMES.join(', ')}`]);
  return new Set(names as StageName[]);
}

async function build(c: BuildConfig, force: Set<StageName>, withQa: boolean): Promise<number> {
  console.log(`xdpfire ${c.version}: profile ${c.profileFile}`);
  console.log(`cache ${c.cacheDir}, mirror ${c.mirrors.mirror}, SOURCE_DATE_EPOCH ${c.sourceDateEpoch}`);
  const started = Date.now();
  const skip = new Set<StageName>(withQa ? [] : ['qa']);
  const r = await runStages(PIPELINE, c, { force, skip, logDir: join(c.outDir, 'logs') });
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
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      profile: { type: 'string' },
      out: { type: 'string' },
      'cache-dir': { type: 'string' },
      mirror: { type: 'string' },
      'security-mirror': { type: 'string' },
      'kernel-mode': { type: 'string' },
      'source-date-epoch': { type: 'string' },
      force: { type: 'string' },
      qa: { type: 'boolean' },
      lock: { type: 'string' },
      for: { type: 'string' },
      firmware: { type: 'string' },
      iso: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const cmd = positionals[0];
  if (values.help || !cmd) {
    process.stdout.write(USAGE);
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
  };
  switch (cmd) {
    case 'build':
      return build(loadBuildConfig(overrides, defaultSourceDateEpoch), parseStages(values.force, '--force'), !!values.qa);
    case 'config':
      console.log(JSON.stringify(loadBuildConfig(overrides, defaultSourceDateEpoch), null, 2));
      return 0;
    case 'stages':
      for (const s of PIPELINE) console.log(`${s.name.padEnd(9)} ${s.description}`);
      return 0;
    case 'boot': {
      const c = loadBuildConfig(overrides, defaultSourceDateEpoch);
      const fw = values.firmware ?? 'bios';
      if (fw !== 'bios' && fw !== 'uefi') throw new InvalidFileError('--firmware', ['must be bios or uefi']);
      const isoPath = values.iso ?? join(c.outDir, isoFileName(c));
      if (!existsSync(isoPath)) throw new InvalidFileError(isoPath, ['no such ISO; run ./make.sh build first']);
      const work = join(c.outDir, 'boot');
      const vm = await Vm.start({ firmware: fw, memoryMiB: c.qa.memoryMiB, iso: isoPath, workDir: work, serialLog: join(work, `serial-${fw}.log`), interactive: true });
      return (await vm.waitExit()) ?? 1;
    }
    case 'doctor': {
      const groups = (values.for ?? 'build').split(',') as ToolGroup[];
      if (groups.some((g) => g !== 'build' && g !== 'test')) throw new InvalidFileError('--for', ['groups are build and test']);
      const logDir = join(REPO_ROOT, 'out', 'logs');
      mkdirSync(logDir, { recursive: true });
      const versions = await ensureHostTools(groups, fileLog(join(logDir, 'doctor.log')), (s) => console.log(s));
      console.log(`doctor: ${Object.keys(versions).length} host packages present (${groups.join(', ')})`);
      return 0;
    }
    default:
      process.stderr.write(`unknown command "${cmd}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    if (err instanceof InvalidFileError) process.stderr.write(`error: ${err.message}\n`);
    else process.stderr.write(`error: ${err.stack ?? err.message}\n`);
    process.exit(err instanceof InvalidFileError ? 2 : 1);
  },
);
