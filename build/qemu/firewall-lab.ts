// The live ISO booted between the lab's client and upstream namespaces
// (net.ts): the QA firewall scenario's fixture, and the hook for other
// scenarios on the same topology (xdp-sni):
//
//   const fw = await bootFirewallLab({ iso, ... });
//   await fw.lab.clientLease();                          // DHCP from the box
//   await fw.lab.curlFromClient(fw.lab.names.blocked);   // through green0
//   await fw.con.run('ip link show dev green0');          // in the guest, as root
//   fw.lab.ns.client                                     // ip netns exec <it> chromium …
//   await fw.stop();                                     // power off, tear the lab down
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { READY_PREFIX } from '../config/ready.js';
import { SerialConsole } from './console.js';
import { NetLab } from './net.js';
import { Vm, type Firmware } from './vm.js';

export interface FirewallLabOptions {
  /** The live ISO; or leave it out and boot from `disks` (an installed system). */
  iso?: string;
  disks?: string[];
  /** An installed system: log in on the serial console with these (the live system logs in by itself). */
  login?: { user: string; password: string };
  memoryMiB: number;
  workDir: string;
  serialLog: string;
  /** Boot to the ready line and a root shell. */
  timeoutMs: number;
  firmware?: Firmware;
  greenMac?: string;
  redMac?: string;
  log?: (line: string) => void;
}

export interface FirewallLab {
  lab: NetLab;
  vm: Vm;
  con: SerialConsole;
  /** Seconds from QEMU's start to the ready line. */
  readySeconds: number;
  /** Seconds from QEMU's start until the guest had its red address (DHCP) and green address, as seen from the host. */
  networkSeconds: number;
  /** Copy a (text) file out of the guest over the serial console. */
  copyFromGuest(path: string, dest: string): Promise<number>;
  /** Power the guest off and tear the lab down (always; safe twice). */
  stop(): Promise<'clean' | 'killed'>;
}

export async function bootFirewallLab(o: FirewallLabOptions): Promise<FirewallLab> {
  const lab = await NetLab.create({ workDir: join(o.workDir, 'net'), greenMac: o.greenMac, redMac: o.redMac, log: o.log });
  let vm: Vm | undefined;
  let con: SerialConsole | undefined;
  let stopped: Promise<'clean' | 'killed'> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      try {
        if (!vm) return 'clean' as const;
        const c = con;
        return await vm.shutdown(120_000, c ? async () => c.write('systemctl poweroff\n') : undefined);
      } finally {
        con?.close();
        // QEMU holds the taps: gone before the namespaces are deleted.
        await vm?.stop();
        await lab.cleanup();
      }
    })());
  try {
    vm = await Vm.start({
      firmware: o.firmware ?? 'bios',
      memoryMiB: o.memoryMiB,
      iso: o.iso,
      disks: o.disks,
      serialLog: o.serialLog,
      workDir: join(o.workDir, 'vm'),
      extraArgs: lab.qemuArgs(),
      netns: lab.ns.lab,
      log: o.log,
    });
    o.log?.(`qemu pid ${vm.pid} in ${lab.ns.lab}, accel ${vm.accel}, serial log ${o.serialLog}`);
    const readySeconds = await vm.waitForSerial(new RegExp(READY_PREFIX), o.timeoutMs);
    con = await SerialConsole.connect(vm.serialSocket);
    // Under TCG on a loaded host, units can hold the console for minutes after the ready line.
    if (o.login) await con.login(o.login.user, o.login.password, 300_000);
    else await con.waitForShell(300_000);
    await con.quietConsole();
    const c = con;
    const v = vm;
    let networkSeconds = -1;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const r = await c.run(`ip -color=never -4 -o addr show dev red0; ip -color=never -4 -o addr show dev green0`);
      if (r.output.includes(`inet ${lab.redAddress}/`) && /green0\s+inet /.test(r.output)) {
        networkSeconds = (Date.now() - v.startedAt) / 1000;
        break;
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    // gzip's CRC catches a transfer that something else wrote into; try again then
    const copyFromGuest = async (path: string, dest: string) => {
      let last: unknown;
      for (let attempt = 0; attempt < 3; attempt++) {
        const r = await c.run(`gzip -c ${shq(path)} | base64 -w0`, 120_000);
        if (r.status !== 0) throw new Error(`copying ${path} out of the guest failed: ${r.output}`);
        try {
          const data = gunzipSync(Buffer.from(r.output.replace(/\s+/g, ''), 'base64'));
          writeFileSync(dest, data);
          return data.length;
        } catch (e) {
          last = e;
        }
      }
      throw new Error(`copying ${path} out of the guest: the data arrived damaged three times (${String(last)})`);
    };
    return { lab, vm: v, con: c, readySeconds, networkSeconds, copyFromGuest, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Single-quote a word for the guest's shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
