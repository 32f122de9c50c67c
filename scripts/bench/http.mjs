// Cost of the HTTP feature (issue 17), not a test: `node scripts/bench/http.mjs [--seconds S]
// [--profile gateway|full]`. Builds the profile's bundle, runs it with an MQTT and an HTTP
// listener, keeps 1 000 msg/s flowing (MQTT.js, QoS 0, 64-byte payloads, one subscriber), and
// measures the broker's CPU (utime + stime from /proc/PID/stat) in each phase:
//   1. MQTT load only (the baseline);
//   2. one open status page: the 4 API requests it makes every 2 s;
//   3. GET /metrics, 4 keep-alive connections back to back (requests/s);
//   4. GET / (the page itself), likewise;
//   5. the page's poll (broker, clients, bridges, links) back to back (polls/s).
// It also reports the messages published and delivered per second in every phase.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { buildBundle, loadProfile, root } from '../build.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, profile: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 10);
const PROFILE = values.profile ?? 'gateway';
const RATE = 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

mkdirSync(join(root, '.tmp'), { recursive: true });
const dir = mkdtempSync(join(root, '.tmp', 'bench-http-'));
const bundle = join(dir, 'broker.min.js');
await buildBundle({ outfile: bundle, flags: loadProfile(PROFILE).flags });
writeFileSync(join(dir, 'midge.conf'), 'listener 0 127.0.0.1\nlistener 0 127.0.0.1\nprotocol http\nallow_anonymous true\nsys_interval 10\n');
const broker = spawn(process.execPath, [bundle, '-c', join(dir, 'midge.conf')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
broker.stderr.on('data', (d) => (log += d));
const ports = async () => {
  for (let i = 0; i < 200; i++) {
    const m = [...log.matchAll(/port (\d+)( \(http\))?\./g)];
    if (m.length >= 2) return [Number(m.find((x) => !x[2])[1]), Number(m.find((x) => x[2])[1])];
    await sleep(50);
  }
  throw new Error(`broker did not start:\n${log}`);
};
const [mqttPort, httpPort] = await ports();

const ticks = () => {
  const f = readFileSync(`/proc/${broker.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100/s)
};

const sub = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, clientId: 'bench-sub' });
let received = 0;
let published = 0;
sub.on('message', () => received++);
await sub.subscribeAsync('bench/#');
const pub = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, clientId: 'bench-pub' });
const payload = Buffer.alloc(64, 'x');
// RATE per second on a schedule: each 10 ms tick catches up with the clock.
const t00 = Date.now();
const load = setInterval(() => {
  const due = Math.floor(((Date.now() - t00) * RATE) / 1000);
  for (; published < due; published++) pub.publish(`bench/${published % 100}`, payload);
}, 10);

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const get = (path) =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: httpPort, path, agent }, (res) => {
        let n = 0;
        res.on('data', (c) => (n += c.length));
        res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${path}: ${res.statusCode}`))));
      })
      .on('error', reject);
  });
const POLL = ['/api/v1/broker', '/api/v1/clients?limit=1000', '/api/v1/bridges', '/api/v1/links'];

/** Runs `work(stop)` for SECONDS; returns broker CPU %, messages/s delivered and work's count/s. */
async function phase(name, work) {
  await sleep(1000);
  const t0 = ticks();
  const r0 = received;
  const p0 = published;
  const start = Date.now();
  let stop = false;
  const done = work(() => stop);
  await sleep(SECONDS * 1000);
  stop = true;
  const count = await done;
  const s = (Date.now() - start) / 1000;
  const row = { name, cpu: (ticks() - t0) / s, msgs: (received - r0) / s, sent: (published - p0) / s, perSecond: count / s };
  console.error(`${name}: ${JSON.stringify(row)}`);
  return row;
}
const flood = (paths, conns = 4) => async (stopped) => {
  let n = 0;
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (!stopped()) {
        for (const p of paths) await get(p);
        n++;
      }
    }),
  );
  return n;
};

const pageBytes = await get('/');
const metricsBytes = await get('/metrics');
const rows = [];
rows.push(await phase('MQTT load only', async (stopped) => {
  while (!stopped()) await sleep(100);
  return 0;
}));
rows.push(await phase('one status page open (4 API requests / 2 s)', async (stopped) => {
  let n = 0;
  while (!stopped()) {
    await Promise.all(POLL.map(get));
    n++;
    for (let i = 0; i < 20 && !stopped(); i++) await sleep(100);
  }
  return n;
}));
rows.push(await phase('GET /metrics, 4 connections back to back', flood(['/metrics'])));
rows.push(await phase('GET / (the page), 4 connections back to back', flood(['/'])));
rows.push(await phase('the page poll (4 requests), 4 connections back to back', flood(POLL)));

clearInterval(load);
await pub.endAsync();
await sub.endAsync();
agent.destroy();
broker.kill('SIGTERM');
await new Promise((r) => broker.once('exit', r));
rmSync(dir, { recursive: true, force: true });

console.log(`HTTP cost, profile ${PROFILE}, ${SECONDS} s per phase, ${RATE} msg/s of 64 bytes flowing (Node ${process.version}).`);
console.log(`Page ${pageBytes} bytes, /metrics ${metricsBytes} bytes.\n`);
// CPU per request: the phase's broker CPU above the baseline's, over its requests.
const base = rows[0].cpu;
console.log('| phase | requests/s | broker CPU | broker CPU per request | messages/s published / delivered |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  // Only where requests run back to back: one page's 2 requests/s are below the noise.
  const per = r.perSecond > 10 ? `${(((r.cpu - base) * 10) / r.perSecond).toFixed(3)} ms` : '—';
  console.log(`| ${r.name} | ${r.perSecond ? r.perSecond.toFixed(1) : '—'} | ${r.cpu.toFixed(1)} % | ${per} | ${r.sent.toFixed(0)} / ${r.msgs.toFixed(0)} |`);
}
console.log('\n(The load, the HTTP requests and the subscriber share one Node process: when it is busy, fewer messages are published.)');
