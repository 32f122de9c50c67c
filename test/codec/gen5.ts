// Seeded random generators of valid MQTT 5 packets (every type, random properties), and the
// conversions to and from mqtt-packet's objects, for the differential and fuzz tests.

import type { Packet as MpPacket } from 'mqtt-packet';
import type { Packet, Properties, QoS, Subscription } from '../../src/codec/packets.ts';
import { bool, bytes, int, payload, pick, topicFilter, topicName, word, type Rng } from './gen.ts';

type Gen = (r: Rng) => unknown;
const flag: Gen = (r) => int(r, 0, 1);
const u16: Gen = (r) => int(r, 0, 65535);
const u16nz: Gen = (r) => int(r, 1, 65535);
const u32: Gen = (r) => (bool(r) ? int(r, 0, 1000) : int(r, 0, 0xffffffff));
const str: Gen = (r) => word(r, 0, 12);
const bin: Gen = (r) => bytes(r, int(r, 0, 20));
// Letters first: mqtt-packet keeps user properties in an object, where integer-like keys reorder;
// values not empty: its parser drops an empty value repeated under one name.
const pairs: Gen = (r) => {
  const out: [string, string][] = [];
  for (let n = int(r, 1, 4); n > 0; n--) out.push([pick(r, ['k', 'a', 'key', 'ü']) + word(r, 0, 2), word(r, 1, 8)]);
  return out;
};

// Packet type → properties it may carry (0 = the Will), with value generators.
const MSG: [keyof Properties, Gen][] = [
  ['payloadFormatIndicator', flag],
  ['messageExpiryInterval', u32],
  ['contentType', str],
  ['responseTopic', (r) => topicName(r)],
  ['correlationData', bin],
  ['userProperties', pairs],
];
const REASON: [keyof Properties, Gen][] = [
  ['reasonString', str],
  ['userProperties', pairs],
];
const ALLOWED: Record<number, [keyof Properties, Gen][]> = {
  0: [...MSG, ['willDelayInterval', u32]],
  1: [
    ['sessionExpiryInterval', u32],
    ['receiveMaximum', u16nz],
    ['maximumPacketSize', (r) => int(r, 1, 0xffffffff)],
    ['topicAliasMaximum', u16],
    ['requestResponseInformation', flag],
    ['requestProblemInformation', flag],
    ['userProperties', pairs],
    ['authenticationMethod', str],
    ['authenticationData', bin],
  ],
  2: [
    ['sessionExpiryInterval', u32],
    ['receiveMaximum', u16nz],
    ['maximumQoS', flag],
    ['retainAvailable', flag],
    ['maximumPacketSize', (r) => int(r, 1, 0xffffffff)],
    ['assignedClientIdentifier', str],
    ['topicAliasMaximum', u16],
    ['reasonString', str],
    ['userProperties', pairs],
    ['wildcardSubscriptionAvailable', flag],
    ['subscriptionIdentifiersAvailable', flag],
    ['sharedSubscriptionAvailable', flag],
    ['serverKeepAlive', u16],
    ['responseInformation', str],
    ['serverReference', str],
    ['authenticationMethod', str],
    ['authenticationData', bin],
  ],
  3: [...MSG, ['topicAlias', u16nz], ['subscriptionIdentifier', (r) => Array.from({ length: int(r, 1, 3) }, () => int(r, 1, 268435455))]],
  4: REASON,
  5: REASON,
  6: REASON,
  7: REASON,
  8: [['subscriptionIdentifier', (r) => int(r, 1, 268435455)], ['userProperties', pairs]],
  9: REASON,
  10: [['userProperties', pairs]],
  11: REASON,
  14: [['sessionExpiryInterval', u32], ['serverReference', str], ...REASON],
  15: [['authenticationMethod', str], ['authenticationData', bin], ...REASON],
};

export function randomProps(r: Rng, type: number): Properties | undefined {
  if (bool(r, 0.2)) return undefined;
  const p: Record<string, unknown> = {};
  for (const [name, gen] of ALLOWED[type]) if (bool(r, 0.3)) p[name] = gen(r);
  return p as Properties;
}

const qos = (r: Rng): QoS => int(r, 0, 2) as QoS;
const id = (r: Rng): number => int(r, 1, 65535);
const codes = (r: Rng, xs: number[]): number[] => Array.from({ length: int(r, 1, 5) }, () => pick(r, xs));

