// A TLS server for the QEMU network lab: answers every request with
// "hello <SNI> from <client address>" and prints one JSON line per event
// (listening, request) on stdout. Run inside the lab's upstream namespace.
//   node tls-echo.mjs CERT KEY ADDRESS PORT
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [cert, key, address, port] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...o })}\n`);
const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  const sni = req.socket.servername ?? null;
  const from = req.socket.remoteAddress?.replace(/^::ffff:/, '');
  out({ ev: 'request', sni, from, host: req.headers.host, path: req.url });
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(`hello ${sni} from ${from}\n`);
});
server.on('tlsClientError', (err, socket) => out({ ev: 'tls-error', from: socket.remoteAddress, error: String(err.message) }));
server.listen(Number(port), address, () => out({ ev: 'listening', address, port: Number(port) }));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
