// A flat apt repository ("deb [trusted=yes] file:/path ./") of our .debs:
// Packages, Packages.gz and a Release with their hashes. Deterministic.
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Log } from '../../lib/exec.js';
import { sh } from '../lib/sh.js';

export async function indexRepo(dir: string, epoch: number, suite: string, log: Log): Promise<void> {
  const packages = await sh(log, { cwd: dir, capture: true })`dpkg-scanpackages --multiversion . /dev/null`;
  writeFileSync(join(dir, 'Packages'), packages);
  // gzip header time is 0 with zlib's default; the level is fixed.
  writeFileSync(join(dir, 'Packages.gz'), gzipSync(Buffer.from(packages), { level: 9 }));
  const sum = (algo: string, f: string) => createHash(algo).update(readFileSync(join(dir, f))).digest('hex');
  const files = ['Packages', 'Packages.gz'];
  const lines = [
    'Origin: XDPFire',
    'Label: XDPFire',
    `Suite: ${suite}`,
    `Codename: ${suite}`,
    `Date: ${new Date(epoch * 1000).toUTCString().replace('GMT', '+0000')}`,
    'Architectures: amd64 all',
    'Description: XDPFire add-ons',
    'MD5Sum:',
    ...files.map((f) => ` ${sum('md5', f)} ${statSync(join(dir, f)).size} ${f}`),
    'SHA256:',
    ...files.map((f) => ` ${sum('sha256', f)} ${statSync(join(dir, f)).size} ${f}`),
  ];
  writeFileSync(join(dir, 'Release'), `${lines.join('\n')}\n`);
}