/** A random valid MQTT 5 packet of any type (CONNECT and PUBLISH weighted up). */
export function randomPacket5(r: Rng): Packet {
  const t = pick(r, [1, 1, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] as const);
  const properties = randomProps(r, t === 12 || t === 13 ? 10 : t);
  switch (t) {
    case 1: {
      const clientId = word(r, 0, 23);
      const p: Packet = { type: 1, protocolName: 'MQTT', protocolLevel: 5, clean: clientId === '' || bool(r), keepalive: int(r, 0, 65535), clientId, properties: properties ?? {} };
      if (bool(r, 0.4)) p.will = { topic: topicName(r), payload: bytes(r, int(r, 0, 100)), qos: qos(r), retain: bool(r), properties: randomProps(r, 0) ?? {} };
      if (bool(r)) {
        p.username = word(r, 0, 20);
        // (MQTT 5 allows a password alone; mqtt-packet does not: decoder.test.ts covers it.)
        if (bool(r)) p.password = bytes(r, int(r, 0, 50));
      }
      return p;
    }
    case 2: {
      const returnCode = bool(r) ? 0 : pick(r, [0x80, 0x81, 0x82, 0x84, 0x85, 0x86, 0x87, 0x88, 0x8c, 0x97]);
      return { type: 2, sessionPresent: returnCode === 0 && bool(r), returnCode, properties: properties ?? {} };
    }
    case 3: {
      const q = qos(r);
      return { type: 3, dup: q > 0 && bool(r, 0.2), qos: q, retain: bool(r, 0.2), topic: topicName(r), packetId: q ? id(r) : 0, payload: payload(r), properties: properties ?? {} };
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return { type: t, packetId: id(r), reasonCode: bool(r) ? 0 : pick(r, t === 6 || t === 7 ? [0x92] : [0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]), ...(properties && { properties }) };
    case 8: {
      const subscriptions: Subscription[] = [];
      for (let n = int(r, 1, 5); n > 0; n--) {
        subscriptions.push({ topic: topicFilter(r), qos: qos(r), noLocal: bool(r), retainAsPublished: bool(r), retainHandling: int(r, 0, 2) as 0 | 1 | 2 });
      }
      return { type: 8, packetId: id(r), subscriptions, properties: properties ?? {} };
    }
    case 9:
      return { type: 9, packetId: id(r), granted: codes(r, [0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]), properties: properties ?? {} };
    case 10:
      return { type: 10, packetId: id(r), topics: Array.from({ length: int(r, 1, 5) }, () => topicFilter(r)), properties: properties ?? {} };
    case 11:
      return { type: 11, packetId: id(r), reasonCodes: codes(r, [0, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91]), properties: properties ?? {} };
    case 12:
    case 13:
      return { type: t };
    case 14:
      return { type: 14, reasonCode: bool(r) ? 0 : pick(r, [0x04, 0x80, 0x81, 0x82, 0x8e, 0x95]), ...(properties && { properties }) };
    default:
      return { type: 15, reasonCode: pick(r, [0, 0x18, 0x19]), ...(properties && { properties }) };
  }
}

const BYTE_PROPS = new Set(['payloadFormatIndicator', 'requestProblemInformation', 'requestResponseInformation', 'retainAvailable', 'wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable', 'sharedSubscriptionAvailable']);

/** Our properties → mqtt-packet's: booleans for byte flags, user properties as an object. */
function propsToMp(p: Properties | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'userProperties') {
      const up: Record<string, string | string[]> = {};
      for (const [name, value] of v as [string, string][]) {
        const cur = up[name];
        up[name] = cur === undefined ? value : Array.isArray(cur) ? [...cur, value] : [cur, value];
      }
      o[k] = up;
    } else if (BYTE_PROPS.has(k)) o[k] = v === 1;
    else o[k] = v;
  }
  return o;
}

/** mqtt-packet's properties → ours (user properties grouped by name, as it keeps them). */
function propsFromMp(o: Record<string, unknown> | undefined, type: number): Properties | undefined {
  if (!o) return undefined;
  const p: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'userProperties') {
      const pairs: [string, string][] = [];
      for (const [name, value] of Object.entries(v as Record<string, string | string[]>)) {
        for (const x of Array.isArray(value) ? value : [value]) pairs.push([name, x]);
      }
      p[k] = pairs;
    } else if (BYTE_PROPS.has(k)) p[k] = v ? 1 : 0;
    else if (k === 'subscriptionIdentifier' && type === 3) p[k] = Array.isArray(v) ? v : [v];
    else if (Buffer.isBuffer(v)) p[k] = Buffer.from(v);
    else p[k] = v;
  }
  return p as Properties;
}

