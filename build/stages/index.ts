// The pipeline, in order. Each stage names the stages it depends on.
import type { Stage } from '../runner/stage.js';
import { bpf } from './bpf.js';
import { doctor } from './doctor.js';
import { iso } from './iso.js';
import { kernel } from './kernel.js';
import { packages } from './packages.js';
import { qa } from './qa.js';
import { rootfs } from './rootfs.js';

export const PIPELINE: Stage[] = [doctor, kernel, bpf, packages, rootfs, iso, qa] as Stage[];
