// MQTT-SN 1.2 codec: one datagram ⇄ one message. Pure (no I/O), strict: anything the spec does
// not allow throws SnError, which the gateway logs before dropping the datagram.
//
// Header (spec 5.2): Length (1 octet, or 0x01 then 2 octets when the message is longer than 255)
// counts the whole message; MsgType is one octet. Flags (5.3.4): DUP bit 7, QoS bits 6-5 (0b11 =
// QoS -1), Retain bit 4, Will bit 3, CleanSession bit 2, TopicIdType bits 1-0.
import { checkUtf8 } from '../../codec/validate.ts';

export const ADVERTISE = 0x00;
export const SEARCHGW = 0x01;
export const GWINFO = 0x02;
export const CONNECT = 0x04;
export const CONNACK = 0x05;
export const WILLTOPICREQ = 0x06;
export const WILLTOPIC = 0x07;
export const WILLMSGREQ = 0x08;
export const WILLMSG = 0x09;
export const REGISTER = 0x0a;
export const REGACK = 0x0b;
export const PUBLISH = 0x0c;
export const PUBACK = 0x0d;
export const PUBCOMP = 0x0e;
export const PUBREC = 0x0f;
export const PUBREL = 0x10;
export const SUBSCRIBE = 0x12;
export const SUBACK = 0x13;
export const UNSUBSCRIBE = 0x14;
export const UNSUBACK = 0x15;
export const PINGREQ = 0x16;
export const PINGRESP = 0x17;
export const DISCONNECT = 0x18;
export const WILLTOPICUPD = 0x1a;
export const WILLTOPICRESP = 0x1b;
export const WILLMSGUPD = 0x1c;
export const WILLMSGRESP = 0x1d;
export const ENCAPSULATED = 0xfe;

/** Return codes (spec 5.3.10). */
export const RC_ACCEPTED = 0;
export const RC_CONGESTION = 1;
export const RC_INVALID_TOPIC_ID = 2;
export const RC_NOT_SUPPORTED = 3;

/** Topic id types (spec 5.3.4, TopicIdType). */
export const TOPIC_NORMAL = 0;
export const TOPIC_PREDEFINED = 1;
export const TOPIC_SHORT = 2;

export type SnQoS = -1 | 0 | 1 | 2;

/**
 * One decoded message. Fields are present for the types that carry them:
 * - gwId: ADVERTISE, GWINFO. duration: ADVERTISE, CONNECT (keep-alive), DISCONNECT (sleep; may be
 *   absent). radius: SEARCHGW, ENCAPSULATED.
 * - flags (dup, qos, retain, will, clean, topicIdType): CONNECT, WILLTOPIC(UPD), PUBLISH,
 *   SUBSCRIBE, SUBACK, UNSUBSCRIBE.
 * - topicId: REGISTER, REGACK, PUBLISH, PUBACK, SUBACK, and SUBSCRIBE/UNSUBSCRIBE with a predefined id.
 * - topic: REGISTER's name, WILLTOPIC(UPD)'s will topic ('' = the empty message, no will),
 *   SUBSCRIBE/UNSUBSCRIBE's name or short name.
 * - payload: PUBLISH data, WILLMSG(UPD), GWINFO's GwAdd, ENCAPSULATED's wireless node id.
 * - inner: ENCAPSULATED's enclosed message, still encoded.
 */
export interface SnPacket {
  type: number;
  gwId?: number;
  duration?: number;
  radius?: number;
  protocolId?: number;
  clientId?: string;
  rc?: number;
  dup?: boolean;
  qos?: SnQoS;
  retain?: boolean;
  will?: boolean;
  clean?: boolean;
  topicIdType?: number;
  topicId?: number;
  msgId?: number;
  topic?: string;
  payload?: Buffer;
  inner?: Buffer;
}

export class SnError extends Error {}

function bad(why: string): never {
  throw new SnError(why);
}

function str(buf: Buffer, start: number, end: number, what: string): string {
  if (checkUtf8(buf, start, end)) bad(`${what} is not valid UTF-8`);
  return buf.toString('utf8', start, end);
}