const CMD = ['', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth'] as const;

/** Our MQTT 5 packet → mqtt-packet's object. */
export function toMp5(p: Packet): MpPacket {
  const o: Record<string, unknown> = { cmd: CMD[p.type] };
  const q = p as unknown as Record<string, unknown>;
  if ('properties' in p && p.properties) o.properties = propsToMp(p.properties);
  if ('packetId' in p && (p.type !== 3 || p.qos > 0)) o.messageId = p.packetId;
  switch (p.type) {
    case 1:
      Object.assign(o, { protocolId: 'MQTT', protocolVersion: 5, clean: p.clean, keepalive: p.keepalive, clientId: p.clientId });
      if (p.will) o.will = { ...p.will, properties: propsToMp(p.will.properties) };
      if (p.username !== undefined) o.username = p.username;
      if (p.password !== undefined) o.password = p.password;
      break;
    case 2:
      Object.assign(o, { sessionPresent: p.sessionPresent, reasonCode: p.returnCode });
      break;
    case 3:
      Object.assign(o, { topic: p.topic, payload: p.payload, qos: p.qos, dup: p.dup, retain: p.retain });
      break;
    case 8:
      o.subscriptions = p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos, nl: s.noLocal, rap: s.retainAsPublished, rh: s.retainHandling }));
      break;
    case 9:
      o.granted = p.granted;
      break;
    case 10:
      o.unsubscriptions = p.topics;
      break;
    case 11:
      o.granted = q.reasonCodes;
      break;
    default:
      if (q.reasonCode !== undefined) o.reasonCode = q.reasonCode;
  }
  return o as unknown as MpPacket;
}

/** mqtt-packet's parsed object → our packet shape, normalised (see norm5). */
export function fromMp5(m: MpPacket): Packet {
  const o = m as unknown as Record<string, never>;
  const type = CMD.indexOf(m.cmd as (typeof CMD)[number]);
  const properties = propsFromMp(o.properties, type);
  let p: Record<string, unknown>;
  switch (type) {
    case 1:
      p = { type, protocolName: o.protocolId, protocolLevel: o.protocolVersion, clean: o.clean, keepalive: o.keepalive, clientId: o.clientId };
      if (o.will) {
        const w = o.will as Record<string, never>;
        p.will = { topic: w.topic, payload: Buffer.from(w.payload), qos: w.qos, retain: w.retain, properties: propsFromMp(w.properties, 0) };
      }
      if (o.username !== undefined) p.username = o.username;
      if (o.password !== undefined) p.password = Buffer.from(o.password);
      break;
    case 2:
      p = { type, sessionPresent: o.sessionPresent, returnCode: o.reasonCode };
      break;
    case 3:
      p = { type, dup: o.dup, qos: o.qos, retain: o.retain, topic: o.topic, packetId: o.qos ? o.messageId : 0, payload: Buffer.from(o.payload) };
      break;
    case 8:
      p = {
        type,
        packetId: o.messageId,
        subscriptions: (o.subscriptions as Record<string, never>[]).map((s) => ({ topic: s.topic, qos: s.qos, noLocal: s.nl, retainAsPublished: s.rap, retainHandling: s.rh })),
      };
      break;
    case 9:
      p = { type, packetId: o.messageId, granted: o.granted };
      break;
    case 10:
      p = { type, packetId: o.messageId, topics: o.unsubscriptions };
      break;
    case 11:
      p = { type, packetId: o.messageId, reasonCodes: o.granted };
      break;
    case 12:
    case 13:
      p = { type };
      break;
    default:
      p = { type, reasonCode: o.reasonCode };
      if (type < 8) p.packetId = o.messageId;
  }
  if (properties) p.properties = properties;
  return p as unknown as Packet;
}

/**
 * A packet as plain comparable data: empty properties dropped, a missing reason code is 0, user
 * properties grouped by name in order of first appearance (mqtt-packet keeps them in an object;
 * our own round trip keeps the exact order, checked separately), one subscription id in
 * PUBLISH as a list.
 */
export function norm5(p: unknown, group = true): unknown {
  const walk = (v: unknown, key = ''): unknown => {
    if (Buffer.isBuffer(v)) return v.toString('hex');
    if (key === 'userProperties' && group) {
      const byName = new Map<string, string[]>();
      for (const [k, x] of v as [string, string][]) byName.set(k, [...(byName.get(k) ?? []), x]);
      return [...byName].flatMap(([k, xs]) => xs.map((x) => [k, x]));
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v !== null && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (x === undefined) continue;
        if (k === 'properties' && Object.keys(x as object).length === 0) continue;
        o[k] = walk(x, k);
      }
      const t = (v as { type?: number }).type;
      if (t !== undefined && ((t >= 4 && t <= 7) || t === 14 || t === 15)) o.reasonCode ??= 0;
      return o;
    }
    return v;
  };
  return walk(p);
}
