// MQTT-SN 1.2 codec: every message type as annotated bytes (spec section 5.4), decoded to the
// expected fields and encoded back to the same bytes; then what strict validation rejects.
import { describe, expect, it } from 'vitest';
import * as sn from '../../src/features/sn/codec.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex');

interface Fixture {
  name: string;
  bytes: string; // annotated hex: `//` comments name the fields
  packet: sn.SnPacket;
}

const F = (name: string, bytes: string, packet: sn.SnPacket): Fixture => ({ name, bytes, packet });

const FIXTURES: Fixture[] = [
  F('ADVERTISE (5.4.1)', `05 00 // len 5, ADVERTISE
    07          // GwId 7
    03 84       // Duration 900 s`, { type: sn.ADVERTISE, gwId: 7, duration: 900 }),
  F('SEARCHGW (5.4.2)', '03 01 // SEARCHGW\n 01 // Radius 1', { type: sn.SEARCHGW, radius: 1 }),
  F('GWINFO from a gateway (5.4.3)', '03 02 // GWINFO\n 07 // GwId', { type: sn.GWINFO, gwId: 7, payload: Buffer.alloc(0) }),
  F('GWINFO from a client, with GwAdd (5.4.3)', '07 02 07 // GwId 7\n 0a 00 00 01 // GwAdd 10.0.0.1', {
    type: sn.GWINFO, gwId: 7, payload: Buffer.from([10, 0, 0, 1]),
  }),
  F('CONNECT with Will and CleanSession (5.4.4)', `0a 04 // len 10, CONNECT
    0c          // Flags: Will (bit 3), CleanSession (bit 2)
    01          // ProtocolId
    00 3c       // Duration 60 s
    73 31 61 62 // ClientId "s1ab"`, {
    type: sn.CONNECT, dup: false, qos: 0, retain: false, will: true, clean: true, topicIdType: 0, protocolId: 1, duration: 60, clientId: 's1ab',
  }),
  F('CONNACK (5.4.5)', '03 05 // CONNACK\n 03 // rejected: not supported', { type: sn.CONNACK, rc: 3 }),
  F('WILLTOPICREQ (5.4.6)', '02 06', { type: sn.WILLTOPICREQ }),
  F('WILLTOPIC (5.4.7)', `06 07 // WILLTOPIC
    30          // Flags: QoS 1 (bits 6-5 = 01), Retain (bit 4)
    77 2f 78    // WillTopic "w/x"`, {
    type: sn.WILLTOPIC, dup: false, qos: 1, retain: true, will: false, clean: false, topicIdType: 0, topic: 'w/x',
  }),
  F('WILLTOPIC, empty: no will (5.4.7)', '02 07', { type: sn.WILLTOPIC, topic: '' }),
  F('WILLMSGREQ (5.4.8)', '02 08', { type: sn.WILLMSGREQ }),
  F('WILLMSG (5.4.9)', '05 09 // WILLMSG\n 62 79 65 // "bye"', { type: sn.WILLMSG, payload: Buffer.from('bye') }),
  F('REGISTER (5.4.10)', `09 0a // REGISTER
    00 00       // TopicId 0 (client to gateway)
    00 05       // MsgId 5
    61 2f 62    // TopicName "a/b"`, { type: sn.REGISTER, topicId: 0, msgId: 5, topic: 'a/b' }),
  F('REGACK (5.4.11)', `07 0b // REGACK
    00 01       // TopicId 1
    00 05       // MsgId 5
    00          // accepted`, { type: sn.REGACK, topicId: 1, msgId: 5, rc: 0 }),
  F('PUBLISH QoS 2, DUP, RETAIN, normal id (5.4.12)', `09 0c // PUBLISH
    d0          // Flags: DUP (bit 7), QoS 2 (bits 6-5 = 10), Retain (bit 4), TopicIdType normal
    00 01       // TopicId 1
    12 34       // MsgId 0x1234
    68 69       // Data "hi"`, {
    type: sn.PUBLISH, dup: true, qos: 2, retain: true, will: false, clean: false, topicIdType: 0, topicId: 1, msgId: 0x1234, payload: Buffer.from('hi'),
  }),
  F('PUBLISH QoS -1, predefined id (5.4.12, 6.8)', `08 0c // PUBLISH
    61          // Flags: QoS -1 (bits 6-5 = 11), TopicIdType predefined (01)
    00 2a       // TopicId 42
    00 00       // MsgId unused
    31          // Data "1"`, {
    type: sn.PUBLISH, dup: false, qos: -1, retain: false, will: false, clean: false, topicIdType: 1, topicId: 42, msgId: 0, payload: Buffer.from('1'),
  }),
  F('PUBLISH QoS 0, short topic name (5.3.11)', `07 0c // PUBLISH
    02          // Flags: QoS 0, TopicIdType short (10)
    74 31       // short name "t1"
    00 00       // MsgId`, {
    type: sn.PUBLISH, dup: false, qos: 0, retain: false, will: false, clean: false, topicIdType: 2, topicId: 0x7431, msgId: 0, payload: Buffer.alloc(0),
  }),
  F('PUBACK (5.4.13)', '07 0d 00 01 // TopicId\n 00 07 // MsgId\n 02 // rejected: invalid topic ID', { type: sn.PUBACK, topicId: 1, msgId: 7, rc: 2 }),
  F('PUBCOMP (5.4.14)', '04 0e 00 07 // MsgId', { type: sn.PUBCOMP, msgId: 7 }),
  F('PUBREC (5.4.14)', '04 0f 00 07', { type: sn.PUBREC, msgId: 7 }),
  F('PUBREL (5.4.14)', '04 10 00 07', { type: sn.PUBREL, msgId: 7 }),
  F('SUBSCRIBE by name with wildcard (5.4.15)', `0a 12 // SUBSCRIBE
    20          // Flags: QoS 1, TopicIdType normal
    00 03       // MsgId 3
    73 2f 2b 2f 23 // TopicName "s/+/#"`, {
    type: sn.SUBSCRIBE, dup: false, qos: 1, retain: false, will: false, clean: false, topicIdType: 0, msgId: 3, topic: 's/+/#',
  }),
  F('SUBSCRIBE by predefined id (5.4.15)', '07 12 41 // QoS 2, predefined\n 00 03 // MsgId\n 00 2a // TopicId 42', {
    type: sn.SUBSCRIBE, dup: false, qos: 2, retain: false, will: false, clean: false, topicIdType: 1, msgId: 3, topicId: 42,
  }),
  F('SUBSCRIBE by short name (5.4.15)', '07 12 02 // QoS 0, short\n 00 03 // MsgId\n 74 31 // "t1"', {
    type: sn.SUBSCRIBE, dup: false, qos: 0, retain: false, will: false, clean: false, topicIdType: 2, msgId: 3, topic: 't1',
  }),
  F('SUBACK (5.4.16)', `08 13 // SUBACK
    20          // Flags: granted QoS 1
    00 09       // TopicId 9
    00 03       // MsgId 3
    00          // accepted`, {
    type: sn.SUBACK, dup: false, qos: 1, retain: false, will: false, clean: false, topicIdType: 0, topicId: 9, msgId: 3, rc: 0,
  }),
  F('UNSUBSCRIBE (5.4.17)', '08 14 00 // Flags\n 00 04 // MsgId\n 61 2f 62 // "a/b"', {
    type: sn.UNSUBSCRIBE, dup: false, qos: 0, retain: false, will: false, clean: false, topicIdType: 0, msgId: 4, topic: 'a/b',
  }),
  F('UNSUBACK (5.4.18)', '04 15 00 04', { type: sn.UNSUBACK, msgId: 4 }),
  F('PINGREQ (5.4.19)', '02 16', { type: sn.PINGREQ }),
  F('PINGREQ with ClientId: a sleeper wakes (5.4.19)', '04 16 73 31 // "s1"', { type: sn.PINGREQ, clientId: 's1' }),
  F('PINGRESP (5.4.20)', '02 17', { type: sn.PINGRESP }),
  F('DISCONNECT (5.4.21)', '02 18', { type: sn.DISCONNECT }),
  F('DISCONNECT with Duration: sleep (5.4.21)', '04 18 00 1e // 30 s', { type: sn.DISCONNECT, duration: 30 }),
  F('WILLTOPICUPD (5.4.22)', '05 1a 40 // QoS 2\n 77 32 // "w2"', {
    type: sn.WILLTOPICUPD, dup: false, qos: 2, retain: false, will: false, clean: false, topicIdType: 0, topic: 'w2',
  }),
  F('WILLTOPICRESP (5.4.23)', '03 1b 00', { type: sn.WILLTOPICRESP, rc: 0 }),
  F('WILLMSGUPD (5.4.24)', '04 1c 6f 6b // "ok"', { type: sn.WILLMSGUPD, payload: Buffer.from('ok') }),
  F('WILLMSGRESP (5.4.25)', '03 1d 01 // rejected: congestion', { type: sn.WILLMSGRESP, rc: 1 }),
];

