// Raw MQTT packets built byte by byte, and their replay against a broker, for the wire
// differential harness (test/interop/wire-diff.test.ts). Nothing here validates: a case may build
// any packet, malformed ones included, and the broker under test decides.
import net from 'node:net';

export type Bytes = Buffer | number[] | string;

/** Bytes from a Buffer, a byte array, or hex (spaces allowed). */
export function bytes(b: Bytes): Buffer {
  if (Buffer.isBuffer(b)) return b;
  if (Array.isArray(b)) return Buffer.from(b);
  return Buffer.from(b.replace(/\s+/g, ''), 'hex');
}

export const cat = (...parts: Bytes[]): Buffer => Buffer.concat(parts.map(bytes));
export const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/** Variable Byte Integer (remaining length, property lengths). */
export function vbi(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A length-prefixed UTF-8 string (or raw bytes given as a Buffer). */
export const str = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  return cat(u16(b.length), b);
};

/** A whole packet: first byte, remaining length, body. */
export const pkt = (b1: number, ...body: Bytes[]): Buffer => {
  const b = cat(...body);
  return cat([b1], vbi(b.length), b);
};

/** MQTT 5 properties (§2.2.2): each builder gives one property; props() adds the length. */
export const prop = {
  byte: (id: number, v: number): Buffer => Buffer.from([id, v]),
  u16: (id: number, v: number): Buffer => cat([id], u16(v)),
  u32: (id: number, v: number): Buffer => cat([id], u32(v)),
  vbi: (id: number, v: number): Buffer => cat([id], vbi(v)),
  str: (id: number, v: string): Buffer => cat([id], str(v)),
  bin: (id: number, v: Buffer | string): Buffer => cat([id], str(Buffer.isBuffer(v) ? v : Buffer.from(v))),
  user: (k: string, v: string): Buffer => cat([0x26], str(k), str(v)),
};
export const props = (...ps: Buffer[]): Buffer => {
  const b = cat(...ps);
  return cat(vbi(b.length), b);
};
/** Property identifiers used by the cases. */
export const P = {
  payloadFormat: 0x01,
  messageExpiry: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionId: 0x0b,
  sessionExpiry: 0x11,
  assignedClientId: 0x12,
  serverKeepAlive: 0x13,
  authMethod: 0x15,
  authData: 0x16,
  requestProblemInfo: 0x17,
  willDelay: 0x18,
  requestResponseInfo: 0x19,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  maximumPacketSize: 0x27,
} as const;

export interface WillSpec {
  topic: string;
  payload?: string;
  qos?: number;
  retain?: boolean;
  /** MQTT 5 will properties, with their length (props()); default none. */
  props?: Buffer;
}

export interface ConnectSpec {
  /** 3: MQTT 3.1 (MQIsdp), 4: 3.1.1, 5: MQTT 5. */
  v: 3 | 4 | 5;
  id: string;
  clean?: boolean;
  keepalive?: number;
  will?: WillSpec;
  user?: string;
  pass?: string;
  /** MQTT 5 CONNECT properties with their length; default none. */
  props?: Buffer;
  /** Overrides: protocol name, level, and bits OR-ed into / the whole flags byte. */
  name?: string;
  level?: number;
  orFlags?: number;
  flags?: number;
  /** Bytes appended after the payload. */
  tail?: Bytes;
}

export function connect(c: ConnectSpec): Buffer {
  const v5 = c.v === 5;
  let flags = c.clean === false ? 0 : 0x02;
  if (c.will) flags |= 0x04 | ((c.will.qos ?? 0) << 3) | (c.will.retain ? 0x20 : 0);
  if (c.user !== undefined) flags |= 0x80;
  if (c.pass !== undefined) flags |= 0x40;
  flags |= c.orFlags ?? 0;
  if (c.flags !== undefined) flags = c.flags;
  const parts: Bytes[] = [
    str(c.name ?? (c.v === 3 ? 'MQIsdp' : 'MQTT')),
    [c.level ?? c.v, flags],
    u16(c.keepalive ?? 60),
  ];
  if (v5) parts.push(c.props ?? [0]);
  parts.push(str(c.id));
  if (c.will) {
    if (v5) parts.push(c.will.props ?? [0]);
    parts.push(str(c.will.topic), str(c.will.payload ?? ''));
  }
  if (c.user !== undefined) parts.push(str(c.user));
  if (c.pass !== undefined) parts.push(str(c.pass));
  if (c.tail !== undefined) parts.push(c.tail);
  return pkt(0x10, ...parts);
}