function decodeFlags(p: SnPacket, f: number, qosMinus1: boolean): void {
  const q = (f >> 5) & 3;
  if (q === 3 && !qosMinus1) bad('QoS -1 is only valid in PUBLISH');
  p.dup = (f & 0x80) !== 0;
  p.qos = q === 3 ? -1 : (q as SnQoS);
  p.retain = (f & 0x10) !== 0;
  p.will = (f & 0x08) !== 0;
  p.clean = (f & 0x04) !== 0;
  p.topicIdType = f & 3;
  if (p.topicIdType === 3) bad('reserved TopicIdType 0b11');
}

export function encodeFlags(p: SnPacket): number {
  const q = p.qos === -1 ? 3 : (p.qos ?? 0);
  return (
    (p.dup ? 0x80 : 0) | (q << 5) | (p.retain ? 0x10 : 0) | (p.will ? 0x08 : 0) | (p.clean ? 0x04 : 0) | (p.topicIdType ?? 0)
  );
}

function rc(b: number): number {
  if (b > RC_NOT_SUPPORTED) bad(`reserved return code ${b}`);
  return b;
}

/** Body length a type requires exactly (-1: variable, checked by the type's case). */
const FIXED: Record<number, number> = {
  [ADVERTISE]: 3, [SEARCHGW]: 1, [CONNACK]: 1, [WILLTOPICREQ]: 0, [WILLMSGREQ]: 0, [REGACK]: 5,
  [PUBACK]: 5, [PUBCOMP]: 2, [PUBREC]: 2, [PUBREL]: 2, [SUBACK]: 6, [UNSUBACK]: 2, [PINGRESP]: 0,
  [WILLTOPICRESP]: 1, [WILLMSGRESP]: 1,
};

/** Decodes one datagram. Throws SnError naming what is wrong. */
export function decode(buf: Buffer): SnPacket {
  if (buf.length < 2) bad(`datagram of ${buf.length} bytes is too short`);
  let len = buf[0];
  let h = 1;
  if (len === 0x01) {
    if (buf.length < 4) bad('3-octet length field cut short');
    len = buf.readUInt16BE(1);
    h = 3;
  }
  if (len !== buf.length) bad(`length field says ${len} bytes, datagram has ${buf.length}`);
  if (len < h + 1) bad(`length ${len} leaves no room for MsgType`);
  const type = buf[h];
  const b = h + 1; // body start
  const n = len - b; // body length
  const p: SnPacket = { type };
  const fixed = FIXED[type];
  if (fixed !== undefined && n !== fixed) bad(`message type 0x${type.toString(16)} needs ${fixed} body bytes, got ${n}`);
  switch (type) {
    case ADVERTISE:
      p.gwId = buf[b];
      p.duration = buf.readUInt16BE(b + 1);
      break;
    case SEARCHGW:
      p.radius = buf[b];
      break;
    case GWINFO:
      if (n < 1) bad('GWINFO without GwId');
      p.gwId = buf[b];
      p.payload = buf.subarray(b + 1, len);
      break;
    case CONNECT:
      if (n < 4) bad(`CONNECT body of ${n} bytes is too short`);
      decodeFlags(p, buf[b], false);
      p.protocolId = buf[b + 1];
      p.duration = buf.readUInt16BE(b + 2);
      p.clientId = str(buf, b + 4, len, 'ClientId');
      break;
    case CONNACK:
    case WILLTOPICRESP:
    case WILLMSGRESP:
      p.rc = rc(buf[b]);
      break;
    case WILLTOPICREQ:
    case WILLMSGREQ:
    case PINGRESP:
      break;
    case WILLTOPIC:
    case WILLTOPICUPD:
      // An empty message (no flags, no topic) deletes the will (spec 5.4.7, 5.4.22).
      if (n === 0) {
        p.topic = '';
        break;
      }
      decodeFlags(p, buf[b], false);
      if (n < 2) bad('will topic is empty');
      p.topic = str(buf, b + 1, len, 'WillTopic');
      break;
    case WILLMSG:
    case WILLMSGUPD:
      p.payload = buf.subarray(b, len);
      break;
    case REGISTER:
      if (n < 5) bad('REGISTER without a topic name');
      p.topicId = buf.readUInt16BE(b);
      p.msgId = buf.readUInt16BE(b + 2);
      p.topic = str(buf, b + 4, len, 'TopicName');
      break;
    case REGACK:
    case PUBACK:
      p.topicId = buf.readUInt16BE(b);
      p.msgId = buf.readUInt16BE(b + 2);
      p.rc = rc(buf[b + 4]);
      break;
    case PUBLISH:
      if (n < 5) bad(`PUBLISH body of ${n} bytes is too short`);
      decodeFlags(p, buf[b], true);
      p.topicId = buf.readUInt16BE(b + 1);
      p.msgId = buf.readUInt16BE(b + 3);
      p.payload = buf.subarray(b + 5, len);
      break;
    case PUBCOMP:
    case PUBREC:
    case PUBREL:
    case UNSUBACK:
      p.msgId = buf.readUInt16BE(b);
      break;
    case SUBSCRIBE:
    case UNSUBSCRIBE:
      if (n < 4) bad(`${type === SUBSCRIBE ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} without a topic`);
      decodeFlags(p, buf[b], false);
      p.msgId = buf.readUInt16BE(b + 1);
      if (p.topicIdType === TOPIC_PREDEFINED) {
        if (n !== 5) bad('predefined topic id must be 2 bytes');
        p.topicId = buf.readUInt16BE(b + 3);
      } else {
        if (p.topicIdType === TOPIC_SHORT && n !== 5) bad('short topic name must be 2 bytes');
        p.topic = str(buf, b + 3, len, 'TopicName');
      }
      break;
    case SUBACK:
      decodeFlags(p, buf[b], false);
      p.topicId = buf.readUInt16BE(b + 1);
      p.msgId = buf.readUInt16BE(b + 3);
      p.rc = rc(buf[b + 5]);
      break;
    case PINGREQ:
      // The optional ClientId marks a sleeping client waking up (spec 5.4.19).
      if (n > 0) p.clientId = str(buf, b, len, 'ClientId');
      break;
    case DISCONNECT:
      if (n !== 0 && n !== 2) bad(`DISCONNECT body must be 0 or 2 bytes, got ${n}`);
      if (n === 2) p.duration = buf.readUInt16BE(b);
      break;
    case ENCAPSULATED:
      // Forwarder encapsulation (spec 5.5): Length covers Ctrl and the node id, the enclosed
      // message follows in the same datagram.
      bad('an encapsulated message must be decoded with decodeEncapsulated()');
    default:
      bad(`reserved message type 0x${type.toString(16)}`);
  }
  return p;
}