describe('MQTT-SN codec fixtures: every message type (spec 5.4)', () => {
  for (const f of FIXTURES) {
    it(`${f.name}: decodes and encodes back to the same bytes`, () => {
      const bytes = hex(f.bytes);
      expect(bytes[0]).toBe(bytes.length); // the fixture's own length octet is right
      expect(sn.decode(bytes)).toEqual(f.packet);
      expect(sn.encode(f.packet).toString('hex')).toBe(bytes.toString('hex'));
    });
  }

  it('covers every message type of the spec', () => {
    const types = new Set(FIXTURES.map((f) => f.packet.type));
    const all = Object.entries(sn).filter(([k, v]) => typeof v === 'number' && /^[A-Z]+$/.test(k) && k !== 'ENCAPSULATED').map(([, v]) => v);
    for (const t of all) expect(types.has(t as number), `type 0x${(t as number).toString(16)}`).toBe(true);
  });

  it('3-octet length form (5.2.1): 0x01, then 2 octets, for messages over 255 bytes', () => {
    const payload = Buffer.alloc(300, 0x61);
    const buf = sn.encode({ type: sn.PUBLISH, qos: 1, topicIdType: 0, topicId: 3, msgId: 9, payload });
    expect(buf.subarray(0, 5).toString('hex')).toBe('0101350c20'); // 0x01, length 309, PUBLISH, QoS 1
    expect(buf.length).toBe(309);
    const p = sn.decode(buf);
    expect(p.payload).toEqual(payload);
    expect(p.msgId).toBe(9);
    // The 3-octet form is also accepted for short messages.
    expect(sn.decode(hex('01 00 04 16'))).toEqual({ type: sn.PINGREQ });
  });

  it('encapsulated message (5.5): forwarder header around a complete message', () => {
    const inner = hex('02 16');
    const buf = sn.encode({ type: sn.ENCAPSULATED, radius: 1, payload: Buffer.from([0xaa, 0xbb]), inner });
    expect(buf.toString('hex')).toBe('05fe01aabb0216'); // len 5, 0xFE, Ctrl radius 1, node id, PINGREQ
    const p = sn.decodeEncapsulated(buf);
    expect(p).toEqual({ type: sn.ENCAPSULATED, radius: 1, payload: Buffer.from([0xaa, 0xbb]), inner });
    expect(sn.decode(p!.inner!)).toEqual({ type: sn.PINGREQ });
    expect(sn.decodeEncapsulated(hex('02 16'))).toBeNull();
    expect(() => sn.decode(buf)).toThrow(sn.SnError);
  });
});

