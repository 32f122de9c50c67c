// MQTT-SN publish → MQTT subscriber throughput: builds a bundle with SN, runs it with a TCP and a
// `protocol mqttsn` listener on loopback, and has one MQTT-SN client publish to one MQTT.js
// subscriber. Prints messages per second for QoS 0 and QoS 1, paced: UDP drops what a socket buffer
// cannot hold, and the broker drops what a subscriber's queue cannot, so the publisher keeps at
// most WINDOW messages ahead of the subscriber (and, at QoS 1, of its PUBACKs). Not a test:
// numbers depend on the machine.
//
//   node scripts/bench/sn-throughput.mjs [COUNT] [WINDOW]
import { connect, pace, publish as snPublish, register, snRig } from './sn-rig.mjs';

const COUNT = Number(process.argv[2] ?? 50_000);
const WINDOW = Number(process.argv[3] ?? 20);
const PAYLOAD = Buffer.from('21.5');

const publish = (qos, topicId, msgId) => snPublish(qos, topicId, msgId, PAYLOAD);

const rig = await snRig('sn', 'bench/sn', 1);
const waiters = new Map();
rig.onDatagram = (m) => waiters.get(m[1])?.(m);
const request = (buf, type) => new Promise((resolve) => { waiters.set(type, resolve); rig.send(buf); });
await request(connect('bench'), 0x05);
const regack = await request(register('bench/sn'), 0x0b);
const topicId = regack.readUInt16BE(2);

async function run(qos) {
  rig.received = 0;
  let acked = 0;
  const start = process.hrtime.bigint();
  await pace(
    rig, COUNT, WINDOW,
    (n) => publish(qos, topicId, qos ? (n % 65535) + 1 : 0),
    // At QoS 1, also at most WINDOW ahead of the PUBACKs.
    () => (qos === 0 ? rig.received : Math.min(rig.received, acked)),
    (pump) => waiters.set(0x0d, () => { acked++; pump(); }),
  );
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`QoS ${qos}: ${rig.received} of ${COUNT} messages delivered in ${s.toFixed(2)} s = ${Math.round(rig.received / s)} msgs/s (window ${WINDOW})`);
}

await run(0);
await run(1);
await rig.close();