export interface PublishSpec {
  topic: string | Buffer;
  payload?: string | Buffer;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  /** Packet identifier (QoS 1/2); default 1. */
  id?: number;
  /** MQTT 5: properties with their length; their presence makes it an MQTT 5 PUBLISH. */
  props?: Buffer;
}

export function publish(p: PublishSpec): Buffer {
  const qos = p.qos ?? 0;
  const b1 = 0x30 | (p.dup ? 8 : 0) | (qos << 1) | (p.retain ? 1 : 0);
  const parts: Bytes[] = [str(p.topic)];
  if (qos > 0) parts.push(u16(p.id ?? 1));
  if (p.props) parts.push(p.props);
  parts.push(Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload ?? ''));
  return pkt(b1, ...parts);
}
/** MQTT 5 PUBLISH with no properties. */
export const publish5 = (p: PublishSpec): Buffer => publish({ props: Buffer.from([0]), ...p });

/** SUBSCRIBE: filters with their options byte (3.1.1: the QoS). `props` (MQTT 5) with length. */
export const subscribe = (id: number, filters: [string | Buffer, number][], props?: Buffer): Buffer =>
  pkt(0x82, u16(id), props ?? [], ...filters.flatMap(([f, o]) => [str(f), [o]]));
export const subscribe5 = (id: number, filters: [string | Buffer, number][], props: Buffer = Buffer.from([0])): Buffer =>
  subscribe(id, filters, props);

export const unsubscribe = (id: number, filters: string[], props?: Buffer): Buffer =>
  pkt(0xa2, u16(id), props ?? [], ...filters.map((f) => str(f)));
export const unsubscribe5 = (id: number, filters: string[], props: Buffer = Buffer.from([0])): Buffer =>
  unsubscribe(id, filters, props);

/** PUBACK 0x40, PUBREC 0x50, PUBREL 0x62, PUBCOMP 0x70: id, then (MQTT 5) reason and properties. */
export const ack = (b1: number, id: number, ...rest: Bytes[]): Buffer => pkt(b1, u16(id), ...rest);
export const puback = (id: number, ...rest: Bytes[]): Buffer => ack(0x40, id, ...rest);
export const pubrec = (id: number, ...rest: Bytes[]): Buffer => ack(0x50, id, ...rest);
export const pubrel = (id: number, ...rest: Bytes[]): Buffer => ack(0x62, id, ...rest);
export const pubcomp = (id: number, ...rest: Bytes[]): Buffer => ack(0x70, id, ...rest);

export const PINGREQ = Buffer.from([0xc0, 0]);
export const DISCONNECT = Buffer.from([0xe0, 0]);
/** MQTT 5 DISCONNECT with a reason code and optional properties (with length). */
export const disconnect5 = (reason: number, p?: Buffer): Buffer => pkt(0xe0, [reason], p ?? []);
/** MQTT 5 AUTH with a reason code and properties (with length). */
export const auth = (reason: number, p?: Buffer): Buffer => pkt(0xf0, [reason], p ?? []);

// ---- Replaying a case against a broker ----


/**
 * One step of an exchange. `c` is the client (1, 2, ...), connected on its first step.
 * - `send`: bytes written by client c;
 * - `want`: packets client c then waits for (and `also`: packets other clients wait for, by
 *   client number), each within the step timeout;
 * - `close`: client c waits for the broker to close its connection (`shut`: other clients do);
 * - `drop`: client c closes its socket without DISCONNECT.
 */
export interface Step {
  c: number;
  send?: Buffer;
  want?: number;
  also?: Record<number, number>;
  close?: true;
  shut?: number[];
  drop?: true;
}

/** Rewrites received packets that must differ (server-generated values), before comparison. */
export type Norm = (packet: Buffer) => Buffer;

export interface WireCase {
  name: string;
  /** `u`: a short token unique to the case, for client ids and topics. */
  steps: (u: string) => Step[];
  /** Normalisations, each with the reason in the case. */
  norm?: Norm[];
}

/** Names a transcript line: the step it happened in, and the client. */
interface Line {
  step: number;
  c: number;
  text: string;
}

const hexOf = (b: Buffer): string => b.toString('hex').replace(/(..)(?!$)/g, '$1 ');

