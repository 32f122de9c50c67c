// Persistence benchmark (not a test): `node scripts/bench/persist.mjs [--seconds S] [--repeat N]`.
//
// 1. QoS 1 throughput into a persistent session: 4 publishers (64 PUBLISHes outstanding each) to
//    one online clean-session-0 subscriber that acknowledges everything. Midge with
//    persistence_sync never / interval / always, and Debian's mosquitto with persistence true, in
//    the same run, brokers pinned to CPU 0 and the load to CPU 1. Medians of N runs (default 3).
//    Also bytes written per message: the kernel's write_bytes of the broker process (/proc/PID/io:
//    what it sends to the storage layer, journal and snapshots alike). A second pass sends one
//    message at a time, where each one pays its own write (and fsync).
// 2. Start-up time with a file of 10 000 retained messages and 1 000 persistent sessions (each
//    with 2 subscriptions and 5 queued QoS 1 messages): Midge's "restored ... in N ms" line.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundle } from '../build.mjs';
import { ack, openClient, publishPacket, subscribePacket } from './mqtt-wire.mjs';
import { freePort, waitForPort } from './net.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, repeat: { type: 'string' }, 'load-only': { type: 'boolean' }, keep: { type: 'boolean' } } });
const SECONDS = Number(values.seconds ?? 5);
const REPEAT = Number(values.repeat ?? 3);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mosquittoBin = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find(existsSync);

const client = openClient;

function startBroker(cmd, args, cwd) {
  const p = spawn('taskset', ['-c', '0', cmd, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  p.log = '';
  p.stderr.on('data', (d) => (p.log += d));
  return p;
}

async function stopBroker(p) {
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(10_000).then(() => 'late')])) === 'late') p.kill('SIGKILL');
}

const writeBytes = (pid) => Number(/write_bytes:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))[1]);

/** QoS 1 messages per second through a persistent subscriber, and bytes written per message. */
async function throughput(kind, bundle, dir, { pubs: nPubs = 4, window = 64 } = {}) {
  const port = await freePort();
  let p;
  if (kind === 'mosquitto') {
    writeFileSync(join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nmax_queued_messages 0\nlog_type error\n`);
    p = startBroker(mosquittoBin, ['-c', join(dir, 'm.conf')], dir);
  } else {
    // user root: run as root, Midge would otherwise drop to `mosquitto` (the `user` default, as
    // Mosquitto) and could not write to this root-only temporary directory.
    writeFileSync(join(dir, 'midge.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nsys_interval 0\nlog_type error\nmax_queued_messages 0\npersistence true\npersistence_location ${dir}\npersistence_sync ${kind}\nuser root\n`);
    p = startBroker(process.execPath, [bundle, '-c', join(dir, 'midge.conf')], dir);
  }
  try {
    await waitForPort(port, 10_000, p);
    const sub = await client(port, 'bench-sub', {
      clean: false,
      extra: [subscribePacket(1, 'bench/#', 1)],
      acksWanted: 1,
      onPacket: (type, flags, buf, s) => {
        if (type !== 3) return;
        const tlen = buf.readUInt16BE(s);
        sub.socket.write(ack(4, buf.readUInt16BE(s + 2 + tlen)));
      },
    });
    let acked = 0;
    let measuring = false;
    const payload = Buffer.alloc(64, 'x');
    const pubs = [];
    for (let i = 0; i < nPubs; i++) {
      let next = 1;
      const send = (c) => {
        const pk = publishPacket(`bench/${i}`, payload, 1, false, next);
        next = next === 65535 ? 1 : next + 1;
        c.socket.write(pk.buf);
      };
      const c = await client(port, `bench-pub-${i}`, {
        onPacket: (type) => {
          if (type !== 4) return;
          if (measuring) acked++;
          if (!c.stopped) send(c);
        },
      });
      pubs.push({ c, send });
    }
    for (const { c, send } of pubs) for (let k = 0; k < window; k++) send(c);
    await sleep(1000); // warm-up
    const w0 = writeBytes(p.pid);
    measuring = true;
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    measuring = false;
    const secs = (performance.now() - t0) / 1000;
    const w1 = writeBytes(p.pid);
    for (const { c } of pubs) {
      c.stopped = true;
      c.socket.destroy();
    }
    sub.socket.destroy();
    return { rate: acked / secs, diskPerMsg: (w1 - w0) / acked };
  } finally {
    await stopBroker(p);
  }
}

