// QA by hand: boot an ISO (or a disk) in the QEMU network lab (net.ts) with
// the VM's serial console on this terminal, in the spirit of `mkosi qemu`.
//
//   npx tsx build/qemu/lab.ts out/xdpfire-0.1.0-x86_64.iso [--uefi] [--disk FILE]
//
// QEMU's monitor is multiplexed on the terminal: Ctrl-A x quits, Ctrl-A c
// switches between console and monitor. On exit (QEMU quits, Ctrl-C, kill)
// the namespaces, taps, bridges and servers are removed.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetLab } from './net.js';
import { Vm } from './vm.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const uefi = args.includes('--uefi');
  const diskAt = args.indexOf('--disk');
  const disk = diskAt >= 0 ? args[diskAt + 1] : undefined;
  const iso = args.find((a, i) => !a.startsWith('--') && (diskAt < 0 || i !== diskAt + 1));
  if (!iso && !disk) {
    process.stderr.write('usage: tsx build/qemu/lab.ts ISO [--uefi] [--disk FILE]\n');
    return 2;
  }
  const work = mkdtempSync(join(tmpdir(), 'xdpfire-lab-'));
  const lab = await NetLab.create({ workDir: join(work, 'net'), log: (l) => process.stderr.write(`${l}\n`) });
  const bye = async () => {
    await lab.cleanup();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => void bye().then(() => process.exit(130)));
  try {
    const lease = 'udhcpc -i c0 -q -n (Debian package udhcpc), or: ip addr add 192.168.1.50/24 dev c0; ip route add default via 192.168.1.1';
    process.stderr.write(
      [
        '',
        'XDPFire QEMU lab',
        `  client namespace (green side): ip netns exec ${lab.ns.client} bash`,
        `    lease from the box:          ${lease}`,
        `    DNS via the box:             echo nameserver 192.168.1.1 > /etc/netns/${lab.ns.client}/resolv.conf (before ip netns exec)`,
        `    browse:                      ip netns exec ${lab.ns.client} curl --cacert ${lab.ca} https://${lab.names.allowed}/`,
        `                                 ip netns exec ${lab.ns.client} chromium --headless=new --ignore-certificate-errors --dump-dom https://${lab.names.blocked}/`,
        `    web UI:                      ip netns exec ${lab.ns.client} curl -k https://192.168.1.1:444/`,
        `  upstream namespace (red side): ip netns exec ${lab.ns.upstream} bash   (DHCP/DNS 10.99.0.1, TLS server ${lab.serverAddress}:443)`,
        `  serial log: ${join(work, 'serial.log')}; Ctrl-A x quits QEMU and tears the lab down`,
        '',
      ].join('\n'),
    );
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
    return (await vm.waitExit()) ?? 0;
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
