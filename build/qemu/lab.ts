// QA by hand: boot an ISO (or a disk) in the QEMU network lab (net.ts) with
// the VM's serial console on this terminal, in the spirit of `mkosi qemu`.
//
//   ./make.sh lab [ISO] [--uefi] [--disk FILE]   (ISO default: the one `./make.sh build` wrote)
//
// The client namespace asks the box for a DHCP lease in the background, over
// and over until it gets one, so a shell opened there later is ready to browse.
// QEMU's monitor is multiplexed on the terminal: Ctrl-A x quits, Ctrl-A c
// switches between console and monitor. On exit (QEMU quits, Ctrl-C, kill)
// the namespaces, taps, bridges and servers are removed.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSourceDateEpoch } from '../config/epoch.js';
import { isoFileName, loadBuildConfig } from '../config/profile.js';
import { NetLab } from './net.js';
import { Vm } from './vm.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const uefi = args.includes('--uefi');
  const diskAt = args.indexOf('--disk');
  const disk = diskAt >= 0 ? args[diskAt + 1] : undefined;
  let iso = args.find((a, i) => !a.startsWith('--') && (diskAt < 0 || i !== diskAt + 1));
  if (!iso && !disk) {
    const c = loadBuildConfig({}, defaultSourceDateEpoch);
    iso = join(c.outDir, isoFileName(c));
  }
  if (iso && !existsSync(iso)) {
    process.stderr.write(`usage: ./make.sh lab [ISO] [--uefi] [--disk FILE]\n${iso} does not exist (run ./make.sh build first)\n`);
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'xdpfire-lab-'));
  const lab = await NetLab.create({ workDir: join(work, 'net'), log: (l) => process.stderr.write(`${l}\n`) });
  const bye = async () => {
    await lab.cleanup();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => void bye().then(() => process.exit(130)));
  try {
    process.stderr.write(
      [
        '',
        'XDPFire QEMU lab',
        `  client namespace (green side): ip netns exec ${lab.ns.client} bash`,
        '    it asks the box for a DHCP lease in the background and says so when it has one;',
        `    then its resolver is the box (/etc/netns/${lab.ns.client}/resolv.conf)`,
        `    browse:                      ip netns exec ${lab.ns.client} curl --cacert ${lab.ca} https://${lab.names.allowed}/`,
        `                                 ip netns exec ${lab.ns.client} chromium --headless=new --ignore-certificate-errors --dump-dom https://${lab.names.blocked}/`,
        `    web UI:                      ip netns exec ${lab.ns.client} curl -k https://192.168.1.1:444/`,
        `  upstream namespace (red side): ip netns exec ${lab.ns.upstream} bash   (DHCP/DNS 10.99.0.1, TLS server ${lab.serverAddress}:443)`,
        `  serial log: ${join(work, 'serial.log')}; Ctrl-A x quits QEMU and tears the lab down`,
        '',
      ].join('\n'),
    );
    // keep asking for a lease until the box answers (it is still booting)
    let stopped = false;
    void (async () => {
      while (!stopped) {
        try {
          const l = await lab.clientLease(60_000);
          process.stderr.write(`\r\n[lab] client ${lab.ns.client}: lease ${l.ip} from the box, DNS ${l.dns}\r\n`);
          return;
        } catch {
          /* not up yet */
        }
      }
    })();
    const vm = await Vm.start({
      firmware: uefi ? 'uefi' : 'bios',
      memoryMiB: 2048,
      iso,
      disks: disk ? [disk] : [],
      serialLog: join(work, 'serial.log'),
      workDir: join(work, 'vm'),
      extraArgs: lab.qemuArgs(),
      netns: lab.ns.lab,
      interactive: true,
    });
    const code = (await vm.waitExit()) ?? 0;
    stopped = true;
    if (vm.failure) process.stderr.write(`\r\n${vm.failure}\r\n`);
    return code;
  } finally {
    await bye();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
