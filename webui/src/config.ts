// Paths and limits. Defaults are the installed system's; the tests and the
// lighttpd config (setenv) may override them with XDPFIRE_WEBUI_* variables.
import { join } from 'node:path';

export interface Config {
  /** xdp-sni daemon control socket */
  socket: string;
  /** sessions, CSRF secret, login limiter, saved settings (owned by www-data) */
  stateDir: string;
  /** scrypt hash of the admin password */
  passwdFile: string;
  /** the root helper that changes it (passwd-service.ts; a systemd socket) */
  passwdSocket: string;
  /** syslog files with xdp-sni lines (only their tails are read) */
  logFiles: string[];
  logTailBytes: number;
  /** most names one bulk import may add: the control socket takes 25 names per
   *  command and the daemon rewrites its whole list for each (see the README) */
  importMax: number;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    socket: env.XDPFIRE_WEBUI_SOCKET || env.XDP_SNI_SOCKET || '/run/xdp-sni.sock',
    stateDir: env.XDPFIRE_WEBUI_STATE || '/var/lib/xdpfire-webui',
    passwdFile: env.XDPFIRE_WEBUI_PASSWD || '/etc/xdpfire/webui.passwd',
    passwdSocket: env.XDPFIRE_WEBUI_PASSWD_SOCKET || '/run/xdpfire-webui-passwd.sock',
    logFiles: (env.XDPFIRE_WEBUI_LOGS || '/var/log/xdpfire-webui/xdp-sni.log').split(':').filter(Boolean),
    logTailBytes: Number(env.XDPFIRE_WEBUI_LOG_TAIL_BYTES || 4 * 1024 * 1024),
    importMax: Number(env.XDPFIRE_WEBUI_IMPORT_MAX || 2000),
  };
}

export const settingsFile = (c: Config) => join(c.stateDir, 'xdp-sni.settings.json');
export const sessionsDir = (c: Config) => join(c.stateDir, 'sessions');
/** one file per client address with its recent login attempts (limiter.ts) */
export const limiterDir = (c: Config) => join(c.stateDir, 'login-attempts');
