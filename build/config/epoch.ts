// The default SOURCE_DATE_EPOCH: the time of the last commit that changed
// something that ends up in the image. Two builds of the same commit get the
// same timestamps; a commit that only touches tests or the build's own code
// does not move them (and so does not force a rootfs rebuild).
import { execaSync } from 'execa';
import { REPO_ROOT } from './profile.js';

export const IMAGE_INPUT_PATHS = ['images', 'packages', 'kernel-config', 'build/templates', 'bpf', 'webui', 'installer'];

export function defaultSourceDateEpoch(): number {
  try {
    const r = execaSync('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%ct', '--', ...IMAGE_INPUT_PATHS]);
    return Number(r.stdout.trim()) || 0;
  } catch {
    return 0;
  }
}
