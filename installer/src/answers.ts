// The answer file: what the installer needs to know, from the dialogs or
// from JSON. Checked completely (JSON Schema, then the rules a schema cannot
// say) before any disk is touched; every problem names its JSON path.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidFileError, parseJson, validateData } from '../../lib/json-file.js';
import { passwordProblem } from '../../lib/password.js';
import { ANSWERS_SCHEMA } from './paths.js';

export interface Answers {
  disk: string;
  wipeExistingPartitions?: boolean;
  keyboard?: string;
  timezone?: string;
  hostname: string;
  adminPassword: string;
  green: { mac: string; address: string };
  red: { mac: string; type: 'dhcp' | 'static'; address?: string; gateway?: string; dns?: string[] };
  xdpSni?: { mode?: 'monitor' | 'block' };
  reboot?: boolean;
}

/** Answers with every default filled in. */
export type ResolvedAnswers = Required<Omit<Answers, 'xdpSni'>> & { xdpSni: { mode: 'monitor' | 'block' } };

export const DEFAULTS = { keyboard: 'us', timezone: 'UTC', mode: 'block' as const };

// (the rule is shared with the web UI's password change)
export { passwordProblem };

function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** [network, broadcast] of "a.b.c.d/p" as integers. */
export function cidrRange(cidr: string): [number, number] {
  const [ip, p] = cidr.split('/');
  const size = 2 ** (32 - Number(p));
  const net = Math.floor(ipToInt(ip) / size) * size;
  return [net, net + size - 1];
}

/** The rules the schema cannot express; [json path, problem] pairs. */
export function semanticProblems(a: Answers, zoneinfo = '/usr/share/zoneinfo'): string[] {
  const out: string[] = [];
  const pw = passwordProblem(a.adminPassword);
  if (pw) out.push(`/adminPassword: ${pw}`);
  if (a.green.mac.toLowerCase() === a.red.mac.toLowerCase()) out.push('/red/mac: must differ from /green/mac');
  const hostIn = (cidr: string, path: string) => {
    const [net, bcast] = cidrRange(cidr);
    const ip = ipToInt(cidr.split('/')[0]);
    if (ip === net || ip === bcast) out.push(`${path}: ${cidr.split('/')[0]} is the network or broadcast address of ${cidr}`);
  };
  hostIn(a.green.address, '/green/address');
  if (a.red.type === 'static' && a.red.address) {
    hostIn(a.red.address, '/red/address');
    const [gn, gb] = cidrRange(a.green.address);
    const [rn, rb] = cidrRange(a.red.address);
    if (rn <= gb && gn <= rb) out.push(`/red/address: ${a.red.address} overlaps green's network ${a.green.address}`);
    if (a.red.gateway) {
      const g = ipToInt(a.red.gateway);
      if (g < rn || g > rb) out.push(`/red/gateway: ${a.red.gateway} is not in red's network ${a.red.address}`);
    }
  }
  if (a.red.type === 'dhcp' && (a.red.address || a.red.gateway || a.red.dns)) out.push('/red: address, gateway and dns are only for "type": "static"');
  if (a.timezone && existsSync(zoneinfo) && !existsSync(join(zoneinfo, a.timezone))) out.push(`/timezone: no zone "${a.timezone}" in ${zoneinfo}`);
  return out;
}

/** Validate parsed answers; throws InvalidFileError listing every problem. */
export function checkAnswers(data: unknown, label: string, zoneinfo?: string): ResolvedAnswers {
  const a = validateData<Answers>(data, ANSWERS_SCHEMA, label);
  const problems = semanticProblems(a, zoneinfo);
  if (problems.length) throw new InvalidFileError(label, problems);
  return {
    disk: a.disk,
    wipeExistingPartitions: a.wipeExistingPartitions ?? false,
    keyboard: a.keyboard ?? DEFAULTS.keyboard,
    timezone: a.timezone ?? DEFAULTS.timezone,
    hostname: a.hostname,
    adminPassword: a.adminPassword,
    green: { mac: a.green.mac.toLowerCase(), address: a.green.address },
    red: { ...a.red, mac: a.red.mac.toLowerCase() },
    xdpSni: { mode: a.xdpSni?.mode ?? DEFAULTS.mode },
    reboot: a.reboot ?? true,
  };
}

/** Parse and validate an answer file's text. */
export function parseAnswers(text: string, label: string, zoneinfo?: string): ResolvedAnswers {
  return checkAnswers(parseJson(text, label), label, zoneinfo);
}
