// A DNS-over-HTTPS server for the netns tests (RFC 8484): GET ?dns=<base64url>
// and POST application/dns-message, over HTTP/2 or HTTP/1.1, each query sent
// on as it is to a plain DNS server (UDP) and its answer returned. One JSON
// line per event on stdout: {"ev":"listening"}, {"ev":"query","name":...}.
// usage: node doh-server.mjs CERT.pem KEY.pem LISTEN_IP UPSTREAM_IP [PORT, default 443]
import { createSecureServer } from 'node:http2';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const [cert, key, ip, upstream, port = '443'] = process.argv.slice(2);
const log = (o) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');

/** The question's name of a DNS message (uncompressed, as a query's is). */
function qname(msg) {
  const labels = [];
  for (let i = 12; i < msg.length && msg[i] !== 0; i += msg[i] + 1) labels.push(msg.subarray(i + 1, i + 1 + msg[i]).toString('latin1'));
  return labels.join('.');
}

function resolve(query) {
  return new Promise((res, rej) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => { s.close(); rej(new Error('upstream timeout')); }, 3000);
    s.on('message', (m) => { clearTimeout(timer); s.close(); res(m); });
    s.send(query, 53, upstream);
  });
}

const srv = createSecureServer({ cert: readFileSync(cert), key: readFileSync(key), allowHTTP1: true }, (req, res) => {
  const done = async (q) => {
    if (!q || q.length < 12) { res.writeHead(400); res.end(); return; }
    log({ ev: 'query', name: qname(q), type: q.readUInt16BE(12 + qname(q).length + 2) });
    try {
      const a = await resolve(q);
      res.writeHead(200, { 'content-type': 'application/dns-message', 'content-length': a.length, 'cache-control': 'max-age=10' });
      res.end(a);
    } catch {
      res.writeHead(502);
      res.end();
    }
  };
  const url = new URL(req.url, 'https://doh');
  if (url.pathname !== '/dns-query') { res.writeHead(404); res.end(); return; }
  if (req.method === 'GET') return void done(Buffer.from(url.searchParams.get('dns') ?? '', 'base64url'));
  const parts = [];
  req.on('data', (b) => parts.push(b));
  req.on('end', () => void done(Buffer.concat(parts)));
});
srv.on('secureConnection', (s) => log({ ev: 'secure', sni: s.servername ?? null }));
srv.listen({ port: Number(port), host: ip }, () => log({ ev: 'listening' }));
process.on('SIGTERM', () => process.exit(0));