/**
 * Forwarder encapsulation (spec 5.5): Length, 0xFE, Ctrl (radius in bits 1-0), Wireless Node Id,
 * then a complete MQTT-SN message. Returns null when `buf` is not encapsulated.
 */
export function decodeEncapsulated(buf: Buffer): SnPacket | null {
  if (buf.length < 2 || buf[0] === 0x01 || buf[1] !== ENCAPSULATED) return null;
  const len = buf[0];
  if (len < 3 || len >= buf.length) bad('encapsulation header length is wrong');
  return { type: ENCAPSULATED, radius: buf[2] & 3, payload: buf.subarray(3, len), inner: buf.subarray(len) };
}

function header(total: number, type: number): { buf: Buffer; at: number } {
  // 1-octet length up to 255 bytes in all, otherwise 0x01 + 2 octets (spec 5.2.1).
  if (total + 1 <= 255) {
    const buf = Buffer.allocUnsafe(total + 1);
    buf[0] = total + 1;
    buf[1] = type;
    return { buf, at: 2 };
  }
  if (total + 3 > 65535) bad(`message of ${total + 3} bytes exceeds the MQTT-SN maximum of 65535`);
  const buf = Buffer.allocUnsafe(total + 3);
  buf[0] = 0x01;
  buf.writeUInt16BE(total + 3, 1);
  buf[3] = type;
  return { buf, at: 4 };
}

/**
 * A message from its body bytes: what the gateway sends, so a bundle carries this instead of the
 * general encode() (which tests and clients use).
 */
export function frame(type: number, body: ArrayLike<number>): Buffer {
  const { buf, at } = header(body.length + 1, type);
  buf.set(body, at);
  return buf;
}

