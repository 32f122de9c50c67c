// MQTT 3.1 / 3.1.1 and MQTT 5 encoder. Every function computes the exact size first and fills a
// single Buffer.allocUnsafe() by offset: no intermediate buffers, no concatenation (MQTT 5
// properties are encoded to their own buffer first, see encodeProps).
// Inputs are trusted (they come from the broker, not the wire); only overflows that would
// corrupt the framing are checked.

import type { DisconnectPacket, Packet, Properties, QoS, SubscribePacket, Subscription, UnsubackPacket } from './packets.ts';
import { putVbi, vbiSize as remainingLengthBytes } from './packets.ts';
import { encodeProps } from './properties.ts';

/** Bytes needed to encode remaining length `n`. */
export { remainingLengthBytes };

/** Shared constant packets. Never mutate them. */
export const PINGREQ_BYTES: Buffer = Buffer.from([0xc0, 0]);
export const PINGRESP_BYTES: Buffer = Buffer.from([0xd0, 0]);
export const DISCONNECT_BYTES: Buffer = Buffer.from([0xe0, 0]);

function alloc(b1: number, rem: number): Buffer {
  // The largest remaining length (4 bytes of 7 bits), as a literal: esbuild does not inline a
  // const of a module that imports at run time, and this module imports the MQTT 5 properties.
  if (rem > 268435455) throw new RangeError(`packet too large: remaining length ${rem}`);
  const buf = Buffer.allocUnsafe(1 + remainingLengthBytes(rem) + rem);
  buf[0] = b1;
  putVbi(buf, 1, rem);
  return buf;
}

/** MQTT 5: bytes of a property block (length prefix and properties). */
const propsSize = (b: Buffer): number => remainingLengthBytes(b.length) + b.length;

function putProps(buf: Buffer, off: number, b: Buffer): number {
  off = putVbi(buf, off, b.length);
  return off + b.copy(buf, off);
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

/**
 * MQTT 5 PUBLISH. `props` are the message's property bytes (encodeProps), encoded once per
 * message; `extra` the per-subscriber ones (subscription ids, topic alias), if any.
 */
export function encodePublish5(
  topic: string,
  payload: Buffer,
  qos: QoS,
  retain: boolean,
  dup: boolean,
  packetId: number,
  props: Buffer,
  extra?: Buffer,
): Buffer {
  const tlen = strLen(topic);
  const plen = props.length + (extra ? extra.length : 0);
  const rem = 2 + tlen + (qos === 0 ? 0 : 2) + remainingLengthBytes(plen) + plen + payload.length;
  const buf = alloc(0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0), rem);
  let off = putStr(buf, buf.length - rem, topic, tlen);
  if (qos !== 0) off = putU16(buf, off, packetId);
  off = putVbi(buf, off, plen);
  off += props.copy(buf, off);
  if (extra) off += extra.copy(buf, off);
  payload.copy(buf, off);
  return buf;
}

/**
 * MQTT 5 PUBACK..PUBCOMP (packetId > 0), DISCONNECT and AUTH (packetId 0). The reason code and
 * the properties are left out when 0 and empty, as the spec allows [MQTT-3.4.2.1 (5.0)].
 */
