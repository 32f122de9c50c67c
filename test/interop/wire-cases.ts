// The exchanges of the wire differential harness (wire-diff.test.ts): raw packets a client sends,
// and how many packets each client then waits for. What the brokers answer is not written here:
// the harness compares Debian's mosquitto and Midge with each other.
//
// Every case gets its own token `u` (from its name) for client ids and topics, so cases can run
// side by side on one broker. Waits must name exactly the packets a broker sends in that step
// (a PINGREQ after a QoS 0 PUBLISH makes "nothing more came" an event), since what arrives later
// counts in a later step.
//
// DELIBERATE lists the cases where Midge differs on purpose, each with the spec statement that
// allows it (or that Mosquitto does not follow) and why; docs/wire-differences.md shows the bytes.
import {
  auth,
  cat,
  connect,
  type ConnectSpec,
  DISCONNECT,
  disconnect5,
  P,
  PINGREQ,
  pkt,
  prop,
  props,
  puback,
  pubcomp,
  publish,
  publish5,
  pubrec,
  pubrel,
  type Step,
  subscribe,
  subscribe5,
  u16,
  unsubscribe,
  unsubscribe5,
  type WireCase,
} from '../helpers/wire.ts';

/** A short token unique to a case name (FNV-1a, base 36): client ids stay within MQTT 3.1's 23 characters. */
export function tokenOf(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return 'w' + h.toString(36).padStart(7, '0');
}

type V = 3 | 4 | 5;
const VS: V[] = [3, 4, 5];
const V4_5: V[] = [4, 5];
const NAME: Record<V, string> = { 3: 'MQTT 3.1', 4: 'MQTT 3.1.1', 5: 'MQTT 5' };

/**
 * Normalisation: an identifier the broker assigned to a client with an empty client id
 * [MQTT-3.2.2-16] is random in both brokers ('auto-' and a UUID, 41 characters in both); its
 * characters are replaced, its length and position kept.
 */
const assignedId = (p: Buffer): Buffer =>
  Buffer.from(p.toString('latin1').replace(/auto-[0-9A-Fa-f-]{36}/g, 'auto-' + 'x'.repeat(36)), 'latin1');

/**
 * Normalisation: the Message Expiry Interval a broker forwards is the time left, counted on its
 * own clock, which may tick between receipt and delivery; both brokers' values are rounded to
 * the nearest 10 s (a message's whole interval is a multiple of 10 in these cases).
 */
function expiryRounded(p: Buffer): Buffer {
  if (p[0] >> 4 !== 3) return p;
  let i = 1;
  while (p[i++] & 0x80);
  i += 2 + p.readUInt16BE(i) + (p[0] & 6 ? 2 : 0);
  let len = 0;
  for (let mul = 1; ; mul *= 128) {
    const b = p[i++];
    len += (b & 0x7f) * mul;
    if (!(b & 0x80)) break;
  }
  const out = Buffer.from(p);
  // Sizes of the property values these cases use: 1 byte, 4 bytes, or a 2-byte length first.
  for (const end = i + len; i < end; ) {
    const id = out[i++];
    if (id === P.messageExpiry) out.writeUInt32BE(Math.round(out.readUInt32BE(i) / 10) * 10, i);
    if (id === P.payloadFormat) i += 1;
    else if (id === P.messageExpiry) i += 4;
    else if (id === P.topicAlias) i += 2;
    else if (id === P.subscriptionId) while (out[i++] & 0x80);
    else if (id === 0x26) i += 4 + out.readUInt16BE(i) + out.readUInt16BE(i + 2 + out.readUInt16BE(i));
    else i += 2 + out.readUInt16BE(i);
  }
  return out;
}

// ---- step shorthands ----

/** Client c sends `send` and waits for `want` packets of its own (and `also` of others'). */
const s = (c: number, send: Buffer, want = 0, also?: Record<number, number>): Step => ({ c, send, want, also });
/** Client c sends `send` and waits for the broker to close the connection (and for `also`). */
const closes = (c: number, send: Buffer, also?: Record<number, number>): Step => ({ c, send, close: true, also });
/**
 * Client c sends `bad` and a PINGREQ, and waits for one packet or the close: a broker that lets
 * `bad` pass answers the PINGREQ, one that does not closes the connection (MQTT 5: after a
 * DISCONNECT), and neither makes the harness wait out a timeout.
 */
const probe = (c: number, bad: Buffer): Step => s(c, cat(bad, PINGREQ), 1);
/** Client c connects (CONNACK awaited). */
const up = (c: number, spec: ConnectSpec): Step => s(c, connect(spec), 1);
/** A PINGREQ on client c: its PINGRESP proves everything sent before was handled. */
const ping = (c: number, also?: Record<number, number>): Step => s(c, PINGREQ, 1, also);
/** Client c closes its socket without DISCONNECT. */
const drop = (c: number, also?: Record<number, number>): Step => ({ c, drop: true, also });
/** Client c connects (CONNACK awaited) and takes over the session of connection `old`, which the broker closes. */
const takeover = (c: number, spec: ConnectSpec, old: number, also?: Record<number, number>): Step => ({ c, send: connect(spec), want: 1, also, shut: [old] });

/** SUBSCRIBE in the form of version v (options byte = QoS unless given). */
const sub = (v: V, id: number, filters: [string | Buffer, number][]): Buffer => (v === 5 ? subscribe5(id, filters) : subscribe(id, filters));
const unsub = (v: V, id: number, filters: string[]): Buffer => (v === 5 ? unsubscribe5(id, filters) : unsubscribe(id, filters));
/** PUBLISH in the form of version v (MQTT 5: empty properties unless given). */
const pub = (v: V, p: Parameters<typeof publish>[0]): Buffer => (v === 5 ? publish5(p) : publish(p));
/** A client of version v connected as `id` and subscribed to `filters` (SUBACK awaited). */
const subscriber = (c: number, v: V, id: string, filters: [string, number][], spec: Partial<ConnectSpec> = {}): Step[] => [
  up(c, { v, id, ...spec }),
  s(c, sub(v, 1, filters), 1),
];
/** Session expiry for MQTT 5 persistent sessions. */
const expiry = (n: number): Buffer => props(prop.u32(P.sessionExpiry, n));
const persistent = (v: V): Partial<ConnectSpec> => (v === 5 ? { clean: false, props: expiry(600) } : { clean: false });

const CASES_: WireCase[] = [];
function add(name: string, steps: (u: string) => Step[], extra: Partial<WireCase> = {}): void {
  CASES_.push({ name, steps, ...extra });
}

// ======== CONNECT ========

for (const v of VS) {
  const n = NAME[v];
  add(`CONNECT ${n}, clean session: CONNACK accepted, session present 0 [MQTT-3.2.2-1]`, (u) => [up(1, { v, id: u })]);
  add(`CONNECT ${n}, persistent session, new: session present 0 [MQTT-3.2.2-3]`, (u) => [up(1, { v, id: u, ...persistent(v) })]);
  add(`CONNECT ${n}, persistent session resumed after DISCONNECT: session present [MQTT-3.2.2-2]`, (u) => [
    up(1, { v, id: u, ...persistent(v) }),
    closes(1, DISCONNECT),
    up(2, { v, id: u, ...persistent(v) }),
  ]);
  add(`CONNECT ${n}, keep alive 0`, (u) => [up(1, { v, id: u, keepalive: 0 })]);
  add(`CONNECT ${n}, empty client id, clean session [MQTT-3.1.3-6]`, (u) => [s(1, connect({ v, id: '' }), 1), ping(1)], { norm: [assignedId] });
  add(`CONNECT ${n}, empty client id, persistent session [MQTT-3.1.3-8]`, (u) => [s(1, connect({ v, id: '', clean: false }), 1), ping(1)], {
    norm: [assignedId],
  });
  add(`CONNECT ${n}, reserved flag set: closed without CONNACK [MQTT-3.1.2-3]`, (u) => [closes(1, connect({ v, id: u, orFlags: 0x01 }))]);
  add(`CONNECT ${n}, will QoS 3 [MQTT-3.1.2-14]`, (u) => [closes(1, connect({ v, id: u, will: { topic: `${u}/w`, qos: 3 } }))]);
  add(`CONNECT ${n}, will QoS 1 without will flag [MQTT-3.1.2-13]`, (u) => [closes(1, connect({ v, id: u, orFlags: 0x08 }))]);
  add(`CONNECT ${n}, will retain without will flag [MQTT-3.1.2-15]`, (u) => [closes(1, connect({ v, id: u, orFlags: 0x20 }))]);
  add(`CONNECT ${n}, will QoS 2 retained accepted`, (u) => [up(1, { v, id: u, will: { topic: `${u}/w`, payload: 'gone', qos: 2, retain: true } })]);
  add(`CONNECT ${n}, username without password [MQTT-3.1.2-19]`, (u) => [up(1, { v, id: u, user: 'alice' })]);
  add(`CONNECT ${n}, username and password`, (u) => [up(1, { v, id: u, user: 'alice', pass: 'secret' })]);
  add(`CONNECT ${n}, password without username [MQTT-3.1.2-22]`, (u) => [s(1, connect({ v, id: u, pass: 'secret' }), 1), ping(1)]);
  add(`CONNECT ${n}, will topic with a wildcard [MQTT-3.3.2-2]`, (u) => [closes(1, connect({ v, id: u, will: { topic: `${u}/#` } }))]);
  add(`CONNECT ${n}, empty will topic [MQTT-4.7.3-1]`, (u) => [closes(1, connect({ v, id: u, will: { topic: '' } }))]);
  add(`CONNECT ${n}, client id field runs past the packet [MQTT-4.8.0-1]`, (u) => {
    // The last two bytes of the client id cut off, and the remaining length with them.
    const c = connect({ v, id: u }).subarray(0, -2);
    c[1] -= 2;
    return [closes(1, c)];
  });
  add(`CONNECT ${n}, bytes after the payload [MQTT-4.8.0-1]`, (u) => [closes(1, connect({ v, id: u, tail: [0, 0] }))]);
  add(`CONNECT ${n}, client id not valid UTF-8 [MQTT-1.5.3-1]`, (u) => [closes(1, connect({ v, id: Buffer.from([0x61, 0xc3, 0x28]) as unknown as string }))]);
  add(`PINGREQ ${n}: PINGRESP [MQTT-3.12.4-1]`, (u) => [up(1, { v, id: u }), ping(1), ping(1)]);
  add(`second CONNECT ${n} on one connection: closed [MQTT-3.1.0-2]`, (u) => [up(1, { v, id: u }), closes(1, connect({ v, id: u }))]);
}

