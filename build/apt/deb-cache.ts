// mmdebstrap options that keep downloaded .debs in the build cache, shared by
// every mmdebstrap run of the build (rootfs, the trixie build environment),
// so that a rerun downloads nothing it already has.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildConfig } from '../config/profile.js';

export function debCacheArgs(c: BuildConfig): string[] {
  const dir = join(c.cacheDir, 'debs', c.suite);
  mkdirSync(dir, { recursive: true });
  return [
    '--skip=essential/unlink',
    '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
    `--setup-hook=sync-in ${dir} /var/cache/apt/archives/`,
    `--customize-hook=sync-out /var/cache/apt/archives ${dir}`,
  ];
}
