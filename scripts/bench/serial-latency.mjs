// Serial round-trip latency, serial → broker → MQTT subscriber: builds a bundle with SN and
// SERIAL, links a socat pty pair to it (framing line, then mqttsn-slip), writes one message at a
// time on the far end of the pty and times its arrival at an MQTT.js subscriber on loopback.
// Not a test: numbers depend on the machine. Needs socat.
//
//   node scripts/bench/serial-latency.mjs [COUNT]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { SerialPort, SlipEncoder } from 'serialport';
import { buildBundle } from '../build.mjs';

const COUNT = Number(process.argv[2] ?? 1000);
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'midge-bench-serial-'));
const bundle = join(dir, 'broker.min.js');
await buildBundle({ outfile: bundle, flags: ['SN', 'SERIAL'] });
const tcp = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${dir}/line-b`, `pty,raw,echo=0,link=${dir}/line-d`], { stdio: 'ignore' });
const socat2 = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${dir}/slip-b`, `pty,raw,echo=0,link=${dir}/slip-d`], { stdio: 'ignore' });
await sleep(500);
writeFileSync(
  join(dir, 'midge.conf'),
  `allow_anonymous true\nlistener ${tcp} 127.0.0.1\nlog_type error\n` +
    `serial line ${dir}/line-b framing=line\nserial slip ${dir}/slip-b framing=mqttsn-slip\n`,
);
// serialport is external to the bundle: "installed next to midge" is this checkout's node_modules.
symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
const broker = spawn(process.execPath, [bundle, '-c', join(dir, 'midge.conf')], { stdio: 'inherit' });

let sub;
for (let i = 0; i < 50 && !sub; i++) {
  sub = await mqtt.connectAsync({ host: '127.0.0.1', port: tcp, reconnectPeriod: 0 }).catch(() => sleep(100));
}
await sub.subscribeAsync('bench/#');
let onMessage = () => {};
sub.on('message', () => onMessage());

const open = async (path) => {
  const p = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise((resolve, reject) => p.open((e) => (e ? reject(e) : resolve())));
  return p;
};

async function measure(name, send) {
  const times = [];
  for (let i = 0; i < COUNT + 50; i++) {
    const t0 = process.hrtime.bigint();
    const got = new Promise((r) => { onMessage = r; });
    send(i);
    await got;
    if (i >= 50) times.push(Number(process.hrtime.bigint() - t0) / 1e3); // µs, after warm-up
  }
  times.sort((a, b) => a - b);
  const q = (f) => times[Math.min(times.length - 1, Math.floor(times.length * f))].toFixed(0);
  console.log(`${name}: ${COUNT} messages, latency µs: median ${q(0.5)}, p90 ${q(0.9)}, p99 ${q(0.99)}, max ${q(1)}`);
}

const line = await open(`${dir}/line-d`);
await sleep(300); // the broker's link opens (state on $SYS)
await measure('line', (i) => line.write(`bench/line ${i}\n`));

// MQTT-SN over SLIP, QoS 0: CONNECT and REGISTER first (replies not awaited: paced by sleeps).
const slipPort = await open(`${dir}/slip-d`);
const enc = new SlipEncoder();
enc.pipe(slipPort);
enc.write(Buffer.concat([Buffer.from([6 + 5, 0x04, 0x04, 0x01, 0, 60]), Buffer.from('bench')]));
await sleep(200);
enc.write(Buffer.concat([Buffer.from([6 + 10, 0x0a, 0, 0, 0, 1]), Buffer.from('bench/slip')]));
await sleep(200);
// The gateway's first topic id for this client is 1.
await measure('mqttsn-slip', (i) => {
  const p = Buffer.from(String(i));
  enc.write(Buffer.concat([Buffer.from([7 + p.length, 0x0c, 0, 0, 1, 0, 0]), p]));
});

await sub.endAsync();
for (const p of [line, slipPort]) p.close();
broker.kill();
socat.kill();
socat2.kill();
rmSync(dir, { recursive: true, force: true });
