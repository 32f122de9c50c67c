// Load clients for flow-control tests, on raw sockets with mqtt-packet (an independent codec):
// publishers paced by the broker's PUBACK/PUBREC only (as real publishers are), and subscribers
// that count what they receive and acknowledge late, or never.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

type Any = Record<string, any>;

function open(port: number, clientId: string, version: number, extra: Any = {}): Promise<{ s: net.Socket; parser: ReturnType<typeof mqttPacket.parser>; send: (p: Any) => void; connack: Promise<Any> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      const parser = mqttPacket.parser({ protocolVersion: version });
      const send = (p: Any): void => {
        if (!s.destroyed) s.write(mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: version } as Any));
      };
      let gotConnack: (p: Any) => void = () => {};
      const connack = new Promise<Any>((r) => (gotConnack = r));
      parser.once('packet', (p: Any) => gotConnack(p));
      s.on('data', (d) => parser.parse(d));
      send({ cmd: 'connect', clientId, clean: true, keepalive: 0, protocolVersion: version, ...extra });
      resolve({ s, parser, send, connack });
    });
    s.once('error', reject);
  });
}

export interface PublishResult {
  /** Message numbers (0..n-1) the broker acknowledged (PUBACK; PUBREC for QoS 2). */
  acked: Set<number>;
  /** The connection closed before every message was acknowledged. */
  closed: boolean;
  /** MQTT 5: the reason code of a DISCONNECT from the broker, if one came. */
  disconnect?: number;
}

/**
 * Publishes `n` messages `ID:SEQ` on `topic` with at most `inflight` unacknowledged, paced only by
 * the broker's acknowledgements; resolves once all are acknowledged (QoS 2: PUBCOMP too), the
 * connection closes, or `ms` passes.
 */
export async function pacedPublish(port: number, id: string, topic: string, n: number, qos: 1 | 2, opts: { inflight?: number; version?: number; ms?: number } = {}): Promise<PublishResult> {
  const inflight = opts.inflight ?? 100;
  const version = opts.version ?? 4;
  const { s, parser, send, connack } = await open(port, id, version);
  await connack;
  const result: PublishResult = { acked: new Set(), closed: false };
  const pending = new Map<number, number>(); // packet id → seq
  let next = 0;
  let done = 0;
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(result);
    };
    const timer = setTimeout(finish, opts.ms ?? 15_000);
    const fill = (): void => {
      while (pending.size < inflight && next < n) {
        const seq = next++;
        const messageId = (seq % 65535) + 1;
        pending.set(messageId, seq);
        send({ cmd: 'publish', topic, payload: Buffer.from(`${id}:${seq}`), qos, messageId, retain: false, dup: false });
      }
    };
    parser.on('packet', (p: Any) => {
      if (p.cmd === 'disconnect') result.disconnect = p.reasonCode ?? 0;
      if (p.cmd !== 'puback' && p.cmd !== 'pubrec' && p.cmd !== 'pubcomp') return;
      const seq = pending.get(p.messageId);
      if (seq === undefined) return;
      if (p.cmd === 'pubrec') {
        result.acked.add(seq);
        send({ cmd: 'pubrel', messageId: p.messageId });
        return;
      }
      if (p.cmd === 'puback') result.acked.add(seq);
      pending.delete(p.messageId);
      if (++done === n) finish();
      else fill();
    });
    s.on('close', () => {
      result.closed = done < n;
      finish();
    });
    s.on('error', () => {});
    fill();
  });
}

export interface Subscriber {
  /** Per publisher id, the message numbers received, in arrival order (duplicates included). */
  got: Map<string, number[]>;
  /** Total PUBLISHes received (duplicates included). */
  count: number;
  /** Resolves once `total` distinct messages arrived (from publisher `id` only, if given); rejects after `ms`. */
  until(total: number, ms?: number, id?: string): Promise<void>;
  socket: net.Socket;
  /** A subscriber that was stuck (ackDelay -1) reads and acknowledges from now on. */
  unstick(): void;
  close(): void;
}

/**
 * Subscribes to `filter` at `qos`. `ackDelay` ms: each QoS 1/2 message is acknowledged that long
 * after it arrived (-1: never, and the socket is no longer read, like a hung client).
 */
export async function subscriber(port: number, id: string, filter: string, qos: 1 | 2, opts: { ackDelay?: number; version?: number; clean?: boolean } = {}): Promise<Subscriber> {
  const version = opts.version ?? 4;
  const { s, parser, send, connack } = await open(port, id, version, { clean: opts.clean ?? true });
  await connack;
  const got = new Map<string, number[]>();
  const seen = new Set<string>();
  let waiting: { total: number; id?: string; resolve: () => void } | undefined;
  const count = (id?: string): number => (id === undefined ? seen.size : new Set(got.get(id)).size);
  const sub: Subscriber = {
    got,
    count: 0,
    socket: s,
    until(total, ms = 15_000, id) {
      if (count(id) >= total) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${count(id)} of ${total} messages within ${ms} ms`)), ms);
        waiting = { total, id, resolve: () => (clearTimeout(t), resolve()) };
      });
    },
    close: () => s.destroy(),
    unstick() {
      delay = 0;
      for (const p of owed.splice(0)) ack(p);
      s.resume();
    },
  };
  let delay = opts.ackDelay ?? 0;
  const owed: Any[] = [];
  const ack = (p: Any): void => {
    if (p.qos === 1) send({ cmd: 'puback', messageId: p.messageId });
    else if (p.qos === 2) send({ cmd: 'pubrec', messageId: p.messageId });
  };
  parser.on('packet', (p: Any) => {
    if (p.cmd === 'pubrel') return send({ cmd: 'pubcomp', messageId: p.messageId });
    if (p.cmd !== 'publish') return;
    sub.count++;
    const text = p.payload.toString();
    const [pid, seq] = text.split(':');
    const list = got.get(pid) ?? [];
    list.push(Number(seq));
    got.set(pid, list);
    seen.add(text);
    if (delay < 0) {
      owed.push(p);
      s.pause();
      return;
    }
    if (delay === 0) ack(p);
    else setTimeout(() => ack(p), delay);
    if (waiting && count(waiting.id) >= waiting.total) {
      waiting.resolve();
      waiting = undefined;
    }
  });
  const granted = new Promise<void>((resolve) => parser.once('packet', () => resolve()));
  send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
  await granted;
  return sub;
}
