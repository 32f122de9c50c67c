// MQTT-SN through a forwarder (spec 5.5) → MQTT subscriber throughput: builds a bundle with SN,
// runs it with a TCP and a `protocol mqttsn` listener on loopback, and has NODES wireless nodes
// behind one forwarder socket (each its own client, in the encapsulation header) publish QoS 0
// round robin to one MQTT.js subscriber. For comparison, one plain client does the same first.
// Paced as sn-throughput.mjs: at most WINDOW messages ahead of the subscriber (UDP and the
// broker's queues drop what they cannot hold). Not a test: numbers depend on the machine.
//
//   node scripts/bench/sn-forwarder.mjs [COUNT] [NODES] [WINDOW]
import { connect, pace, publish, register, snRig } from './sn-rig.mjs';

const COUNT = Number(process.argv[2] ?? 50_000);
const NODES = Number(process.argv[3] ?? 50);
const WINDOW = Number(process.argv[4] ?? 20);
const PAYLOAD = Buffer.from('21.5');

const publish0 = (topicId) => publish(0, topicId, 0, PAYLOAD);
/** Node i's id: 2 bytes, as an 802.15.4 short address. */
const nodeId = (i) => Buffer.from([0x10 + (i >> 8), i & 255]);
const wrap = (id, inner) => Buffer.concat([Buffer.from([3 + id.length, 0xfe, 0]), id, inner]);

const rig = await snRig('snfwd', 'bench/#', 0);
/** Replies by key: the message type, and for a node its id in hex. */
const waiters = new Map();
rig.onDatagram = (m) => {
  const key = m[1] === 0xfe ? `${m.toString('hex', 3, m[0])}/${m[m[0] + 1]}` : String(m[1]);
  waiters.get(key)?.(m.subarray(m[1] === 0xfe ? m[0] : 0));
};
const request = (buf, key) => new Promise((resolve) => { waiters.set(key, resolve); rig.send(buf); });

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
  rig.received = 0;
  const start = process.hrtime.bigint();
  await pace(rig, COUNT, WINDOW, datagram);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${what}, QoS 0: ${rig.received} of ${COUNT} messages delivered in ${s.toFixed(2)} s = ${Math.round(rig.received / s)} msgs/s (window ${WINDOW})`);
}

const plain = publish0(plainTopic);
await run('1 plain client', () => plain);
await run(`${NODES} nodes behind one forwarder`, (n) => nodes[n % NODES]);
await rig.close();
