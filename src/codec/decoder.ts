// Streaming decoder for MQTT 3.1 ('MQIsdp' level 3 CONNECT), 3.1.1 and 5, both directions.
//
// Validates, reporting the rule id of the first violation and then ignoring the stream:
// - fixed header: packet type 0/15 [MQTT-2.2.1], reserved flag bits [MQTT-2.2.2-2, 3.6.1-1,
//   3.8.1-1, 3.10.1-1], remaining length over 4 bytes [MQTT-2.2.3] or over maxPacketSize
//   ('packet-too-large', a broker limit);
// - every packet must exactly fill its remaining length [MQTT-4.8.0-1];
// - UTF-8 strings: well-formed, no U+0000 [MQTT-1.5.3-1, 1.5.3-2];
// - packet identifiers non-zero where present [MQTT-2.3.1-1];
// - PUBLISH: QoS 3 [MQTT-3.3.1-4], DUP with QoS 0 [MQTT-3.3.1-2], topic empty [MQTT-4.7.3-1]
//   or with wildcards [MQTT-3.3.2-2];
// - CONNECT: protocol name [MQTT-3.1.2-1], level (CONNACK 1) [MQTT-3.1.2-2], reserved flag
//   [MQTT-3.1.2-3], will flags [MQTT-3.1.2-13/14/15], password without username [MQTT-3.1.2-22],
//   will topic rules as for PUBLISH;
// - CONNACK reserved ack flags [MQTT-3.2.2-1]; SUBACK return codes [MQTT-3.9.3-2];
// - SUBSCRIBE: at least one filter [MQTT-3.8.3-3], requested QoS byte [MQTT-3-8.3-4];
//   UNSUBSCRIBE: at least one filter [MQTT-3.10.3-2]; filter syntax [MQTT-4.7.1-2, 4.7.1-3].
//
// MQTT 5 (flag MQTT5): a level 5 CONNECT switches the decoder to MQTT 5 for the rest of the
// stream (`v5`). Properties are checked by src/codec/properties.ts; the variable
// headers gain reason codes (a short ack or DISCONNECT means reason 0), SUBSCRIBE gains
// subscription options (reserved bits [MQTT-3.8.3-5], retain handling 3 [MQTT-3.8.3-6]), AUTH
// (type 15) exists, and a password without a username is allowed. The rule of an error decides
// the reason code of the server's DISCONNECT (src/codec/reasons.ts).

import { CONNACK_BAD_PROTOCOL, ProtocolError } from './packets.ts';
import type {
  AckPacket,
  AuthPacket,
  DisconnectPacket,
  Properties,
  ConnackPacket,
  ConnectPacket,
  Packet,
  PublishPacket,
  QoS,
  SubackPacket,
  SubscribePacket,
  Subscription,
  UnsubackPacket,
  UnsubscribePacket,
  Will,
} from './packets.ts';
import { checkUtf8, topicFilterError, topicNameError } from './validate.ts';
import { decodeProps, NO_PROPS, readVbi, vbiValue } from './properties.ts';

/** Largest value a 4-byte remaining length can hold (MQTT 3.1.1 §2.2.3). */
export const MAX_REMAINING_LENGTH = 268435455;

// Required low nibble of the first byte, by packet type. -1: PUBLISH (flags carry meaning);
// -2: reserved type.
const FLAGS = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, -2];
// Exact remaining length of fixed-size packets, checked as soon as the header is read so a
// PINGREQ claiming 100 MB fails without waiting for it; -1: variable.
const FIXED_LEN = [-1, -1, 2, -1, 2, 2, 2, 2, -1, -1, -1, 2, 0, 0, 0, -1];

const err = (rule: string, msg: string, code?: number): ProtocolError => new ProtocolError(rule, msg, code);
const malformed = (msg: string): ProtocolError => err('MQTT-4.8.0-1', msg);
const hex = (n: number): string => `0x${n.toString(16)}`;