add('CONNECT MQTT 3.1, client id of 23 characters', () => [up(1, { v: 3, id: 'abcdefghijklmnopqrstuvw' }), closes(1, DISCONNECT)]);
add('CONNECT MQTT 3.1, client id of 24 characters: identifier rejected', (u) => [s(1, connect({ v: 3, id: `${u}0123456789abcdef` }), 1), ping(1)]);
add('CONNECT MQTT 3.1.1, client id of 200 characters', (u) => [up(1, { v: 4, id: u + 'x'.repeat(192) })]);
add('CONNECT MQTT 3.1.1, client id of multi-byte UTF-8', (u) => [up(1, { v: 4, id: `${u}-ü€😀` })]);
add('CONNECT MQTT 3.1.1, client id with U+0000 [MQTT-1.5.3-2]', (u) => [closes(1, connect({ v: 4, id: `${u}\u0000` }))]);
add('CONNECT protocol name MQTX: closed [MQTT-3.1.2-1]', (u) => [closes(1, connect({ v: 4, id: u, name: 'MQTX' }))]);
add('CONNECT protocol name mqtt in lower case [MQTT-3.1.2-1]', (u) => [closes(1, connect({ v: 4, id: u, name: 'mqtt' }))]);
add('CONNECT "MQTT" level 3: CONNACK 1 [MQTT-3.1.2-2]', (u) => [s(1, connect({ v: 4, id: u, level: 3 }), 1), ping(1)]);
add('CONNECT "MQTT" level 6: CONNACK 1 [MQTT-3.1.2-2]', (u) => [s(1, connect({ v: 4, id: u, level: 6 }), 1), ping(1)]);
add('CONNECT "MQTT" level 0 [MQTT-3.1.2-2]', (u) => [s(1, connect({ v: 4, id: u, level: 0 }), 1), ping(1)]);
add('CONNECT "MQIsdp" level 4 [MQTT-3.1.2-2]', (u) => [s(1, connect({ v: 3, id: u, level: 4 }), 1), ping(1)]);
add('CONNECT "MQIsdp" level 5 [MQTT-3.1.2-2]', (u) => [s(1, connect({ v: 3, id: u, level: 5 }), 1), ping(1)]);
add('CONNECT "MQTT" level 6 with MQTT 5 properties: CONNACK 1', (u) => [s(1, connect({ v: 5, id: u, level: 6 }), 1), ping(1)]);
add('CONNECT with remaining length 0', () => [closes(1, Buffer.from([0x10, 0]))]);
add('CONNECT with flags 0x11 in the fixed header [MQTT-2.2.2-2]', (u) => {
  const c = connect({ v: 4, id: u });
  c[0] = 0x11;
  return [closes(1, c)];
});
// The username flag set and no username: MQTT 3.1 lets the remaining length decide (3.1 §3.1).
add('CONNECT MQTT 3.1, username flag with the field left out (3.1 §3.1)', (u) => [s(1, connect({ v: 3, id: u, orFlags: 0x80 }), 1), ping(1)]);
add('CONNECT MQTT 3.1.1, username flag with the field left out [MQTT-3.1.2-19]', (u) => [closes(1, connect({ v: 4, id: u, orFlags: 0x80 }))]);

// MQTT 5 CONNECT properties.
const c5 = (u: string, ...ps: Buffer[]): Buffer => connect({ v: 5, id: u, props: props(...ps) });
add('CONNECT MQTT 5, session expiry 0xFFFFFFFF', (u) => [up(1, { v: 5, id: u, clean: false, props: expiry(0xffffffff) }), closes(1, DISCONNECT)]);
add('CONNECT MQTT 5, user property and request problem information 0', (u) => [s(1, c5(u, prop.user('k', 'v'), prop.byte(P.requestProblemInfo, 0)), 1)]);
add('CONNECT MQTT 5, request response information 1', (u) => [s(1, c5(u, prop.byte(P.requestResponseInfo, 1)), 1)]);
add('CONNECT MQTT 5, receive maximum 0: protocol error', (u) => [closes(1, c5(u, prop.u16(P.receiveMaximum, 0)))]);
add('CONNECT MQTT 5, maximum packet size 0: protocol error', (u) => [closes(1, c5(u, prop.u32(P.maximumPacketSize, 0)))]);
add('CONNECT MQTT 5, session expiry given twice: protocol error', (u) => [closes(1, c5(u, prop.u32(P.sessionExpiry, 1), prop.u32(P.sessionExpiry, 2)))]);
add('CONNECT MQTT 5, payload format indicator (a PUBLISH property): protocol error', (u) => [closes(1, c5(u, prop.byte(P.payloadFormat, 1)))]);
add('CONNECT MQTT 5, unknown property 0x7F: malformed', (u) => [closes(1, c5(u, Buffer.from([0x7f, 0])))]);
add('CONNECT MQTT 5, request problem information 2: protocol error', (u) => [closes(1, c5(u, prop.byte(P.requestProblemInfo, 2)))]);
add('CONNECT MQTT 5, property length past the packet: malformed', (u) => [closes(1, connect({ v: 5, id: u, props: Buffer.from([0x05, 0x11, 0, 0]) }))]);
add('CONNECT MQTT 5, topic alias maximum 5', (u) => [s(1, c5(u, prop.u16(P.topicAliasMaximum, 5)), 1)]);
add('CONNECT MQTT 5, receive maximum 1 and maximum packet size 1000', (u) => [s(1, c5(u, prop.u16(P.receiveMaximum, 1), prop.u32(P.maximumPacketSize, 1000)), 1)]);
add('CONNECT MQTT 5, authentication method unknown to the server: CONNACK 0x8C', (u) => [s(1, c5(u, prop.str(P.authMethod, 'SCRAM-SHA-1')), 1), ping(1)]);
add('CONNECT MQTT 5, will with properties (delay, content type, user property)', (u) => [
  up(1, { v: 5, id: u, will: { topic: `${u}/w`, payload: 'x', props: props(prop.u32(P.willDelay, 0), prop.str(P.contentType, 'text/plain'), prop.user('a', 'b')) } }),
]);
add('CONNECT MQTT 5, will property not allowed in a will (session expiry): protocol error', (u) => [
  closes(1, connect({ v: 5, id: u, will: { topic: `${u}/w`, props: props(prop.u32(P.sessionExpiry, 1)) } })),
]);

// ======== packets before CONNECT, from the wrong direction, malformed framing ========

add('PUBLISH before CONNECT: closed [MQTT-3.1.0-1]', (u) => [closes(1, publish({ topic: `${u}/t`, payload: 'x' }))]);
add('SUBSCRIBE before CONNECT: closed [MQTT-3.1.0-1]', (u) => [closes(1, subscribe(1, [[`${u}/t`, 0]]))]);
add('PINGREQ before CONNECT: closed [MQTT-3.1.0-1]', () => [closes(1, PINGREQ)]);
add('DISCONNECT before CONNECT: closed [MQTT-3.1.0-1]', () => [closes(1, DISCONNECT)]);
add('AUTH before CONNECT: closed [MQTT-3.1.0-1]', () => [closes(1, auth(0x18, Buffer.from([0])))]);
add('CONNACK before CONNECT: closed [MQTT-3.1.0-1]', () => [closes(1, Buffer.from([0x20, 2, 0, 0]))]);
add('reserved packet type 0 before CONNECT: closed [MQTT-2.2.1]', () => [closes(1, Buffer.from([0x00, 0]))]);
add('CONNECT split into single bytes', (u) => {
  const c = connect({ v: 4, id: u });
  return [...c.subarray(0, -1)].map((b) => s(1, Buffer.from([b]))).concat([s(1, c.subarray(-1), 1)]);
});
add('CONNECT and PINGREQ in one segment', (u) => [s(1, cat(connect({ v: 4, id: u }), PINGREQ), 2)]);

