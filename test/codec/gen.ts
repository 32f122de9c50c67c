// Seeded random generators of valid MQTT 3.1.1 / 3.1 packets, shared by the differential and
// fuzz tests. Not a test file itself.

import { encode } from '../../src/codec/encoder.ts';
import type { Packet, QoS, Subscription } from '../../src/codec/packets.ts';

export type Rng = () => number;

/** mulberry32: a tiny 32-bit PRNG, good enough to drive tests reproducibly. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed from MIDGE_SEED, else a fresh one; tests print it on failure. */
export function testSeed(): number {
  const env = process.env.MIDGE_SEED;
  return env ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** Runs `fn` with a fresh seed; a failure names the seed so it can be replayed. */
export function seeded(fn: (rng: Rng) => void): () => void {
  return () => {
    const seed = testSeed();
    try {
      fn(mulberry32(seed));
    } catch (e) {
      if (e instanceof Error) e.message = `[seed ${seed}; rerun with MIDGE_SEED=${seed}] ${e.message}`;
      console.error(`test failed with seed ${seed}`);
      throw e;
    }
  };
}

export const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
export const bool = (r: Rng, p = 0.5): boolean => r() < p;
export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

export function bytes(r: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.$ ';

/** One character: mostly ASCII, else 2-, 3- or 4-byte UTF-8; never U+0000, a surrogate, '/', '+' or '#'. */
function char(r: Rng): string {
  const x = r();
  if (x < 0.6) return ASCII[Math.floor(r() * ASCII.length)];
  if (x < 0.75) return String.fromCodePoint(int(r, 0x80, 0x7ff));
  if (x < 0.9) {
    let cp = int(r, 0x800, 0xffff - 0x800);
    if (cp >= 0xd800) cp += 0x800; // skip the surrogate block
    return String.fromCodePoint(cp);
  }
  return String.fromCodePoint(int(r, 0x10000, 0x10ffff));
}

export function word(r: Rng, min: number, max: number): string {
  const n = int(r, min, max);
  let s = '';
  for (let i = 0; i < n; i++) s += char(r);
  return s;
}

/** A valid Topic Name: 1-5 levels (empty levels allowed), occasionally long. */
export function topicName(r: Rng): string {
  const long = bool(r, 0.05);
  const levels = int(r, 1, 5);
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) parts.push(word(r, 0, long ? 40 : 8));
  const t = parts.join('/');
  return t === '' ? 'x' : t;
}

/** A valid Topic Filter, with '+' levels and a trailing '#' sometimes. */
export function topicFilter(r: Rng): string {
  const levels = int(r, 1, 5);
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) parts.push(bool(r, 0.2) ? '+' : word(r, 0, 8));
  if (bool(r, 0.2)) parts.push('#');
  const f = parts.join('/');
  return f === '' ? 'x' : f;
}

export interface GenOptions {
  /** Allow ~20 KB payloads (3-byte remaining length). */
  big?: boolean;
}

export function payload(r: Rng, opts: GenOptions = {}): Buffer {
  const x = r();
  if (opts.big && x < 0.03) return bytes(r, int(r, 16384, 24000));
  if (x < 0.1) return bytes(r, int(r, 301, 2000));
  return bytes(r, int(r, 0, 300));
}

const qos = (r: Rng): QoS => int(r, 0, 2) as QoS;
const id = (r: Rng): number => int(r, 1, 65535);