/** Builds a state of 10 000 retained messages and 1 000 sessions, then times the start-up. */
async function loadTime(bundle, dir) {
  const port = await freePort();
  const conf = join(dir, 'midge.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nsys_interval 0\npersistence true\npersistence_location ${dir}\npersistence_sync never\nuser root\n`);
  let p = startBroker(process.execPath, [bundle, '-c', conf], dir);
  await waitForPort(port, 10_000, p);
  // 1 000 persistent sessions, 2 subscriptions each, then offline.
  for (let i = 0; i < 1000; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, async (_, k) => {
        const c = await client(port, `s-${i + k}`, { clean: false, extra: [subscribePacket(1, `dev/${i + k}/cmd`, 1), subscribePacket(2, 'all/#', 1)], acksWanted: 2 });
        c.socket.end();
      }),
    );
  }
  await sleep(200);
  const pub = await client(port, 'loader', {});
  await new Promise((resolve) => {
    let left = 10_000 + 5;
    pub.frames.onPacket = (type) => type === 4 && --left === 0 && resolve();
    for (let i = 0; i < 10_000; i++) pub.socket.write(publishPacket(`sensor/${i}/state`, Buffer.from(`value ${i} `.padEnd(48, '.')), 1, true, (i % 65000) + 1).buf);
    for (let i = 0; i < 5; i++) pub.socket.write(publishPacket('all/news', Buffer.alloc(64, 'n'), 1, false, 65001 + i).buf);
  });
  pub.socket.destroy();
  await stopBroker(p);
  const size = statSync(join(dir, 'midge.db')).size;
  const times = [];
  for (let r = 0; r < REPEAT; r++) {
    const t0 = performance.now();
    p = startBroker(process.execPath, [bundle, '-c', conf], dir);
    await waitForPort(port, 10_000, p);
    const listening = performance.now() - t0;
    await stopBroker(p);
    const m = /restored (\d+) retained, (\d+) sessions, (\d+) queued .* in (\d+) ms/.exec(p.log);
    times.push({ restoreMs: Number(m[4]), listeningMs: listening, retained: m[1], sessions: m[2], queued: m[3] });
  }
  return { size, times };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), 'midge-bench-persist-'));
  const bundle = join(tmp, 'broker.min.js');
  await buildBundle({ outfile: bundle, flags: ['PERSIST'] });
  const kinds = ['never', 'interval', 'always', ...(mosquittoBin ? ['mosquitto'] : [])];
  const runs = Object.fromEntries(kinds.map((k) => [k, []]));
  const single = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let r = 0; r < (values['load-only'] ? 0 : REPEAT); r++) {
    for (const k of kinds) {
      let dir = mkdtempSync(join(tmp, `${k}-`));
      runs[k].push(await throughput(k, bundle, dir));
      rmSync(dir, { recursive: true, force: true });
      // One message at a time: every message pays a whole write (and fsync) on its own.
      dir = mkdtempSync(join(tmp, `${k}-`));
      single[k].push(await throughput(k, bundle, dir, { pubs: 1, window: 1 }));
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const lines = [
    `| Broker | QoS 1 msg/s, 4 × 64 outstanding | runs | disk B/msg | msg/s, 1 outstanding | disk B/msg |`,
    '|---|---:|---|---:|---:|---:|',
  ];
  for (const k of values['load-only'] ? [] : kinds) {
    const rs = runs[k];
    const one = single[k];
    const name = k === 'mosquitto' ? 'mosquitto, persistence true' : `midge, persistence_sync ${k}`;
    lines.push(
      `| ${name} | ${Math.round(median(rs.map((x) => x.rate)))} | ${rs.map((x) => Math.round(x.rate)).join(', ')} | ` +
        `${Math.round(median(rs.map((x) => x.diskPerMsg)))} | ` +
        `${Math.round(median(one.map((x) => x.rate)))} | ${Math.round(median(one.map((x) => x.diskPerMsg)))} |`,
    );
  }
  if (!values['load-only']) console.log(lines.join('\n'));
  const dir = mkdtempSync(join(tmp, 'load-'));
  const { size, times } = await loadTime(bundle, dir);
  const t = times[0];
  console.log(
    `\nStart-up with ${t.retained} retained messages and ${t.sessions} sessions (${t.queued} queued messages), ${size} bytes: ` +
      `restore ${median(times.map((x) => x.restoreMs))} ms, process start to listening ${Math.round(median(times.map((x) => x.listeningMs)))} ms (medians of ${REPEAT}).`,
  );
  if (values.keep) console.log(`kept ${dir}`);
  else rmSync(tmp, { recursive: true, force: true });
}

await main();