for (const v of V4_5) {
  const n = NAME[v];
  add(`${n}: remaining length in 5 bytes: closed [MQTT-2.2.3]`, (u) => [up(1, { v, id: u }), closes(1, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]))]);
  add(`${n}: PINGREQ with remaining length 1: closed`, (u) => [up(1, { v, id: u }), probe(1, Buffer.from([0xc0, 1, 0]))]);
  add(`${n}: PINGREQ with flags 0x1: closed [MQTT-2.2.2-2]`, (u) => [up(1, { v, id: u }), probe(1, Buffer.from([0xc1, 0]))]);
  add(`${n}: reserved packet type 0: closed [MQTT-2.2.1]`, (u) => [up(1, { v, id: u }), closes(1, Buffer.from([0x00, 0]))]);
  add(`${n}: CONNACK from a client: closed`, (u) => [up(1, { v, id: u }), closes(1, Buffer.from([0x20, 2, 0, 0]))]);
  add(`${n}: SUBACK from a client: closed`, (u) => [up(1, { v, id: u }), probe(1, pkt(0x90, u16(1), v === 5 ? [0] : [], [0]))]);
  add(`${n}: UNSUBACK from a client: closed`, (u) => [up(1, { v, id: u }), probe(1, pkt(0xb0, u16(1), v === 5 ? [0, 0] : []))]);
  add(`${n}: PINGRESP from a client: closed`, (u) => [up(1, { v, id: u }), probe(1, Buffer.from([0xd0, 0]))]);
  add(`${n}: DISCONNECT with flags 0x1: closed [MQTT-2.2.2-2]`, (u) => [up(1, { v, id: u }), closes(1, Buffer.from([0xe1, 0]))]);
  add(`${n}: PUBREL with flags 0 [MQTT-3.6.1-1]`, (u) => [up(1, { v, id: u }), closes(1, Buffer.from([0x60, 2, 0, 1]))]);
  add(`${n}: SUBSCRIBE with flags 0 [MQTT-3.8.1-1]`, (u) => [up(1, { v, id: u }), closes(1, pkt(0x80, sub(v, 1, [[`${u}/t`, 0]]).subarray(2)))]);
  add(`${n}: UNSUBSCRIBE with flags 0 [MQTT-3.10.1-1]`, (u) => [up(1, { v, id: u }), closes(1, pkt(0xa0, unsub(v, 1, [`${u}/t`]).subarray(2)))]);
  add(`${n}: a packet split across segments, then two in one`, (u) => {
    const p = cat(sub(v, 1, [[`${u}/t`, 1]]), PINGREQ, PINGREQ);
    return [up(1, { v, id: u }), s(1, p.subarray(0, 3)), s(1, p.subarray(3, 9)), s(1, p.subarray(9), 3)];
  });
}
add('MQTT 3.1.1: AUTH (type 15, reserved in 3.1.1): closed [MQTT-2.2.1]', (u) => [up(1, { v: 4, id: u }), closes(1, Buffer.from([0xf0, 0]))]);
add('MQTT 3.1.1: PUBACK with remaining length 3: closed', (u) => [up(1, { v: 4, id: u }), probe(1, Buffer.from([0x40, 3, 0, 1, 0]))]);
add('MQTT 3.1.1: DISCONNECT with remaining length 1: closed', (u) => [up(1, { v: 4, id: u }), closes(1, Buffer.from([0xe0, 1, 0]))]);
add('MQTT 3.1: PINGREQ with remaining length 1: closed', (u) => [up(1, { v: 3, id: u }), probe(1, Buffer.from([0xc0, 1, 0]))]);

// ======== PUBLISH ========

for (const v of VS) {
  const n = NAME[v];
  add(`${n} PUBLISH QoS 0 to its own subscription`, (u) => [
    ...subscriber(1, v, u, [[`${u}/t`, 0]]),
    s(1, pub(v, { topic: `${u}/t`, payload: 'hello' }), 1),
  ]);
  add(`${n} PUBLISH QoS 1: PUBACK and delivery at QoS 1 [MQTT-4.3.2-2]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 1]]),
    up(2, { v, id: `${u}p` }),
    s(2, pub(v, { topic: `${u}/t`, payload: 'one', qos: 1, id: 7 }), 1, { 1: 1 }),
    s(1, puback(1), 0),
    ping(1),
  ]);
  add(`${n} PUBLISH QoS 2: PUBREC, PUBREL, PUBCOMP both ways [MQTT-4.3.3-2]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 2]]),
    up(2, { v, id: `${u}p` }),
    s(2, cat(pub(v, { topic: `${u}/t`, payload: 'two', qos: 2, id: 9 }), pubrel(9)), 2, { 1: 1 }),
    s(1, pubrec(1), 1),
    s(1, pubcomp(1), 0),
    ping(1),
    ping(2),
  ]);
  add(`${n} PUBLISH QoS 2 sent twice before PUBREL: delivered once [MQTT-4.3.3-2]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 0]]),
    up(2, { v, id: `${u}p` }),
    s(2, cat(pub(v, { topic: `${u}/t`, payload: 'x', qos: 2, id: 3 }), pub(v, { topic: `${u}/t`, payload: 'x', qos: 2, id: 3, dup: true }), pubrel(3)), 3, { 1: 1 }),
    ping(1),
  ]);
  add(`${n} retained message sent to a new subscription with RETAIN 1 [MQTT-3.3.1-6] [MQTT-3.3.1-8]`, (u) => [
    up(2, { v, id: `${u}p` }),
    s(2, pub(v, { topic: `${u}/r`, payload: 'kept', qos: 1, retain: true }), 1),
    up(1, { v, id: `${u}s` }),
    s(1, sub(v, 1, [[`${u}/r`, 1]]), 2),
    s(1, puback(1)),
    ping(1),
  ]);
  add(`${n} PUBLISH with RETAIN to a live subscription: delivered with RETAIN 0 [MQTT-3.3.1-9]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/r`, 0]]),
    up(2, { v, id: `${u}p` }),
    s(2, pub(v, { topic: `${u}/r`, payload: 'live', retain: true }), 0),
    ping(2, { 1: 1 }),
  ]);
  add(`${n} PUBLISH QoS 3: closed [MQTT-3.3.1-4]`, (u) => [up(1, { v, id: u }), closes(1, Buffer.from([0x36, 5, 0, 1, 0x74, 0, 1]))]);
  add(`${n} PUBLISH topic with a wildcard: closed [MQTT-3.3.2-2]`, (u) => [up(1, { v, id: u }), closes(1, pub(v, { topic: `${u}/+` }))]);
  add(`${n} PUBLISH with an empty topic: closed [MQTT-4.7.3-1]`, (u) => [up(1, { v, id: u }), closes(1, pub(v, { topic: '' }))]);
  add(`${n} PUBLISH QoS 1 with packet id 0: closed [MQTT-2.3.1-1]`, (u) => [up(1, { v, id: u }), closes(1, pub(v, { topic: `${u}/t`, qos: 1, id: 0 }))]);
  add(`${n} PUBLISH DUP with QoS 0: closed [MQTT-3.3.1-2]`, (u) => [up(1, { v, id: u }), probe(1, pub(v, { topic: `${u}/t`, dup: true }))]);
  add(`${n} PUBACK, PUBREC, PUBCOMP for unknown packet ids`, (u) => [up(1, { v, id: u }), s(1, puback(5)), s(1, pubrec(6), 1), s(1, pubcomp(7)), ping(1)]);
  add(`${n} PUBREL for an unknown packet id: PUBCOMP`, (u) => [up(1, { v, id: u }), s(1, pubrel(8), 1), ping(1)]);
  add(`${n} PUBLISH to $SYS: not delivered`, (u) => [
    ...subscriber(1, v, u, [[`$SYS/${u}`, 0]]),
    s(1, pub(v, { topic: `$SYS/${u}`, payload: 'x', qos: 1 }), 1),
    ping(1),
  ]);
  add(`${n} PUBLISH with a zero-length payload`, (u) => [...subscriber(1, v, u, [[`${u}/t`, 1]]), s(1, pub(v, { topic: `${u}/t`, qos: 1 }), 2)]);
  add(`${n} PUBLISH topic not valid UTF-8: closed [MQTT-1.5.3-1]`, (u) => [up(1, { v, id: u }), closes(1, pub(v, { topic: Buffer.from([0x61, 0xff]) }))]);
  add(`${n} PUBLISH DUP QoS 1 is forwarded with DUP 0 [MQTT-3.3.1-3]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 1]]),
    up(2, { v, id: `${u}p` }),
    s(2, pub(v, { topic: `${u}/t`, payload: 'd', qos: 1, dup: true }), 1, { 1: 1 }),
  ]);
  add(`${n} SUBSCRIBE QoS 0 gets a QoS 2 message at QoS 0 [MQTT-3.8.4-6]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 0]]),
    up(2, { v, id: `${u}p` }),
    s(2, cat(pub(v, { topic: `${u}/t`, payload: 'q', qos: 2 }), pubrel(1)), 2, { 1: 1 }),
  ]);
  add(`${n} overlapping subscriptions`, (u) => [
    ...subscriber(1, v, u, [[`${u}/#`, 0], [`${u}/+`, 1], [`${u}/a`, 2]]),
    s(1, pub(v, { topic: `${u}/a`, payload: 'o', qos: 1 }), 2),
    ping(1),
  ]);
}

