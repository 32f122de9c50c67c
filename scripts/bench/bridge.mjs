// `node scripts/bench/bridge.mjs [--count N] [--repeat R]`
// Messages per second forwarded over a bridge to Debian's mosquitto, at QoS 0 and QoS 1: Midge
// (a bundle built with BRIDGE) bridging to mosquitto, and mosquitto bridging to mosquitto, in the
// same run. Each case starts fresh processes: a remote mosquitto with one subscriber on bench/#, a
// source broker whose bridge carries `topic bench/# out Q`, and one publisher on the source that
// sends N messages as fast as the socket takes them. The rate is N divided by the time from the
// first publish to the N-th arrival at the subscriber. Both sources run with the same limits
// (max_inflight_messages 20, max_queued_messages 0 = unlimited, so nothing is dropped).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundle } from '../build.mjs';
import { ack, connectPacket, Frames, publishPacket, subscribePacket } from './mqtt-wire.mjs';

const { values } = parseArgs({ options: { count: { type: 'string' }, repeat: { type: 'string' } } });
const N = Number(values.count ?? 50_000);
const REPEAT = Number(values.repeat ?? 3);
const dir = mkdtempSync(join(os.tmpdir(), 'midge-bench-bridge-'));
const mosquittoBin = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) => spawnSync(p, ['-h']).status !== null);
if (!mosquittoBin) throw new Error('Debian mosquitto is needed (apt-get install mosquitto)');

const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function untilListening(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      }).once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function start(kind, conf, port, bundle) {
  const file = join(dir, `${kind}-${port}.conf`);
  writeFileSync(file, conf);
  const child = kind === 'midge' ? spawn(process.execPath, [bundle, '-c', file], { stdio: 'ignore' }) : spawn(mosquittoBin, ['-c', file], { stdio: 'ignore' });
  children.add(child);
  await untilListening(port);
  return child;
}

/** A raw MQTT client: connects, optionally subscribes, counts PUBLISHes (acking QoS 1). */
async function rawClient(port, id, { filter, qos = 0, onPublish } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r) => sock.once('connect', r));
  let connack;
  const connacked = new Promise((r) => (connack = r));
  let suback;
  const subacked = new Promise((r) => (suback = r));
  const frames = new Frames((type, flags, buf, s) => {
    if (type === 2) connack();
    else if (type === 9) suback();
    else if (type === 3) {
      const q = (flags >> 1) & 3;
      if (q > 0) {
        const tlen = buf.readUInt16BE(s);
        sock.write(ack(4, buf.readUInt16BE(s + 2 + tlen)));
      }
      onPublish?.(buf.toString('utf8', s + 2, s + 2 + buf.readUInt16BE(s)));
    }
  });
  sock.on('data', (c) => frames.push(c));
  sock.write(connectPacket(id));
  await connacked;
  if (filter) {
    sock.write(subscribePacket(1, filter, qos));
    await subacked;
  }
  return sock;
}

async function runCase(source, qos, bundle) {
  const [rPort, sPort] = [await freePort(), await freePort()];
  const limits = 'max_inflight_messages 20\nmax_queued_messages 0\n';
  const remote = await start('mosquitto', `listener ${rPort} 127.0.0.1\nallow_anonymous true\n${limits}log_type none\n`, rPort);
  const bridge =
    `connection bench\naddress 127.0.0.1:${rPort}\ntopic bench/# out ${qos}\nnotifications false\nrestart_timeout 1\n` +
    `remote_clientid bench-${source}\n`;
  const src = await start(source, `listener ${sPort} 127.0.0.1\nallow_anonymous true\n${limits}log_type none\n${bridge}`, sPort, bundle);
  let got = 0;
  let probe = false;
  let done;
  const finished = new Promise((r) => (done = r));
  const sub = await rawClient(rPort, 'sub', {
    filter: 'bench/#',
    qos,
    onPublish: (topic) => {
      if (topic === 'bench/probe') probe = true;
      else if (++got === N) done();
    },
  });
  const pub = await rawClient(sPort, 'pub');
  // The bridge is up once a probe crosses it.
  const probeMsg = publishPacket('bench/probe', Buffer.from('p'), 0).buf;
  for (let i = 0; !probe; i++) {
    if (i > 400) throw new Error(`${source}: bridge never came up`);
    pub.write(probeMsg);
    await new Promise((r) => setTimeout(r, 25));
  }
  const payload = Buffer.alloc(16, 'x');
  const msg = publishPacket('bench/data', payload, qos, false, 1);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    if (qos > 0) msg.buf.writeUInt16BE((i % 65535) + 1, msg.idOffset);
    if (!pub.write(Buffer.from(msg.buf))) await new Promise((r) => pub.once('drain', r));
  }
  const timeout = new Promise((r) => setTimeout(r, 120_000, 'timeout'));
  const outcome = await Promise.race([finished, timeout]);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  pub.destroy();
  sub.destroy();
  for (const c of [src, remote]) {
    c.kill('SIGKILL');
    children.delete(c);
  }
  return { source, qos, received: got, seconds: secs, rate: outcome === 'timeout' ? got / secs : N / secs };
}

const bundle = join(dir, 'broker.min.js');
await buildBundle({ outfile: bundle, flags: ['BRIDGE'] });
const rows = [];
for (const qos of [0, 1]) {
  for (const source of ['midge', 'mosquitto']) {
    const runs = [];
    for (let r = 0; r < REPEAT; r++) runs.push(await runCase(source, qos, bundle));
    runs.sort((a, b) => a.rate - b.rate);
    const med = runs[Math.floor(runs.length / 2)];
    rows.push({ ...med, min: runs[0].rate, max: runs[runs.length - 1].rate });
    process.stderr.write(`${source} QoS ${qos}: ${runs.map((x) => Math.round(x.rate)).join(', ')} msg/s\n`);
  }
}
const mosqVersion = spawnSync(mosquittoBin, ['-h']).stdout.toString().split('\n')[0];
console.log(`Bridge forwarding to ${mosqVersion}, ${N} messages of 16 bytes, median of ${REPEAT} (min–max), Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0].model})\n`);
console.log('| source broker | QoS | msg/s forwarded | min–max |');
console.log('|---|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.source} | ${r.qos} | ${Math.round(r.rate)}${r.received < N ? ` (only ${r.received} of ${N} arrived)` : ''} | ${Math.round(r.min)}–${Math.round(r.max)} |`);
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