// Read cursor of the body parsers. Module-level rather than per-decoder state because parsing
// is synchronous and never interleaves (onPacket runs after a packet is fully parsed), and it
// saves allocating a reader per packet.
let pos = 0;
// MQTT5: whether the packet being parsed belongs to an MQTT 5 stream (set from Decoder.v5), and
// the properties just read (module-level too, so builds without MQTT5 keep no trace of them).
let v5 = false;
let props: Properties | undefined;

function readU16(buf: Buffer, end: number, what: string): number {
  if (pos + 2 > end) throw malformed(`${what} is truncated`);
  const v = (buf[pos] << 8) | buf[pos + 1];
  pos += 2;
  return v;
}

function readId(buf: Buffer, end: number): number {
  const id = readU16(buf, end, 'packet identifier');
  if (id === 0) throw err('MQTT-2.3.1-1', 'packet identifier must be non-zero');
  return id;
}

function readString(buf: Buffer, end: number, what: string): string {
  const len = readU16(buf, end, what);
  const s = pos;
  const e = s + len;
  if (e > end) throw malformed(`${what} is truncated`);
  const bad = checkUtf8(buf, s, e);
  if (bad !== null) {
    throw err(bad, bad === 'MQTT-1.5.3-2' ? `${what} contains U+0000` : `${what} is not well-formed UTF-8`);
  }
  pos = e;
  return buf.toString('utf8', s, e);
}

/** A will topic or topic filter, checked by `check` (topicNameError or topicFilterError). */
function readTopic(buf: Buffer, end: number, what: string, check: (t: string) => string | null): string {
  const t = readString(buf, end, what);
  const bad = check(t);
  if (bad !== null) throw err(bad, `invalid ${what} ${JSON.stringify(t)}`);
  return t;
}

/** MQTT 5: a property length and the properties of a packet of `type` (0: the Will's). An empty
 *  section (the common case) is the shared NO_PROPS: nothing allocated per packet. */
function readProps(buf: Buffer, end: number, type: number): Properties {
  const n = readVbi(buf, pos, end);
  if (n === 0) throw malformed('property length is truncated');
  const s = pos + n;
  const e = s + vbiValue;
  if (e > end) throw malformed('properties run past the packet');
  pos = e;
  return e === s ? NO_PROPS : decodeProps(buf, s, e, type);
}

/** A copy, not a view: will payloads and passwords live as long as the session, and a view
 *  would pin the whole receive chunk in memory. */
function readBinaryCopy(buf: Buffer, end: number, what: string): Buffer {
  const len = readU16(buf, end, what);
  const s = pos;
  if (s + len > end) throw malformed(`${what} is truncated`);
  pos = s + len;
  return Buffer.from(buf.subarray(s, s + len));
}

/** Throws if the first byte of a fixed header is invalid. */
function checkFirstByte(b1: number): void {
  const type = b1 >> 4;
  const flags = b1 & 0x0f;
  const want = FLAGS[type];
  if (want === -1) {
    if ((flags & 0x06) === 0x06) throw err('MQTT-3.3.1-4', 'PUBLISH with QoS 3');
    if ((flags & 0x08) !== 0 && (flags & 0x06) === 0) {
      throw err('MQTT-3.3.1-2', 'PUBLISH with DUP set and QoS 0');
    }
  } else if (want === -2) {
    throw err('MQTT-2.2.1', `reserved packet type ${type}`);
  } else if (flags !== want) {
    // Flags 0b0010 are PUBREL (6), SUBSCRIBE (8) and UNSUBSCRIBE (10): rules MQTT-3.6.1-1 etc.
    const rule = want === 2 ? `MQTT-3.${type}.1-1` : 'MQTT-2.2.2-2';
    throw err(rule, `invalid fixed header flags ${hex(flags)} for packet type ${type}`);
  }
}