// Topic depth (levels = slashes + 1).
const deep = (u: string, levels: number): string => u + '/x'.repeat(levels - 1);
for (const levels of [200, 201, 202]) {
  add(`PUBLISH to a topic of ${levels} levels`, (u) => [
    ...subscriber(1, 4, u, [[`${u}/#`, 1]]),
    s(1, publish({ topic: deep(u, levels), payload: 'd', qos: 1 }), levels > 201 ? 1 : 2),
    ping(1),
  ]);
  add(`SUBSCRIBE to a filter of ${levels} levels`, (u) => [up(1, { v: 4, id: u }), s(1, subscribe(1, [[deep(u, levels), 0]]), 1), ping(1)]);
  add(`MQTT 5 SUBSCRIBE to a filter of ${levels} levels`, (u) => [up(1, { v: 5, id: u }), s(1, subscribe5(1, [[deep(u, levels), 0]]), 1), ping(1)]);
}
add('MQTT 5 PUBLISH to a topic of 201 levels', (u) => [up(1, { v: 5, id: u }), s(1, publish5({ topic: deep(u, 201), payload: 'd', qos: 1 }), 1), ping(1)]);
add('PUBLISH with a payload of 100 000 bytes', (u) => [
  ...subscriber(1, 4, u, [[`${u}/t`, 0]]),
  s(1, publish({ topic: `${u}/t`, payload: Buffer.alloc(100_000, 0x61) }), 1),
]);
add('retained message cleared by an empty retained PUBLISH [MQTT-3.3.1-10] [MQTT-3.3.1-11]', (u) => [
  up(1, { v: 4, id: u }),
  s(1, publish({ topic: `${u}/r`, payload: 'a', retain: true, qos: 1 }), 1),
  s(1, publish({ topic: `${u}/r`, retain: true, qos: 1, id: 2 }), 1),
  s(1, subscribe(1, [[`${u}/r`, 0]]), 1),
  ping(1),
]);
add('retained messages of several topics on one wildcard subscription', (u) => [
  up(1, { v: 4, id: u }),
  s(1, publish({ topic: `${u}/a`, payload: '1', retain: true, qos: 1, id: 1 }), 1),
  s(1, publish({ topic: `${u}/b/c`, payload: '2', retain: true, qos: 1, id: 2 }), 1),
  s(1, publish({ topic: `${u}/b`, payload: '3', retain: true, qos: 1, id: 3 }), 1),
  s(1, subscribe(1, [[`${u}/#`, 0]]), 4),
]);
add('resubscribing sends the retained message again [MQTT-3.8.4-3]', (u) => [
  up(1, { v: 4, id: u }),
  s(1, publish({ topic: `${u}/r`, payload: 'a', retain: true, qos: 1 }), 1),
  s(1, subscribe(1, [[`${u}/r`, 1]]), 2),
  s(1, puback(1)),
  s(1, subscribe(2, [[`${u}/r`, 0]]), 2),
]);
add('a filter starting with + does not match a $ topic [MQTT-4.7.2-1]', (u) => [
  ...subscriber(1, 4, u, [[`+/${u}`, 0]]),
  s(1, publish({ topic: `$x/${u}`, payload: 'no' })),
  s(1, publish({ topic: `y/${u}`, payload: 'yes' }), 1),
]);
add('MQTT 3.1 subscriber gets a message from an MQTT 5 publisher (properties dropped)', (u) => [
  ...subscriber(1, 3, `${u}s`, [[`${u}/t`, 1]]),
  up(2, { v: 5, id: `${u}p` }),
  s(2, publish({ topic: `${u}/t`, payload: 'p', qos: 1, props: props(prop.str(P.contentType, 'text/plain'), prop.user('a', 'b')) }), 1, { 1: 1 }),
]);

// ======== SUBSCRIBE / UNSUBSCRIBE ========

for (const v of VS) {
  const n = NAME[v];
  add(`${n} SUBSCRIBE with several filters and QoS [MQTT-3.8.4-5]`, (u) => [
    up(1, { v, id: u }),
    s(1, sub(v, 0x1234, [[`${u}/a`, 0], [`${u}/+/b`, 1], [`${u}/#`, 2], ['+', 1]]), 1),
  ]);
  add(`${n} SUBSCRIBE with an invalid filter among valid ones [MQTT-4.7.1-2]`, (u) => [
    up(1, { v, id: u }),
    s(1, sub(v, 2, [[`${u}/a`, 0], [`${u}/#/b`, 1]]), 1),
    ping(1),
  ]);
  add(`${n} SUBSCRIBE filter with + inside a level [MQTT-4.7.1-3]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 2, [[`${u}/a+`, 0]]), 1), ping(1)]);
  add(`${n} SUBSCRIBE filter with # inside a level [MQTT-4.7.1-2]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 2, [[`${u}/a#`, 0]]), 1), ping(1)]);
  add(`${n} SUBSCRIBE with an empty filter [MQTT-4.7.3-1]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 2, [['', 0]]), 1), ping(1)]);
  add(`${n} SUBSCRIBE without filters [MQTT-3.8.3-3]`, (u) => [up(1, { v, id: u }), probe(1, pkt(0x82, u16(1), v === 5 ? [0] : []))]);
  add(`${n} SUBSCRIBE with packet id 0 [MQTT-2.3.1-1]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 0, [[`${u}/a`, 0]]), 1), ping(1)]);
  add(`${n} SUBSCRIBE requesting QoS 3 [MQTT-3.8.3-4]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 2, [[`${u}/a`, 3]]), 1), ping(1)]);
  add(`${n} SUBSCRIBE with reserved option bits [MQTT-3.8.3-5]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 2, [[`${u}/a`, 0xc0]]), 1), ping(1)]);
  add(`${n} SUBSCRIBE filter not valid UTF-8 [MQTT-1.5.3-1]`, (u) => [up(1, { v, id: u }), closes(1, sub(v, 2, [[Buffer.from([0x61, 0xff]), 0]]))]);
  add(`${n} SUBSCRIBE to a $SYS filter`, (u) => [up(1, { v, id: u }), s(1, sub(v, 2, [[`$SYS/${u}/#`, 0]]), 1)]);
  add(`${n} SUBSCRIBE to the same filter twice in one packet`, (u) => [
    up(1, { v, id: u }),
    s(1, sub(v, 2, [[`${u}/a`, 2], [`${u}/a`, 0]]), 1),
    s(1, pub(v, { topic: `${u}/a`, payload: 'x', qos: 1 }), 2),
  ]);
  add(`${n} UNSUBSCRIBE existing and unknown filters [MQTT-3.10.4-5]`, (u) => [
    ...subscriber(1, v, u, [[`${u}/a`, 0]]),
    s(1, unsub(v, 0x0102, [`${u}/a`, `${u}/none`]), 1),
    s(1, pub(v, { topic: `${u}/a`, payload: 'gone' })),
    ping(1),
  ]);
  add(`${n} UNSUBSCRIBE without filters [MQTT-3.10.3-2]`, (u) => [up(1, { v, id: u }), probe(1, pkt(0xa2, u16(1), v === 5 ? [0] : []))]);
  add(`${n} UNSUBSCRIBE with an invalid filter`, (u) => [up(1, { v, id: u }), s(1, unsub(v, 3, [`${u}/#/x`]), 1), ping(1)]);
  add(`${n} shared subscription $share/g/filter`, (u) => [
    ...subscriber(1, v, u, [[`$share/g/${u}/t`, 1]]),
    s(1, pub(v, { topic: `${u}/t`, payload: 's', qos: 1 }), 2),
  ]);
  add(`${n} invalid shared subscriptions [MQTT-4.8.2-1] [MQTT-4.8.2-2]`, (u) => [
    up(1, { v, id: u }),
    s(1, sub(v, 4, [['$share/g+/x', 0]]), 1),
    ping(1),
  ]);
  add(`${n} shared subscription without a filter [MQTT-4.8.2-1]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 4, [[`$share/${u}`, 0]]), 1), ping(1)]);
  add(`${n} shared subscription with an empty share name [MQTT-4.8.2-1]`, (u) => [up(1, { v, id: u }), s(1, sub(v, 4, [[`$share//${u}`, 0]]), 1), ping(1)]);
}

// MQTT 5 subscription options and identifiers.
add('MQTT 5 SUBSCRIBE with retain handling 3: protocol error', (u) => [up(1, { v: 5, id: u }), s(1, subscribe5(2, [[`${u}/a`, 0x30]]), 1), ping(1)]);
add('MQTT 5 No Local: no copy of its own message [MQTT-3.8.3-3]', (u) => [
  ...subscriber(1, 5, u, [[`${u}/t`, 0x04 | 1]]),
  s(1, publish5({ topic: `${u}/t`, payload: 'x', qos: 1 }), 1),
  ping(1),
]);
add('MQTT 5 No Local on a shared subscription: protocol error [MQTT-3.8.3-4]', (u) => [up(1, { v: 5, id: u }), s(1, subscribe5(2, [[`$share/g/${u}`, 0x04]]), 1), ping(1)]);
add('MQTT 5 Retain As Published keeps RETAIN on live messages [MQTT-3.3.1-13]', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/t`, 0x08]]),
  up(2, { v: 5, id: `${u}p` }),
  s(2, publish5({ topic: `${u}/t`, payload: 'x', retain: true }), 0),
  ping(2, { 1: 1 }),
]);
for (const rh of [0, 1, 2]) {
  add(`MQTT 5 Retain Handling ${rh} on a new and on a repeated subscription [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]`, (u) => [
    up(1, { v: 5, id: u }),
    s(1, publish5({ topic: `${u}/r`, payload: 'r', retain: true, qos: 1 }), 1),
    s(1, subscribe5(1, [[`${u}/r`, rh << 4]]), rh === 2 ? 1 : 2),
    s(1, subscribe5(2, [[`${u}/r`, rh << 4]]), rh === 0 ? 2 : 1),
    ping(1),
  ]);
}
add('MQTT 5 subscription identifier on delivery [MQTT-3.3.4-3]', (u) => [
  up(1, { v: 5, id: u }),
  s(1, subscribe5(1, [[`${u}/t`, 0]], props(prop.vbi(P.subscriptionId, 300))), 1),
  s(1, publish5({ topic: `${u}/t`, payload: 'i' }), 1),
]);
add('MQTT 5 overlapping subscriptions with identifiers [MQTT-3.3.4-4] [MQTT-3.3.4-5]', (u) => [
  up(1, { v: 5, id: u }),
  s(1, subscribe5(1, [[`${u}/#`, 0]], props(prop.vbi(P.subscriptionId, 1))), 1),
  s(1, subscribe5(2, [[`${u}/+`, 1]], props(prop.vbi(P.subscriptionId, 2))), 1),
  s(1, publish5({ topic: `${u}/t`, payload: 'i' }), 1),
  ping(1),
]);
add('MQTT 5 subscription identifier 0: protocol error', (u) => [up(1, { v: 5, id: u }), closes(1, subscribe5(1, [[`${u}/t`, 0]], props(prop.vbi(P.subscriptionId, 0))))]);
add('MQTT 5 retained message with a subscription identifier', (u) => [
  up(1, { v: 5, id: u }),
  s(1, publish5({ topic: `${u}/r`, payload: 'r', retain: true, qos: 1 }), 1),
  s(1, subscribe5(1, [[`${u}/r`, 0]], props(prop.vbi(P.subscriptionId, 5))), 2),
]);
add('MQTT 5 SUBSCRIBE and UNSUBSCRIBE with a user property', (u) => [
  up(1, { v: 5, id: u }),
  s(1, subscribe5(1, [[`${u}/t`, 0]], props(prop.user('k', 'v'))), 1),
  s(1, unsubscribe5(2, [`${u}/t`], props(prop.user('k', 'v'))), 1),
]);
add('MQTT 5 shared subscription: UNSUBSCRIBE', (u) => [
  ...subscriber(1, 5, u, [[`$share/g/${u}/t`, 0]]),
  s(1, unsubscribe5(2, [`$share/g/${u}/t`, `$share/h/${u}/t`]), 1),
]);
add('MQTT 5 shared subscription: retained messages are not sent (§4.8.2)', (u) => [
  up(1, { v: 5, id: u }),
  s(1, publish5({ topic: `${u}/r`, payload: 'r', retain: true, qos: 1 }), 1),
  s(1, subscribe5(1, [[`$share/g/${u}/r`, 0]]), 1),
  ping(1),
]);

