// doctor: are the host packages the build (or the tests) need installed?
// As root it installs the missing ones with apt-get; otherwise it prints the
// exact apt-get line to run.
import { join } from 'node:path';
import { REPO_ROOT } from '../config/profile.js';
import { probe, run, type Log } from '../../lib/exec.js';
import { readJsonFile } from '../../lib/json-file.js';

export type ToolGroup = 'build' | 'test';

interface HostTools {
  packages: { name: string; for: ToolGroup[]; why: string }[];
}

const TOOLS_FILE = join(REPO_ROOT, 'build', 'doctor', 'host-tools.json');
const TOOLS_SCHEMA = join(REPO_ROOT, 'build', 'doctor', 'host-tools.schema.json');

export function requiredPackages(groups: ToolGroup[]): string[] {
  const t = readJsonFile<HostTools>(TOOLS_FILE, TOOLS_SCHEMA);
  return t.packages.filter((p) => p.for.some((g) => groups.includes(g))).map((p) => p.name);
}

/** Installed version of each package, or undefined when it is not installed. */
export async function installedVersions(packages: string[]): Promise<Map<string, string | undefined>> {
  const r = await probe('dpkg-query', ['-W', '-f', '${Package} ${db:Status-Status} ${Version}\\n', ...packages]);
  const found = new Map<string, string | undefined>(packages.map((p) => [p, undefined]));
  for (const line of r.stdout.split('\n')) {
    const [name, status, version] = line.split(' ');
    if (found.has(name) && status === 'installed') found.set(name, version);
  }
  return found;
}

export function installCommand(missing: string[]): string[] {
  return ['apt-get', 'install', '-y', '--no-install-recommends', ...missing];
}

export class MissingToolsError extends Error {}

/** Make sure every package of `groups` is installed; returns their versions. */
export async function ensureHostTools(groups: ToolGroup[], log: Log, say: (s: string) => void = () => {}): Promise<Record<string, string>> {
  const pkgs = requiredPackages(groups);
  let versions = await installedVersions(pkgs);
  const missing = pkgs.filter((p) => !versions.get(p));
  if (missing.length) {
    const cmd = installCommand(missing);
    if (process.getuid?.() !== 0) {
      throw new MissingToolsError(`missing host packages: ${missing.join(' ')}\nrun as root:\n  ${cmd.join(' ')}`);
    }
    say(`installing host packages: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run(log, 'apt-get', ['update', '-q'], { env });
    await run(log, cmd[0], cmd.slice(1), { env });
    versions = await installedVersions(pkgs);
    const still = pkgs.filter((p) => !versions.get(p));
    if (still.length) throw new MissingToolsError(`apt-get did not install: ${still.join(' ')}`);
  }
  return Object.fromEntries([...versions].map(([k, v]) => [k, v!]));
}