/** A random valid packet of any type (PUBLISH and CONNECT are weighted up). */
export function randomPacket(r: Rng, opts: GenOptions = {}): Packet {
  const t = pick(r, [1, 1, 2, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] as const);
  switch (t) {
    case 1: {
      const v31 = bool(r, 0.3);
      // mqtt-packet refuses an empty client id for 3.1, or with clean=false.
      const clientId = !v31 && bool(r, 0.1) ? '' : word(r, 1, 23);
      const p: Packet = {
        type: 1,
        protocolName: v31 ? 'MQIsdp' : 'MQTT',
        protocolLevel: v31 ? 3 : 4,
        clean: clientId === '' || bool(r),
        keepalive: int(r, 0, 65535),
        clientId,
      };
      if (bool(r, 0.4)) p.will = { topic: topicName(r), payload: bytes(r, int(r, 0, 100)), qos: qos(r), retain: bool(r) };
      if (bool(r)) {
        p.username = word(r, 0, 20);
        if (bool(r)) p.password = bytes(r, int(r, 0, 50));
      }
      return p;
    }
    case 2: {
      const returnCode = bool(r) ? 0 : int(r, 1, 5);
      return { type: 2, sessionPresent: returnCode === 0 && bool(r), returnCode };
    }
    case 3: {
      const q = qos(r);
      return { type: 3, dup: q > 0 && bool(r, 0.2), qos: q, retain: bool(r, 0.2), topic: topicName(r), packetId: q ? id(r) : 0, payload: payload(r, opts) };
    }
    case 8: {
      const subscriptions: Subscription[] = [];
      for (let n = int(r, 1, 5); n > 0; n--) subscriptions.push({ topic: topicFilter(r), qos: qos(r) });
      return { type: 8, packetId: id(r), subscriptions };
    }
    case 9: {
      const granted: number[] = [];
      for (let n = int(r, 1, 5); n > 0; n--) granted.push(pick(r, [0, 1, 2, 0x80]));
      return { type: 9, packetId: id(r), granted };
    }
    case 10: {
      const topics: string[] = [];
      for (let n = int(r, 1, 5); n > 0; n--) topics.push(topicFilter(r));
      return { type: 10, packetId: id(r), topics };
    }
    case 12:
    case 13:
    case 14:
      return { type: t };
    default:
      return { type: t, packetId: id(r) };
  }
}

/** Random cut points: chunk sizes mostly small, sometimes large, sometimes 1 byte at a time. */
export function chunks(r: Rng, buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const mode = r();
  let off = 0;
  while (off < buf.length) {
    const n = mode < 0.2 ? 1 : mode < 0.6 ? int(r, 1, 16) : int(r, 1, 4096);
    out.push(buf.subarray(off, Math.min(buf.length, off + n)));
    off += n;
  }
  return out;
}

/** A packet as plain data with Buffers as hex, for fast, readable deep comparisons. */
export function norm(p: unknown): unknown {
  if (Buffer.isBuffer(p)) return p.toString('hex');
  if (Array.isArray(p)) return p.map(norm);
  if (p !== null && typeof p === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p)) if (v !== undefined) o[k] = norm(v);
    return o;
  }
  return p;
}

export function validStream(rng: Rng, n: number): Buffer {
  const ps: Buffer[] = [];
  for (let i = 0; i < n; i++) ps.push(encode(randomPacket(rng)));
  return Buffer.concat(ps);
}

const FIRST_BYTES = [0x10, 0x20, 0x30, 0x32, 0x34, 0x3b, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xa2, 0xb0, 0xc0, 0xd0, 0xe0];

/** One hostile input, chosen by kind (shared by the decoder and broker fuzz tests). */
export function hostile(rng: Rng): Buffer {
  switch (int(rng, 0, 5)) {
    case 0: {
      // Random bytes, often starting with a plausible first byte.
      const b = bytes(rng, int(rng, 0, 100));
      if (b.length > 0 && bool(rng, 0.7)) b[0] = pick(rng, FIRST_BYTES);
      if (b.length > 1 && bool(rng, 0.5)) b[1] = int(rng, 0, Math.min(127, b.length));
      return b;
    }
    case 1: {
      // Valid packets, truncated anywhere.
      const s = validStream(rng, int(rng, 1, 3));
      return s.subarray(0, int(rng, 0, s.length));
    }
    case 2:
    case 3: {
      // Valid packets with 1-3 bits flipped.
      const s = validStream(rng, int(rng, 1, 4));
      for (let n = int(rng, 1, 3); n > 0; n--) s[int(rng, 0, s.length - 1)] ^= 1 << int(rng, 0, 7);
      return s;
    }
    case 4: {
      // Valid packets with a byte replaced.
      const s = validStream(rng, int(rng, 1, 4));
      s[int(rng, 0, s.length - 1)] = int(rng, 0, 255);
      return s;
    }
    default: {
      // Valid packets followed by garbage.
      return Buffer.concat([validStream(rng, int(rng, 1, 3)), bytes(rng, int(rng, 1, 40))]);
    }
  }
}
