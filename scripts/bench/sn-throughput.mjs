// MQTT-SN publish → MQTT subscriber throughput: builds a bundle with SN, runs it with a TCP and a
// `protocol mqttsn` listener on loopback, and has one MQTT-SN client publish to one MQTT.js
// subscriber. Prints messages per second for QoS 0 and QoS 1, paced: UDP drops what a socket buffer
// cannot hold, and the broker drops what a subscriber's queue cannot, so the publisher keeps at
// most WINDOW messages ahead of the subscriber (and, at QoS 1, of its PUBACKs). Not a test:
// numbers depend on the machine.
//
//   node scripts/bench/sn-throughput.mjs [COUNT] [WINDOW]
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { buildBundle } from '../build.mjs';

const COUNT = Number(process.argv[2] ?? 50_000);
const WINDOW = Number(process.argv[3] ?? 20);
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

// MQTT-SN messages, written out by hand (spec 5.4) so the script needs no TypeScript.
const connect = (id) => Buffer.concat([Buffer.from([6 + id.length, 0x04, 0x04, 0x01, 0, 60]), Buffer.from(id)]);
const register = (topic) => Buffer.concat([Buffer.from([6 + topic.length, 0x0a, 0, 0, 0, 1]), Buffer.from(topic)]);
const publish = (qos, topicId, msgId) =>
  Buffer.concat([Buffer.from([7 + PAYLOAD.length, 0x0c, qos << 5, topicId >> 8, topicId & 255, msgId >> 8, msgId & 255]), PAYLOAD]);

const dir = mkdtempSync(join(tmpdir(), 'midge-bench-sn-'));
const bundle = join(dir, 'broker.min.js');
await buildBundle({ outfile: bundle, flags: ['SN'] });
const [tcp, udp] = [await freePort('tcp'), await freePort('udp')];
writeFileSync(join(dir, 'midge.conf'), `allow_anonymous true\nlistener ${tcp} 127.0.0.1\nlistener ${udp} 127.0.0.1\nprotocol mqttsn\nadvertise_interval 0\nlog_type error\n`);
const broker = spawn(process.execPath, [bundle, '-c', join(dir, 'midge.conf')], { stdio: 'inherit' });

let sub;
for (let i = 0; i < 50 && !sub; i++) {
  sub = await mqtt.connectAsync({ host: '127.0.0.1', port: tcp, reconnectPeriod: 0 }).catch(() => new Promise((r) => setTimeout(() => r(undefined), 100)));
}
await sub.subscribeAsync('bench/sn', { qos: 1 });
let received = 0;
let onReceived = () => {};
sub.on('message', () => { received++; onReceived(); });

const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind(0, '127.0.0.1', r));
const waiters = new Map();
sock.on('message', (m) => {
  const w = waiters.get(m[1]);
  if (w) w(m);
});
const request = (buf, type) => new Promise((resolve) => { waiters.set(type, resolve); sock.send(buf, udp, '127.0.0.1'); });
await request(connect('bench'), 0x05);
const regack = await request(register('bench/sn'), 0x0b);
const topicId = regack.readUInt16BE(2);

async function run(qos) {
  received = 0;
  let acked = 0;
  let sent = 0;
  let lost = 0; // datagrams a socket buffer dropped: written off after a 200 ms stall
  const start = process.hrtime.bigint();
  await new Promise((resolve) => {
    const pump = () => {
      const done = (qos === 0 ? received : Math.min(received, acked)) + lost;
      while (sent < COUNT && sent - done < WINDOW) {
        sent++;
        sock.send(publish(qos, topicId, qos ? (sent % 65535) + 1 : 0), udp, '127.0.0.1');
      }
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
    waiters.set(0x0d, () => { acked++; pump(); });
    pump();
  });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`QoS ${qos}: ${received} of ${COUNT} messages delivered in ${s.toFixed(2)} s = ${Math.round(received / s)} msgs/s (window ${WINDOW})`);
}

await run(0);
await run(1);
await sub.endAsync(true);
sock.close();
broker.kill('SIGTERM');
await new Promise((r) => broker.once('exit', r));
rmSync(dir, { recursive: true, force: true });
