// Stage doctor: the host packages the build needs are installed.
import { ensureHostTools, installedVersions, requiredPackages } from '../doctor/doctor.js';
import type { Stage } from '../runner/stage.js';

export const doctor: Stage<{ packages: Record<string, string> }> = {
  name: 'doctor',
  description: 'host tools present (apt-get installs what is missing when run as root)',
  deps: [],
  // The installed versions are the input: a change of host tools reruns it.
  async inputs() {
    const pkgs = requiredPackages(['build']);
    return Object.fromEntries(await installedVersions(pkgs));
  },
  async run(ctx) {
    return { packages: await ensureHostTools(['build'], ctx.log, (s) => ctx.log.line(s)) };
  },
};
