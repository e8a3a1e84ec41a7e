// A throwaway nginx with its WebDAV module on a loopback port, the kind of
// server a team runs for the remote stage cache (README.md "Options"). It
// has its own temporary root, config and logs, runs as one foreground
// process (no daemon, no master) and is stopped by its PID. The system's
// nginx service, if any, is neither used nor touched.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DavServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The folder nginx serves and stores into. */
  root: string;
  pid: number;
  /** "METHOD /path STATUS" per request so far. */
  requests(): string[];
  stop(): Promise<void>;
}

/** A free loopback port (it may be taken again before it is used: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function config(dir: string, port: number): string {
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  log_format plain '$request_method $uri $status';
  access_log ${dir}/access.log plain;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/root;
    client_max_body_size 0;
    # The read-only area (no PUT) stands for a cache that only CI may fill.
    location /ro/ { }
    location / {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
`;
}

const running = new Set<number>();
// A test run that dies without its afterAll still leaves no nginx behind.
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

async function exited(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
  }
  return false;
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

export async function startNginxDav(): Promise<DavServer> {
  if (!['/usr/sbin/nginx', '/usr/bin/nginx'].some(existsSync)) throw new Error('nginx is not installed (host-tools.json test group; ./make.sh test installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'xdpfire-dav-'));
  mkdirSync(join(dir, 'root'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), config(dir, port));
    let stderr = '';
    const child = spawn('nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (c) => (stderr += c));
    const pid = child.pid!;
    running.add(pid);
    let gone = false;
    child.on('exit', () => {
      gone = true;
      running.delete(pid);
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    while (!gone && Date.now() < deadline && !(await answers(url))) await sleep(50);
    if (!gone && (await answers(url))) {
      const stop = async () => {
        if (!gone) {
          process.kill(pid, 'SIGTERM');
          if (!(await exited(pid, 5000))) process.kill(pid, 'SIGKILL');
        }
        running.delete(pid);
        rmSync(dir, { recursive: true, force: true });
      };
      const requests = () => {
        const log = join(dir, 'access.log');
        return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
      };
      return { url, root: join(dir, 'root'), pid, requests, stop };
    }
    if (!gone) process.kill(pid, 'SIGKILL');
    running.delete(pid);
    if (attempt >= 5) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${stderr || readFileSync(join(dir, 'error.log'), 'utf8')}`);
    }
  }
}
