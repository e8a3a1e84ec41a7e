// apt-get against the image's suite (not the host's), with its own lists and
// cache under the build cache. Used to resolve and fetch single packages
// (the kernel) before the root filesystem exists. Signatures are checked by
// apt against the host's Debian archive keyring.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildConfig } from '../config/profile.js';
import { run, type Log } from '../../lib/exec.js';
import { hashValue } from '../lib/hash.js';
import { renderSourcesList } from './sources.js';

export interface PrivateApt {
  dir: string;
  args: string[];
}

export function sourcesFor(config: BuildConfig): string {
  return renderSourcesList(config.mirrors, config.suite, config.components);
}

export async function privateApt(config: BuildConfig, log: Log): Promise<PrivateApt> {
  const sources = sourcesFor(config);
  const dir = join(config.cacheDir, 'apt', hashValue(sources).slice(0, 16));
  for (const d of ['lists/partial', 'cache/archives/partial']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'sources.list'), sources);
  writeFileSync(join(dir, 'status'), '');
  const args = [
    '-o', `Dir::Etc::SourceList=${join(dir, 'sources.list')}`,
    '-o', 'Dir::Etc::SourceParts=-',
    '-o', `Dir::State::Lists=${join(dir, 'lists')}`,
    '-o', `Dir::State::status=${join(dir, 'status')}`,
    '-o', `Dir::Cache=${join(dir, 'cache')}`,
    '-o', 'APT::Architecture=amd64',
    '-o', 'APT::Sandbox::User=root',
    '-o', 'Debug::NoLocking=1',
  ];
  await run(log, 'apt-get', [...args, 'update', '-q']);
  return { dir, args };
}

/** "Field: value" of a package's newest candidate. */
export async function showField(apt: PrivateApt, log: Log, pkg: string, field: string): Promise<string> {
  const out = await run(log, 'apt-cache', [...apt.args, 'show', '--no-all-versions', pkg], { capture: true });
  const m = new RegExp(`^${field}: (.*)$`, 'm').exec(out);
  if (!m) throw new Error(`package ${pkg} has no ${field} field`);
  return m[1].trim();
}

/** Download a package's .deb into `dest`; returns nothing, the file is <name>_<ver>_<arch>.deb. */
export async function download(apt: PrivateApt, log: Log, pkg: string, dest: string): Promise<void> {
  await run(log, 'apt-get', [...apt.args, 'download', '-q', pkg], { cwd: dest });
}
