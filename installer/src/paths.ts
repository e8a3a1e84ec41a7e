// Where the installer's data files are: next to the bundle (in the image,
// /usr/lib/xdpfire-installer), or the installer/ folder of the repo when run
// from source (tests, tsx).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIVE_MOUNT, ON_MEDIUM } from '../../lib/live-medium.js';

/** Set to true by installer/bundle.ts. */
declare const __INSTALLER_BUNDLED__: boolean | undefined;

export const DATA_DIR: string =
  typeof __INSTALLER_BUNDLED__ !== 'undefined' && __INSTALLER_BUNDLED__ ? __dirname : join(dirname(fileURLToPath(import.meta.url)), '..');

export const ANSWERS_SCHEMA = join(DATA_DIR, 'answers.schema.json');

/** The live system's image, copied to the disk (live-boot mounts the ISO here). */
export const LIVE_MEDIUM = process.env.XDPFIRE_LIVE_MEDIUM ?? LIVE_MOUNT;
export const LIVE_SQUASHFS = join(LIVE_MEDIUM, ON_MEDIUM.squashfs);
export const LIVE_REPO = join(LIVE_MEDIUM, ON_MEDIUM.repo);

/** The installer's log on the live system (copied to the disk at the end). */
export const LIVE_LOG = process.env.XDPFIRE_INSTALL_LOG ?? '/var/log/xdpfire-install.log';

/** The volume label an answer file can come on, and the file name on it. */
export const ANSWERS_LABEL = 'XDPFIRE-ANS';
export const ANSWERS_FILE = 'answers.json';
