// MQTT-SN through a forwarder (spec 5.5) → MQTT subscriber throughput: builds a bundle with SN,
// runs it with a TCP and a `protocol mqttsn` listener on loopback, and has NODES wireless nodes
// behind one forwarder socket (each its own client, in the encapsulation header) publish QoS 0
// round robin to one MQTT.js subscriber. For comparison, one plain client does the same first.
// Paced as sn-throughput.mjs: at most WINDOW messages ahead of the subscriber (UDP and the
// broker's queues drop what they cannot hold). Not a test: numbers depend on the machine.
//
//   node scripts/bench/sn-forwarder.mjs [COUNT] [NODES] [WINDOW]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { buildBundle } from '../build.mjs';

const COUNT = Number(process.argv[2] ?? 50_000);
const NODES = Number(process.argv[3] ?? 50);
const WINDOW = Number(process.argv[4] ?? 20);
const PAYLOAD = Buffer.from('21.5');

const freePort = (type) =>
  new Promise((resolve) => {
    if (type === 'udp') {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    } else {
      const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    }
  });

// MQTT-SN messages, written out by hand (spec 5.4, 5.5) so the script needs no TypeScript.
const connect = (id) => Buffer.concat([Buffer.from([6 + id.length, 0x04, 0x04, 0x01, 0, 60]), Buffer.from(id)]);
const register = (topic) => Buffer.concat([Buffer.from([6 + topic.length, 0x0a, 0, 0, 0, 1]), Buffer.from(topic)]);
const publish0 = (topicId) => Buffer.concat([Buffer.from([7 + PAYLOAD.length, 0x0c, 0, topicId >> 8, topicId & 255, 0, 0]), PAYLOAD]);
/** Node i's id: 2 bytes, as an 802.15.4 short address. */
const nodeId = (i) => Buffer.from([0x10 + (i >> 8), i & 255]);
const wrap = (id, inner) => Buffer.concat([Buffer.from([3 + id.length, 0xfe, 0]), id, inner]);

const dir = mkdtempSync(join(tmpdir(), 'midge-bench-snfwd-'));
const bundle = join(dir, 'broker.min.js');
await buildBundle({ outfile: bundle, flags: ['SN'] });
const [tcp, udp] = [await freePort('tcp'), await freePort('udp')];
writeFileSync(join(dir, 'midge.conf'), `allow_anonymous true\nlistener ${tcp} 127.0.0.1\nlistener ${udp} 127.0.0.1\nprotocol mqttsn\nadvertise_interval 0\nlog_type error\n`);
const broker = spawn(process.execPath, [bundle, '-c', join(dir, 'midge.conf')], { stdio: 'inherit' });

let sub;
for (let i = 0; i < 50 && !sub; i++) {
  sub = await mqtt.connectAsync({ host: '127.0.0.1', port: tcp, reconnectPeriod: 0 }).catch(() => new Promise((r) => setTimeout(() => r(undefined), 100)));
}
await sub.subscribeAsync('bench/#', { qos: 0 });
let received = 0;
let onReceived = () => {};
sub.on('message', () => { received++; onReceived(); });

const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind(0, '127.0.0.1', r));
/** Replies by key: the message type, and for a node its id in hex. */
const waiters = new Map();
sock.on('message', (m) => {
  const key = m[1] === 0xfe ? `${m.toString('hex', 3, m[0])}/${m[m[0] + 1]}` : String(m[1]);
  waiters.get(key)?.(m.subarray(m[1] === 0xfe ? m[0] : 0));
});
const request = (buf, key) => new Promise((resolve) => { waiters.set(key, resolve); sock.send(buf, udp, '127.0.0.1'); });

// One plain client, and NODES nodes behind the forwarder (this socket), each with its own topic.
await request(connect('bench-plain'), '5');
const plainTopic = (await request(register('bench/plain'), '11')).readUInt16BE(2);
const nodes = [];
for (let i = 0; i < NODES; i++) {
  const id = nodeId(i);
  const hex = id.toString('hex');
  await request(wrap(id, connect(`bench-node-${i}`)), `${hex}/5`);
  const regack = await request(wrap(id, register(`bench/node/${i}`)), `${hex}/11`);
  nodes.push(wrap(id, publish0(regack.readUInt16BE(2))));
}

async function run(what, datagram) {
  received = 0;
  let sent = 0;
  let lost = 0; // datagrams a socket buffer dropped: written off after a 200 ms stall
  const start = process.hrtime.bigint();
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < COUNT && sent - received - lost < WINDOW) sock.send(datagram(sent++), udp, '127.0.0.1');
      if (received + lost >= COUNT) {
        clearInterval(stall);
        resolve();
      }
    };
    let last = -1;
    const stall = setInterval(() => {
      if (received === last) {
        lost = sent - received;
        pump();
      }
      last = received;
    }, 200);
    onReceived = pump;
    pump();
  });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${what}, QoS 0: ${received} of ${COUNT} messages delivered in ${s.toFixed(2)} s = ${Math.round(received / s)} msgs/s (window ${WINDOW})`);
}

const plain = publish0(plainTopic);
await run('1 plain client', () => plain);
await run(`${NODES} nodes behind one forwarder`, (n) => nodes[n % NODES]);
await sub.endAsync(true);
sock.close();
broker.kill('SIGTERM');
await new Promise((r) => broker.once('exit', r));
rmSync(dir, { recursive: true, force: true });
