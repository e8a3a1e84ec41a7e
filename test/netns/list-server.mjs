// A list server for the subscription tests, run inside a namespace:
//   node list-server.mjs DIR PORT
// Every GET serves DIR/list.txt; DIR/mode changes how:
//   ok        the file, with its Content-Length
//   truncate  the Content-Length of the whole file, half of it, then the
//             connection is cut (a transfer that dies mid-way)
//   404       a 404
// One JSON line per request on stdout.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, port] = process.argv.slice(2);
const read = (f, d) => {
  try {
    return readFileSync(join(dir, f));
  } catch {
    return d;
  }
};

const server = createServer((req, res) => {
  const mode = String(read('mode', 'ok')).trim();
  const body = read('list.txt', Buffer.alloc(0));
  console.log(JSON.stringify({ ev: 'get', url: req.url, mode, bytes: body.length }));
  if (mode === '404') {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('no such list\n');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  if (mode === 'truncate') {
    res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => res.socket.destroy(), 50));
    return;
  }
  res.end(body);
});
server.listen(Number(port), '0.0.0.0', () => console.log(JSON.stringify({ ev: 'listening' })));