// ======== MQTT 5 PUBLISH properties, acknowledgements and topic aliases ========

const msgProps = (): Buffer =>
  props(
    prop.byte(P.payloadFormat, 1),
    prop.str(P.contentType, 'text/plain'),
    prop.str(P.responseTopic, 'reply/here'),
    prop.bin(P.correlationData, Buffer.from([1, 2, 3])),
    prop.user('zone', 'hall'),
    prop.user('zone', 'kitchen'),
  );
add('MQTT 5 message properties reach an MQTT 5 subscriber unchanged, in order [MQTT-3.3.2-17] [MQTT-3.3.2-20]', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/t`, 1]]),
  up(2, { v: 5, id: `${u}p` }),
  s(2, publish({ topic: `${u}/t`, payload: 'p', qos: 1, props: msgProps() }), 1, { 1: 1 }),
]);
add('MQTT 5 message properties are dropped for an MQTT 3.1.1 subscriber', (u) => [
  ...subscriber(1, 4, `${u}s`, [[`${u}/t`, 1]]),
  up(2, { v: 5, id: `${u}p` }),
  s(2, publish({ topic: `${u}/t`, payload: 'p', qos: 1, props: msgProps() }), 1, { 1: 1 }),
]);
add('MQTT 5 subscriber gets an MQTT 3.1.1 message without properties', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/t`, 1]]),
  up(2, { v: 4, id: `${u}p` }),
  s(2, publish({ topic: `${u}/t`, payload: 'p', qos: 1 }), 1, { 1: 1 }),
]);
add('MQTT 5 message expiry interval is forwarded [MQTT-3.3.2-6]', (u) => [
  ...subscriber(1, 5, u, [[`${u}/t`, 0]]),
  s(1, publish({ topic: `${u}/t`, payload: 'e', props: props(prop.u32(P.messageExpiry, 3600)) }), 1),
], { norm: [expiryRounded] });
add('MQTT 5 retained message with an expiry interval', (u) => [
  up(1, { v: 5, id: u }),
  s(1, publish({ topic: `${u}/r`, payload: 'e', retain: true, qos: 1, props: props(prop.u32(P.messageExpiry, 86400)) }), 1),
  s(1, subscribe5(1, [[`${u}/r`, 0]]), 2),
], { norm: [expiryRounded] });
add('MQTT 5 PUBLISH with a subscription identifier from the client: protocol error [MQTT-3.3.4-6]', (u) => [
  up(1, { v: 5, id: u }),
  probe(1, publish({ topic: `${u}/t`, props: props(prop.vbi(P.subscriptionId, 1)) })),
]);
add('MQTT 5 PUBLISH with a CONNECT property (session expiry): protocol error', (u) => [
  up(1, { v: 5, id: u }),
  closes(1, publish({ topic: `${u}/t`, props: props(prop.u32(P.sessionExpiry, 1)) })),
]);
add('MQTT 5 PUBLISH with a response topic with a wildcard [MQTT-3.3.2-14]', (u) => [
  ...subscriber(1, 5, u, [[`${u}/t`, 0]]),
  s(1, publish({ topic: `${u}/t`, payload: 'w', qos: 1, props: props(prop.str(P.responseTopic, 'a/#')) }), 2),
  ping(1),
]);
add('MQTT 5 PUBLISH with payload format 1 and a payload that is not UTF-8 [MQTT-3.3.2-4]', (u) => [
  ...subscriber(1, 5, u, [[`${u}/t`, 0]]),
  s(1, publish({ topic: `${u}/t`, payload: Buffer.from([0xff, 0xfe]), qos: 1, props: props(prop.byte(P.payloadFormat, 1)) }), 2),
  ping(1),
]);
add('MQTT 5 PUBLISH QoS 1 without subscribers: PUBACK 0x10 No matching subscribers', (u) => [up(1, { v: 5, id: u }), s(1, publish5({ topic: `${u}/none`, qos: 1 }), 1)]);
add('MQTT 5 PUBLISH QoS 2 without subscribers: PUBREC 0x10', (u) => [up(1, { v: 5, id: u }), s(1, publish5({ topic: `${u}/none`, qos: 2 }), 1), s(1, pubrel(1), 1)]);
add('MQTT 5 PUBACK and PUBREC with reason codes and properties from the client', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/t`, 2]]),
  up(2, { v: 5, id: `${u}p` }),
  s(2, publish5({ topic: `${u}/t`, payload: '1', qos: 1, id: 1 }), 1, { 1: 1 }),
  s(1, puback(1, [0x10], props(prop.str(P.reasonString, 'fine')))),
  s(2, cat(publish5({ topic: `${u}/t`, payload: '2', qos: 2, id: 2 }), pubrel(2, [0], [0])), 2, { 1: 1 }),
  s(1, pubrec(2, [0x80]), 0),
  ping(1),
]);
add('MQTT 5 PUBREL for an unknown packet id with reason 0x92', (u) => [up(1, { v: 5, id: u }), s(1, pubrel(4, [0x92]), 1), ping(1)]);
add('MQTT 5 PUBACK with an unknown property: malformed', (u) => [up(1, { v: 5, id: u }), closes(1, puback(1, [0], Buffer.from([2, 0x7f, 0])))]);
add('MQTT 5 topic alias: set with a topic, then used with an empty topic', (u) => [
  ...subscriber(1, 5, u, [[`${u}/t`, 0]]),
  s(1, publish({ topic: `${u}/t`, payload: '1', props: props(prop.u16(P.topicAlias, 1)) }), 1),
  s(1, publish({ topic: '', payload: '2', props: props(prop.u16(P.topicAlias, 1)) }), 1),
]);
add('MQTT 5 topic alias 0: malformed [MQTT-3.3.2-8]', (u) => [up(1, { v: 5, id: u }), closes(1, publish({ topic: `${u}/t`, props: props(prop.u16(P.topicAlias, 0)) }))]);
add('MQTT 5 topic alias above the maximum: DISCONNECT 0x94 [MQTT-3.3.2-9]', (u) => [up(1, { v: 5, id: u }), closes(1, publish({ topic: `${u}/t`, props: props(prop.u16(P.topicAlias, 11)) }))]);
add('MQTT 5 unknown topic alias with an empty topic: protocol error', (u) => [up(1, { v: 5, id: u }), closes(1, publish({ topic: '', props: props(prop.u16(P.topicAlias, 2)) }))]);
add('MQTT 5 empty topic without a topic alias: protocol error [MQTT-3.3.2-1]', (u) => [up(1, { v: 5, id: u }), closes(1, publish5({ topic: '' }))]);
add('MQTT 5 topic alias remapped to another topic', (u) => [
  ...subscriber(1, 5, u, [[`${u}/#`, 0]]),
  s(1, publish({ topic: `${u}/a`, payload: '1', props: props(prop.u16(P.topicAlias, 3)) }), 1),
  s(1, publish({ topic: `${u}/b`, payload: '2', props: props(prop.u16(P.topicAlias, 3)) }), 1),
  s(1, publish({ topic: '', payload: '3', props: props(prop.u16(P.topicAlias, 3)) }), 1),
]);
add('MQTT 5 subscriber with topic alias maximum 5 gets messages on one topic', (u) => [
  up(1, { v: 5, id: u, props: props(prop.u16(P.topicAliasMaximum, 5)) }),
  s(1, subscribe5(1, [[`${u}/t`, 0]]), 1),
  s(1, publish5({ topic: `${u}/t`, payload: '1' }), 1),
  s(1, publish5({ topic: `${u}/t`, payload: '2' }), 1),
]);
add('MQTT 5 Receive Maximum 1: one QoS 1 message in flight at a time [MQTT-3.3.4-9]', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/t`, 1]], { props: props(prop.u16(P.receiveMaximum, 1)) }),
  up(2, { v: 5, id: `${u}p` }),
  s(2, publish5({ topic: `${u}/t`, payload: '1', qos: 1, id: 1 }), 1, { 1: 1 }),
  s(2, publish5({ topic: `${u}/t`, payload: '2', qos: 1, id: 2 }), 1),
  ping(1),
  s(1, puback(1), 1),
  s(1, puback(2)),
  ping(1),
]);
add('MQTT 5 Maximum Packet Size: a larger message is not sent [MQTT-3.1.2-24]', (u) => [
  ...subscriber(1, 5, u, [[`${u}/t`, 0]], { props: props(prop.u32(P.maximumPacketSize, 64)) }),
  s(1, publish5({ topic: `${u}/t`, payload: 'x'.repeat(100) })),
  s(1, publish5({ topic: `${u}/t`, payload: 'small' }), 1),
]);
add('MQTT 5 more QoS 2 messages unacknowledged than Receive Maximum: DISCONNECT 0x93 [MQTT-3.3.4-7]', (u) => [
  up(1, { v: 5, id: u }),
  s(1, cat(...Array.from({ length: 20 }, (_, i) => publish5({ topic: `${u}/t`, qos: 2, id: i + 1 }))), 20),
  probe(1, publish5({ topic: `${u}/t`, qos: 2, id: 21 })),
]);

// ======== DISCONNECT, AUTH, wills ========

for (const v of VS) {
  const n = NAME[v];
  const w = (u: string, extra: Partial<ConnectSpec> = {}): ConnectSpec => ({ v, id: `${u}w`, will: { topic: `${u}/will`, payload: 'bye', qos: 1 }, ...extra });
  add(`${n} DISCONNECT: connection closed, no will [MQTT-3.14.4-3]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/will`, 1]]),
    up(2, w(u)),
    closes(2, v === 5 ? disconnect5(0) : DISCONNECT),
    ping(1),
  ]);
  add(`${n} connection closed by the client: will published [MQTT-3.1.2-8]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/will`, 1]]),
    up(2, w(u)),
    drop(2, { 1: 1 }),
  ]);
  add(`${n} protocol violation: will published [MQTT-4.8.0-1]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/will`, 0]]),
    up(2, w(u)),
    closes(2, Buffer.from([0x00, 0]), { 1: 1 }),
  ]);
  add(`${n} retained will stored when published`, (u) => [
    up(2, w(u, { will: { topic: `${u}/will`, payload: 'bye', retain: true } })),
    drop(2),
    up(1, { v, id: `${u}s` }),
    s(1, sub(v, 1, [[`${u}/will`, 0]]), 2),
  ]);
  add(`${n} clean session taken over by a new connection: old one closed, will published`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/will`, 0]]),
    up(2, w(u)),
    takeover(3, w(u), 2, { 1: 1 }),
    ping(3),
    ping(1),
  ]);
  add(`${n} persistent session taken over by a new connection: will`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/will`, 0]]),
    up(2, w(u, persistent(v))),
    takeover(3, w(u, persistent(v)), 2),
    ping(3),
    ping(1),
  ]);
  add(`${n} persistent session resumed: queued QoS 1 message sent, QoS 0 not`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 1]], persistent(v)),
    closes(1, DISCONNECT),
    up(2, { v, id: `${u}p` }),
    s(2, pub(v, { topic: `${u}/t`, payload: 'q0' })),
    s(2, pub(v, { topic: `${u}/t`, payload: 'q1', qos: 1 }), 1),
    s(3, connect({ v, id: `${u}s`, ...persistent(v) }), 2),
    s(3, puback(1)),
    ping(3),
  ]);
  add(`${n} unacknowledged QoS 1 message resent with DUP on reconnect [MQTT-4.4.0-1]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 1]], persistent(v)),
    s(1, pub(v, { topic: `${u}/t`, payload: 'again', qos: 1, id: 40 }), 2),
    drop(1),
    s(2, connect({ v, id: `${u}s`, ...persistent(v) }), 2),
    s(2, puback(1)),
    ping(2),
  ]);
  add(`${n} PUBREL resent for a QoS 2 message after reconnect [MQTT-4.4.0-1]`, (u) => [
    ...subscriber(1, v, `${u}s`, [[`${u}/t`, 2]], persistent(v)),
    up(3, { v, id: `${u}p` }),
    s(3, cat(pub(v, { topic: `${u}/t`, payload: 'q2', qos: 2, id: 40 }), pubrel(40)), 2, { 1: 1 }),
    s(1, pubrec(1), 1),
    drop(1),
    s(2, connect({ v, id: `${u}s`, ...persistent(v) }), 2),
    s(2, pubcomp(1)),
    ping(2),
  ]);
  add(`${n} clean session after a persistent one: subscriptions gone [MQTT-3.1.2-6]`, (u) => [
    ...subscriber(1, v, u, [[`${u}/t`, 0]], persistent(v)),
    closes(1, DISCONNECT),
    up(2, { v, id: u }),
    s(2, pub(v, { topic: `${u}/t`, payload: 'x' })),
    ping(2),
  ]);
}

