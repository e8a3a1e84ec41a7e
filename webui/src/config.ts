// Paths and limits. Defaults are the installed system's; the tests and the
// lighttpd config (setenv) may override them with XDPFIRE_WEBUI_* variables.
import { join } from 'node:path';

export interface Config {
  /** xdp-sni daemon control socket */
  socket: string;
  /** sessions, CSRF secret, login limiter (owned by www-data) */
  stateDir: string;
  /** xdp-sni's settings file (read for the pages shown while the daemon is down;
   *  the daemon writes it) */
  confFile: string;
  /** scrypt hash of the admin password */
  passwdFile: string;
  /** the root helper that changes it (passwd-service.ts; a systemd socket) */
  passwdSocket: string;
  /** dnsmasq's DHCP leases (host names and MACs of the clients): the box runs
   *  Debian's dnsmasq-base with no dhcp-leasefile line (xdpfire-base's
   *  render.sh), so its compiled-in default */
  leasesFile: string;
  /** most bytes an import may hold once a gzip upload is unpacked */
  importMaxBytes: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    socket: env.XDPFIRE_WEBUI_SOCKET || env.XDP_SNI_SOCKET || '/run/xdp-sni.sock',
    stateDir: env.XDPFIRE_WEBUI_STATE || '/var/lib/xdpfire-webui',
    confFile: env.XDPFIRE_WEBUI_XDP_SNI_CONF || '/etc/xdpfire/xdp-sni.conf',
    passwdFile: env.XDPFIRE_WEBUI_PASSWD || '/etc/xdpfire/webui.passwd',
    passwdSocket: env.XDPFIRE_WEBUI_PASSWD_SOCKET || '/run/xdpfire-webui-passwd.sock',
    leasesFile: env.XDPFIRE_WEBUI_LEASES || '/var/lib/misc/dnsmasq.leases',
    importMaxBytes: Number(env.XDPFIRE_WEBUI_IMPORT_MAX_BYTES || 64 * 1024 * 1024),
  };
}

export const sessionsDir = (c: Config) => join(c.stateDir, 'sessions');
/** one file per client address with its recent login attempts (limiter.ts) */
export const limiterDir = (c: Config) => join(c.stateDir, 'login-attempts');
