// The live ISO as the build lays it out and the installer finds it: paths on
// the medium, where live-boot mounts it, the kernel command-line words of
// the live GRUB menu that the installer looks for or strips, GRUB's serial
// console, and the files only the live system has. The build writes these
// values (iso and rootfs stages, through the templates' data); the
// installer reads the same ones, so the two sides cannot drift apart.
// (The ISO's volume label is not here: it is a profile setting, images/*.json.)

/** Where live-boot mounts the medium in the running live system. */
export const LIVE_MOUNT = '/run/live/medium';

/** Paths on the medium, relative to its root. */
export const ON_MEDIUM = {
  /** the kernel and initrd the live GRUB menu boots */
  kernel: 'live/vmlinuz',
  initrd: 'live/initrd.img',
  /** the live root filesystem: live-boot mounts it, the installer copies it to the disk */
  squashfs: 'live/filesystem.squashfs',
  /** the packages stage's apt repository, for offline apt */
  repo: 'repo',
} as const;

/** The repository as the live system sees it (its apt source; the installer rewrites it). */
export const LIVE_REPO_PATH = `${LIVE_MOUNT}/${ON_MEDIUM.repo}`;

/** The words live-boot needs on the kernel command line. */
export const LIVE_BOOT_ARGS: readonly string[] = ['boot=live', 'components'];

/** One speed for the kernel's serial console and GRUB's. */
export const SERIAL_SPEED = 115200;

/** The live system's consoles; the last console= becomes /dev/console (the serial port, where QA reads). */
export const LIVE_CONSOLE_ARGS: readonly string[] = ['console=tty0', `console=ttyS0,${SERIAL_SPEED}n8`];

/** GRUB's menu on the screen and on the serial port (the live menu and the installed system's). */
export const GRUB_SERIAL_LINES: readonly string[] = [`serial --unit=0 --speed=${SERIAL_SPEED}`, 'terminal_input console serial', 'terminal_output console serial'];

/** Added by the live menu's "Install ... to disk" entry: the live login shells then offer the installer. */
export const INSTALL_ARG = 'xdpfire.install';

/** xdpfire.answers=PATH names the answer file of an unattended install. */
export const ANSWERS_ARG = 'xdpfire.answers=';

/** Files only the live system has (root autologins): the rootfs stage writes them, the installer removes them. */
export const LIVE_ONLY_FILES = {
  serialAutologin: 'etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf',
  tty1Autologin: 'etc/systemd/system/getty@tty1.service.d/autologin.conf',
} as const;
