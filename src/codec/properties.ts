// MQTT 5 properties (§2.2.2): one table entry per identifier drives both decoding and encoding.
import { ProtocolError, putVbi, vbiSize, type Properties } from './packets.ts';
import { checkUtf8 } from './validate.ts';

// Value types (const enums: esbuild inlines their values).
const enum T {
  BYTE,
  U16,
  U32,
  VBI,
  STR,
  BIN,
  PAIR,
}

// Packet masks: bit N = packet type N; bit 0 stands for the Will properties of CONNECT.
const enum P {
  W = 1,
  CN = 1 << 1,
  CA = 1 << 2,
  PB = 1 << 3,
  ACKS = 0xf << 4, // PUBACK, PUBREC, PUBREL, PUBCOMP
  SB = 1 << 8,
  SA = 1 << 9,
  UA = 1 << 11,
  DC = 1 << 14,
  AU = 1 << 15,
  MSG = W | PB, // application message properties
}

type Name = keyof Properties;
// [name, type, packets]. A fourth element 1 means 0 is not a valid value.
type Def = [Name, number, number, 1?];
// Indexed by identifier; holes are unassigned identifiers.
const DEFS: (Def | undefined)[] = [
  , // 0x00: none
  ['payloadFormatIndicator', T.BYTE, P.MSG], // 0x01
  ['messageExpiryInterval', T.U32, P.MSG], // 0x02
  ['contentType', T.STR, P.MSG], // 0x03
  ,,,, // 0x04-0x07: none
  ['responseTopic', T.STR, P.MSG], // 0x08
  ['correlationData', T.BIN, P.MSG], // 0x09
  , // 0x0a: none
  ['subscriptionIdentifier', T.VBI, P.PB | P.SB, 1], // 0x0b
  ,,,,, // 0x0c-0x10: none
  ['sessionExpiryInterval', T.U32, P.CN | P.CA | P.DC], // 0x11
  ['assignedClientIdentifier', T.STR, P.CA], // 0x12
  ['serverKeepAlive', T.U16, P.CA], // 0x13
  , // 0x14: none
  ['authenticationMethod', T.STR, P.CN | P.CA | P.AU], // 0x15
  ['authenticationData', T.BIN, P.CN | P.CA | P.AU], // 0x16
  ['requestProblemInformation', T.BYTE, P.CN], // 0x17
  ['willDelayInterval', T.U32, P.W], // 0x18
  ['requestResponseInformation', T.BYTE, P.CN], // 0x19
  ['responseInformation', T.STR, P.CA], // 0x1a
  , // 0x1b: none
  ['serverReference', T.STR, P.CA | P.DC], // 0x1c
  ,, // 0x1d-0x1e: none
  ['reasonString', T.STR, P.CA | P.ACKS | P.SA | P.UA | P.DC | P.AU], // 0x1f
  , // 0x20: none
  ['receiveMaximum', T.U16, P.CN | P.CA, 1], // 0x21
  ['topicAliasMaximum', T.U16, P.CN | P.CA], // 0x22
  ['topicAlias', T.U16, P.PB], // 0x23 (0 is checked with the alias: reason 0x94)
  ['maximumQoS', T.BYTE, P.CA], // 0x24
  ['retainAvailable', T.BYTE, P.CA], // 0x25
  ['userProperties', T.PAIR, 0xffff], // 0x26
  ['maximumPacketSize', T.U32, P.CN | P.CA, 1], // 0x27
  ['wildcardSubscriptionAvailable', T.BYTE, P.CA], // 0x28
  ['subscriptionIdentifiersAvailable', T.BYTE, P.CA], // 0x29
  ['sharedSubscriptionAvailable', T.BYTE, P.CA], // 0x2a
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

/** Decoded empty property sections, shared (read-only: frozen so a write fails loudly in tests). */
export const NO_PROPS: Properties = Object.freeze({});

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
    // §2.2.2.2: an identifier not valid for the packet type is a Malformed Packet.
    if (!(mask & (1 << type))) throw malformed(`property ${name} not allowed in packet type ${type}`);
    const many = t === T.PAIR || (t === T.VBI && type === 3);
    if (!many && out[name] !== undefined) throw protocol(`property ${name} repeated`);
    let v: unknown;
    // BYTE, U16, U32: 1, 2, 4 bytes; VBI at least 1; the rest a 2-byte length first.
    const need = t < T.VBI ? 1 << t : t === T.VBI ? 1 : 2;
    if (i + need > end) throw cut(name);
    if (t < T.VBI) {
      v = buf.readUIntBE(i, need);
      i += need;
      if (t === T.BYTE && (v as number) > 1) throw protocol(`property ${name} is ${v as number}, not 0 or 1`);
    } else if (t === T.VBI) {
      const n = readVbi(buf, i, end);
      if (n === 0) throw cut(name);
      i += n;
      v = vbiValue;
    } else {
      // STR, BIN: one length-prefixed field; PAIR: two strings.
      const s = i + 2;
      i = s + buf.readUInt16BE(i);
      if (i > end || (t === T.PAIR && i + 2 > end)) throw cut(name);
      if (t === T.BIN) v = Buffer.from(buf.subarray(s, i));
      else if (t === T.STR) v = str(buf, s, i);
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

const EMPTY = Buffer.alloc(0);

/** Writes a 16-bit length and string `s` at `o` (`b` null: only measures); returns the offset after it. */
function putS(b: Buffer | null, o: number, s: string): number {
  const n = b ? b.write(s, o + 2) : Buffer.byteLength(s);
  if (b) b.writeUInt16BE(n, o);
  return o + 2 + n;
}

/** Writes property `id` of type `t` with value `v` at `o` (`b` null: only measures). */
function put1(b: Buffer | null, o: number, id: number, t: number, v: unknown): number {
  if (b) b[o] = id;
  o++;
  if (t === T.VBI) return b ? putVbi(b, o, v as number) : o + vbiSize(v as number);
  // BYTE, U16, U32: 1, 2, 4 bytes.
  if (t < T.VBI) {
    if (b) b.writeUIntBE(v as number, o, 1 << t);
    return o + (1 << t);
  }
  if (t === T.BIN) {
    if (b) b.writeUInt16BE((v as Buffer).length, o), (v as Buffer).copy(b, o + 2);
    return o + 2 + (v as Buffer).length;
  }
  return t === T.STR ? putS(b, o, v as string) : putS(b, putS(b, o, (v as string[])[0]), (v as string[])[1]);
}

/** Writes all of `p` (`b` null: only measures); returns the size. */
function putAll(p: Properties, b: Buffer | null): number {
  let o = 0;
  for (const name in p) {
    const v = p[name as Name];
    if (v === undefined) continue;
    const id = idOf(name as Name);
    const t = DEFS[id]![1];
    // One value or a list of values (pairs, several subscription ids).
    if (t === T.PAIR || (t === T.VBI && Array.isArray(v))) for (const x of v as unknown[]) o = put1(b, o, id, t, x);
    else o = put1(b, o, id, t, v);
  }
  return o;
}

/**
 * The properties as wire bytes, without the length prefix (the packet encoder adds it, so a
 * message's forwarded properties can be encoded once and joined with per-subscriber ones).
 * Size first, then one allocation. Values are trusted (they come from the broker).
 */
export function encodeProps(p: Properties | undefined): Buffer {
  if (p === undefined) return EMPTY;
  const b = Buffer.allocUnsafe(putAll(p, null));
  putAll(p, b);
  return b;
}