export function encodeReason(type: number, packetId: number, reason: number, props?: Properties): Buffer {
  const pb = encodeProps(props);
  const idLen = packetId ? 2 : 0;
  const rem = idLen + (pb.length ? 1 + propsSize(pb) : reason ? 1 : 0);
  const buf = alloc((type << 4) | (type === 6 ? 2 : 0), rem);
  let off = buf.length - rem;
  if (packetId) off = putU16(buf, off, packetId);
  if (rem > idLen) buf[off++] = reason;
  if (pb.length) putProps(buf, off, pb);
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

const subOptions = (s: Subscription): number =>
  s.qos | (s.noLocal ? 4 : 0) | (s.retainAsPublished ? 8 : 0) | ((s.retainHandling ?? 0) << 4);

/** SUBACK and MQTT 5 UNSUBACK: packet id, properties, one reason code per filter. */
function encodeCodes(type: number, packetId: number, codes: number[], props: Properties | undefined): Buffer {
  if (MQTT5 && v5) pb = encodeProps(props);
  const rem = 2 + (MQTT5 && v5 ? propsSize(pb) : 0) + codes.length;
  const buf = alloc(type << 4, rem);
  let off = putU16(buf, buf.length - rem, packetId);
  if (MQTT5 && v5) off = putProps(buf, off, pb);
  for (const c of codes) buf[off++] = c;
  return buf;
}

// MQTT5: whether encode() writes MQTT 5 forms (set by encode5), and its property blocks;
// module-level so that builds without MQTT5 keep no trace of them.
let v5 = false;
let pb: Buffer;
let wb: Buffer;

/** MQTT 5 forms of `p` (a CONNECT's form follows its protocol level, whichever is called). */
export function encode5(p: Packet): Buffer {
  v5 = true;
  try {
    return encode(p);
  } finally {
    v5 = false;
  }
}

export function encode(p: Packet): Buffer {
  switch (p.type) {
    case 1: {
      if (MQTT5 && !v5 && p.protocolLevel === 5) return encode5(p);
      if (MQTT5 && v5) {
        pb = encodeProps(p.properties);
        wb = encodeProps(p.will?.properties);
      }
      const nlen = strLen(p.protocolName);
      const clen = strLen(p.clientId);
      let rem = 2 + nlen + 1 + 1 + 2 + 2 + clen;
      if (MQTT5 && v5) rem += propsSize(pb);
      let flags = p.clean ? 0x02 : 0;
      let wlen = 0;
      if (p.will) {
        wlen = strLen(p.will.topic);
        rem += 2 + wlen + 2 + binLen(p.will.payload);
        if (MQTT5 && v5) rem += propsSize(wb);
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
      if (MQTT5 && v5) off = putProps(buf, off, pb);
      off = putStr(buf, off, p.clientId, clen);
      if (p.will) {
        if (MQTT5 && v5) off = putProps(buf, off, wb);
        off = putStr(buf, off, p.will.topic, wlen);
        off = putBin(buf, off, p.will.payload);
      }
      if (p.username !== undefined) off = putStr(buf, off, p.username, ulen);
      if (p.password !== undefined) putBin(buf, off, p.password);
      return buf;
    }
    case 2: {
      if (MQTT5 && v5) pb = encodeProps(p.properties);
      const rem = MQTT5 && v5 ? 2 + propsSize(pb) : 2;
      const buf = alloc(0x20, rem);
      const off = buf.length - rem;
      buf[off] = p.sessionPresent ? 1 : 0;
      buf[off + 1] = p.returnCode;
      if (MQTT5 && v5) putProps(buf, off + 2, pb);
      return buf;
    }
    case 3:
      if (MQTT5 && v5) return encodePublish5(p.topic, p.payload, p.qos, p.retain, p.dup, p.packetId, encodeProps(p.properties));
      return encodePublish(p.topic, p.payload, p.qos, p.retain, p.dup, p.packetId);
    case 4:
    case 5:
    case 6:
    case 7:
    case 11:
      if (MQTT5 && v5) {
        if (p.type === 11) return encodeCodes(11, p.packetId, (p as UnsubackPacket).reasonCodes, p.properties);
        return encodeReason(p.type, p.packetId, p.reasonCode ?? 0, p.properties);
      }
      return encodeAck(p.type, p.packetId);
    case 8:
    case 10: {
      const sub = p.type === 8;
      const subs = (p as SubscribePacket).subscriptions;
      const topics = sub ? subs.map((s) => s.topic) : p.topics;
      if (MQTT5 && v5) pb = encodeProps(p.properties);
      const lens = topics.map(strLen);
      let rem = 2 + (sub ? topics.length : 0);
      if (MQTT5 && v5) rem += propsSize(pb);
      for (const n of lens) rem += 2 + n;
      const buf = alloc(sub ? 0x82 : 0xa2, rem);
      let off = putU16(buf, buf.length - rem, p.packetId);
      if (MQTT5 && v5) off = putProps(buf, off, pb);
      for (let i = 0; i < topics.length; i++) {
        off = putStr(buf, off, topics[i], lens[i]);
        // MQTT 5 options: No Local, Retain As Published, Retain Handling above the QoS bits.
        if (sub) buf[off++] = MQTT5 && v5 ? subOptions(subs[i]) : subs[i].qos;
      }
      return buf;
    }
    case 9:
      return encodeCodes(9, p.packetId, p.granted, p.properties);
    case 12:
      return PINGREQ_BYTES;
    case 13:
      return PINGRESP_BYTES;
    default:
      // DISCONNECT; MQTT 5 also AUTH.
      if (MQTT5 && (v5 || p.type === 15)) return encodeReason(p.type, 0, (p as DisconnectPacket).reasonCode ?? 0, (p as DisconnectPacket).properties);
      return DISCONNECT_BYTES;
  }
}