add('MQTT 5 DISCONNECT 0x04: will published', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/will`, 0]]),
  up(2, { v: 5, id: `${u}w`, will: { topic: `${u}/will`, payload: 'bye' } }),
  closes(2, disconnect5(0x04), { 1: 1 }),
]);
add('MQTT 5 DISCONNECT with a reason string and a user property', (u) => [up(1, { v: 5, id: u }), closes(1, disconnect5(0, props(prop.str(P.reasonString, 'done'), prop.user('a', 'b'))))]);
add('MQTT 5 DISCONNECT setting a session expiry after CONNECT set 0: protocol error', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/will`, 0]]),
  up(2, { v: 5, id: `${u}w`, will: { topic: `${u}/will`, payload: 'bye' } }),
  closes(2, disconnect5(0, expiry(60)), { 1: 1 }),
]);
add('MQTT 5 DISCONNECT changing a session expiry of 60 to 0: session ends', (u) => [
  up(1, { v: 5, id: u, clean: false, props: expiry(60) }),
  closes(1, disconnect5(0, expiry(0))),
  up(2, { v: 5, id: u, clean: false, props: expiry(60) }),
]);
add('MQTT 5 DISCONNECT with an unknown property: malformed', (u) => [up(1, { v: 5, id: u }), closes(1, disconnect5(0, Buffer.from([2, 0x7f, 0])))]);
add('MQTT 5 AUTH without an authentication method: protocol error', (u) => [up(1, { v: 5, id: u }), closes(1, auth(0x19, Buffer.from([0])))]);
add('MQTT 5 AUTH with reason 0 and no properties', (u) => [up(1, { v: 5, id: u }), closes(1, Buffer.from([0xf0, 0]))]);
add('MQTT 5 will with a delay and session expiry 0: published when the session ends [MQTT-3.1.2-8]', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/will`, 0]]),
  up(2, { v: 5, id: `${u}w`, will: { topic: `${u}/will`, payload: 'later', props: props(prop.u32(P.willDelay, 30)) } }),
  drop(2, { 1: 1 }),
]);
add('MQTT 5 will with a delay: not published when the client reconnects in time [MQTT-3.1.3-9]', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/will`, 0]]),
  up(2, { v: 5, id: `${u}w`, clean: false, props: expiry(60), will: { topic: `${u}/will`, payload: 'later', props: props(prop.u32(P.willDelay, 30)) } }),
  drop(2),
  up(3, { v: 5, id: `${u}w`, clean: false, props: expiry(60) }),
  ping(1),
]);
add('MQTT 5 will with a delay: taken over by a new connection', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/will`, 0]]),
  up(2, { v: 5, id: `${u}w`, clean: false, props: expiry(60), will: { topic: `${u}/will`, payload: 'later', props: props(prop.u32(P.willDelay, 30)) } }),
  takeover(3, { v: 5, id: `${u}w`, clean: false, props: expiry(60) }, 2),
  ping(1),
]);
add('MQTT 5 will properties reach an MQTT 5 subscriber (not the delay) [MQTT-3.1.3-10]', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/will`, 0]]),
  up(2, {
    v: 5,
    id: `${u}w`,
    will: { topic: `${u}/will`, payload: 'p', props: props(prop.u32(P.willDelay, 0), prop.str(P.contentType, 'text/plain'), prop.user('k', 'v'), prop.u32(P.messageExpiry, 600)) },
  }),
  drop(2, { 1: 1 }),
], { norm: [expiryRounded] });
add('MQTT 5 session taken over by MQTT 3.1.1 client: old one gets DISCONNECT 0x8E [MQTT-3.1.4-3]', (u) => [up(1, { v: 5, id: u }), takeover(2, { v: 4, id: u }, 1), ping(2)]);
add('MQTT 3.1.1 session taken over by an MQTT 5 client', (u) => [up(1, { v: 4, id: u }), takeover(2, { v: 5, id: u }, 1), ping(2)]);
add('MQTT 5 session expiry 0 ends the session at disconnect: session present 0', (u) => [
  up(1, { v: 5, id: u, clean: false }),
  closes(1, DISCONNECT),
  up(2, { v: 5, id: u, clean: false }),
]);
add('MQTT 3.1.1 persistent session resumed by MQTT 5 with clean start 0', (u) => [up(1, { v: 4, id: u, clean: false }), closes(1, DISCONNECT), up(2, { v: 5, id: u, clean: false, props: expiry(60) })]);

// Session takeover: which wills go out, and what the new connection finds, by clean flags.
for (const v of V4_5) {
  const n = NAME[v];
  const clean = (c: boolean): Partial<ConnectSpec> => (c ? {} : persistent(v));
  for (const [oldClean, newClean] of [
    [false, true],
    [true, false],
  ] as const) {
    add(`${n} takeover: ${oldClean ? 'clean' : 'persistent'} session by a ${newClean ? 'clean' : 'persistent'} connection (will, session present)`, (u) => [
      ...subscriber(1, v, `${u}s`, [[`${u}/will`, 0]]),
      up(2, { v, id: `${u}w`, will: { topic: `${u}/will`, payload: 'bye' }, ...clean(oldClean) }),
      s(2, sub(v, 5, [[`${u}/own`, 0]]), 1),
      takeover(3, { v, id: `${u}w`, ...clean(newClean) }, 2, { 1: 1 }),
      ping(1),
      s(3, pub(v, { topic: `${u}/own`, payload: 'still subscribed?' })),
      ping(3),
    ]);
  }
}