describe('MQTT-SN codec: strict validation', () => {
  const bad: [string, string, RegExp][] = [
    ['empty datagram', '', /too short/],
    ['one byte', '02', /too short/],
    ['length octet larger than the datagram', '05 16', /length field says 5/],
    ['length octet smaller than the datagram (trailing bytes)', '02 16 00', /length field says 2/],
    ['3-octet length cut short', '01 00', /cut short/],
    ['3-octet length disagreeing', '01 00 09 16', /length field says 9/],
    ['reserved message type 0x03', '02 03', /reserved message type 0x3/],
    ['reserved message type 0x1e', '02 1e', /reserved message type 0x1e/],
    ['CONNACK without return code', '02 05', /needs 1 body bytes/],
    ['reserved return code', '03 05 04', /reserved return code 4/],
    ['PUBACK one byte short', '06 0d 00 01 00 07', /needs 5 body bytes/],
    ['PUBLISH without MsgId', '05 0c 00 00 01', /too short/],
    ['reserved TopicIdType 0b11', '07 0c 03 00 01 00 00', /TopicIdType/],
    ['QoS -1 in SUBSCRIBE', '07 12 60 00 01 61 62', /QoS -1/],
    ['CONNECT without ClientId field', '05 04 04 01 00', /too short/],
    ['ClientId not UTF-8', '08 04 04 01 00 3c c3 28', /ClientId is not valid UTF-8/],
    ['REGISTER without name', '06 0a 00 00 00 01', /without a topic name/],
    ['SUBSCRIBE short name of 3 bytes', '08 12 02 00 01 61 62 63', /short topic name/],
    ['SUBSCRIBE predefined id of 1 byte', '06 12 01 00 01 61', /predefined topic id/],
    ['DISCONNECT with 1-byte duration', '03 18 00', /0 or 2 bytes/],
    ['WILLTOPIC with flags but no topic', '03 07 00', /will topic is empty/],
  ];
  for (const [name, bytes, why] of bad) {
    it(`rejects ${name}`, () => {
      expect(() => sn.decode(hex(bytes))).toThrow(why);
    });
  }

  it('refuses to encode a message over 65535 bytes', () => {
    expect(() => sn.encode({ type: sn.WILLMSG, payload: Buffer.alloc(65535) })).toThrow(/exceeds/);
  });

  it('survives random datagrams: only SnError, never another exception (bounded: 20 000)', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(rnd() * 12);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rnd() * 256);
      if (len > 0 && rnd() < 0.7) buf[0] = len; // mostly well-framed, to reach the type parsers
      if (len > 1 && rnd() < 0.7) buf[1] = Math.floor(rnd() * 0x1e);
      try {
        const p = sn.decode(buf);
        expect(sn.encode(p).length).toBeGreaterThan(1);
      } catch (err) {
        expect(err).toBeInstanceOf(sn.SnError);
      }
    }
  });
});