/** A raw TCP client that splits what it receives into MQTT packets and logs them. */
class Peer {
  private rx: Buffer = Buffer.alloc(0);
  count = 0;
  closed = false;
  quiet = false;
  private wake: (() => void) | undefined;
  readonly gone: Promise<void>;

  private constructor(
    readonly socket: net.Socket,
    private readonly log: (text: string) => void,
    private readonly norm: Norm[],
  ) {
    socket.on('data', (d) => this.data(d));
    socket.on('error', () => {});
    this.gone = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        if (this.rx.length) this.emit(`partial ${hexOf(this.rx)}`);
        this.emit('closed');
        resolve();
      }),
    );
  }

  static open(port: number, log: (text: string) => void, norm: Norm[]): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(new Peer(s, log, norm)));
      s.setNoDelay(true);
      s.once('error', reject);
    });
  }

  private emit(text: string): void {
    if (!this.quiet) this.log(text);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private data(d: Buffer): void {
    this.rx = this.rx.length ? Buffer.concat([this.rx, d]) : d;
    for (;;) {
      // Fixed header: first byte, remaining length (at most 4 bytes).
      let i = 1;
      let len = 0;
      let mul = 1;
      let done = false;
      while (i < this.rx.length && i <= 4) {
        const b = this.rx[i++];
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          done = true;
          break;
        }
      }
      if (!done || this.rx.length < i + len) return;
      let p = this.rx.subarray(0, i + len);
      this.rx = this.rx.subarray(i + len);
      for (const n of this.norm) p = n(p);
      this.count++;
      this.emit(`< ${hexOf(p)}`);
    }
  }

  /** Resolves true once `done()` holds, false after `ms`. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!done()) {
      const left = end - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return true;
  }

  end(): void {
    this.quiet = true;
    this.socket.destroy();
  }
}

export interface ReplayOptions {
  /** Longest wait for an expected packet or close. */
  stepMs: number;
  /** Silence window after the last step: what arrives then (or a close) is part of the result. */
  quietMs: number;
}

/**
 * Replays `steps` against the broker on `port` and returns the transcript: per step, what was
 * sent and then what each client received (in client order, each client's packets in arrival
 * order), with 'closed' where the broker closed a connection, and 'timeout' where an expected
 * packet or close did not come. The last block ('end') is what came in the quiet window.
 */
export async function replay(port: number, steps: Step[], norm: Norm[], o: ReplayOptions): Promise<string[]> {
  const lines: Line[] = [];
  const peers = new Map<number, Peer>();
  let step = 0;
  try {
    for (; step < steps.length; step++) {
      const s = steps[step];
      let p = peers.get(s.c);
      if (!p) {
        const c = s.c;
        p = await Peer.open(port, (text) => lines.push({ step, c, text }), norm);
        peers.set(c, p);
      }
      const base = new Map([...peers].map(([c, q]) => [c, q.count]));
      if (s.send) {
        lines.push({ step, c: 0, text: `> c${s.c} ${hexOf(s.send)}` });
        p.socket.write(s.send);
      }
      if (s.drop) {
        lines.push({ step, c: 0, text: `> c${s.c} drops the connection` });
        p.end();
        await p.gone;
      }
      const waits: [number, number][] = [];
      if (s.want) waits.push([s.c, s.want]);
      for (const [c, n] of Object.entries(s.also ?? {})) waits.push([Number(c), n]);
      const results = await Promise.all(
        waits.map(async ([c, n]) => {
          const q = peers.get(c);
          if (!q) throw new Error(`step ${step}: client ${c} is not connected`);
          const want = base.get(c)! + n;
          return (await q.until(() => q.count >= want || q.closed, o.stepMs)) ? undefined : c;
        }),
      );
      for (const c of results) if (c !== undefined) lines.push({ step, c, text: 'timeout' });
      for (const c of s.close ? [s.c, ...(s.shut ?? [])] : (s.shut ?? [])) {
        const q = peers.get(c)!;
        if (!(await q.until(() => q.closed, o.stepMs))) lines.push({ step, c, text: 'timeout (still open)' });
      }
    }
    await new Promise((r) => setTimeout(r, o.quietMs));
  } finally {
    for (const p of peers.values()) p.end();
  }
  // Sends first, then clients in order; a stable sort keeps arrival order within a client.
  lines.sort((a, b) => a.step - b.step || a.c - b.c);
  return lines.map((l) => `${l.step < steps.length ? l.step : 'end'} ${l.c ? `c${l.c} ` : ''}${l.text}`);
}
