// MQTT 5 properties (§2.2.2): one table entry per identifier drives both decoding and encoding.
import { ProtocolError, type Properties } from '../../codec/packets.ts';
import { checkUtf8 } from '../../codec/validate.ts';

// Value types.
const BYTE = 0;
const U16 = 1;
const U32 = 2;
const VBI = 3;
const STR = 4;
const BIN = 5;
const PAIR = 6;

// Packet masks: bit N = packet type N; bit 0 stands for the Will properties of CONNECT.
const W = 1;
const CN = 1 << 1;
const CA = 1 << 2;
const PB = 1 << 3;
const ACKS = 0xf << 4; // PUBACK, PUBREC, PUBREL, PUBCOMP
const SB = 1 << 8;
const SA = 1 << 9;
const UA = 1 << 11;
const DC = 1 << 14;
const AU = 1 << 15;
const MSG = W | PB; // application message properties

type Name = keyof Properties;
// [name, type, packets]. A fourth element 1 means 0 is not a valid value.
type Def = [Name, number, number, 1?];
// Indexed by identifier; holes are unassigned identifiers.
const DEFS: (Def | undefined)[] = [
  , // 0x00: none
  ['payloadFormatIndicator', BYTE, MSG], // 0x01
  ['messageExpiryInterval', U32, MSG], // 0x02
  ['contentType', STR, MSG], // 0x03
  ,,,, // 0x04-0x07: none
  ['responseTopic', STR, MSG], // 0x08
  ['correlationData', BIN, MSG], // 0x09
  , // 0x0a: none
  ['subscriptionIdentifier', VBI, PB | SB, 1], // 0x0b
  ,,,,, // 0x0c-0x10: none
  ['sessionExpiryInterval', U32, CN | CA | DC], // 0x11
  ['assignedClientIdentifier', STR, CA], // 0x12
  ['serverKeepAlive', U16, CA], // 0x13
  , // 0x14: none
  ['authenticationMethod', STR, CN | CA | AU], // 0x15
  ['authenticationData', BIN, CN | CA | AU], // 0x16
  ['requestProblemInformation', BYTE, CN], // 0x17
  ['willDelayInterval', U32, W], // 0x18
  ['requestResponseInformation', BYTE, CN], // 0x19
  ['responseInformation', STR, CA], // 0x1a
  , // 0x1b: none
  ['serverReference', STR, CA | DC], // 0x1c
  ,, // 0x1d-0x1e: none
  ['reasonString', STR, CA | ACKS | SA | UA | DC | AU], // 0x1f
  , // 0x20: none
  ['receiveMaximum', U16, CN | CA, 1], // 0x21
  ['topicAliasMaximum', U16, CN | CA], // 0x22
  ['topicAlias', U16, PB, 1], // 0x23
  ['maximumQoS', BYTE, CA], // 0x24
  ['retainAvailable', BYTE, CA], // 0x25
  ['userProperties', PAIR, 0xffff], // 0x26
  ['maximumPacketSize', U32, CN | CA, 1], // 0x27
  ['wildcardSubscriptionAvailable', BYTE, CA], // 0x28
  ['subscriptionIdentifiersAvailable', BYTE, CA], // 0x29
  ['sharedSubscriptionAvailable', BYTE, CA], // 0x2a
];

const idOf = (name: Name): number => DEFS.findIndex((d) => d?.[0] === name);

const malformed = (msg: string): ProtocolError => new ProtocolError('MQTT-4.8.0-1', msg);
const cut = (name: string): ProtocolError => malformed(`property ${name} is truncated`);
// 'MQTT5-2.2.2.2' (the properties section): a protocol error, see reason.ts.
const protocol = (msg: string): ProtocolError => new ProtocolError('MQTT5-2.2.2.2', msg);

/** Size of the Variable Byte Integer at buf[i], or 0 if truncated; the value goes to `vbiValue`. */
export let vbiValue = 0;
export function readVbi(buf: Buffer, i: number, end: number): number {
  let v = 0;
  let mul = 1;
  for (let n = 1; n <= 4; n++, mul *= 128) {
    if (i >= end) return 0;
    const b = buf[i++];
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      // [MQTT-1.5.5-1] the fewest bytes: a last byte of 0 after the first is an overlong form.
      if (b === 0 && n > 1) throw malformed('overlong variable byte integer');
      vbiValue = v;
      return n;
    }
  }
  throw malformed('variable byte integer longer than 4 bytes');
}

function str(buf: Buffer, s: number, e: number): string {
  const bad = checkUtf8(buf, s, e);
  if (bad !== null) throw new ProtocolError(bad, 'property string is not valid UTF-8');
  return buf.toString('utf8', s, e);
}

/**
 * Decodes the properties in buf[start, end) of a packet of type `type` (0 = Will properties).
 * Unknown or misplaced identifiers, repeats (except user properties, and subscription ids in
 * PUBLISH) and values the spec forbids are errors with the reason code to disconnect with.
 */