// QoS 2 onward delivery: when the message goes to subscribers, relative to PUBREL.
add('MQTT 3.1.1 PUBLISH QoS 2: onward delivery before or after PUBREL (§4.3.3)', (u) => [
  ...subscriber(1, 4, `${u}s`, [[`${u}/t`, 0]]),
  up(2, { v: 4, id: `${u}p` }),
  s(2, publish({ topic: `${u}/t`, payload: 'when', qos: 2, id: 5 }), 1),
  ping(2),
  s(2, pubrel(5), 1, { 1: 1 }),
]);
add('MQTT 5 PUBREC 0x80 for a known and an unknown packet id: no PUBREL', (u) => [
  ...subscriber(1, 5, `${u}s`, [[`${u}/t`, 2]]),
  up(2, { v: 5, id: `${u}p` }),
  s(2, cat(publish5({ topic: `${u}/t`, payload: 'x', qos: 2, id: 9 }), pubrel(9)), 2, { 1: 1 }),
  s(1, pubrec(1, [0x80])),
  s(1, pubrec(77, [0x80])),
  ping(1),
]);
add('MQTT 5 PUBLISH QoS 2 to $SYS: PUBREC 0x87', (u) => [up(1, { v: 5, id: u }), s(1, publish5({ topic: `$SYS/${u}`, qos: 2 }), 1), s(1, pubrel(1), 1)]);
add('MQTT 3.1, will QoS 3 without will flag', (u) => [s(1, connect({ v: 3, id: u, orFlags: 0x18 }), 1), ping(1)]);

// Topic depth at Mosquitto's limit: empty levels count too, and so do will topics and UNSUBSCRIBE.
for (const slashes of [200, 201]) {
  add(`PUBLISH to a topic of ${slashes} slashes only`, (u) => [
    up(1, { v: 4, id: u }),
    s(1, publish({ topic: '/'.repeat(slashes), payload: 'd', qos: 1 }), 1),
    ping(1),
  ]);
}
add('MQTT 5 PUBLISH to a topic of 202 levels', (u) => [up(1, { v: 5, id: u }), s(1, publish5({ topic: deep(u, 202), qos: 1 }), 1), ping(1)]);
add('UNSUBSCRIBE a filter of 202 levels', (u) => [up(1, { v: 4, id: u }), s(1, unsubscribe(1, [deep(u, 202)]), 1), ping(1)]);
add('UNSUBSCRIBE a filter of 201 levels', (u) => [up(1, { v: 4, id: u }), s(1, unsubscribe(1, [deep(u, 201)]), 1), ping(1)]);
add('CONNECT with a will topic of 202 levels', (u) => [s(1, connect({ v: 4, id: u, will: { topic: deep(u, 202) } }), 1), ping(1)]);
add('CONNECT with a will topic of 201 levels', (u) => [s(1, connect({ v: 4, id: u, will: { topic: deep(u, 201) } }), 1), ping(1)]);
add('SUBSCRIBE to a filter of 201 levels ending in #', (u) => [up(1, { v: 4, id: u }), s(1, subscribe(1, [[deep(u, 200) + '/#', 0]]), 1), ping(1)]);
add('SUBSCRIBE to a filter of 202 levels ending in +', (u) => [up(1, { v: 4, id: u }), s(1, subscribe(1, [[deep(u, 201) + '/+', 0]]), 1), ping(1)]);

export const CASES: WireCase[] = CASES_;

export interface Deliberate {
  /** The spec statement that allows Midge's answer, or that Mosquitto's does not follow. */
  spec: string;
  /** Why Midge answers as it does (one line). */
  why: string;
  /**
   * When the difference is only this: maps Midge's transcript back to Mosquitto's, and the harness
   * checks that this gives Mosquitto's transcript exactly. Without it, they only have to differ.
   */
  undo?: (midge: string[]) => string[];
}

/** Midge's DISCONNECT before closing (any reason code, or `code`) taken out. */
const withoutDisconnect =
  (code = '[0-9a-f]{2}') =>
  (t: string[]): string[] =>
    t.filter((l) => !new RegExp(`^\\S+ c\\d+ < e0 01 ${code}$`).test(l));
/** Midge's DISCONNECT 0x82 (Protocol Error) read as Mosquitto's 0x81 (Malformed Packet). */
const asMalformed = (t: string[]): string[] => t.map((l) => l.replace(/< e0 01 82$/, '< e0 01 81'));

const SHOULD_DISCONNECT: Deliberate = {
  spec: '§4.13.1 (5.0): on a Malformed Packet or Protocol Error the Server SHOULD send DISCONNECT with the reason code before closing',
  why: 'Midge always says why; Mosquitto 2.0.11 does for some packets and just closes for these',
  undo: withoutDisconnect(),
};
const TAKEN_OVER: Deliberate = {
  spec: '[MQTT-3.1.4-3] (5.0): the Server sends the existing Client DISCONNECT 0x8E (Session taken over) and closes its connection',
  why: 'Mosquitto 2.0.11 closes the old connection without the DISCONNECT',
  undo: withoutDisconnect('8e'),
};
const PROTOCOL_ERROR = (statement: string): Deliberate => ({
  spec: `${statement}: a Protocol Error (0x82)`,
  why: 'Mosquitto 2.0.11 answers DISCONNECT 0x81 (Malformed Packet); the spec names the class of this error',
  undo: asMalformed,
});
const MUST_CLOSE = (statement: string): Deliberate => ({
  spec: statement,
  why: 'Mosquitto 2.0.11 lets this pass (and answers or ignores the packet); Midge closes the connection of a client that breaks the protocol',
});
const SHARE_NAME: Deliberate = {
  spec: '[MQTT-4.8.2-1]: a shared subscription is $share/, a ShareName of at least one character, /, and a Topic Filter',
  why: 'Midge reads $share/ the same in every version and refuses a malformed one (0x80, 0x8F); Mosquitto 2.0.11 grants it',
};

/**
 * Cases where Midge differs from Mosquitto on purpose: the spec statement and why. The harness
 * checks that each still differs, and that undo(), where given, accounts for all of it.
 */