function parseConnect(buf: Buffer, start: number, end: number): ConnectPacket {
  pos = start;
  const protocolName = readString(buf, end, 'protocol name');
  const v31 = protocolName === 'MQIsdp';
  if (!v31 && protocolName !== 'MQTT') {
    throw err('MQTT-3.1.2-1', `unknown protocol name ${JSON.stringify(protocolName)}`);
  }
  if (pos >= end) throw malformed('CONNECT is truncated');
  // Checked before anything else in the packet: a CONNECT of a level this build does not speak
  // (MQTT 5 without MQTT5, a future version) must get CONNACK 1, not a malformed-packet close.
  const protocolLevel = buf[pos++];
  // Bit 0x80 is Mosquitto's bridge marker (try_private): 0x83 or 0x84 is a bridge speaking 3.1 or
  // 3.1.1, accepted in builds with BRIDGE. The level is passed on as received.
  if (!(MQTT5 && protocolLevel === 5 && !v31) && (BRIDGE ? protocolLevel & 0x7f : protocolLevel) !== (v31 ? 3 : 4)) {
    throw err('MQTT-3.1.2-2', `unsupported protocol level ${protocolLevel} for ${protocolName}`, CONNACK_BAD_PROTOCOL);
  }
  if (pos >= end) throw malformed('CONNECT is truncated');
  const flags = buf[pos++];
  const keepalive = readU16(buf, end, 'keep alive');
  // MQTT 3.1 has no rules for the reserved bit, nor for will bits without a will (Mosquitto
  // ignores them there too).
  if (flags & 0x01 && !v31) throw err('MQTT-3.1.2-3', 'reserved CONNECT flag is set');
  const willQos = (flags >> 3) & 3;
  if ((flags & 0x04) === 0 && !v31) {
    if (willQos !== 0) throw err('MQTT-3.1.2-13', 'will QoS set without will flag');
    if (flags & 0x20) throw err('MQTT-3.1.2-15', 'will retain set without will flag');
  } else if (willQos === 3) {
    throw err('MQTT-3.1.2-14', 'will QoS 3');
  }
  // MQTT 5 allows a password without a username.
  if ((flags & 0xc0) === 0x40 && !(MQTT5 && protocolLevel === 5)) throw err('MQTT-3.1.2-22', 'password flag set without username flag');
  if (MQTT5) props = protocolLevel === 5 ? readProps(buf, end, 1) : undefined;

  const clientId = readString(buf, end, 'client identifier');
  const p: ConnectPacket = { type: 1, protocolName, protocolLevel, clean: (flags & 0x02) !== 0, keepalive, clientId };
  if (MQTT5 && props) p.properties = props;
  if (flags & 0x04) {
    if (MQTT5 && p.properties) props = readProps(buf, end, 0);
    const topic = readTopic(buf, end, 'will topic', topicNameError);
    const payload = readBinaryCopy(buf, end, 'will message');
    const will: Will = { topic, payload, qos: willQos as QoS, retain: (flags & 0x20) !== 0 };
    if (MQTT5 && p.properties) will.properties = props;
    p.will = will;
  }
  // MQTT 3.1 §3.1: "the Remaining Length field from the fixed header takes precedence over the
  // User Name flag" (and the Password flag): a 3.1 CONNECT may set the flag and omit the field.
  if (flags & 0x80 && !(v31 && pos === end)) p.username = readString(buf, end, 'username');
  if (flags & 0x40 && !(v31 && pos === end)) p.password = readBinaryCopy(buf, end, 'password');
  if (pos !== end) throw malformed('unexpected bytes after CONNECT payload');
  return p;
}

function parseConnack(buf: Buffer, start: number): ConnackPacket {
  const ackFlags = buf[start];
  if (ackFlags & 0xfe) throw err('MQTT-3.2.2-1', 'reserved CONNACK acknowledge flags are set');
  return { type: 2, sessionPresent: ackFlags === 1, returnCode: buf[start + 1] };
}

function parsePublish(b1: number, buf: Buffer, start: number, end: number): PublishPacket {
  pos = start;
  const topic = readString(buf, end, 'topic name');
  const bad = topicNameError(topic);
  // MQTT 5: an empty topic name is allowed with a topic alias (checked below).
  if (bad !== null && !(MQTT5 && v5 && topic === '')) throw err(bad, `invalid topic name ${JSON.stringify(topic)}`);
  const qos = ((b1 >> 1) & 3) as QoS;
  const packetId = qos === 0 ? 0 : readId(buf, end);
  if (MQTT5 && v5) {
    const properties = readProps(buf, end, 3);
    if (topic === '' && properties.topicAlias === undefined) throw err('MQTT-3.3.2-1', 'empty topic name without a topic alias');
    return { type: 3, dup: (b1 & 0x08) !== 0, qos, retain: (b1 & 0x01) !== 0, topic, packetId, payload: buf.subarray(pos, end), properties };
  }
  // A view, not a copy: the broker fans this out without touching the bytes.
  return { type: 3, dup: (b1 & 0x08) !== 0, qos, retain: (b1 & 0x01) !== 0, topic, packetId, payload: buf.subarray(pos, end) };
}

