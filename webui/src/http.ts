// CGI request/response model and form parsing (urlencoded and multipart).
export interface Req {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>; // lower-case names
  cookies: Record<string, string>;
  body: Buffer;
  remoteAddr?: string;
}

export interface Res {
  status: number;
  headers: [string, string][];
  body: string;
}

export const MAX_BODY = 8 * 1024 * 1024;

export function parseCookies(h: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (h ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k && !(k in out)) out[k] = part.slice(i + 1).trim();
  }
  return out;
}

/** A request from the CGI environment (RFC 3875) and the body read from stdin. */
export function fromCgi(env: NodeJS.ProcessEnv, body: Buffer): Req {
  const uri = env.REQUEST_URI ?? '/';
  const q = uri.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('HTTP_') && v !== undefined) headers[k.slice(5).toLowerCase().replace(/_/g, '-')] = v;
  }
  if (env.CONTENT_TYPE) headers['content-type'] = env.CONTENT_TYPE;
  let path = q < 0 ? uri : uri.slice(0, q);
  try {
    path = decodeURIComponent(path);
  } catch {
    path = '/bad-path'; // malformed %-escapes: answered with 404
  }
  return {
    method: (env.REQUEST_METHOD ?? 'GET').toUpperCase(),
    path: path.replace(/\/+$/, '') || '/',
    query: new URLSearchParams(env.QUERY_STRING ?? (q < 0 ? '' : uri.slice(q + 1))),
    headers,
    cookies: parseCookies(headers.cookie),
    body,
    remoteAddr: env.REMOTE_ADDR,
  };
}

export interface FormFile {
  filename: string;
  data: Buffer;
}

export interface Form {
  fields: Map<string, string>;
  files: Map<string, FormFile>;
}

export class BadRequest extends Error {}

export function parseForm(req: Req): Form {
  const ct = req.headers['content-type'] ?? '';
  const fields = new Map<string, string>();
  const files = new Map<string, FormFile>();
  if (ct.startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) if (!fields.has(k)) fields.set(k, v);
    return { fields, files };
  }
  const m = /^multipart\/form-data;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(ct);
  if (!m) throw new BadRequest('unsupported form encoding');
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const body = req.body;
  let pos = body.indexOf(boundary);
  if (pos < 0) throw new BadRequest('malformed multipart body');
  for (;;) {
    pos += boundary.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    pos += 2; // CRLF
    const hEnd = body.indexOf('\r\n\r\n', pos);
    if (hEnd < 0) throw new BadRequest('malformed multipart body');
    const head = body.subarray(pos, hEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), boundary]), hEnd + 4);
    if (next < 0) throw new BadRequest('malformed multipart body');
    const data = body.subarray(hEnd + 4, next);
    const disp = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
    const name = /\bname="([^"]*)"/.exec(disp)?.[1];
    const filename = /\bfilename="([^"]*)"/.exec(disp)?.[1];
    if (name !== undefined) {
      if (filename !== undefined) {
        if (!files.has(name)) files.set(name, { filename, data });
      } else if (!fields.has(name)) fields.set(name, data.toString('utf8'));
    }
    pos = next + 2;
  }
  return { fields, files };
}

/** CGI response: headers, a blank line, the body. */
export function toCgi(res: Res): Buffer {
  const lines = [`Status: ${res.status}`, ...res.headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), Buffer.from(res.body)]);
}
