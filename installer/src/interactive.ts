// The interactive install: whiptail dialogs that fill in the same Answers
// an answer file gives, checked by the same rules.
import { InvalidFileError } from '../../lib/json-file.js';
import { checkAnswers, DEFAULTS, passwordProblem, type Answers, type ResolvedAnswers } from './answers.js';
import type { Disk, Nic } from './hardware.js';
import { diskProblem, GiB } from './layout.js';
import * as ui from './ui.js';

export type Ui = Pick<typeof ui, 'message' | 'yesNo' | 'input' | 'password' | 'menu'>;

export const KEYBOARDS: [string, string][] = [
  ['us', 'English (US)'], ['gb', 'English (UK)'], ['de', 'German'], ['fr', 'French'], ['es', 'Spanish'],
  ['it', 'Italian'], ['ch', 'Swiss'], ['nl', 'Dutch'], ['pl', 'Polish'], ['se', 'Swedish'], ['pt', 'Portuguese'], ['jp', 'Japanese'],
];

export interface Machine {
  disks: Disk[];
  nics: Nic[];
  zoneinfo?: string;
}

const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/** Ask until `check` accepts (returns undefined), showing its complaint each time. */
async function ask(u: Ui, q: () => Promise<string>, check: (v: string) => string | undefined): Promise<string> {
  for (;;) {
    const v = await q();
    const why = check(v);
    if (!why) return v;
    await u.message(why);
  }
}

/** Run the dialogs; returns checked answers, or undefined when the user declines to wipe the disk. */
export async function askAnswers(u: Ui, m: Machine): Promise<ResolvedAnswers | undefined> {
  await u.message('Welcome to XDPFire.\n\nThis installs the firewall to a disk. The disk you choose is erased.\n\nArrow keys move, Enter chooses, Esc cancels.');
  const usable = m.disks.filter((d) => !d.inUse && !d.loop && !d.readOnly && !diskProblem({ bytes: d.bytes, readOnly: d.readOnly, hasPartitions: false, isLiveMedium: d.inUse }, true));
  if (!usable.length) {
    await u.message(`No disk to install to (at least 4 GiB, not the install medium). Found: ${m.disks.map((d) => d.path).join(', ') || 'none'}.`);
    return undefined;
  }
  if (m.nics.length < 2) {
    await u.message(`XDPFire needs two network cards (green for the LAN, red for the uplink); this machine has ${m.nics.length}.`);
    return undefined;
  }
  const disk = await u.menu('Install to which disk?', usable.map((d) => [d.path, `${(d.bytes / GiB).toFixed(1)} GiB  ${d.model}${d.hasPartitions ? '  (has partitions)' : ''}`]));
  const keyboard = await u.menu('Keyboard layout', KEYBOARDS, DEFAULTS.keyboard);
  let last: Partial<Answers> = {};
  for (;;) {
    const timezone = await u.input('Time zone (e.g. UTC, Europe/Berlin, America/New_York)', last.timezone ?? DEFAULTS.timezone);
    const hostname = await ask(u, () => u.input('Host name of the firewall (one label: a-z, 0-9, -)', last.hostname ?? 'xdpfire'),
      (v) => (/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v) ? undefined : 'A host name is 1-63 characters a-z, 0-9 and -, not starting or ending with -.'));
    let adminPassword = '';
    for (;;) {
      adminPassword = await u.password('Admin password (for root and the web UI)');
      const weak = passwordProblem(adminPassword);
      if (weak) {
        await u.message(`That password is ${weak}.`);
        continue;
      }
      if ((await u.password('The admin password again')) === adminPassword) break;
      await u.message('The two passwords differ. Please enter them again.');
    }
    const nicItems = (except?: string): [string, string][] => m.nics.filter((n) => n.mac !== except).map((n) => [n.mac, `${n.name}  ${n.driver || '?'}  link ${n.link}`]);
    const greenMac = await u.menu('Which network card is GREEN (the LAN, where the clients are)?', nicItems());
    const redMac = await u.menu('Which network card is RED (the uplink to the internet)?', nicItems(greenMac));
    const greenAddress = await ask(u, () => u.input("GREEN's address and prefix length", last.green?.address ?? '192.168.1.1/24'),
      (v) => (CIDR.test(v) ? undefined : 'Give an IPv4 address with its prefix length, e.g. 192.168.1.1/24.'));
    const redType = (await u.menu('How does RED get its address?', [['dhcp', 'DHCP from the uplink'], ['static', 'a static address']], last.red?.type ?? 'dhcp')) as 'dhcp' | 'static';
    const red: Answers['red'] = { mac: redMac, type: redType };
    if (redType === 'static') {
      red.address = await ask(u, () => u.input("RED's address and prefix length", last.red?.address ?? ''), (v) => (CIDR.test(v) ? undefined : 'e.g. 203.0.113.10/24'));
      red.gateway = await ask(u, () => u.input("RED's gateway", last.red?.gateway ?? ''), (v) => (IPV4.test(v) ? undefined : 'e.g. 203.0.113.1'));
      const dns = await ask(u, () => u.input('DNS servers (blank-separated, may be empty)', (last.red?.dns ?? []).join(' ')), (v) => (v.trim().split(/\s+/).filter(Boolean).every((x) => IPV4.test(x)) ? undefined : 'IPv4 addresses separated by blanks'));
      red.dns = dns.trim().split(/\s+/).filter(Boolean);
    }
    const mode = (await u.menu('How should xdp-sni start?', [['block', 'block listed domains (and log every TLS server name)'], ['monitor', 'only log TLS server names']], last.xdpSni?.mode ?? 'block')) as 'block' | 'monitor';
    const candidate: Answers = { disk, wipeExistingPartitions: true, keyboard, timezone, hostname, adminPassword, green: { mac: greenMac, address: greenAddress }, red, xdpSni: { mode }, reboot: true };
    last = candidate;
    try {
      const a = checkAnswers(candidate, 'your answers', m.zoneinfo);
      const d = usable.find((x) => x.path === disk)!;
      const sure = await u.yesNo(`ALL DATA ON ${disk} (${(d.bytes / GiB).toFixed(1)} GiB, ${d.model}) WILL BE ERASED.\n\nHost ${hostname}, green ${greenMac} ${greenAddress}, red ${redMac} ${redType}, xdp-sni ${mode}.\n\nInstall now?`);
      return sure ? a : undefined;
    } catch (e) {
      if (!(e instanceof InvalidFileError)) throw e;
      await u.message(`Please correct:\n\n${e.problems.join('\n')}`);
    }
  }
}
