// A DNS prober for the netns tests: asks SERVER (port 53, UDP) for NAME's A
// record every INTERVAL ms, each query with its own id. It prints "ready"
// at its first good answer (NOERROR with at least one record). On SIGTERM
// it goes on asking until the next good answer (at most 5 s more), then
// waits a second for late answers and prints one JSON line:
//   sent, good, bad (another answer), unanswered;
//   outageMs: the longest time from the sending of a query with a good
//     answer to the sending of the next one with a good answer, i.e. how
//     long a client that asked in between waited in vain (10 ms at best);
//   trailing: true when the last queries never got a good answer.
// usage: node dns-probe.mjs SERVER NAME INTERVAL_MS
import { createSocket } from 'node:dgram';

const [server, name, intervalArg] = process.argv.slice(2);
const interval = Number(intervalArg) || 10;
const qname = Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
const sock = createSocket('udp4');
const queries = []; // { t: time sent, r: 'good' | 'bad' | undefined }
const pending = new Map(); // id -> index in queries
let seq = 0, ready = false, stopping = false, done = false;

function finish() {
  if (done) return;
  done = true;
  clearInterval(timer);
  setTimeout(() => {
    const good = queries.filter((q) => q.r === 'good').length;
    const bad = queries.filter((q) => q.r === 'bad').length;
    let outage = 0, lastGood = -1, trailing = false;
    queries.forEach((q, i) => {
      if (q.r !== 'good') return;
      if (lastGood >= 0) outage = Math.max(outage, q.t - queries[lastGood].t);
      lastGood = i;
    });
    if (lastGood < queries.length - 1) {
      trailing = true;
      outage = Math.max(outage, queries[queries.length - 1].t - (lastGood >= 0 ? queries[lastGood].t : queries[0].t));
    }
    process.stdout.write(JSON.stringify({ sent: queries.length, good, bad, unanswered: queries.length - good - bad, outageMs: outage, trailing }) + '\n');
    process.exit(0);
  }, 1000);
}

sock.on('error', () => undefined); // ICMP port unreachable while the server restarts: that query simply gets no answer
sock.on('message', (m) => {
  if (m.length < 12) return;
  const id = m.readUInt16BE(0);
  const i = pending.get(id);
  if (i === undefined) return;
  pending.delete(id);
  const good = (m[3] & 0x0f) === 0 && m.readUInt16BE(6) > 0;
  queries[i].r = good ? 'good' : 'bad';
  if (good && !ready) {
    ready = true;
    process.stdout.write('ready\n');
  }
  if (good && stopping && i === queries.length - 1) finish();
});
const timer = setInterval(() => {
  if (done) return;
  const id = seq++ & 0xffff;
  const q = Buffer.alloc(12 + qname.length + 4);
  q.writeUInt16BE(id, 0);
  q.writeUInt16BE(0x0100, 2); // recursion desired
  q.writeUInt16BE(1, 4);
  qname.copy(q, 12);
  q.writeUInt16BE(1, 12 + qname.length); // A
  q.writeUInt16BE(1, 14 + qname.length); // IN
  pending.set(id, queries.length);
  queries.push({ t: Date.now(), r: undefined });
  sock.send(q, 53, server);
}, interval);
process.on('SIGTERM', () => {
  stopping = true;
  setTimeout(finish, 5000);
});
