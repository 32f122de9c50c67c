// What sn-throughput.mjs and sn-forwarder.mjs share: a bundle with SN running on loopback with a
// TCP and a `protocol mqttsn` listener, one MQTT.js subscriber counting what arrives, one UDP
// socket for the MQTT-SN side, and the MQTT-SN messages both send, written out by hand (spec
// 5.4) so the scripts need no TypeScript.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { buildBundle } from '../build.mjs';

export const connect = (id) => Buffer.concat([Buffer.from([6 + id.length, 0x04, 0x04, 0x01, 0, 60]), Buffer.from(id)]);
export const register = (topic) => Buffer.concat([Buffer.from([6 + topic.length, 0x0a, 0, 0, 0, 1]), Buffer.from(topic)]);
export const publish = (qos, topicId, msgId, payload) =>
  Buffer.concat([Buffer.from([7 + payload.length, 0x0c, qos << 5, topicId >> 8, topicId & 255, msgId >> 8, msgId & 255]), payload]);

const freePort = (type) =>
  new Promise((resolve) => {
    if (type === 'udp') {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    } else {
      const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    }
  });

/**
 * Starts the broker and the subscriber (on `filter` at `qos`). `rig.received` counts messages;
 * `rig.onReceived` is called after each; datagrams from the gateway go to `rig.onDatagram`.
 */
export async function snRig(name, filter, qos) {
  const dir = mkdtempSync(join(tmpdir(), `midge-bench-${name}-`));
  const bundle = join(dir, 'broker.min.js');
  await buildBundle({ outfile: bundle, flags: ['SN'] });
  const [tcp, udp] = [await freePort('tcp'), await freePort('udp')];
  writeFileSync(join(dir, 'midge.conf'), `allow_anonymous true\nlistener ${tcp} 127.0.0.1\nlistener ${udp} 127.0.0.1\nprotocol mqttsn\nadvertise_interval 0\nlog_type error\n`);
  const broker = spawn(process.execPath, [bundle, '-c', join(dir, 'midge.conf')], { stdio: 'inherit' });

  let sub;
  for (let i = 0; i < 50 && !sub; i++) {
    sub = await mqtt.connectAsync({ host: '127.0.0.1', port: tcp, reconnectPeriod: 0 }).catch(() => new Promise((r) => setTimeout(() => r(undefined), 100)));
  }
  await sub.subscribeAsync(filter, { qos });
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));

  const rig = {
    received: 0,
    onReceived: () => {},
    onDatagram: (_m) => {},
    send: (buf) => sock.send(buf, udp, '127.0.0.1'),
    async close() {
      await sub.endAsync(true);
      sock.close();
      broker.kill('SIGTERM');
      await new Promise((r) => broker.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  sub.on('message', () => { rig.received++; rig.onReceived(); });
  sock.on('message', (m) => rig.onDatagram(m));
  return rig;
}

/**
 * Sends `count` datagrams (`next(i)`), at most `window` ahead of `settled()` (default: what the
 * subscriber received): UDP drops what a socket buffer cannot hold, so datagrams are written off
 * as lost after a 200 ms stall. `hook(pump)` lets the caller pump on other events (PUBACKs).
 * Resolves when every datagram was received or written off.
 */
export function pace(rig, count, window, next, settled = () => rig.received, hook = () => {}) {
  return new Promise((resolve) => {
    let sent = 0;
    let lost = 0;
    let last = -1;
    const pump = () => {
      while (sent < count && sent - settled() - lost < window) rig.send(next(sent++));
      if (rig.received + lost >= count) {
        clearInterval(stall);
        resolve();
      }
    };
    const stall = setInterval(() => {
      if (rig.received === last) {
        lost = sent - rig.received;
        pump();
      }
      last = rig.received;
    }, 200);
    rig.onReceived = pump;
    hook(pump);
    pump();
  });
}