function parseSubscribe(buf: Buffer, start: number, end: number): SubscribePacket {
  pos = start;
  const packetId = readId(buf, end);
  if (MQTT5 && v5) props = readProps(buf, end, 8);
  if (pos === end) throw err('MQTT-3.8.3-3', 'SUBSCRIBE without topic filters');
  const subscriptions: Subscription[] = [];
  while (pos < end) {
    const topic = readTopic(buf, end, 'topic filter', topicFilterError);
    if (pos >= end) throw malformed('SUBSCRIBE topic filter without requested QoS');
    const q = buf[pos++];
    if (MQTT5 && v5) {
      // Options: QoS (bits 0-1), No Local, Retain As Published, Retain Handling (bits 4-5).
      if (q & 0xc0) throw err('MQTT-3.8.3-5', 'reserved subscription option bits are set');
      if ((q & 3) === 3 || (q & 0x30) === 0x30) throw err('MQTT5-3.8.3.1', `invalid subscription options ${hex(q)}`);
      subscriptions.push({ topic, qos: (q & 3) as QoS, noLocal: (q & 4) !== 0, retainAsPublished: (q & 8) !== 0, retainHandling: (q >> 4) as 0 | 1 | 2 });
      continue;
    }
    if (q > 2) throw err('MQTT-3-8.3-4', `invalid requested QoS byte ${hex(q)}`);
    subscriptions.push({ topic, qos: q as QoS });
  }
  const p: SubscribePacket = { type: 8, packetId, subscriptions };
  if (MQTT5 && v5) p.properties = props;
  return p;
}

function parseSuback(buf: Buffer, start: number, end: number): SubackPacket {
  pos = start;
  const packetId = readId(buf, end);
  if (MQTT5 && v5) props = readProps(buf, end, 9);
  // Not numbered in the spec, but a SUBACK answers a SUBSCRIBE, which has at least one filter.
  if (pos === end) throw malformed('SUBACK without return codes');
  const granted: number[] = [];
  for (; pos < end; pos++) {
    const c = buf[pos];
    if (c > 2 && c !== 0x80 && !(MQTT5 && v5 && c > 0x80)) throw err('MQTT-3.9.3-2', `invalid SUBACK return code ${hex(c)}`);
    granted.push(c);
  }
  const p: SubackPacket = { type: 9, packetId, granted };
  if (MQTT5 && v5) p.properties = props;
  return p;
}

function parseUnsubscribe(buf: Buffer, start: number, end: number): UnsubscribePacket {
  pos = start;
  const packetId = readId(buf, end);
  if (MQTT5 && v5) props = readProps(buf, end, 10);
  if (pos === end) throw err('MQTT-3.10.3-2', 'UNSUBSCRIBE without topic filters');
  const topics: string[] = [];
  while (pos < end) {
    topics.push(readTopic(buf, end, 'topic filter', topicFilterError));
  }
  const p: UnsubscribePacket = { type: 10, packetId, topics };
  if (MQTT5 && v5) p.properties = props;
  return p;
}