/** PUBLISH, the one message on the hot path: encoded without building an SnPacket. */
export function encodePublish(flags: number, topicId: number, msgId: number, payload: Buffer): Buffer {
  const { buf, at } = header(6 + payload.length, PUBLISH);
  buf[at] = flags;
  buf.writeUInt16BE(topicId, at + 1);
  buf.writeUInt16BE(msgId, at + 3);
  payload.copy(buf, at + 5);
  return buf;
}

/** Largest PUBLISH payload that fits the MQTT-SN length field and a datagram of `max` bytes. */
export function maxPublishPayload(max: number): number {
  return Math.min(max, 65535) - 9;
}

/** Encodes any message (the codec's inverse of decode()). */
export function encode(p: SnPacket): Buffer {
  const t = p.type;
  const id = (v: number | undefined): number => v ?? 0;
  const text = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'utf8');
  let body: Buffer;
  switch (t) {
    case ADVERTISE:
      body = Buffer.from([id(p.gwId), id(p.duration) >> 8, id(p.duration) & 255]);
      break;
    case SEARCHGW:
      body = Buffer.from([id(p.radius)]);
      break;
    case GWINFO:
      body = Buffer.concat([Buffer.from([id(p.gwId)]), p.payload ?? Buffer.alloc(0)]);
      break;
    case CONNECT:
      body = Buffer.concat([Buffer.from([encodeFlags(p), p.protocolId ?? 1, id(p.duration) >> 8, id(p.duration) & 255]), text(p.clientId)]);
      break;
    case CONNACK:
    case WILLTOPICRESP:
    case WILLMSGRESP:
      body = Buffer.from([id(p.rc)]);
      break;
    case WILLTOPIC:
    case WILLTOPICUPD:
      body = p.topic ? Buffer.concat([Buffer.from([encodeFlags(p)]), text(p.topic)]) : Buffer.alloc(0);
      break;
    case WILLMSG:
    case WILLMSGUPD:
      body = p.payload ?? Buffer.alloc(0);
      break;
    case REGISTER:
      body = Buffer.concat([u16s(id(p.topicId), id(p.msgId)), text(p.topic)]);
      break;
    case REGACK:
    case PUBACK:
      body = Buffer.concat([u16s(id(p.topicId), id(p.msgId)), Buffer.from([id(p.rc)])]);
      break;
    case PUBLISH:
      return encodePublish(encodeFlags(p), id(p.topicId), id(p.msgId), p.payload ?? Buffer.alloc(0));
    case PUBCOMP:
    case PUBREC:
    case PUBREL:
    case UNSUBACK:
      body = u16s(id(p.msgId));
      break;
    case SUBSCRIBE:
    case UNSUBSCRIBE:
      body = Buffer.concat([
        Buffer.from([encodeFlags(p)]),
        u16s(id(p.msgId)),
        p.topicIdType === TOPIC_PREDEFINED ? u16s(id(p.topicId)) : text(p.topic),
      ]);
      break;
    case SUBACK:
      body = Buffer.concat([Buffer.from([encodeFlags(p)]), u16s(id(p.topicId), id(p.msgId)), Buffer.from([id(p.rc)])]);
      break;
    case PINGREQ:
      body = text(p.clientId);
      break;
    case DISCONNECT:
      body = p.duration === undefined ? Buffer.alloc(0) : u16s(p.duration);
      break;
    case WILLTOPICREQ:
    case WILLMSGREQ:
    case PINGRESP:
      body = Buffer.alloc(0);
      break;
    case ENCAPSULATED: {
      const node = p.payload ?? Buffer.alloc(0);
      return Buffer.concat([Buffer.from([3 + node.length, ENCAPSULATED, id(p.radius) & 3]), node, p.inner ?? Buffer.alloc(0)]);
    }
    default:
      bad(`cannot encode message type 0x${t.toString(16)}`);
  }
  const { buf, at } = header(body.length + 1, t);
  body.copy(buf, at);
  return buf;
}

function u16s(...v: number[]): Buffer {
  const b = Buffer.allocUnsafe(v.length * 2);
  for (let i = 0; i < v.length; i++) b.writeUInt16BE(v[i], i * 2);
  return b;
}
