// The load generator: one scenario against one broker, printed as one JSON line.
//   node scripts/bench/load.mjs SCENARIO PORT BROKER_PID [--seconds S] [--quick]
// Raw sockets and pre-encoded packets so that the generator is not the bottleneck; it reports its
// own CPU use and flags itself `saturated` above 90 % of a core (then the figure is a floor).
// Publishers keep a cap on outstanding messages (sent but not yet received by every subscriber),
// so throughput figures are lossless sustained rates; QoS 0 losses are still counted.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ack, DISCONNECT, openClient, publishPacket, subscribePacket } from './mqtt-wire.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string' }, quick: { type: 'boolean' } },
});
const [scenario, portArg, pidArg] = positionals;
const port = Number(portArg);
const brokerPid = Number(pidArg);
const quick = values.quick ?? false;
const SECONDS = Number(values.seconds ?? (quick ? 1 : 4));
const WARMUP_MS = quick ? 300 : 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${brokerPid}/status`, 'utf8'))[1]);

/** A load client on the broker under test (see openClient). */
const client = (id, opts) => openClient(port, id, opts);

/**
 * Warm up, then count what `count()` gains over the measuring window: per second, with this
 * process's CPU use over the same window.
 */
async function measureWindow(count) {
  await sleep(WARMUP_MS);
  const c0 = count();
  const cpu = cpuMeter();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const dt = (performance.now() - t0) / 1000;
  return { rate: (count() - c0) / dt, load: cpu() };
}

/** Waits until `count()` reaches `target` or stops moving for 500 ms. */
async function settle(count, target) {
  let last = -1;
  while (count() !== last && count() < target) {
    last = count();
    await sleep(500);
  }
}

/** CPU time of this process over a window, as a fraction of one core. */
function cpuMeter() {
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const u = process.cpuUsage(u0);
    return (u.user + u.system) / 1000 / (performance.now() - t0);
  };
}

/**
 * Sustained QoS 0 throughput: `pubs` publishers, `subs` subscribers; each message reaches
 * `fanout` subscribers. Deliveries per second over the measuring window.
 */
async function qos0({ pubs, subs, topic, filter, payloadSize, fanout, cap }) {
  const payload = Buffer.alloc(payloadSize, 0x61);
  let received = 0;
  const subscribers = [];
  for (let i = 0; i < subs; i++) {
    subscribers.push(
      await client(`bench-sub-${i}`, {
        extra: [subscribePacket(1, filter, 0)],
        acksWanted: 1,
        onPacket: (type) => {
          if (type === 3) {
            received++;
            if (received % 64 === 0) wake();
          }
        },
      }),
    );
  }
  const publishers = [];
  for (let i = 0; i < pubs; i++) publishers.push(await client(`bench-pub-${i}`));
  // Batches of pre-encoded messages: one write per batch keeps the generator cheap.
  const per = Math.max(1, Math.min(64, Math.floor(65536 / (payloadSize + 16))));
  const batches = publishers.map((_, i) => Buffer.concat(Array.from({ length: per }, () => publishPacket(topic(i), payload).buf)));
  let sent = 0; // messages
  let stop = false;
  let scheduled = false;
  let next = 0;
  function pump() {
    scheduled = false;
    while (!stop && (sent + per) * fanout - received <= cap) {
      const idx = next;
      next = (next + 1) % publishers.length;
      const p = publishers[idx];
      sent += per;
      if (!p.socket.write(batches[idx])) {
        // One drain listener per blocked socket, however often pump() runs meanwhile.
        if (!p.draining) {
          p.draining = true;
          p.socket.once('drain', () => {
            p.draining = false;
            wake();
          });
        }
        return;
      }
    }
  }
  function wake() {
    if (!scheduled && !stop) {
      scheduled = true;
      setImmediate(pump);
    }
  }
  pump();
  const { rate, load } = await measureWindow(() => received);
  stop = true;
  // Let in-flight messages arrive, then count what never did.
  await settle(() => received, sent * fanout);
  for (const c of [...subscribers, ...publishers]) c.socket.destroy();
  return { value: rate, unit: 'msg/s', sent: sent * fanout, received, lost: sent * fanout - received, load };
}

/** QoS 1 or 2, 1 → 1, with at most `window` messages in flight end to end. */
async function qosN(qos, window) {
  const payload = Buffer.alloc(64, 0x61);
  let received = 0;
  let issued = 0;
  let pubScheduled = false;
  let subSocket;
  const sub = await client('bench-sub', {
    extra: [subscribePacket(1, 'bench/q', qos)],
    acksWanted: 1,
    onPacket: (type, flags, buf, s) => {
      if (type === 3) {
        received++;
        const tl = (buf[s] << 8) | buf[s + 1];
        const id = (buf[s + 2 + tl] << 8) | buf[s + 3 + tl];
        pendingAcks.push(ack(qos === 1 ? 4 : 5, id));
      } else if (type === 6) {
        pendingAcks.push(ack(7, (buf[s] << 8) | buf[s + 1]));
      }
      if (!ackScheduled) {
        ackScheduled = true;
        setImmediate(flushAcks);
      }
      // A receipt frees room under the end-to-end cap.
      if (!pubScheduled) {
        pubScheduled = true;
        setImmediate(pump);
      }
    },
  });
  subSocket = sub.socket;
  let pendingAcks = [];
  let ackScheduled = false;
  function flushAcks() {
    ackScheduled = false;
    const b = Buffer.concat(pendingAcks);
    pendingAcks = [];
    subSocket.write(b);
  }
  // One pre-encoded PUBLISH per packet id; an id is reused only after its flow completed.
  const slots = Array.from({ length: window }, (_, i) => publishPacket('bench/q', payload, qos, false, i + 1).buf);
  const free = slots.map((_, i) => i);
  let completed = 0;
  let stop = false;
  let out = [];
  const pub = await client('bench-pub', {
    onPacket: (type, flags, buf, s) => {
      const id = (buf[s] << 8) | buf[s + 1];
      if (type === 5) out.push(ack(6, id));
      else if (type === 4 || type === 7) {
        completed++;
        free.push(id - 1);
      }
      if (!pubScheduled) {
        pubScheduled = true;
        setImmediate(pump);
      }
    },
  });
  // At most `window` messages between publisher and subscriber (lossless: nothing piles up in
  // the broker's queue), and a packet id is reused only after its flow completed.
  function pump() {
    pubScheduled = false;
    while (!stop && free.length && issued - received < window) {
      out.push(slots[free.pop()]);
      issued++;
    }
    if (out.length) {
      pub.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
      out = [];
    }
  }
  pump();
  const { rate, load } = await measureWindow(() => received);
  stop = true;
  sub.socket.destroy();
  pub.socket.destroy();
  return { value: rate, unit: 'msg/s', received, completed, load };
}

/** Latency at a fixed rate: the payload carries the send time; p50 and p99 in ms. */
async function latency(rate) {
  const lat = [];
  const sub = await client('bench-lat-sub', {
    extra: [subscribePacket(1, 'bench/lat', 0)],
    acksWanted: 1,
    onPacket: (type, flags, buf, s, e) => {
      if (type === 3) lat.push(performance.now() - buf.readDoubleBE(e - 8));
    },
  });
  const pub = await client('bench-lat-pub');
  const payload = Buffer.alloc(64);
  const cpu = cpuMeter();
  const start = performance.now();
  let sent = 0;
  const total = rate * SECONDS;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) {
        payload.writeDoubleBE(performance.now(), 56);
        pub.socket.write(publishPacket('bench/lat', payload).buf);
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const load = cpu();
  await settle(() => lat.length, sent);
  sub.socket.destroy();
  pub.socket.destroy();
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { value: q(0.5), unit: 'ms', p50: q(0.5), p99: q(0.99), received: lat.length, sent, lost: sent - lat.length, load };
}

/** Broker RSS with `n` idle connections (KiB per connection above idle). */
async function idleConnections(n) {
  await sleep(300);
  const idle = rssKb();
  const socks = [];
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    const group = [];
    for (let j = i; j < Math.min(n, i + batch); j++) group.push(client(`idle-${j}`));
    socks.push(...(await Promise.all(group)));
  }
  await sleep(quick ? 300 : 1000); // let the broker settle its buffers before reading RSS
  const rss = rssKb();
  for (const c of socks) c.socket.destroy();
  return { value: (rss - idle) / n, unit: 'KiB/conn', idleKb: idle, rssKb: rss, connections: n };
}

/** CONNECT → CONNACK per second with `concurrency` clients in a loop. */
async function connectionRate(concurrency) {
  let done = 0;
  let stop = false;
  const cpu = cpuMeter();
  const t0 = performance.now();
  const worker = async (w) => {
    let k = 0;
    while (!stop) {
      const c = await client(`rate-${w}-${k++}`);
      done++;
      c.socket.end(DISCONNECT);
      c.socket.destroy();
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  await sleep(SECONDS * 1000);
  stop = true;
  const dt = (performance.now() - t0) / 1000;
  const load = cpu();
  await Promise.all(workers);
  return { value: done / dt, unit: 'conn/s', load };
}

/** Time for a `#` subscriber to receive `n` retained messages. */
async function retained(n) {
  const pub = await client('bench-ret-pub', {
    onPacket: (type) => {
      if (type === 4) acked();
    },
  });
  let acked;
  const ackP = new Promise((r) => (acked = r));
  const payload = Buffer.alloc(64, 0x72);
  const chunks = [];
  for (let i = 0; i < n - 1; i++) chunks.push(publishPacket(`ret/${i % 100}/${i}`, payload, 0, true).buf);
  chunks.push(publishPacket(`ret/last/${n}`, payload, 1, true, 1).buf);
  pub.socket.write(Buffer.concat(chunks));
  await ackP;
  await sleep(200); // brokers that store retained messages asynchronously finish here
  let got = 0;
  let finished;
  const allIn = new Promise((r) => (finished = r));
  const t0 = performance.now();
  const sub = await client('bench-ret-sub', {
    extra: [subscribePacket(1, '#', 0)],
    acksWanted: 1,
    onPacket: (type) => {
      if (type === 3 && ++got === n) finished();
    },
  });
  const timeout = sleep(30_000).then(() => 'timeout');
  const r = await Promise.race([allIn, timeout]);
  const ms = performance.now() - t0;
  sub.socket.destroy();
  pub.socket.destroy();
  return { value: ms, unit: 'ms', received: got, expected: n, timedOut: r === 'timeout' };
}

