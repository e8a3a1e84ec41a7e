// TLS test server for the netns tests: listens on [::]:443 (IPv4 and IPv6),
// prints one JSON line per event on stdout so the test can see which
// handshakes completed and with which SNI:
//   {"ev":"listening"}  {"ev":"hello","sni":...}  {"ev":"secure","sni":...}  {"ev":"request","sni":...,"path":...}
//   {"ev":"conn","port":...}  {"ev":"closed","port":...,"ms":...,"err":...}  (TCP connections and how long they lived)
// usage: node tls-server.mjs CERT.pem KEY.pem
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';

const [cert, key] = process.argv.slice(2);
const log = (o) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');
const srv = createServer({ cert: readFileSync(cert), key: readFileSync(key), SNICallback: (name, cb) => { log({ ev: 'hello', sni: name }); cb(null, undefined); } }, (req, res) => {
  log({ ev: 'request', sni: req.socket.servername ?? null, path: req.url });
  res.writeHead(200, { 'content-type': 'text/html', connection: 'close' });
  res.end(`<html><head><title>xsni-ok</title></head><body>xsni-ok ${req.socket.servername ?? ''}</body></html>\n`);
});
srv.on('connection', (sock) => {
  const t0 = Date.now();
  const port = sock.remotePort;
  let err = null;
  log({ ev: 'conn', port });
  sock.on('error', (e) => { err = e.code ?? String(e); });
  sock.on('close', () => log({ ev: 'closed', port, ms: Date.now() - t0, err }));
});
srv.on('secureConnection', (s) => log({ ev: 'secure', sni: s.servername ?? null }));
srv.on('tlsClientError', (e) => log({ ev: 'tlsError', msg: String(e?.message ?? e) }));
srv.listen({ port: 443, host: '::', ipv6Only: false }, () => log({ ev: 'listening' }));
process.on('SIGTERM', () => process.exit(0));
