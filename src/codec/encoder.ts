// MQTT 3.1 / 3.1.1 encoder. Every function computes the exact size first and fills a single
// Buffer.allocUnsafe() by offset: no intermediate buffers, no concatenation.
// Inputs are trusted (they come from the broker, not the wire); only overflows that would
// corrupt the framing are checked.

import type { Packet, QoS } from './packets.ts';

/** Largest remaining length (4 bytes of 7 bits). */
const MAX_REMAINING_LENGTH = 268435455;

/** Bytes needed to encode remaining length `n`. */
export function remainingLengthBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** Shared constant packets. Never mutate them. */
export const PINGREQ_BYTES: Buffer = Buffer.from([0xc0, 0]);
export const PINGRESP_BYTES: Buffer = Buffer.from([0xd0, 0]);
export const DISCONNECT_BYTES: Buffer = Buffer.from([0xe0, 0]);

function alloc(b1: number, rem: number): Buffer {
  if (rem > MAX_REMAINING_LENGTH) throw new RangeError(`packet too large: remaining length ${rem}`);
  const buf = Buffer.allocUnsafe(1 + remainingLengthBytes(rem) + rem);
  buf[0] = b1;
  let off = 1;
  while (rem >= 0x80) {
    buf[off++] = (rem & 0x7f) | 0x80;
    rem >>>= 7;
  }
  buf[off] = rem;
  return buf;
}

/** UTF-8 length of a string field; a longer one would silently corrupt the 16-bit prefix. */
function strLen(s: string): number {
  const n = Buffer.byteLength(s);
  if (n > 0xffff) throw new RangeError(`string field longer than 65535 bytes`);
  return n;
}

function binLen(b: Buffer): number {
  if (b.length > 0xffff) throw new RangeError(`binary field longer than 65535 bytes`);
  return b.length;
}

function putU16(buf: Buffer, off: number, v: number): number {
  buf[off] = v >> 8;
  buf[off + 1] = v & 0xff;
  return off + 2;
}

function putStr(buf: Buffer, off: number, s: string, len: number): number {
  off = putU16(buf, off, len);
  return off + buf.write(s, off);
}

function putBin(buf: Buffer, off: number, b: Buffer): number {
  off = putU16(buf, off, b.length);
  return off + b.copy(buf, off);
}

/** The PUBLISH hot path. */
export function encodePublish(topic: string, payload: Buffer, qos: QoS, retain: boolean, dup: boolean, packetId: number): Buffer {
  const tlen = strLen(topic);
  const rem = 2 + tlen + (qos === 0 ? 0 : 2) + payload.length;
  const buf = alloc(0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0), rem);
  let off = buf.length - rem;
  off = putStr(buf, off, topic, tlen);
  if (qos !== 0) off = putU16(buf, off, packetId);
  payload.copy(buf, off);
  return buf;
}

/** PUBACK (4), PUBREC (5), PUBREL (6, flags 0b0010), PUBCOMP (7), UNSUBACK (11). */
export function encodeAck(type: 4 | 5 | 6 | 7 | 11, packetId: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf[0] = (type << 4) | (type === 6 ? 0x02 : 0);
  buf[1] = 2;
  buf[2] = packetId >> 8;
  buf[3] = packetId & 0xff;
  return buf;
}

export function encode(p: Packet): Buffer {
  switch (p.type) {
    case 1: {
      const nlen = strLen(p.protocolName);
      const clen = strLen(p.clientId);
      let rem = 2 + nlen + 1 + 1 + 2 + 2 + clen;
      let flags = p.clean ? 0x02 : 0;
      let wlen = 0;
      if (p.will) {
        wlen = strLen(p.will.topic);
        rem += 2 + wlen + 2 + binLen(p.will.payload);
        flags |= 0x04 | (p.will.qos << 3) | (p.will.retain ? 0x20 : 0);
      }
      let ulen = 0;
      if (p.username !== undefined) {
        ulen = strLen(p.username);
        rem += 2 + ulen;
        flags |= 0x80;
      }
      if (p.password !== undefined) {
        rem += 2 + binLen(p.password);
        flags |= 0x40;
      }
      const buf = alloc(0x10, rem);
      let off = buf.length - rem;
      off = putStr(buf, off, p.protocolName, nlen);
      buf[off++] = p.protocolLevel;
      buf[off++] = flags;
      off = putU16(buf, off, p.keepalive);
      off = putStr(buf, off, p.clientId, clen);
      if (p.will) {
        off = putStr(buf, off, p.will.topic, wlen);
        off = putBin(buf, off, p.will.payload);
      }
      if (p.username !== undefined) off = putStr(buf, off, p.username, ulen);
      if (p.password !== undefined) putBin(buf, off, p.password);
      return buf;
    }
    case 2: {
      const buf = Buffer.allocUnsafe(4);
      buf[0] = 0x20;
      buf[1] = 2;
      buf[2] = p.sessionPresent ? 1 : 0;
      buf[3] = p.returnCode;
      return buf;
    }
    case 3:
      return encodePublish(p.topic, p.payload, p.qos, p.retain, p.dup, p.packetId);
    case 4:
    case 5:
    case 6:
    case 7:
    case 11:
      return encodeAck(p.type, p.packetId);
    case 8: {
      const subs = p.subscriptions;
      const lens = new Array<number>(subs.length);
      let rem = 2;
      for (let i = 0; i < subs.length; i++) rem += 2 + (lens[i] = strLen(subs[i].topic)) + 1;
      const buf = alloc(0x82, rem);
      let off = putU16(buf, buf.length - rem, p.packetId);
      for (let i = 0; i < subs.length; i++) {
        off = putStr(buf, off, subs[i].topic, lens[i]);
        buf[off++] = subs[i].qos;
      }
      return buf;
    }
    case 9: {
      const rem = 2 + p.granted.length;
      const buf = alloc(0x90, rem);
      let off = putU16(buf, buf.length - rem, p.packetId);
      for (const c of p.granted) buf[off++] = c;
      return buf;
    }
    case 10: {
      const topics = p.topics;
      const lens = new Array<number>(topics.length);
      let rem = 2;
      for (let i = 0; i < topics.length; i++) rem += 2 + (lens[i] = strLen(topics[i]));
      const buf = alloc(0xa2, rem);
      let off = putU16(buf, buf.length - rem, p.packetId);
      for (let i = 0; i < topics.length; i++) off = putStr(buf, off, topics[i], lens[i]);
      return buf;
    }
    case 12:
      return PINGREQ_BYTES;
    case 13:
      return PINGRESP_BYTES;
    case 14:
      return DISCONNECT_BYTES;
    case 15:
      throw new RangeError('AUTH is MQTT 5 only');
  }
}