/** No outstanding cap, a subscriber that never reads: the broker's RSS over time. */
async function overload() {
  const sub = await client('bench-stuck', { extra: [subscribePacket(1, 'bench/flood', 0)], acksWanted: 1 });
  sub.socket.pause();
  const pub = await client('bench-flooder');
  const batch = Buffer.concat(Array.from({ length: 256 }, () => publishPacket('bench/flood', Buffer.alloc(1024, 0x66)).buf));
  const series = [];
  const t0 = performance.now();
  const limitMs = (quick ? 2 : 8) * 1000;
  let alive = true;
  let stop = false;
  const pump = () => {
    while (!stop && pub.socket.write(batch));
    if (!stop) pub.socket.once('drain', pump);
  };
  pub.socket.on('error', () => {});
  pump();
  while (performance.now() - t0 < limitMs) {
    await sleep(250);
    try {
      const kb = rssKb();
      series.push([Math.round(performance.now() - t0), kb]);
      if (kb > 1_500_000) break; // guard: stop before the machine suffers
    } catch {
      alive = false;
      break;
    }
  }
  stop = true;
  sub.socket.destroy();
  pub.socket.destroy();
  const max = Math.max(...series.map((p) => p[1]));
  return { value: max / 1024, unit: 'MB peak', series, alive };
}