export function decodeProps(buf: Buffer, start: number, end: number, type: number): Properties {
  const p: Properties = {};
  const out = p as Record<string, unknown>;
  let i = start;
  while (i < end) {
    const id = buf[i++];
    const def = DEFS[id];
    if (def === undefined) throw malformed(`unknown property 0x${id.toString(16)}`);
    const [name, t, mask, nz] = def;
    if (!(mask & (1 << type))) throw protocol(`property ${name} not allowed in packet type ${type}`);
    const many = t === PAIR || (t === VBI && type === 3);
    if (!many && out[name] !== undefined) throw protocol(`property ${name} repeated`);
    let v: unknown;
    const need = t === BYTE ? 1 : t === U16 ? 2 : t === U32 ? 4 : t === VBI ? 1 : 2;
    if (i + need > end) throw cut(name);
    if (t === BYTE) {
      v = buf[i++];
      if ((v as number) > 1) throw protocol(`property ${name} is ${v as number}, not 0 or 1`);
    } else if (t === U16) {
      v = buf.readUInt16BE(i);
      i += 2;
    } else if (t === U32) {
      v = buf.readUInt32BE(i);
      i += 4;
    } else if (t === VBI) {
      const n = readVbi(buf, i, end);
      if (n === 0) throw cut(name);
      i += n;
      v = vbiValue;
    } else {
      // STR, BIN: one length-prefixed field; PAIR: two strings.
      const s = i + 2;
      i = s + buf.readUInt16BE(i);
      if (i > end || (t === PAIR && i + 2 > end)) throw cut(name);
      if (t === BIN) v = Buffer.from(buf.subarray(s, i));
      else if (t === STR) v = str(buf, s, i);
      else {
        const s2 = i + 2;
        i = s2 + buf.readUInt16BE(i);
        if (i > end) throw cut(name);
        ((out[name] as [string, string][] | undefined) ??= []).push([str(buf, s, s2 - 2), str(buf, s2, i)]);
        continue;
      }
    }
    if (nz && v === 0) throw protocol(`property ${name} is 0`);
    if (many) ((out[name] as number[] | undefined) ??= []).push(v as number);
    else out[name] = v;
  }
  return p;
}

// Not the encoder's remainingLengthBytes: importing the encoder here would reorder the minimal
// bundle (a few bytes bigger without MQTT5).
export const vbiSize = (n: number): number => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4);

/** Writes Variable Byte Integer `n` at `off`; returns the offset after it. */
export function putVbi(buf: Buffer, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[off++] = n;
  return off;
}

const EMPTY = Buffer.alloc(0);

/**
 * The properties as wire bytes, without the length prefix (the packet encoder adds it, so a
 * message's forwarded properties can be encoded once and joined with per-subscriber ones).
 * Size first, then one allocation. Values are trusted (they come from the broker).
 */
export function encodeProps(p: Properties | undefined): Buffer {
  if (p === undefined) return EMPTY;
  let size = 0;
  // One value or a list of values per property (pairs, several subscription ids).
  const each = (name: Name, f: (v: never, t: number) => void): void => {
    const v = p[name] as unknown;
    if (v === undefined) return;
    const t = DEFS[idOf(name)]![1];
    if (t === PAIR || (t === VBI && Array.isArray(v))) for (const x of v as unknown[]) f(x as never, t);
    else f(v as never, t);
  };
  const names = Object.keys(p) as Name[];
  for (const name of names) {
    each(name, (v: unknown, t) => {
      size +=
        1 +
        (t === BYTE ? 1 : t === U16 ? 2 : t === U32 ? 4 : t === VBI ? vbiSize(v as number) : t === BIN ? 2 + (v as Buffer).length
          : t === STR ? 2 + Buffer.byteLength(v as string) : 4 + Buffer.byteLength((v as string[])[0]) + Buffer.byteLength((v as string[])[1]));
    });
  }
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  const put = (s: string): void => {
    const n = buf.write(s, o + 2);
    buf.writeUInt16BE(n, o);
    o += 2 + n;
  };
  for (const name of names) {
    const id = idOf(name);
    each(name, (v: unknown, t) => {
      buf[o++] = id;
      if (t === BYTE) buf[o++] = v as number;
      else if (t === U16) o = buf.writeUInt16BE(v as number, o);
      else if (t === U32) o = buf.writeUInt32BE(v as number, o);
      else if (t === VBI) o = putVbi(buf, o, v as number);
      else if (t === BIN) {
        o = buf.writeUInt16BE((v as Buffer).length, o);
        o += (v as Buffer).copy(buf, o);
      } else if (t === STR) put(v as string);
      else {
        put((v as string[])[0]);
        put((v as string[])[1]);
      }
    });
  }
  return buf;
}