export const DELIBERATE: Record<string, Deliberate> = {
  // ---- CONNECT and sessions ----
  'CONNECT MQTT 5, keep alive 0': {
    spec: '§3.1.2.10 (5.0): Keep Alive 0 turns the mechanism off; a Server Keep Alive is optional [MQTT-3.2.2-21]',
    why: 'Midge imposes a keep-alive only when max_keepalive is set; Mosquitto 2.0.11 defaults it to 65535 and tells an MQTT 5 client that asked for none to use that',
  },
  'CONNECT MQTT 3.1, client id of 24 characters: identifier rejected': {
    spec: 'MQTT 3.1 §3.1: a Client Identifier of 1 to 23 characters; longer ones get CONNACK 2 (Identifier Rejected)',
    why: 'Mosquitto 2.0.11 accepts longer ids from MQTT 3.1 clients; Midge keeps the 3.1 rule for 3.1 (3.1.1 and 5 allow longer ids)',
  },
  'MQTT 5 will with a delay and session expiry 0: published when the session ends [MQTT-3.1.2-8]': {
    spec: '[MQTT-3.1.2-8] (5.0): the Will is published when the Will Delay Interval has passed or the Session ends, whichever is first',
    why: 'a session expiry of 0 ends the session with the connection, so Midge publishes at once; Mosquitto 2.0.11 waits for the will delay',
  },
  'second CONNECT MQTT 5 on one connection: closed [MQTT-3.1.0-2]': SHOULD_DISCONNECT,
  'MQTT 5 persistent session taken over by a new connection: will': TAKEN_OVER,
  'MQTT 5 clean session taken over by a new connection: old one closed, will published': TAKEN_OVER,
  'MQTT 5 session taken over by MQTT 3.1.1 client: old one gets DISCONNECT 0x8E [MQTT-3.1.4-3]': TAKEN_OVER,
  'MQTT 5 will with a delay: taken over by a new connection': TAKEN_OVER,
  'MQTT 5 takeover: clean session by a persistent connection (will, session present)': TAKEN_OVER,
  'MQTT 5 takeover: persistent session by a clean connection (will, session present)': TAKEN_OVER,

  // ---- malformed packets and protocol errors ----
  'MQTT 5: remaining length in 5 bytes: closed [MQTT-2.2.3]': SHOULD_DISCONNECT,
  'MQTT 5: CONNACK from a client: closed': SHOULD_DISCONNECT,
  'MQTT 5: DISCONNECT with flags 0x1: closed [MQTT-2.2.2-2]': SHOULD_DISCONNECT,
  'MQTT 5: PUBREL with flags 0 [MQTT-3.6.1-1]': SHOULD_DISCONNECT,
  'MQTT 5 PUBACK with an unknown property: malformed': SHOULD_DISCONNECT,
  'MQTT 5 DISCONNECT with an unknown property: malformed': SHOULD_DISCONNECT,
  'MQTT 5 AUTH without an authentication method: protocol error': SHOULD_DISCONNECT,
  'MQTT 5 AUTH with reason 0 and no properties': SHOULD_DISCONNECT,
  'MQTT 3.1: PINGREQ with remaining length 1: closed': MUST_CLOSE('MQTT 3.1 §3.12, 3.1.1 §3.12.1: PINGREQ has remaining length 0; a malformed packet [MQTT-4.8.0-1]'),
  'MQTT 3.1.1: PINGREQ with remaining length 1: closed': MUST_CLOSE('§3.12.1: PINGREQ has remaining length 0; a malformed packet [MQTT-4.8.0-1]'),
  'MQTT 5: PINGREQ with remaining length 1: closed': MUST_CLOSE('§3.12.1 (5.0): PINGREQ has remaining length 0; a Malformed Packet (§4.13)'),
  'MQTT 3.1.1: PINGREQ with flags 0x1: closed [MQTT-2.2.2-2]': MUST_CLOSE('[MQTT-2.2.2-2]: invalid fixed header flags: the receiver MUST close the Network Connection'),
  'MQTT 5: PINGREQ with flags 0x1: closed [MQTT-2.2.2-2]': MUST_CLOSE('[MQTT-2.1.3-1] (5.0): invalid fixed header flags are a Malformed Packet'),
  'MQTT 3.1.1: PUBACK with remaining length 3: closed': MUST_CLOSE('§3.4.1: PUBACK has remaining length 2; a malformed packet [MQTT-4.8.0-1]'),
  'MQTT 3.1.1: SUBACK from a client: closed': MUST_CLOSE('§2.2.1: SUBACK goes from Server to Client only; a protocol violation [MQTT-4.8.0-1]'),
  'MQTT 3.1.1: UNSUBACK from a client: closed': MUST_CLOSE('§2.2.1: UNSUBACK goes from Server to Client only; a protocol violation [MQTT-4.8.0-1]'),
  'MQTT 3.1.1: PINGRESP from a client: closed': MUST_CLOSE('§2.2.1: PINGRESP goes from Server to Client only; a protocol violation [MQTT-4.8.0-1]'),
  'MQTT 5: SUBACK from a client: closed': MUST_CLOSE('§2.1.2 (5.0): SUBACK goes from Server to Client only; a Protocol Error (§4.13)'),
  'MQTT 5: UNSUBACK from a client: closed': MUST_CLOSE('§2.1.2 (5.0): UNSUBACK goes from Server to Client only; a Protocol Error (§4.13)'),
  'MQTT 5: PINGRESP from a client: closed': MUST_CLOSE('§2.1.2 (5.0): PINGRESP goes from Server to Client only; a Protocol Error (§4.13)'),
  'MQTT 3.1 PUBLISH DUP with QoS 0: closed [MQTT-3.3.1-2]': MUST_CLOSE('[MQTT-3.3.1-2]: the DUP flag MUST be 0 for QoS 0 (applied to MQTT 3.1 too); [MQTT-4.8.0-1]'),
  'MQTT 3.1.1 PUBLISH DUP with QoS 0: closed [MQTT-3.3.1-2]': MUST_CLOSE('[MQTT-3.3.1-2]: the DUP flag MUST be 0 for QoS 0; [MQTT-4.8.0-1]'),
  'MQTT 5 PUBLISH DUP with QoS 0: closed [MQTT-3.3.1-2]': MUST_CLOSE('[MQTT-3.3.1-2] (5.0): the DUP flag MUST be 0 for QoS 0; a Malformed Packet'),
  'MQTT 5 PUBLISH with a subscription identifier from the client: protocol error [MQTT-3.3.4-6]': MUST_CLOSE(
    '[MQTT-3.3.4-6] (5.0): a PUBLISH from a Client MUST NOT contain a Subscription Identifier; a Protocol Error',
  ),
  'MQTT 5 No Local on a shared subscription: protocol error [MQTT-3.8.3-4]': MUST_CLOSE('[MQTT-3.8.3-4] (5.0): No Local on a Shared Subscription is a Protocol Error'),
  'MQTT 5 SUBSCRIBE without filters [MQTT-3.8.3-3]': PROTOCOL_ERROR('§3.8.3 (5.0): "A SUBSCRIBE packet with no Payload"'),
  'MQTT 5 UNSUBSCRIBE without filters [MQTT-3.10.3-2]': PROTOCOL_ERROR('§3.10.3 (5.0): "An UNSUBSCRIBE packet with no Payload"'),
  'MQTT 5 SUBSCRIBE requesting QoS 3 [MQTT-3.8.3-4]': PROTOCOL_ERROR('§3.8.3.1 (5.0): a Maximum QoS of 3'),
  'MQTT 5 SUBSCRIBE with retain handling 3: protocol error': PROTOCOL_ERROR('§3.8.3.1 (5.0): a Retain Handling of 3'),
  'MQTT 5 subscription identifier 0: protocol error': PROTOCOL_ERROR('§3.8.2.1.2 (5.0): a Subscription Identifier of 0'),
  'MQTT 5 SUBSCRIBE with packet id 0 [MQTT-2.3.1-1]': {
    ...PROTOCOL_ERROR('[MQTT-2.2.1-3] (5.0): a zero Packet Identifier'),
    why: 'a well-formed packet with a forbidden value (§1.2); Mosquitto 2.0.11 answers 0x82 for a PUBLISH with id 0 but 0x81 for a SUBSCRIBE',
  },
  'MQTT 5 more QoS 2 messages unacknowledged than Receive Maximum: DISCONNECT 0x93 [MQTT-3.3.4-7]': {
    spec: '§3.3.4 (5.0): a Server that receives more than its Receive Maximum of unacknowledged QoS 1/2 PUBLISH packets uses DISCONNECT 0x93 (Receive Maximum exceeded)',
    why: 'Mosquitto 2.0.11 answers PUBREC 0x97 (Quota exceeded) and stays connected',
  },
  'MQTT 3.1 SUBSCRIBE without filters [MQTT-3.8.3-3]': {
    spec: 'MQTT 3.1 §3.8: the payload is the list of topics; MQTT 3.1.1 made an empty one a protocol violation [MQTT-3.8.3-3]',
    why: 'Midge closes the connection in 3.1 as in 3.1.1; Mosquitto 2.0.11 answers an MQTT 3.1 client with a SUBACK without return codes',
  },
  'MQTT 3.1 UNSUBSCRIBE without filters [MQTT-3.10.3-2]': {
    spec: 'MQTT 3.1 §3.10: the payload is the list of topics; MQTT 3.1.1 made an empty one a protocol violation [MQTT-3.10.3-2]',
    why: 'Midge closes the connection in 3.1 as in 3.1.1; Mosquitto 2.0.11 answers an MQTT 3.1 client with an UNSUBACK',
  },

  // ---- subscriptions and delivery ----
  'MQTT 3.1 shared subscription without a filter [MQTT-4.8.2-1]': SHARE_NAME,
  'MQTT 3.1 shared subscription with an empty share name [MQTT-4.8.2-1]': SHARE_NAME,
  'MQTT 3.1.1 shared subscription without a filter [MQTT-4.8.2-1]': SHARE_NAME,
  'MQTT 3.1.1 shared subscription with an empty share name [MQTT-4.8.2-1]': SHARE_NAME,
  'MQTT 5 shared subscription without a filter [MQTT-4.8.2-1]': SHARE_NAME,
  'MQTT 5 shared subscription with an empty share name [MQTT-4.8.2-1]': SHARE_NAME,
  'MQTT 5 shared subscription: retained messages are not sent (§4.8.2)': {
    spec: '§4.8.2 (5.0): retained messages are not sent to a Shared Subscription when it is established',
    why: 'Mosquitto 2.0.11 sends them',
  },
  'MQTT 5 overlapping subscriptions': {
    spec: '[MQTT-3.3.4-2] (5.0): one copy at the highest QoS of the matching subscriptions; further copies, one per subscription, MAY follow',
    why: 'Midge sends one copy (one write, one packet id); Mosquitto 2.0.11 sends MQTT 5 clients one per subscription',
  },
  'MQTT 5 overlapping subscriptions with identifiers [MQTT-3.3.4-4] [MQTT-3.3.4-5]': {
    spec: '[MQTT-3.3.4-4] (5.0): a single copy carries the Subscription Identifiers of all matching subscriptions',
    why: 'Midge sends one copy with both identifiers; Mosquitto 2.0.11 one copy per subscription',
  },
  'retained messages of several topics on one wildcard subscription': {
    spec: '§3.3.1.3: the spec orders messages on one topic [MQTT-4.6.0-5], not retained messages of different topics',
    why: 'Midge sends them in the order their topics were first retained; Mosquitto 2.0.11 walks its topic tree',
  },
  'MQTT 5 No Local: no copy of its own message [MQTT-3.8.3-3]': {
    spec: '§3.4.2.1 (5.0): PUBACK 0x10, No matching subscribers',
    why: 'Midge counts who receives the message, and the publisher\'s own No Local subscription does not; Mosquitto 2.0.11 counts the subscription',
  },
  'MQTT 5 subscriber with topic alias maximum 5 gets messages on one topic': {
    spec: '§3.3.2.3.4 (5.0): the Server MAY give topic aliases up to the Client\'s Topic Alias Maximum',
    why: 'Midge does (shorter PUBLISH packets for a client that asks for them); Mosquitto 2.0.11 never does',
  },
  'MQTT 3.1.1 PUBLISH QoS 2: onward delivery before or after PUBREL (§4.3.3)': {
    spec: '§4.3.3 (figure 4.3; 5.0 the same): the receiver may start onward delivery when it stores the Packet Identifier (method B) or at PUBREL (method A)',
    why: 'Midge delivers at PUBLISH and keeps only the packet id until PUBREL (no copy of the message); Mosquitto 2.0.11 keeps the message until PUBREL',
  },
};
