// The load generator: one scenario against one broker, printed as one JSON line.
//   node scripts/bench/load.mjs SCENARIO PORT BROKER_PID [--seconds S] [--quick]
// SCENARIO a5, b5, d5 or e5 runs a, b, d or e over MQTT 5 (v5 packets with empty property
// sections); a broker that refuses that gets {"na": reason} instead of a figure.
// Raw sockets and pre-encoded packets so that the generator is not the bottleneck; it reports its
// own CPU use and flags itself `saturated` above 90 % of a core (then the figure is a floor).
// QoS 0 publishers keep a cap on outstanding messages (sent but not yet received by every
// subscriber), so those figures are lossless sustained rates; QoS 0 losses are still counted.
// QoS 1/2 publishers (scenarios d, e, d5, e5, fanin4, fanin50, slow) are paced by the broker's
// PUBACK/PUBCOMP only, as real ones are: the subscriber's receipts never hold them back, so a broker
// that acknowledges and then drops shows it as "lost after acknowledgement" (issue 14).
//   --sys  also subscribe to the broker's $SYS counters and report messages dropped.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DISCONNECT, hex, openClient, payloadStart, publishPacket, subscribePacket } from './mqtt-wire.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string' }, quick: { type: 'boolean' }, sys: { type: 'boolean' } },
});
const [scenario, portArg, pidArg] = positionals;
/** The MQTT 5 scenarios: each runs its 3.1.1 namesake's load at protocol level 5. */
const V5 = { a5: 'a', b5: 'b', d5: 'd', e5: 'e' };
const version = V5[scenario] ? 5 : 4;
const port = Number(portArg);
const brokerPid = Number(pidArg);
const quick = values.quick ?? false;
const wantSys = values.sys ?? false;
const SECONDS = Number(values.seconds ?? (quick ? 1 : 4));
const WARMUP_MS = quick ? 300 : 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${brokerPid}/status`, 'utf8'))[1]);
/** The broker's peak RSS since it started (VmHWM, KiB). */
const peakRssKb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${brokerPid}/status`, 'utf8'))[1]);
/** The broker's CPU time so far in µs, user and system: utime, stime from /proc (fields 14, 15; 100 ticks/s). */
function brokerCpu() {
  const stat = readFileSync(`/proc/${brokerPid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) * 10_000, sys: Number(f[12]) * 10_000 };
}

/** The first load client the broker closed (never this process), with its v5 reason code. */
let closedByBroker;

/** A load client on the broker under test (see openClient), at this run's protocol version. */
async function client(id, opts) {
  const c = await openClient(port, id, { ...opts, version });
  // 'end' comes only from the broker's side: this process destroys its sockets without one.
  c.socket.on('end', () => (closedByBroker ??= `broker closed ${id}${c.reason === undefined ? '' : ` (DISCONNECT ${hex(c.reason)})`}`));
  return c;
}

/**
 * Warm up, then count what `count()` gains over the measuring window: per second, with this
 * process's CPU use and the broker's CPU time per counted message (µs; total, user and system)
 * over the same window. `also()`, when given, is a second counter whose rate is `alsoRate`.
 */
async function measureWindow(count, also = () => 0, { seconds = SECONDS, warmupMs = WARMUP_MS } = {}) {
  await sleep(warmupMs);
  const c0 = count();
  const a0 = also();
  const b0 = brokerCpu();
  const cpu = cpuMeter();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  const n = count() - c0;
  const alsoRate = (also() - a0) / dt;
  const b1 = brokerCpu();
  const cpuUserUs = (b1.user - b0.user) / n;
  const cpuSysUs = (b1.sys - b0.sys) / n;
  return { rate: n / dt, alsoRate, load: cpu(), cpuUs: cpuUserUs + cpuSysUs, cpuUserUs, cpuSysUs };
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
  let malformed = 0;
  const subscribers = [];
  for (let i = 0; i < subs; i++) {
    subscribers.push(
      await client(`bench-sub-${i}`, {
        extra: [subscribePacket(1, filter, 0, version)],
        acksWanted: 1,
        onPacket: (type, flags, buf, s, e) => {
          if (type === 3) {
            if (e - payloadStart(flags, buf, s, version) !== payloadSize) malformed++;
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
  const batches = publishers.map((_, i) => Buffer.concat(Array.from({ length: per }, () => publishPacket(topic(i), payload, 0, false, 1, version).buf)));
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
  const { rate, load, cpuUs, cpuUserUs, cpuSysUs } = await measureWindow(() => received);
  stop = true;
  // Let in-flight messages arrive, then count what never did.
  await settle(() => received, sent * fanout);
  for (const c of [...subscribers, ...publishers]) c.socket.destroy();
  return { value: rate, unit: 'msg/s', sent: sent * fanout, received, delivered: received, lost: sent * fanout - received, malformed, load, cpuUs, cpuUserUs, cpuSysUs };
}

/** Most messages one publisher sends in a run (a bound besides time: sequence numbers stay small). */
const MAX_PER_PUBLISHER = 20_000_000;
/** Longest wait for in-flight messages after publishing stops (the drain), ms. */
const DRAIN_MS = quick ? 3000 : 10_000;
/** The drain also ends when nothing has moved for this long (ms): what is missing then is gone. */
const STALL_MS = quick ? 300 : 500;
/** A quick run keeps the QoS 1/2 loads short: each adds a drain and a $SYS round to its run. */
const PACED_WINDOW = quick && !values.seconds ? { seconds: 0.5, warmupMs: 200 } : {};
/** Acknowledgements per second the slow subscriber of scenario `slow` sends (run.mjs's label says so). */
const SLOW_ACKS_PER_S = 5000;

/** A growable set of sequence numbers 0, 1, 2 … (a bitset). */
class SeqSet {
  constructor() {
    this.words = new Uint32Array(1024);
  }
  /** Adds `n`; false when it was there already. */
  add(n) {
    const w = n >>> 5;
    if (w >= this.words.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.words.length * 2));
      grown.set(this.words);
      this.words = grown;
    }
    const bit = 1 << (n & 31);
    if (this.words[w] & bit) return false;
    this.words[w] |= bit;
    return true;
  }
  /** How many members `other` lacks. */
  missingFrom(other) {
    let n = 0;
    for (let w = 0; w < this.words.length; w++) {
      let x = this.words[w] & ~(w < other.words.length ? other.words[w] : 0);
      while (x) {
        x &= x - 1;
        n++;
      }
    }
    return n;
  }
}

/** Outgoing 4-byte acknowledgements, appended one by one and written out in one piece. */
class AckQueue {
  constructor() {
    this.buf = Buffer.allocUnsafe(4096);
    this.head = 0;
    this.tail = 0;
  }
  push(first, id) {
    if (this.tail + 4 > this.buf.length) this.room();
    const b = this.buf;
    const t = this.tail;
    b[t] = first;
    b[t + 1] = 2;
    b[t + 2] = id >> 8;
    b[t + 3] = id & 255;
    this.tail = t + 4;
  }
  room() {
    if (this.head > 0) {
      this.buf.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    if (this.tail + 4 > this.buf.length) {
      const grown = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(grown, 0, 0, this.tail);
      this.buf = grown;
    }
  }
  /** Up to `max` acknowledgements as a fresh Buffer (a socket may hold on to it), or null. */
  take(max = Infinity) {
    const n = Math.min((this.tail - this.head) >> 2, max) * 4;
    if (n <= 0) return null;
    const out = Buffer.from(this.buf.subarray(this.head, this.head + n));
    this.head += n;
    if (this.head === this.tail) this.head = this.tail = 0;
    return out;
  }
}

/**
 * A client subscribed to the broker's $SYS counters of dropped messages (Midge:
 * messages/dropped and messages/paced; Mosquitto 2.0: publish/messages/dropped) and to its uptime,
 * which both brokers publish every sys_interval: an uptime that arrives after a moment shows that
 * the counters beside it are from after that moment.
 */
async function sysWatcher() {
  const values = {};
  let uptimeAt = 0;
  const topics = ['$SYS/broker/uptime', '$SYS/broker/messages/dropped', '$SYS/broker/publish/messages/dropped', '$SYS/broker/messages/paced'];
  const c = await client('bench-sys', {
    extra: topics.map((t, k) => subscribePacket(k + 1, t, 0, version)),
    acksWanted: topics.length,
    onPacket: (type, flags, buf, s, e) => {
      if (type !== 3) return;
      const tl = (buf[s] << 8) | buf[s + 1];
      const topic = buf.toString('utf8', s + 2, s + 2 + tl);
      values[topic] = buf.toString('utf8', payloadStart(flags, buf, s, version), e);
      if (topic === '$SYS/broker/uptime') uptimeAt = performance.now();
    },
  });
  return {
    /** Waits (at most `ms`) for a $SYS round that began after now, then reads the counters. */
    async read(ms = 2500) {
      const t = performance.now();
      while (uptimeAt <= t && performance.now() - t < ms) await sleep(50);
      const sysFresh = uptimeAt > t;
      if (sysFresh) await sleep(100); // the rest of that round
      c.socket.destroy();
      const num = (k) => (values[k] === undefined ? undefined : Number(values[k]));
      return { dropped: num('$SYS/broker/messages/dropped') ?? num('$SYS/broker/publish/messages/dropped'), paced: num('$SYS/broker/messages/paced'), sysFresh };
    },
  };
}

/**
 * QoS 1 or 2 publishers paced by the broker's acknowledgements only, as real ones are: each keeps
 * up to `window` PUBLISHes awaiting PUBACK (QoS 1) or PUBCOMP (QoS 2), fewer if a v5 broker's
 * Receive Maximum says so, whatever the subscriber has received. Each payload carries its
 * publisher's index and a sequence number; one subscriber (at the same QoS) counts distinct
 * deliveries per publisher, duplicates and late (out-of-order) arrivals, and acknowledges at once
 * or, with `ackRate`, at most that many acknowledgements per second (a slow consumer).
 * Headline: delivered/s (distinct). Beside it: acknowledged/s (PUBACK; PUBREC for QoS 2, the
 * broker's word that it holds the message) and lost after acknowledgement: sequence numbers
 * acknowledged to their publisher and never delivered once in-flight messages have drained
 * (until all arrived, nothing moved for STALL_MS, or DRAIN_MS).
 */
async function paced({ qos, pubs, topic, filter, window = 100, ackRate = 0 }) {
  const PAYLOAD = 64;
  const sys = wantSys ? await sysWatcher() : undefined;
  const delivered = Array.from({ length: pubs }, () => new SeqSet());
  const maxSeq = new Float64Array(pubs).fill(-1);
  let distinct = 0;
  let dup = 0;
  let reordered = 0;
  let malformed = 0;
  const acks = new AckQueue();
  let ackScheduled = false;
  const flushAcks = () => {
    ackScheduled = false;
    const b = acks.take();
    if (b) sub.socket.write(b);
  };
  const sub = await client('bench-sub', {
    extra: [subscribePacket(1, filter, qos, version)],
    acksWanted: 1,
    onPacket: (type, flags, buf, s, e) => {
      if (type === 3) {
        const q = (flags >> 1) & 3;
        const tl = (buf[s] << 8) | buf[s + 1];
        if (q) acks.push(q === 1 ? 0x40 : 0x50, (buf[s + 2 + tl] << 8) | buf[s + 3 + tl]);
        const p = payloadStart(flags, buf, s, version);
        const from = p < 0 ? pubs : (buf[p] << 8) | buf[p + 1];
        if (e - p !== PAYLOAD || from >= pubs) malformed++;
        else {
          const seq = buf.readUInt32BE(p + 2);
          if (!delivered[from].add(seq)) dup++;
          else {
            distinct++;
            if (seq < maxSeq[from]) reordered++;
            else maxSeq[from] = seq;
          }
        }
      } else if (type === 6) acks.push(0x70, (buf[s] << 8) | buf[s + 1]);
      else return;
      if (!ackRate && !ackScheduled) {
        ackScheduled = true;
        setImmediate(flushAcks);
      }
    },
  });
  // The slow consumer: acknowledgements leave at `ackRate` per second; unused budget is not saved.
  let ackTimer;
  if (ackRate) {
    const t0 = performance.now();
    let budget = 0;
    ackTimer = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * ackRate) - budget;
      budget += due;
      const b = acks.take(due);
      if (b) sub.socket.write(b);
    }, 5);
  }

  let stop = false;
  let pending = [];
  let pumpScheduled = false;
  const dirty = (p) => {
    if (!p.dirty) {
      p.dirty = true;
      pending.push(p);
    }
    if (!pumpScheduled) {
      pumpScheduled = true;
      setImmediate(pump);
    }
  };
  /** One write per publisher per turn: new PUBLISHes for its free packet ids, and its PUBRELs. */
  function pump() {
    pumpScheduled = false;
    const list = pending;
    pending = [];
    for (const p of list) {
      p.dirty = false;
      const n = stop ? 0 : Math.min(p.free.length, MAX_PER_PUBLISHER - p.next);
      const rel = p.rel.length;
      if (!n && !rel) continue;
      const len = p.tmpl.length;
      const out = Buffer.allocUnsafe(n * len + rel * 4);
      let o = 0;
      for (let k = 0; k < n; k++, o += len) {
        const id = p.free.pop();
        const seq = p.next++;
        p.seqOf[id] = seq;
        p.tmpl.copy(out, o);
        out[o + p.idAt] = id >> 8;
        out[o + p.idAt + 1] = id & 255;
        out.writeUInt32BE(seq, o + p.seqAt);
      }
      for (const id of p.rel) {
        out[o++] = 0x62;
        out[o++] = 2;
        out[o++] = id >> 8;
        out[o++] = id & 255;
      }
      p.rel.length = 0;
      p.socket.write(out);
    }
  }
  function onAck(p, type, buf, s, e) {
    const id = (buf[s] << 8) | buf[s + 1];
    // A v5 reason code of 0x80 or more (0x97 quota exceeded …) refuses the message.
    const refused = version === 5 && e - s > 2 && buf[s + 2] >= 0x80;
    if (type === 4 || type === 5) {
      if (refused) {
        p.refused++;
        p.free.push(id);
      } else {
        if (p.acked.add(p.seqOf[id])) p.ackedN++;
        if (type === 4) p.free.push(id);
        else p.rel.push(id);
      }
    } else if (type === 7) p.free.push(id);
    else return;
    dirty(p);
  }

  const publishers = [];
  for (let i = 0; i < pubs; i++) {
    const payload = Buffer.alloc(PAYLOAD, 0x61);
    payload.writeUInt16BE(i, 0);
    const t = publishPacket(topic(i), payload, qos, false, 1, version);
    const p = { tmpl: t.buf, idAt: t.idOffset, seqAt: t.payloadOffset + 2, seqOf: new Float64Array(65536), free: [], window: 0, next: 0, acked: new SeqSet(), ackedN: 0, refused: 0, rel: [], dirty: false, socket: undefined };
    const c = await client(`bench-pub-${i}`, { onPacket: (type, flags, buf, s, e) => onAck(p, type, buf, s, e) });
    p.socket = c.socket;
    p.window = Math.min(window, c.receiveMaximum);
    for (let id = p.window; id >= 1; id--) p.free.push(id);
    publishers.push(p);
  }
  const sum = (f) => publishers.reduce((a, p) => a + f(p), 0);
  const ackedTotal = () => sum((p) => p.ackedN);
  const inFlight = () => sum((p) => p.window - p.free.length);

  for (const p of publishers) dirty(p);
  const { rate, alsoRate, load, cpuUs, cpuUserUs, cpuSysUs } = await measureWindow(() => distinct, ackedTotal, PACED_WINDOW);
  stop = true;
  // The drain: publishers finish their flows (PUBRELs still go out) but start no new ones.
  const t0 = performance.now();
  let moved = t0;
  let last = -1;
  let drainCapped = false;
  while (!(inFlight() === 0 && distinct >= ackedTotal())) {
    const now = performance.now();
    const progress = distinct + ackedTotal() - inFlight(); // never falls once publishing stopped
    if (progress !== last) {
      last = progress;
      moved = now;
    } else if (now - moved >= STALL_MS) break; // stalled: what is missing now is gone
    if (now - t0 >= DRAIN_MS) {
      drainCapped = true; // still moving: late arrivals would count as lost
      break;
    }
    await sleep(20);
  }
  const drainMs = performance.now() - t0;
  const unconfirmed = inFlight();
  const counters = sys ? await sys.read() : {};
  let peak;
  try {
    peak = peakRssKb();
  } catch {
    // the broker is gone; run.mjs reports that
  }
  clearInterval(ackTimer);
  sub.socket.destroy();
  for (const p of publishers) p.socket.destroy();
  const lost = publishers.reduce((a, p, i) => a + p.acked.missingFrom(delivered[i]), 0);
  return {
    value: rate,
    unit: 'msg/s',
    ackRate: alsoRate,
    issued: sum((p) => p.next),
    acked: ackedTotal(),
    delivered: distinct,
    lost,
    dup,
    reordered,
    refused: sum((p) => p.refused),
    unconfirmed,
    drainMs,
    drainCapped,
    ...counters,
    peakRssKb: peak,
    window: Math.min(...publishers.map((p) => p.window)),
    malformed,
    load,
    cpuUs,
    cpuUserUs,
    cpuSysUs,
  };
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
  d: () => paced({ qos: 1, pubs: 1, topic: () => 'bench/q', filter: 'bench/q' }),
  e: () => paced({ qos: 2, pubs: 1, topic: () => 'bench/q', filter: 'bench/q' }),
  fanin4: () => paced({ qos: 1, pubs: 4, topic: (i) => `bench/k/${i}`, filter: 'bench/k/+' }),
  fanin50: () => paced({ qos: 1, pubs: 50, topic: (i) => `bench/k/${i}`, filter: 'bench/k/+' }),
  slow: () => paced({ qos: 1, pubs: 1, topic: () => 'bench/l', filter: 'bench/l', ackRate: SLOW_ACKS_PER_S }),
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

const run = scenarios[V5[scenario] ?? scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}; have ${[...Object.keys(scenarios), ...Object.keys(V5)].join(' ')}`);
  process.exit(2);
}
let result;
try {
  result = await run();
} catch (err) {
  // A broker that refuses MQTT 5 (or a subscription) costs its cell, not the whole run.
  if (version !== 5) throw err;
  result = { na: err.message };
}
if (result.load !== undefined) result.saturated = result.load > 0.9;
if (closedByBroker) result.error = closedByBroker;
if (result.malformed) result.error ??= `${result.malformed} malformed PUBLISH`;
// Over MQTT 5 a figure from a broker that broke a flow measures nothing: n/a with the reason.
if (version === 5 && result.error) result.na ??= result.error;
console.log(JSON.stringify({ scenario, ...result }));
process.exit(0);