/** MQTT 5 forms of CONNACK, PUBACK..PUBCOMP, UNSUBACK, DISCONNECT and AUTH. */
function parse5(type: number, buf: Buffer, start: number, end: number): Packet {
  pos = start;
  if (type === 2) {
    if (end - start < 3) throw malformed('CONNACK is truncated');
    const p = parseConnack(buf, start);
    pos += 2;
    p.properties = readProps(buf, end, 2);
    if (pos !== end) throw malformed('unexpected bytes after CONNACK properties');
    return p;
  }
  if (type === 11) {
    const packetId = readId(buf, end);
    const properties = readProps(buf, end, 11);
    if (pos === end) throw malformed('UNSUBACK without reason codes');
    const p: UnsubackPacket = { type: 11, packetId, reasonCodes: [...buf.subarray(pos, end)], properties };
    return p;
  }
  const p = (type < 8 ? { type, packetId: readId(buf, end) } : { type }) as AckPacket | DisconnectPacket | AuthPacket;
  // A missing reason code means 0 (success), missing properties none [MQTT-3.4.2-1 (5.0)].
  p.reasonCode = pos < end ? buf[pos++] : 0;
  if (pos < end) p.properties = readProps(buf, end, type);
  if (pos !== end) throw malformed(`unexpected bytes after packet type ${type}`);
  return p;
}

/** Decodes the body [start, end) of a packet whose fixed header was already validated. */
function parseBody(b1: number, buf: Buffer, start: number, end: number): Packet {
  if (MQTT5 && v5 && ((b1 >= 0x40 && b1 < 0x80) || b1 >> 4 === 2 || b1 >> 4 === 11 || b1 >= 0xe0)) return parse5(b1 >> 4, buf, start, end);
  switch (b1 >> 4) {
    case 1:
      return parseConnect(buf, start, end);
    case 2:
      return parseConnack(buf, start);
    case 3:
      return parsePublish(b1, buf, start, end);
    case 4:
    case 5:
    case 6:
    case 7:
    case 11: {
      pos = start;
      const ack: AckPacket = { type: (b1 >> 4) as AckPacket['type'], packetId: readId(buf, end) };
      return ack;
    }
    case 8:
      return parseSubscribe(buf, start, end);
    case 9:
      return parseSuback(buf, start, end);
    case 10:
      return parseUnsubscribe(buf, start, end);
    default:
      // 12, 13, 14: length already checked to be 0.
      return { type: (b1 >> 4) as 12 | 13 | 14 };
  }
}

/**
 * Splits a byte stream into packets. push() takes ownership of each chunk: PUBLISH payloads and
 * the pieces of a packet split across chunks are views of it, so the caller must not reuse the
 * chunk's memory (Node socket chunks are never reused).
 *
 * Exceptions thrown by onPacket/onError are the caller's own: they propagate out of push() and
 * leave the decoder failed. Anything the decoder itself throws becomes one onError call.
 * Setting `failed` from onPacket (e.g. after DISCONNECT) drops the rest of the input.
 * Not re-entrant: don't call push() from inside onPacket.
 */
export class Decoder {
  /** Set after the first error; further input is ignored. */
  failed = false;
  /** MQTT5: an MQTT 5 stream, set by a level 5 CONNECT (server side) or by the owner (a client). */
  declare v5: boolean;

  // Fixed header split across chunks (at most 4 bytes are ever pending here).
  // Allocated on first use: most connections never see a split header, and an idle connection
  // should cost as little as possible.
  private hdrBuf: Buffer | null = null;
  private hdrLen = 0;
  // Body of a packet whose header is complete but whose body is not: first byte, remaining
  // length (-1 = none pending), and the received pieces (views into chunks, joined once).
  private b1 = 0;
  private bodyLen = -1;
  private parts: Buffer[] = [];
  private got = 0;
  // Remaining length found by the last header() call.
  private rem = 0;
  private inCallback = false;

  constructor(
    private readonly onPacket: (p: Packet) => void,
    private readonly onError: (e: ProtocolError) => void,
    private readonly maxPacketSize = MAX_REMAINING_LENGTH,
  ) {
    if (MQTT5) this.v5 = false;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    try {
      this.consume(chunk);
    } catch (e) {
      if (this.inCallback) {
        this.inCallback = false;
        this.failed = true;
        throw e;
      }
      this.fail(e instanceof ProtocolError ? e : malformed(`undecodable packet (${e instanceof Error ? e.message : String(e)})`));
    }
  }

  private fail(e: ProtocolError): void {
    this.failed = true;
    this.parts = [];
    this.onError(e);
  }