const scenarios = {
  a: () => qos0({ pubs: 1, subs: 1, topic: () => 'bench/a', filter: 'bench/a', payloadSize: 64, fanout: 1, cap: 2000 }),
  b: () => qos0({ pubs: 1, subs: 50, topic: () => 'bench/b', filter: 'bench/b', payloadSize: 64, fanout: 50, cap: 20000 }),
  c: () => qos0({ pubs: 50, subs: 1, topic: (i) => `bench/c/${i}`, filter: 'bench/c/+', payloadSize: 64, fanout: 1, cap: 2000 }),
  d: () => qosN(1, 100),
  e: () => qosN(2, 100),
  f1k: () => qos0({ pubs: 1, subs: 1, topic: () => 'bench/f', filter: 'bench/f', payloadSize: 1024, fanout: 1, cap: 1000 }),
  f64k: () => qos0({ pubs: 1, subs: 1, topic: () => 'bench/f', filter: 'bench/f', payloadSize: 65536, fanout: 1, cap: 64 }),
  g: () => latency(2000),
  hIdle: async () => {
    await sleep(500);
    return { value: rssKb() / 1024, unit: 'MB' };
  },
  h1k: () => idleConnections(1000),
  h10k: () => idleConnections(quick ? 2000 : 10000),
  i: () => connectionRate(50),
  j: () => retained(quick ? 2000 : 10000),
  overload: () => overload(),
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}; have ${Object.keys(scenarios).join(' ')}`);
  process.exit(2);
}
const result = await run();
if (result.load !== undefined) result.saturated = result.load > 0.9;
console.log(JSON.stringify({ scenario, ...result }));
process.exit(0);