  private emit(p: Packet): void {
    if (MQTT5 && p.type === 1 && p.protocolLevel === 5) this.v5 = v5 = true;
    this.inCallback = true;
    this.onPacket(p);
    this.inCallback = false;
    if (MQTT5) v5 = this.v5; // in case onPacket fed another decoder
  }

  /**
   * Validates the fixed header at buf[off..end). Returns the offset of the body and sets
   * this.rem, or returns -1 if more bytes are needed. Throws on a violation.
   */
  private header(buf: Buffer, off: number, end: number): number {
    const b1 = buf[off];
    // MQTT 5 has AUTH (0xf0; other flags fail as a reserved type).
    if (!(MQTT5 && this.v5 && b1 === 0xf0)) checkFirstByte(b1);
    let i = off + 1;
    let rem = 0;
    let mul = 1;
    for (;;) {
      if (i >= end) return -1;
      const b = buf[i++];
      rem += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      if (i - off === 5) throw err('MQTT-2.2.3', 'remaining length is encoded in more than 4 bytes');
      mul *= 128;
    }
    if (rem > this.maxPacketSize) {
      throw err('packet-too-large', `remaining length ${rem} exceeds the maximum packet size ${this.maxPacketSize}`);
    }
    // MQTT 5: acks, CONNACK and DISCONNECT may carry reason codes and properties.
    // MQTT 5: only PINGREQ and PINGRESP (types 12 and 13) keep a fixed length.
    const fixed = MQTT5 && this.v5 ? (b1 >> 5 === 6 ? 0 : -1) : FIXED_LEN[b1 >> 4];
    if (fixed >= 0 && rem !== fixed) throw malformed(`packet type ${b1 >> 4} with remaining length ${rem}, expected ${fixed}`);
    this.rem = rem;
    return i;
  }

  private consume(chunk: Buffer): void {
    if (MQTT5) v5 = this.v5;
    const end = chunk.length;
    let off = 0;

    // 1. Finish a fixed header left over from earlier chunks, byte by byte (at most 4).
    if (this.hdrLen > 0) {
      while (off < end) {
        const hdr = this.hdrBuf!;
        hdr[this.hdrLen++] = chunk[off++];
        if (this.header(hdr, 0, this.hdrLen) >= 0) {
          this.b1 = hdr[0];
          this.bodyLen = this.rem;
          this.hdrLen = 0;
          break;
        }
      }
      if (this.hdrLen > 0) return;
    }

    // 2. Finish a pending body.
    if (this.bodyLen >= 0) {
      const need = this.bodyLen - this.got;
      const avail = end - off;
      if (avail < need) {
        if (avail > 0) this.parts.push(off === 0 ? chunk : chunk.subarray(off));
        this.got += avail;
        return;
      }
      const b1 = this.b1;
      const len = this.bodyLen;
      let p: Packet;
      if (this.got === 0) {
        // Only the header was split: the body is contiguous in this chunk.
        p = parseBody(b1, chunk, off, off + need);
      } else {
        this.parts.push(chunk.subarray(off, off + need));
        const body = Buffer.concat(this.parts, len);
        p = parseBody(b1, body, 0, len);
      }
      this.parts = [];
      this.got = 0;
      this.bodyLen = -1;
      off += need;
      this.emit(p);
      if (this.failed) return;
    }

    // 3. Whole packets straight from the chunk.
    while (off < end) {
      const bodyStart = this.header(chunk, off, end);
      if (bodyStart < 0) {
        chunk.copy((this.hdrBuf ??= Buffer.alloc(5)), 0, off, end);
        this.hdrLen = end - off;
        return;
      }
      const bodyEnd = bodyStart + this.rem;
      if (bodyEnd > end) {
        this.b1 = chunk[off];
        this.bodyLen = this.rem;
        if (bodyStart < end) this.parts.push(chunk.subarray(bodyStart));
        this.got = end - bodyStart;
        return;
      }
      const p = parseBody(chunk[off], chunk, bodyStart, bodyEnd);
      off = bodyEnd;
      this.emit(p);
      if (this.failed) return;
    }
  }
}
